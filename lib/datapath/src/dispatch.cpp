#include <algorithm>
#include <cstring>
#include <span>

#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {
namespace {

// protocol.md 4.2
constexpr uint8_t kTypeData = 0x00;
constexpr uint8_t kTypeDpdReq = 0x03;
constexpr uint8_t kTypeDpdResp = 0x04;
constexpr uint8_t kTypeDisconnect = 0x05;
constexpr uint8_t kTypeKeepalive = 0x07;
constexpr uint8_t kTypeCompressed = 0x08;

// A 0x08 record of a session that negotiated DTLS compression: its payload decompressed and
// copied back where a DATA record's IP packet would start (after the type byte). The result is
// bounded by what the buffer can hold from there and by kMaxCompressedPacket, so a
// decompression bomb stops at that size and is dropped. kNone on success.
DropReason decompress_in_place(Ctx& ctx, PktBuf* p, proto::Compression algorithm) noexcept {
  p->adj(1);
  const uint32_t room = std::min<uint32_t>(p->len() + p->tailroom(), kMaxCompressedPacket);
  size_t n = proto::decompress_packet(algorithm, p->bytes(), std::span<uint8_t>(ctx.codec_out.get(), room));
  if (n == 0) {
    return DropReason::kDecompressFailed;
  }
  std::memcpy(p->data(), ctx.codec_out.get(), n);
  p->set_window(p->headroom(), static_cast<uint32_t>(n));
  return DropReason::kNone;
}

}  // namespace

uint16_t dispatch_payload(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  BurstPartition part(pkts);
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    if (p->len() == 0) {
      part.drop(ctx, p, DropReason::kEmptyPayload);
      continue;
    }
    switch (p->data()[0]) {
      case kTypeData:
        p->adj(1);
        p->meta.kind = PktKind::kTunIp;
        part.keep(p);
        break;
      case kTypeDpdReq:
        // Echo in place: same length, same payload (an MTU probe's id and padding), only the
        // type changes (protocol.md 6.2). dtls_seal turns it into a record for the session.
        p->data()[0] = kTypeDpdResp;
        part.consume(ctx, p, Event::kDpdAnswered, PktKind::kDtlsPayload);
        break;
      case kTypeDpdResp:
        part.consume(ctx, p, Event::kDpdResp);
        break;
      case kTypeKeepalive:
        part.consume(ctx, p, Event::kKeepalive);
        break;
      case kTypeDisconnect: {
        PushResult r = push_control(ctx.control, ControlKind::kDisconnect, 0, p->meta.slot, p->meta.peer, ctx.now_ns,
                                    p->bytes().subspan(1));
        if (r == PushResult::kFull) {
          part.drop(ctx, p, DropReason::kControlRingFull);
        } else if (r == PushResult::kTooBig) {
          part.drop(ctx, p, DropReason::kControlTooBig);
        } else {
          part.consume(ctx, p, Event::kDisconnect);
        }
        break;
      }
      case kTypeCompressed: {
        // Only with X-DTLS-Content-Encoding in our reply (openconnect treats it as fatal the
        // other way round, protocol.md §8.10; we drop and count).
        const proto::Compression algorithm = ctx.sessions.valid_slot(p->meta.slot)
                                                 ? ctx.sessions.at(p->meta.slot).compression
                                                 : proto::Compression::kNone;
        if (algorithm == proto::Compression::kNone) {
          part.drop(ctx, p, DropReason::kCompressedUnsupported);
          break;
        }
        if (DropReason r = decompress_in_place(ctx, p, algorithm); r != DropReason::kNone) {
          part.drop(ctx, p, r);
          break;
        }
        // From here exactly a DATA record: validate_inner checks the IP packet.
        ctx.counters.event(Event::kDecompressed);
        p->meta.kind = PktKind::kTunIp;
        part.keep(p);
        break;
      }
      default:
        part.drop(ctx, p, DropReason::kUnknownType);
        break;
    }
  }
  return part.finish();
}

}  // namespace ocm::datapath
