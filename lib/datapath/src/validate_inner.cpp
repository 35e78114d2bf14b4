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
    InnerVerdict v = check_inner_ipv4(p->bytes(), ctx.sessions.at(p->meta.slot).lease);
    if (v == InnerVerdict::kOk) {
      part.keep(p);
    } else {
      part.drop(ctx, p, drop_reason_for(v));
    }
  }
  return part.finish();
}

}  // namespace ocm::datapath
