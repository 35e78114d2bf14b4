#include "ocm/datapath/pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include "ocm/proto/compression.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using test::Harness;

// Every input packet must come back in exactly one output array.
void expect_partition(const std::vector<PktBuf*>& in, std::initializer_list<std::pair<PktBuf**, uint16_t>> outs) {
  std::multiset<PktBuf*> got;
  for (auto [arr, n] : outs) {
    got.insert(arr, arr + n);
  }
  EXPECT_EQ(got, std::multiset<PktBuf*>(in.begin(), in.end()));
}

TEST(ProcessUdpRxTest, SortsOneBurstIntoTunUdpAndFree) {
  Harness h(8);
  auto keys = h.activate(0);
  auto ip = test::ipv4_packet(Harness::lease_of(0), test::kRemote, 60);
  auto rec = [&](uint64_t seq, std::span<const uint8_t> plain) {
    return h.packet(test::client_seal(*h.engine, keys.c2s, 1, seq, plain), Harness::peer_of(0));
  };
  std::vector<PktBuf*> in{
      rec(1, test::with_type(0x00, ip)),                                        // to TUN
      rec(2, std::vector<uint8_t>{0x03, 9, 9, 9, 9}),                           // DPD -> reply
      rec(3, std::vector<uint8_t>{0x07}),                                       // keepalive -> free
      rec(2, test::with_type(0x00, ip)),                                        // replay -> free
      h.packet(test::dtls_datagram(22, 0xfefd, 0, 0, 10, 10), Peer::v4(1, 1)),  // -> control
      rec(4, test::with_type(0x00, ip)),                                        // to TUN
  };
  PktBuf* to_tun[8];
  PktBuf* to_udp[8];
  PktBuf* to_free[8];
  UdpRxResult r = process_udp_rx(h.ctx, in.data(), static_cast<uint16_t>(in.size()), to_tun, to_udp, to_free);
  EXPECT_EQ(r.n_tun, 2);
  EXPECT_EQ(r.n_udp, 1);
  EXPECT_EQ(r.n_free, 3);
  expect_partition(in, {{to_tun, r.n_tun}, {to_udp, r.n_udp}, {to_free, r.n_free}});
  EXPECT_EQ(to_tun[0], in[0]);
  EXPECT_EQ(to_tun[1], in[5]);
  EXPECT_EQ(test::bytes_of(to_tun[0]), ip);
  auto reply = test::client_open(*h.engine, keys.s2c, 1, test::bytes_of(to_udp[0]));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, (std::vector<uint8_t>{0x04, 9, 9, 9, 9}));
  EXPECT_EQ(to_udp[0]->meta.peer, Harness::peer_of(0));
  EXPECT_EQ(h.counters.udp_rx.packets, 6u);
  EXPECT_EQ(h.counters.tun_tx.packets, 2u);
  EXPECT_EQ(h.counters.tun_tx.bytes, 120u);
  EXPECT_EQ(h.counters.udp_tx.packets, 1u);
  EXPECT_EQ(h.counters.dropped(DropReason::kReplay), 1u);
  h.pool.free_bulk(in.data(), static_cast<uint32_t>(in.size()));
  EXPECT_EQ(h.pool.available(), h.pool.capacity());
}

TEST(ProcessUdpRxTest, MoreThanOneBurstIsChunked) {
  Harness h(8);
  auto keys = h.activate(0);
  auto plain = test::with_type(0x00, test::ipv4_packet(Harness::lease_of(0), test::kRemote, 40));
  std::vector<PktBuf*> in;
  for (uint64_t seq = 1; seq <= 3 * kBurst + 5; ++seq) {
    in.push_back(h.packet(test::client_seal(*h.engine, keys.c2s, 1, seq, plain), Harness::peer_of(0)));
  }
  std::vector<PktBuf*> to_tun(in.size()), to_udp(in.size()), to_free(in.size());
  UdpRxResult r =
      process_udp_rx(h.ctx, in.data(), static_cast<uint16_t>(in.size()), to_tun.data(), to_udp.data(), to_free.data());
  EXPECT_EQ(r.n_tun, in.size());
  EXPECT_EQ(to_tun, in) << "order preserved across chunks";
  h.pool.free_bulk(in.data(), static_cast<uint32_t>(in.size()));
}

