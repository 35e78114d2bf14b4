#include "ocm/session/ip_pool.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

namespace ocm::session {
namespace {

Ipv4Prefix prefix_of(const char* text) {
  auto p = parse_ipv4_prefix(text);
  EXPECT_TRUE(p.has_value()) << text;
  return p.value_or(Ipv4Prefix{});
}

uint32_t addr_of(const char* text) {
  auto a = parse_ipv4(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(0);
}

TEST(Ipv4Pool, SizesAndIndices) {
  Ipv4Pool pool(prefix_of("192.168.99.0/24"));
  EXPECT_EQ(pool.capacity(), 253u);
  EXPECT_EQ(pool.index_count(), 256u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.server_address(), addr_of("192.168.99.1"));
  EXPECT_EQ(pool.index_of(addr_of("192.168.99.0")), 0u);
  EXPECT_EQ(pool.index_of(addr_of("192.168.99.77")), 77u);
  EXPECT_EQ(pool.index_of(addr_of("192.168.99.255")), 255u);
  EXPECT_FALSE(pool.index_of(addr_of("192.168.100.0")).has_value());
  EXPECT_FALSE(pool.index_of(addr_of("192.168.98.255")).has_value());

  EXPECT_EQ(Ipv4Pool(prefix_of("10.0.0.0/29")).capacity(), 5u);
  EXPECT_EQ(Ipv4Pool(prefix_of("10.0.0.0/30")).capacity(), 1u);
  EXPECT_EQ(Ipv4Pool(prefix_of("10.0.0.0/16")).capacity(), 65533u);
  EXPECT_EQ(Ipv4Pool(prefix_of("10.0.0.0/8")).capacity(), (1u << 24) - 3);
}

TEST(Ipv4Pool, ExhaustsSlash29) {
  Ipv4Pool pool(prefix_of("10.1.2.8/29"));
  std::set<uint32_t> got;
  for (int i = 0; i < 5; ++i) {
    auto a = pool.lease(i % 2 == 0 ? "user" + std::to_string(i) : "");
    ASSERT_TRUE(a.has_value()) << i;
    EXPECT_TRUE(got.insert(*a).second);
    EXPECT_GE(*a, addr_of("10.1.2.10"));
    EXPECT_LE(*a, addr_of("10.1.2.14"));
    EXPECT_TRUE(pool.is_leased(*a));
  }
  EXPECT_EQ(pool.in_use(), 5u);
  EXPECT_FALSE(pool.lease().has_value());
  EXPECT_FALSE(pool.lease("someone").has_value());
  EXPECT_FALSE(pool.is_leased(addr_of("10.1.2.8")));
  EXPECT_FALSE(pool.is_leased(addr_of("10.1.2.9")));
  EXPECT_FALSE(pool.is_leased(addr_of("10.1.2.15")));

  ASSERT_TRUE(pool.release(addr_of("10.1.2.12")));
  EXPECT_EQ(pool.lease(), addr_of("10.1.2.12"));
  EXPECT_FALSE(pool.lease().has_value());
}

TEST(Ipv4Pool, Slash30HasOneAddress) {
  Ipv4Pool pool(prefix_of("10.0.0.4/30"));
  EXPECT_EQ(pool.lease("alice"), addr_of("10.0.0.6"));
  EXPECT_FALSE(pool.lease("bob").has_value());
}

TEST(Ipv4Pool, SameNameGetsSameAddressBack) {
  Ipv4Pool pool(prefix_of("192.168.99.0/24"));
  auto alice = pool.lease("alice");
  auto bob = pool.lease("bob");
  ASSERT_TRUE(alice && bob);
  EXPECT_NE(*alice, *bob);
  ASSERT_TRUE(pool.release(*alice));
  // Other users logging in meanwhile get their own seeded addresses.
  for (const char* other : {"carol", "dave", "erin"}) {
    auto a = pool.lease(other);
    ASSERT_TRUE(a.has_value());
    ASSERT_NE(a, alice) << other;
  }
  EXPECT_EQ(pool.lease("alice"), alice);

  // Another pool (a restarted server) maps the name the same way.
  Ipv4Pool fresh(prefix_of("192.168.99.0/24"));
  EXPECT_EQ(fresh.lease("alice"), alice);
  EXPECT_EQ(fresh.lease("bob"), bob);
}

// Pins the name -> address mapping: changing the hash would move every user's address after an
// upgrade, which clients reconnecting across it notice. The values are simply what this
// implementation (FNV-1a + SplitMix64) produced when written; they differ from ocserv's.
TEST(Ipv4Pool, SeedMappingIsStable) {
  Ipv4Pool pool(prefix_of("192.168.99.0/24"));
  EXPECT_EQ(format_ipv4(pool.lease("alice").value_or(0)), "192.168.99.11");
  EXPECT_EQ(format_ipv4(pool.lease("bob").value_or(0)), "192.168.99.249");
}

TEST(Ipv4Pool, SeedCollisionFallsBackToScan) {
  Ipv4Pool pool(prefix_of("10.0.0.0/28"));  // 13 leasable
  std::set<uint32_t> got;
  for (int i = 0; i < 13; ++i) {
    auto a = pool.lease("same-user");
    ASSERT_TRUE(a.has_value()) << i;
    EXPECT_TRUE(got.insert(*a).second);
  }
  EXPECT_FALSE(pool.lease("same-user").has_value());
}

TEST(Ipv4Pool, UnseededLeasesScanFromRotatingCursor) {
  Ipv4Pool pool(prefix_of("10.0.0.0/29"));
  EXPECT_EQ(pool.lease(), addr_of("10.0.0.2"));
  EXPECT_EQ(pool.lease(), addr_of("10.0.0.3"));
  ASSERT_TRUE(pool.release(addr_of("10.0.0.2")));
  // The just-released address is reused last, not first.
  EXPECT_EQ(pool.lease(), addr_of("10.0.0.4"));
  EXPECT_EQ(pool.lease(), addr_of("10.0.0.5"));
  EXPECT_EQ(pool.lease(), addr_of("10.0.0.6"));
  EXPECT_EQ(pool.lease(), addr_of("10.0.0.2"));
  EXPECT_FALSE(pool.lease().has_value());
}

TEST(Ipv4Pool, LeaseExactEdges) {
  Ipv4Pool pool(prefix_of("172.16.0.0/24"));
  EXPECT_FALSE(pool.lease_exact(addr_of("172.16.0.0")));    // network
  EXPECT_FALSE(pool.lease_exact(addr_of("172.16.0.1")));    // server
  EXPECT_FALSE(pool.lease_exact(addr_of("172.16.0.255")));  // broadcast
  EXPECT_FALSE(pool.lease_exact(addr_of("172.16.1.5")));    // outside
  EXPECT_FALSE(pool.lease_exact(addr_of("172.15.255.255")));
  EXPECT_FALSE(pool.lease_exact(0));
  EXPECT_FALSE(pool.lease_exact(0xffffffff));
  EXPECT_EQ(pool.in_use(), 0u);

  EXPECT_TRUE(pool.lease_exact(addr_of("172.16.0.2")));     // first leasable
  EXPECT_TRUE(pool.lease_exact(addr_of("172.16.0.254")));   // last leasable
  EXPECT_FALSE(pool.lease_exact(addr_of("172.16.0.254")));  // already taken
  EXPECT_EQ(pool.in_use(), 2u);
  ASSERT_TRUE(pool.release(addr_of("172.16.0.254")));
  EXPECT_TRUE(pool.lease_exact(addr_of("172.16.0.254")));

  // A seeded or scanned lease never hands out an exactly-leased address.
  for (size_t i = 0; i < pool.capacity() - 2; ++i) {
    auto a = pool.lease("u" + std::to_string(i));
    ASSERT_TRUE(a.has_value());
    EXPECT_NE(*a, addr_of("172.16.0.2"));
    EXPECT_NE(*a, addr_of("172.16.0.254"));
  }
  EXPECT_FALSE(pool.lease().has_value());
}

TEST(Ipv4Pool, ReleaseRejectsWhatIsNotLeased) {
  Ipv4Pool pool(prefix_of("172.16.0.0/24"));
  const uint32_t a = pool.lease().value();
  EXPECT_FALSE(pool.release(a + 1));                    // never leased
  EXPECT_FALSE(pool.release(addr_of("172.16.0.0")));    // network
  EXPECT_FALSE(pool.release(addr_of("172.16.0.1")));    // server
  EXPECT_FALSE(pool.release(addr_of("172.16.0.255")));  // broadcast
  EXPECT_FALSE(pool.release(addr_of("10.0.0.2")));      // outside
  EXPECT_TRUE(pool.release(a));
  EXPECT_FALSE(pool.release(a));  // double free
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_FALSE(pool.is_leased(a));
  EXPECT_FALSE(pool.is_leased(addr_of("10.0.0.2")));
}

// Naive model: a set of leased addresses and the rule for which addresses may be leased.
struct ReferencePool {
  Ipv4Prefix prefix;
  std::set<uint32_t> leased;

  [[nodiscard]] bool leasable(uint32_t a) const {
    const uint32_t broadcast = prefix.network | ~prefix.netmask();
    return prefix.contains(a) && a != prefix.network && a != prefix.network + 1 && a != broadcast;
  }
  [[nodiscard]] size_t capacity() const { return (size_t{1} << (32 - prefix.length)) - 3; }
};

class Ipv4PoolDifferentialTest : public ::testing::TestWithParam<const char*> {};

INSTANTIATE_TEST_SUITE_P(Prefixes, Ipv4PoolDifferentialTest,
                         ::testing::Values("10.9.8.0/30", "10.9.8.0/29", "10.9.8.16/28", "192.168.0.0/24",
                                           "172.20.0.0/22"));

TEST_P(Ipv4PoolDifferentialTest, MatchesReference) {
  const Ipv4Prefix prefix = prefix_of(GetParam());
  Ipv4Pool pool(prefix);
  ReferencePool ref{prefix, {}};
  ASSERT_EQ(pool.capacity(), ref.capacity());

  std::mt19937 rng(12345);  // fixed: failures must reproduce
  const uint32_t span = 1u << (32 - prefix.length);
  // Addresses from just below the prefix to just above it, so edges and outsiders come up.
  auto random_addr = [&] { return prefix.network - 2 + static_cast<uint32_t>(rng() % (span + 4)); };
  auto random_leased = [&]() -> std::optional<uint32_t> {
    if (ref.leased.empty()) {
      return std::nullopt;
    }
    auto it = ref.leased.begin();
    std::advance(it, static_cast<long>(rng() % ref.leased.size()));
    return *it;
  };

  for (int step = 0; step < 20000; ++step) {
    const unsigned op = rng() % 10;
    if (op < 4) {
      // Seeds from a small set of names, so the same seed meets its own earlier lease.
      const std::string seed = rng() % 3 == 0 ? "" : "user" + std::to_string(rng() % 40);
      auto a = pool.lease(seed);
      if (ref.leased.size() == ref.capacity()) {
        ASSERT_FALSE(a.has_value()) << step;
      } else {
        ASSERT_TRUE(a.has_value()) << step;
        ASSERT_TRUE(ref.leasable(*a)) << step << " " << format_ipv4(*a);
        ASSERT_TRUE(ref.leased.insert(*a).second) << step << " " << format_ipv4(*a);
      }
    } else if (op < 5) {
      const uint32_t a = random_addr();
      const bool expect = ref.leasable(a) && ref.leased.count(a) == 0;
      ASSERT_EQ(pool.lease_exact(a), expect) << step << " " << format_ipv4(a);
      if (expect) {
        ref.leased.insert(a);
      }
    } else if (op < 8) {
      if (auto a = random_leased()) {
        ASSERT_TRUE(pool.release(*a)) << step;
        ref.leased.erase(*a);
      }
    } else {
      const uint32_t a = random_addr();
      ASSERT_EQ(pool.release(a), ref.leased.erase(a) == 1) << step << " " << format_ipv4(a);
    }
    ASSERT_EQ(pool.in_use(), ref.leased.size()) << step;
    if (step % 500 == 0) {
      for (uint32_t a = prefix.network - 2; a != prefix.network + span + 2; ++a) {
        ASSERT_EQ(pool.is_leased(a), ref.leased.count(a) == 1) << step << " " << format_ipv4(a);
      }
    }
  }
}

}  // namespace
}  // namespace ocm::session
