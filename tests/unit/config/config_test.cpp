#include "ocm/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ocm::config {
namespace {

using ::testing::HasSubstr;

// Names parameterised cases after their `name` field; a plain functor because gtest's macro already has a
// parameter called `info` that a lambda would shadow.
struct CaseName {
  template <typename Case>
  std::string operator()(const ::testing::TestParamInfo<Case>& param_info) const {
    return param_info.param.name;
  }
};

constexpr uint32_t kIp192_168_100_0 = 0xC0A86400;
constexpr uint32_t kIp10_0_0_0 = 0x0A000000;
constexpr uint32_t kIp1_1_1_1 = 0x01010101;

// Joins every error into one string so a failed expectation shows what the parser actually said.
std::string describe(const ParseResult& result) {
  std::string out;
  for (const auto& error : result.errors) {
    out += format_error("<test>", error) + "\n";
  }
  return out;
}

const Config& parse_ok(std::string_view text, ParseResult& holder) {
  holder = parse(text);
  EXPECT_TRUE(holder.errors.empty()) << describe(holder);
  if (!holder.config) {
    static const Config kEmpty;
    ADD_FAILURE() << "no config returned";
    return kEmpty;
  }
  return *holder.config;
}

void expect_same(const Config& got, const Config& want) {
  EXPECT_EQ(got.server.bind, want.server.bind);
  EXPECT_EQ(got.server.tcp_port, want.server.tcp_port);
  EXPECT_EQ(got.server.dtls_port, want.server.dtls_port);
  EXPECT_EQ(got.server.listen_backlog, want.server.listen_backlog);
  EXPECT_EQ(got.server.handshake_timeout.count(), want.server.handshake_timeout.count());
  EXPECT_EQ(got.server.request_timeout.count(), want.server.request_timeout.count());
  EXPECT_EQ(got.server.auth_timeout.count(), want.server.auth_timeout.count());
  EXPECT_EQ(got.server.max_requests_per_connection, want.server.max_requests_per_connection);
  EXPECT_EQ(got.server.server_name, want.server.server_name);
  EXPECT_EQ(got.server.banner, want.server.banner);
  EXPECT_EQ(got.server.pre_login_banner, want.server.pre_login_banner);
  EXPECT_EQ(got.crypto.cert_file, want.crypto.cert_file);
  EXPECT_EQ(got.crypto.key_file, want.crypto.key_file);
  EXPECT_EQ(got.crypto.min_tls_version, want.crypto.min_tls_version);
  EXPECT_EQ(got.auth.method, want.auth.method);
  EXPECT_EQ(got.auth.passwd_file, want.auth.passwd_file);
  EXPECT_EQ(got.auth.max_password_tries, want.auth.max_password_tries);
  EXPECT_EQ(got.network.device, want.network.device);
  EXPECT_EQ(got.network.ipv4_network, want.network.ipv4_network);
  EXPECT_EQ(got.network.routes, want.network.routes);
  EXPECT_EQ(got.network.default_route, want.network.default_route);
  EXPECT_EQ(got.network.dns_servers, want.network.dns_servers);
  EXPECT_EQ(got.network.ipv6_network, want.network.ipv6_network);
  EXPECT_EQ(got.network.ipv6_subnet_prefix, want.network.ipv6_subnet_prefix);
  EXPECT_EQ(got.network.routes6, want.network.routes6);
  EXPECT_EQ(got.network.dns_servers6, want.network.dns_servers6);
  EXPECT_EQ(got.network.split_dns, want.network.split_dns);
  EXPECT_EQ(got.network.default_domain, want.network.default_domain);
  EXPECT_EQ(got.network.mtu, want.network.mtu);
  EXPECT_EQ(got.security.max_ban_score, want.security.max_ban_score);
  EXPECT_EQ(got.security.ban_reset_time.count(), want.security.ban_reset_time.count());
  EXPECT_EQ(got.security.ban_time.count(), want.security.ban_time.count());
  EXPECT_EQ(got.security.ban_points_wrong_password, want.security.ban_points_wrong_password);
  EXPECT_EQ(got.security.ban_points_connection, want.security.ban_points_connection);
  EXPECT_EQ(got.security.ban_exempt, want.security.ban_exempt);
  EXPECT_EQ(got.session.session_timeout.count(), want.session.session_timeout.count());
  EXPECT_EQ(got.session.rx_rate_limit, want.session.rx_rate_limit);
  EXPECT_EQ(got.session.tx_rate_limit, want.session.tx_rate_limit);
  EXPECT_EQ(got.session.quota_bytes, want.session.quota_bytes);
  EXPECT_EQ(got.session.max_clients, want.session.max_clients);
  EXPECT_EQ(got.session.max_same_clients, want.session.max_same_clients);
  EXPECT_EQ(got.session.cookie_timeout.count(), want.session.cookie_timeout.count());
  EXPECT_EQ(got.session.dpd.count(), want.session.dpd.count());
  EXPECT_EQ(got.session.keepalive.count(), want.session.keepalive.count());
  EXPECT_EQ(got.session.idle_timeout.count(), want.session.idle_timeout.count());
  EXPECT_EQ(got.session.predictable_ips, want.session.predictable_ips);
  EXPECT_EQ(got.session.rekey_time.count(), want.session.rekey_time.count());
  EXPECT_EQ(got.session.rekey_method, want.session.rekey_method);
  EXPECT_EQ(got.session.persistent_cookies, want.session.persistent_cookies);
  EXPECT_EQ(got.session.deny_roaming, want.session.deny_roaming);
  EXPECT_EQ(got.datapath.driver, want.datapath.driver);
  EXPECT_EQ(got.session.connect_script, want.session.connect_script);
  EXPECT_EQ(got.session.disconnect_script, want.session.disconnect_script);
  EXPECT_EQ(got.session.script_timeout.count(), want.session.script_timeout.count());
  EXPECT_EQ(got.monitoring.log_level, want.monitoring.log_level);
  EXPECT_EQ(got.monitoring.control_socket, want.monitoring.control_socket);
  EXPECT_EQ(got.monitoring.enable_prometheus, want.monitoring.enable_prometheus);
  EXPECT_EQ(got.monitoring.stats_bind, want.monitoring.stats_bind);
  EXPECT_EQ(got.monitoring.stats_port, want.monitoring.stats_port);
  EXPECT_EQ(got.monitoring.per_user_metrics, want.monitoring.per_user_metrics);
  EXPECT_EQ(got.performance.tun_queues, want.performance.tun_queues);
}

// Every key set to something other than its default, so a key wired to the wrong field shows up.
constexpr const char* kFullConfig = R"(# a comment
[server]
bind = "127.0.0.1"
tcp_port = 8443
dtls_port = 8444
listen_backlog = 128
handshake_timeout = 5
request_timeout = 15
auth_timeout = 120
max_requests_per_connection = 16
server_name = "vpn.example.com"
banner = """
Welcome.
Be nice."""
pre_login_banner = "Authorised users only"

[crypto]
cert_file = "/tmp/c.crt"
key_file = "/tmp/c.key"
min_tls_version = "1.3"

[auth]
method = "plain"
passwd_file = "/tmp/passwd"
max_password_tries = 5

[network]
device = "tun-vpn0"
ipv4_network = "10.20.0.0/16"
ipv6_network = "fd00:20::/48"
ipv6_subnet_prefix = 64
routes = ["10.0.0.0/8", "default", "172.16.0.0/12", "fd00:aa::/64"]
dns_servers = ["1.1.1.1", "8.8.8.8", "fd00:20::53"]
split_dns = ["corp.example.com", "lab.internal"]
default_domain = "example.com"
mtu = 1300

[security]
max_ban_score = 80
ban_reset_time = 600
ban_time = 60
ban_points_wrong_password = 20
ban_points_connection = 2
ban_exempt = ["10.0.0.0/8", "192.0.2.7/32"]

[session]
max_clients = 1000
max_same_clients = 2
cookie_timeout = 600
dpd = 60
keepalive = 300
idle_timeout = 3600
session_timeout = 86400
rx_rate_limit = 125000
tx_rate_limit = 250000
quota_bytes = 10000000000
predictable_ips = false
connect_script = "/usr/local/bin/on-connect"
disconnect_script = "/usr/local/bin/on-disconnect"
script_timeout = 5
rekey_time = 3600
rekey_method = "new-tunnel"
persistent_cookies = true
deny_roaming = true

[datapath]
driver = "socket"

[monitoring]
log_level = "debug"
control_socket = "/tmp/ocm.sock"
enable_prometheus = true
stats_bind = "0.0.0.0"
stats_port = 9200
per_user_metrics = true

[performance]
tun_queues = 4
)";

