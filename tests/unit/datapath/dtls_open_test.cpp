#include <gtest/gtest.h>

#include "ocm/datapath/stages.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using crypto::AeadAlgo;
using test::client_seal;
using test::Harness;

class DtlsOpenTest : public ::testing::TestWithParam<AeadAlgo> {
 protected:
  void SetUp() override {
    keys0_ = h_.activate(0, GetParam());
    keys1_ = h_.activate(1, GetParam());
    h_.ctx.now_ns = 777;
  }
  std::vector<uint8_t> record(const test::ClientKeys& keys, uint64_t seq, std::span<const uint8_t> plain,
                              uint16_t epoch = 1) {
    return client_seal(*h_.engine, keys.c2s, epoch, seq, plain);
  }
  // classify + open one burst; returns the kept count.
  uint16_t run(std::vector<PktBuf*>& pkts) {
    uint16_t k = test::run_stage(classify_udp, h_.ctx, pkts);
    EXPECT_EQ(k, pkts.size()) << "test records must pass classify";
    return dtls_open(h_.ctx, pkts.data(), k);
  }
  void free_all(std::vector<PktBuf*>& pkts) { h_.pool.free_bulk(pkts.data(), static_cast<uint32_t>(pkts.size())); }

  Harness h_{8};
  test::ClientKeys keys0_;
  test::ClientKeys keys1_;
  std::vector<uint8_t> plain_ = test::with_type(0x00, test::ipv4_packet(Harness::lease_of(0), test::kRemote, 60));
};

TEST_P(DtlsOpenTest, AuthenticRecordOpensInPlace) {
  std::vector<PktBuf*> pkts{h_.packet(record(keys0_, 5, plain_), Harness::peer_of(0))};
  ASSERT_EQ(run(pkts), 1);
  EXPECT_EQ(test::bytes_of(pkts[0]), plain_);
  EXPECT_EQ(pkts[0]->meta.kind, PktKind::kDtlsData);
  const DtlsSession& s = h_.table.session(0);
  EXPECT_EQ(s.last_rx_ns, 777u);
  EXPECT_EQ(s.window.highest(), 5u);
  EXPECT_EQ(s.counters.rx_packets, 1u);
  EXPECT_EQ(s.counters.rx_bytes, plain_.size());
  EXPECT_EQ(h_.counters.total_drops(), 0u);
  // The plaintext sits where a reseal can put the header back in front of it.
  EXPECT_GE(pkts[0]->headroom(), crypto::dtls_plaintext_offset(GetParam()));
  EXPECT_GE(pkts[0]->tailroom(), crypto::kTagSize);
  free_all(pkts);
}

// Table of single-record failures; each is checked not to move the replay window.
struct Failure {
  const char* name;
  DropReason expect;
};

TEST_P(DtlsOpenTest, FailuresAreDroppedAndDoNotMoveTheWindow) {
  auto good = record(keys0_, 10, plain_);
  auto tampered_body = good;
  tampered_body[good.size() - 20] ^= 1;
  auto tampered_tag = good;
  tampered_tag.back() ^= 0x80;
  auto tampered_seq = record(keys0_, 11, plain_);
  tampered_seq[10] = 12;  // header seq 12, nonce/AAD built with 11
  auto wrong_key = record(keys1_, 13, plain_);
  auto wrong_epoch = record(keys0_, 14, plain_, 2);
  auto truncated = good;
  truncated.resize(13 + 5);
  truncated[11] = 0;
  truncated[12] = 5;
  std::vector<std::pair<Failure, std::vector<uint8_t>>> table = {
      {{"tampered_body", DropReason::kAuthFailed}, tampered_body},
      {{"tampered_tag", DropReason::kAuthFailed}, tampered_tag},
      {{"tampered_seq", DropReason::kAuthFailed}, tampered_seq},
      {{"wrong_key", DropReason::kAuthFailed}, wrong_key},
      {{"wrong_epoch", DropReason::kBadEpoch}, wrong_epoch},
      {{"truncated", DropReason::kAuthFailed}, truncated},
  };
  for (auto& [failure, bytes] : table) {
    SCOPED_TRACE(failure.name);
    std::vector<PktBuf*> pkts{h_.packet(bytes, Harness::peer_of(0))};
    EXPECT_EQ(run(pkts), 0);
    EXPECT_EQ(pkts[0]->meta.drop, failure.expect);
    EXPECT_EQ(h_.table.session(0).counters.rx_packets, 0u);
    EXPECT_EQ(h_.table.session(0).last_rx_ns, 0u);
    free_all(pkts);
  }
  EXPECT_EQ(h_.counters.dropped(DropReason::kAuthFailed), 5u);
  EXPECT_EQ(h_.counters.dropped(DropReason::kBadEpoch), 1u);
  // None of them moved the window: the genuine seq 10 and 12 still open.
  std::vector<PktBuf*> pkts{h_.packet(good, Harness::peer_of(0)),
                            h_.packet(record(keys0_, 12, plain_), Harness::peer_of(0))};
  EXPECT_EQ(run(pkts), 2);
  free_all(pkts);
}

