#include "ocm/config/user_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace ocm::config {
namespace {

using ::testing::HasSubstr;

UserConfig parse_ok(std::string_view text) {
  auto parsed = parse_user_config(text, "users/alice");
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message);
  return parsed ? std::move(parsed).value() : UserConfig{};
}

TEST(UserConfig, ParsesEverySupportedKey) {
  auto c = parse_ok(
      "# ocserv per-user file\n"
      "route = 10.10.0.0/255.255.0.0\n"
      "route = 10.20.0.0/16\n"
      "no-route = 10.10.5.0/255.255.255.0\n"
      "dns = 10.10.0.53\n"
      "ipv4-dns = 10.10.0.54\n"
      "split-dns = corp.example.com\n"
      "explicit-ipv4 = 192.168.100.200\n"
      "rx-data-per-sec = 40000\n"
      "tx-data-per-sec = \"80000\"\n"
      "idle-timeout = 1200\n"
      "session-timeout=86400\n");
  ASSERT_TRUE(c.routes);
  ASSERT_EQ(c.routes->size(), 2u);
  EXPECT_EQ((*c.routes)[0], (Ipv4Prefix{0x0A0A0000, 16}));
  EXPECT_EQ((*c.routes)[1], (Ipv4Prefix{0x0A140000, 16}));
  EXPECT_FALSE(c.default_route);
  ASSERT_TRUE(c.no_routes);
  EXPECT_EQ((*c.no_routes)[0], (Ipv4Prefix{0x0A0A0500, 24}));
  EXPECT_EQ(c.dns, (std::vector<uint32_t>{0x0A0A0035, 0x0A0A0036}));
  EXPECT_EQ(c.split_dns, (std::vector<std::string>{"corp.example.com"}));
  EXPECT_EQ(c.explicit_ipv4, 0xC0A864C8u);
  EXPECT_EQ(c.rx_rate_limit, 40000u);
  EXPECT_EQ(c.tx_rate_limit, 80000u);
  EXPECT_EQ(c.idle_timeout, std::chrono::seconds(1200));
  EXPECT_EQ(c.session_timeout, std::chrono::seconds(86400));
}

TEST(UserConfig, DefaultRouteAndEmptyFile) {
  auto c = parse_ok("route = default\n");
  ASSERT_TRUE(c.routes);
  EXPECT_TRUE(c.routes->empty());
  EXPECT_TRUE(c.default_route);
  auto empty = parse_ok("\n# nothing\n   \n");
  EXPECT_FALSE(empty.routes);
  EXPECT_FALSE(empty.dns);
  EXPECT_FALSE(empty.rx_rate_limit);
}

struct BadFile {
  const char* text;
  const char* expected;  // substring of "users/alice:LINE: KEY: message"
};

class UserConfigErrors : public ::testing::TestWithParam<BadFile> {};

TEST_P(UserConfigErrors, NameFileLineAndKey) {
  auto parsed = parse_user_config(GetParam().text, "users/alice");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, UserConfigErrors,
    ::testing::Values(BadFile{"route = 10.0.0.0/8\nroute = 10.1.2.3/16\n", "users/alice:2: route: expected a route"},
                      BadFile{"route = 10.0.0.0/255.0.255.0\n", "users/alice:1: route: expected a route"},
                      BadFile{"no-route = default\n", "users/alice:1: no-route: expected a route"},
                      BadFile{"dns = 2001:db8::1\n", "users/alice:1: dns: expected an IPv4 address"},
                      BadFile{"split-dns = bad..domain\n", "users/alice:1: split-dns: 'bad..domain' is not a valid"},
                      BadFile{"explicit-ipv4 = 10.0.0\n", "users/alice:1: explicit-ipv4: expected an IPv4"},
                      BadFile{"rx-data-per-sec = -5\n", "users/alice:1: rx-data-per-sec: expected bytes per second"},
                      BadFile{"tx-data-per-sec = 1250000001\n", "users/alice:1: tx-data-per-sec"},
                      BadFile{"idle-timeout = soon\n", "users/alice:1: idle-timeout: expected seconds"},
                      BadFile{"\n\nsession-timeout = 99999999999\n", "users/alice:3: session-timeout"},
                      BadFile{"restrict-user-to-ports = \"tpc(443)\"\n",
                              "users/alice:1: restrict-user-to-ports: unknown protocol 'tpc'"},
                      BadFile{"restrict-user-to-ports = tcp(70000)\n",
                              "users/alice:1: restrict-user-to-ports: port 70000 out of range"},
                      BadFile{"iroute = 10.0.0.0/8\n", "users/alice:1: iroute: ocserv key not supported"},
                      BadFile{"restrict-user-to-routes = yes\n",
                              "users/alice:1: restrict-user-to-routes: expected true or false, got 'yes'"},
                      BadFile{"deny-roaming = 1\n", "users/alice:1: deny-roaming: expected true or false, got '1'"},
                      BadFile{"rout = 10.0.0.0/8\n", "users/alice:1: rout: unknown key"},
                      BadFile{"just words\n", "users/alice:1: expected 'key = value'"},
                      BadFile{"dns =\n", "users/alice:1: dns: missing value"},
                      BadFile{"split-dns = a\x01.com\n", "users/alice:1: control character"}));

