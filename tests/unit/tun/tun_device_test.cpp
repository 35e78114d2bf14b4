// TunDevice against the real kernel: needs root and /dev/net/tun (skipped otherwise). The whole
// test process moves into a private network namespace first, so nothing it creates is visible
// on the host and nothing on the host can collide with it.

#include "ocm/tun/tun_device.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ocm/datapath/gso.hpp"
#include "reference.hpp"

namespace ocm::tun {
namespace {

using Bytes = std::vector<uint8_t>;
using datapath::VnetHdr;

constexpr uint32_t kServer = 0x0AC80001;  // 10.200.0.1, the device's address
constexpr uint32_t kPeer = 0x0AC80002;    // 10.200.0.2, "a client" routed to the device
constexpr uint16_t kPeerPort = 40000;

bool g_netns = false;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (::geteuid() != 0 || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
      return;
    }
    g_netns = ::unshare(CLONE_NEWNET) == 0;
  }
};
[[maybe_unused]] const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Environment);

#define REQUIRE_NETNS()                                                           \
  do {                                                                            \
    if (!g_netns) {                                                               \
      GTEST_SKIP() << "needs root, /dev/net/tun and a private network namespace"; \
    }                                                                             \
  } while (0)

TunSettings settings(const char* name, bool offloads, uint32_t queues = 1) {
  TunSettings s;
  s.name = name;
  s.address = kServer;
  s.network = Ipv4Prefix{0x0AC80000, 24};
  s.mtu = 1400;
  s.queues = queues;
  s.offloads = offloads;
  return s;
}

short tun_flags(int fd) {
  ifreq ifr{};
  EXPECT_EQ(::ioctl(fd, TUNGETIFF, &ifr), 0) << std::strerror(errno);
  return ifr.ifr_flags;
}

struct OpenCase {
  const char* name;
  bool offloads;
  uint32_t queues;
};

class TunOpen : public ::testing::TestWithParam<OpenCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, TunOpen,
                         ::testing::Values(OpenCase{"offloads_one_queue", true, 1},
                                           OpenCase{"offloads_two_queues", true, 2},
                                           OpenCase{"plain_one_queue", false, 1},
                                           OpenCase{"plain_two_queues", false, 2}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_P(TunOpen, VnetHeaderOnEveryQueueExactlyWhenOffloaded) {
  REQUIRE_NETNS();
  auto dev = TunDevice::open(settings("ocmt0", GetParam().offloads, GetParam().queues));
  ASSERT_TRUE(dev) << dev.error().message;
  EXPECT_EQ(dev->offloads(), GetParam().offloads);
  ASSERT_EQ(dev->fds().size(), GetParam().queues);
  for (int fd : dev->fds()) {
    short flags = tun_flags(fd);
    EXPECT_EQ((flags & IFF_VNET_HDR) != 0, GetParam().offloads);
    EXPECT_NE(flags & IFF_MULTI_QUEUE, 0);
    if (GetParam().offloads) {
      int size = 0;
      ASSERT_EQ(::ioctl(fd, TUNGETVNETHDRSZ, &size), 0);
      EXPECT_EQ(size, static_cast<int>(sizeof(VnetHdr)));
    }
  }
}

// ---- a tiny TCP peer on the far side of the device ----------------------------------------------

// Reads one frame (virtio_net header first when offloaded) within a second.
std::optional<std::pair<VnetHdr, Bytes>> read_frame(int fd, bool vnet) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) {
    return std::nullopt;
  }
  Bytes buf(70000);
  ssize_t n = ::read(fd, buf.data(), buf.size());
  if (n <= 0) {
    return std::nullopt;
  }
  VnetHdr h{};
  size_t off = 0;
  if (vnet) {
    if (static_cast<size_t>(n) < sizeof h) {
      return std::nullopt;
    }
    std::memcpy(&h, buf.data(), sizeof h);
    off = sizeof h;
  }
  return std::make_pair(h, Bytes(buf.begin() + static_cast<long>(off), buf.begin() + n));
}

// Next TCP frame from/to the given ports, skipping anything else the stack emits.
std::optional<std::pair<VnetHdr, Bytes>> read_tcp(int fd, bool vnet) {
  for (int i = 0; i < 20; ++i) {
    auto f = read_frame(fd, vnet);
    if (!f) {
      return std::nullopt;
    }
    const Bytes& b = f->second;
    if (b.size() >= 40 && (b[0] >> 4) == 4 && b[9] == 6) {
      return f;
    }
  }
  return std::nullopt;
}

bool write_frame(int fd, bool vnet, const VnetHdr& h, const Bytes& pkt) {
  VnetHdr copy = h;
  iovec iov[2] = {{&copy, sizeof copy}, {const_cast<uint8_t*>(pkt.data()), pkt.size()}};
  ssize_t want = static_cast<ssize_t>((vnet ? sizeof copy : 0) + pkt.size());
  return ::writev(fd, vnet ? iov : iov + 1, vnet ? 2 : 1) == want;
}

