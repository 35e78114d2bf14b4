#include <cstring>
#include <span>

#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {
namespace {
constexpr uint8_t kTypeData = 0x00;
constexpr uint8_t kTypeCompressed = 0x08;

// Replaces the IP packet in `p` by its compressed form and returns 0x08, or leaves it alone and
// returns 0x00 when compression is off for the session, the packet is small (min size: latency
// matters more there) or too large for the codecs, or the result would not be smaller.
uint8_t maybe_compress(Ctx& ctx, const DtlsSession& s, PktBuf* p) noexcept {
  if (s.compression == proto::Compression::kNone || p->len() <= s.compress_min_size ||
      p->len() > kMaxCompressedPacket) {
    return kTypeData;
  }
  size_t n = proto::compress_packet(s.compression, p->bytes(), std::span<uint8_t>(ctx.codec_out.get(), p->len()),
                                    *ctx.compress_scratch);
  if (n == 0) {
    return kTypeData;
  }
  std::memcpy(p->data(), ctx.codec_out.get(), n);
  p->set_window(p->headroom(), static_cast<uint32_t>(n));
  ctx.counters.event(Event::kCompressed);
  return kTypeCompressed;
}

}  // namespace

uint16_t route_tun(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  BurstPartition part(pkts);
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    uint32_t dst = 0;
    uint32_t slot = kNoSlot;
    if (ipv4_destination(p->bytes(), dst)) {
      slot = ctx.sessions.route(dst);
    } else if (const uint8_t* dst6 = ipv6_destination(p->bytes()); dst6 != nullptr) {
      slot = ctx.sessions.route6(dst6);
    } else {
      part.drop(ctx, p, DropReason::kTunNotIpv4);
      continue;
    }
    if (slot == kNoSlot) {
      part.drop(ctx, p, DropReason::kNoRoute);
      continue;
    }
    DtlsSession& s = ctx.sessions.at(slot);
    p->meta.slot = slot;
    // One limit per session whichever channel carries the packet (DTLS or the CSTP ring).
    if (!s.tx_limit.take(p->len(), ctx.now_ns)) {
      part.drop(ctx, p, DropReason::kRateLimited);
      continue;
    }
    if (s.state != SessionState::kDtlsActive) {
      // protocol.md 5.6: the server sends on DTLS only while DTLS is active; otherwise CSTP.
      PushResult r = push_cstp(ctx.cstp, slot, s.lease, p->bytes());
      if (r == PushResult::kFull) {
        part.drop(ctx, p, DropReason::kCstpRingFull);
      } else if (r == PushResult::kTooBig) {
        part.drop(ctx, p, DropReason::kTooBig);
      } else {
        part.consume(ctx, p, Event::kTunToCstp);
      }
      continue;
    }
    // Compressing keeps the packet's start, so the headroom for the type byte is unchanged.
    const uint8_t type_byte = maybe_compress(ctx, s, p);
    uint8_t* type = p->prepend(1);
    if (type == nullptr) {
      part.drop(ctx, p, DropReason::kTooBig);
      continue;
    }
    *type = type_byte;
    p->meta.kind = PktKind::kDtlsPayload;
    part.keep(p);
  }
  return part.finish();
}

}  // namespace ocm::datapath