TEST(ConfigParse, FullConfigSetsEveryField) {
  ParseResult holder;
  const Config& c = parse_ok(kFullConfig, holder);

  Config want;
  want.server.bind = "127.0.0.1";
  want.server.tcp_port = 8443;
  want.server.dtls_port = 8444;
  want.server.listen_backlog = 128;
  want.server.handshake_timeout = Seconds{5};
  want.server.request_timeout = Seconds{15};
  want.server.auth_timeout = Seconds{120};
  want.server.max_requests_per_connection = 16;
  want.server.server_name = "vpn.example.com";
  want.server.banner = "Welcome.\nBe nice.";
  want.server.pre_login_banner = "Authorised users only";
  want.crypto.cert_file = "/tmp/c.crt";
  want.crypto.key_file = "/tmp/c.key";
  want.crypto.min_tls_version = TlsVersion::kTls13;
  want.auth.passwd_file = "/tmp/passwd";
  want.auth.max_password_tries = 5;
  want.network.device = "tun-vpn0";
  want.network.ipv4_network = Ipv4Prefix{0x0A140000, 16};
  want.network.routes = {Ipv4Prefix{kIp10_0_0_0, 8}, Ipv4Prefix{0xAC100000, 12}};
  want.network.default_route = true;
  want.network.dns_servers = {kIp1_1_1_1, 0x08080808};
  want.network.ipv6_network = *parse_ipv6_prefix("fd00:20::/48");
  want.network.ipv6_subnet_prefix = 64;
  want.network.routes6 = {*parse_ipv6_prefix("fd00:aa::/64")};
  want.network.dns_servers6 = {*parse_ipv6("fd00:20::53")};
  want.network.split_dns = {"corp.example.com", "lab.internal"};
  want.network.default_domain = "example.com";
  want.network.mtu = 1300;
  want.security.max_ban_score = 80;
  want.security.ban_reset_time = Seconds{600};
  want.security.ban_time = Seconds{60};
  want.security.ban_points_wrong_password = 20;
  want.security.ban_points_connection = 2;
  want.security.ban_exempt = {Ipv4Prefix{kIp10_0_0_0, 8}, Ipv4Prefix{0xC0000207, 32}};
  want.session.session_timeout = Seconds{86400};
  want.session.rx_rate_limit = 125000;
  want.session.tx_rate_limit = 250000;
  want.session.quota_bytes = 10000000000ULL;
  want.session.max_clients = 1000;
  want.session.max_same_clients = 2;
  want.session.cookie_timeout = Seconds{600};
  want.session.dpd = Seconds{60};
  want.session.keepalive = Seconds{300};
  want.session.idle_timeout = Seconds{3600};
  want.session.predictable_ips = false;
  want.session.connect_script = "/usr/local/bin/on-connect";
  want.session.disconnect_script = "/usr/local/bin/on-disconnect";
  want.session.script_timeout = Seconds{5};
  want.session.rekey_time = Seconds{3600};
  want.session.rekey_method = RekeyMethod::kNewTunnel;
  want.session.persistent_cookies = true;
  want.session.deny_roaming = true;
  want.monitoring.log_level = log::Level::kDebug;
  want.monitoring.control_socket = "/tmp/ocm.sock";
  want.monitoring.enable_prometheus = true;
  want.monitoring.stats_bind = "0.0.0.0";
  want.monitoring.stats_port = 9200;
  want.monitoring.per_user_metrics = true;
  want.performance.tun_queues = 4;
  expect_same(c, want);
}

TEST(ConfigParse, EmptyDocumentGivesDefaults) {
  ParseResult holder;
  expect_same(parse_ok("", holder), Config{});
}

TEST(ConfigParse, EmptySectionsGiveDefaults) {
  ParseResult holder;
  const Config& c = parse_ok(
      "[server]\n[crypto]\n[auth]\n[network]\n[security]\n[session]\n[datapath]\n[monitoring]\n[performance]\n",
      holder);
  expect_same(c, Config{});
  // Spell out the defaults the acceptance tests rely on, not only "whatever Config{} says".
  EXPECT_EQ(c.server.bind, "0.0.0.0");
  EXPECT_EQ(c.server.tcp_port, 443);
  EXPECT_EQ(c.network.ipv4_network, (Ipv4Prefix{kIp192_168_100_0, 24}));
  EXPECT_TRUE(c.network.routes.empty());
  EXPECT_FALSE(c.network.default_route);
  EXPECT_EQ(c.datapath.driver, Driver::kSocket);
  EXPECT_EQ(c.monitoring.log_level, log::Level::kInfo);
  EXPECT_EQ(c.monitoring.control_socket, "/run/ocserv-modern/ocmctl.sock");
  EXPECT_FALSE(c.monitoring.enable_prometheus);
  EXPECT_EQ(c.monitoring.stats_bind, "127.0.0.1");
  EXPECT_EQ(c.monitoring.stats_port, 9100);
  EXPECT_FALSE(c.monitoring.per_user_metrics);
  EXPECT_TRUE(c.session.connect_script.empty());
  EXPECT_EQ(c.session.script_timeout.count(), 10);
}

TEST(ConfigParse, ShippedSampleParses) {
  const std::string path = std::string(OCM_SOURCE_ROOT) + "/config/ocserv-modern.toml";
  ParseResult result = parse_file(path);
  ASSERT_TRUE(result.errors.empty()) << describe(result);
  ASSERT_NE(result.config, nullptr);

  // The sample documents the defaults; only the acceptance-test routes and DNS differ from them.
  Config want;
  want.network.routes = {Ipv4Prefix{kIp10_0_0_0, 8}};
  want.network.dns_servers = {kIp1_1_1_1};
  expect_same(*result.config, want);

  const Config& c = *result.config;
  EXPECT_EQ(c.server.bind, "0.0.0.0");
  EXPECT_EQ(c.server.tcp_port, 443);
  EXPECT_EQ(c.server.dtls_port, 443);
  EXPECT_EQ(c.crypto.cert_file, "/etc/ocserv-modern/server.crt");
  EXPECT_EQ(c.crypto.key_file, "/etc/ocserv-modern/server.key");
  EXPECT_EQ(c.auth.method, AuthMethod::kPlain);
  EXPECT_EQ(c.auth.passwd_file, "/etc/ocserv-modern/passwd");
  EXPECT_EQ(c.network.device, "vpns");
  EXPECT_EQ(c.network.ipv4_network, (Ipv4Prefix{kIp192_168_100_0, 24}));
  EXPECT_EQ(c.network.mtu, 1400u);
  EXPECT_EQ(c.security.max_ban_score, 0u);
  EXPECT_EQ(c.session.max_clients, 0u);
  EXPECT_EQ(c.session.max_same_clients, 0u);
  EXPECT_EQ(c.datapath.driver, Driver::kSocket);
}

// ---- accepted values, boundaries included ----

struct ValueCase {
  const char* name;
  const char* toml;
  void (*check)(const Config&);
};

class ConfigValueTest : public ::testing::TestWithParam<ValueCase> {};

