#include "ocm/config/import_ocserv.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ocm/config/config.hpp"

namespace ocm::config {
namespace {

// Converts, then parses the result with our own parser: every conversion must round-trip.
std::shared_ptr<const Config> convert(std::string_view conf, ImportResult* out = nullptr) {
  ImportResult r = import_ocserv(conf);
  auto parsed = parse(r.toml);
  for (const auto& e : parsed.errors) {
    ADD_FAILURE() << format_error("<converted>", e) << "\n" << r.toml;
  }
  if (out != nullptr) {
    *out = std::move(r);
  }
  return parsed.config;
}

struct MapCase {
  const char* name;
  const char* ocserv;
  void (*check)(const Config&);
};

class ImportMapping : public ::testing::TestWithParam<MapCase> {};

TEST_P(ImportMapping, ConvertsAndRoundTrips) {
  ImportResult r;
  auto c = convert(GetParam().ocserv, &r);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(r.unsupported.empty()) << r.toml;
  GetParam().check(*c);
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ImportMapping,
    ::testing::Values(
        MapCase{"Ports", "tcp-port = 4443\nudp-port = 4444\n",
                [](const Config& c) {
                  EXPECT_EQ(c.server.tcp_port, 4443);
                  EXPECT_EQ(c.server.dtls_port, 4444);
                  EXPECT_TRUE(c.dtls.enabled);
                }},
        MapCase{"Compression", "udp-port=443\ncompression = true\nno-compress-limit = 64\n",
                [](const Config& c) {
                  EXPECT_TRUE(c.compression.enabled);
                  EXPECT_EQ(c.compression.min_size, 64u);
                  EXPECT_EQ(c.compression.algorithms.size(), 2u);
                }},
        MapCase{"CompressionAlgoPriority", "udp-port=443\ncompression-algo-priority = \"LZS:oc-lz4\"\n",
                [](const Config& c) {
                  EXPECT_FALSE(c.compression.enabled);
                  EXPECT_EQ(c.compression.algorithms, (std::vector<CompressionAlgorithm>{CompressionAlgorithm::kLzs,
                                                                                         CompressionAlgorithm::kLz4}));
                }},
        MapCase{"NoUdpPortDisablesDtls", "tcp-port = 443\n", [](const Config& c) { EXPECT_FALSE(c.dtls.enabled); }},
        MapCase{"ListenHostAndCerts",
                "udp-port=443\nlisten-host = 10.0.0.1\nserver-cert = /etc/ssl/a.pem\nserver-key = \"/etc/ssl/a.key\"\n",
                [](const Config& c) {
                  EXPECT_EQ(c.server.bind, "10.0.0.1");
                  EXPECT_EQ(c.crypto.cert_file, "/etc/ssl/a.pem");
                  EXPECT_EQ(c.crypto.key_file, "/etc/ssl/a.key");
                }},
        MapCase{"PlainAuth", "udp-port=443\nauth = \"plain[passwd=/etc/ocserv/passwd]\"\n",
                [](const Config& c) {
                  EXPECT_EQ(c.auth.method, AuthMethod::kPlain);
                  EXPECT_EQ(c.auth.passwd_file, "/etc/ocserv/passwd");
                }},
        MapCase{"NetworkWithNetmask", "udp-port=443\nipv4-network = 10.20.0.0\nipv4-netmask = 255.255.0.0\n",
                [](const Config& c) {
                  EXPECT_EQ(format_ipv4(c.network.ipv4_network.network), "10.20.0.0");
                  EXPECT_EQ(c.network.ipv4_network.length, 16);
                }},
        MapCase{"NetworkCidr", "udp-port=443\nipv4-network = 10.30.0.0/22\n",
                [](const Config& c) { EXPECT_EQ(c.network.ipv4_network.length, 22); }},
        MapCase{"RoutesDottedAndCidr",
                "udp-port=443\nroute = 10.0.0.0/255.0.0.0\nroute = 172.16.0.0/12\nroute=192.168.5.0/255.255.255.0\n",
                [](const Config& c) {
                  ASSERT_EQ(c.network.routes.size(), 3u);
                  EXPECT_EQ(c.network.routes[0].length, 8);
                  EXPECT_EQ(c.network.routes[1].length, 12);
                  EXPECT_EQ(c.network.routes[2].length, 24);
                  EXPECT_FALSE(c.network.default_route);
                }},
        MapCase{"Ipv6NetworkRoutesDns",
                "udp-port=443\nipv6-network = fd00:1::/48\nipv6-subnet-prefix = 64\nroute = fd00:aa::/64\n"
                "route = 10.0.0.0/8\ndns = fd00:1::53\ndns = 10.0.0.53\n",
                [](const Config& c) {
                  ASSERT_TRUE(c.network.ipv6_network);
                  EXPECT_EQ(format_ipv6_prefix(c.network.ipv6_network->network, c.network.ipv6_network->length),
                            "fd00:1::/48");
                  EXPECT_EQ(c.network.ipv6_subnet_prefix, 64);
                  ASSERT_EQ(c.network.routes6.size(), 1u);
                  EXPECT_EQ(c.network.routes6[0].length, 64);
                  EXPECT_EQ(c.network.routes.size(), 1u);
                  EXPECT_EQ(c.network.dns_servers6.size(), 1u);
                  EXPECT_EQ(c.network.dns_servers.size(), 1u);
                }},
        MapCase{"DefaultRouteIpv6Spelling", "udp-port=443\nroute = ::/0\n",
                [](const Config& c) { EXPECT_TRUE(c.network.default_route); }},
        MapCase{"RestrictUserToPorts", "udp-port=443\nrestrict-user-to-ports = \"!(tcp(25), udp(53))\"\n",
                [](const Config& c) {
                  ASSERT_TRUE(c.network.restrict_to_ports);
                  EXPECT_TRUE(c.network.restrict_to_ports->negate);
                  EXPECT_EQ(c.network.restrict_to_ports->rules, (std::vector<PortRule>{{6, 25}, {17, 53}}));
                }},
        MapCase{"DefaultRoute", "udp-port=443\nroute = default\n",
                [](const Config& c) { EXPECT_TRUE(c.network.default_route); }},
        MapCase{"DnsAndDomains",
                "udp-port=443\ndns = 10.0.0.53\ndns = 10.0.0.54\nsplit-dns = corp.example\nsplit-dns = lab.example\n"
                "default-domain = corp.example\n",
                [](const Config& c) {
                  EXPECT_EQ(c.network.dns_servers.size(), 2u);
                  EXPECT_EQ(c.network.split_dns, (std::vector<std::string>{"corp.example", "lab.example"}));
                  EXPECT_EQ(c.network.default_domain, "corp.example");
                }},
        MapCase{"Timers",
                "udp-port=443\nmtu = 1300\ndpd = 60\nkeepalive = 300\nidle-timeout = 1200\ncookie-timeout = 600\n"
                "auth-timeout = 100\n",
                [](const Config& c) {
                  EXPECT_EQ(c.network.mtu, 1300u);
                  EXPECT_EQ(c.session.dpd.count(), 60);
                  EXPECT_EQ(c.session.keepalive.count(), 300);
                  EXPECT_EQ(c.session.idle_timeout.count(), 1200);
                  EXPECT_EQ(c.session.cookie_timeout.count(), 600);
                  EXPECT_EQ(c.server.auth_timeout.count(), 100);
                }},
        MapCase{"Limits", "udp-port=443\nmax-clients = 100\nmax-same-clients = 3\nmax-ban-score = 50\n",
                [](const Config& c) {
                  EXPECT_EQ(c.session.max_clients, 100u);
                  EXPECT_EQ(c.session.max_same_clients, 3u);
                  EXPECT_EQ(c.security.max_ban_score, 50u);
                }},
        MapCase{"DeviceBannersScripts",
                "udp-port=443\ndevice = vpns\nbanner = \"Welcome \\\"home\\\"\"\npre-login-banner = Hello\n"
                "connect-script = /usr/bin/on-connect\ndisconnect-script = /usr/bin/on-disconnect\n"
                "occtl-socket-file = /run/occtl.socket\n",
                [](const Config& c) {
                  EXPECT_EQ(c.network.device, "vpns");
                  EXPECT_EQ(c.server.banner, "Welcome \\\"home\\\"");
                  EXPECT_EQ(c.server.pre_login_banner, "Hello");
                  EXPECT_EQ(c.session.connect_script, "/usr/bin/on-connect");
                  EXPECT_EQ(c.session.disconnect_script, "/usr/bin/on-disconnect");
                  EXPECT_EQ(c.monitoring.control_socket, "/run/occtl.socket");
                }}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

struct UnsupportedCase {
  const char* name;
  const char* ocserv;
  const char* comment;  // expected "# unsupported: ..." line prefix
};

class ImportUnsupported : public ::testing::TestWithParam<UnsupportedCase> {};

TEST_P(ImportUnsupported, IsCommentedAndListed) {
  ImportResult r;
  auto c = convert(std::string("udp-port = 443\n") + GetParam().ocserv, &r);
  ASSERT_NE(c, nullptr);
  EXPECT_NE(r.toml.find(GetParam().comment), std::string::npos) << r.toml;
  EXPECT_EQ(r.unsupported.size(), 1u) << r.toml;
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ImportUnsupported,
    ::testing::Values(
        UnsupportedCase{"UnknownKey", "rekey-time = 172800\n", "# unsupported: rekey-time = 172800"},
        UnsupportedCase{"PamAuth", "auth = \"pam\"\n", "# unsupported: auth = \"pam\""},
        UnsupportedCase{"OtpAuth", "auth = \"plain[passwd=/a,otp=/b]\"\n", "# unsupported: auth ="},
        // Without ipv6-network ocserv ignores IPv6 routes and DNS; we list them.
        UnsupportedCase{"Ipv6RouteWithoutNetwork", "route = fd00::/64\n",
                        "# unsupported: route = fd00::/64  (IPv6 needs ipv6-network)"},
        UnsupportedCase{"Ipv6DnsWithoutNetwork", "dns = fd00::1\n", "# unsupported: dns = fd00::1"},
        UnsupportedCase{"Ipv6NetworkHostBits", "ipv6-network = fd00::1/64\n",
                        "# unsupported: ipv6-network = fd00::1/64"},
        UnsupportedCase{"HostName", "listen-host = vpn.example.com\n", "# unsupported: listen-host = vpn.example.com"},
        UnsupportedCase{"BadNumber", "dpd = soon\n", "# unsupported: dpd = soon"},
        UnsupportedCase{"RestrictPortsTypo", "restrict-user-to-ports = \"tpc(443)\"\n",
                        "# unsupported: restrict-user-to-ports = \"tpc(443)\"  (unknown protocol 'tpc'"},
        UnsupportedCase{"CompressLimitBelow64", "no-compress-limit = 10\n", "# unsupported: no-compress-limit = 10"},
        UnsupportedCase{"CompressionAlgoUnknown", "compression-algo-priority = deflate:lzs\n",
                        "# unsupported: compression-algo-priority = deflate:lzs"},
        UnsupportedCase{"NonContiguousMask", "route = 10.0.0.0/255.0.255.0\n", "# unsupported: route"},
        UnsupportedCase{"VhostSection", "[vhost:www.example.com]\ntcp-port = 8443\n",
                        "# unsupported: [vhost:www.example.com] tcp-port = 8443"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ImportOcserv, IsolateWorkersIsIgnoredWithANote) {
  ImportResult r;
  convert("udp-port = 443\nisolate-workers = true\n", &r);
  EXPECT_TRUE(r.unsupported.empty());
  EXPECT_NE(r.toml.find("# ignored: isolate-workers = true"), std::string::npos);
  EXPECT_FALSE(r.notes.empty());
}

TEST(ImportOcserv, DebianSampleConvertsAndRoundTrips) {
  std::ifstream in(std::string(OCM_SOURCE_ROOT) + "/tests/data/debian-ocserv.conf");
  ASSERT_TRUE(in) << "tests/data/debian-ocserv.conf missing";
  std::stringstream text;
  text << in.rdbuf();
  ImportResult r;
  auto c = convert(text.str(), &r);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->auth.passwd_file, "/etc/ocserv/passwd");
  EXPECT_EQ(c->server.tcp_port, 443);
  EXPECT_EQ(c->server.dtls_port, 443);
  EXPECT_EQ(c->session.max_clients, 16u);
  EXPECT_EQ(c->session.max_same_clients, 2u);
  EXPECT_EQ(c->security.max_ban_score, 80u);
  EXPECT_EQ(c->network.device, "vpns");
  EXPECT_EQ(format_ipv4(c->network.ipv4_network.network), "192.168.1.0");
  EXPECT_EQ(c->network.ipv4_network.length, 24);
  EXPECT_EQ(c->network.routes.size(), 3u);
  EXPECT_EQ(c->network.dns_servers.size(), 1u);
  EXPECT_EQ(c->network.default_domain, "example.com");
  // Never silently dropped: every active line is converted, listed as unsupported, or ignored.
  size_t active = 0;
  std::istringstream lines(text.str());
  std::string line;
  while (std::getline(lines, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] != '#') {
      ++active;
    }
  }
  EXPECT_EQ(active, r.converted + r.unsupported.size() + 1 /* isolate-workers */);
  EXPECT_NE(r.toml.find("# unsupported: rekey-method = ssl"), std::string::npos);
  EXPECT_NE(r.toml.find("# unsupported: tls-priorities = "), std::string::npos);
}

TEST(ImportOcserv, EmptyInputIsAValidConfig) {
  ImportResult r;
  auto c = convert("", &r);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(r.converted, 0u);
}

// Found by tests/fuzz/fuzz_config.cpp: Latin-1 or control bytes from an ocserv.conf were copied
// into the TOML (a string value or an "unsupported" comment), which our parser then refused.
TEST(ImportOcserv, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  ImportResult r;
  auto c = convert("banner = Caf\xE9 \xC3\xA9t\xC3\n"
                   "made-up-option = /usr/bin/x\x7f\x01\xFE\r\n",
                   &r);
  ASSERT_NE(c, nullptr) << r.toml;
  EXPECT_EQ(c->server.banner, "Caf\xEF\xBF\xBD \xC3\xA9t\xEF\xBF\xBD");
  EXPECT_NE(r.toml.find("# unsupported: made-up-option = /usr/bin/x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
            std::string::npos)
      << r.toml;
}

}  // namespace
}  // namespace ocm::config