TEST(ProcessUdpRxTest, StaleMetadataFromTheDriverIsIgnored) {
  Harness h(8);
  auto keys = h.activate(0);
  PktBuf* p = h.packet(test::client_seal(*h.engine, keys.c2s, 1, 1, std::vector<uint8_t>{0x07}), Harness::peer_of(0));
  p->meta.drop = DropReason::kReplay;
  p->meta.kind = PktKind::kDtlsPayload;
  p->meta.slot = 5;
  PktBuf* to_tun[1];
  PktBuf* to_udp[1];
  PktBuf* to_free[1];
  UdpRxResult r = process_udp_rx(h.ctx, &p, 1, to_tun, to_udp, to_free);
  EXPECT_EQ(r.n_free, 1);
  EXPECT_EQ(h.counters.count(Event::kKeepalive), 1u);
  EXPECT_EQ(h.counters.total_drops(), 0u);
  h.pool.free(p);
}

TEST(ProcessTunRxTest, SealsRoutesAndFrees) {
  Harness h(8);
  auto keys = h.activate(0, crypto::AeadAlgo::kChaCha20Poly1305, 1, 7);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  auto a = test::ipv4_packet(test::kRemote, Harness::lease_of(0), 100);
  auto b = test::ipv4_packet(test::kRemote, Harness::lease_of(1), 100);
  auto c = test::ipv4_packet(test::kRemote, test::kPoolNet + 999, 100);
  std::vector<PktBuf*> in{h.packet(a), h.packet(b), h.packet(c), h.packet(a)};
  PktBuf* to_udp[4];
  PktBuf* to_free[4];
  TunRxResult r = process_tun_rx(h.ctx, in.data(), 4, to_udp, to_free);
  EXPECT_EQ(r.n_udp, 2);
  EXPECT_EQ(r.n_free, 2);
  expect_partition(in, {{to_udp, r.n_udp}, {to_free, r.n_free}});
  for (uint16_t i = 0; i < r.n_udp; ++i) {
    uint64_t seq = 0;
    auto opened = test::client_open(*h.engine, keys.s2c, 1, test::bytes_of(to_udp[i]), &seq);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(*opened, test::with_type(0x00, a));
    EXPECT_EQ(seq, 7u + i);
  }
  EXPECT_EQ(h.counters.tun_rx.packets, 4u);
  EXPECT_EQ(h.counters.tun_rx.bytes, 400u);
  EXPECT_EQ(h.counters.udp_tx.packets, 2u);
  EXPECT_EQ(h.counters.count(Event::kTunToCstp), 1u);
  EXPECT_EQ(h.counters.dropped(DropReason::kNoRoute), 1u);
  h.pool.free_bulk(in.data(), 4);
}

// ---- compression (protocol.md 6.6) ---------------------------------------------------------

std::vector<uint8_t> zero_payload_packet(uint32_t src, uint32_t dst, size_t total) {
  auto ip = test::ipv4_packet(src, dst, total);
  std::fill(ip.begin() + 20, ip.end(), uint8_t{0});
  return ip;
}

class CompressionRoundTripTest : public ::testing::TestWithParam<proto::Compression> {};