TEST_P(ConfigValueTest, Accepted) {
  ParseResult holder;
  const Config& c = parse_ok(GetParam().toml, holder);
  GetParam().check(c);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigValueTest,
    ::testing::Values(
        // [auth.radius]: servers with and without ports, accounting defaults.
        ValueCase{"AuthRadius",
                  "[auth]\nmethod = \"radius\"\n[auth.radius]\nservers = [\"127.0.0.1:18120\", \"radius.example\"]\n"
                  "secret = \"s3cret\"\nnas_identifier = \"vpn1\"\ntimeout = 60\nretries = 0\n"
                  "accounting = true\nacct_interim_interval = 30",
                  [](const Config& c) {
                    EXPECT_TRUE(c.auth.uses_radius());
                    EXPECT_FALSE(c.auth.uses_passwd_file());
                    const auto& r = c.auth.radius;
                    ASSERT_EQ(r.servers.size(), 2u);
                    EXPECT_EQ(r.servers[0].host, "127.0.0.1");
                    EXPECT_EQ(r.servers[0].port, 18120);
                    EXPECT_EQ(r.servers[1].host, "radius.example");
                    EXPECT_EQ(r.servers[1].port, 1812);
                    EXPECT_TRUE(r.acct_servers.empty());
                    EXPECT_EQ(r.secret, "s3cret");
                    EXPECT_EQ(r.nas_identifier, "vpn1");
                    EXPECT_EQ(r.timeout_s, 60u);
                    EXPECT_EQ(r.retries, 0u);
                    EXPECT_TRUE(r.accounting);
                    EXPECT_EQ(r.acct_interim_interval_s, 30u);
                  }},
        // [auth.ldap]: direct bind with defaults; search then bind with a service account and groups.
        ValueCase{"AuthLdapDirectBindMinimal",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1:389\"\n"
                  "bind_dn = \"uid=%u,ou=people,dc=example,dc=org\"",
                  [](const Config& c) {
                    EXPECT_TRUE(c.auth.uses_ldap());
                    EXPECT_TRUE(c.auth.uses_password());
                    EXPECT_FALSE(c.auth.uses_passwd_file());
                    const auto& l = c.auth.ldap;
                    EXPECT_EQ(l.uri, "ldap://127.0.0.1:389");
                    EXPECT_TRUE(l.direct_bind());
                    EXPECT_EQ(l.user_filter, "(uid=%u)");
                    EXPECT_EQ(l.group_filter, "(|(member=%d)(memberUid=%u))");
                    EXPECT_EQ(l.group_attribute, "cn");
                    EXPECT_TRUE(l.group_base_dn.empty());
                    EXPECT_FALSE(l.start_tls);
                    EXPECT_EQ(l.timeout_s, 5u);
                  }},
        ValueCase{"AuthLdapSearchThenBind",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://a.example ldap://b.example:3389\"\n"
                  "base_dn = \"ou=people,dc=example,dc=org\"\nuser_filter = \"(&(objectClass=person)(mail=%u))\"\n"
                  "search_bind_dn = \"cn=svc,dc=example,dc=org\"\nsearch_bind_password_file = \"/etc/ldap.pw\"\n"
                  "group_base_dn = \"ou=groups,dc=example,dc=org\"\ngroup_filter = \"(member=%d)\"\n"
                  "group_attribute = \"ou\"\nstart_tls = true\nca_file = \"/etc/ldap-ca.pem\"\ntimeout = 60",
                  [](const Config& c) {
                    const auto& l = c.auth.ldap;
                    EXPECT_FALSE(l.direct_bind());
                    EXPECT_EQ(l.base_dn, "ou=people,dc=example,dc=org");
                    EXPECT_EQ(l.user_filter, "(&(objectClass=person)(mail=%u))");
                    EXPECT_EQ(l.search_bind_dn, "cn=svc,dc=example,dc=org");
                    EXPECT_EQ(l.search_bind_password_file, "/etc/ldap.pw");
                    EXPECT_EQ(l.group_base_dn, "ou=groups,dc=example,dc=org");
                    EXPECT_EQ(l.group_filter, "(member=%d)");
                    EXPECT_EQ(l.group_attribute, "ou");
                    EXPECT_TRUE(l.start_tls);
                    EXPECT_EQ(l.ca_file, "/etc/ldap-ca.pem");
                    EXPECT_EQ(l.timeout_s, 60u);
                  }},
        ValueCase{"AuthLdapsAnonymousSearch",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldaps://ldap.example\"\nbase_dn = \"dc=x\"\n"
                  "ca_file = \"/etc/ca.pem\"",
                  [](const Config& c) {
                    EXPECT_TRUE(c.auth.ldap.search_bind_dn.empty());
                    EXPECT_EQ(c.auth.ldap.ca_file, "/etc/ca.pem");
                  }},
        ValueCase{"AuthRadiusConfigFileAndAcctServers",
                  "[auth]\nmethod = \"radius\"\n[auth.radius]\nconfig = \"/etc/radcli/radiusclient.conf\"",
                  [](const Config& c) {
                    EXPECT_EQ(c.auth.radius.config, "/etc/radcli/radiusclient.conf");
                    EXPECT_TRUE(c.auth.radius.configured());
                  }},
        ValueCase{"RadiusAccountingWithPlainAuth",
                  "[auth.radius]\nservers = [\"10.0.0.1\"]\nacct_servers = [\"10.0.0.2\"]\nsecret = \"x\"\n"
                  "accounting = true",
                  [](const Config& c) {
                    EXPECT_EQ(c.auth.method, AuthMethod::kPlain);
                    ASSERT_EQ(c.auth.radius.acct_servers.size(), 1u);
                    EXPECT_EQ(c.auth.radius.acct_servers[0].port, 1813);
                  }},
        // [auth]: certificates, OTP, groups, per-user config directories.
        ValueCase{"AuthCertificate",
                  "[auth]\nmethod = \"certificate\"\nca_file = \"/etc/ca.pem\"\ncrl_file = \"/etc/crl.pem\"\n"
                  "cert_user_oid = \"0.9.2342.19200300.100.1.1\"\ncert_group_oid = \"2.5.4.11\"",
                  [](const Config& c) {
                    EXPECT_EQ(c.auth.method, AuthMethod::kCertificate);
                    EXPECT_FALSE(c.auth.uses_password());
                    EXPECT_EQ(c.auth.ca_file, "/etc/ca.pem");
                    EXPECT_EQ(c.auth.crl_file, "/etc/crl.pem");
                    EXPECT_EQ(c.auth.cert_user_oid, "0.9.2342.19200300.100.1.1");
                    EXPECT_EQ(c.auth.cert_group_oid, "2.5.4.11");
                  }},
        ValueCase{"AuthPlainAndCertificateSanEmail",
                  "[auth]\nmethod = \"plain+certificate\"\nca_file = \"/ca.pem\"\ncert_user_oid = \"SAN(rfc822name)\"",
                  [](const Config& c) {
                    EXPECT_EQ(c.auth.method, AuthMethod::kPlainAndCertificate);
                    EXPECT_TRUE(c.auth.uses_password());
                    EXPECT_TRUE(c.auth.uses_certificate());
                    EXPECT_EQ(c.auth.cert_user_oid, "SAN(rfc822name)");
                  }},
        ValueCase{"AuthPam", "[auth]\nmethod = \"pam\"\npam_service = \"vpn\"\npam_gid_min = 1000\notp_file = \"/o\"",
                  [](const Config& c) {
                    EXPECT_EQ(c.auth.method, AuthMethod::kPam);
                    EXPECT_TRUE(c.auth.uses_pam());
                    EXPECT_TRUE(c.auth.uses_password());
                    EXPECT_FALSE(c.auth.uses_certificate());
                    EXPECT_FALSE(c.auth.uses_passwd_file());
                    EXPECT_EQ(c.auth.pam_service, "vpn");
                    EXPECT_EQ(c.auth.pam_gid_min, 1000u);
                  }},
        ValueCase{"AuthPamDefaults", "[auth]\nmethod = \"pam+certificate\"\nca_file = \"/ca.pem\"",
                  [](const Config& c) {
                    EXPECT_EQ(c.auth.method, AuthMethod::kPamAndCertificate);
                    EXPECT_TRUE(c.auth.uses_pam());
                    EXPECT_TRUE(c.auth.uses_certificate());
                    EXPECT_EQ(c.auth.pam_service, "ocserv-modern");
                    EXPECT_EQ(c.auth.pam_gid_min, 0u);
                  }},
        ValueCase{"AuthOtpAndGroups",
                  "[auth]\notp_file = \"/etc/users.oath\"\nselect_groups = [\"eng\", \"ops[Operations team]\"]\n"
                  "default_select_group = \"DEFAULT\"\nauto_select_group = true\n"
                  "config_per_user = \"/etc/u/\"\nconfig_per_group = \"/etc/g\"",
                  [](const Config& c) {
                    EXPECT_EQ(c.auth.otp_file, "/etc/users.oath");
                    ASSERT_EQ(c.auth.select_groups.size(), 2u);
                    EXPECT_EQ(c.auth.select_groups[0].name, "eng");
                    EXPECT_EQ(c.auth.select_groups[0].label, "eng");
                    EXPECT_EQ(c.auth.select_groups[1].name, "ops");
                    EXPECT_EQ(c.auth.select_groups[1].label, "Operations team");
                    EXPECT_EQ(c.auth.default_select_group, "DEFAULT");
                    EXPECT_TRUE(c.auth.auto_select_group);
                    EXPECT_EQ(c.auth.config_per_user, "/etc/u/");
                    EXPECT_EQ(c.auth.config_per_group, "/etc/g");
                  }},
        ValueCase{"PortMin", "[server]\ntcp_port = 1", [](const Config& c) { EXPECT_EQ(c.server.tcp_port, 1); }},
        ValueCase{"PortMax", "[server]\ntcp_port = 65535\ndtls_port = 65535",
                  [](const Config& c) {
                    EXPECT_EQ(c.server.tcp_port, 65535);
                    EXPECT_EQ(c.server.dtls_port, 65535);
                  }},
        ValueCase{"MtuMin", "[network]\nmtu = 576", [](const Config& c) { EXPECT_EQ(c.network.mtu, 576u); }},
        ValueCase{"MtuMax", "[network]\nmtu = 9000", [](const Config& c) { EXPECT_EQ(c.network.mtu, 9000u); }},
        ValueCase{"TunQueuesMax", "[performance]\ntun_queues = 64",
                  [](const Config& c) { EXPECT_EQ(c.performance.tun_queues, 64u); }},
        ValueCase{"IdleTimeoutZero", "[session]\nidle_timeout = 0",
                  [](const Config& c) { EXPECT_EQ(c.session.idle_timeout.count(), 0); }},
        ValueCase{"RateLimitMax", "[session]\nrx_rate_limit = 1250000000\ntx_rate_limit = 1",
                  [](const Config& c) {
                    EXPECT_EQ(c.session.rx_rate_limit, 1250000000u);
                    EXPECT_EQ(c.session.tx_rate_limit, 1u);
                  }},
        ValueCase{"BanExemptEmpty", "[security]\nban_exempt = []",
                  [](const Config& c) { EXPECT_TRUE(c.security.ban_exempt.empty()); }},
        ValueCase{"BanExemptEverything", "[security]\nban_exempt = [\"0.0.0.0/0\"]",
                  [](const Config& c) {
                    EXPECT_EQ(c.security.ban_exempt, (std::vector<Ipv4Prefix>{{0, 0}}));
                  }},
        ValueCase{"BanPointsZero", "[security]\nban_points_connection = 0\nban_points_wrong_password = 0",
                  [](const Config& c) {
                    EXPECT_EQ(c.security.ban_points_connection, 0u);
                    EXPECT_EQ(c.security.ban_points_wrong_password, 0u);
                  }},
        ValueCase{"PoolShortest", "[network]\nipv4_network = \"10.0.0.0/8\"",
                  [](const Config& c) {
                    EXPECT_EQ(c.network.ipv4_network, (Ipv4Prefix{kIp10_0_0_0, 8}));
                  }},
        ValueCase{"PoolLongest", "[network]\nipv4_network = \"10.0.0.4/30\"",
                  [](const Config& c) {
                    EXPECT_EQ(c.network.ipv4_network, (Ipv4Prefix{0x0A000004, 30}));
                  }},
        ValueCase{"DefaultRouteOnly", "[network]\nroutes = [\"default\"]",
                  [](const Config& c) {
                    EXPECT_TRUE(c.network.default_route);
                    EXPECT_TRUE(c.network.routes.empty());
                  }},
        ValueCase{"DefaultRouteWithSplitRoutes", "[network]\nroutes = [\"192.168.0.0/16\", \"default\"]",
                  [](const Config& c) {
                    EXPECT_TRUE(c.network.default_route);
                    EXPECT_EQ(c.network.routes, (std::vector<Ipv4Prefix>{{0xC0A80000, 16}}));
                  }},
        ValueCase{"HostRoute", "[network]\nroutes = [\"10.1.2.3/32\"]",
                  [](const Config& c) {
                    EXPECT_FALSE(c.network.default_route);
                    EXPECT_EQ(c.network.routes, (std::vector<Ipv4Prefix>{{0x0A010203, 32}}));
                  }},
        ValueCase{"Ipv6PoolSingleAddresses", "[network]\nipv6_network = \"fd00:1::/64\"",
                  [](const Config& c) {
                    ASSERT_TRUE(c.network.ipv6_network);
                    EXPECT_EQ(*c.network.ipv6_network, *parse_ipv6_prefix("fd00:1::/64"));
                    EXPECT_EQ(c.network.ipv6_subnet_prefix, 128);
                  }},
        ValueCase{"RestrictToPorts", "[network]\nrestrict_to_ports = \"tcp(443), udp(53), icmp()\"",
                  [](const Config& c) {
                    ASSERT_TRUE(c.network.restrict_to_ports);
                    EXPECT_FALSE(c.network.restrict_to_ports->negate);
                    EXPECT_EQ(c.network.restrict_to_ports->rules, (std::vector<PortRule>{{6, 443}, {17, 53}, {1, 0}}));
                  }},
        ValueCase{"RestrictToPortsNegated", "[network]\nrestrict_to_ports = \"!(tcp(25), tcp(445))\"",
                  [](const Config& c) {
                    ASSERT_TRUE(c.network.restrict_to_ports);
                    EXPECT_TRUE(c.network.restrict_to_ports->negate);
                    EXPECT_EQ(c.network.restrict_to_ports->rules.size(), 2u);
                  }},
        ValueCase{"RestrictToPortsEmptyMeansNone", "[network]\nrestrict_to_ports = \"\"",
                  [](const Config& c) { EXPECT_FALSE(c.network.restrict_to_ports); }},
        ValueCase{"Ipv6EmptyMeansNone", "[network]\nipv6_network = \"\"",
                  [](const Config& c) { EXPECT_FALSE(c.network.ipv6_network); }},
        ValueCase{"Ipv6RoutesAndDnsSplitByFamily",
                  "[network]\nipv6_network = \"fd00:1::/64\"\nroutes = [\"10.0.0.0/8\", \"2001:db8::/32\", "
                  "\"default\"]\ndns_servers = [\"2606:4700:4700::1111\", \"1.1.1.1\"]",
                  [](const Config& c) {
                    EXPECT_TRUE(c.network.default_route);
                    EXPECT_EQ(c.network.routes, (std::vector<Ipv4Prefix>{{kIp10_0_0_0, 8}}));
                    EXPECT_EQ(c.network.routes6, (std::vector<Ipv6Prefix>{*parse_ipv6_prefix("2001:db8::/32")}));
                    EXPECT_EQ(c.network.dns_servers, (std::vector<uint32_t>{kIp1_1_1_1}));
                    EXPECT_EQ(c.network.dns_servers6, (std::vector<Ipv6Addr>{*parse_ipv6("2606:4700:4700::1111")}));
                  }},
        ValueCase{"Ipv6SubnetsJustEnough",  // /16 IPv4 pool: 2^16 /64 subnets in a /48
                  "[network]\nipv4_network = \"10.0.0.0/16\"\nipv6_network = \"fd00::/48\"\n"
                  "ipv6_subnet_prefix = 64",
                  [](const Config& c) { EXPECT_EQ(c.network.ipv6_subnet_prefix, 64); }},
        ValueCase{"EmptyArrays", "[network]\nroutes = []\ndns_servers = []\nsplit_dns = []",
                  [](const Config& c) {
                    EXPECT_TRUE(c.network.routes.empty());
                    EXPECT_TRUE(c.network.dns_servers.empty());
                    EXPECT_TRUE(c.network.split_dns.empty());
                  }},
        ValueCase{"Tls13", "[crypto]\nmin_tls_version = \"1.3\"",
                  [](const Config& c) { EXPECT_EQ(c.crypto.min_tls_version, TlsVersion::kTls13); }},
        ValueCase{"LogLevelError", "[monitoring]\nlog_level = \"error\"",
                  [](const Config& c) { EXPECT_EQ(c.monitoring.log_level, log::Level::kError); }},
        ValueCase{"LogLevelWarning", "[monitoring]\nlog_level = \"warning\"",
                  [](const Config& c) { EXPECT_EQ(c.monitoring.log_level, log::Level::kWarning); }},
        ValueCase{"DottedKeysAtTopLevel", "network.mtu = 1280\nserver.tcp_port = 4433",
                  [](const Config& c) {
                    EXPECT_EQ(c.network.mtu, 1280u);
                    EXPECT_EQ(c.server.tcp_port, 4433);
                  }},
        ValueCase{"InlineTable", "network = { mtu = 1280 }", [](const Config& c) { EXPECT_EQ(c.network.mtu, 1280u); }},
        ValueCase{"LongestDeviceName", "[network]\ndevice = \"abcdefghijklmno\"",
                  [](const Config& c) { EXPECT_EQ(c.network.device, "abcdefghijklmno"); }},
        // [compression]: off by default; both algorithms, LZ4 first; ocserv's 256-byte limit.
        ValueCase{"CompressionDefaults", "[compression]",
                  [](const Config& c) {
                    EXPECT_FALSE(c.compression.enabled);
                    EXPECT_EQ(c.compression.algorithms, (std::vector<CompressionAlgorithm>{
                                                            CompressionAlgorithm::kLz4, CompressionAlgorithm::kLzs}));
                    EXPECT_EQ(c.compression.min_size, 256u);
                  }},
        ValueCase{"CompressionLzsFirstMinSizeFloor",
                  "[compression]\nenabled = true\nalgorithms = [\"lzs\", \"oc-lz4\"]\nmin_size = 64",
                  [](const Config& c) {
                    EXPECT_TRUE(c.compression.enabled);
                    EXPECT_EQ(c.compression.algorithms, (std::vector<CompressionAlgorithm>{
                                                            CompressionAlgorithm::kLzs, CompressionAlgorithm::kLz4}));
                    EXPECT_EQ(c.compression.min_size, 64u);
                  }},
        ValueCase{"CompressionOneAlgorithm", "[compression]\nenabled = true\nalgorithms = [\"lzs\"]\nmin_size = 16384",
                  [](const Config& c) {
                    EXPECT_EQ(c.compression.algorithms,
                              (std::vector<CompressionAlgorithm>{CompressionAlgorithm::kLzs}));
                    EXPECT_EQ(c.compression.min_size, 16384u);
                  }},
        ValueCase{"CompressionDisabledEmptyList", "[compression]\nalgorithms = []",
                  [](const Config& c) { EXPECT_TRUE(c.compression.algorithms.empty()); }},
        ValueCase{"LargeLimits", "[session]\nmax_clients = 4294967295",
                  [](const Config& c) { EXPECT_EQ(c.session.max_clients, 4294967295u); }}),
    CaseName{});

