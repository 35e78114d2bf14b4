#include "ocm/datapath/frame.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace ocm::datapath {
namespace {

using Bytes = std::vector<uint8_t>;

// ---- a textbook reference (RFC 1071, one 16-bit big-endian word at a time) ----------------------

uint32_t ref_sum(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    acc += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  }
  if (n % 2 == 1) {
    acc += static_cast<uint32_t>(p[n - 1] << 8);
  }
  return acc;
}
uint16_t ref_fold(uint32_t acc) {
  while (acc > 0xffff) {
    acc = (acc & 0xffff) + (acc >> 16);
  }
  return static_cast<uint16_t>(acc);
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// ---- frames built by hand, independently of build_udp_frame ---------------------------------------

struct Spec {
  bool vlan = false;
  bool v6 = false;
  uint16_t payload = 100;
  uint16_t padding = 0;  // Ethernet padding after the IP datagram
};

constexpr uint8_t kSrcMac[6] = {0x02, 0, 0, 0, 0, 0x01};
constexpr uint8_t kDstMac[6] = {0x02, 0, 0, 0, 0, 0x02};
constexpr uint16_t kSport = 40000;
constexpr uint16_t kDport = 443;

// Offsets of the headers in a frame made by make_frame.
struct Layout {
  size_t l3;
  size_t l4;
};
Layout layout(const Spec& s) {
  size_t l3 = 14 + (s.vlan ? 4 : 0);
  return {l3, l3 + (s.v6 ? 40 : 20)};
}

Bytes make_frame(const Spec& s) {
  Layout lay = layout(s);
  Bytes f(lay.l4 + 8 + s.payload + s.padding, 0);
  std::copy(kDstMac, kDstMac + 6, f.begin());
  std::copy(kSrcMac, kSrcMac + 6, f.begin() + 6);
  if (s.vlan) {
    put16(f, 12, 0x8100);
    put16(f, 14, 0x2064);  // PCP 1, VID 100
  }
  put16(f, lay.l3 - 2, s.v6 ? 0x86DD : 0x0800);
  auto udp_len = static_cast<uint16_t>(8 + s.payload);
  if (s.v6) {
    f[lay.l3] = 0x60;
    put16(f, lay.l3 + 4, udp_len);
    f[lay.l3 + 6] = 17;
    f[lay.l3 + 7] = 64;
    f[lay.l3 + 8] = 0x20;  // 2001:db8::1 -> 2001:db8::2
    f[lay.l3 + 9] = 0x01;
    f[lay.l3 + 10] = 0x0d;
    f[lay.l3 + 11] = 0xb8;
    f[lay.l3 + 23] = 1;
    f[lay.l3 + 24] = 0x20;
    f[lay.l3 + 25] = 0x01;
    f[lay.l3 + 26] = 0x0d;
    f[lay.l3 + 27] = 0xb8;
    f[lay.l3 + 39] = 2;
  } else {
    f[lay.l3] = 0x45;
    put16(f, lay.l3 + 2, static_cast<uint16_t>(20 + udp_len));
    f[lay.l3 + 8] = 64;
    f[lay.l3 + 9] = 17;
    const uint8_t addrs[8] = {198, 51, 100, 7, 203, 0, 113, 1};
    std::copy(addrs, addrs + 8, f.begin() + static_cast<long>(lay.l3 + 12));
  }
  put16(f, lay.l4, kSport);
  put16(f, lay.l4 + 2, kDport);
  put16(f, lay.l4 + 4, udp_len);
  for (uint16_t i = 0; i < s.payload; ++i) {
    f[lay.l4 + 8 + i] = static_cast<uint8_t>(i * 7 + 3);
  }
  for (uint16_t i = 0; i < s.padding; ++i) {
    f[lay.l4 + 8 + s.payload + i] = 0xEE;
  }
  return f;
}

// ---- parse: one table of numbered cases -----------------------------------------------------------

struct ParseCase {
  const char* name;
  Spec spec;
  std::function<void(Bytes&, const Layout&)> mutate;  // nullptr = as built
  FrameVerdict want;
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class ParseTable : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseTable, Verdict) {
  const ParseCase& c = GetParam();
  Bytes f = make_frame(c.spec);
  Layout lay = layout(c.spec);
  if (c.mutate) {
    c.mutate(f, lay);
  }
  FrameInfo info;
  FrameVerdict got = parse_udp_frame(f, info);
  EXPECT_EQ(got, c.want) << to_string(got) << " vs " << to_string(c.want);
  if (got == FrameVerdict::kUdp) {
    // Whatever was accepted must lie inside the frame.
    EXPECT_LE(size_t{info.payload_offset} + info.payload_len, f.size());
  }
}

const ParseCase kParseCases[] = {
    // 1-6: well-formed
    {"01_ipv4", {}, nullptr, FrameVerdict::kUdp},
    {"02_ipv6", {.v6 = true}, nullptr, FrameVerdict::kUdp},
    {"03_vlan_ipv4", {.vlan = true}, nullptr, FrameVerdict::kUdp},
    {"04_vlan_ipv6", {.vlan = true, .v6 = true}, nullptr, FrameVerdict::kUdp},
    {"05_ipv4_padded", {.payload = 2, .padding = 16}, nullptr, FrameVerdict::kUdp},
    {"06_empty_payload", {.payload = 0}, nullptr, FrameVerdict::kUdp},
    // 7-10: not for us
    {"07_arp", {}, [](Bytes& f, const Layout&) { put16(f, 12, 0x0806); }, FrameVerdict::kNotIp},
    {"08_ipv4_tcp", {}, [](Bytes& f, const Layout& l) { f[l.l3 + 9] = 6; }, FrameVerdict::kNotUdp},
    {"09_ipv6_hop_by_hop", {.v6 = true}, [](Bytes& f, const Layout& l) { f[l.l3 + 6] = 0; }, FrameVerdict::kNotUdp},
    {"10_vlan_arp", {.vlan = true}, [](Bytes& f, const Layout&) { put16(f, 16, 0x0806); }, FrameVerdict::kNotIp},
    // 11-14: fragments
    {"11_ipv4_more_fragments", {}, [](Bytes& f, const Layout& l) { put16(f, l.l3 + 6, 0x2000); },
     FrameVerdict::kFragment},
    {"12_ipv4_last_fragment", {}, [](Bytes& f, const Layout& l) { put16(f, l.l3 + 6, 0x00b9); },
     FrameVerdict::kFragment},
    {"13_ipv4_df_is_not_fragment", {}, [](Bytes& f, const Layout& l) { put16(f, l.l3 + 6, 0x4000); },
     FrameVerdict::kUdp},
    {"14_ipv6_fragment_header", {.v6 = true}, [](Bytes& f, const Layout& l) { f[l.l3 + 6] = 44; },
     FrameVerdict::kFragment},
    // 15-27: malformed
    {"15_runt", {}, [](Bytes& f, const Layout&) { f.resize(13); }, FrameVerdict::kMalformed},
    {"16_vlan_tag_truncated", {.vlan = true}, [](Bytes& f, const Layout&) { f.resize(16); },
     FrameVerdict::kMalformed},
    {"17_ipv4_header_truncated", {}, [](Bytes& f, const Layout& l) { f.resize(l.l3 + 19); },
     FrameVerdict::kMalformed},
    {"18_ipv4_ihl_below_5", {}, [](Bytes& f, const Layout& l) { f[l.l3] = 0x44; }, FrameVerdict::kMalformed},
    {"19_ipv4_ihl_beyond_total", {}, [](Bytes& f, const Layout& l) { f[l.l3] = 0x4f; put16(f, l.l3 + 2, 40); },
     FrameVerdict::kMalformed},
    {"20_ipv4_total_beyond_frame", {}, [](Bytes& f, const Layout& l) { put16(f, l.l3 + 2, 20 + 108 + 1); },
     FrameVerdict::kMalformed},
    {"21_ipv4_wrong_version", {}, [](Bytes& f, const Layout& l) { f[l.l3] = 0x65; }, FrameVerdict::kMalformed},
    {"22_udp_header_truncated", {.payload = 0},
     [](Bytes& f, const Layout& l) {
       f.resize(l.l4 + 4);
       put16(f, l.l3 + 2, 24);
     },
     FrameVerdict::kMalformed},
    {"23_udp_len_beyond_ip", {}, [](Bytes& f, const Layout& l) { put16(f, l.l4 + 4, 109); },
     FrameVerdict::kMalformed},
    {"24_udp_len_below_8", {}, [](Bytes& f, const Layout& l) { put16(f, l.l4 + 4, 7); }, FrameVerdict::kMalformed},
    {"25_ipv6_header_truncated", {.v6 = true}, [](Bytes& f, const Layout& l) { f.resize(l.l3 + 39); },
     FrameVerdict::kMalformed},
    {"26_ipv6_payload_beyond_frame", {.v6 = true}, [](Bytes& f, const Layout& l) { put16(f, l.l3 + 4, 109); },
     FrameVerdict::kMalformed},
    {"27_ipv6_wrong_version", {.v6 = true}, [](Bytes& f, const Layout& l) { f[l.l3] = 0x40; },
     FrameVerdict::kMalformed},
    // 28: UDP shorter than the IP payload (trailing bytes inside IP are ignored, RFC 768)
    {"28_udp_len_shorter_than_ip", {}, [](Bytes& f, const Layout& l) { put16(f, l.l4 + 4, 50); },
     FrameVerdict::kUdp},
};

INSTANTIATE_TEST_SUITE_P(Frames, ParseTable, ::testing::ValuesIn(kParseCases),
                         [](const ::testing::TestParamInfo<ParseCase>& i) { return std::string(i.param.name); });

TEST(ParseUdpFrame, FillsInfoForIpv4) {
  Bytes f = make_frame({.payload = 2, .padding = 16});
  FrameInfo info;
  ASSERT_EQ(parse_udp_frame(f, info), FrameVerdict::kUdp);
  EXPECT_EQ(info.src_mac, (MacAddr{0x02, 0, 0, 0, 0, 0x01}));
  EXPECT_EQ(info.dst_mac, (MacAddr{0x02, 0, 0, 0, 0, 0x02}));
  EXPECT_FALSE(info.has_vlan);
  EXPECT_FALSE(info.ipv6);
  EXPECT_EQ(info.l3_offset, 14);
  EXPECT_EQ(info.payload_offset, 14 + 20 + 8);
  EXPECT_EQ(info.payload_len, 2);  // padding is not payload
  EXPECT_EQ(info.src, Peer::v4(0xC6336407, kSport));
  EXPECT_EQ(info.dst, IpAddr::v4(0xCB007101));
  EXPECT_EQ(info.dst_port, kDport);
}

TEST(ParseUdpFrame, FillsInfoForVlanIpv6) {
  Bytes f = make_frame({.vlan = true, .v6 = true, .payload = 33});
  FrameInfo info;
  ASSERT_EQ(parse_udp_frame(f, info), FrameVerdict::kUdp);
  EXPECT_TRUE(info.has_vlan);
  EXPECT_EQ(info.vlan_tci, 0x2064);
  EXPECT_TRUE(info.ipv6);
  EXPECT_EQ(info.l3_offset, 18);
  EXPECT_EQ(info.payload_offset, 18 + 40 + 8);
  EXPECT_EQ(info.payload_len, 33);
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  EXPECT_EQ(info.src, (Peer{IpAddr::v6(src), kSport}));
  EXPECT_EQ(info.dst, IpAddr::v6(dst));
  EXPECT_FALSE(info.src.addr.is_v4());
}

TEST(ParseUdpFrame, EveryTruncationIsRejectedNotRead) {
  // Cutting a valid frame anywhere inside its headers must never be accepted.
  for (Spec s : {Spec{}, Spec{.v6 = true}, Spec{.vlan = true}, Spec{.vlan = true, .v6 = true}}) {
    Bytes full = make_frame(s);
    size_t headers = layout(s).l4 + 8;
    for (size_t cut = 0; cut < headers; ++cut) {
      Bytes f(full.begin(), full.begin() + static_cast<long>(cut));
      FrameInfo info;
      EXPECT_NE(parse_udp_frame(f, info), FrameVerdict::kUdp) << "cut at " << cut;
    }
  }
}

// ---- build ----------------------------------------------------------------------------------------

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override { pkt_.attach(buf_.data(), static_cast<uint32_t>(buf_.size())); }

  PktBuf& payload(size_t n, uint16_t headroom = kFrameHeadroom) {
    pkt_.set_window(headroom, 0);
    uint8_t* p = pkt_.append(static_cast<uint16_t>(n));
    for (size_t i = 0; i < n; ++i) {
      p[i] = static_cast<uint8_t>(0xA5 ^ i);
    }
    return pkt_;
  }

  std::array<uint8_t, kDefaultBufSize> buf_{};
  PktBuf pkt_;
};

