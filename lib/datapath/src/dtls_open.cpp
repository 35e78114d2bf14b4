#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {
namespace {

DropReason open_one(Ctx& ctx, uint32_t slot, DtlsSession& s, PktBuf* p) noexcept {
  bool roaming = p->meta.kind == PktKind::kRoamCandidate;
  if (!s.has_keys()) {
    return DropReason::kNoDtlsSession;
  }
  // Cheap rejections first, before spending an AEAD operation.
  if (p->meta.rec_epoch != s.epoch) {
    return DropReason::kBadEpoch;
  }
  if (!s.window.check(p->meta.rec_seq)) {
    ++s.counters.replays;
    return DropReason::kReplay;
  }
  uint64_t seq = 0;
  uint8_t* plain = nullptr;
  size_t plain_len = 0;
  if (!crypto::dtls_open_in_place(ctx.engine, s.rx_key, s.epoch, p->bytes(), seq, plain, plain_len)) {
    ++s.counters.auth_failures;
    return roaming ? DropReason::kRoamAuthFailed : DropReason::kAuthFailed;
  }
  // Only an authenticated record may move the window (a forged one must not block real ones).
  s.window.update(seq);
  s.last_rx_ns = ctx.now_ns;
  ++s.counters.rx_packets;
  s.counters.rx_bytes += plain_len;
  p->set_window_at(plain, static_cast<uint32_t>(plain_len));
  p->meta.kind = PktKind::kDtlsData;

  if (roaming && ctx.sessions.move_peer(slot, p->meta.peer)) {
    ctx.counters.event(Event::kRoamed);
    if (push_control(ctx.control, ControlKind::kPeerChanged, 0, slot, p->meta.peer, ctx.now_ns, {}) !=
        PushResult::kOk) {
      // The slow path can still read the new peer from the table; only the notice is lost.
      ctx.counters.event(Event::kRoamNotifyLost);
    }
  }
  // protocol.md 5.6: any DTLS record received makes DTLS the downstream again.
  if (s.state == SessionState::kDtlsInactive && s.has_peer) {
    s.state = SessionState::kDtlsActive;
    ctx.counters.event(Event::kReactivated);
  }
  return DropReason::kNone;
}

}  // namespace

uint16_t dtls_open(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  // Group by session: a stable insertion sort of indices by slot (n <= 32), so each session's
  // state and keys are fetched once per group and its records keep their order.
  uint8_t order[kBurst];
  for (uint16_t i = 0; i < n; ++i) {
    uint8_t cur = static_cast<uint8_t>(i);
    uint32_t slot = pkts[i]->meta.slot;
    uint16_t j = i;
    while (j > 0 && pkts[order[j - 1]]->meta.slot > slot) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = cur;
  }

  DropReason verdict[kBurst];
  for (uint16_t g = 0; g < n;) {
    uint32_t slot = pkts[order[g]]->meta.slot;
    DtlsSession& s = ctx.sessions.at(slot);
    for (; g < n && pkts[order[g]]->meta.slot == slot; ++g) {
      verdict[order[g]] = open_one(ctx, slot, s, pkts[order[g]]);
    }
  }

  BurstPartition part(pkts);
  for (uint16_t i = 0; i < n; ++i) {
    if (verdict[i] == DropReason::kNone) {
      part.keep(pkts[i]);
    } else {
      part.drop(ctx, pkts[i], verdict[i]);
    }
  }
  return part.finish();
}

}  // namespace ocm::datapath
