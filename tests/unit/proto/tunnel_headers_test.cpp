#include "ocm/proto/tunnel_headers.hpp"

#include <gtest/gtest.h>

#include "param_name.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ocm::proto {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpRequest connect_with(Headers headers) {
  HttpRequest req;
  req.method = HttpMethod::kConnect;
  req.method_text = "CONNECT";
  req.target = "/CSCOSSLC/tunnel";
  req.headers = std::move(headers);
  return req;
}

// ---------------------------------------------------------------- request parsing

TEST(TunnelRequest, OpenconnectRequestThroughTheHttpParser) {
  // protocol.md §3.1, trimmed of headers this parser does not look at.
  const char* raw =
      "CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\n"
      "Host: 10.99.0.1:4443\r\n"
      "User-Agent: Open AnyConnect VPN Agent v9.01-3\r\n"
      "Cookie: webvpn=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"
      "X-CSTP-Version: 1\r\n"
      "X-CSTP-Hostname: vm\r\n"
      "X-CSTP-Accept-Encoding: oc-lz4,lzs\r\n"
      "X-CSTP-Base-MTU: 1500\r\n"
      "X-CSTP-MTU: 1390\r\n"
      "X-CSTP-Address-Type: IPv6,IPv4\r\n"
      "X-CSTP-Full-IPv6-Capability: true\r\n"
      "X-DTLS-CipherSuite: PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM\r\n"
      "\r\n";
  HttpRequestParser parser;
  parser.feed(raw);
  ASSERT_EQ(parser.state(), HttpRequestParser::State::kComplete);
  auto req = parse_tunnel_request(parser.request());
  EXPECT_EQ(req.base_mtu, 1500u);
  EXPECT_EQ(req.mtu, 1390u);
  EXPECT_TRUE(req.wants_ipv4);
  EXPECT_EQ(req.hostname, "vm");
  EXPECT_EQ(req.dtls_ciphersuites, "PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM");
  EXPECT_FALSE(req.dtls_master_secret.has_value());
}

TEST(TunnelRequest, DtlsMasterSecretNeedsNinetySixHexDigits) {
  std::string hex;
  for (int i = 0; i < 48; ++i) {
    hex += "A" + std::to_string(i % 10);
  }
  auto full = parse_tunnel_request(connect_with({{"X-DTLS-Master-Secret", hex + "FF"}}));
  ASSERT_TRUE(full.dtls_master_secret.has_value());
  EXPECT_EQ((*full.dtls_master_secret)[0], 0xA0);
  EXPECT_EQ((*full.dtls_master_secret)[47], 0xA7);
  EXPECT_FALSE(parse_tunnel_request(connect_with({{"X-DTLS-Master-Secret", hex.substr(2)}}))
                   .dtls_master_secret.has_value());
  std::string bad = hex;
  bad[10] = 'g';
  EXPECT_FALSE(parse_tunnel_request(connect_with({{"X-DTLS-Master-Secret", bad}})).dtls_master_secret.has_value());
  auto both = parse_tunnel_request(connect_with({{"X-DTLS12-CipherSuite", "AES256-GCM-SHA384:AES128-GCM-SHA256"}}));
  EXPECT_EQ(both.dtls12_ciphersuites, "AES256-GCM-SHA384:AES128-GCM-SHA256");
}

