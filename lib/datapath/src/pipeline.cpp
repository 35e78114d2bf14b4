#include "ocm/datapath/pipeline.hpp"

#include <algorithm>

#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {
namespace {

void reset_meta(PktBuf* p) noexcept {
  p->meta.kind = PktKind::kRaw;
  p->meta.drop = DropReason::kNone;
  p->meta.slot = kNoSlot;
  p->meta.rec_epoch = 0;
  p->meta.rec_seq = 0;
}

void count(DirectionCounters& c, PktBuf* const pkts[], uint16_t n) noexcept {
  c.packets += n;
  for (uint16_t i = 0; i < n; ++i) {
    c.bytes += pkts[i]->len();
  }
}

}  // namespace

UdpRxResult process_udp_rx(Ctx& ctx, PktBuf* const in[], uint16_t n, PktBuf* to_tun[], PktBuf* to_udp[],
                           PktBuf* to_free[]) noexcept {
  UdpRxResult out;
  for (uint32_t base = 0; base < n; base += kBurst) {
    auto m = static_cast<uint16_t>(std::min<uint32_t>(kBurst, n - base));
    PktBuf* pkts[kBurst];
    for (uint16_t i = 0; i < m; ++i) {
      pkts[i] = in[base + i];
      reset_meta(pkts[i]);
    }
    count(ctx.counters.udp_rx, pkts, m);

    uint16_t k = classify_udp(ctx, pkts, m);
    k = dtls_open(ctx, pkts, k);
    k = dispatch_payload(ctx, pkts, k);
    k = validate_inner(ctx, pkts, k);
    k = police_rx(ctx, pkts, k);

    count(ctx.counters.tun_tx, pkts, k);
    for (uint16_t i = 0; i < k; ++i) {
      to_tun[out.n_tun++] = pkts[i];
    }
    // Everything behind k left the chain; DPD requests turned into replies still need sealing.
    PktBuf* replies[kBurst];
    uint16_t n_replies = 0;
    for (uint16_t i = k; i < m; ++i) {
      PktBuf* p = pkts[i];
      if (p->meta.drop == DropReason::kNone && p->meta.kind == PktKind::kDtlsPayload) {
        replies[n_replies++] = p;
      } else {
        to_free[out.n_free++] = p;
      }
    }
    uint16_t sealed = dtls_seal(ctx, replies, n_replies);
    count(ctx.counters.udp_tx, replies, sealed);
    for (uint16_t i = 0; i < n_replies; ++i) {
      if (i < sealed) {
        to_udp[out.n_udp++] = replies[i];
      } else {
        to_free[out.n_free++] = replies[i];
      }
    }
  }
  return out;
}

namespace {

template <bool kRoute>
TunRxResult seal_path(Ctx& ctx, PktBuf* const in[], uint16_t n, PktBuf* to_udp[], PktBuf* to_free[]) noexcept {
  TunRxResult out;
  for (uint32_t base = 0; base < n; base += kBurst) {
    auto m = static_cast<uint16_t>(std::min<uint32_t>(kBurst, n - base));
    PktBuf* pkts[kBurst];
    for (uint16_t i = 0; i < m; ++i) {
      pkts[i] = in[base + i];
      if constexpr (kRoute) {
        reset_meta(pkts[i]);
      } else {
        pkts[i]->meta.drop = DropReason::kNone;
        pkts[i]->meta.kind = PktKind::kDtlsPayload;
      }
    }
    uint16_t k = m;
    if constexpr (kRoute) {
      count(ctx.counters.tun_rx, pkts, m);
      k = route_tun(ctx, pkts, k);
    }
    k = dtls_seal(ctx, pkts, k);
    count(ctx.counters.udp_tx, pkts, k);
    for (uint16_t i = 0; i < k; ++i) {
      to_udp[out.n_udp++] = pkts[i];
    }
    for (uint16_t i = k; i < m; ++i) {
      to_free[out.n_free++] = pkts[i];
    }
  }
  return out;
}

}  // namespace

TunRxResult process_tun_rx(Ctx& ctx, PktBuf* const in[], uint16_t n, PktBuf* to_udp[], PktBuf* to_free[]) noexcept {
  return seal_path<true>(ctx, in, n, to_udp, to_free);
}

TunRxResult seal_payloads(Ctx& ctx, PktBuf* const in[], uint16_t n, PktBuf* to_udp[], PktBuf* to_free[]) noexcept {
  return seal_path<false>(ctx, in, n, to_udp, to_free);
}

}  // namespace ocm::datapath