UdpFlow flow_v4() {
  UdpFlow f;
  f.src_mac = {0x02, 0xaa, 0, 0, 0, 1};
  f.dst_mac = {0x02, 0xbb, 0, 0, 0, 2};
  f.src = IpAddr::v4(0xCB007101);
  f.src_port = 443;
  f.dst = Peer::v4(0xC6336407, 51000);
  return f;
}

UdpFlow flow_v6() {
  UdpFlow f = flow_v4();
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34};
  f.src = IpAddr::v6(src);
  f.dst = Peer{IpAddr::v6(dst), 51000};
  return f;
}

// Verifies the built frame with the reference and by parsing it back.
void check_built(const PktBuf& pkt, const UdpFlow& flow, size_t payload_len) {
  Bytes f(pkt.bytes().begin(), pkt.bytes().end());
  FrameInfo info;
  ASSERT_EQ(parse_udp_frame(f, info), FrameVerdict::kUdp);
  EXPECT_EQ(info.src_mac, flow.src_mac);
  EXPECT_EQ(info.dst_mac, flow.dst_mac);
  EXPECT_EQ(info.has_vlan, flow.has_vlan);
  EXPECT_EQ(info.vlan_tci, flow.vlan_tci);
  EXPECT_EQ(info.src, (Peer{flow.src, flow.src_port}));
  EXPECT_EQ(info.dst, flow.dst.addr);
  EXPECT_EQ(info.dst_port, flow.dst.port);
  EXPECT_EQ(info.payload_len, payload_len);
  EXPECT_EQ(f.size(), size_t{info.payload_offset} + payload_len);
  const uint8_t* ip = f.data() + info.l3_offset;
  const uint8_t* udp = f.data() + info.payload_offset - 8;
  size_t l4 = payload_len + 8;
  uint32_t acc = 0;
  if (info.ipv6) {
    acc = ref_sum(ip + 8, 32) + 17 + static_cast<uint32_t>(l4);
    EXPECT_EQ(ip[7], 64);
  } else {
    EXPECT_EQ(ref_fold(ref_sum(ip, 20)), 0xffff) << "IPv4 header checksum";
    EXPECT_EQ(be16(ip + 6), 0x4000) << "DF, no fragment offset";
    EXPECT_EQ(ip[8], 64);
    acc = ref_sum(ip + 12, 8) + 17 + static_cast<uint32_t>(l4);
  }
  EXPECT_NE(be16(udp + 6), 0) << "UDP checksum present";
  EXPECT_EQ(ref_fold(ref_sum(udp, l4, acc)), 0xffff) << "UDP checksum";
}

