#include "ocm/datapath/gso.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "reference.hpp"

namespace ocm::datapath {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kUrg = 0x20;
constexpr uint8_t kCwr = 0x80;

VnetHdr tso_hdr(const ref::TcpSpec& s, uint16_t gso_size) {
  VnetHdr h;
  h.flags = kVnetFlagNeedsCsum;
  h.gso_type = s.v6 ? kVnetGsoTcpV6 : kVnetGsoTcpV4;
  h.gso_size = gso_size;
  h.csum_start = static_cast<uint16_t>(s.v6 ? 40 : 20 + s.ip_options);
  h.csum_offset = 16;
  h.hdr_len = 0xffff;  // never trusted
  return h;
}

std::vector<Bytes> cut(const Bytes& frame, const VnetHdr& h, TsoPlan& plan, uint32_t room = 2048) {
  std::vector<Bytes> segs;
  EXPECT_EQ(plan_tso(frame, h, room, plan), GsoVerdict::kOk);
  for (uint16_t i = 0; i < plan.segments; ++i) {
    Bytes out(plan.hdr_len + plan.gso_size + 16, 0xee);
    uint16_t len = write_tso_segment(frame, plan, i, out.data());
    EXPECT_EQ(out[len], 0xee) << "segment " << i << " wrote past its length";
    out.resize(len);
    segs.push_back(std::move(out));
  }
  return segs;
}

// ---- TSO segmentation -----------------------------------------------------------------------

struct TsoCase {
  std::string name;
  ref::TcpSpec spec;
  uint16_t gso_size;
  uint16_t expected_segments;
  bool ecn = false;
  bool partial = true;  // TCP checksum field as the kernel leaves it (pseudo-header sum)
};

std::vector<TsoCase> tso_cases() {
  std::vector<TsoCase> c;
  auto add = [&](std::string name, auto tweak, uint16_t gso, uint16_t segs) {
    ref::TcpSpec s;
    tweak(s);
    c.push_back({std::move(name), s, gso, segs});
  };
  add("exact_multiple", [](ref::TcpSpec& s) { s.payload = 4000; }, 1000, 4);
  add("last_short", [](ref::TcpSpec& s) { s.payload = 3500; }, 1000, 4);
  add("single_segment", [](ref::TcpSpec& s) { s.payload = 800; }, 1000, 1);
  add("ip_options", [](ref::TcpSpec& s) { s.payload = 2500; s.ip_options = 8; }, 1000, 3);
  add("tcp_timestamps", [](ref::TcpSpec& s) { s.payload = 4144; s.tcp_options = 12; s.option_fill = 0x08; }, 1382, 3);
  add("max_options", [](ref::TcpSpec& s) { s.payload = 3000; s.ip_options = 40; s.tcp_options = 40; }, 1300, 3);
  add("fin_psh_on_last_only", [](ref::TcpSpec& s) { s.payload = 3000; s.flags = kAck | kPsh | kFin; }, 1000, 3);
  add("seq_wraps", [](ref::TcpSpec& s) { s.payload = 5000; s.seq = 0xfffff000; }, 1400, 4);
  add("id_wraps", [](ref::TcpSpec& s) { s.payload = 5000; s.id = 0xfffe; }, 1400, 4);
  add("odd_gso_size", [](ref::TcpSpec& s) { s.payload = 5000; }, 1001, 5);
  add("odd_payload", [](ref::TcpSpec& s) { s.payload = 4001; }, 1000, 5);
  add("tiny_mss", [](ref::TcpSpec& s) { s.payload = 2000; }, 48, 42);
  add("full_64k", [](ref::TcpSpec& s) { s.payload = 65535 - 52; s.tcp_options = 12; }, 1382, 48);
  add("ipv6", [](ref::TcpSpec& s) { s.payload = 4000; s.v6 = true; s.tcp_options = 12; }, 1368, 3);
  add("ipv6_last_short", [](ref::TcpSpec& s) { s.payload = 2801; s.v6 = true; }, 1400, 3);
  ref::TcpSpec cwr;
  cwr.payload = 3000;
  cwr.flags = kAck | kCwr;
  c.push_back({"cwr_on_first_only_ecn", cwr, 1000, 3, true});
  ref::TcpSpec full;
  full.payload = 3000;
  c.push_back({"full_checksum_in_field", full, 1000, 3, false, false});
  return c;
}

class Tso : public ::testing::TestWithParam<TsoCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, Tso, ::testing::ValuesIn(tso_cases()), [](const auto& param_info) { return param_info.param.name; });