TEST_P(DtlsOpenTest, ReplaysAreDropped) {
  auto r100 = record(keys0_, 100, plain_);
  std::vector<PktBuf*> pkts{h_.packet(r100, Harness::peer_of(0)), h_.packet(r100, Harness::peer_of(0)),
                            h_.packet(record(keys0_, 99, plain_), Harness::peer_of(0)),
                            h_.packet(record(keys0_, 30, plain_), Harness::peer_of(0))};
  ASSERT_EQ(run(pkts), 2);
  EXPECT_EQ(pkts[2]->meta.drop, DropReason::kReplay);
  EXPECT_EQ(pkts[3]->meta.drop, DropReason::kReplay) << "30 is more than 64 behind 100";
  EXPECT_EQ(h_.counters.dropped(DropReason::kReplay), 2u);
  EXPECT_EQ(h_.table.session(0).counters.replays, 2u);
  free_all(pkts);
}

TEST_P(DtlsOpenTest, InterleavedSessionsAreGroupedButKeepInputOrder) {
  std::vector<PktBuf*> pkts;
  for (uint64_t seq = 1; seq <= 8; ++seq) {
    pkts.push_back(h_.packet(record(seq % 2 == 0 ? keys0_ : keys1_, seq, plain_), Harness::peer_of(seq % 2 ? 1 : 0)));
  }
  std::vector<PktBuf*> original = pkts;
  ASSERT_EQ(run(pkts), 8);
  EXPECT_EQ(pkts, original);
  EXPECT_EQ(h_.table.session(0).counters.rx_packets, 4u);
  EXPECT_EQ(h_.table.session(1).counters.rx_packets, 4u);
  free_all(pkts);
}

TEST_P(DtlsOpenTest, RoamingCandidateThatAuthenticatesMovesThePeer) {
  Peer new_port{Harness::peer_of(0).addr, 50000};
  std::vector<PktBuf*> pkts{h_.packet(record(keys0_, 3, plain_), new_port)};
  ASSERT_EQ(run(pkts), 1);
  EXPECT_EQ(h_.table.session(0).peer, new_port);
  EXPECT_EQ(h_.table.lookup_peer(new_port), 0u);
  EXPECT_EQ(h_.table.lookup_peer(Harness::peer_of(0)), kNoSlot);
  EXPECT_EQ(h_.counters.count(Event::kRoamed), 1u);
  const ControlEvent* ev = h_.control.peek();
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->kind, ControlKind::kPeerChanged);
  EXPECT_EQ(ev->slot, 0u);
  EXPECT_EQ(ev->peer, new_port);
  free_all(pkts);
}

TEST_P(DtlsOpenTest, RoamingCandidateThatFailsChangesNothing) {
  Peer new_port{Harness::peer_of(0).addr, 50000};
  std::vector<PktBuf*> pkts{h_.packet(record(keys1_, 3, plain_), new_port)};
  ASSERT_EQ(run(pkts), 0);
  EXPECT_EQ(pkts[0]->meta.drop, DropReason::kRoamAuthFailed);
  EXPECT_EQ(h_.table.session(0).peer, Harness::peer_of(0));
  EXPECT_TRUE(h_.control.empty());
  free_all(pkts);
}

TEST_P(DtlsOpenTest, RoamNoticeLostWhenControlRingFull) {
  Harness h(4, 64, /*control_depth=*/2);
  auto keys = h.activate(0, GetParam());
  ASSERT_EQ(push_control(h.control, ControlKind::kRecord, 22, kNoSlot, Peer{}, 0, {}), PushResult::kOk);
  ASSERT_EQ(push_control(h.control, ControlKind::kRecord, 22, kNoSlot, Peer{}, 0, {}), PushResult::kOk);
  Peer new_port{Harness::peer_of(0).addr, 1};
  std::vector<PktBuf*> pkts{h.packet(client_seal(*h.engine, keys.c2s, 1, 1, plain_), new_port)};
  ASSERT_EQ(test::run_stage(classify_udp, h.ctx, pkts), 1);
  ASSERT_EQ(test::run_stage(dtls_open, h.ctx, pkts), 1);
  EXPECT_EQ(h.table.session(0).peer, new_port) << "the move itself does not depend on the ring";
  EXPECT_EQ(h.counters.count(Event::kRoamNotifyLost), 1u);
  h.pool.free(pkts[0]);
}

TEST_P(DtlsOpenTest, RecordReactivatesInactiveSession) {
  ASSERT_TRUE(h_.table.mark_dtls_inactive(0));
  std::vector<PktBuf*> pkts{h_.packet(record(keys0_, 1, plain_), Harness::peer_of(0))};
  ASSERT_EQ(run(pkts), 1);
  EXPECT_EQ(h_.table.state(0), SessionState::kDtlsActive);
  EXPECT_EQ(h_.counters.count(Event::kReactivated), 1u);
  free_all(pkts);
}

TEST_P(DtlsOpenTest, SessionWithoutKeysDrops) {
  std::vector<PktBuf*> pkts{h_.packet(record(keys0_, 1, plain_), Harness::peer_of(0))};
  ASSERT_EQ(test::run_stage(classify_udp, h_.ctx, pkts), 1);
  ASSERT_TRUE(h_.table.deactivate_dtls(0));  // between classify and open
  EXPECT_EQ(test::run_stage(dtls_open, h_.ctx, pkts), 0);
  EXPECT_EQ(pkts[0]->meta.drop, DropReason::kNoDtlsSession);
  free_all(pkts);
}

INSTANTIATE_TEST_SUITE_P(Algos, DtlsOpenTest,
                         ::testing::Values(AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm, AeadAlgo::kChaCha20Poly1305),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case AeadAlgo::kAes128Gcm:
                               return std::string("aes128gcm");
                             case AeadAlgo::kAes256Gcm:
                               return std::string("aes256gcm");
                             default:
                               return std::string("chacha20poly1305");
                           }
                         });

}  // namespace
}  // namespace ocm::datapath
