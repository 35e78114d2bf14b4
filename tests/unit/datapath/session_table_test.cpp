#include "ocm/datapath/session_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <set>

#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using test::Harness;
using test::kPoolNet;

class SessionTableTest : public ::testing::Test {
 protected:
  Harness h_{16};
  SessionTable& t_ = h_.table;
};

TEST_F(SessionTableTest, AttachCstpRoutesTheLease) {
  ASSERT_TRUE(t_.attach_cstp(3, kPoolNet + 10));
  EXPECT_EQ(t_.state(3), SessionState::kCstpOnly);
  EXPECT_EQ(t_.route(kPoolNet + 10), 3u);
  EXPECT_EQ(t_.route(kPoolNet + 11), kNoSlot);
  EXPECT_EQ(t_.in_use(), 1u);
  // Re-attaching with another lease moves the route.
  ASSERT_TRUE(t_.attach_cstp(3, kPoolNet + 11));
  EXPECT_EQ(t_.route(kPoolNet + 10), kNoSlot);
  EXPECT_EQ(t_.route(kPoolNet + 11), 3u);
  EXPECT_EQ(t_.in_use(), 1u);
}

struct AttachErrorCase {
  const char* name;
  uint32_t slot;
  uint32_t lease;
};

class SessionTableAttachErrorTest : public ::testing::TestWithParam<AttachErrorCase> {};

TEST_P(SessionTableAttachErrorTest, Rejected) {
  Harness h(16);
  ASSERT_TRUE(h.table.attach_cstp(0, kPoolNet + 5));
  const AttachErrorCase& c = GetParam();
  EXPECT_FALSE(h.table.attach_cstp(c.slot, c.lease));
  EXPECT_EQ(h.table.in_use(), 1u);
  EXPECT_EQ(h.table.route(kPoolNet + 5), 0u);
}