TEST_P(Tso, SegmentsAreCompleteValidPackets) {
  const auto& tc = GetParam();
  const auto& s = tc.spec;
  Bytes frame = ref::tcp_packet(s, tc.partial);
  VnetHdr h = tso_hdr(s, tc.gso_size);
  if (tc.ecn) {
    h.gso_type |= kVnetGsoEcn;
  }
  TsoPlan plan;
  auto segs = cut(frame, h, plan);
  ASSERT_EQ(segs.size(), tc.expected_segments);
  const size_t ihl = s.v6 ? 40 : 20 + s.ip_options;
  const size_t thl = 20 + s.tcp_options;
  EXPECT_EQ(plan.hdr_len, ihl + thl);
  size_t payload_seen = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Bytes& g = segs[i];
    SCOPED_TRACE("segment " + std::to_string(i));
    const bool last = i + 1 == segs.size();
    const size_t seg_payload = g.size() - ihl - thl;
    if (!last) {
      EXPECT_EQ(seg_payload, tc.gso_size);
    } else {
      EXPECT_EQ(seg_payload, s.payload - tc.gso_size * (segs.size() - 1));
      EXPECT_LE(seg_payload, tc.gso_size);
    }
    if (!s.v6) {
      EXPECT_EQ(g[0], frame[0]);
      EXPECT_EQ(ref::be16(&g[2]), g.size());
      EXPECT_EQ(ref::be16(&g[4]), static_cast<uint16_t>(s.id + i));
      EXPECT_EQ(g[6], frame[6]) << "DF/flags preserved";
      EXPECT_TRUE(ref::ipv4_header_ok(g.data()));
      EXPECT_TRUE(std::equal(frame.begin() + 20, frame.begin() + static_cast<long>(ihl), g.begin() + 20))
          << "IP options copied";
    } else {
      EXPECT_EQ(ref::be16(&g[4]), g.size() - 40);
      EXPECT_TRUE(std::equal(frame.begin() + 6, frame.begin() + 40, g.begin() + 6));
    }
    const uint8_t* t = &g[ihl];
    EXPECT_EQ(ref::be32(t + 4), static_cast<uint32_t>(s.seq + i * tc.gso_size));
    EXPECT_EQ(ref::be32(t + 8), s.ack);
    EXPECT_EQ(ref::be16(t + 14), s.window);
    uint8_t flags = s.flags;
    if (!last) {
      flags &= static_cast<uint8_t>(~(kFin | kPsh));
    }
    if (i != 0) {
      flags &= static_cast<uint8_t>(~kCwr);
    }
    EXPECT_EQ(t[13], flags);
    EXPECT_EQ(t[12], frame[ihl + 12]) << "data offset";
    EXPECT_TRUE(std::equal(frame.begin() + static_cast<long>(ihl + 20), frame.begin() + static_cast<long>(ihl + thl),
                           g.begin() + static_cast<long>(ihl + 20)))
        << "TCP options copied";
    EXPECT_TRUE(ref::l4_checksum_ok(g, 6)) << "TCP checksum";
    EXPECT_TRUE(std::equal(g.begin() + static_cast<long>(ihl + thl), g.end(),
                           frame.begin() + static_cast<long>(ihl + thl + payload_seen)))
        << "payload slice";
    payload_seen += seg_payload;
  }
  EXPECT_EQ(payload_seen, s.payload);
}

TEST(TsoUrgent, PointerRebasedAndClearedPastTheUrgentPoint) {
  struct UrgCase {
    uint16_t ptr;
    std::vector<int> expected;  // per segment: -1 = no URG, else the pointer
  };
  const std::vector<UrgCase> cases = {
      {1500, {1500, 500, -1}},          // urgent point inside the second segment
      {1000, {1000, -1, -1}},           // exactly at the end of the first
      {3000, {3000, 2000, 1000}},       // at the very end
      {0xffff, {0xffff, 0xffff, 0xffff}},  // "more than 64 KiB ahead" stays
  };
  for (const auto& uc : cases) {
    SCOPED_TRACE("urg_ptr " + std::to_string(uc.ptr));
    ref::TcpSpec s;
    s.payload = 3000;
    s.flags = kAck | kUrg;
    s.urg_ptr = uc.ptr;
    Bytes frame = ref::tcp_packet(s, true);
    TsoPlan plan;
    auto segs = cut(frame, tso_hdr(s, 1000), plan);
    ASSERT_EQ(segs.size(), uc.expected.size());
    for (size_t i = 0; i < segs.size(); ++i) {
      const uint8_t* t = &segs[i][20];
      if (uc.expected[i] < 0) {
        EXPECT_EQ(t[13] & kUrg, 0) << "segment " << i;
        EXPECT_EQ(ref::be16(t + 18), 0) << "segment " << i;
      } else {
        EXPECT_EQ(t[13] & kUrg, kUrg) << "segment " << i;
        EXPECT_EQ(ref::be16(t + 18), uc.expected[i]) << "segment " << i;
      }
      EXPECT_TRUE(ref::l4_checksum_ok(segs[i], 6));
    }
  }
}

