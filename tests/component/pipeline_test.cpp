// Component test: the full UDP and TUN chains driven through poll_once over two RingPorts, with
// real ipsec-mb crypto, hundreds of sessions across all three AEADs, and a client model that
// seals with the client's keys and opens what the server sends.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "ocm/datapath/lcore.hpp"
#include "ocm/datapath/ring_port.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using crypto::AeadAlgo;
using test::Harness;

constexpr uint32_t kSessions = 384;
constexpr uint16_t kEpoch = 1;
constexpr uint64_t kFirstServerSeq = 5;  // after the records wolfSSL sent itself

AeadAlgo algo_of(uint32_t slot) {
  static constexpr AeadAlgo kAlgos[] = {AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm, AeadAlgo::kChaCha20Poly1305};
  return kAlgos[slot % 3];
}

struct Client {
  uint32_t slot = 0;
  uint32_t lease = 0;
  Peer peer;
  test::ClientKeys keys;
  uint64_t next_seq = 1;  // client -> server
  uint64_t expect_server_seq = kFirstServerSeq;
};

class PipelineTest : public ::testing::Test {
 protected:
  explicit PipelineTest(uint32_t control_depth = 256, uint32_t cstp_depth = 256)
      : h_(kSessions, /*pool_size=*/8192, control_depth, cstp_depth), udp_(h_.pool, 4096), tun_(h_.pool, 4096) {}

  void SetUp() override {
    for (uint32_t slot = 0; slot < kSessions; ++slot) {
      Client c;
      c.slot = slot;
      c.lease = Harness::lease_of(slot);
      c.peer = Harness::peer_of(slot);
      c.keys = h_.activate(slot, algo_of(slot), kEpoch, kFirstServerSeq);
      clients_.push_back(std::move(c));
    }
  }

  void TearDown() override {
    drain_all();
    EXPECT_EQ(h_.pool.available(), h_.pool.capacity()) << "every buffer came back";
  }

  // Client side: a record of `plain` with the next sequence number, as a datagram from `from`.
  std::vector<uint8_t> seal(Client& c, std::span<const uint8_t> plain, uint16_t epoch = kEpoch) {
    return test::client_seal(*h_.engine, c.keys.c2s, epoch, c.next_seq++, plain);
  }
  void send_udp(std::span<const uint8_t> datagram, const Peer& from) {
    ASSERT_TRUE(udp_.inject(h_.packet(datagram, from)));
  }
  std::vector<uint8_t> data_from(const Client& c, size_t len, uint8_t fill) {
    return test::ipv4_packet(c.lease, test::kRemote, len, fill);
  }
  void send_tun(std::span<const uint8_t> ip) { ASSERT_TRUE(tun_.inject(h_.packet(ip))); }

  void run() {
    for (int i = 0; i < 10000 && (udp_.rx_pending() > 0 || tun_.rx_pending() > 0); ++i) {
      h_.ctx.now_ns += 1000;
      poll_once(h_.ctx, udp_, tun_);
    }
    ASSERT_EQ(udp_.rx_pending() + tun_.rx_pending(), 0u);
  }

  // What the pipeline wrote to TUN (resp. sent on UDP), as copies; the buffers are freed.
  std::vector<std::vector<uint8_t>> take_tun() { return take(tun_, nullptr); }
  std::vector<std::vector<uint8_t>> take_udp(std::vector<Peer>* peers) { return take(udp_, peers); }
  std::vector<std::vector<uint8_t>> take(RingPort& port, std::vector<Peer>* peers) {
    std::vector<std::vector<uint8_t>> out;
    PktBuf* pkts[kBurst];
    while (uint16_t n = port.drain(pkts, kBurst)) {
      for (uint16_t i = 0; i < n; ++i) {
        out.push_back(test::bytes_of(pkts[i]));
        if (peers != nullptr) {
          peers->push_back(pkts[i]->meta.peer);
        }
      }
      h_.pool.free_bulk(pkts, n);
    }
    return out;
  }
  void drain_all() {
    take_tun();
    take_udp(nullptr);
    while (!h_.control.empty()) {
      h_.control.pop();
    }
    while (!h_.cstp.empty()) {
      h_.cstp.pop();
    }
  }