// A TCP/IPv4 packet from the peer to the server with the given options bytes; checksums valid.
Bytes peer_packet(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const Bytes& options,
                  const Bytes& payload = {}) {
  datapath::ref::TcpSpec s;
  s.src = kPeer;
  s.dst = kServer;
  s.seq = seq;
  s.ack = ack;
  s.flags = flags;
  s.window = 0xffff;
  s.tcp_options = options.size();
  s.payload = payload.size();
  Bytes p = datapath::ref::tcp_packet(s);
  uint8_t* t = &p[20];
  datapath::ref::put16(t, sport);
  datapath::ref::put16(t + 2, dport);
  std::copy(options.begin(), options.end(), t + 20);
  std::copy(payload.begin(), payload.end(), t + 20 + options.size());
  t[16] = t[17] = 0;
  size_t l4 = p.size() - 20;
  datapath::ref::put16(t + 16, datapath::ref::checksum(t, l4, datapath::ref::pseudo_v4(p.data(), 6, l4)));
  return p;
}

int nonblocking_tcp_socket() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  EXPECT_GE(s, 0);
  return s;
}

sockaddr_in addr(uint32_t host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(host);
  a.sin_port = htons(port);
  return a;
}

// The kernel, sending over a device with TSO, hands the TUN queue super-packets; cutting them
// with plan_tso/write_tso_segment gives valid MSS-sized segments carrying the bytes sent.
TEST(TunOffloads, KernelTsoFramesCutIntoValidSegments) {
  REQUIRE_NETNS();
  auto dev = TunDevice::open(settings("ocmt1", true));
  ASSERT_TRUE(dev) << dev.error().message;
  ASSERT_TRUE(dev->offloads());
  int tun = dev->fds().front();

  // Client socket on the server side connects to the peer behind the device.
  int c = nonblocking_tcp_socket();
  int one = 1;
  ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in dst = addr(kPeer, 5001);
  ASSERT_NE(::connect(c, reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0);
  auto syn = read_tcp(tun, true);
  ASSERT_TRUE(syn) << "no SYN on the device";
  const Bytes& s = syn->second;
  uint16_t cport = datapath::ref::be16(&s[20]);
  uint32_t iss = datapath::ref::be32(&s[24]);
  // SYN-ACK: MSS 1360, window scale 7 so that the kernel may send a large first flight.
  const Bytes syn_opts = {2, 4, 0x05, 0x50, 1, 3, 3, 7};
  constexpr uint32_t kPeerIss = 777000;
  ASSERT_TRUE(write_frame(tun, true, VnetHdr{}, peer_packet(5001, cport, kPeerIss, iss + 1, 0x12, syn_opts)));
  pollfd p{c, POLLOUT, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1) << "connect did not complete";

  Bytes data = datapath::ref::random_bytes(60000, 99);
  ssize_t sent = ::send(c, data.data(), data.size(), 0);
  ASSERT_GT(sent, 20000);

  uint32_t next_seq = iss + 1;
  size_t received = 0;
  int gso_frames = 0;
  for (int frames = 0; frames < 64 && !(received >= 5000 && gso_frames > 0); ++frames) {
    auto f = read_tcp(tun, true);
    if (!f) {
      break;
    }
    auto& [h, frame] = *f;
    if (frame.size() - 40 == 0) {
      continue;  // pure ACK
    }
    if (static_cast<int32_t>(datapath::ref::be32(&frame[24]) - next_seq) < 0) {
      continue;  // we never ACK: a tail loss probe may resend earlier data
    }
    Bytes out_all;
    if (h.gso_type == datapath::kVnetGsoNone) {
      if ((h.flags & datapath::kVnetFlagNeedsCsum) != 0) {
        ASSERT_EQ(datapath::complete_checksum(frame, h.csum_start, h.csum_offset), datapath::GsoVerdict::kOk);
      }
      EXPECT_TRUE(datapath::ref::l4_checksum_ok(frame, 6));
      size_t thl = (frame[32] >> 4) * 4u;
      EXPECT_EQ(datapath::ref::be32(&frame[24]), next_seq);
      out_all.assign(frame.begin() + static_cast<long>(20 + thl), frame.end());
    } else {
      ++gso_frames;
      EXPECT_EQ(h.gso_type, datapath::kVnetGsoTcpV4);
      EXPECT_LE(h.gso_size, 1360);
      datapath::TsoPlan plan;
      ASSERT_EQ(datapath::plan_tso(frame, h, 2048, plan), datapath::GsoVerdict::kOk);
      EXPECT_GT(plan.segments, 1);
      for (uint16_t i = 0; i < plan.segments; ++i) {
        Bytes seg(plan.hdr_len + plan.gso_size);
        seg.resize(datapath::write_tso_segment(frame, plan, i, seg.data()));
        EXPECT_LE(seg.size(), 1400u) << "segment fits the device MTU";
        EXPECT_TRUE(datapath::ref::ipv4_header_ok(seg.data()));
        EXPECT_TRUE(datapath::ref::l4_checksum_ok(seg, 6)) << "segment " << i;
        EXPECT_EQ(datapath::ref::be32(&seg[24]), next_seq + out_all.size());
        out_all.insert(out_all.end(), seg.begin() + plan.hdr_len, seg.end());
      }
    }
    ASSERT_LE(received + out_all.size(), data.size());
    EXPECT_TRUE(std::equal(out_all.begin(), out_all.end(), data.begin() + static_cast<long>(received)));
    received += out_all.size();
    next_seq += static_cast<uint32_t>(out_all.size());
  }
  EXPECT_GE(received, 5000u);
  EXPECT_GE(gso_frames, 1) << "the kernel never sent a TSO frame";
  ::close(c);
}

// A merged GSO write (plan_tcp_coalesce/finish_tcp_coalesce, pieces gathered by writev) is
// accepted by the kernel and its bytes reach the local socket in order.
TEST(TunOffloads, CoalescedGsoWriteReachesLocalSocket) {
  REQUIRE_NETNS();
  auto dev = TunDevice::open(settings("ocmt2", true));
  ASSERT_TRUE(dev) << dev.error().message;
  int tun = dev->fds().front();

  int lsock = nonblocking_tcp_socket();
  int one = 1;
  ::setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in la = addr(kServer, 5002);
  ASSERT_EQ(::bind(lsock, reinterpret_cast<sockaddr*>(&la), sizeof la), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(lsock, 4), 0);

  constexpr uint32_t kIss = 1000;
  const Bytes mss = {2, 4, 0x05, 0x50};
  ASSERT_TRUE(write_frame(tun, true, VnetHdr{}, peer_packet(kPeerPort, 5002, kIss, 0, 0x02, mss)));
  auto synack = read_tcp(tun, true);
  ASSERT_TRUE(synack) << "no SYN-ACK";
  uint32_t server_iss = datapath::ref::be32(&synack->second[24]);
  ASSERT_EQ(synack->second[33] & 0x12, 0x12);
  ASSERT_TRUE(write_frame(tun, true, VnetHdr{}, peer_packet(kPeerPort, 5002, kIss + 1, server_iss + 1, 0x10, {})));
  pollfd p{lsock, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1) << "no connection to accept";
  int a = ::accept4(lsock, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(a, 0);

  // Eight in-order segments, PSH on the last, as a client's TCP would send them.
  constexpr int kSegs = 8;
  constexpr size_t kPayload = 1300;
  Bytes data = datapath::ref::random_bytes(kSegs * kPayload, 5);
  datapath::PktPool pool(16, 2048);
  std::vector<datapath::PktBuf*> bufs;
  for (int i = 0; i < kSegs; ++i) {
    Bytes chunk(data.begin() + static_cast<long>(i * kPayload), data.begin() + static_cast<long>((i + 1) * kPayload));
    uint8_t flags = i + 1 == kSegs ? 0x18 : 0x10;
    Bytes pkt = peer_packet(kPeerPort, 5002, static_cast<uint32_t>(kIss + 1 + i * kPayload), server_iss + 1, flags, {},
                            chunk);
    datapath::PktBuf* b = pool.alloc();
    ASSERT_TRUE(b->assign(pkt));
    bufs.push_back(b);
  }
  datapath::TcpCoalesceGroup groups[kSegs];
  ASSERT_EQ(datapath::plan_tcp_coalesce(bufs.data(), kSegs, 32, groups), 1);
  ASSERT_EQ(groups[0].count, kSegs);
  VnetHdr h;
  datapath::finish_tcp_coalesce(bufs.data(), groups[0], h);
  std::vector<iovec> iov;
  iov.push_back({&h, sizeof h});
  iov.push_back({bufs[0]->data(), bufs[0]->len()});
  for (int i = 1; i < kSegs; ++i) {
    iov.push_back({bufs[i]->data() + groups[0].hdr_len, static_cast<size_t>(bufs[i]->len() - groups[0].hdr_len)});
  }
  ssize_t want = static_cast<ssize_t>(sizeof h + 40 + data.size());
  ASSERT_EQ(::writev(tun, iov.data(), static_cast<int>(iov.size())), want) << std::strerror(errno);

  Bytes got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got.size() < data.size() && std::chrono::steady_clock::now() < deadline) {
    pollfd q{a, POLLIN, 0};
    if (::poll(&q, 1, 200) != 1) {
      continue;
    }
    uint8_t buf[16384];
    ssize_t n = ::recv(a, buf, sizeof buf, 0);
    if (n > 0) {
      got.insert(got.end(), buf, buf + n);
    }
  }
  EXPECT_EQ(got, data);
  pool.free_bulk(bufs.data(), static_cast<uint32_t>(bufs.size()));
  ::close(a);
  ::close(lsock);
}

}  // namespace
}  // namespace ocm::tun
