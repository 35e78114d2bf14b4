// Unit tests of ocm-loadgen's pure parts, fed with the server's own generators (lib/proto)
// where they exist, so that a drift between the two sides fails here first.

#include <gtest/gtest.h>

#include "auth_dialog.hpp"
#include "http_response.hpp"
#include "icmp.hpp"
#include "ocm/proto/auth_xml.hpp"
#include "ocm/proto/http.hpp"
#include "ocm/proto/tunnel_headers.hpp"
#include "stats.hpp"
#include "tunnel_params.hpp"

namespace ocm::loadgen {
namespace {

HttpResponse parse_ok(std::string_view text, bool body) {
  HttpResponseParser p(body);
  EXPECT_EQ(p.feed(text), text.size());
  EXPECT_EQ(p.state(), HttpResponseParser::State::kComplete) << p.error();
  return p.response();
}

TEST(HttpResponseParser, ParsesServerResponseByteByByte) {
  std::string text = proto::http_response(1, 200, "OK", {{"Set-Cookie", "a=b"}}, "<x/>");
  HttpResponseParser p(true);
  for (char c : text) {
    ASSERT_EQ(p.feed(std::string_view(&c, 1)), 1u);
  }
  ASSERT_EQ(p.state(), HttpResponseParser::State::kComplete);
  EXPECT_EQ(p.response().status, 200);
  EXPECT_EQ(p.response().body, "<x/>");
  EXPECT_EQ(*p.response().header("Set-Cookie"), "a=b");
}

TEST(HttpResponseParser, RejectsSloppyResponses) {
  for (std::string_view bad : {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20x OK\r\n\r\n", "HTTP/1.1 200 OK\n\n",
                               "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"}) {
    HttpResponseParser p(true);
    p.feed(bad);
    EXPECT_EQ(p.state(), HttpResponseParser::State::kError) << bad;
  }
}

TEST(HttpResponseParser, StopsAfterHeadersWithoutBody) {
  HttpResponseParser p(false);
  std::string_view text = "HTTP/1.1 200 CONNECTED\r\nX-CSTP-MTU: 1400\r\n\r\nSTF";
  EXPECT_EQ(p.feed(text), text.size() - 3);
  EXPECT_EQ(p.state(), HttpResponseParser::State::kComplete);
}

TEST(AuthDialog, ReadsTheServersForms) {
  auto user = parse_auth_document(proto::username_form_xml(""));
  ASSERT_TRUE(user) << user.error().message;
  EXPECT_EQ(user->auth_id, "main");
  EXPECT_EQ(user->form_action, "/auth");
  ASSERT_EQ(user->inputs.size(), 1u);
  EXPECT_EQ(user->inputs[0].name, "username");
  auto req = auth_reply_request(*user, "10.0.0.1:4443", "", "al<ice", "pw");
  ASSERT_TRUE(req);
  EXPECT_NE(req->find("POST /auth HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(req->find("<username>al&lt;ice</username>"), std::string::npos);
  // The server's own parser must read what we send.
  auto body = req->substr(req->find("\r\n\r\n") + 4);
  auto fields = proto::parse_auth_body(body);
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->username.value_or(""), "al<ice");

  auto pass = parse_auth_document(proto::password_form_xml("Please enter your password."));
  ASSERT_TRUE(pass);
  ASSERT_EQ(pass->inputs.size(), 1u);
  EXPECT_EQ(pass->inputs[0].type, "password");
  auto done = parse_auth_document(proto::auth_complete_xml(""));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->auth_id, "success");
  EXPECT_FALSE(parse_auth_document("<config-auth><nothing/></config-auth>"));
}

TEST(AuthDialog, CookieJarAndSessionCookie) {
  CookieJar jar;
  ASSERT_TRUE(jar.absorb("webvpncontext=abc; Secure; HttpOnly"));
  ASSERT_TRUE(jar.absorb("webvpn=QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=; Secure"));
  EXPECT_EQ(jar.header_value(), "webvpn=QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=; webvpncontext=abc");
  ASSERT_TRUE(jar.absorb("webvpncontext=; expires=Thu, 01 Jan 1970 22:00:00 GMT"));
  EXPECT_FALSE(jar.get("webvpncontext"));
  EXPECT_FALSE(jar.absorb("novalue"));
  EXPECT_TRUE(valid_session_cookie(*jar.get("webvpn")));
  EXPECT_FALSE(valid_session_cookie("QUFB"));
  EXPECT_FALSE(valid_session_cookie("!UFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="));
}

proto::TunnelReply sample_reply() {
  proto::TunnelReply r;
  r.server_name = "ocserv-modern 0.1.0";
  r.address = 0xC0A8640A;
  r.netmask = 0xFFFFFF00;
  r.dpd_seconds = 5;
  r.keepalive_seconds = 4;
  r.mtu = 1400;
  proto::TunnelReply::Dtls d;
  d.port = 4443;
  d.id_hex = std::string(64, 'a');
  d.suite = "PSK-NEGOTIATE";
  r.dtls = d;
  return r;
}

TEST(TunnelParams, ReadsTheServersReply) {
  auto resp = parse_ok(proto::tunnel_reply(sample_reply()), false);
  auto t = parse_tunnel_reply(resp, true);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->address, 0xC0A8640Au);
  EXPECT_EQ(t->mtu, 1400u);
  EXPECT_EQ(t->cstp_dpd, 5u);
  ASSERT_TRUE(t->dtls);
  EXPECT_EQ(t->dtls->port, 4443);
  EXPECT_EQ(t->dtls->app_id[0], 0xaa);
}

TEST(TunnelParams, RejectsWhatOpenconnectWouldNotAccept) {
  auto legacy = sample_reply();
  legacy.dtls->psk = false;
  legacy.dtls->suite = "AES256-GCM-SHA384";
  EXPECT_FALSE(parse_tunnel_reply(parse_ok(proto::tunnel_reply(legacy), false), true));
  // DTLS answered although not offered.
  EXPECT_FALSE(parse_tunnel_reply(parse_ok(proto::tunnel_reply(sample_reply()), false), false));
  auto bad_addr = sample_reply();
  bad_addr.address = 0xC0A86400;  // the network address
  EXPECT_FALSE(parse_tunnel_reply(parse_ok(proto::tunnel_reply(bad_addr), false), true));
  auto short_id = sample_reply();
  short_id.dtls->id_hex = "abcd";
  EXPECT_FALSE(parse_tunnel_reply(parse_ok(proto::tunnel_reply(short_id), false), true));
  auto no_dtls = sample_reply();
  no_dtls.dtls.reset();
  auto t = parse_tunnel_reply(parse_ok(proto::tunnel_reply(no_dtls), false), true);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->dtls);
}