// ---- every kind of error: right key, right line, useful message ----

struct ErrorCase {
  const char* name;
  const char* toml;
  const char* key;
  uint32_t line;
  const char* message;  // substring of the expected message
};

class ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, Reported) {
  const ErrorCase& tc = GetParam();
  ParseResult result = parse(tc.toml);
  EXPECT_EQ(result.config, nullptr);
  ASSERT_EQ(result.errors.size(), 1u) << describe(result);
  const ConfigError& error = result.errors[0];
  EXPECT_EQ(error.key, tc.key);
  EXPECT_EQ(error.line, tc.line);
  EXPECT_THAT(error.message, HasSubstr(tc.message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigErrorTest,
    ::testing::Values(
        // Limits and bans.
        // [auth]
        // [network] restrict_to_ports
        ErrorCase{"RestrictToPortsTypo", "[network]\nmtu = 1400\nrestrict_to_ports = \"tpc(443)\"\n",
                  "network.restrict_to_ports", 3, "unknown protocol 'tpc'"},
        ErrorCase{"RestrictToPortsRange", "[network]\nrestrict_to_ports = \"udp(70000)\"\n",
                  "network.restrict_to_ports", 2, "port 70000 out of range"},
        ErrorCase{"RestrictToPortsUnclosed", "[network]\nrestrict_to_ports = \"!(tcp(25)\"\n",
                  "network.restrict_to_ports", 2, "missing ')'"},
        ErrorCase{"RestrictToPortsBlank", "[network]\nrestrict_to_ports = \"  \"\n", "network.restrict_to_ports", 2,
                  "empty list"},
        ErrorCase{"RestrictToPortsNotAString", "[network]\nrestrict_to_ports = [\"tcp(443)\"]\n",
                  "network.restrict_to_ports", 2, "expected a string"},
        ErrorCase{"RadiusWithoutServers", "[auth]\nmethod = \"radius\"\n", "auth.radius.servers", 2,
                  "is required with method = \"radius\""},
        ErrorCase{"RadiusAccountingWithoutServers", "[auth.radius]\naccounting = true\n", "auth.radius.servers", 2,
                  "is required"},
        ErrorCase{"RadiusServersWithoutSecret", "[auth.radius]\nservers = [\"10.0.0.1\"]\n", "auth.radius.secret", 2,
                  "is required with servers"},
        ErrorCase{"RadiusBadPort", "[auth.radius]\nservers = [\"10.0.0.1:0\"]\nsecret = \"x\"\n",
                  "auth.radius.servers[0]", 2, "port 1..65535"},
        ErrorCase{"RadiusPortNotNumber", "[auth.radius]\nservers = [\"10.0.0.1:radius\"]\nsecret = \"x\"\n",
                  "auth.radius.servers[0]", 2, "must be \"host\" or \"host:port\""},
        ErrorCase{"RadiusSecretWithColon", "[auth.radius]\nservers = [\"10.0.0.1\"]\nsecret = \"a:b\"\n",
                  "auth.radius.secret", 3, "must not contain ':'"},
        ErrorCase{"RadiusConfigAndServers",
                  "[auth.radius]\nconfig = \"/etc/r.conf\"\nservers = [\"10.0.0.1\"]\nsecret = \"x\"\n",
                  "auth.radius.config", 2, "drop servers"},
        ErrorCase{"RadiusInterimWithoutAccounting",
                  "[auth.radius]\nconfig = \"/etc/r.conf\"\nacct_interim_interval = 60\n",
                  "auth.radius.acct_interim_interval", 3, "needs accounting = true"},
        ErrorCase{"RadiusTimeoutTooLong", "[auth.radius]\nconfig = \"/etc/r.conf\"\ntimeout = 61\n",
                  "auth.radius.timeout", 3, "must be between 1 and 60"},
        ErrorCase{"LdapWithoutSection", "[auth]\nmethod = \"ldap\"\n", "auth.ldap.uri", 2,
                  "is required with method = \"ldap\""},
        ErrorCase{"LdapNeitherMode", "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n",
                  "auth.ldap.bind_dn", 2, "one of bind_dn (direct bind) or base_dn (search then bind) is required"},
        ErrorCase{"LdapBothModes",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n"
                  "bind_dn = \"uid=%u,dc=x\"\nbase_dn = \"dc=x\"\n",
                  "auth.ldap.bind_dn", 5, "excludes base_dn"},
        ErrorCase{"LdapBadScheme",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\n"
                  "uri = \"http://127.0.0.1\"\nbind_dn = \"uid=%u\"\n",
                  "auth.ldap.uri", 4, "must be ldap://, ldaps:// or ldapi:// URIs, got 'http://127.0.0.1'"},
        ErrorCase{"LdapSecondUriBadScheme",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\n"
                  "uri = \"ldap://a ldp://b\"\nbind_dn = \"uid=%u\"\n",
                  "auth.ldap.uri", 4, "got 'ldp://b'"},
        ErrorCase{"LdapBindDnWithoutUser",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n"
                  "bind_dn = \"cn=admin,dc=x\"\n",
                  "auth.ldap.bind_dn", 5, "must contain %u"},
        ErrorCase{"LdapServiceDnWithoutPassword",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n"
                  "base_dn = \"dc=x\"\nsearch_bind_dn = \"cn=svc\"\n",
                  "auth.ldap.search_bind_password", 6, "is required with search_bind_dn"},
        ErrorCase{"LdapServicePasswordWithoutDn",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n"
                  "base_dn = \"dc=x\"\nsearch_bind_password = \"pw\"\n",
                  "auth.ldap.search_bind_dn", 6, "is required with a search bind password"},
        ErrorCase{"LdapBothServicePasswords",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n"
                  "base_dn = \"dc=x\"\nsearch_bind_dn = \"cn=svc\"\nsearch_bind_password = \"pw\"\n"
                  "search_bind_password_file = \"/pw\"\n",
                  "auth.ldap.search_bind_password", 7, "excludes search_bind_password_file"},
        ErrorCase{"LdapServiceAccountWithDirectBind",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n"
                  "bind_dn = \"uid=%u\"\nsearch_bind_dn = \"cn=svc\"\n",
                  "auth.ldap.search_bind_dn", 6, "needs base_dn"},
        ErrorCase{"LdapStartTlsOnLdaps",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\n"
                  "uri = \"ldaps://h\"\nbind_dn = \"uid=%u\"\nstart_tls = true\n",
                  "auth.ldap.start_tls", 6, "ldaps:// is TLS already"},
        ErrorCase{"LdapCaFileWithoutTls",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n"
                  "bind_dn = \"uid=%u\"\nca_file = \"/ca.pem\"\n",
                  "auth.ldap.ca_file", 6, "needs an ldaps:// uri or start_tls = true"},
        ErrorCase{"LdapTimeoutZero",
                  "[auth]\nmethod = \"ldap\"\n[auth.ldap]\nuri = \"ldap://127.0.0.1\"\n"
                  "bind_dn = \"uid=%u\"\ntimeout = 0\n",
                  "auth.ldap.timeout", 6, "must be between 1 and 60"},
        ErrorCase{"LdapSectionWithoutMethod", "[auth]\nmethod = \"plain\"\n[auth.ldap]\nuri = \"ldap://h\"\n",
                  "auth.ldap", 4, "[auth.ldap] needs method = \"ldap\""},
        ErrorCase{"RadiusUnknownKey", "[auth.radius]\nserver = \"10.0.0.1\"\n", "auth.radius.server", 2,
                  "unknown key 'server' in [auth.radius]"},
        ErrorCase{"AuthUnknownMethod", "[auth]\nmethod = \"cert\"\n", "auth.method", 2,
                  "'cert' is not one of 'plain', 'certificate', 'plain+certificate'"},
        ErrorCase{"AuthCertificateWithoutCa", "[auth]\nmethod = \"certificate\"\n", "auth.ca_file", 2,
                  "is required with a certificate method"},
        ErrorCase{"AuthCaWithoutCertificateMethod", "[auth]\n\nca_file = \"/ca.pem\"\n", "auth.ca_file", 3,
                  "needs method = \"certificate\""},
        ErrorCase{"AuthCrlWithoutCertificateMethod", "[auth]\ncrl_file = \"/crl.pem\"\n", "auth.crl_file", 2,
                  "needs method"},
        ErrorCase{"AuthBadUserOid", "[auth]\ncert_user_oid = \"CN\"\n", "auth.cert_user_oid", 2,
                  "expected a dotted OID"},
        ErrorCase{"AuthBadOidDots", "[auth]\ncert_user_oid = \"2..5.4\"\n", "auth.cert_user_oid", 2,
                  "expected a dotted OID"},
        ErrorCase{"AuthGroupOidSan",
                  "[auth]\nmethod = \"certificate\"\nca_file = \"/c\"\ncert_group_oid = \"SAN(rfc822name)\"\n",
                  "auth.cert_group_oid", 4, "must be a subject attribute OID"},
        ErrorCase{"AuthOtpWithCertificateOnly",
                  "[auth]\nmethod = \"certificate\"\nca_file = \"/c\"\notp_file = \"/o\"\n", "auth.otp_file", 4,
                  "needs a password method"},
        ErrorCase{"AuthSelectGroupSlash", "[auth]\nselect_groups = [\"ok\", \"a/b\"]\n", "auth.select_groups[1]", 2,
                  "not a valid group name"},
        ErrorCase{"AuthSelectGroupBadLabel", "[auth]\nselect_groups = [\"a[b\"]\n", "auth.select_groups[0]", 2,
                  "expected \"name\" or \"name[label]\""},
        ErrorCase{"AuthSelectGroupEmptyLabel", "[auth]\nselect_groups = [\"a[]\"]\n", "auth.select_groups[0]", 2,
                  "expected \"name\" or \"name[label]\""},
        ErrorCase{"AuthSelectGroupTwice", "[auth]\nselect_groups = [\"a\", \"a[A]\"]\n", "auth.select_groups[1]", 2,
                  "listed twice"},
        ErrorCase{"AuthDefaultGroupClash", "[auth]\nselect_groups = [\"a\"]\ndefault_select_group = \"a\"\n",
                  "auth.default_select_group", 3, "already the label"},
        ErrorCase{"AuthConfigDirRelative", "[auth]\nconfig_per_user = \"users\"\n", "auth.config_per_user", 2,
                  "must be an absolute path"},
        ErrorCase{"AuthAutoSelectNotBool", "[auth]\nauto_select_group = 1\n", "auth.auto_select_group", 2,
                  "expected a boolean"},
        ErrorCase{"RateLimitNegative", "[session]\nrx_rate_limit = -1\n", "session.rx_rate_limit", 2,
                  "must be between 0 and 1250000000, got -1"},
        ErrorCase{"RateLimitTooHigh", "[session]\n\ntx_rate_limit = 1250000001\n", "session.tx_rate_limit", 3,
                  "must be between 0 and 1250000000"},
        ErrorCase{"QuotaNotInteger", "[session]\nquota_bytes = \"1G\"\n", "session.quota_bytes", 2,
                  "expected an integer, got a string"},
        ErrorCase{"SessionTimeoutNegative", "[session]\nsession_timeout = -5\n", "session.session_timeout", 2,
                  "must be between 0 and"},
        ErrorCase{"BanTimeZero", "[security]\nban_time = 0\n", "security.ban_time", 2, "must be between 1 and"},
        ErrorCase{"BanResetTimeZero", "[security]\nmax_ban_score = 80\nban_reset_time = 0\n", "security.ban_reset_time",
                  3, "must be between 1 and"},
        ErrorCase{"BanPointsNegative", "[security]\nban_points_wrong_password = -10\n",
                  "security.ban_points_wrong_password", 2, "must be at least 0, got -10"},
        ErrorCase{"BanExemptNotPrefix", "[security]\nban_exempt = [\"127.0.0.0/8\", \"localhost\"]\n",
                  "security.ban_exempt[1]", 2, "expected an IPv4 prefix"},
        ErrorCase{"BanExemptHostBits", "[security]\nban_exempt = [\"10.1.2.3/8\"]\n", "security.ban_exempt[0]", 2,
                  "host bits are set"},
        ErrorCase{"BanExemptNotArray", "[security]\nban_exempt = \"127.0.0.0/8\"\n", "security.ban_exempt", 2,
                  "expected an array, got a string"},
        // Unknown names: a typo must never fall back to a default silently.
        ErrorCase{"UnknownKey", "[network]\nmtu = 1400\nmtux = 1400\n", "network.mtux", 3,
                  "unknown key 'mtux' in [network]"},
        ErrorCase{"UnknownSection", "[server]\ntcp_port = 443\n\n[netwrok]\nmtu = 1400\n", "netwrok", 4,
                  "unknown section [netwrok]"},
        ErrorCase{"UnknownTopLevelKey", "\nmtu = 1400\n", "mtu", 2, "unknown key 'mtu' outside any section"},
        ErrorCase{"UnknownSubtable", "[network]\nmtu = 1400\n[network.extra]\nx = 1\n", "network.extra", 3,
                  "unknown key 'extra' in [network]"},
        ErrorCase{"SectionNotATable", "server = 443\n", "server", 1, "expected a table"},
        ErrorCase{"SectionArrayOfTables", "[[server]]\ntcp_port = 443\n", "server", 1,
                  "expected a table ([server]), got an array"},
        // Wrong types.
        ErrorCase{"StringForInteger", "[server]\ntcp_port = \"443\"\n", "server.tcp_port", 2,
                  "expected an integer, got a string"},
        ErrorCase{"FloatForInteger", "[network]\nmtu = 1400.0\n", "network.mtu", 2, "expected an integer, got a float"},
        ErrorCase{"BoolForInteger", "[session]\ndpd = true\n", "session.dpd", 2, "expected an integer, got a boolean"},
        ErrorCase{"IntegerForString", "[crypto]\ncert_file = 1\n", "crypto.cert_file", 2,
                  "expected a string, got an integer"},
        ErrorCase{"StringForBool", "[session]\npredictable_ips = \"yes\"\n", "session.predictable_ips", 2,
                  "expected a boolean, got a string"},
        ErrorCase{"StringForArray", "[network]\nroutes = \"10.0.0.0/8\"\n", "network.routes", 2,
                  "expected an array, got a string"},
        ErrorCase{"TableForString", "[server]\nbind = { a = 1 }\n", "server.bind", 2, "expected a string, got a table"},
        // Out of range.
        ErrorCase{"PortZero", "[server]\ntcp_port = 0\n", "server.tcp_port", 2, "must be between 1 and 65535, got 0"},
        ErrorCase{"PortTooBig", "[server]\ndtls_port = 65536\n", "server.dtls_port", 2,
                  "must be between 1 and 65535, got 65536"},
        ErrorCase{"BacklogZero", "[server]\nlisten_backlog = 0\n", "server.listen_backlog", 2,
                  "must be between 1 and 65535"},
        ErrorCase{"MtuTooSmall", "[network]\nmtu = 575\n", "network.mtu", 2, "must be between 576 and 9000, got 575"},
        ErrorCase{"MtuTooBig", "[network]\nmtu = 9001\n", "network.mtu", 2, "must be between 576 and 9000"},
        ErrorCase{"TunQueuesZero", "[performance]\ntun_queues = 0\n", "performance.tun_queues", 2,
                  "must be between 1 and 64"},
        ErrorCase{"TunQueuesTooMany", "[performance]\ntun_queues = 65\n", "performance.tun_queues", 2,
                  "must be between 1 and 64"},
        ErrorCase{"DpdZero", "[session]\ndpd = 0\n", "session.dpd", 2, "must be between 1 and"},
        ErrorCase{"KeepaliveZero", "[session]\nkeepalive = 0\n", "session.keepalive", 2, "must be between 1 and"},
        ErrorCase{"HandshakeTimeoutZero", "[server]\nhandshake_timeout = 0\n", "server.handshake_timeout", 2,
                  "must be between 1 and"},
        ErrorCase{"TimeoutAbsurd", "[server]\nauth_timeout = 99999999999\n", "server.auth_timeout", 2,
                  "must be between 1 and 31536000"},
        ErrorCase{"RekeyMethodUnknown", "[session]\nrekey_method = \"renegotiate\"\n", "session.rekey_method", 2,
                  "renegotiate"},
        ErrorCase{"RekeyTimeNegative", "[session]\nrekey_time = -5\n", "session.rekey_time", 2,
                  "must be between 0 and"},
        ErrorCase{"IdleTimeoutNegative", "[session]\nidle_timeout = -1\n", "session.idle_timeout", 2,
                  "must be between 0 and"},
        ErrorCase{"MaxClientsNegative", "[session]\nmax_clients = -1\n", "session.max_clients", 2,
                  "must be at least 0, got -1"},
        ErrorCase{"MaxClientsTooBig", "[session]\nmax_clients = 4294967296\n", "session.max_clients", 2,
                  "must be between 0 and 4294967295"},
        ErrorCase{"PasswordTriesZero", "[auth]\nmax_password_tries = 0\n", "auth.max_password_tries", 2,
                  "must be at least 1, got 0"},
        ErrorCase{"MaxRequestsZero", "[server]\nmax_requests_per_connection = 0\n",
                  "server.max_requests_per_connection", 2, "must be at least 1"},
        // Addresses and prefixes.
        ErrorCase{"BadBind", "[server]\nbind = \"0.0.0\"\n", "server.bind", 2, "expected an IPv4 address"},
        ErrorCase{"HostnameBind", "[server]\nbind = \"localhost\"\n", "server.bind", 2, "expected an IPv4 address"},
        ErrorCase{"BadPrefix", "[network]\nipv4_network = \"192.168.100.0\"\n", "network.ipv4_network", 2,
                  "expected an IPv4 prefix like 10.0.0.0/8, got '192.168.100.0'"},
        ErrorCase{"BadPrefixLength", "[network]\nipv4_network = \"192.168.100.0/abc\"\n", "network.ipv4_network", 2,
                  "expected an IPv4 prefix"},
        ErrorCase{"PoolTooLong", "[network]\nipv4_network = \"192.168.100.0/31\"\n", "network.ipv4_network", 2,
                  "prefix length must be between 8 and 30, got 31"},
        ErrorCase{"PoolTooShort", "[network]\nipv4_network = \"10.0.0.0/7\"\n", "network.ipv4_network", 2,
                  "prefix length must be between 8 and 30, got 7"},
        ErrorCase{"HostBitsSet", "[network]\nipv4_network = \"192.168.100.1/24\"\n", "network.ipv4_network", 2,
                  "host bits are set in '192.168.100.1/24'; did you mean '192.168.100.0/24'?"},
        ErrorCase{"BadRouteEntry", "[network]\nroutes = [\"10.0.0.0/8\", \"banana\"]\n", "network.routes[1]", 2,
                  "expected an IPv4 prefix like 10.0.0.0/8, got 'banana'"},
        ErrorCase{"RouteOnLaterLine", "[network]\nroutes = [\n  \"10.0.0.0/8\",\n  \"10.1.0.0/8\",\n]\n",
                  "network.routes[1]", 4, "host bits are set"},
        ErrorCase{"RouteWrongType", "[network]\nroutes = [\"10.0.0.0/8\", 5]\n", "network.routes[1]", 2,
                  "expected a string, got an integer"},
        ErrorCase{"RouteZeroPrefix", "[network]\nroutes = [\"0.0.0.0/0\"]\n", "network.routes[0]", 2,
                  "use \"default\""},
        ErrorCase{"RouteDefaultMisspelt", "[network]\nroutes = [\"Default\"]\n", "network.routes[0]", 2,
                  "expected an IPv4 prefix"},
        ErrorCase{"BadDns", "[network]\ndns_servers = [\"1.1.1.1\", \"1.1.1\"]\n", "network.dns_servers[1]", 2,
                  "expected an IPv4 address like 1.1.1.1, got '1.1.1'"},
        ErrorCase{"Ipv6PoolHostBits", "[network]\nipv6_network = \"fd00::1/64\"\n", "network.ipv6_network", 2,
                  "host bits are set in 'fd00::1/64'; did you mean 'fd00::/64'?"},
        ErrorCase{"Ipv6PoolNotIpv6", "[network]\nipv6_network = \"10.0.0.0/8\"\n", "network.ipv6_network", 2,
                  "expected an IPv6 prefix like fd00::/64, got '10.0.0.0/8'"},
        ErrorCase{"Ipv6PoolTooLong", "[network]\nipv6_network = \"fd00::/124\"\n", "network.ipv6_network", 2,
                  "prefix length must be between 16 and 120, got 124"},
        ErrorCase{"Ipv6PoolTooFewSubnets",
                  "[network]\nipv4_network = \"10.0.0.0/16\"\nipv6_network = \"fd00::/56\"\nipv6_subnet_prefix = 64\n",
                  "network.ipv6_network", 3, "fewer than the 2^16 addresses of ipv4_network"},
        ErrorCase{"Ipv6SubnetNotLonger", "[network]\nipv6_network = \"fd00::/64\"\nipv6_subnet_prefix = 64\n",
                  "network.ipv6_subnet_prefix", 3, "must be longer than the ipv6_network prefix /64, got 64"},
        ErrorCase{"Ipv6SubnetWithoutPool", "[network]\nipv6_subnet_prefix = 64\n", "network.ipv6_subnet_prefix", 2,
                  "needs network.ipv6_network"},
        ErrorCase{"Ipv6RouteWithoutPool", "[network]\nroutes = [\"fd00:aa::/64\"]\n", "network.routes", 2,
                  "IPv6 routes need network.ipv6_network"},
        ErrorCase{"Ipv6RouteHostBits", "[network]\nipv6_network = \"fd00::/64\"\nroutes = [\"fd00:aa::1/64\"]\n",
                  "network.routes[0]", 3, "did you mean 'fd00:aa::/64'?"},
        ErrorCase{"Ipv6RouteZeroPrefix", "[network]\nipv6_network = \"fd00::/64\"\nroutes = [\"::/0\"]\n",
                  "network.routes[0]", 3, "use \"default\""},
        ErrorCase{"Ipv6DnsWithoutPool", "[network]\ndns_servers = [\"fd00::53\"]\n", "network.dns_servers", 2,
                  "IPv6 DNS servers need network.ipv6_network"},
        ErrorCase{"BadIpv6Dns", "[network]\nipv6_network = \"fd00::/64\"\ndns_servers = [\"fd00:::53\"]\n",
                  "network.dns_servers[0]", 3, "expected an IPv6 address"},
        ErrorCase{"Ipv6MtuTooSmall", "[network]\nipv6_network = \"fd00::/64\"\nmtu = 1200\n", "network.mtu", 3,
                  "must be at least 1280 with ipv6_network"},
        ErrorCase{"DnsWrongType", "[network]\ndns_servers = [16843009]\n", "network.dns_servers[0]", 2,
                  "expected a string, got an integer"},
        // Names and free text.
        ErrorCase{"DeviceWithSlash", "[network]\ndevice = \"a/b\"\n", "network.device", 2,
                  "'a/b' is not a valid interface name"},
        ErrorCase{"DeviceTooLong", "[network]\ndevice = \"abcdefghijklmnop\"\n", "network.device", 2,
                  "is not a valid interface name"},
        ErrorCase{"DeviceDotDot", "[network]\ndevice = \"..\"\n", "network.device", 2, "is not a valid interface name"},
        ErrorCase{"DeviceEmpty", "[network]\ndevice = \"\"\n", "network.device", 2, "is not a valid interface name"},
        ErrorCase{"DeviceSpace", "[network]\ndevice = \"vpn 0\"\n", "network.device", 2,
                  "is not a valid interface name"},
        ErrorCase{"EmptyCertFile", "[crypto]\ncert_file = \"\"\n", "crypto.cert_file", 2, "must not be empty"},
        ErrorCase{"EmptyPasswdFile", "[auth]\npasswd_file = \"\"\n", "auth.passwd_file", 2, "must not be empty"},
        ErrorCase{"ServerNameWithNewline", "[server]\nserver_name = \"a\\r\\nX-Evil: 1\"\n", "server.server_name", 2,
                  "must not contain control characters"},
        ErrorCase{"BannerWithNul", "[server]\nbanner = \"a\\u0000b\"\n", "server.banner", 2,
                  "must not contain NUL characters"},
        ErrorCase{"BadSplitDns", "[network]\nsplit_dns = [\"corp.example.com\", \"corp example\"]\n",
                  "network.split_dns[1]", 2, "'corp example' is not a valid domain name"},
        ErrorCase{"BadDefaultDomain", "[network]\ndefault_domain = \"a..b\"\n", "network.default_domain", 2,
                  "is not a valid domain name"},
        // Enumerations.
        ErrorCase{"BadDriver", "[datapath]\ndriver = \"netmap\"\n", "datapath.driver", 2,
                  "'netmap' is not one of 'socket', 'af_xdp', 'dpdk'"},
        // Driver sub-tables.
        ErrorCase{"DpdkWithoutEalArgs", "[datapath]\ndriver = \"dpdk\"\n[datapath.dpdk]\naddress = \"10.9.0.1/24\"\n",
                  "datapath.dpdk.eal_args", 2, "is required with driver = \"dpdk\""},
        ErrorCase{"DpdkWithoutAddress", "[datapath]\ndriver = \"dpdk\"\n[datapath.dpdk]\neal_args = [\"-l\", \"1\"]\n",
                  "datapath.dpdk.address", 2, "is required with driver = \"dpdk\""},
        ErrorCase{"AfXdpWithoutInterface", "\n[datapath]\ndriver = \"af_xdp\"\n", "datapath.af_xdp.interface", 3,
                  "is required with driver = \"af_xdp\""},
        ErrorCase{"DpdkAddressWithoutLength", "[datapath.dpdk]\naddress = \"10.9.0.1\"\n", "datapath.dpdk.address", 2,
                  "expected an address with its prefix length like 203.0.113.1/24, got '10.9.0.1'"},
        ErrorCase{"DpdkAddressIsNetwork", "[datapath.dpdk]\naddress = \"10.9.0.0/24\"\n", "datapath.dpdk.address", 2,
                  "is the network or broadcast address"},
        ErrorCase{"DpdkGatewayOffLink", "[datapath.dpdk]\naddress = \"10.9.0.1/24\"\ngateway = \"10.8.0.1\"\n",
                  "datapath.dpdk.gateway", 3, "10.8.0.1 is not another host on the port's link 10.9.0.0/24"},
        ErrorCase{"DpdkEalArgNotString", "[datapath.dpdk]\neal_args = [\"-l\", 1]\n", "datapath.dpdk.eal_args[1]", 2,
                  "expected a string, got an integer"},
        ErrorCase{"DpdkFewMbufs", "[datapath.dpdk]\nmbufs = 10\n", "datapath.dpdk.mbufs", 2,
                  "must be 0 (computed) or at least 1024"},
        ErrorCase{"DpdkUnknownKey", "[datapath.dpdk]\nlcores = 2\n", "datapath.dpdk.lcores", 2,
                  "unknown key 'lcores' in [datapath.dpdk]"},
        ErrorCase{"AfXdpBadMode", "[datapath.af_xdp]\nxdp_mode = \"skb\"\n", "datapath.af_xdp.xdp_mode", 2,
                  "'skb' is not one of 'auto', 'native', 'generic'"},
        ErrorCase{"AfXdpBadZeroCopy", "[datapath.af_xdp]\nzero_copy = true\n", "datapath.af_xdp.zero_copy", 2,
                  "expected a string, got a boolean"},
        ErrorCase{"AfXdpFramesNotPowerOfTwo", "[datapath.af_xdp]\nframes_per_queue = 3000\n",
                  "datapath.af_xdp.frames_per_queue", 2, "must be a power of two"},
        ErrorCase{"AfXdpBadInterface", "[datapath.af_xdp]\ninterface = \"a/b\"\n", "datapath.af_xdp.interface", 2,
                  "is not a valid interface name"},
        ErrorCase{"DottedSectionAtTopLevelUnknown", "[\"datapath.dpdk\"]\nport = 1\n", "datapath.dpdk", 1,
                  "unknown section [datapath.dpdk]"},
        ErrorCase{"BadLogLevel", "[monitoring]\nlog_level = \"verbose\"\n", "monitoring.log_level", 2,
                  "'verbose' is not one of 'error', 'warning', 'info', 'debug'"},
        ErrorCase{"RelativeConnectScript", "[session]\nconnect_script = \"on-connect.sh\"\n", "session.connect_script",
                  2, "must be an absolute path"},
        ErrorCase{"RelativeControlSocket", "[monitoring]\ncontrol_socket = \"ocm.sock\"\n", "monitoring.control_socket",
                  2, "must be an absolute path"},
        ErrorCase{"LongControlSocket",
                  "[monitoring]\ncontrol_socket = "
                  "\"/"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaa\"\n",
                  "monitoring.control_socket", 2, "longer than 107 bytes"},
        ErrorCase{"BadStatsBind", "[monitoring]\nstats_bind = \"localhost\"\n", "monitoring.stats_bind", 2,
                  "expected an IPv4 address"},
        ErrorCase{"StatsPortZero", "[monitoring]\nstats_port = 0\n", "monitoring.stats_port", 2,
                  "must be between 1 and 65535"},
        ErrorCase{"PrometheusNotBool", "[monitoring]\nenable_prometheus = \"yes\"\n", "monitoring.enable_prometheus", 2,
                  "expected a boolean"},
        ErrorCase{"BadTlsVersion", "[crypto]\nmin_tls_version = \"1.1\"\n", "crypto.min_tls_version", 2,
                  "'1.1' is not one of '1.2', '1.3'"},
        ErrorCase{"TlsVersionAsFloat", "[crypto]\nmin_tls_version = 1.2\n", "crypto.min_tls_version", 2,
                  "expected a string, got a float"},
        ErrorCase{"BadAuthMethod", "[auth]\nmethod = \"kerberos\"\n", "auth.method", 2,
                  "'kerberos' is not one of 'plain'"},
        ErrorCase{"PamServiceIsAPath", "[auth]\nmethod = \"pam\"\npam_service = \"../shadow\"\n", "auth.pam_service", 3,
                  "must be a service name in /etc/pam.d, not a path"},
        ErrorCase{"PamServiceEmpty", "[auth]\npam_service = \"\"\n", "auth.pam_service", 2, "must not be empty"},
        ErrorCase{"PamGidMinNegative", "[auth]\npam_gid_min = -1\n", "auth.pam_gid_min", 2, ""},
        ErrorCase{"PamCertWithoutCa", "[auth]\nmethod = \"pam+certificate\"\n", "auth.ca_file", 2, "is required"},
        // TOML syntax: no key, but the line of the problem.
        // [compression]
        ErrorCase{"CompressionUnknownAlgorithm",
                  "[compression]\nenabled = true\nalgorithms = [\"oc-lz4\",\n  \"deflate\"]\n",
                  "compression.algorithms[1]", 4, "'deflate' is not one of 'oc-lz4', 'lzs'"},
        ErrorCase{"CompressionAlgorithmTwice", "[compression]\nalgorithms = [\"lzs\", \"lzs\"]\n",
                  "compression.algorithms[1]", 2, "'lzs' is listed twice"},
        ErrorCase{"CompressionAlgorithmNotString", "[compression]\nalgorithms = [1]\n", "compression.algorithms[0]", 2,
                  "expected a string"},
        ErrorCase{"CompressionEmptyListWhenEnabled", "[compression]\nenabled = true\n\nalgorithms = []\n",
                  "compression.algorithms", 4, "must name at least one algorithm"},
        ErrorCase{"CompressionOnlyUnknownNamesReportedOnce", "[compression]\nenabled = true\nalgorithms = [\"LZ4\"]\n",
                  "compression.algorithms[0]", 3, "'LZ4' is not one of"},
        ErrorCase{"CompressionMinSizeBelow64", "[compression]\nmin_size = 63\n", "compression.min_size", 2,
                  "must be between 64 and 16384, got 63"},
        ErrorCase{"CompressionMinSizeNotInteger", "[compression]\nmin_size = \"256\"\n", "compression.min_size", 2,
                  "expected an integer"},
        ErrorCase{"CompressionEnabledNotBool", "[compression]\nenabled = \"yes\"\n", "compression.enabled", 2,
                  "expected a boolean"},
        ErrorCase{"CompressionUnknownKey", "[compression]\nlevel = 9\n", "compression.level", 2,
                  "unknown key 'level' in [compression]"},
        ErrorCase{"SyntaxMissingValue", "[server]\ntcp_port = 443\nbind =\n", "", 3, ""},
        ErrorCase{"SyntaxUnterminatedString", "[server]\n\nbind = \"0.0.0.0\n", "", 3, ""},
        ErrorCase{"SyntaxDuplicateKey", "[network]\nmtu = 1400\nmtu = 1300\n", "", 3, ""},
        ErrorCase{"SyntaxDuplicateSection", "[network]\n[server]\n[network]\n", "", 3, ""}),
    CaseName{});

TEST(ConfigDatapath, ReadsDriverSubTables) {
  ParseResult result = parse(R"([datapath]
driver = "dpdk"
[datapath.af_xdp]
interface = "eth1"
queues = 2
xdp_mode = "generic"
zero_copy = "off"
frames_per_queue = 8192
[datapath.dpdk]
eal_args = ["-l", "1", "--no-huge", "--no-shconf", "-m", "512", "--vdev=net_af_packet0,iface=eth1"]
port = 1
address = "203.0.113.1/24"
gateway = "203.0.113.254"
tap_name = "dtap0"
mbufs = 16384
rx_descriptors = 512
tx_descriptors = 2048
)");
  ASSERT_TRUE(result.errors.empty()) << describe(result);
  const Config& c = *result.config;
  EXPECT_EQ(c.datapath.driver, Driver::kDpdk);
  EXPECT_EQ(c.datapath.af_xdp.interface, "eth1");
  EXPECT_EQ(c.datapath.af_xdp.queues, 2u);
  EXPECT_EQ(c.datapath.af_xdp.xdp_mode, XdpMode::kGeneric);
  EXPECT_EQ(c.datapath.af_xdp.zero_copy, ZeroCopy::kOff);
  EXPECT_EQ(c.datapath.af_xdp.frames_per_queue, 8192u);
  const DpdkConfig& d = c.datapath.dpdk;
  ASSERT_EQ(d.eal_args.size(), 7u);
  EXPECT_EQ(d.eal_args[6], "--vdev=net_af_packet0,iface=eth1");
  EXPECT_EQ(d.port, 1u);
  EXPECT_EQ(d.address.address, 0xCB007101u);
  EXPECT_EQ(d.address.prefix_length, 24u);
  EXPECT_EQ(d.gateway, 0xCB0071FEu);
  EXPECT_EQ(d.tap_name, "dtap0");
  EXPECT_EQ(d.mbufs, 16384u);
  EXPECT_EQ(d.rx_descriptors, 512u);
  EXPECT_EQ(d.tx_descriptors, 2048u);
}

TEST(ConfigDatapath, AfXdpNeedsOnlyTheInterface) {
  ParseResult result = parse("[datapath]\ndriver = \"af_xdp\"\n[datapath.af_xdp]\ninterface = \"veth1\"\n");
  ASSERT_TRUE(result.errors.empty()) << describe(result);
  EXPECT_EQ(result.config->datapath.af_xdp.queues, 1u);
  EXPECT_EQ(result.config->datapath.af_xdp.xdp_mode, XdpMode::kAuto);
  EXPECT_EQ(result.config->datapath.af_xdp.zero_copy, ZeroCopy::kAuto);
}

TEST(ConfigErrors, SyntaxErrorHasADescription) {
  ParseResult result = parse("[server]\nbind =\n");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_FALSE(result.errors[0].message.empty());
}

TEST(ConfigErrors, AllErrorsAreReportedInFileOrder) {
  ParseResult result = parse(R"([server]
tcp_port = 0
bind = "x"

[network]
mtux = 1
routes = ["10.0.0.0/8", "nope", "10.0.0.1/8"]
dns_servers = ["1.1.1.1"]

[bogus]

[datapath]
driver = "netmap"
)");
  EXPECT_EQ(result.config, nullptr);
  ASSERT_EQ(result.errors.size(), 7u) << describe(result);
  const std::pair<const char*, uint32_t> want[] = {
      {"server.tcp_port", 2},   {"server.bind", 3}, {"network.mtux", 6},     {"network.routes[1]", 7},
      {"network.routes[2]", 7}, {"bogus", 10},      {"datapath.driver", 13},
  };
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(result.errors[i].key, want[i].first) << i;
    EXPECT_EQ(result.errors[i].line, want[i].second) << i;
  }
}

TEST(ConfigErrors, BadValueDoesNotHideLaterKeysInTheSameSection) {
  ParseResult result = parse("[session]\ndpd = 0\nkeepalive = 0\nidle_timeout = \"never\"\n");
  ASSERT_EQ(result.errors.size(), 3u) << describe(result);
}

// ---- format_error ----

struct FormatCase {
  const char* name;
  ConfigError error;
  const char* want;
};

class FormatErrorTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatErrorTest, Formats) { EXPECT_EQ(format_error("/etc/ocm.toml", GetParam().error), GetParam().want); }

