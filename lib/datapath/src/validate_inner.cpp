#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {

DropReason drop_reason_for(InnerVerdict verdict) noexcept {
  switch (verdict) {
    case InnerVerdict::kOk:
      return DropReason::kNone;
    case InnerVerdict::kTooShort:
      return DropReason::kInnerTooShort;
    case InnerVerdict::kNotIpv4:
      return DropReason::kInnerNotIpv4;
    case InnerVerdict::kBadHeaderLength:
      return DropReason::kInnerBadHeaderLength;
    case InnerVerdict::kBadTotalLength:
      return DropReason::kInnerBadTotalLength;
    case InnerVerdict::kSourceSpoofed:
      return DropReason::kInnerSrcSpoofed;
    case InnerVerdict::kIpv6TooShort:
      return DropReason::kInner6TooShort;
    case InnerVerdict::kIpv6BadPayloadLength:
      return DropReason::kInner6BadPayloadLength;
    case InnerVerdict::kIpv6NoLease:
      return DropReason::kInner6NoLease;
    case InnerVerdict::kIpv6SourceSpoofed:
      return DropReason::kInner6SrcSpoofed;
  }
  return DropReason::kInnerNotIpv4;
}

uint16_t validate_inner(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  BurstPartition part(pkts);
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    // Authenticated only says which client sent it; the client may still lie about its source
    // address or send garbage (style.md rule 5).
    const uint32_t slot = p->meta.slot;
    InnerVerdict v = check_inner(p->bytes(), ctx.sessions.at(slot).lease, ctx.sessions.lease6(slot));
    if (v != InnerVerdict::kOk) {
      part.drop(ctx, p, drop_reason_for(v));
      continue;
    }
    // restrict-to-routes/-ports: only after the header checks, which guarantee the bytes it reads.
    switch (ctx.sessions.restriction(slot).check(p->bytes())) {
      case RestrictVerdict::kAllowed:
        part.keep(p);
        break;
      case RestrictVerdict::kNotInRoutes:
        part.drop(ctx, p, DropReason::kNotInRoutes);
        break;
      case RestrictVerdict::kPortNotAllowed:
        part.drop(ctx, p, DropReason::kPortNotAllowed);
        break;
    }
  }
  return part.finish();
}

uint16_t police_rx(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  BurstPartition part(pkts);
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    // After validate_inner: only packets that would reach TUN are charged, so garbage or spoofed
    // packets cannot use up a session's allowance.
    if (ctx.sessions.at(p->meta.slot).rx_limit.take(p->len(), ctx.now_ns)) {
      part.keep(p);
    } else {
      part.drop(ctx, p, DropReason::kRateLimited);
    }
  }
  return part.finish();
}

}  // namespace ocm::datapath
