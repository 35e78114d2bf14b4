// drivers/dpdk/src/worker.cpp: one lcore iteration over net_ring "NIC" and "TAP" ports and a
// socketpair standing in for the kernel TUN fd (datagram boundaries, like TUN). Real crypto,
// real pipeline; the test plays the client on the NIC's wire and the kernel on the TAP's.

#include "worker.hpp"

#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "dpdk_env.hpp"
#include "gtest/gtest.h"
#include "ocm/datapath/frame.hpp"
#include "ocm/proto/compression.hpp"
#include "test_support.hpp"

namespace ocm::dpdk {
namespace {

using datapath::MacAddr;
using datapath::Peer;
using datapath::PktBuf;
namespace dt = datapath::test;

constexpr uint32_t kOurIp = 0x0A630001;     // 10.99.0.1
constexpr uint32_t kClientIp = 0x0A630002;  // 10.99.0.2
constexpr uint16_t kDtlsPort = 4443;
constexpr uint16_t kClientPort = 5555;
constexpr MacAddr kClientMac = {0x02, 0xc1, 0x1e, 0x00, 0x00, 0x02};
constexpr uint32_t kSlot = 5;
constexpr uint32_t kLease = dt::kPoolNet + 5;

struct Ports {
  EthPort* nic = nullptr;       // the worker's
  EthPort* nic_wire = nullptr;  // the client's side
  EthPort* tap = nullptr;       // the worker's
  EthPort* tap_wire = nullptr;  // the kernel's side
};

// Opened once and kept for the process (rte_eal_cleanup runs before static destructors).
Ports& ports() {
  static Ports p = [] {
    Ports out;
    auto open = [](uint16_t id) {
      auto port = EthPort::open(id, test::shared_pool(), 256, 256);
      if (!port) {
        ADD_FAILURE() << port.error().message;
        std::abort();
      }
      return std::move(port).value().release();
    };
    test::PortPair nic = test::ring_pair("wnic");
    test::PortPair tap = test::ring_pair("wtap");
    out.nic = open(nic.a);
    out.nic_wire = open(nic.b);
    out.tap = open(tap.a);
    out.tap_wire = open(tap.b);
    return out;
  }();
  return p;
}

std::vector<std::vector<uint8_t>> drain(EthPort& port) {
  std::vector<std::vector<uint8_t>> frames;
  std::array<PktBuf*, datapath::kBurst> in{};
  while (uint16_t n = port.rx_burst(in.data(), datapath::kBurst)) {
    for (uint16_t i = 0; i < n; ++i) {
      frames.push_back(dt::bytes_of(in[i]));
    }
    EthPort::free_bulk(in.data(), n);
  }
  return frames;
}

void send_raw(EthPort& port, const std::vector<uint8_t>& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(test::shared_pool());
  ASSERT_NE(m, nullptr);
  PktBuf* p = fresh_pkt(m, RTE_PKTMBUF_HEADROOM);
  std::memcpy(p->append(static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
  ASSERT_EQ(port.tx_burst(&p, 1), 1);
}

// A UDP datagram from the client to us, as a frame.
std::vector<uint8_t> client_frame(std::span<const uint8_t> payload, uint16_t dst_port = kDtlsPort,
                                  uint32_t dst_ip = kOurIp) {
  std::vector<uint8_t> buf(2048);
  PktBuf p;
  p.attach(buf.data(), static_cast<uint32_t>(buf.size()));
  p.set_window(datapath::kFrameHeadroom, 0);
  std::memcpy(p.append(static_cast<uint16_t>(payload.size())), payload.data(), payload.size());
  datapath::UdpFlow flow;
  flow.src_mac = kClientMac;
  flow.dst_mac = ports().nic->mac();
  flow.src = datapath::IpAddr::v4(kClientIp);
  flow.src_port = kClientPort;
  flow.dst = Peer::v4(dst_ip, dst_port);
  if (!datapath::build_udp_frame(p, flow)) {
    ADD_FAILURE() << "build_udp_frame";
  }
  return dt::bytes_of(&p);
}

// Ethernet header + payload of an arbitrary EtherType (ARP, IPv6, ...).
std::vector<uint8_t> eth_frame(uint16_t ethertype, std::vector<uint8_t> body) {
  std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  f.insert(f.end(), kClientMac.begin(), kClientMac.end());
  f.push_back(static_cast<uint8_t>(ethertype >> 8));
  f.push_back(static_cast<uint8_t>(ethertype));
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

std::vector<uint8_t> arp_request() {
  std::vector<uint8_t> a = {0, 1, 0x08, 0, 6, 4, 0, 1};
  a.insert(a.end(), kClientMac.begin(), kClientMac.end());
  a.insert(a.end(), {0x0a, 0x63, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0x0a, 0x63, 0x00, 0x01});
  return eth_frame(0x0806, a);
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OCM_REQUIRE_EAL();
    Ports& p = ports();
    drain(*p.nic);
    drain(*p.nic_wire);
    drain(*p.tap);
    drain(*p.tap_wire);
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun_), 0);
    engine_ = dt::make_engine();
    keys_ = std::make_unique<dt::ClientKeys>(dt::make_client_keys(*engine_, crypto::AeadAlgo::kAes128Gcm, 7));
    WorkerSettings ws;
    ws.address = kOurIp;
    ws.prefix_length = 24;
    ws.udp_port = kDtlsPort;
    ws.pool = Ipv4Prefix{dt::kPoolNet, dt::kPoolLen};
    ws.slots = 16;
    ws.hash_seed = 42;
    ws.tun_fd = tun_[0];
    worker_ = std::make_unique<Worker>(ws, dt::make_engine(), *p.nic, *p.tap, test::shared_pool(), commands_);
  }
  void TearDown() override {
    worker_.reset();
    for (int fd : tun_) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  void activate() {
    Command* c = commands_.reserve();
    ASSERT_NE(c, nullptr);
    c->kind = CommandKind::kActivate;
    c->slot = kSlot;
    c->lease = kLease;
    c->peer = Peer::v4(kClientIp, kClientPort);
    c->rx_key = keys_->c2s;
    c->tx_key = keys_->s2c;
    c->epoch = 1;
    c->first_tx_seq = 1;
    commands_.commit();
  }

  std::vector<uint8_t> data_record(uint64_t seq, const std::vector<uint8_t>& inner) {
    return dt::client_seal(*engine_, keys_->c2s, 1, seq, dt::with_type(0x00, inner));
  }

  std::vector<std::vector<uint8_t>> tun_reads() {
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t> buf(4096);
    ssize_t n = 0;
    while ((n = ::read(tun_[1], buf.data(), buf.size())) > 0) {
      out.emplace_back(buf.begin(), buf.begin() + n);
    }
    return out;
  }

  int tun_[2] = {-1, -1};
  CommandRing commands_{16};
  std::unique_ptr<crypto::CryptoEngine> engine_;
  std::unique_ptr<dt::ClientKeys> keys_;
  std::unique_ptr<Worker> worker_;
  uint64_t now_ = 1'000'000'000;
};

struct KernelCase {
  const char* name;
  std::vector<uint8_t> (*frame)();
};

class WorkerKernelPath : public WorkerTest, public ::testing::WithParamInterface<KernelCase> {};

TEST_P(WorkerKernelPath, NotOurDtlsGoesToTheTapUnchanged) {
  std::vector<uint8_t> frame = GetParam().frame();
  send_raw(*ports().nic_wire, frame);
  worker_->run_once(now_);
  auto got = drain(*ports().tap_wire);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0], frame);
  EXPECT_EQ(worker_->stats().get(Stat::kToKernel), 1U);
  EXPECT_EQ(worker_->stats().get(Stat::kDtlsRx), 0U);
}

INSTANTIATE_TEST_SUITE_P(
    Table, WorkerKernelPath,
    ::testing::Values(
        KernelCase{"arp", arp_request},
        KernelCase{"udp_other_port",
                   [] { return client_frame(std::vector<uint8_t>(40, 0x17), 53); }},
        KernelCase{"udp_other_address",
                   [] { return client_frame(std::vector<uint8_t>(40, 0x17), kDtlsPort, 0x0A630009); }},
        KernelCase{"tcp_to_tls_port",
                   [] {
                     auto ip = dt::ipv4_packet(kClientIp, kOurIp, 60);
                     ip[9] = 6;  // TCP
                     return eth_frame(0x0800, ip);
                   }},
        KernelCase{"ipv6_nd", [] { return eth_frame(0x86dd, std::vector<uint8_t>(72, 0)); }}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(WorkerTest, KernelFramesFromTheTapGoToTheNicUnchanged) {
  std::vector<uint8_t> frame = arp_request();
  send_raw(*ports().tap_wire, frame);
  worker_->run_once(now_);
  auto got = drain(*ports().nic_wire);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0], frame);
  EXPECT_EQ(worker_->stats().get(Stat::kFromKernel), 1U);
}

TEST_F(WorkerTest, ArpTeachesTheSendersMac) {
  send_raw(*ports().nic_wire, arp_request());
  worker_->run_once(now_);
  const MacAddr* mac = worker_->neighbours().find(kClientIp);
  ASSERT_NE(mac, nullptr);
  EXPECT_EQ(*mac, kClientMac);
}

// The client's Finished and its first data record arrive in one burst: the record waits for
// the keys the slow path installs (activate command), then reaches TUN.
TEST_F(WorkerTest, EarlyRecordIsParkedUntilItsKeysArrive) {
  auto finished = dt::dtls_datagram(22, 0xfefd, 0, 3, 40, 40);
  auto inner = dt::ipv4_packet(kLease, 0x0A370002, 100);
  send_raw(*ports().nic_wire, client_frame(finished));
  send_raw(*ports().nic_wire, client_frame(data_record(1, inner)));
  worker_->run_once(now_);
  EXPECT_EQ(worker_->ctx().control.size(), 1U) << "the handshake record goes to the slow path";
  EXPECT_EQ(worker_->stats().get(Stat::kParked), 1U);
  EXPECT_TRUE(tun_reads().empty());

  activate();
  worker_->run_once(now_ + 1000);
  auto tun = tun_reads();
  ASSERT_EQ(tun.size(), 1U);
  EXPECT_EQ(tun[0], inner);
  EXPECT_EQ(worker_->stats().get(Stat::kUnparked), 1U);
  EXPECT_EQ(worker_->parked(), 0U);
  EXPECT_EQ(worker_->counters().dropped(datapath::DropReason::kUnknownPeer), 0U);
}

TEST_F(WorkerTest, ParkedRecordWithoutKeysIsDroppedAfterItsTime) {
  send_raw(*ports().nic_wire, client_frame(dt::dtls_datagram(22, 0xfefd, 0, 3, 40, 40)));
  send_raw(*ports().nic_wire, client_frame(data_record(1, dt::ipv4_packet(kLease, 0x0A370002, 100))));
  worker_->run_once(now_);
  ASSERT_EQ(worker_->parked(), 1U);
  worker_->run_once(now_ + ParkLot::kMaxParkNs / 2);
  EXPECT_EQ(worker_->parked(), 1U);
  worker_->run_once(now_ + ParkLot::kMaxParkNs + 1);
  EXPECT_EQ(worker_->parked(), 0U);
  EXPECT_EQ(worker_->stats().get(Stat::kParkExpired), 1U);
  EXPECT_EQ(worker_->counters().dropped(datapath::DropReason::kUnknownPeer), 1U);
  EXPECT_TRUE(tun_reads().empty());
}

TEST_F(WorkerTest, DataFromAnUnknownPeerWithoutHandshakeIsNotParked) {
  send_raw(*ports().nic_wire, client_frame(data_record(1, dt::ipv4_packet(kLease, 0x0A370002, 100))));
  worker_->run_once(now_);
  EXPECT_EQ(worker_->parked(), 0U);
  EXPECT_EQ(worker_->counters().dropped(datapath::DropReason::kUnknownPeer), 1U);
}

// TUN -> sealed record framed to the client's learned MAC, from our address and DTLS port.
TEST_F(WorkerTest, TunPacketIsSealedAndFramedToTheLearnedNextHop) {
  send_raw(*ports().nic_wire, arp_request());  // teaches the client's MAC
  activate();
  worker_->run_once(now_);
  drain(*ports().tap_wire);
  auto inner = dt::ipv4_packet(0x0A370002, kLease, 1200);
  ASSERT_EQ(::write(tun_[1], inner.data(), inner.size()), static_cast<ssize_t>(inner.size()));
  worker_->run_once(now_ + 1000);
  auto frames = drain(*ports().nic_wire);
  ASSERT_EQ(frames.size(), 1U);
  datapath::FrameInfo fi;
  ASSERT_EQ(datapath::parse_udp_frame(frames[0], fi), datapath::FrameVerdict::kUdp);
  EXPECT_EQ(fi.dst_mac, kClientMac);
  EXPECT_EQ(fi.src_mac, ports().nic->mac());
  EXPECT_EQ(fi.src, Peer::v4(kOurIp, kDtlsPort));
  EXPECT_EQ(fi.dst, datapath::IpAddr::v4(kClientIp));
  EXPECT_EQ(fi.dst_port, kClientPort);
  std::span<const uint8_t> record(frames[0].data() + fi.payload_offset, fi.payload_len);
  auto plain = dt::client_open(*engine_, keys_->s2c, 1, record);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(*plain, dt::with_type(0x00, inner));
  EXPECT_EQ(worker_->stats().get(Stat::kDtlsTx), 1U);
}

struct SendCase {
  const char* name;
  bool learned;      // the peer's MAC is known
  size_t frames;     // on the wire afterwards
  uint64_t no_neighbour;
};

class WorkerSendDatagram : public WorkerTest, public ::testing::WithParamInterface<SendCase> {};

TEST_P(WorkerSendDatagram, HandshakeFlightGoesOutOnlyToAKnownNextHop) {
  const SendCase& c = GetParam();
  if (c.learned) {
    send_raw(*ports().nic_wire, arp_request());
    worker_->run_once(now_);
    drain(*ports().tap_wire);
  }
  std::vector<uint8_t> flight = dt::dtls_datagram(22, 0xfefd, 0, 1, 100, 100);
  Command* cmd = commands_.reserve();
  ASSERT_NE(cmd, nullptr);
  cmd->kind = CommandKind::kSendDatagram;
  cmd->peer = Peer::v4(kClientIp, kClientPort);
  cmd->len = static_cast<uint16_t>(flight.size());
  std::memcpy(cmd->data, flight.data(), flight.size());
  commands_.commit();
  worker_->run_once(now_ + 1000);
  auto frames = drain(*ports().nic_wire);
  ASSERT_EQ(frames.size(), c.frames);
  EXPECT_EQ(worker_->stats().get(Stat::kNoNeighbour), c.no_neighbour);
  if (c.frames == 1) {
    datapath::FrameInfo fi;
    ASSERT_EQ(datapath::parse_udp_frame(frames[0], fi), datapath::FrameVerdict::kUdp);
    EXPECT_EQ(std::vector<uint8_t>(frames[0].begin() + fi.payload_offset, frames[0].end()), flight);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, WorkerSendDatagram,
                         ::testing::Values(SendCase{"learned", true, 1, 0}, SendCase{"unknown", false, 0, 1}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// DpdkDataPlane::set_rate_limit queues kSetRateLimit; the lcore applies it to its own slot, and
// the pipeline then polices with it: a record beyond the burst is dropped as rate_limited.
TEST_F(WorkerTest, SetRateLimitCommandReachesTheSlot) {
  activate();
  Command* c = commands_.reserve();
  ASSERT_NE(c, nullptr);
  c->kind = CommandKind::kSetRateLimit;
  c->slot = kSlot;
  c->rx_rate = 1000;
  c->tx_rate = 2000;
  commands_.commit();
  worker_->run_once(now_);
  const datapath::DtlsSession& s = worker_->sessions().session(kSlot);
  EXPECT_EQ(s.rx_limit.rate(), 1000U);
  EXPECT_EQ(s.tx_limit.rate(), 2000U);
  EXPECT_EQ(std::string(to_string(CommandKind::kSetRateLimit)), "set_rate_limit");

  // The burst is 64 KiB at this rate: 50 records of 1400 bytes pass, the rest of 60 do not.
  auto inner = dt::ipv4_packet(kLease, 0x0A370002, 1400);
  for (uint64_t seq = 1; seq <= 60; ++seq) {
    send_raw(*ports().nic_wire, client_frame(data_record(seq, inner)));
    if (seq % 8 == 0) {
      worker_->run_once(now_);
    }
  }
  worker_->run_once(now_);
  EXPECT_EQ(tun_reads().size(), 46U);
  EXPECT_EQ(worker_->ctx().counters.dropped(datapath::DropReason::kRateLimited), 14U);
}

// DpdkDataPlane::attach_ipv6 queues kAttachIpv6; once the lcore applied it, the session's IPv6
// source passes validate_inner and reaches TUN, another source is dropped as inner6_src_spoofed.
TEST_F(WorkerTest, AttachIpv6CommandReachesTheSlot) {
  activate();
  EXPECT_TRUE(worker_->sessions().lease6(kSlot).empty());
  Command* c = commands_.reserve();
  ASSERT_NE(c, nullptr);
  c->kind = CommandKind::kAttachIpv6;
  c->slot = kSlot;
  c->lease6 = datapath::Ipv6Subnet{dt::v6addr(5), 128};
  commands_.commit();
  worker_->run_once(now_);
  EXPECT_EQ(worker_->sessions().lease6(kSlot), (datapath::Ipv6Subnet{dt::v6addr(5), 128}));
  EXPECT_EQ(std::string(to_string(CommandKind::kAttachIpv6)), "attach_ipv6");

  std::array<uint8_t, 16> remote{0x20, 0x01, 0x0d, 0xb8};
  remote[15] = 1;
  send_raw(*ports().nic_wire, client_frame(data_record(1, dt::ipv6_packet(dt::v6addr(5), remote, 200))));
  send_raw(*ports().nic_wire, client_frame(data_record(2, dt::ipv6_packet(dt::v6addr(6), remote, 200))));
  worker_->run_once(now_);
  EXPECT_EQ(tun_reads().size(), 1U);
  EXPECT_EQ(worker_->ctx().counters.dropped(datapath::DropReason::kInner6SrcSpoofed), 1U);
}

// DpdkDataPlane::set_compression queues kSetCompression; before the lcore applies it a
// compressed record is dropped as compressed_unsupported, after it the record is decompressed
// and its IP packet reaches TUN intact.
TEST_F(WorkerTest, SetCompressionCommandReachesTheSlot) {
  activate();
  std::vector<uint8_t> inner = dt::ipv4_packet(kLease, 0x0A370002, 1200, 0);
  std::fill(inner.begin() + 28, inner.end(), uint8_t{0});  // compressible payload
  std::vector<uint8_t> packed(inner.size());
  auto scratch = std::make_unique<proto::CompressScratch>();
  size_t n = proto::compress_packet(proto::Compression::kLz4, inner, packed, *scratch);
  ASSERT_GT(n, 0U);
  packed.resize(n);
  auto compressed_record = [&](uint64_t seq) {
    return dt::client_seal(*engine_, keys_->c2s, 1, seq, dt::with_type(0x08, packed));
  };
  send_raw(*ports().nic_wire, client_frame(compressed_record(1)));
  worker_->run_once(now_);
  EXPECT_TRUE(tun_reads().empty());
  EXPECT_EQ(worker_->ctx().counters.dropped(datapath::DropReason::kCompressedUnsupported), 1U);

  Command* c = commands_.reserve();
  ASSERT_NE(c, nullptr);
  c->kind = CommandKind::kSetCompression;
  c->slot = kSlot;
  c->compression = proto::Compression::kLz4;
  c->compress_min_size = 256;
  commands_.commit();
  worker_->run_once(now_);
  EXPECT_EQ(worker_->sessions().session(kSlot).compression, proto::Compression::kLz4);
  EXPECT_EQ(worker_->sessions().session(kSlot).compress_min_size, 256U);
  EXPECT_EQ(std::string(to_string(CommandKind::kSetCompression)), "set_compression");

  send_raw(*ports().nic_wire, client_frame(compressed_record(2)));
  worker_->run_once(now_);
  auto reads = tun_reads();
  ASSERT_EQ(reads.size(), 1U);
  EXPECT_EQ(reads[0], inner);
  EXPECT_EQ(worker_->ctx().counters.count(datapath::Event::kDecompressed), 1U);
}

// DpdkDataPlane::set_restriction queues kSetRestriction; once the lcore applied it, a record to
// an announced route reaches TUN and one to any other address is dropped as not_in_routes.
TEST_F(WorkerTest, SetRestrictionCommandReachesTheSlot) {
  activate();
  EXPECT_FALSE(worker_->sessions().restriction(kSlot).restricted());
  Command* c = commands_.reserve();
  ASSERT_NE(c, nullptr);
  c->kind = CommandKind::kSetRestriction;
  c->slot = kSlot;
  c->restriction = datapath::RouteRestriction{};
  c->restriction.count = 1;
  c->restriction.routes[0] = Ipv4Prefix{0x0A370000, 24};  // 10.55.0.0/24
  commands_.commit();
  worker_->run_once(now_);
  EXPECT_TRUE(worker_->sessions().restriction(kSlot).restricted());
  EXPECT_EQ(std::string(to_string(CommandKind::kSetRestriction)), "set_restriction");

  send_raw(*ports().nic_wire, client_frame(data_record(1, dt::ipv4_packet(kLease, 0x0A370002, 200))));
  send_raw(*ports().nic_wire, client_frame(data_record(2, dt::ipv4_packet(kLease, 0x0A380002, 200))));
  worker_->run_once(now_);
  EXPECT_EQ(tun_reads().size(), 1U);
  EXPECT_EQ(worker_->ctx().counters.dropped(datapath::DropReason::kNotInRoutes), 1U);
}

TEST_F(WorkerTest, MbufsComeBack) {
  unsigned before = rte_mempool_avail_count(test::shared_pool());
  send_raw(*ports().nic_wire, arp_request());
  send_raw(*ports().nic_wire, client_frame(dt::dtls_datagram(22, 0xfefd, 0, 3, 40, 40)));
  send_raw(*ports().nic_wire, client_frame(data_record(1, dt::ipv4_packet(kLease, 0x0A370002, 100))));
  send_raw(*ports().nic_wire, client_frame(std::vector<uint8_t>(3, 0x17)));  // garbage DTLS
  worker_->run_once(now_);
  worker_->run_once(now_ + ParkLot::kMaxParkNs + 1);
  drain(*ports().tap_wire);
  drain(*ports().nic_wire);
  EXPECT_EQ(rte_mempool_avail_count(test::shared_pool()), before);
}

}  // namespace
}  // namespace ocm::dpdk
