#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {
namespace {

DropReason seal_one(Ctx& ctx, PktBuf* p) noexcept {
  uint32_t slot = p->meta.slot;
  if (!ctx.sessions.valid_slot(slot)) {
    return DropReason::kNoDtlsSession;
  }
  DtlsSession& s = ctx.sessions.at(slot);
  if (!s.has_keys() || !s.has_peer) {
    return DropReason::kNoDtlsSession;
  }
  size_t offset = crypto::dtls_plaintext_offset(s.tx_key.algo());
  if (p->len() > kMaxDtlsPlaintext || p->headroom() < offset || p->tailroom() < crypto::kTagSize) {
    return DropReason::kTooBig;
  }
  if (s.tx_seq > kMaxDtlsSeq) {
    return DropReason::kSeqExhausted;
  }
  uint8_t* record = p->data() - offset;
  uint16_t plain_len = p->len();
  size_t record_len = crypto::dtls_seal_in_place(ctx.engine, s.tx_key, s.epoch, s.tx_seq, record, plain_len);
  if (record_len == 0) {
    // Only on arguments checked above; never send a half-written record.
    return DropReason::kTooBig;
  }
  ++s.tx_seq;
  s.last_tx_ns = ctx.now_ns;
  ++s.counters.tx_packets;
  s.counters.tx_bytes += plain_len;
  p->set_window_at(record, static_cast<uint32_t>(record_len));
  p->meta.peer = s.peer;
  return DropReason::kNone;
}

}  // namespace

uint16_t dtls_seal(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  BurstPartition part(pkts);
  for (uint16_t i = 0; i < n; ++i) {
    DropReason r = seal_one(ctx, pkts[i]);
    if (r == DropReason::kNone) {
      part.keep(pkts[i]);
    } else {
      part.drop(ctx, pkts[i], r);
    }
  }
  return part.finish();
}

}  // namespace ocm::datapath