INSTANTIATE_TEST_SUITE_P(
    Cases, FormatErrorTest,
    ::testing::Values(FormatCase{"Full", {"network.mtu", 12, "too big"}, "/etc/ocm.toml:12: network.mtu: too big"},
                      FormatCase{"NoLine", {"network.mtu", 0, "too big"}, "/etc/ocm.toml: network.mtu: too big"},
                      FormatCase{"NoKey", {"", 3, "bad syntax"}, "/etc/ocm.toml:3: bad syntax"},
                      FormatCase{"NoKeyNoLine", {"", 0, "cannot read"}, "/etc/ocm.toml: cannot read"}),
    CaseName{});

// ---- parse_file ----

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char name[] = "/tmp/ocm_config_test_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    path_ = name;
    if (fd >= 0) {
      EXPECT_EQ(write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
      close(fd);
    }
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ConfigParseFile, ReadsFile) {
  TempFile file("[network]\nmtu = 1280\n");
  ParseResult result = parse_file(file.path());
  ASSERT_TRUE(result.errors.empty()) << describe(result);
  EXPECT_EQ(result.config->network.mtu, 1280u);
}

TEST(ConfigParseFile, ReportsErrorsFromFile) {
  TempFile file("[network]\n\nmtu = 1\n");
  ParseResult result = parse_file(file.path());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(format_error(file.path(), result.errors[0]),
            file.path() + ":3: network.mtu: must be between 576 and 9000, got 1");
}

