#include <gtest/gtest.h>

#include "ocm/datapath/stages.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using crypto::AeadAlgo;
using test::Harness;

class DtlsSealTest : public ::testing::TestWithParam<AeadAlgo> {
 protected:
  void SetUp() override { keys_ = h_.activate(0, GetParam(), /*epoch=*/3, /*first_tx_seq=*/1000); }
  PktBuf* payload(std::span<const uint8_t> plain) {
    PktBuf* p = h_.packet(plain);
    p->meta.slot = 0;
    return p;
  }
  Harness h_{8};
  test::ClientKeys keys_;
};

TEST_P(DtlsSealTest, RecordsOpenWithTheClientKeyInSequence) {
  h_.ctx.now_ns = 42;
  std::vector<std::vector<uint8_t>> plains;
  std::vector<PktBuf*> pkts;
  for (size_t len : {1u, 21u, 100u, 1400u}) {
    plains.push_back(test::with_type(0x00, test::pattern(len - 1, static_cast<uint32_t>(len))));
    pkts.push_back(payload(plains.back()));
  }
  ASSERT_EQ(test::run_stage(dtls_seal, h_.ctx, pkts), 4);
  for (size_t i = 0; i < pkts.size(); ++i) {
    EXPECT_EQ(pkts[i]->meta.peer, Harness::peer_of(0));
    EXPECT_EQ(pkts[i]->len(), plains[i].size() + crypto::dtls_overhead(GetParam()));
    uint64_t seq = 0;
    auto opened = test::client_open(*h_.engine, keys_.s2c, 3, test::bytes_of(pkts[i]), &seq);
    ASSERT_TRUE(opened.has_value()) << i;
    EXPECT_EQ(*opened, plains[i]);
    EXPECT_EQ(seq, 1000 + i);
  }
  const DtlsSession& s = h_.table.session(0);
  EXPECT_EQ(s.tx_seq, 1004u);
  EXPECT_EQ(s.last_tx_ns, 42u);
  EXPECT_EQ(s.counters.tx_packets, 4u);
  h_.pool.free_bulk(pkts.data(), 4);
}

TEST_P(DtlsSealTest, RefusesWhatCannotBeSealed) {
  ASSERT_TRUE(h_.table.attach_cstp(1, Harness::lease_of(1)));
  std::vector<uint8_t> plain{0x00, 1, 2, 3};

  PktBuf* cstp_only = payload(plain);
  cstp_only->meta.slot = 1;
  PktBuf* bad_slot = payload(plain);
  bad_slot->meta.slot = 99;
  PktBuf* no_headroom = payload(plain);
  ASSERT_TRUE(no_headroom->set_window(0, 4));
  PktBuf* no_tailroom = payload(plain);
  ASSERT_TRUE(no_tailroom->set_window(no_tailroom->capacity() - 4, 4));
  PktPool big(1, 20000);
  PktBuf* too_long = big.alloc();
  ASSERT_TRUE(too_long->assign(std::vector<uint8_t>(kMaxDtlsPlaintext + 1)));
  too_long->meta.slot = 0;

  std::vector<PktBuf*> pkts{cstp_only, bad_slot, no_headroom, no_tailroom, too_long};
  EXPECT_EQ(test::run_stage(dtls_seal, h_.ctx, pkts), 0);
  EXPECT_EQ(cstp_only->meta.drop, DropReason::kNoDtlsSession);
  EXPECT_EQ(bad_slot->meta.drop, DropReason::kNoDtlsSession);
  EXPECT_EQ(no_headroom->meta.drop, DropReason::kTooBig);
  EXPECT_EQ(no_tailroom->meta.drop, DropReason::kTooBig);
  EXPECT_EQ(too_long->meta.drop, DropReason::kTooBig);
  EXPECT_EQ(h_.table.session(0).tx_seq, 1000u) << "nothing consumed a sequence number";
  h_.pool.free_bulk(pkts.data(), 4);
  big.free(too_long);
}

TEST_P(DtlsSealTest, SessionWithoutPeerIsRefused) {
  // Another handshake took this session's peer: keys remain, nowhere to send.
  h_.activate_with(1, Harness::lease_of(1), Harness::peer_of(0), GetParam(), 1, 1);
  std::vector<PktBuf*> pkts{payload(std::vector<uint8_t>{0x00})};
  EXPECT_EQ(test::run_stage(dtls_seal, h_.ctx, pkts), 0);
  EXPECT_EQ(pkts[0]->meta.drop, DropReason::kNoDtlsSession);
  h_.pool.free(pkts[0]);
}

TEST_P(DtlsSealTest, SequenceSpaceEndsAtTwoToThe48) {
  h_.activate(2, GetParam(), 1, kMaxDtlsSeq);
  std::vector<PktBuf*> pkts{payload(std::vector<uint8_t>{0x07}), payload(std::vector<uint8_t>{0x07})};
  pkts[0]->meta.slot = 2;
  pkts[1]->meta.slot = 2;
  EXPECT_EQ(test::run_stage(dtls_seal, h_.ctx, pkts), 1);
  EXPECT_EQ(pkts[1]->meta.drop, DropReason::kSeqExhausted);
  h_.pool.free_bulk(pkts.data(), 2);
}

INSTANTIATE_TEST_SUITE_P(Algos, DtlsSealTest,
                         ::testing::Values(AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm, AeadAlgo::kChaCha20Poly1305));

}  // namespace
}  // namespace ocm::datapath