TEST(Icmp, EchoRoundTrip) {
  auto req = icmp_echo_request(0x0A000002, 0x0A000001, 7, 9, 100);
  ASSERT_EQ(req.size(), 100u);
  // Turn the request into the reply a host would send: swap addresses, type 0, fix checksums.
  auto rep = req;
  std::swap_ranges(rep.begin() + 12, rep.begin() + 16, rep.begin() + 16);
  rep[20] = 0;
  rep[22] = static_cast<uint8_t>(rep[22] + 8);  // checksum adjusts by the type change (8 -> 0)
  auto parsed = parse_echo_reply(rep, 0x0A000001, 0x0A000002, 7);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->seq, 9);
  EXPECT_FALSE(parse_echo_reply(rep, 0x0A000001, 0x0A000002, 8));
  EXPECT_FALSE(parse_echo_reply(req, 0x0A000001, 0x0A000002, 7));
}

TEST(Stats, Percentile) {
  EXPECT_EQ(percentile({}, 50), 0u);
  EXPECT_EQ(percentile({5, 1, 3, 2, 4}, 50), 3u);
  EXPECT_EQ(percentile({5, 1, 3, 2, 4}, 100), 5u);
  EXPECT_EQ(percentile({5, 1, 3, 2, 4}, 1), 1u);
}

}  // namespace
}  // namespace ocm::loadgen