struct RejectCase {
  std::string name;
  std::function<void(Bytes&, VnetHdr&)> mutate;
  GsoVerdict expected;
  uint32_t room = 2048;
};

std::vector<RejectCase> reject_cases() {
  return {
      {"gso_udp_ufo", [](Bytes&, VnetHdr& h) { h.gso_type = kVnetGsoUdp; }, GsoVerdict::kUnsupportedType},
      {"gso_udp_l4", [](Bytes&, VnetHdr& h) { h.gso_type = kVnetGsoUdpL4; }, GsoVerdict::kUnsupportedType},
      {"gso_unknown", [](Bytes&, VnetHdr& h) { h.gso_type = 2; }, GsoVerdict::kUnsupportedType},
      {"gso_none", [](Bytes&, VnetHdr& h) { h.gso_type = kVnetGsoNone; }, GsoVerdict::kUnsupportedType},
      {"v4_type_on_v6_packet", [](Bytes& p, VnetHdr&) { p[0] = 0x65; }, GsoVerdict::kBadIpHeader},
      {"v6_type_on_v4_packet", [](Bytes&, VnetHdr& h) { h.gso_type = kVnetGsoTcpV6; }, GsoVerdict::kBadIpHeader},
      {"ihl_too_small", [](Bytes& p, VnetHdr&) { p[0] = 0x44; }, GsoVerdict::kBadIpHeader},
      {"truncated_ip", [](Bytes& p, VnetHdr&) { p.resize(19); }, GsoVerdict::kBadIpHeader},
      {"udp_protocol", [](Bytes& p, VnetHdr&) { p[9] = 17; }, GsoVerdict::kNotTcp},
      {"more_fragments", [](Bytes& p, VnetHdr&) { p[6] |= 0x20; }, GsoVerdict::kFragment},
      {"fragment_offset", [](Bytes& p, VnetHdr&) { p[7] = 1; }, GsoVerdict::kFragment},
      {"csum_start_wrong", [](Bytes&, VnetHdr& h) { h.csum_start = 24; }, GsoVerdict::kBadChecksumOffsets},
      {"csum_offset_not_tcp", [](Bytes&, VnetHdr& h) { h.csum_offset = 6; }, GsoVerdict::kBadChecksumOffsets},
      {"tcp_doff_too_small", [](Bytes& p, VnetHdr&) { p[32] = 0x40; }, GsoVerdict::kBadTcpHeader},
      {"tcp_header_beyond_packet", [](Bytes& p, VnetHdr&) { p.resize(50); p[32] = 0xf0; }, GsoVerdict::kBadTcpHeader},
      {"no_payload", [](Bytes& p, VnetHdr&) { p.resize(40); }, GsoVerdict::kNoPayload},
      {"gso_size_zero", [](Bytes&, VnetHdr& h) { h.gso_size = 0; }, GsoVerdict::kNoPayload},
      {"segment_too_big", [](Bytes&, VnetHdr&) {}, GsoVerdict::kSegmentTooBig, 1039},
  };
}

