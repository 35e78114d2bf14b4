#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {
namespace {
constexpr uint8_t kTypeData = 0x00;
}  // namespace

uint16_t route_tun(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  BurstPartition part(pkts);
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    uint32_t dst = 0;
    if (!ipv4_destination(p->bytes(), dst)) {
      part.drop(ctx, p, DropReason::kTunNotIpv4);
      continue;
    }
    uint32_t slot = ctx.sessions.route(dst);
    if (slot == kNoSlot) {
      part.drop(ctx, p, DropReason::kNoRoute);
      continue;
    }
    const DtlsSession& s = ctx.sessions.at(slot);
    p->meta.slot = slot;
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
    uint8_t* type = p->prepend(1);
    if (type == nullptr) {
      part.drop(ctx, p, DropReason::kTooBig);
      continue;
    }
    *type = kTypeData;
    p->meta.kind = PktKind::kDtlsPayload;
    part.keep(p);
  }
  return part.finish();
}

}  // namespace ocm::datapath
