// Unit tests of ocm-loadgen's pure parts, fed with the server's own generators (lib/proto)
// where they exist, so that a drift between the two sides fails here first.

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "auth_dialog.hpp"
#include "http_response.hpp"
#include "icmp.hpp"
#include "ocm/proto/auth_xml.hpp"
#include "ocm/proto/http.hpp"
#include "ocm/proto/tunnel_headers.hpp"
#include "stats.hpp"
#include "tls_client.hpp"
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

// The CSTP client offers key shares like openconnect (P-256 and X25519), so the server's
// choice, and its cost, is the one a real client causes.
TEST(TlsClient, OffersP256AndX25519KeySharesLikeOpenconnect) {
  auto ctx = TlsContext::create({});
  ASSERT_TRUE(ctx.has_value());
  for (int server_group : {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1}) {
    WOLFSSL_CTX* sctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
    ASSERT_NE(sctx, nullptr);
    const std::string data = OCM_TEST_DATA_DIR;
    ASSERT_EQ(wolfSSL_CTX_use_certificate_chain_file(sctx, (data + "/test-server.crt").c_str()), WOLFSSL_SUCCESS);
    ASSERT_EQ(wolfSSL_CTX_use_PrivateKey_file(sctx, (data + "/test-server.key").c_str(), WOLFSSL_FILETYPE_PEM),
              WOLFSSL_SUCCESS);
    // A server that takes only this group: served from the first flight (no HelloRetryRequest)
    // only if the client shared a key for it.
    int groups[] = {server_group};
    ASSERT_EQ(wolfSSL_CTX_set_groups(sctx, groups, 1), WOLFSSL_SUCCESS);
    struct Pipe {
      std::vector<uint8_t> bytes;
    } to_server, to_client;
    wolfSSL_CTX_SetIORecv(sctx, [](WOLFSSL*, char* buf, int sz, void* c) -> int {
      auto* p = static_cast<Pipe*>(c);
      if (p->bytes.empty()) {
        return WOLFSSL_CBIO_ERR_WANT_READ;
      }
      int n = std::min<int>(sz, static_cast<int>(p->bytes.size()));
      std::memcpy(buf, p->bytes.data(), static_cast<size_t>(n));
      p->bytes.erase(p->bytes.begin(), p->bytes.begin() + n);
      return n;
    });
    wolfSSL_CTX_SetIOSend(sctx, [](WOLFSSL*, char* buf, int sz, void* c) -> int {
      static_cast<Pipe*>(c)->bytes.insert(static_cast<Pipe*>(c)->bytes.end(), buf, buf + sz);
      return sz;
    });
    WOLFSSL* server = wolfSSL_new(sctx);
    wolfSSL_SetIOReadCtx(server, &to_server);
    wolfSSL_SetIOWriteCtx(server, &to_client);
    TlsClient client(*ctx);
    int flights = 0;
    bool done = false;
    for (int round = 0; round < 10 && !done; ++round) {
      IoStatus st = client.handshake();
      ASSERT_NE(st, IoStatus::kError) << client.last_error();
      to_server.bytes.insert(to_server.bytes.end(), client.output().begin(), client.output().end());
      if (!client.output().empty()) {
        ++flights;
      }
      client.output().clear();
      wolfSSL_accept(server);
      client.push_input(to_client.bytes.data(), to_client.bytes.size());
      to_client.bytes.clear();
      done = st == IoStatus::kOk;
    }
    ASSERT_TRUE(done);
    EXPECT_EQ(client.group(), server_group == WOLFSSL_ECC_X25519 ? "X25519" : "SECP256R1");
    EXPECT_EQ(flights, 2);  // ClientHello, Finished: no second ClientHello after a retry request
    wolfSSL_free(server);
    wolfSSL_CTX_free(sctx);
  }
}

}  // namespace
}  // namespace ocm::loadgen