  // The client receives a record: opens with its s2c key, checks the sequence is the next one.
  std::vector<uint8_t> client_receive(Client& c, std::span<const uint8_t> record) {
    uint64_t seq = 0;
    auto plain = test::client_open(*h_.engine, c.keys.s2c, kEpoch, record, &seq);
    EXPECT_TRUE(plain.has_value()) << "slot " << c.slot;
    EXPECT_EQ(seq, c.expect_server_seq) << "slot " << c.slot;
    ++c.expect_server_seq;
    return plain.value_or(std::vector<uint8_t>{});
  }
  Client& client_at(const Peer& peer) {
    for (auto& c : clients_) {
      if (c.peer == peer) {
        return c;
      }
    }
    ADD_FAILURE() << "record sent to an unknown peer";
    return clients_[0];
  }

  Harness h_;
  RingPort udp_;
  RingPort tun_;
  std::vector<Client> clients_;
};

TEST_F(PipelineTest, UpstreamManySessionsDeliverExactInnerPackets) {
  std::vector<std::vector<uint8_t>> expect;
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    for (auto& c : clients_) {
      size_t len = 20 + (c.slot * 37 + round * 101) % 1400;
      auto ip = data_from(c, len, static_cast<uint8_t>(round));
      send_udp(seal(c, test::with_type(0x00, ip)), c.peer);
      expect.push_back(ip);
    }
    run();
  }
  EXPECT_EQ(take_tun(), expect);
  EXPECT_EQ(h_.counters.total_drops(), 0u);
  EXPECT_EQ(h_.counters.tun_tx.packets, kSessions * kRounds);
  for (auto& c : clients_) {
    EXPECT_EQ(h_.table.session(c.slot).counters.rx_packets, static_cast<uint64_t>(kRounds));
    EXPECT_GT(h_.table.last_rx_ns(c.slot), 0u);
  }
}

TEST_F(PipelineTest, DownstreamRecordsOpenWithClientKeysInOrder) {
  std::map<uint32_t, std::vector<std::vector<uint8_t>>> expect;  // per slot, in order
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    for (auto& c : clients_) {
      auto ip =
          test::ipv4_packet(test::kRemote, c.lease, 40 + (c.slot * 13 + round * 7) % 1300, static_cast<uint8_t>(round));
      send_tun(ip);
      expect[c.slot].push_back(test::with_type(0x00, ip));
    }
    run();
  }
  std::vector<Peer> peers;
  auto records = take_udp(&peers);
  ASSERT_EQ(records.size(), kSessions * kRounds);
  std::map<uint32_t, size_t> next;
  for (size_t i = 0; i < records.size(); ++i) {
    Client& c = client_at(peers[i]);
    EXPECT_EQ(client_receive(c, records[i]), expect[c.slot][next[c.slot]++]);
  }
  EXPECT_EQ(h_.counters.total_drops(), 0u);
  EXPECT_EQ(h_.counters.udp_tx.packets, kSessions * kRounds);
}

TEST_F(PipelineTest, AttacksAreDroppedAndCounted) {
  Client& a = clients_[10];
  Client& b = clients_[11];
  auto good = seal(a, test::with_type(0x00, data_from(a, 100, 1)));
  send_udp(good, a.peer);
  send_udp(good, a.peer);  // replayed
  auto tampered = seal(a, test::with_type(0x00, data_from(a, 100, 2)));
  tampered[40] ^= 0x01;
  send_udp(tampered, a.peer);
  send_udp(seal(a, test::with_type(0x00, data_from(a, 100, 3)), /*epoch=*/2), a.peer);  // wrong epoch
  // b's key, a's peer: authenticates as nobody (a fresh sequence number, so that it reaches the
  // tag check instead of the replay check).
  b.next_seq = 1000;
  send_udp(seal(b, test::with_type(0x00, data_from(b, 100, 4))), a.peer);
  // a authenticated, but claims b's address inside.
  send_udp(seal(a, test::with_type(0x00, data_from(b, 100, 5))), a.peer);
  // A stranger: unknown IP and port.
  send_udp(seal(a, test::with_type(0x00, data_from(a, 100, 6))), Peer::v4(0x0B0B0B0B, 1));
  // Garbage.
  send_udp(std::vector<uint8_t>(8, 0x17), a.peer);
  auto last = data_from(a, 100, 7);
  send_udp(seal(a, test::with_type(0x00, last)), a.peer);
  run();

  auto delivered = take_tun();
  ASSERT_EQ(delivered.size(), 2u);
  EXPECT_EQ(delivered[1], last);
  const Counters& k = h_.counters;
  EXPECT_EQ(k.dropped(DropReason::kReplay), 1u);
  EXPECT_EQ(k.dropped(DropReason::kAuthFailed), 2u);
  EXPECT_EQ(k.dropped(DropReason::kBadEpoch), 1u);
  EXPECT_EQ(k.dropped(DropReason::kInnerSrcSpoofed), 1u);
  EXPECT_EQ(k.dropped(DropReason::kUnknownPeer), 1u);
  EXPECT_EQ(k.dropped(DropReason::kDtlsShort), 1u);
  EXPECT_EQ(k.total_drops(), 7u);
  EXPECT_EQ(h_.table.session(a.slot).counters.replays, 1u);
  EXPECT_EQ(h_.table.session(a.slot).counters.auth_failures, 2u);
}

