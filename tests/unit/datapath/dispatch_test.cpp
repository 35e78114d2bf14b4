#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "ocm/datapath/stages.hpp"
#include "ocm/proto/compression.hpp"
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

// ---- COMPRESSED (0x08) records (protocol.md 6.6) --------------------------------------------

// type 0x08 + `packet` compressed with `algorithm` (the client's side of the channel).
std::vector<uint8_t> compressed_record(proto::Compression algorithm, std::span<const uint8_t> packet) {
  auto scratch = std::make_unique<proto::CompressScratch>();
  std::vector<uint8_t> out(packet.size());
  size_t n = proto::compress_packet(algorithm, packet, out, *scratch);
  if (n == 0) {
    test::fail("test packet did not compress");
  }
  out.resize(n);
  return test::with_type(0x08, out);
}

// An IP packet from slot 0's lease whose payload compresses well (zeros, as ping -p 00).
std::vector<uint8_t> compressible_packet(size_t total) {
  auto ip = test::ipv4_packet(Harness::lease_of(0), test::kRemote, total);
  std::fill(ip.begin() + 20, ip.end(), uint8_t{0});
  return ip;
}

enum class CompressedOut { kTunIp, kDropped };

struct CompressedCase {
  const char* name;
  proto::Compression negotiated;  // set_compression for slot 0
  std::vector<uint8_t> plaintext;
  CompressedOut out;
  std::vector<uint8_t> inner;  // kTunIp: the packet expected after decompression
  DropReason drop = DropReason::kNone;
};

std::vector<CompressedCase> compressed_cases() {
  using proto::Compression;
  auto ip = compressible_packet(1300);
  auto lz4 = compressed_record(Compression::kLz4, ip);
  auto lzs = compressed_record(Compression::kLzs, ip);
  auto truncated_lz4 = std::vector<uint8_t>(lz4.begin(), lz4.begin() + static_cast<std::ptrdiff_t>(lz4.size() / 2));
  auto truncated_lzs = std::vector<uint8_t>(lzs.begin(), lzs.begin() + static_cast<std::ptrdiff_t>(lzs.size() / 2));
  // Decompresses to 16000 bytes: beyond what a 2 KiB packet buffer holds after the type byte.
  std::vector<uint8_t> big(16000, 0);
  auto bomb_lz4 = compressed_record(Compression::kLz4, big);
  auto bomb_lzs = compressed_record(Compression::kLzs, big);
  return {
      {"lz4", Compression::kLz4, lz4, CompressedOut::kTunIp, ip},
      {"lzs", Compression::kLzs, lzs, CompressedOut::kTunIp, ip},
      {"not_negotiated", Compression::kNone, lz4, CompressedOut::kDropped, {}, DropReason::kCompressedUnsupported},
      // The session's algorithm decides, not the bytes: LZS bits are not a valid LZ4 block.
      {"other_algorithm", Compression::kLz4, lzs, CompressedOut::kDropped, {}, DropReason::kDecompressFailed},
      {"lz4_truncated", Compression::kLz4, truncated_lz4, CompressedOut::kDropped, {}, DropReason::kDecompressFailed},
      {"lzs_truncated", Compression::kLzs, truncated_lzs, CompressedOut::kDropped, {}, DropReason::kDecompressFailed},
      {"lz4_empty", Compression::kLz4, {0x08}, CompressedOut::kDropped, {}, DropReason::kDecompressFailed},
      {"lzs_empty", Compression::kLzs, {0x08}, CompressedOut::kDropped, {}, DropReason::kDecompressFailed},
      {"lz4_garbage",
       Compression::kLz4,
       test::with_type(0x08, test::pattern(200, 9)),
       CompressedOut::kDropped,
       {},
       DropReason::kDecompressFailed},
      {"lz4_bomb", Compression::kLz4, bomb_lz4, CompressedOut::kDropped, {}, DropReason::kDecompressFailed},
      {"lzs_bomb", Compression::kLzs, bomb_lzs, CompressedOut::kDropped, {}, DropReason::kDecompressFailed},
  };
}

class DispatchCompressedTest : public ::testing::TestWithParam<CompressedCase> {};

TEST_P(DispatchCompressedTest, Verdict) {
  const CompressedCase& c = GetParam();
  Harness h(4);
  h.activate(0);
  ASSERT_TRUE(h.table.set_compression(0, c.negotiated, 256));
  PktBuf* p = h.packet(c.plaintext, Harness::peer_of(0));
  p->meta.slot = 0;
  p->meta.kind = PktKind::kDtlsData;
  const uint16_t headroom_of_data = p->headroom() + 1;
  std::vector<PktBuf*> pkts{p};
  uint16_t kept = test::run_stage(dispatch_payload, h.ctx, pkts);
  if (c.out == CompressedOut::kTunIp) {
    ASSERT_EQ(kept, 1);
    EXPECT_EQ(p->meta.kind, PktKind::kTunIp);
    EXPECT_EQ(test::bytes_of(p), c.inner);
    EXPECT_EQ(p->headroom(), headroom_of_data) << "starts where a DATA record's packet would";
    EXPECT_EQ(h.counters.count(Event::kDecompressed), 1u);
    EXPECT_EQ(h.counters.total_drops(), 0u);
  } else {
    ASSERT_EQ(kept, 0);
    EXPECT_EQ(p->meta.drop, c.drop);
    EXPECT_EQ(h.counters.dropped(c.drop), 1u);
    EXPECT_EQ(h.counters.count(Event::kDecompressed), 0u);
  }
  h.pool.free(p);
}

INSTANTIATE_TEST_SUITE_P(Cases, DispatchCompressedTest, ::testing::ValuesIn(compressed_cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A burst mixing compressed and plain records keeps input order and only drops the bad one.
TEST(DispatchCompressedBurstTest, MixedBurstKeepsOrder) {
  Harness h(4);
  h.activate(0);
  ASSERT_TRUE(h.table.set_compression(0, proto::Compression::kLz4, 256));
  auto ip = compressible_packet(600);
  std::vector<PktBuf*> pkts{h.packet(compressed_record(proto::Compression::kLz4, ip)),
                            h.packet(test::with_type(0x00, ip)), h.packet(std::vector<uint8_t>{0x08, 0xff}),
                            h.packet(compressed_record(proto::Compression::kLz4, ip))};
  for (PktBuf* p : pkts) {
    p->meta.slot = 0;
    p->meta.kind = PktKind::kDtlsData;
  }
  std::vector<PktBuf*> in = pkts;
  ASSERT_EQ(test::run_stage(dispatch_payload, h.ctx, pkts), 3);
  EXPECT_EQ(pkts, (std::vector<PktBuf*>{in[0], in[1], in[3], in[2]}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(test::bytes_of(pkts[i]), ip);
  }
  EXPECT_EQ(h.counters.count(Event::kDecompressed), 2u);
  EXPECT_EQ(h.counters.dropped(DropReason::kDecompressFailed), 1u);
  h.pool.free_bulk(in.data(), 4);
}

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
