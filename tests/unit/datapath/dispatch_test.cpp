#include <gtest/gtest.h>

#include <string>

#include "ocm/datapath/stages.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using test::Harness;

enum class Out { kTun, kReply, kConsumed, kDropped };

struct DispatchCase {
  const char* name;
  std::vector<uint8_t> plaintext;
  Out out;
  DropReason drop = DropReason::kNone;
  Event event = Event::kKeepalive;  // for kReply / kConsumed
};

std::vector<uint8_t> mtu_probe(size_t total) {
  std::vector<uint8_t> p = test::pattern(total, 3);
  p[0] = 0x03;
  return p;
}

std::vector<uint8_t> bye(const std::string& reason) {
  // Sized up front: GCC 12 warns falsely (-Warray-bounds) on insert into a 2-byte vector.
  std::vector<uint8_t> p(2 + reason.size());
  p[0] = 0x05;
  p[1] = 0xb0;
  std::copy(reason.begin(), reason.end(), p.begin() + 2);
  return p;
}

std::vector<DispatchCase> cases() {
  auto ip = test::ipv4_packet(Harness::lease_of(0), test::kRemote, 40);
  return {
      {"empty", {}, Out::kDropped, DropReason::kEmptyPayload},
      {"data", test::with_type(0x00, ip), Out::kTun},
      {"data_without_packet", {0x00}, Out::kTun},
      {"dpd_req", {0x03}, Out::kReply, DropReason::kNone, Event::kDpdAnswered},
      {"mtu_probe_1434", mtu_probe(1435), Out::kReply, DropReason::kNone, Event::kDpdAnswered},
      {"dpd_resp", {0x04, 1, 2, 3}, Out::kConsumed, DropReason::kNone, Event::kDpdResp},
      {"keepalive", {0x07}, Out::kConsumed, DropReason::kNone, Event::kKeepalive},
      {"disconnect_user", bye("Aborted by caller"), Out::kConsumed, DropReason::kNone, Event::kDisconnect},
      {"disconnect_temporary", {0x05}, Out::kConsumed, DropReason::kNone, Event::kDisconnect},
      {"compressed", {0x08, 1, 2}, Out::kDropped, DropReason::kCompressedUnsupported},
      {"terminate", {0x09}, Out::kDropped, DropReason::kUnknownType},
      {"type_1", {0x01, 0}, Out::kDropped, DropReason::kUnknownType},
      {"type_ff", {0xff}, Out::kDropped, DropReason::kUnknownType},
  };
}

class DispatchTest : public ::testing::TestWithParam<DispatchCase> {};

TEST_P(DispatchTest, Verdict) {
  const DispatchCase& c = GetParam();
  Harness h(4);
  PktBuf* p = h.packet(c.plaintext, Harness::peer_of(0));
  p->meta.slot = 0;
  p->meta.kind = PktKind::kDtlsData;
  std::vector<PktBuf*> pkts{p};
  uint16_t kept = test::run_stage(dispatch_payload, h.ctx, pkts);
  switch (c.out) {
    case Out::kTun:
      ASSERT_EQ(kept, 1);
      EXPECT_EQ(p->meta.kind, PktKind::kTunIp);
      EXPECT_EQ(test::bytes_of(p), std::vector<uint8_t>(c.plaintext.begin() + 1, c.plaintext.end()));
      break;
    case Out::kReply: {
      ASSERT_EQ(kept, 0);
      EXPECT_EQ(p->meta.kind, PktKind::kDtlsPayload);
      EXPECT_EQ(p->meta.drop, DropReason::kNone);
      std::vector<uint8_t> expect = c.plaintext;
      expect[0] = 0x04;
      EXPECT_EQ(test::bytes_of(p), expect) << "same length and payload, type 0x04";
      EXPECT_EQ(h.counters.count(c.event), 1u);
      break;
    }
    case Out::kConsumed:
      ASSERT_EQ(kept, 0);
      EXPECT_EQ(p->meta.kind, PktKind::kConsumed);
      EXPECT_EQ(p->meta.drop, DropReason::kNone);
      EXPECT_EQ(h.counters.count(c.event), 1u);
      if (c.event == Event::kDisconnect) {
        const ControlEvent* ev = h.control.peek();
        ASSERT_NE(ev, nullptr);
        EXPECT_EQ(ev->kind, ControlKind::kDisconnect);
        EXPECT_EQ(ev->slot, 0u);
        EXPECT_EQ(ev->peer, Harness::peer_of(0));
        EXPECT_EQ(std::vector<uint8_t>(ev->bytes().begin(), ev->bytes().end()),
                  std::vector<uint8_t>(c.plaintext.begin() + 1, c.plaintext.end()));
      } else {
        EXPECT_TRUE(h.control.empty());
      }
      break;
    case Out::kDropped:
      ASSERT_EQ(kept, 0);
      EXPECT_EQ(p->meta.drop, c.drop);
      EXPECT_EQ(h.counters.dropped(c.drop), 1u);
      break;
  }
  h.pool.free(p);
}

INSTANTIATE_TEST_SUITE_P(Cases, DispatchTest, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(DispatchRingTest, DisconnectWithFullRingIsCountedDrop) {
  Harness h(4, 64, /*control_depth=*/2);
  std::vector<PktBuf*> pkts;
  for (int i = 0; i < 3; ++i) {
    PktBuf* p = h.packet(bye("x"));
    p->meta.slot = 0;
    pkts.push_back(p);
  }
  EXPECT_EQ(test::run_stage(dispatch_payload, h.ctx, pkts), 0);
  EXPECT_EQ(h.counters.count(Event::kDisconnect), 2u);
  EXPECT_EQ(h.counters.dropped(DropReason::kControlRingFull), 1u);
  EXPECT_EQ(pkts[2]->meta.drop, DropReason::kControlRingFull);
  h.pool.free_bulk(pkts.data(), 3);
}

}  // namespace
}  // namespace ocm::datapath