TEST_F(PipelineTest, RoamingToANewPortWithUniqueIp) {
  Client& c = clients_[20];
  Peer old_peer = c.peer;
  Peer new_peer{c.peer.addr, 61000};
  auto ip = data_from(c, 80, 1);
  send_udp(seal(c, test::with_type(0x00, ip)), new_peer);
  run();
  EXPECT_EQ(take_tun(), std::vector<std::vector<uint8_t>>{ip});
  EXPECT_EQ(h_.counters.count(Event::kRoamed), 1u);
  EXPECT_EQ(h_.table.session(c.slot).peer, new_peer);
  const ControlEvent* ev = h_.control.peek();
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->kind, ControlKind::kPeerChanged);
  EXPECT_EQ(ev->slot, c.slot);

  // Downstream follows the client to its new port.
  send_tun(test::ipv4_packet(test::kRemote, c.lease, 60));
  run();
  std::vector<Peer> peers;
  auto records = take_udp(&peers);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(peers[0], new_peer);
  c.peer = new_peer;
  client_receive(c, records[0]);

  // A forged record from yet another port on the same IP does not move it.
  auto forged = seal(c, test::with_type(0x00, ip));
  forged[30] ^= 0xff;
  send_udp(forged, Peer{old_peer.addr, 62000});
  run();
  EXPECT_EQ(h_.counters.dropped(DropReason::kRoamAuthFailed), 1u);
  EXPECT_EQ(h_.table.session(c.slot).peer, new_peer);
}

TEST_F(PipelineTest, RoamingIsRefusedWhenTheIpIsShared) {
  // Two clients behind one NAT address.
  Client& a = clients_[30];
  Client& b = clients_[31];
  Peer nat_a = Peer::v4(0xCB007101, 1000);
  Peer nat_b = Peer::v4(0xCB007101, 2000);
  ASSERT_TRUE(h_.table.set_peer(a.slot, nat_a));
  ASSERT_TRUE(h_.table.set_peer(b.slot, nat_b));
  send_udp(seal(a, test::with_type(0x00, data_from(a, 60, 1))), Peer::v4(0xCB007101, 3000));
  run();
  EXPECT_TRUE(take_tun().empty());
  EXPECT_EQ(h_.counters.dropped(DropReason::kRoamAmbiguous), 1u);
  EXPECT_EQ(h_.table.session(a.slot).peer, nat_a);
}

TEST_F(PipelineTest, MtuProbeIsEchoedWithSameLengthAndId) {
  Client& c = clients_[40];
  for (size_t cur : {1434u, 1200u, 576u}) {
    // 03 | id (4 bytes) | padding, total 1 + cur (protocol.md 6.2)
    std::vector<uint8_t> probe = test::pattern(1 + cur, static_cast<uint32_t>(cur));
    probe[0] = 0x03;
    send_udp(seal(c, probe), c.peer);
    run();
    std::vector<Peer> peers;
    auto records = take_udp(&peers);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(peers[0], c.peer);
    auto reply = client_receive(c, records[0]);
    ASSERT_EQ(reply.size(), probe.size());
    EXPECT_EQ(reply[0], 0x04);
    EXPECT_TRUE(std::equal(probe.begin() + 1, probe.begin() + 5, reply.begin() + 1)) << "id echoed";
    EXPECT_EQ(records[0].size(), probe.size() + crypto::dtls_overhead(algo_of(c.slot)));
  }
  EXPECT_EQ(h_.counters.count(Event::kDpdAnswered), 3u);
  EXPECT_TRUE(take_tun().empty());
}