// TUN -> seal: packets over min_size that shrink go as 0x08, the rest as 0x00; the client's
// decompression gives back the packet. Client -> open: a 0x08 record reaches TUN as the packet.
TEST_P(CompressionRoundTripTest, SealThenOpenBothWays) {
  const proto::Compression algorithm = GetParam();
  Harness h(8);
  auto keys = h.activate(0);
  ASSERT_TRUE(h.table.set_compression(0, algorithm, 256));
  auto big = zero_payload_packet(test::kRemote, Harness::lease_of(0), 1300);
  auto small = zero_payload_packet(test::kRemote, Harness::lease_of(0), 256);  // = min_size: plain
  auto noise = test::ipv4_packet(test::kRemote, Harness::lease_of(0), 1300);
  {
    auto n = test::pattern(1280, 77);
    std::copy(n.begin(), n.end(), noise.begin() + 20);  // incompressible: plain
  }
  std::vector<PktBuf*> in{h.packet(big), h.packet(small), h.packet(noise)};
  PktBuf* to_udp[3];
  PktBuf* to_free[3];
  TunRxResult r = process_tun_rx(h.ctx, in.data(), 3, to_udp, to_free);
  ASSERT_EQ(r.n_udp, 3);
  auto scratch_out = std::vector<uint8_t>(16384);
  auto plain0 = test::client_open(*h.engine, keys.s2c, 1, test::bytes_of(to_udp[0]));
  ASSERT_TRUE(plain0.has_value());
  ASSERT_EQ((*plain0)[0], 0x08);
  EXPECT_LT(plain0->size(), big.size() / 4);
  size_t n = proto::decompress_packet(algorithm, std::span<const uint8_t>(*plain0).subspan(1), scratch_out);
  EXPECT_EQ(std::vector<uint8_t>(scratch_out.begin(), scratch_out.begin() + static_cast<std::ptrdiff_t>(n)), big);
  auto plain1 = test::client_open(*h.engine, keys.s2c, 1, test::bytes_of(to_udp[1]));
  ASSERT_TRUE(plain1.has_value());
  EXPECT_EQ(*plain1, test::with_type(0x00, small));
  auto plain2 = test::client_open(*h.engine, keys.s2c, 1, test::bytes_of(to_udp[2]));
  ASSERT_TRUE(plain2.has_value());
  EXPECT_EQ(*plain2, test::with_type(0x00, noise));
  EXPECT_EQ(h.counters.count(Event::kCompressed), 1u);
  EXPECT_EQ(h.counters.tun_rx.bytes, 1300u + 256u + 1300u) << "inner bytes, before compression";

  // The client's side: the same compressed payload back to the server (swap source/destination).
  auto up = zero_payload_packet(Harness::lease_of(0), test::kRemote, 1300);
  auto scratch = std::make_unique<proto::CompressScratch>();
  std::vector<uint8_t> packed(up.size());
  packed.resize(proto::compress_packet(algorithm, up, packed, *scratch));
  ASSERT_FALSE(packed.empty());
  PktBuf* rec =
      h.packet(test::client_seal(*h.engine, keys.c2s, 1, 1, test::with_type(0x08, packed)), Harness::peer_of(0));
  PktBuf* to_tun[1];
  PktBuf* udp_out[1];
  PktBuf* free_out[1];
  UdpRxResult u = process_udp_rx(h.ctx, &rec, 1, to_tun, udp_out, free_out);
  ASSERT_EQ(u.n_tun, 1);
  EXPECT_EQ(test::bytes_of(to_tun[0]), up);
  EXPECT_EQ(h.counters.count(Event::kDecompressed), 1u);
  EXPECT_EQ(h.counters.tun_tx.bytes, 1300u);
  h.pool.free_bulk(in.data(), 3);
  h.pool.free(rec);
  EXPECT_EQ(h.pool.available(), h.pool.capacity());
}

// Without negotiated compression nothing is compressed, however compressible.
TEST_P(CompressionRoundTripTest, OffMeansPlainData) {
  Harness h(8);
  auto keys = h.activate(0);
  ASSERT_TRUE(h.table.set_compression(0, proto::Compression::kNone, 256));
  auto big = zero_payload_packet(test::kRemote, Harness::lease_of(0), 1300);
  PktBuf* p = h.packet(big);
  PktBuf* to_udp[1];
  PktBuf* to_free[1];
  ASSERT_EQ(process_tun_rx(h.ctx, &p, 1, to_udp, to_free).n_udp, 1);
  auto plain = test::client_open(*h.engine, keys.s2c, 1, test::bytes_of(to_udp[0]));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(*plain, test::with_type(0x00, big));
  EXPECT_EQ(h.counters.count(Event::kCompressed), 0u);
  h.pool.free(p);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CompressionRoundTripTest,
                         ::testing::Values(proto::Compression::kLz4, proto::Compression::kLzs),
                         [](const auto& param_info) {
                           return std::string(param_info.param == proto::Compression::kLz4 ? "lz4" : "lzs");
                         });

TEST(SealPayloadsTest, SlowPathDpdRequest) {
  Harness h(8);
  auto keys = h.activate(3);
  // A server DPD request padded to the MTU (protocol.md 6.1), built by the slow path.
  std::vector<uint8_t> dpd(1300, 0);
  dpd[0] = 0x03;
  PktBuf* p = h.packet(dpd);
  p->meta.slot = 3;
  PktBuf* to_udp[1];
  PktBuf* to_free[1];
  TunRxResult r = seal_payloads(h.ctx, &p, 1, to_udp, to_free);
  ASSERT_EQ(r.n_udp, 1);
  auto opened = test::client_open(*h.engine, keys.s2c, 1, test::bytes_of(to_udp[0]));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, dpd);
  EXPECT_EQ(to_udp[0]->meta.peer, Harness::peer_of(3));
  EXPECT_EQ(h.counters.tun_rx.packets, 0u) << "not TUN traffic";
  h.pool.free(p);
}

}  // namespace
}  // namespace ocm::datapath