TEST_F(BuildTest, Ipv4RoundTripsWithValidChecksums) {
  for (size_t n : {0, 1, 2, 37, 1400}) {
    UdpFlow flow = flow_v4();
    PktBuf& p = payload(n);
    ASSERT_TRUE(build_udp_frame(p, flow));
    EXPECT_EQ(p.len(), 14 + 20 + 8 + n);
    check_built(p, flow, n);
  }
}

TEST_F(BuildTest, Ipv6RoundTripsWithValidChecksums) {
  for (size_t n : {0, 1, 77, 1400}) {
    UdpFlow flow = flow_v6();
    PktBuf& p = payload(n);
    ASSERT_TRUE(build_udp_frame(p, flow));
    EXPECT_EQ(p.len(), 14 + 40 + 8 + n);
    check_built(p, flow, n);
  }
}

TEST_F(BuildTest, VlanTagIsInserted) {
  for (UdpFlow flow : {flow_v4(), flow_v6()}) {
    flow.has_vlan = true;
    flow.vlan_tci = 0x0123;
    PktBuf& p = payload(64);
    ASSERT_TRUE(build_udp_frame(p, flow));
    EXPECT_EQ(be16(p.data() + 12), 0x8100);
    check_built(p, flow, 64);
  }
}

TEST_F(BuildTest, MaxHeadersFitInFrameHeadroomAfterSeal) {
  // A TUN packet read at kFrameHeadroom, grown by a DTLS header in front, still takes the
  // biggest header stack.
  UdpFlow flow = flow_v6();
  flow.has_vlan = true;
  PktBuf& p = payload(100, kFrameHeadroom - 22);
  ASSERT_TRUE(build_udp_frame(p, flow));
  EXPECT_EQ(p.len(), kMaxUdpHeaders + 100);
}

