#include "ocm/session/ipv6_pool.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ocm::session {
namespace {

Ipv6Prefix prefix_of(const char* text) {
  auto p = parse_ipv6_prefix(text);
  EXPECT_TRUE(p.has_value()) << text;
  return p.value_or(Ipv6Prefix{});
}

Ipv6Addr addr_of(const char* text) {
  auto a = parse_ipv6(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(Ipv6Addr{});
}

std::string lease_text(const std::optional<Ipv6Lease>& lease) {
  return lease ? format_ipv6_prefix(lease->address, lease->prefix_length) : "none";
}

// Table: (network, subnet prefix, IPv4 pool index) -> announced lease.
struct LeaseCase {
  const char* network;
  uint8_t subnet;
  uint32_t index;
  const char* lease;
};

class Ipv6PoolLeaseTest : public ::testing::TestWithParam<LeaseCase> {};

INSTANTIATE_TEST_SUITE_P(
    Cases, Ipv6PoolLeaseTest,
    ::testing::Values(LeaseCase{"fd00:1::/64", 128, 5, "fd00:1::5/128"},
                      LeaseCase{"fd00:1::/64", 128, 0xfffe, "fd00:1::fffe/128"},
                      LeaseCase{"fd00:1::/64", 128, 0, "none"},  // the server's subnet
                      LeaseCase{"fd00:1::/48", 64, 2, "fd00:1:0:2::1/64"},
                      LeaseCase{"fd00:1::/48", 64, 0xffff, "fd00:1:0:ffff::1/64"},
                      LeaseCase{"fd00:1::/48", 64, 0x10000, "none"},  // beyond 2^16 subnets
                      LeaseCase{"fd00::/16", 128, 0xffffffff, "fd00::ffff:ffff/128"},
                      LeaseCase{"fd00:1::/112", 120, 3, "fd00:1::301/120"},
                      LeaseCase{"fd00:1::/120", 128, 255, "fd00:1::ff/128"},
                      LeaseCase{"fd00:1::/120", 128, 256, "none"},
                      LeaseCase{"2001:db8::/32", 96, 7, "2001:db8::7:0:1/96"}));

TEST_P(Ipv6PoolLeaseTest, LeaseForIndex) {
  const auto& c = GetParam();
  Ipv6Pool pool(prefix_of(c.network), c.subnet);
  auto lease = pool.lease_for_index(c.index);
  EXPECT_EQ(lease_text(lease), c.lease);
  if (lease) {
    // Every address of the subnet maps back to the index the lease was made for.
    EXPECT_EQ(pool.index_of(lease->address), c.index);
    EXPECT_EQ(pool.index_of(ipv6_masked(lease->address, lease->prefix_length)), c.index);
  }
}

TEST(Ipv6Pool, ServerAddressIsNetworkPlusOneInTheUnleasedSubnet) {
  Ipv6Pool pool(prefix_of("fd00:1::/48"), 64);
  EXPECT_EQ(format_ipv6(pool.server_address()), "fd00:1::1");
  EXPECT_EQ(pool.index_of(pool.server_address()), 0u);
}

TEST(Ipv6Pool, IndexOfOutsideTheNetwork) {
  Ipv6Pool pool(prefix_of("fd00:1::/64"), 128);
  EXPECT_FALSE(pool.index_of(addr_of("fd00:2::5")));
  EXPECT_FALSE(pool.index_of(addr_of("fe80::5")));
  // Inside the network, but the index needs more than 32 bits: no IPv4 lease can own it.
  EXPECT_FALSE(pool.index_of(addr_of("fd00:1::1:0:0:5")));
  EXPECT_EQ(pool.index_of(addr_of("fd00:1::ffff:ffff")), 0xffffffffu);
}

TEST(Ipv6Pool, DistinctIndicesGetDisjointSubnets) {
  Ipv6Pool pool(prefix_of("fd00:1::/56"), 64);
  for (uint32_t i = 1; i < 256; ++i) {
    auto lease = pool.lease_for_index(i);
    ASSERT_TRUE(lease) << i;
    for (uint32_t j : {i - 1, i + 1}) {
      EXPECT_NE(pool.index_of(lease->address), j);
    }
    EXPECT_TRUE(pool.network().contains(lease->address));
  }
}

}  // namespace
}  // namespace ocm::session