TEST_F(PipelineTest, KeepaliveDpdResponseAndDisconnect) {
  Client& c = clients_[50];
  send_udp(seal(c, std::vector<uint8_t>{0x07}), c.peer);
  send_udp(seal(c, std::vector<uint8_t>{0x04}), c.peer);
  std::vector<uint8_t> bye{0x05, 0xb0, 'b', 'y', 'e'};
  send_udp(seal(c, bye), c.peer);
  run();
  EXPECT_EQ(h_.counters.count(Event::kKeepalive), 1u);
  EXPECT_EQ(h_.counters.count(Event::kDpdResp), 1u);
  EXPECT_EQ(h_.counters.count(Event::kDisconnect), 1u);
  const ControlEvent* ev = h_.control.peek();
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->kind, ControlKind::kDisconnect);
  EXPECT_EQ(ev->slot, c.slot);
  EXPECT_EQ(std::vector<uint8_t>(ev->bytes().begin(), ev->bytes().end()),
            std::vector<uint8_t>(bye.begin() + 1, bye.end()));
  EXPECT_EQ(h_.table.last_rx_ns(c.slot), h_.ctx.now_ns) << "every authenticated record is liveness";
}

TEST_F(PipelineTest, HandshakesGoToTheSlowPath) {
  Client& c = clients_[60];
  auto hello = test::dtls_datagram(22, 0xfeff, 0, 0, 200, 200);
  send_udp(hello, Peer::v4(0x0C0C0C0C, 4433));  // new client
  auto reneg = test::dtls_datagram(22, 0xfefd, kEpoch, 77, 60, 60);
  send_udp(reneg, c.peer);  // rehandshake under the current epoch
  run();
  ASSERT_EQ(h_.control.size(), 2u);
  EXPECT_EQ(h_.control.peek()->slot, kNoSlot);
  h_.control.pop();
  EXPECT_EQ(h_.control.peek()->slot, c.slot);
  EXPECT_EQ(h_.control.peek()->bytes().size(), reneg.size());
  EXPECT_EQ(h_.counters.count(Event::kToSlowPath), 2u);
}

TEST_F(PipelineTest, InactiveDtlsGoesToCstpUntilARecordArrives) {
  Client& c = clients_[70];
  ASSERT_TRUE(h_.table.mark_dtls_inactive(c.slot));
  auto down = test::ipv4_packet(test::kRemote, c.lease, 90);
  send_tun(down);
  run();
  EXPECT_TRUE(take_udp(nullptr).empty());
  ASSERT_EQ(h_.cstp.size(), 1u);
  EXPECT_EQ(h_.cstp.peek()->slot, c.slot);
  EXPECT_EQ(std::vector<uint8_t>(h_.cstp.peek()->bytes().begin(), h_.cstp.peek()->bytes().end()), down);
  h_.cstp.pop();

  send_udp(seal(c, std::vector<uint8_t>{0x07}), c.peer);
  run();
  EXPECT_EQ(h_.table.state(c.slot), SessionState::kDtlsActive);
  send_tun(down);
  run();
  EXPECT_EQ(take_udp(nullptr).size(), 1u);
  EXPECT_TRUE(h_.cstp.empty());
}

TEST_F(PipelineTest, ReleasedSessionGetsNothing) {
  Client& c = clients_[80];
  h_.table.release(c.slot);
  send_udp(seal(c, test::with_type(0x00, data_from(c, 60, 1))), c.peer);
  send_tun(test::ipv4_packet(test::kRemote, c.lease, 60));
  run();
  EXPECT_TRUE(take_tun().empty());
  EXPECT_TRUE(take_udp(nullptr).empty());
  EXPECT_EQ(h_.counters.dropped(DropReason::kUnknownPeer), 1u);
  EXPECT_EQ(h_.counters.dropped(DropReason::kNoRoute), 1u);
}

class PipelineSmallRingsTest : public PipelineTest {
 protected:
  PipelineSmallRingsTest() : PipelineTest(/*control_depth=*/4, /*cstp_depth=*/4) {}
};

TEST_F(PipelineSmallRingsTest, FullRingsAreCountedDrops) {
  for (int i = 0; i < 10; ++i) {
    send_udp(test::dtls_datagram(22, 0xfefd, 0, 0, 50, 50), Peer::v4(0x0D000000 + i, 1));
  }
  for (uint32_t slot = 100; slot < 110; ++slot) {
    ASSERT_TRUE(h_.table.deactivate_dtls(slot));
    send_tun(test::ipv4_packet(test::kRemote, Harness::lease_of(slot), 60));
  }
  run();
  EXPECT_EQ(h_.counters.count(Event::kToSlowPath), 4u);
  EXPECT_EQ(h_.counters.dropped(DropReason::kControlRingFull), 6u);
  EXPECT_EQ(h_.counters.count(Event::kTunToCstp), 4u);
  EXPECT_EQ(h_.counters.dropped(DropReason::kCstpRingFull), 6u);
}

}  // namespace
}  // namespace ocm::datapath