TEST_F(BuildTest, RefusesWithoutHeadroom) {
  UdpFlow flow = flow_v4();
  PktBuf& p = payload(10, 14 + 20 + 8 - 1);
  const uint8_t* before = p.data();
  EXPECT_FALSE(build_udp_frame(p, flow));
  EXPECT_EQ(p.data(), before);
  EXPECT_EQ(p.len(), 10);
}

TEST_F(BuildTest, RefusesMixedFamilies) {
  UdpFlow flow = flow_v4();
  flow.dst = flow_v6().dst;
  PktBuf& p = payload(10);
  EXPECT_FALSE(build_udp_frame(p, flow));
  EXPECT_EQ(p.len(), 10);
  flow = flow_v6();
  flow.dst = flow_v4().dst;
  EXPECT_FALSE(build_udp_frame(p, flow));
  EXPECT_EQ(p.len(), 10);
}

TEST(BuildUdpFrame, ComputedZeroChecksumIsSentAsAllOnes) {
  // Search payload values for one whose UDP checksum computes to 0 (two bytes cover all sums).
  UdpFlow flow = flow_v4();
  std::array<uint8_t, 256> buf{};
  bool found = false;
  for (uint32_t v = 0; v <= 0xffff && !found; ++v) {
    PktBuf p;
    p.attach(buf.data(), buf.size());
    p.set_window(kFrameHeadroom, 2);
    p.data()[0] = static_cast<uint8_t>(v >> 8);
    p.data()[1] = static_cast<uint8_t>(v);
    ASSERT_TRUE(build_udp_frame(p, flow));
    const uint8_t* udp = p.data() + 14 + 20;
    const uint8_t* ip = p.data() + 14;
    uint32_t acc = ref_sum(ip + 12, 8) + 17 + 10;
    uint16_t sum_without = ref_fold(ref_sum(udp, 6, acc) + ref_sum(udp + 8, 2));
    if (sum_without == 0xffff) {  // complement 0: the one case RFC 768 maps to 0xffff
      EXPECT_EQ(be16(udp + 6), 0xffff);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace ocm::datapath