class TsoReject : public ::testing::TestWithParam<RejectCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, TsoReject, ::testing::ValuesIn(reject_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST_P(TsoReject, Verdict) {
  ref::TcpSpec s;
  s.payload = 3000;
  Bytes frame = ref::tcp_packet(s, true);
  VnetHdr h = tso_hdr(s, 1000);
  GetParam().mutate(frame, h);
  TsoPlan plan;
  EXPECT_EQ(plan_tso(frame, h, GetParam().room, plan), GetParam().expected)
      << to_string(plan_tso(frame, h, GetParam().room, plan));
}

TEST(TsoReject, SegmentThatJustFitsIsAccepted) {
  ref::TcpSpec s;
  s.payload = 3000;
  Bytes frame = ref::tcp_packet(s, true);
  TsoPlan plan;
  EXPECT_EQ(plan_tso(frame, tso_hdr(s, 1000), 1040, plan), GsoVerdict::kOk);
}

TEST(TsoReject, WithoutNeedsCsumTheOffsetsAreNotChecked) {
  ref::TcpSpec s;
  s.payload = 3000;
  Bytes frame = ref::tcp_packet(s, false);
  VnetHdr h = tso_hdr(s, 1000);
  h.flags = 0;
  h.csum_start = 0;
  h.csum_offset = 0;
  TsoPlan plan;
  auto segs = cut(frame, h, plan);
  ASSERT_EQ(segs.size(), 3u);
  for (const auto& g : segs) {
    EXPECT_TRUE(ref::l4_checksum_ok(g, 6));
  }
}

TEST(GsoVerdict, Names) {
  EXPECT_STREQ(to_string(GsoVerdict::kOk), "ok");
  EXPECT_STREQ(to_string(GsoVerdict::kUnsupportedType), "unsupported_gso_type");
  EXPECT_STREQ(to_string(static_cast<GsoVerdict>(200)), "?");
}

// Whatever plan_tso accepts, write_tso_segment stays inside the input and the promised output
// size (run under ASan to make this bite); mostly-valid frames with random header fields.
TEST(TsoReject, RandomFramesNeverOverrun) {
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    ref::TcpSpec s;
    s.payload = rng() % 3000;
    s.ip_options = (rng() % 11) * 4;
    s.tcp_options = (rng() % 11) * 4;
    s.v6 = rng() % 4 == 0;
    Bytes frame = ref::tcp_packet(s, true);
    // Corrupt a few header bytes and maybe cut the frame short.
    for (int k = rng() % 4; k > 0; --k) {
      frame[rng() % std::min<size_t>(frame.size(), 120)] = static_cast<uint8_t>(rng());
    }
    if (rng() % 3 == 0) {
      frame.resize(rng() % (frame.size() + 1));
    }
    VnetHdr h;
    h.flags = static_cast<uint8_t>(rng() % 2);
    h.gso_type = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : (s.v6 ? kVnetGsoTcpV6 : kVnetGsoTcpV4));
    h.gso_size = static_cast<uint16_t>(rng() % 2 == 0 ? 1 + rng() % 1500 : rng());
    h.csum_start = static_cast<uint16_t>(rng() % 2 == 0 ? (s.v6 ? 40 : 20 + s.ip_options) : rng() % 200);
    h.csum_offset = static_cast<uint16_t>(rng() % 2 == 0 ? 16 : rng() % 64);
    h.hdr_len = static_cast<uint16_t>(rng());
    TsoPlan plan;
    if (plan_tso(frame, h, 2048, plan) != GsoVerdict::kOk) {
      continue;
    }
    ++accepted;
    ASSERT_LE(size_t{plan.hdr_len} + plan.payload, frame.size());
    ASSERT_LE(size_t{plan.hdr_len} + std::min<uint32_t>(plan.gso_size, plan.payload), 2048u);
    for (uint16_t i = 0; i < plan.segments; ++i) {
      Bytes out(plan.hdr_len + std::min<uint32_t>(plan.gso_size, plan.payload));
      uint16_t len = write_tso_segment(frame, plan, i, out.data());
      ASSERT_LE(len, out.size());
    }
  }
  EXPECT_GT(accepted, 1000) << "the generator should mostly produce acceptable frames";
}

// ---- partial checksums (NEEDS_CSUM without GSO) ---------------------------------------------

struct PartialCase {
  std::string name;
  std::function<Bytes()> make;
  uint8_t proto;
  uint16_t csum_start;
  uint16_t csum_offset;
};

std::vector<PartialCase> partial_cases() {
  return {
      {"tcp", [] { ref::TcpSpec s; s.payload = 1400; return ref::tcp_packet(s, true); }, 6, 20, 16},
      {"tcp_odd_payload", [] { ref::TcpSpec s; s.payload = 333; return ref::tcp_packet(s, true); }, 6, 20, 16},
      {"tcp_options",
       [] { ref::TcpSpec s; s.payload = 100; s.ip_options = 4; s.tcp_options = 12; return ref::tcp_packet(s, true); },
       6, 24, 16},
      {"tcp_no_payload", [] { ref::TcpSpec s; s.payload = 0; return ref::tcp_packet(s, true); }, 6, 20, 16},
      {"tcp_v6", [] { ref::TcpSpec s; s.payload = 999; s.v6 = true; return ref::tcp_packet(s, true); }, 6, 40, 16},
      {"udp", [] { return ref::udp_packet(512, true); }, 17, 20, 6},
      {"udp_odd", [] { return ref::udp_packet(31, true); }, 17, 20, 6},
  };
}