TEST(UserConfig, DenyRoamingOverridesPerUser) {
  auto on = parse_user_config("deny-roaming = true\n", "groups/staff");
  ASSERT_TRUE(on) << on.error().message;
  EXPECT_EQ(on->deny_roaming, std::optional<bool>(true));
  auto off = parse_user_config("deny-roaming = false\n", "users/alice");
  ASSERT_TRUE(off) << off.error().message;
  UserConfig merged = *on;
  merge_user_config(merged, *off);
  EXPECT_EQ(merged.deny_roaming, std::optional<bool>(false));
  merge_user_config(merged, UserConfig{});
  EXPECT_EQ(merged.deny_roaming, std::optional<bool>(false));  // unset keeps the group's value
}

TEST(UserConfig, RestrictUserToRoutes) {
  auto on = parse_user_config("restrict-user-to-routes = true\n", "users/alice");
  ASSERT_TRUE(on) << on.error().message;
  EXPECT_EQ(on->restrict_to_routes, std::optional<bool>(true));
  auto off = parse_user_config("restrict-user-to-routes = false\n", "users/alice");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_EQ(off->restrict_to_routes, std::optional<bool>(false));
  auto unset = parse_user_config("route = 10.0.0.0/8\n", "users/alice");
  ASSERT_TRUE(unset);
  EXPECT_FALSE(unset->restrict_to_routes.has_value());
  // The user's own file wins over its group's, in both directions.
  UserConfig group = *on;
  merge_user_config(group, *off);
  EXPECT_EQ(group.restrict_to_routes, std::optional<bool>(false));
  UserConfig keep = *on;
  merge_user_config(keep, *unset);
  EXPECT_EQ(keep.restrict_to_routes, std::optional<bool>(true));
}

TEST(UserConfig, RestrictUserToPorts) {
  auto group = parse_ok("restrict-user-to-ports = \"tcp(443), tcp(80), udp(443), sctp(99), icmp(), icmpv6()\"\n");
  ASSERT_TRUE(group.restrict_to_ports);
  EXPECT_FALSE(group.restrict_to_ports->negate);
  EXPECT_EQ(group.restrict_to_ports->rules,
            (std::vector<PortRule>{{6, 443}, {6, 80}, {17, 443}, {132, 99}, {1, 0}, {58, 0}}));
  auto user = parse_ok("restrict-user-to-ports = \"!(tcp(25))\"\n");
  ASSERT_TRUE(user.restrict_to_ports);
  EXPECT_TRUE(user.restrict_to_ports->negate);
  EXPECT_FALSE(parse_ok("route = 10.0.0.0/8\n").restrict_to_ports.has_value());
  // The user's list replaces its group's; a file without the key keeps the group's.
  UserConfig merged = group;
  merge_user_config(merged, user);
  EXPECT_EQ(merged.restrict_to_ports, user.restrict_to_ports);
  merged = group;
  merge_user_config(merged, UserConfig{});
  EXPECT_EQ(merged.restrict_to_ports, group.restrict_to_ports);
}

TEST(UserConfig, MergeUserOverGroupKeyByKey) {
  auto group = parse_ok("route = 10.0.0.0/8\ndns = 10.0.0.53\nrx-data-per-sec = 100\n");
  auto user = parse_ok("route = default\nrx-data-per-sec = 200\n");
  merge_user_config(group, user);
  EXPECT_TRUE(group.default_route);
  EXPECT_TRUE(group.routes->empty());                       // replaced, not appended
  EXPECT_EQ(group.dns, (std::vector<uint32_t>{0x0A000035}));  // kept from the group
  EXPECT_EQ(group.rx_rate_limit, 200u);
}

TEST(UserConfig, FileNamesCannotLeaveTheDirectory) {
  EXPECT_TRUE(safe_config_file_name("alice"));
  EXPECT_TRUE(safe_config_file_name("alice@example.com"));
  EXPECT_FALSE(safe_config_file_name(""));
  EXPECT_FALSE(safe_config_file_name(".."));
  EXPECT_FALSE(safe_config_file_name(".hidden"));
  EXPECT_FALSE(safe_config_file_name("../etc/passwd"));
  EXPECT_FALSE(safe_config_file_name("a/b"));
  EXPECT_FALSE(safe_config_file_name(std::string_view("a\0b", 3)));
  EXPECT_FALSE(safe_config_file_name("a\nb"));
}

TEST(UserConfig, LoadMissingIsNoneBrokenIsError) {
  auto dir = std::filesystem::temp_directory_path() / ("ocm-user-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "alice") << "route = 10.1.0.0/16\n";
    std::ofstream(dir / "bob") << "route = 10.1.0.0/16\nmtu = 1300\n";
  }
  auto alice = load_user_config(dir.string(), "alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(alice->has_value());
  EXPECT_EQ((**alice).routes->size(), 1u);
  auto nobody = load_user_config(dir.string(), "nobody");
  ASSERT_TRUE(nobody);
  EXPECT_FALSE(nobody->has_value());
  auto bob = load_user_config(dir.string(), "bob");
  ASSERT_FALSE(bob);
  EXPECT_THAT(bob.error().message, HasSubstr((dir / "bob").string() + ":2: mtu:"));
  auto evil = load_user_config(dir.string(), "../bob");
  ASSERT_FALSE(evil);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ocm::config
