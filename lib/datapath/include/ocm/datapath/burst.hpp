#pragma once
// The burst-stage contract (style.md §3 rule 2) and the helper that implements its output order.
//
//   uint16_t stage(Ctx&, PktBuf* pkts[], uint16_t n) noexcept   with n <= kBurst
//
// On return k: pkts[0, k) go on to the next stage, in input order; pkts[k, n) left this chain,
// in input order, each either dropped (meta.drop set, counted in Counters::drops) or handled
// otherwise (meta.drop == kNone and meta.kind says how: kConsumed or kDtlsPayload; counted in
// Counters::events). Stages never free; the caller owns every packet before and after.

#include <cstdint>
#include <cstdlib>

#include "ocm/base/log.hpp"
#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/pkt.hpp"

namespace ocm::datapath {

// Stages keep kBurst-sized scratch arrays; a larger n is a caller bug that would overwrite the
// stack, so it aborts (one compare per burst) instead of being trusted.
inline void check_burst(uint16_t n) noexcept {
  if (n > kBurst) {
    OCM_ERROR("datapath: burst of %u packets exceeds kBurst (%u)", unsigned{n}, unsigned{kBurst});
    std::abort();
  }
}
static_assert(kBurst <= 255, "stages index bursts with uint8_t");

// Visit pkts[0..n) in order and call keep() or leave() once for each; finish() then writes the
// kept packets first and the others behind them, both in visiting order, and returns the kept
// count. keep() writes in place (index kept_ never passes the visited index), leave() into a
// kBurst scratch array.
class BurstPartition {
 public:
  // left_ stays uninitialised on purpose: it is scratch, written before it is read.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init)
  explicit BurstPartition(PktBuf** pkts) noexcept : pkts_(pkts) {}

  void keep(PktBuf* pkt) noexcept { pkts_[kept_++] = pkt; }
  void leave(PktBuf* pkt) noexcept { left_[left_count_++] = pkt; }
  // Records the reason, counts it, and moves the packet behind.
  void drop(Ctx& ctx, PktBuf* pkt, DropReason reason) noexcept {
    pkt->meta.drop = reason;
    ctx.counters.drop(reason);
    leave(pkt);
  }
  // Handled without a drop: kind says how; the event is counted.
  void consume(Ctx& ctx, PktBuf* pkt, Event event, PktKind kind = PktKind::kConsumed) noexcept {
    pkt->meta.kind = kind;
    ctx.counters.event(event);
    leave(pkt);
  }
  uint16_t finish() noexcept {
    for (uint16_t i = 0; i < left_count_; ++i) {
      pkts_[kept_ + i] = left_[i];
    }
    return kept_;
  }

 private:
  PktBuf** pkts_;
  uint16_t kept_ = 0;
  uint16_t left_count_ = 0;
  PktBuf* left_[kBurst];  // scratch, written before read
};

}  // namespace ocm::datapath