TEST(ConfigParseFile, MissingFileNamesPathAndReason) {
  ParseResult result = parse_file("/nonexistent/ocserv-modern.toml");
  EXPECT_EQ(result.config, nullptr);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 0u);
  EXPECT_EQ(result.errors[0].key, "");
  EXPECT_THAT(result.errors[0].message, HasSubstr("/nonexistent/ocserv-modern.toml"));
  EXPECT_THAT(result.errors[0].message, HasSubstr("No such file or directory"));
}

TEST(ConfigParseFile, DirectoryIsAnError) {
  ParseResult result = parse_file("/tmp");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 0u);
  EXPECT_THAT(result.errors[0].message, HasSubstr("Is a directory"));
}

struct DtlsCase {
  const char* name;
  const char* toml;
  bool ok;
  bool enabled;
  DtlsMode mode;
  const char* error_key;
};

class DtlsSectionTest : public ::testing::TestWithParam<DtlsCase> {};

INSTANTIATE_TEST_SUITE_P(
    Cases, DtlsSectionTest,
    ::testing::Values(DtlsCase{"defaults", "", true, true, DtlsMode::kAuto, ""},
                      DtlsCase{"psk", "[dtls]\nmode = \"psk\"\n", true, true, DtlsMode::kPsk, ""},
                      DtlsCase{"legacy", "[dtls]\nmode = \"legacy\"\n", true, true, DtlsMode::kLegacy, ""},
                      DtlsCase{"disabled", "[dtls]\nenabled = false\n", true, false, DtlsMode::kAuto, ""},
                      DtlsCase{"bad_mode", "[dtls]\nmode = \"fast\"\n", false, true, DtlsMode::kAuto, "dtls.mode"},
                      DtlsCase{"bad_type", "[dtls]\nenabled = 1\n", false, true, DtlsMode::kAuto, "dtls.enabled"},
                      DtlsCase{"unknown_key", "[dtls]\nport = 1\n", false, true, DtlsMode::kAuto, "dtls.port"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_P(DtlsSectionTest, Parses) {
  const auto& c = GetParam();
  ParseResult result = parse(c.toml);
  if (c.ok) {
    ASSERT_TRUE(result.errors.empty()) << result.errors[0].message;
    EXPECT_EQ(result.config->dtls.enabled, c.enabled);
    EXPECT_EQ(result.config->dtls.mode, c.mode);
  } else {
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].key, c.error_key);
    EXPECT_EQ(result.errors[0].line, 2u);
  }
}

// The shipped config is the reference for operators: every key the parser accepts must be
// documented there, under its section, either set or shown commented out.
TEST(ShippedConfig, DocumentsEveryKnownKey) {
  std::ifstream in(std::string(OCM_SOURCE_ROOT) + "/config/ocserv-modern.toml");
  ASSERT_TRUE(in.good());
  std::set<std::string> documented;
  std::string section;
  std::string line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(" \t#");
    if (start == std::string::npos) {
      continue;
    }
    std::string body = line.substr(start);
    if (body.front() == '[' && body.find(']') != std::string::npos && line.front() == '[') {
      section = body.substr(1, body.find(']') - 1);
      continue;
    }
    size_t eq = body.find(" = ");
    if (eq != std::string::npos && body.find(' ') == eq) {
      documented.insert(section + "." + body.substr(0, eq));
    }
  }
  ASSERT_GT(known_keys().size(), 40u);
  for (const auto& key : known_keys()) {
    EXPECT_TRUE(documented.count(key) == 1) << key << " is not documented in config/ocserv-modern.toml";
  }
}

}  // namespace
}  // namespace ocm::config
