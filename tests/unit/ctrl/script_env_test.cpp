#include "script_env.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace ocm::ctrl {
namespace {

std::map<std::string, std::string> as_map(const std::vector<std::string>& env) {
  std::map<std::string, std::string> out;
  for (const auto& e : env) {
    auto eq = e.find('=');
    EXPECT_NE(eq, std::string::npos) << e;
    EXPECT_TRUE(out.emplace(e.substr(0, eq), e.substr(eq + 1)).second) << "duplicate " << e;
  }
  return out;
}

ScriptEnv sample(const char* reason) {
  ScriptEnv env;
  env.reason = reason;
  env.username = "alice";
  env.groupname = "staff";
  env.hostname = "laptop";
  env.device = "vpns";
  env.ip_real = "10.99.0.2";
  env.ip_real_local = "10.99.0.1";
  env.ip_local = "192.168.99.1";
  env.ip_remote = "192.168.99.50";
  env.user_agent = "Open AnyConnect VPN Agent v9.01";
  env.id = 7;
  return env;
}

struct EnvCase {
  const char* name;
  ScriptEnv env;
  std::map<std::string, std::string> expected;  // every variable, exactly
};

class ScriptEnvTest : public ::testing::TestWithParam<EnvCase> {};

TEST_P(ScriptEnvTest, BuildsExactlyTheExpectedVariables) {
  EXPECT_EQ(as_map(script_environment(GetParam().env)), GetParam().expected);
}

std::map<std::string, std::string> base(const char* reason) {
  return {{"PATH", std::string(kScriptPath)},
          {"REASON", reason},
          {"USERNAME", "alice"},
          {"GROUPNAME", "staff"},
          {"HOSTNAME", "laptop"},
          {"DEVICE", "vpns"},
          {"IP_REAL", "10.99.0.2"},
          {"IP_REAL_LOCAL", "10.99.0.1"},
          {"IP_LOCAL", "192.168.99.1"},
          {"IP_REMOTE", "192.168.99.50"},
          {"ID", "7"},
          {"USER_AGENT", "Open AnyConnect VPN Agent v9.01"}};
}

EnvCase connect_case() { return {"Connect", sample("connect"), base("connect")}; }

EnvCase disconnect_case() {
  EnvCase c{"DisconnectHasStats", sample("disconnect"), base("disconnect")};
  c.env.stats = ScriptStats{1234, 5678, 90};
  c.expected["STATS_BYTES_IN"] = "1234";
  c.expected["STATS_BYTES_OUT"] = "5678";
  c.expected["STATS_DURATION"] = "90";
  return c;
}

EnvCase empty_fields_case() {
  EnvCase c{"EmptyFieldsStayPresent", sample("connect"), base("connect")};
  c.env.groupname.clear();
  c.env.hostname.clear();
  c.env.user_agent.clear();
  c.expected["GROUPNAME"] = "";
  c.expected["HOSTNAME"] = "";
  c.expected["USER_AGENT"] = "";
  return c;
}

EnvCase control_chars_case() {
  EnvCase c{"ClientTextLosesControlCharacters", sample("connect"), base("connect")};
  c.env.user_agent = std::string("evil\nREASON=x\r\t", 15) + std::string(1, '\0') + "end\x7f";
  c.env.hostname = "h\x1b[31m";
  c.expected["USER_AGENT"] = "evil?REASON=x???end?";
  c.expected["HOSTNAME"] = "h?[31m";
  return c;
}

EnvCase utf8_case() {
  EnvCase c{"Utf8IsKept", sample("connect"), base("connect")};
  c.env.username = "j\xc3\xb6rg";
  c.expected["USERNAME"] = "j\xc3\xb6rg";
  return c;
}

EnvCase zero_stats_case() {
  EnvCase c{"ZeroStats", sample("disconnect"), base("disconnect")};
  c.env.stats = ScriptStats{};
  c.expected["STATS_BYTES_IN"] = "0";
  c.expected["STATS_BYTES_OUT"] = "0";
  c.expected["STATS_DURATION"] = "0";
  return c;
}

EnvCase ipv6_case() {
  EnvCase c{"Ipv6LeaseAddsOcservIpv6Variables", sample("connect"), base("connect")};
  c.env.ipv6_local = "fd00:1::1";
  c.env.ipv6_remote = "fd00:1::b:0:0:0";
  c.env.ipv6_prefix = "fd00:1:0:b::/64";
  c.expected["IPV6_LOCAL"] = "fd00:1::1";
  c.expected["IPV6_REMOTE"] = "fd00:1::b:0:0:0";
  c.expected["IPV6_PREFIX"] = "fd00:1:0:b::/64";
  return c;
}

INSTANTIATE_TEST_SUITE_P(Cases, ScriptEnvTest,
                         ::testing::Values(connect_case(), disconnect_case(), empty_fields_case(), control_chars_case(),
                                           utf8_case(), zero_stats_case(), ipv6_case()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ScriptEnv, PathComesFirstAndOrderIsStable) {
  auto env = script_environment(sample("connect"));
  ASSERT_FALSE(env.empty());
  EXPECT_EQ(env.front(), "PATH=" + std::string(kScriptPath));
  EXPECT_EQ(env, script_environment(sample("connect")));
}

}  // namespace
}  // namespace ocm::ctrl