struct RequestCase {
  const char* name;
  Headers headers;
  std::optional<uint32_t> base_mtu;
  std::optional<uint32_t> mtu;
  bool wants_ipv4;
  std::string hostname;
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const RequestCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<RequestCase> request_cases() {
  std::string host63(63, 'h');
  std::string host64(64, 'h');
  return {
      {"Nothing", {}, std::nullopt, std::nullopt, true, ""},
      {"DisableIpv6", {{"X-CSTP-Address-Type", "IPv4"}}, std::nullopt, std::nullopt, true, ""},
      {"Ipv6Only", {{"X-CSTP-Address-Type", "IPv6"}}, std::nullopt, std::nullopt, false, ""},
      {"AddressTypeCaseSensitive", {{"X-CSTP-Address-Type", "ipv4"}}, std::nullopt, std::nullopt, false, ""},
      {"HeaderNamesCaseInsensitive", {{"x-cstp-base-mtu", "1400"}, {"X-CSTP-mtu", "1300"}}, 1400u, 1300u, true, ""},
      {"BaseMtuLowest", {{"X-CSTP-Base-MTU", "1280"}}, 1280u, std::nullopt, true, ""},
      {"BaseMtuBelowRange", {{"X-CSTP-Base-MTU", "1279"}}, std::nullopt, std::nullopt, true, ""},
      {"BaseMtuHighest", {{"X-CSTP-Base-MTU", "65535"}}, 65535u, std::nullopt, true, ""},
      {"BaseMtuAboveRange", {{"X-CSTP-Base-MTU", "65536"}}, std::nullopt, std::nullopt, true, ""},
      {"BaseMtuHuge", {{"X-CSTP-Base-MTU", "99999999999999999999"}}, std::nullopt, std::nullopt, true, ""},
      {"BaseMtuNotNumber", {{"X-CSTP-Base-MTU", "abc"}}, std::nullopt, std::nullopt, true, ""},
      {"BaseMtuSign", {{"X-CSTP-Base-MTU", "+1500"}}, std::nullopt, std::nullopt, true, ""},
      {"BaseMtuEmpty", {{"X-CSTP-Base-MTU", ""}}, std::nullopt, std::nullopt, true, ""},
      {"BaseMtuTrailingJunk", {{"X-CSTP-Base-MTU", "1500x"}}, std::nullopt, std::nullopt, true, ""},
      {"MtuLowest", {{"X-CSTP-MTU", "576"}}, std::nullopt, 576u, true, ""},
      {"MtuBelowRange", {{"X-CSTP-MTU", "575"}}, std::nullopt, std::nullopt, true, ""},
      {"MtuZero", {{"X-CSTP-MTU", "0"}}, std::nullopt, std::nullopt, true, ""},
      {"MtuNegative", {{"X-CSTP-MTU", "-1"}}, std::nullopt, std::nullopt, true, ""},
      {"HostnameDotsDashes",
       {{"X-CSTP-Hostname", "my-laptop.corp.example"}},
       std::nullopt,
       std::nullopt,
       true,
       "my-laptop.corp.example"},
      {"Hostname63", {{"X-CSTP-Hostname", host63}}, std::nullopt, std::nullopt, true, host63},
      {"Hostname64", {{"X-CSTP-Hostname", host64}}, std::nullopt, std::nullopt, true, ""},
      {"HostnameEmpty", {{"X-CSTP-Hostname", ""}}, std::nullopt, std::nullopt, true, ""},
      {"HostnameSpace", {{"X-CSTP-Hostname", "my host"}}, std::nullopt, std::nullopt, true, ""},
      {"HostnameUnderscore", {{"X-CSTP-Hostname", "my_host"}}, std::nullopt, std::nullopt, true, ""},
      {"HostnameHeaderInjection",
       {{"X-CSTP-Hostname", "vm\r\nX-CSTP-Address: 1.2.3.4"}},
       std::nullopt,
       std::nullopt,
       true,
       ""},
      {"HostnameNonAscii", {{"X-CSTP-Hostname", "h\xC3\xB6st"}}, std::nullopt, std::nullopt, true, ""},
  };
}

class TunnelRequestTest : public ::testing::TestWithParam<RequestCase> {};

TEST_P(TunnelRequestTest, Parses) {
  const auto& c = GetParam();
  auto req = parse_tunnel_request(connect_with(c.headers));
  EXPECT_EQ(req.base_mtu, c.base_mtu);
  EXPECT_EQ(req.mtu, c.mtu);
  EXPECT_EQ(req.wants_ipv4, c.wants_ipv4);
  EXPECT_EQ(req.hostname, c.hostname);
}

INSTANTIATE_TEST_SUITE_P(Headers, TunnelRequestTest, ::testing::ValuesIn(request_cases()), case_name<RequestCase>);

// ---------------------------------------------------------------- reply

TunnelReply sample_reply() {
  TunnelReply r;
  r.server_name = "ocserv-modern 0.1.0";
  r.hostname = "vm";
  r.dpd_seconds = 90;
  r.keepalive_seconds = 32400;
  r.idle_timeout_seconds = 0;
  r.default_domain = "example.test";
  r.address = 0xC0A86332;  // 192.168.99.50
  r.netmask = 0xFFFFFF00;
  r.dns = {0xC0A86301, 0x0A000035};
  r.split_dns = {"corp.test", "lab.test"};
  r.split_include = {Ipv4Prefix{0x0A0A0000, 16}, Ipv4Prefix{0xAC100000, 12}};
  r.default_route = false;
  r.base_mtu = 1500;
  r.mtu = 1472;
  r.banner = "Welcome banner";
  return r;
}

TEST(TunnelReply, ExactTextInOcservOrder) {
  EXPECT_EQ(tunnel_reply(sample_reply()),
            "HTTP/1.1 200 CONNECTED\r\n"
            "X-CSTP-Version: 1\r\n"
            "X-CSTP-Server-Name: ocserv-modern 0.1.0\r\n"
            "X-CSTP-Hostname: vm\r\n"
            "X-CSTP-DPD: 90\r\n"
            "X-CSTP-Default-Domain: example.test\r\n"
            "X-CSTP-Address: 192.168.99.50\r\n"
            "X-CSTP-Netmask: 255.255.255.0\r\n"
            "X-CSTP-DNS: 192.168.99.1\r\n"
            "X-CSTP-DNS: 10.0.0.53\r\n"
            "X-CSTP-Split-DNS: corp.test\r\n"
            "X-CSTP-Split-DNS: lab.test\r\n"
            "X-CSTP-Split-Include: 10.10.0.0/255.255.0.0\r\n"
            "X-CSTP-Split-Include: 172.16.0.0/255.240.0.0\r\n"
            "X-CSTP-Tunnel-All-DNS: false\r\n"
            "X-CSTP-Keepalive: 32400\r\n"
            "X-CSTP-Idle-Timeout: none\r\n"
            "X-CSTP-Smartcard-Removal-Disconnect: true\r\n"
            "X-CSTP-Rekey-Method: none\r\n"
            "X-CSTP-Session-Timeout: none\r\n"
            "X-CSTP-Disconnected-Timeout: none\r\n"
            "X-CSTP-Keep: true\r\n"
            "X-CSTP-TCP-Keepalive: true\r\n"
            "X-CSTP-License: accept\r\n"
            "X-CSTP-Base-MTU: 1500\r\n"
            "X-CSTP-MTU: 1472\r\n"
            "X-CSTP-Banner: Welcome banner\r\n"
            "\r\n");
}

TEST(TunnelReply, PskOfferInOcservOrder) {
  auto r = sample_reply();
  r.banner.clear();
  r.mtu = 1434;
  r.dtls = TunnelReply::Dtls{4443, true, std::string(64, 'e'), false, "PSK-NEGOTIATE"};
  std::string text = tunnel_reply(r);
  EXPECT_NE(text.find("X-CSTP-License: accept\r\n"
                      "X-DTLS-DPD: 90\r\n"
                      "X-DTLS-Port: 4443\r\n"
                      "X-DTLS-Keepalive: 32400\r\n"
                      "X-DTLS-App-ID: " +
                      std::string(64, 'e') +
                      "\r\n"
                      "X-DTLS-CipherSuite: PSK-NEGOTIATE\r\n"
                      "X-CSTP-Base-MTU: 1500\r\n"
                      "X-CSTP-MTU: 1434\r\n\r\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("X-DTLS-Session-ID"), std::string::npos);
  EXPECT_EQ(text.find("X-DTLS-MTU"), std::string::npos);
}

TEST(TunnelReply, LegacyOfferNamesSessionSuiteAndMtu) {
  auto r = sample_reply();
  r.mtu = 1434;
  r.dtls = TunnelReply::Dtls{443, false, std::string(64, 'a'), true, "AES256-GCM-SHA384"};
  std::string text = tunnel_reply(r);
  EXPECT_NE(text.find("X-DTLS-Session-ID: " + std::string(64, 'a') + "\r\n"), std::string::npos);
  EXPECT_NE(text.find("X-DTLS12-CipherSuite: AES256-GCM-SHA384\r\n"), std::string::npos);
  EXPECT_NE(text.find("X-DTLS-MTU: 1434\r\n"), std::string::npos);
  EXPECT_EQ(text.find("X-DTLS-App-ID"), std::string::npos);
  r.dtls->suite_from_dtls12 = false;
  r.dtls->suite = "OC-DTLS1_2-AES128-GCM";
  EXPECT_NE(tunnel_reply(r).find("X-DTLS-CipherSuite: OC-DTLS1_2-AES128-GCM\r\n"), std::string::npos);
}

// protocol.md §3.3: rekey time and method after Smartcard-Removal-Disconnect, the session timeout
// and what is left of it next, and the DTLS rekey time (CSTP + 10) right after X-DTLS-Port.
TEST(TunnelReply, RekeyAndSessionTimeoutInOcservOrder) {
  struct Case {
    uint32_t rekey;
    const char* method;
    uint32_t session_timeout;
    uint32_t remaining;
    const char* cstp_part;
    const char* dtls_part;
  };
  const Case cases[] = {
      {172829, "ssl", 0, 0, "X-CSTP-Rekey-Time: 172829\r\nX-CSTP-Rekey-Method: ssl\r\nX-CSTP-Session-Timeout: none\r\n",
       "X-DTLS-Port: 4443\r\nX-DTLS-Rekey-Time: 172839\r\nX-DTLS-Keepalive"},
      {12, "new-tunnel", 600, 550,
       "X-CSTP-Rekey-Time: 12\r\nX-CSTP-Rekey-Method: new-tunnel\r\nX-CSTP-Session-Timeout: 600\r\n"
       "X-CSTP-Session-Timeout-Remaining: 550\r\nX-CSTP-Disconnected-Timeout",
       "X-DTLS-Port: 4443\r\nX-DTLS-Rekey-Time: 22\r\nX-DTLS-Keepalive"},
      {0, "ssl", 0, 0, "X-CSTP-Smartcard-Removal-Disconnect: true\r\nX-CSTP-Rekey-Method: none\r\n",
       "X-DTLS-Port: 4443\r\nX-DTLS-Keepalive"},
  };
  for (const auto& c : cases) {
    auto r = sample_reply();
    r.rekey_seconds = c.rekey;
    r.rekey_method = c.method;
    r.session_timeout_seconds = c.session_timeout;
    r.session_timeout_remaining_seconds = c.remaining;
    r.dtls = TunnelReply::Dtls{4443, true, std::string(64, 'e'), false, "PSK-NEGOTIATE"};
    std::string text = tunnel_reply(r);
    EXPECT_NE(text.find(c.cstp_part), std::string::npos) << text;
    EXPECT_NE(text.find(c.dtls_part), std::string::npos) << text;
    // DTLS has no rekey method of its own: the client must not try an in-place rehandshake.
    EXPECT_EQ(text.find("X-DTLS-Rekey-Method"), std::string::npos);
  }
}

TEST(TunnelReply, MinimalWithDefaultRoute) {
  TunnelReply r;
  r.server_name = "ocserv-modern 0.1.0";
  r.address = 0x0A080001;
  r.netmask = 0xFFFF0000;
  r.dpd_seconds = 60;
  r.keepalive_seconds = 300;
  r.idle_timeout_seconds = 1200;
  r.split_include = {Ipv4Prefix{0x0A0A0000, 16}};  // ignored with a default route
  r.default_route = true;
  r.base_mtu = 1400;
  r.mtu = 1372;
  EXPECT_EQ(tunnel_reply(r),
            "HTTP/1.1 200 CONNECTED\r\n"
            "X-CSTP-Version: 1\r\n"
            "X-CSTP-Server-Name: ocserv-modern 0.1.0\r\n"
            "X-CSTP-DPD: 60\r\n"
            "X-CSTP-Address: 10.8.0.1\r\n"
            "X-CSTP-Netmask: 255.255.0.0\r\n"
            "X-CSTP-Tunnel-All-DNS: true\r\n"
            "X-CSTP-Keepalive: 300\r\n"
            "X-CSTP-Idle-Timeout: 1200\r\n"
            "X-CSTP-Smartcard-Removal-Disconnect: true\r\n"
            "X-CSTP-Rekey-Method: none\r\n"
            "X-CSTP-Session-Timeout: none\r\n"
            "X-CSTP-Disconnected-Timeout: none\r\n"
            "X-CSTP-Keep: true\r\n"
            "X-CSTP-TCP-Keepalive: true\r\n"
            "X-CSTP-License: accept\r\n"
            "X-CSTP-Base-MTU: 1400\r\n"
            "X-CSTP-MTU: 1372\r\n"
            "\r\n");
}

// ---------------------------------------------------------------- IPv6

TEST(TunnelRequest, AddressTypeAndFullIpv6) {
  auto both = parse_tunnel_request(connect_with({{"X-CSTP-Address-Type", "IPv6,IPv4"},
                                                 {"X-CSTP-Full-IPv6-Capability", "true"},
                                                 {"User-Agent", "Open AnyConnect VPN Agent v9.01-3"}}));
  EXPECT_TRUE(both.wants_ipv4);
  EXPECT_TRUE(both.wants_ipv6);
  EXPECT_TRUE(both.full_ipv6);
  EXPECT_EQ(both.agent, ClientAgent::kOpenConnect);
  // openconnect --disable-ipv6
  auto v4only = parse_tunnel_request(connect_with({{"X-CSTP-Address-Type", "IPv4"}}));
  EXPECT_TRUE(v4only.wants_ipv4);
  EXPECT_FALSE(v4only.wants_ipv6);
  EXPECT_FALSE(v4only.full_ipv6);
  EXPECT_EQ(v4only.agent, ClientAgent::kUnknown);
  // No header: ocserv assumes both families.
  auto none = parse_tunnel_request(connect_with({}));
  EXPECT_TRUE(none.wants_ipv6);
  EXPECT_FALSE(none.full_ipv6);
}

TEST(TunnelRequest, AgentClassesAsOcserv) {
  EXPECT_EQ(classify_agent("Open AnyConnect VPN Agent v9.01-3"), ClientAgent::kOpenConnect);
  EXPECT_EQ(classify_agent("open anyconnect vpn agent v3"), ClientAgent::kOpenConnect);
  EXPECT_EQ(classify_agent("OpenConnect VPN Agent (PolicyKit)"), ClientAgent::kOpenConnect);
  EXPECT_EQ(classify_agent("AnyConnect Linux_64 4.10.07061"), ClientAgent::kAnyConnect);
  EXPECT_EQ(classify_agent("Cisco AnyConnect VPN Agent for Apple"), ClientAgent::kAnyConnect);
  EXPECT_EQ(classify_agent("curl/8.0"), ClientAgent::kUnknown);
  EXPECT_EQ(classify_agent(""), ClientAgent::kUnknown);
}

struct Ipv6Fixture {
  Ipv6Addr addr = *parse_ipv6("fd99:1::32");
  Ipv6Prefix net = *parse_ipv6_prefix("fd99:1::/64");
  std::vector<Ipv6Addr> dns = {*parse_ipv6("fd99:1::1")};
  std::vector<Ipv6Prefix> routes = {*parse_ipv6_prefix("fd00:aa::/64")};

  [[nodiscard]] std::optional<TunnelReply::Ipv6> reply_for(Headers headers, uint32_t mtu = 1434) const {
    return ipv6_reply(parse_tunnel_request(connect_with(std::move(headers))), mtu, addr, 128, net, dns, routes);
  }
};

const Headers kOpenconnect = {{"User-Agent", "Open AnyConnect VPN Agent v9.01-3"},
                              {"X-CSTP-Address-Type", "IPv6,IPv4"},
                              {"X-CSTP-Full-IPv6-Capability", "true"}};

TEST(TunnelReply, Ipv6FullClientInOcservOrder) {
  Ipv6Fixture f;
  auto r = sample_reply();
  r.ipv6 = f.reply_for(kOpenconnect);
  ASSERT_TRUE(r.ipv6);
  std::string text = tunnel_reply(r);
  EXPECT_NE(text.find("X-CSTP-Netmask: 255.255.255.0\r\n"
                      "X-CSTP-Address-IP6: fd99:1::32/128\r\n"
                      "X-CSTP-DNS: 192.168.99.1\r\n"
                      "X-CSTP-DNS: 10.0.0.53\r\n"
                      "X-CSTP-DNS: fd99:1::1\r\n"
                      "X-CSTP-Split-DNS: corp.test\r\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("X-CSTP-Split-Include: 172.16.0.0/255.240.0.0\r\n"
                      "X-CSTP-Split-Include-IP6: fd00:aa::/64\r\n"
                      "X-CSTP-Tunnel-All-DNS: false\r\n"),
            std::string::npos)
      << text;
  // Full tunnel: neither family gets split routes.
  r.default_route = true;
  text = tunnel_reply(r);
  EXPECT_EQ(text.find("Split-Include"), std::string::npos) << text;
  EXPECT_NE(text.find("X-CSTP-Address-IP6: fd99:1::32/128\r\n"), std::string::npos);
}

TEST(TunnelReply, Ipv6AnyConnectGetsDnsIp6Header) {
  Ipv6Fixture f;
  auto r = sample_reply();
  r.ipv6 = f.reply_for({{"User-Agent", "AnyConnect Linux_64 4.10.07061"},
                        {"X-CSTP-Address-Type", "IPv6,IPv4"},
                        {"X-CSTP-Full-IPv6-Capability", "true"}});
  ASSERT_TRUE(r.ipv6);
  std::string text = tunnel_reply(r);
  EXPECT_NE(text.find("X-CSTP-DNS-IP6: fd99:1::1\r\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("X-CSTP-DNS: fd99"), std::string::npos) << text;
}

TEST(TunnelReply, Ipv6WithoutFullCapabilityUsesAddressAndNetmask) {
  Ipv6Fixture f;
  auto r = sample_reply();
  r.ipv6 = f.reply_for({{"User-Agent", "Open AnyConnect VPN Agent v9.01-3"}, {"X-CSTP-Address-Type", "IPv6,IPv4"}});
  ASSERT_TRUE(r.ipv6);
  std::string text = tunnel_reply(r);
  EXPECT_NE(text.find("X-CSTP-Address: 192.168.99.50\r\n"
                      "X-CSTP-Netmask: 255.255.255.0\r\n"
                      "X-CSTP-Address: fd99:1::32\r\n"
                      "X-CSTP-Netmask: fd99:1::/64\r\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("IP6"), std::string::npos) << text;  // no IPv6 routes/DNS either
  EXPECT_EQ(text.find("fd99:1::1"), std::string::npos) << text;
}

TEST(TunnelReply, Ipv6LeftOutWhenNotWantedOrMtuTooSmall) {
  Ipv6Fixture f;
  EXPECT_FALSE(f.reply_for({{"X-CSTP-Address-Type", "IPv4"}}));  // --disable-ipv6
  EXPECT_FALSE(f.reply_for(kOpenconnect, 1279));               // --base-mtu=1300 gives 1234
  EXPECT_TRUE(f.reply_for(kOpenconnect, 1280));
  // Unknown agents get the address but no IPv6 routes or DNS.
  auto unknown = f.reply_for({{"X-CSTP-Address-Type", "IPv6,IPv4"}, {"X-CSTP-Full-IPv6-Capability", "true"}});
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->dns.empty());
  EXPECT_TRUE(unknown->split_include.empty());
  auto r = sample_reply();
  EXPECT_EQ(tunnel_reply(r).find("IP6"), std::string::npos);  // no ipv6 at all by default
}

// ---------------------------------------------------------------- compression (protocol.md §6.6)

TEST(TunnelRequest, AcceptEncodingsAsSent) {
  auto req = parse_tunnel_request(
      connect_with({{"X-CSTP-Accept-Encoding", "oc-lz4,lzs"}, {"X-DTLS-Accept-Encoding", "deflate,lzs"}}));
  EXPECT_EQ(req.cstp_accept_encoding, "oc-lz4,lzs");
  EXPECT_EQ(req.dtls_accept_encoding, "deflate,lzs");
  auto none = parse_tunnel_request(connect_with({}));  // openconnect --compression=none
  EXPECT_TRUE(none.cstp_accept_encoding.empty());
  EXPECT_TRUE(none.dtls_accept_encoding.empty());
}

struct EncodingCase {
  const char* name;
  Compression cstp;
  bool dtls_offered;
  Compression dtls;
  std::vector<std::string> present;  // whole header lines expected
  std::vector<std::string> absent;   // header names that must not appear
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const EncodingCase& c, std::ostream* os) {
  *os << c.name;
}

class ContentEncodingTest : public ::testing::TestWithParam<EncodingCase> {};

TEST_P(ContentEncodingTest, HeadersOnlyForNegotiatedChannels) {
  const auto& c = GetParam();
  auto r = sample_reply();
  r.cstp_compression = c.cstp;
  if (c.dtls_offered) {
    r.dtls = TunnelReply::Dtls{4443, true, std::string(64, 'e'), false, "PSK-NEGOTIATE", c.dtls};
  }
  std::string text = tunnel_reply(r);
  for (const auto& line : c.present) {
    EXPECT_NE(text.find(line + "\r\n"), std::string::npos) << line << "\n" << text;
  }
  for (const auto& name : c.absent) {
    EXPECT_EQ(text.find(name), std::string::npos) << name << "\n" << text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ContentEncodingTest,
    ::testing::Values(EncodingCase{"Disabled",
                                   Compression::kNone,
                                   true,
                                   Compression::kNone,
                                   {},
                                   {"X-CSTP-Content-Encoding", "X-DTLS-Content-Encoding"}},
                      EncodingCase{"BothLz4",
                                   Compression::kLz4,
                                   true,
                                   Compression::kLz4,
                                   {"X-CSTP-Content-Encoding: oc-lz4", "X-DTLS-Content-Encoding: oc-lz4"},
                                   {}},
                      EncodingCase{"BothLzs",
                                   Compression::kLzs,
                                   true,
                                   Compression::kLzs,
                                   {"X-CSTP-Content-Encoding: lzs", "X-DTLS-Content-Encoding: lzs"},
                                   {}},
                      EncodingCase{"CstpOnlyNoDtlsOffer",
                                   Compression::kLz4,
                                   false,
                                   Compression::kNone,
                                   {"X-CSTP-Content-Encoding: oc-lz4"},
                                   {"X-DTLS-"}},
                      // A DTLS encoding without a DTLS offer has nowhere to go: the Dtls struct carries it.
                      EncodingCase{"DtlsOnly",
                                   Compression::kNone,
                                   true,
                                   Compression::kLzs,
                                   {"X-DTLS-Content-Encoding: lzs"},
                                   {"X-CSTP-Content-Encoding"}},
                      EncodingCase{"DifferentPerChannel",
                                   Compression::kLzs,
                                   true,
                                   Compression::kLz4,
                                   {"X-CSTP-Content-Encoding: lzs", "X-DTLS-Content-Encoding: oc-lz4"},
                                   {}}),
    case_name<EncodingCase>);

TEST(TunnelReply, DtlsEncodingStaysWithTheDtlsOfferAndCstpEncodingAfterMtu) {
  auto r = sample_reply();
  r.banner.clear();
  r.mtu = 1434;
  r.cstp_compression = Compression::kLz4;
  r.dtls = TunnelReply::Dtls{4443, true, std::string(64, 'e'), false, "PSK-NEGOTIATE", Compression::kLz4};
  std::string text = tunnel_reply(r);
  EXPECT_NE(text.find("X-DTLS-CipherSuite: PSK-NEGOTIATE\r\n"
                      "X-DTLS-Content-Encoding: oc-lz4\r\n"
                      "X-CSTP-Base-MTU: 1500\r\n"
                      "X-CSTP-MTU: 1434\r\n"
                      "X-CSTP-Content-Encoding: oc-lz4\r\n\r\n"),
            std::string::npos)
      << text;
}

TEST(TunnelReply, ZeroDpdOmitsHeader) {
  auto r = sample_reply();
  r.dpd_seconds = 0;
  EXPECT_EQ(tunnel_reply(r).find("X-CSTP-DPD"), std::string::npos);
}

TEST(TunnelReply, BannerLineBreaksCannotBreakTheHeaderBlock) {
  auto r = sample_reply();
  r.banner = "Line one\r\nX-CSTP-Address: 6.6.6.6\nLine three\r";
  auto text = tunnel_reply(r);
  EXPECT_NE(text.find("X-CSTP-Banner: Line one  X-CSTP-Address: 6.6.6.6 Line three \r\n\r\n"), std::string::npos);
  EXPECT_EQ(text.find("\r\nX-CSTP-Address: 6.6.6.6"), std::string::npos);
  // Exactly one blank line, at the very end.
  EXPECT_EQ(text.find("\r\n\r\n"), text.size() - 4);
}

TEST(TunnelReply, EveryLineIsNameColonSpaceValue) {
  auto text = tunnel_reply(sample_reply());
  size_t pos = text.find("\r\n") + 2;  // after the status line
  size_t lines = 0;
  while (true) {
    size_t end = text.find("\r\n", pos);
    ASSERT_NE(end, std::string::npos);
    if (end == pos) {
      break;
    }
    auto line = std::string_view(text).substr(pos, end - pos);
    auto colon = line.find(':');
    ASSERT_NE(colon, std::string_view::npos) << line;
    EXPECT_EQ(line.substr(0, 7), "X-CSTP-") << line;
    ASSERT_LT(colon + 2, line.size());
    EXPECT_EQ(line[colon + 1], ' ') << line;
    EXPECT_NE(line[colon + 2], ' ') << line;
    EXPECT_EQ(line.find('\r'), std::string_view::npos);
    EXPECT_EQ(line.find('\n'), std::string_view::npos);
    pos = end + 2;
    ++lines;
  }
  EXPECT_EQ(pos, text.size() - 2);
  EXPECT_EQ(lines, 26u);
  EXPECT_EQ(text.find("X-DTLS"), std::string::npos);
}

// ---------------------------------------------------------------- MTU

struct MtuCase {
  const char* name;
  uint32_t config_mtu;
  std::optional<uint32_t> base_mtu;
  std::optional<uint32_t> mtu;
  uint32_t expect_base;
  uint32_t expect_mtu;
  uint32_t dtls_overhead = 0;
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const MtuCase& c, std::ostream* os) {
  *os << c.name;
}

class ChooseMtuTest : public ::testing::TestWithParam<MtuCase> {};

TEST_P(ChooseMtuTest, Chooses) {
  const auto& c = GetParam();
  TunnelRequest req;
  req.base_mtu = c.base_mtu;
  req.mtu = c.mtu;
  auto choice = choose_mtu(c.config_mtu, req, c.dtls_overhead);
  EXPECT_EQ(choice.base_mtu, c.expect_base);
  EXPECT_EQ(choice.mtu, c.expect_mtu);
}

INSTANTIATE_TEST_SUITE_P(Table, ChooseMtuTest,
                         ::testing::Values(
                             // ocserv's "no DTLS" number on a 1500-byte link (protocol.md §3.4): 1472.
                             MtuCase{"NothingSent", 1500, std::nullopt, std::nullopt, 1500, 1472},
                             // ocserv's PSK/legacy AES-GCM number on a 1500-byte link: 1434.
                             MtuCase{"DtlsAesGcm", 1500, 1500u, 1390u, 1500, 1434, 38},
                             MtuCase{"DtlsChaCha", 1500, 1500u, 1390u, 1500, 1442, 30},
                             MtuCase{"DtlsBaseMtu1300", 1500, 1300u, std::nullopt, 1300, 1234, 38},
                             MtuCase{"DtlsConfigLower", 1400, 1500u, std::nullopt, 1500, 1400, 38},
                             MtuCase{"Openconnect", 1500, 1500u, 1390u, 1500, 1472},
                             MtuCase{"ConfigLower", 1400, 1500u, 1390u, 1500, 1400},
                             MtuCase{"BaseMtu1300", 1500, 1300u, std::nullopt, 1300, 1272},
                             MtuCase{"BaseMtuMinimum", 1500, 1280u, std::nullopt, 1280, 1252},
                             MtuCase{"BaseMtuBelowClamped", 1500, 1000u, std::nullopt, 1280, 1252},
                             MtuCase{"BaseMtuJumbo", 9000, 9000u, std::nullopt, 9000, 8972},
                             MtuCase{"BaseMtuAboveClamped", 9000, 65535u, std::nullopt, 9000, 8972},
                             MtuCase{"BaseMtuJumboConfigSmall", 1500, 9000u, std::nullopt, 9000, 1500},
                             MtuCase{"OldClientMtuOnly", 1500, std::nullopt, 1390u, 1418, 1390},
                             MtuCase{"OldClientSmallMtu", 1500, std::nullopt, 1000u, 1028, 1000},
                             MtuCase{"OldClientMinimumMtu", 1500, std::nullopt, 576u, 604, 576},
                             MtuCase{"OldClientHugeMtu", 1500, std::nullopt, 65535u, 9000, 1500},
                             MtuCase{"OldClientOverflowingMtu", 1500, std::nullopt, 0xFFFFFFF0u, 9000, 1500},
                             MtuCase{"FloorFromConfig", 500, std::nullopt, std::nullopt, 1500, 576},
                             MtuCase{"FloorFromTinyMtu", 1500, std::nullopt, 100u, 128, 576},
                             MtuCase{"ConfigZero", 0, 1500u, std::nullopt, 1500, 576}),
                         case_name<MtuCase>);

}  // namespace
}  // namespace ocm::proto