class PartialChecksum : public ::testing::TestWithParam<PartialCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, PartialChecksum, ::testing::ValuesIn(partial_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST_P(PartialChecksum, CompletedChecksumVerifies) {
  Bytes p = GetParam().make();
  EXPECT_FALSE(ref::l4_checksum_ok(p, GetParam().proto)) << "starts out partial";
  ASSERT_EQ(complete_checksum(p, GetParam().csum_start, GetParam().csum_offset), GsoVerdict::kOk);
  EXPECT_TRUE(ref::l4_checksum_ok(p, GetParam().proto));
}

TEST(PartialChecksum, OffsetsOutsideThePacketAreRejected) {
  Bytes p = ref::udp_packet(10, true);  // 38 bytes
  Bytes before = p;
  EXPECT_EQ(complete_checksum(p, 38, 0), GsoVerdict::kBadChecksumOffsets);
  EXPECT_EQ(complete_checksum(p, 20, 17), GsoVerdict::kBadChecksumOffsets);  // field would end at 39
  EXPECT_EQ(complete_checksum(p, 0xffff, 0xffff), GsoVerdict::kBadChecksumOffsets);
  EXPECT_EQ(p, before) << "nothing written";
  EXPECT_EQ(complete_checksum(p, 20, 16), GsoVerdict::kOk);  // field ends exactly at 38
}

TEST(PartialChecksum, ZeroResultIsStoredAsAllOnes) {
  // Region: one word for the checksum field and one data word; choose the data so the sum is
  // 0xffff, i.e. the checksum computes to 0.
  Bytes p = {0x00, 0x00, 0xff, 0xff};
  ASSERT_EQ(complete_checksum(p, 0, 0), GsoVerdict::kOk);
  EXPECT_EQ(ref::be16(&p[0]), 0xffff);
}

// ---- coalescing for GSO writes --------------------------------------------------------------

class PoolFixture {
 public:
  PoolFixture() : pool_(96, 4096) {}
  PktBuf* make(const Bytes& b) {
    PktBuf* p = pool_.alloc();
    EXPECT_NE(p, nullptr);
    EXPECT_TRUE(p->assign(b));
    bufs_.push_back(p);
    return p;
  }
  ~PoolFixture() {
    for (PktBuf* p : bufs_) {
      pool_.free(p);
    }
  }

 private:
  PktPool pool_;
  std::vector<PktBuf*> bufs_;
};

// Segment i of a flow: seq advances by the payload of the earlier ones.
ref::TcpSpec flow_spec(size_t i, size_t payload, uint32_t base_seq = 1000) {
  ref::TcpSpec s;
  s.payload = payload;
  s.seq = static_cast<uint32_t>(base_seq + i * payload);
  s.id = static_cast<uint16_t>(100 + i);
  s.payload_seed = static_cast<uint32_t>(10 + i);
  s.tcp_options = 12;
  s.option_fill = 0x08;
  return s;
}

struct CoalesceCase {
  std::string name;
  std::function<std::vector<Bytes>()> make;
  uint16_t max_segments;
  std::vector<uint16_t> expected_counts;  // group sizes, in order
};

std::vector<Bytes> flow(size_t n, size_t payload) {
  std::vector<Bytes> v;
  for (size_t i = 0; i < n; ++i) {
    v.push_back(ref::tcp_packet(flow_spec(i, payload)));
  }
  return v;
}

std::vector<CoalesceCase> coalesce_cases() {
  std::vector<CoalesceCase> c;
  c.push_back({"one_flow", [] { return flow(8, 1382); }, 32, {8}});
  c.push_back({"single_packet", [] { return flow(1, 1382); }, 32, {1}});
  c.push_back({"max_segments", [] { return flow(10, 1000); }, 4, {4, 4, 2}});
  c.push_back({"coalescing_off", [] { return flow(3, 1000); }, 1, {1, 1, 1}});
  c.push_back({"short_last", [] {
                 auto v = flow(3, 1000);
                 v.push_back(ref::tcp_packet(flow_spec(3, 1000)));
                 auto s = flow_spec(4, 1000);
                 s.payload = 300;
                 v.push_back(ref::tcp_packet(s));
                 return v;
               },
               32, {5}});
  c.push_back({"short_in_the_middle_ends_run", [] {
                 std::vector<Bytes> v;
                 v.push_back(ref::tcp_packet(flow_spec(0, 1000)));
                 auto s = flow_spec(1, 1000);
                 s.payload = 500;
                 v.push_back(ref::tcp_packet(s));
                 auto t = flow_spec(0, 1000, 2500);
                 v.push_back(ref::tcp_packet(t));
                 return v;
               },
               32, {2, 1}});
  c.push_back({"larger_after_first_breaks", [] {
                 std::vector<Bytes> v;
                 v.push_back(ref::tcp_packet(flow_spec(0, 500)));
                 v.push_back(ref::tcp_packet(flow_spec(0, 1000, 1500)));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"psh_ends_run", [] {
                 auto v = flow(2, 1000);
                 auto s = flow_spec(2, 1000);
                 s.flags = kAck | kPsh;
                 v.push_back(ref::tcp_packet(s));
                 v.push_back(ref::tcp_packet(flow_spec(3, 1000)));
                 v.push_back(ref::tcp_packet(flow_spec(4, 1000)));
                 return v;
               },
               32, {3, 2}});
  c.push_back({"psh_first_not_merged", [] {
                 auto s = flow_spec(0, 1000);
                 s.flags = kAck | kPsh;
                 std::vector<Bytes> v{ref::tcp_packet(s)};
                 v.push_back(ref::tcp_packet(flow_spec(1, 1000)));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"seq_gap", [] {
                 auto v = flow(2, 1000);
                 v.push_back(ref::tcp_packet(flow_spec(3, 1000)));
                 return v;
               },
               32, {2, 1}});
  c.push_back({"other_flow_interleaved", [] {
                 auto v = flow(2, 1000);
                 auto s = flow_spec(0, 1000);
                 s.dst += 1;
                 v.push_back(ref::tcp_packet(s));
                 v.push_back(ref::tcp_packet(flow_spec(2, 1000)));
                 return v;
               },
               32, {2, 1, 1}});
  c.push_back({"different_ack", [] {
                 auto v = flow(1, 1000);
                 auto s = flow_spec(1, 1000);
                 s.ack += 1;
                 v.push_back(ref::tcp_packet(s));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"different_window", [] {
                 auto v = flow(1, 1000);
                 auto s = flow_spec(1, 1000);
                 s.window += 1;
                 v.push_back(ref::tcp_packet(s));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"different_timestamps", [] {
                 auto v = flow(1, 1000);
                 auto s = flow_spec(1, 1000);
                 s.option_fill = 0x09;
                 v.push_back(ref::tcp_packet(s));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"different_ttl", [] {
                 auto v = flow(1, 1000);
                 auto s = flow_spec(1, 1000);
                 s.ttl = 63;
                 v.push_back(ref::tcp_packet(s));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"different_tos", [] {
                 auto v = flow(1, 1000);
                 auto s = flow_spec(1, 1000);
                 s.tos = 0x10;
                 v.push_back(ref::tcp_packet(s));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"different_df", [] {
                 auto v = flow(1, 1000);
                 auto s = flow_spec(1, 1000);
                 s.df = false;
                 v.push_back(ref::tcp_packet(s));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"ip_options_never", [] {
                 std::vector<Bytes> v;
                 for (size_t i = 0; i < 3; ++i) {
                   auto s = flow_spec(i, 1000);
                   s.ip_options = 4;
                   v.push_back(ref::tcp_packet(s));
                 }
                 return v;
               },
               32, {1, 1, 1}});
  for (uint8_t flag : {uint8_t{0x01}, uint8_t{0x02}, uint8_t{0x04}, kUrg, uint8_t{0x40}, kCwr}) {
    c.push_back({"flag_" + std::to_string(flag) + "_never", [flag] {
                   auto v = flow(1, 1000);
                   auto s = flow_spec(1, 1000);
                   s.flags = static_cast<uint8_t>(kAck | flag);
                   v.push_back(ref::tcp_packet(s));
                   v.push_back(ref::tcp_packet(flow_spec(2, 1000)));
                   return v;
                 },
                 32, {1, 1, 1}});
  }
  c.push_back({"pure_ack_never", [] {
                 std::vector<Bytes> v;
                 v.push_back(ref::tcp_packet(flow_spec(0, 0)));
                 v.push_back(ref::tcp_packet(flow_spec(0, 0)));
                 return v;
               },
               32, {1, 1}});
  c.push_back({"bad_checksum_not_merged", [] {
                 auto v = flow(4, 1000);
                 v[2][100] ^= 0x01;  // corrupt a payload byte of the third
                 return v;
               },
               32, {2, 1, 1}});
  c.push_back({"bad_checksum_first", [] {
                 auto v = flow(3, 1000);
                 v[0][100] ^= 0x01;
                 return v;
               },
               32, {1, 2}});
  c.push_back({"bad_ip_header_checksum_not_merged", [] {
                 auto v = flow(3, 1000);
                 v[1][4] ^= 0x01;  // IP id changed without fixing the header checksum
                 return v;
               },
               32, {1, 1, 1}});
  c.push_back({"udp_not_merged", [] {
                 return std::vector<Bytes>{ref::udp_packet(1000, false), ref::udp_packet(1000, false)};
               },
               32, {1, 1}});
  c.push_back({"64k_limit", [] { return flow(20, 3500); }, 32, {18, 2}});
  return c;
}

class Coalesce : public ::testing::TestWithParam<CoalesceCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, Coalesce, ::testing::ValuesIn(coalesce_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST_P(Coalesce, Groups) {
  PoolFixture pool;
  auto packets = GetParam().make();
  std::vector<PktBuf*> bufs;
  for (const auto& b : packets) {
    bufs.push_back(pool.make(b));
  }
  std::vector<TcpCoalesceGroup> groups(bufs.size());
  uint16_t ng = plan_tcp_coalesce(bufs.data(), static_cast<uint16_t>(bufs.size()), GetParam().max_segments, groups.data());
  std::vector<uint16_t> counts;
  uint16_t next = 0;
  for (uint16_t g = 0; g < ng; ++g) {
    EXPECT_EQ(groups[g].first, next) << "groups cover the input in order";
    next = static_cast<uint16_t>(next + groups[g].count);
    counts.push_back(groups[g].count);
  }
  EXPECT_EQ(next, bufs.size());
  EXPECT_EQ(counts, GetParam().expected_counts);
}

// Merging and cutting again gives back the original packets, byte for byte.
TEST_P(Coalesce, RoundTripThroughTso) {
  PoolFixture pool;
  auto packets = GetParam().make();
  std::vector<PktBuf*> bufs;
  for (const auto& b : packets) {
    bufs.push_back(pool.make(b));
  }
  std::vector<TcpCoalesceGroup> groups(bufs.size());
  uint16_t ng = plan_tcp_coalesce(bufs.data(), static_cast<uint16_t>(bufs.size()), GetParam().max_segments, groups.data());
  for (uint16_t g = 0; g < ng; ++g) {
    const auto& grp = groups[g];
    if (grp.count < 2) {
      EXPECT_EQ(Bytes(bufs[grp.first]->data(), bufs[grp.first]->data() + bufs[grp.first]->len()), packets[grp.first])
          << "single packets are left alone";
      continue;
    }
    VnetHdr h;
    finish_tcp_coalesce(bufs.data(), grp, h);
    EXPECT_EQ(h.gso_type, kVnetGsoTcpV4);
    EXPECT_EQ(h.flags, kVnetFlagNeedsCsum);
    EXPECT_EQ(h.csum_start, 20);
    EXPECT_EQ(h.csum_offset, 16);
    EXPECT_EQ(h.gso_size, grp.gso_size);
    EXPECT_EQ(h.hdr_len, grp.hdr_len);
    Bytes merged(bufs[grp.first]->data(), bufs[grp.first]->data() + bufs[grp.first]->len());
    for (uint16_t k = 1; k < grp.count; ++k) {
      const PktBuf* m = bufs[grp.first + k];
      merged.insert(merged.end(), m->data() + grp.hdr_len, m->data() + m->len());
    }
    ASSERT_LE(merged.size(), kMaxCoalescedLen);
    EXPECT_EQ(ref::be16(&merged[2]), merged.size());
    EXPECT_TRUE(ref::ipv4_header_ok(merged.data()));
    // What the kernel will compute from the partial checksum verifies.
    Bytes completed = merged;
    ASSERT_EQ(complete_checksum(completed, h.csum_start, h.csum_offset), GsoVerdict::kOk);
    EXPECT_TRUE(ref::l4_checksum_ok(completed, 6));
    // Cutting the merged packet again reproduces the originals.
    TsoPlan plan;
    auto segs = cut(merged, h, plan, 4096);
    ASSERT_EQ(segs.size(), grp.count);
    for (uint16_t k = 0; k < grp.count; ++k) {
      EXPECT_EQ(segs[k], packets[grp.first + k]) << "group " << g << " segment " << k;
    }
  }
}

// Random mixes of segments, corrupted headers and cut packets: groups always cover the input in
// order, merged packets stay within 64 KiB, and nothing reads out of bounds (ASan).
TEST(CoalesceRandom, NeverOverrunsAndCoversInput) {
  std::mt19937 rng(777);
  for (int iter = 0; iter < 3000; ++iter) {
    PoolFixture pool;
    std::vector<PktBuf*> bufs;
    uint32_t seq = 1000;
    const size_t n = 1 + rng() % 32;
    for (size_t i = 0; i < n; ++i) {
      ref::TcpSpec sp = flow_spec(0, 1 + rng() % 1400, seq);
      sp.flags = rng() % 8 == 0 ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>(rng() % 4 == 0 ? 0x18 : 0x10);
      sp.tcp_options = (rng() % 11) * 4;
      seq += static_cast<uint32_t>(sp.payload);
      Bytes b = ref::tcp_packet(sp);
      if (rng() % 6 == 0) {
        b[rng() % b.size()] = static_cast<uint8_t>(rng());
      }
      if (rng() % 10 == 0) {
        b.resize(rng() % (b.size() + 1));
      }
      bufs.push_back(pool.make(b));
    }
    std::vector<TcpCoalesceGroup> groups(n);
    uint16_t ng = plan_tcp_coalesce(bufs.data(), static_cast<uint16_t>(n), 32, groups.data());
    uint16_t next = 0;
    for (uint16_t g = 0; g < ng; ++g) {
      ASSERT_EQ(groups[g].first, next);
      ASSERT_GE(groups[g].count, 1);
      next = static_cast<uint16_t>(next + groups[g].count);
      if (groups[g].count > 1) {
        VnetHdr h;
        finish_tcp_coalesce(bufs.data(), groups[g], h);
        ASSERT_LE(ref::be16(bufs[groups[g].first]->data() + 2), kMaxCoalescedLen);
      }
    }
    ASSERT_EQ(next, n);
  }
}

// ---- UDP GSO runs ---------------------------------------------------------------------------

struct UdpCase {
  std::string name;
  std::vector<uint16_t> sizes;
  std::vector<uint16_t> peers;  // port per datagram
  uint16_t max_seg_size;
  std::vector<std::vector<uint16_t>> expected;  // {first, count, seg_size}
};

std::vector<UdpCase> udp_cases() {
  std::vector<uint16_t> same64(70, 1472);
  std::vector<uint16_t> peers70(70, 1);
  return {
      {"equal_sizes", {1472, 1472, 1472}, {1, 1, 1}, 65535, {{0, 3, 1472}}},
      {"last_short", {1472, 1472, 900}, {1, 1, 1}, 65535, {{0, 3, 1472}}},
      {"short_ends_run", {1472, 900, 1472, 1472}, {1, 1, 1, 1}, 65535, {{0, 2, 1472}, {2, 2, 1472}}},
      {"larger_breaks", {900, 1472}, {1, 1}, 65535, {{0, 1, 900}, {1, 1, 1472}}},
      {"peer_change", {1472, 1472, 1472, 1472}, {1, 1, 2, 2}, 65535, {{0, 2, 1472}, {2, 2, 1472}}},
      {"alternating_peers", {1472, 1472, 1472}, {1, 2, 1}, 65535, {{0, 1, 1472}, {1, 1, 1472}, {2, 1, 1472}}},
      {"max_64_segments", same64, peers70, 65535, {{0, 44, 1472}, {44, 26, 1472}}},  // 44 * 1472 <= 65507
      {"seg_limit", {1538, 1538, 1472, 1472}, {1, 1, 1, 1}, 1500, {{0, 1, 1538}, {1, 1, 1538}, {2, 2, 1472}}},
      {"single", {100}, {1}, 65535, {{0, 1, 100}}},
  };
}

class UdpGso : public ::testing::TestWithParam<UdpCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, UdpGso, ::testing::ValuesIn(udp_cases()), [](const auto& param_info) { return param_info.param.name; });

TEST_P(UdpGso, Groups) {
  const auto& uc = GetParam();
  PktPool pool(128, 2048);
  std::vector<PktBuf*> bufs;
  for (size_t i = 0; i < uc.sizes.size(); ++i) {
    PktBuf* p = pool.alloc();
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(p->assign(Bytes(uc.sizes[i], 0x17)));
    p->meta.peer = Peer::v4(0x0A630002, uc.peers[i]);
    bufs.push_back(p);
  }
  std::vector<UdpGsoGroup> groups(bufs.size());
  uint16_t ng = group_udp_gso(bufs.data(), static_cast<uint16_t>(bufs.size()), kUdpMaxSegments, uc.max_seg_size,
                              groups.data());
  std::vector<std::vector<uint16_t>> got;
  for (uint16_t g = 0; g < ng; ++g) {
    got.push_back({groups[g].first, groups[g].count, groups[g].seg_size});
    uint32_t bytes = 0;
    for (uint16_t k = 0; k < groups[g].count; ++k) {
      bytes += bufs[groups[g].first + k]->len();
    }
    EXPECT_LE(bytes, kUdpMaxPayload);
    EXPECT_LE(groups[g].count, kUdpMaxSegments);
  }
  EXPECT_EQ(got, uc.expected);
  pool.free_bulk(bufs.data(), static_cast<uint32_t>(bufs.size()));
}

TEST(UdpGso, SegmentCountLimit) {
  PktPool pool(80, 2048);
  std::vector<PktBuf*> bufs;
  for (int i = 0; i < 70; ++i) {
    PktBuf* p = pool.alloc();
    ASSERT_TRUE(p->assign(Bytes(100, 1)));
    bufs.push_back(p);
  }
  std::vector<UdpGsoGroup> groups(bufs.size());
  uint16_t ng = group_udp_gso(bufs.data(), 70, kUdpMaxSegments, 65535, groups.data());
  ASSERT_EQ(ng, 2);
  EXPECT_EQ(groups[0].count, 64);
  EXPECT_EQ(groups[1].count, 6);
  pool.free_bulk(bufs.data(), 70);
}

}  // namespace
}  // namespace ocm::datapath
