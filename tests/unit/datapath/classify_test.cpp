#include <gtest/gtest.h>

#include "ocm/datapath/stages.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using test::dtls_datagram;
using test::Harness;

constexpr uint16_t kV12 = 0xfefd;
constexpr uint32_t kSharedIp = 0xC6336401;  // 198.51.100.1: sessions 1 and 2 both use it

enum class Expect { kKept, kDropped, kToControl };

struct ClassifyCase {
  const char* name;
  std::vector<uint8_t> datagram;
  Peer peer;
  Expect expect;
  DropReason drop = DropReason::kNone;
  PktKind kind = PktKind::kRaw;
  uint32_t slot = kNoSlot;
};

std::vector<ClassifyCase> cases() {
  Peer known = Harness::peer_of(0);
  Peer roamed = Peer{known.addr, 1};
  Peer stranger = Peer::v4(0x0B0B0B0B, 1234);
  Peer shared_new_port = Peer::v4(kSharedIp, 999);
  std::vector<ClassifyCase> c;
  c.push_back({"empty", {}, known, Expect::kDropped, DropReason::kDtlsShort});
  c.push_back({"twelve_bytes", std::vector<uint8_t>(12, 23), known, Expect::kDropped, DropReason::kDtlsShort});
  c.push_back({"length_beyond_datagram", dtls_datagram(23, kV12, 1, 5, 100, 50), known, Expect::kDropped,
               DropReason::kDtlsBadLength});
  c.push_back({"app_data_with_trailing_bytes", dtls_datagram(23, kV12, 1, 5, 40, 50), known, Expect::kDropped,
               DropReason::kDtlsBadLength});
  c.push_back({"app_data_dtls10", dtls_datagram(23, 0xfeff, 1, 5, 50, 50), known, Expect::kDropped,
               DropReason::kDtlsBadVersion});
  c.push_back({"app_data_tls12", dtls_datagram(23, 0x0303, 1, 5, 50, 50), known, Expect::kDropped,
               DropReason::kDtlsBadVersion});
  c.push_back({"content_type_24", dtls_datagram(24, kV12, 1, 5, 50, 50), known, Expect::kDropped,
               DropReason::kDtlsBadContentType});
  c.push_back({"content_type_0", dtls_datagram(0, kV12, 1, 5, 50, 50), known, Expect::kDropped,
               DropReason::kDtlsBadContentType});
  c.push_back({"app_data_known_peer", dtls_datagram(23, kV12, 1, 0x010203040506, 50, 50), known, Expect::kKept,
               DropReason::kNone, PktKind::kDtlsData, 0});
  c.push_back({"app_data_empty_fragment", dtls_datagram(23, kV12, 1, 5, 0, 0), known, Expect::kKept, DropReason::kNone,
               PktKind::kDtlsData, 0});
  c.push_back({"app_data_stranger", dtls_datagram(23, kV12, 1, 5, 50, 50), stranger, Expect::kDropped,
               DropReason::kUnknownPeer});
  c.push_back({"app_data_new_port_unique_ip", dtls_datagram(23, kV12, 1, 5, 50, 50), roamed, Expect::kKept,
               DropReason::kNone, PktKind::kRoamCandidate, 0});
  c.push_back({"app_data_new_port_shared_ip", dtls_datagram(23, kV12, 1, 5, 50, 50), shared_new_port, Expect::kDropped,
               DropReason::kRoamAmbiguous});
  c.push_back({"client_hello_stranger", dtls_datagram(22, 0xfeff, 0, 0, 100, 100), stranger, Expect::kToControl,
               DropReason::kNone, PktKind::kConsumed, kNoSlot});
  c.push_back({"ccs_known", dtls_datagram(20, kV12, 0, 3, 1, 1), known, Expect::kToControl, DropReason::kNone,
               PktKind::kConsumed, 0});
  c.push_back({"alert_dtls09", dtls_datagram(21, 0x0100, 1, 3, 2, 2), known, Expect::kToControl, DropReason::kNone,
               PktKind::kConsumed, 0});
  c.push_back({"handshake_coalesced_records", dtls_datagram(22, kV12, 0, 3, 20, 60), known, Expect::kToControl,
               DropReason::kNone, PktKind::kConsumed, 0});
  c.push_back({"handshake_tls_version", dtls_datagram(22, 0x0303, 0, 0, 10, 10), known, Expect::kDropped,
               DropReason::kDtlsBadVersion});
  return c;
}

class ClassifyTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyTest, Verdict) {
  const ClassifyCase& c = GetParam();
  Harness h(8);
  h.activate(0);
  h.activate_with(1, Harness::lease_of(1), Peer::v4(kSharedIp, 1), crypto::AeadAlgo::kAes128Gcm, 1, 1);
  h.activate_with(2, Harness::lease_of(2), Peer::v4(kSharedIp, 2), crypto::AeadAlgo::kAes128Gcm, 1, 1);

  std::vector<PktBuf*> pkts{h.packet(c.datagram, c.peer)};
  uint16_t kept = test::run_stage(classify_udp, h.ctx, pkts);
  PktBuf* p = pkts[0];
  switch (c.expect) {
    case Expect::kKept:
      ASSERT_EQ(kept, 1);
      EXPECT_EQ(p->meta.kind, c.kind);
      EXPECT_EQ(p->meta.slot, c.slot);
      EXPECT_EQ(p->meta.rec_epoch, 1);
      EXPECT_EQ(p->meta.rec_seq, std::string(c.name) == "app_data_known_peer" ? 0x010203040506u : 5u);
      EXPECT_EQ(h.counters.total_drops(), 0u);
      break;
    case Expect::kDropped:
      ASSERT_EQ(kept, 0);
      EXPECT_EQ(p->meta.drop, c.drop);
      EXPECT_EQ(h.counters.dropped(c.drop), 1u);
      EXPECT_EQ(h.counters.total_drops(), 1u);
      EXPECT_TRUE(h.control.empty());
      break;
    case Expect::kToControl: {
      ASSERT_EQ(kept, 0);
      EXPECT_EQ(p->meta.drop, DropReason::kNone);
      EXPECT_EQ(p->meta.kind, PktKind::kConsumed);
      EXPECT_EQ(h.counters.count(Event::kToSlowPath), 1u);
      const ControlEvent* ev = h.control.peek();
      ASSERT_NE(ev, nullptr);
      EXPECT_EQ(ev->kind, ControlKind::kRecord);
      EXPECT_EQ(ev->content_type, c.datagram[0]);
      EXPECT_EQ(ev->slot, c.slot);
      EXPECT_EQ(ev->peer, c.peer);
      EXPECT_EQ(std::vector<uint8_t>(ev->bytes().begin(), ev->bytes().end()), c.datagram);
      break;
    }
  }
  h.pool.free(p);
}

INSTANTIATE_TEST_SUITE_P(Cases, ClassifyTest, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ClassifyBurstTest, MixedBurstKeepsOrderAndCountsRingFull) {
  Harness h(8, 256, /*control_depth=*/2);
  h.activate(0);
  h.activate(1);
  std::vector<PktBuf*> pkts;
  auto data = [&](uint32_t slot, uint64_t seq) {
    return h.packet(dtls_datagram(23, kV12, 1, seq, 20, 20), Harness::peer_of(slot));
  };
  auto hello = [&] { return h.packet(dtls_datagram(22, 0xfeff, 0, 0, 20, 20), Peer::v4(0x0C000001, 1)); };
  pkts = {data(0, 1), hello(), data(1, 1), hello(), hello(), data(0, 2)};
  std::vector<PktBuf*> original = pkts;
  uint16_t kept = test::run_stage(classify_udp, h.ctx, pkts);
  ASSERT_EQ(kept, 3);
  EXPECT_EQ(pkts[0], original[0]);
  EXPECT_EQ(pkts[1], original[2]);
  EXPECT_EQ(pkts[2], original[5]);
  EXPECT_EQ(pkts[0]->meta.slot, 0u);
  EXPECT_EQ(pkts[1]->meta.slot, 1u);
  EXPECT_EQ(pkts[3], original[1]);
  EXPECT_EQ(pkts[4], original[3]);
  EXPECT_EQ(pkts[5], original[4]);
  EXPECT_EQ(pkts[5]->meta.drop, DropReason::kControlRingFull);
  EXPECT_EQ(h.counters.count(Event::kToSlowPath), 2u);
  EXPECT_EQ(h.counters.dropped(DropReason::kControlRingFull), 1u);
  h.pool.free_bulk(pkts.data(), static_cast<uint32_t>(pkts.size()));
}

TEST(ClassifyBurstTest, OversizedControlDatagramIsDropped) {
  Harness h(8);
  PktPool big(2, 4096);
  PktBuf* p = big.alloc();
  ASSERT_TRUE(p->assign(dtls_datagram(22, kV12, 0, 0, 3000, 3000)));
  std::vector<PktBuf*> pkts{p};
  EXPECT_EQ(test::run_stage(classify_udp, h.ctx, pkts), 0);
  EXPECT_EQ(p->meta.drop, DropReason::kControlTooBig);
  big.free(p);
}

}  // namespace
}  // namespace ocm::datapath