INSTANTIATE_TEST_SUITE_P(Cases, SessionTableAttachErrorTest,
                         ::testing::Values(AttachErrorCase{"slot_out_of_range", 16, kPoolNet + 6},
                                           AttachErrorCase{"lease_below_pool", 1, kPoolNet - 1},
                                           AttachErrorCase{"lease_above_pool", 1, kPoolNet + 0x10000},
                                           AttachErrorCase{"lease_of_another_slot", 1, kPoolNet + 5}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(SessionTableTest, ActivateInstallsEverything) {
  auto keys = h_.activate(2, crypto::AeadAlgo::kAes256Gcm, 3, 1000);
  const DtlsSession& s = t_.session(2);
  EXPECT_EQ(s.state, SessionState::kDtlsActive);
  EXPECT_EQ(s.epoch, 3);
  EXPECT_EQ(s.tx_seq, 1000u);
  EXPECT_EQ(s.lease, Harness::lease_of(2));
  EXPECT_TRUE(s.rx_key.valid());
  EXPECT_EQ(s.rx_key.algo(), crypto::AeadAlgo::kAes256Gcm);
  EXPECT_EQ(t_.lookup_peer(Harness::peer_of(2)), 2u);
  EXPECT_EQ(t_.lookup_roaming(Harness::peer_of(2).addr), 2u);
  EXPECT_EQ(t_.route(Harness::lease_of(2)), 2u);
  EXPECT_EQ(t_.last_rx_ns(2), 0u);
}

TEST_F(SessionTableTest, ActivateRejectsBadArguments) {
  auto keys = test::make_client_keys(*h_.engine, crypto::AeadAlgo::kAes128Gcm, 1);
  auto other = test::make_client_keys(*h_.engine, crypto::AeadAlgo::kChaCha20Poly1305, 2);
  Peer peer = Peer::v4(0x01020304, 5);
  EXPECT_FALSE(t_.activate(0, kPoolNet + 2, peer, crypto::AeadKey{}, keys.s2c, 1, 1)) << "invalid key";
  EXPECT_FALSE(t_.activate(0, kPoolNet + 2, peer, keys.c2s, other.s2c, 1, 1)) << "mixed algorithms";
  EXPECT_FALSE(t_.activate(0, kPoolNet + 2, peer, keys.c2s, keys.s2c, 1, kMaxDtlsSeq + 1)) << "seq";
  EXPECT_FALSE(t_.activate(99, kPoolNet + 2, peer, keys.c2s, keys.s2c, 1, 1)) << "slot";
  EXPECT_FALSE(t_.activate(0, 1, peer, keys.c2s, keys.s2c, 1, 1)) << "lease";
  EXPECT_EQ(t_.in_use(), 0u);
  EXPECT_EQ(t_.lookup_peer(peer), kNoSlot);
}

TEST_F(SessionTableTest, SharedIpIsAmbiguousUntilOneLeaves) {
  Peer a = Peer::v4(0x0B000001, 1000);
  Peer b = Peer::v4(0x0B000001, 2000);
  h_.activate_with(0, kPoolNet + 2, a, crypto::AeadAlgo::kAes128Gcm, 1, 1);
  EXPECT_EQ(t_.lookup_roaming(a.addr), 0u);
  h_.activate_with(1, kPoolNet + 3, b, crypto::AeadAlgo::kAes128Gcm, 1, 1);
  EXPECT_EQ(t_.lookup_roaming(a.addr), kAmbiguousSlot);
  t_.release(0);
  EXPECT_EQ(t_.lookup_roaming(a.addr), 1u);
  ASSERT_TRUE(t_.deactivate_dtls(1));
  EXPECT_EQ(t_.lookup_roaming(a.addr), kNoSlot);
}

TEST_F(SessionTableTest, NewestHandshakeStealsThePeer) {
  h_.activate(0);
  h_.activate_with(1, Harness::lease_of(1), Harness::peer_of(0), crypto::AeadAlgo::kAes128Gcm, 1, 1);
  EXPECT_EQ(t_.lookup_peer(Harness::peer_of(0)), 1u);
  EXPECT_EQ(t_.state(0), SessionState::kDtlsInactive);
  EXPECT_FALSE(t_.session(0).has_peer);
  EXPECT_TRUE(t_.session(0).rx_key.valid()) << "keys stay";
  EXPECT_EQ(t_.lookup_roaming(Harness::peer_of(0).addr), 1u);
  // The old session may get a peer again through the slow path.
  ASSERT_TRUE(t_.set_peer(0, Peer::v4(0x0C000001, 9)));
  EXPECT_EQ(t_.lookup_peer(Peer::v4(0x0C000001, 9)), 0u);
}

TEST_F(SessionTableTest, SetPeerMovesIndexes) {
  h_.activate(4);
  Peer moved = Peer::v4(0x0D000001, 7);
  ASSERT_TRUE(t_.set_peer(4, moved));
  EXPECT_EQ(t_.lookup_peer(Harness::peer_of(4)), kNoSlot);
  EXPECT_EQ(t_.lookup_roaming(Harness::peer_of(4).addr), kNoSlot);
  EXPECT_EQ(t_.lookup_peer(moved), 4u);
  EXPECT_EQ(t_.lookup_roaming(moved.addr), 4u);
  ASSERT_TRUE(t_.set_peer(4, moved)) << "idempotent";
  ASSERT_TRUE(t_.attach_cstp(5, kPoolNet + 100));
  EXPECT_FALSE(t_.set_peer(5, moved)) << "needs keys";
}

TEST_F(SessionTableTest, InactiveThenDeactivated) {
  h_.activate(1);
  EXPECT_FALSE(t_.mark_dtls_inactive(2)) << "free slot has no keys";
  ASSERT_TRUE(t_.mark_dtls_inactive(1));
  EXPECT_EQ(t_.state(1), SessionState::kDtlsInactive);
  EXPECT_EQ(t_.lookup_peer(Harness::peer_of(1)), 1u) << "still reachable: a record re-activates it";
  ASSERT_TRUE(t_.deactivate_dtls(1));
  EXPECT_EQ(t_.state(1), SessionState::kCstpOnly);
  EXPECT_FALSE(t_.session(1).rx_key.valid());
  EXPECT_FALSE(t_.session(1).tx_key.valid());
  EXPECT_EQ(t_.lookup_peer(Harness::peer_of(1)), kNoSlot);
  EXPECT_EQ(t_.route(Harness::lease_of(1)), 1u) << "CSTP still carries the lease";
  ASSERT_TRUE(t_.deactivate_dtls(1)) << "no-op without keys";
  EXPECT_FALSE(t_.deactivate_dtls(2)) << "free slot";
  EXPECT_FALSE(t_.mark_dtls_inactive(1));
}

TEST_F(SessionTableTest, AttachCstpDropsKeys) {
  h_.activate(1);
  ASSERT_TRUE(t_.attach_cstp(1, Harness::lease_of(1)));
  EXPECT_EQ(t_.state(1), SessionState::kCstpOnly);
  EXPECT_FALSE(t_.session(1).rx_key.valid());
  EXPECT_EQ(t_.lookup_peer(Harness::peer_of(1)), kNoSlot);
}

TEST_F(SessionTableTest, ReleaseForgetsEverything) {
  h_.activate(6);
  t_.at(6).counters.rx_packets = 5;
  t_.release(6);
  EXPECT_EQ(t_.state(6), SessionState::kFree);
  EXPECT_EQ(t_.in_use(), 0u);
  EXPECT_EQ(t_.route(Harness::lease_of(6)), kNoSlot);
  EXPECT_EQ(t_.lookup_peer(Harness::peer_of(6)), kNoSlot);
  EXPECT_FALSE(t_.session(6).rx_key.valid());
  EXPECT_EQ(t_.session(6).counters.rx_packets, 0u);
  t_.release(6);     // no-op
  t_.release(1000);  // no-op
  EXPECT_EQ(t_.in_use(), 0u);
  ASSERT_TRUE(t_.attach_cstp(7, Harness::lease_of(6))) << "lease reusable";
}

// DTLS compression is per session: set on a used slot, kept across DTLS (re)activation of that
// slot, gone with release() and not inherited by the slot's next session.
TEST_F(SessionTableTest, CompressionIsPerSessionAndClearedWithTheSlot) {
  EXPECT_FALSE(t_.set_compression(2, proto::Compression::kLz4, 256)) << "free slot";
  EXPECT_FALSE(t_.set_compression(1000, proto::Compression::kLz4, 256)) << "no such slot";
  ASSERT_TRUE(t_.attach_cstp(2, Harness::lease_of(2)));
  EXPECT_EQ(t_.session(2).compression, proto::Compression::kNone);
  EXPECT_FALSE(t_.set_compression(2, static_cast<proto::Compression>(7), 256)) << "unknown algorithm";
  ASSERT_TRUE(t_.set_compression(2, proto::Compression::kLzs, 300));
  h_.activate(2);
  EXPECT_EQ(t_.session(2).compression, proto::Compression::kLzs);
  EXPECT_EQ(t_.session(2).compress_min_size, 300);
  ASSERT_TRUE(t_.set_compression(2, proto::Compression::kNone, 256));
  EXPECT_EQ(t_.session(2).compression, proto::Compression::kNone);
  ASSERT_TRUE(t_.set_compression(2, proto::Compression::kLz4, 256));
  t_.release(2);
  ASSERT_TRUE(t_.attach_cstp(2, Harness::lease_of(2)));
  EXPECT_EQ(t_.session(2).compression, proto::Compression::kNone);
}

// ---- IPv6 leases ---------------------------------------------------------------------------

TEST_F(SessionTableTest, Ipv6LeaseRoutesItsWholeSubnet) {
  ASSERT_TRUE(t_.attach_cstp(3, Harness::lease_of(3)));
  // Host bits in the given network are cleared: the lease is the subnet.
  ASSERT_TRUE(t_.attach_ipv6(3, Ipv6Subnet{test::v6addr(1, 3), 64}));
  EXPECT_EQ(t_.lease6(3), (Ipv6Subnet{test::v6addr(0, 3), 64}));
  EXPECT_EQ(t_.route6(test::v6addr(0x1234, 3).data()), 3u);
  EXPECT_EQ(t_.route6(test::v6addr(1, 4).data()), kNoSlot);
  EXPECT_EQ(t_.route(Harness::lease_of(3)), 3u) << "IPv4 route untouched";
  // Replacing the lease moves the route.
  ASSERT_TRUE(t_.attach_ipv6(3, Ipv6Subnet{test::v6addr(1, 5), 64}));
  EXPECT_EQ(t_.route6(test::v6addr(1, 3).data()), kNoSlot);
  EXPECT_EQ(t_.route6(test::v6addr(1, 5).data()), 3u);
  // An empty lease removes it (reconnect with --disable-ipv6).
  ASSERT_TRUE(t_.attach_ipv6(3, Ipv6Subnet{}));
  EXPECT_TRUE(t_.lease6(3).empty());
  EXPECT_EQ(t_.route6(test::v6addr(1, 5).data()), kNoSlot);
}

TEST_F(SessionTableTest, Ipv6LeaseErrors) {
  EXPECT_FALSE(t_.attach_ipv6(3, Ipv6Subnet{test::v6addr(5), 128})) << "free slot";
  EXPECT_FALSE(t_.attach_ipv6(1000, Ipv6Subnet{test::v6addr(5), 128})) << "no such slot";
  ASSERT_TRUE(t_.attach_cstp(3, Harness::lease_of(3)));
  ASSERT_TRUE(t_.attach_cstp(4, Harness::lease_of(4)));
  ASSERT_TRUE(t_.attach_ipv6(3, Ipv6Subnet{test::v6addr(5), 128}));
  EXPECT_FALSE(t_.attach_ipv6(4, Ipv6Subnet{test::v6addr(5), 128})) << "subnet of another slot";
  EXPECT_FALSE(t_.attach_ipv6(4, Ipv6Subnet{test::v6addr(6), 64})) << "other prefix length";
  EXPECT_FALSE(t_.attach_ipv6(4, Ipv6Subnet{test::v6addr(6), 129}));
  EXPECT_EQ(t_.route6(test::v6addr(5).data()), 3u) << "failed attaches changed nothing";
  ASSERT_TRUE(t_.attach_ipv6(4, Ipv6Subnet{test::v6addr(6), 128}));
  // Once no lease is left, another length is fine (the lookup masks with the current one).
  t_.release(3);
  t_.release(4);
  EXPECT_EQ(t_.route6(test::v6addr(5).data()), kNoSlot);
  ASSERT_TRUE(t_.attach_cstp(4, Harness::lease_of(4)));
  ASSERT_TRUE(t_.attach_ipv6(4, Ipv6Subnet{test::v6addr(0, 9), 64}));
  EXPECT_EQ(t_.route6(test::v6addr(77, 9).data()), 4u);
}

TEST_F(SessionTableTest, ReleaseForgetsTheIpv6Lease) {
  h_.activate(6);
  ASSERT_TRUE(t_.attach_ipv6(6, Ipv6Subnet{test::v6addr(8), 128}));
  t_.release(6);
  EXPECT_TRUE(t_.lease6(6).empty());
  EXPECT_EQ(t_.route6(test::v6addr(8).data()), kNoSlot);
  // A new session in the slot starts without one.
  ASSERT_TRUE(t_.attach_cstp(6, Harness::lease_of(6)));
  EXPECT_TRUE(t_.lease6(6).empty());
}

TEST_F(SessionTableTest, MovePeer) {
  h_.activate(0);
  h_.activate(1);
  Peer fresh = Peer::v4(0x0E000001, 1);
  EXPECT_FALSE(t_.move_peer(0, Harness::peer_of(0))) << "unchanged";
  EXPECT_FALSE(t_.move_peer(0, Harness::peer_of(1))) << "belongs to slot 1";
  EXPECT_TRUE(t_.move_peer(0, fresh));
  EXPECT_EQ(t_.lookup_peer(fresh), 0u);
  EXPECT_EQ(t_.lookup_peer(Harness::peer_of(0)), kNoSlot);
  ASSERT_TRUE(t_.attach_cstp(2, kPoolNet + 200));
  EXPECT_FALSE(t_.move_peer(2, Peer::v4(0x0E000002, 1))) << "no keys";
}

TEST_F(SessionTableTest, FindFreeSlotRotatesAndFills) {
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < 16; ++i) {
    uint32_t slot = t_.find_free_slot();
    ASSERT_NE(slot, kNoSlot);
    ASSERT_TRUE(t_.attach_cstp(slot, kPoolNet + 10 + i));
    seen.insert(slot);
  }
  EXPECT_EQ(seen.size(), 16u);
  EXPECT_EQ(t_.find_free_slot(), kNoSlot);
  t_.release(9);
  EXPECT_EQ(t_.find_free_slot(), 9u);
}

TEST(SessionTableDeathTest, InvalidConstruction) {
  EXPECT_DEATH(SessionTable(0, Ipv4Prefix{kPoolNet, 16}, 1), "invalid session table");
  EXPECT_DEATH(SessionTable(4, Ipv4Prefix{0, 4}, 1), "invalid session table");
}

// Differential test against a naive model (style.md rule 12): random slow-path operations,
// then every lookup compared with a linear scan of the model.
TEST(SessionTableDifferentialTest, RandomOperations) {
  constexpr uint32_t kSlots = 24;
  Harness h(kSlots);
  SessionTable& t = h.table;
  auto keys = test::make_client_keys(*h.engine, crypto::AeadAlgo::kAes128Gcm, 1);
  struct Model {
    SessionState state = SessionState::kFree;
    uint32_t lease = 0;
    std::optional<Peer> peer;
  };
  std::vector<Model> model(kSlots);
  std::mt19937 rng(7);
  // Few IPs and ports so that shared IPs, steals and collisions happen often.
  auto random_peer = [&] { return Peer::v4(0x0F000000 + rng() % 6, static_cast<uint16_t>(rng() % 4)); };
  auto random_lease = [&] { return kPoolNet + 2 + rng() % 40; };
  auto lease_owner = [&](uint32_t lease) -> uint32_t {
    for (uint32_t i = 0; i < kSlots; ++i) {
      if (model[i].state != SessionState::kFree && model[i].lease == lease) {
        return i;
      }
    }
    return kNoSlot;
  };
  auto steal = [&](uint32_t slot, const Peer& peer) {
    for (uint32_t i = 0; i < kSlots; ++i) {
      if (i != slot && model[i].peer == peer) {
        model[i].peer.reset();
        model[i].state = SessionState::kDtlsInactive;
      }
    }
  };
  auto has_keys = [](const Model& m) {
    return m.state == SessionState::kDtlsActive || m.state == SessionState::kDtlsInactive;
  };

  for (int op = 0; op < 20000; ++op) {
    uint32_t slot = rng() % kSlots;
    Model& m = model[slot];
    switch (rng() % 6) {
      case 0: {
        uint32_t lease = random_lease();
        uint32_t owner = lease_owner(lease);
        bool ok = owner == kNoSlot || owner == slot;
        ASSERT_EQ(static_cast<bool>(t.attach_cstp(slot, lease)), ok);
        if (ok) {
          m.state = SessionState::kCstpOnly;
          m.lease = lease;
          m.peer.reset();
        }
        break;
      }
      case 1: {
        uint32_t lease = random_lease();
        Peer peer = random_peer();
        uint32_t owner = lease_owner(lease);
        bool ok = owner == kNoSlot || owner == slot;
        ASSERT_EQ(static_cast<bool>(t.activate(slot, lease, peer, keys.c2s, keys.s2c, 1, 1)), ok);
        if (ok) {
          steal(slot, peer);
          m.state = SessionState::kDtlsActive;
          m.lease = lease;
          m.peer = peer;
        }
        break;
      }
      case 2: {
        Peer peer = random_peer();
        bool ok = has_keys(m);
        ASSERT_EQ(static_cast<bool>(t.set_peer(slot, peer)), ok);
        if (ok && m.peer != peer) {
          steal(slot, peer);
          m.peer = peer;
        }
        break;
      }
      case 3: {
        bool ok = m.state != SessionState::kFree;
        ASSERT_EQ(static_cast<bool>(t.deactivate_dtls(slot)), ok);
        if (ok && has_keys(m)) {
          m.state = SessionState::kCstpOnly;
          m.peer.reset();
        }
        break;
      }
      case 4: {
        bool ok = has_keys(m);
        ASSERT_EQ(static_cast<bool>(t.mark_dtls_inactive(slot)), ok);
        if (ok) {
          m.state = SessionState::kDtlsInactive;
        }
        break;
      }
      default:
        t.release(slot);
        m = Model{};
        break;
    }

    uint32_t in_use = 0;
    for (uint32_t i = 0; i < kSlots; ++i) {
      ASSERT_EQ(t.state(i), model[i].state) << "op " << op << " slot " << i;
      if (model[i].state != SessionState::kFree) {
        ++in_use;
        ASSERT_EQ(t.route(model[i].lease), i);
      }
      if (model[i].peer) {
        ASSERT_EQ(t.lookup_peer(*model[i].peer), i);
      }
    }
    ASSERT_EQ(t.in_use(), in_use);
    for (uint32_t ip = 0; ip < 6; ++ip) {
      IpAddr addr = IpAddr::v4(0x0F000000 + ip);
      uint32_t count = 0;
      uint32_t which = kNoSlot;
      for (uint32_t i = 0; i < kSlots; ++i) {
        if (model[i].peer && model[i].peer->addr == addr) {
          ++count;
          which = i;
        }
      }
      uint32_t expect = count == 0 ? kNoSlot : count == 1 ? which : kAmbiguousSlot;
      ASSERT_EQ(t.lookup_roaming(addr), expect) << "op " << op << " ip " << ip;
      for (uint16_t port = 0; port < 4; ++port) {
        Peer p = Peer::v4(0x0F000000 + ip, port);
        uint32_t owner = kNoSlot;
        for (uint32_t i = 0; i < kSlots; ++i) {
          if (model[i].peer == p) {
            owner = i;
          }
        }
        ASSERT_EQ(t.lookup_peer(p), owner);
      }
    }
    for (uint32_t lease = kPoolNet + 2; lease < kPoolNet + 42; ++lease) {
      ASSERT_EQ(t.route(lease), lease_owner(lease));
    }
  }
}

}  // namespace
}  // namespace ocm::datapath
