#include "ocm/proto/http.hpp"

#include <gtest/gtest.h>

#include "param_name.hpp"

#include <string>
#include <vector>

namespace ocm::proto {
namespace {

// The first XML POST of openconnect 9.01 (protocol.md §2.3), as one line on the wire.
constexpr std::string_view kInitBody =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<config-auth client=\"vpn\" type=\"init\" aggregate-auth-version=\"2\"><version who=\"vpn\">v9.01-3</version>"
    "<device-id>linux-64</device-id><capabilities><auth-method>single-sign-on-v2</auth-method>"
    "<auth-method>single-sign-on-external-browser</auth-method></capabilities>"
    "<group-access>https://10.99.0.1:4443/</group-access></config-auth>\n";

std::string openconnect_init_post() {
  return "POST / HTTP/1.1\r\n"
         "Host: 10.99.0.1:4443\r\n"
         "User-Agent: Open AnyConnect VPN Agent v9.01-3\r\n"
         "Accept: */*\r\n"
         "Accept-Encoding: identity\r\n"
         "X-Transcend-Version: 1\r\n"
         "X-Aggregate-Auth: 1\r\n"
         "X-Support-HTTP-Auth: true\r\n"
         "X-AnyConnect-STRAP-Pubkey: MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\r\n"
         "X-AnyConnect-STRAP-DH-Pubkey: MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAF\r\n"
         "X-Pad: 0000000000000000000000000000000000000000\r\n"
         "Content-Type: application/xml; charset=utf-8\r\n"
         "Content-Length: " +
         std::to_string(kInitBody.size()) + "\r\n\r\n" + std::string(kInitBody);
}

// The tunnel request of openconnect 9.01 (protocol.md §3.1).
constexpr const char* kConnectRequest =
    "CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\n"
    "Host: 10.99.0.1:4443\r\n"
    "User-Agent: Open AnyConnect VPN Agent v9.01-3\r\n"
    "Cookie: webvpn=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"
    "X-CSTP-Version: 1\r\n"
    "X-CSTP-Hostname: vm\r\n"
    "X-AnyConnect-STRAP-Verify: MEUCIQDx\r\n"
    "X-AnyConnect-STRAP-Pubkey: MFkwEwYH\r\n"
    "X-CSTP-Accept-Encoding: oc-lz4,lzs\r\n"
    "X-CSTP-Base-MTU: 1500\r\n"
    "X-CSTP-MTU: 1390\r\n"
    "X-CSTP-Address-Type: IPv6,IPv4\r\n"
    "X-CSTP-Full-IPv6-Capability: true\r\n"
    "X-DTLS-Master-Secret: "
    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\r\n"
    "X-DTLS-CipherSuite: PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM:OC2-DTLS1_2-CHACHA20-POLY1305:OC-DTLS1_2-AES128-GCM:"
    "DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA\r\n"
    "X-DTLS12-CipherSuite: ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384:"
    "AES128-GCM-SHA256:DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA\r\n"
    "X-DTLS-Accept-Encoding: oc-lz4,lzs\r\n"
    "\r\n";

struct Outcome {
  HttpRequestParser::State state;
  size_t consumed;
};

Outcome feed_all(HttpRequestParser& parser, std::string_view data) {
  size_t used = parser.feed(data);
  return {parser.state(), used};
}

Outcome feed_bytewise(HttpRequestParser& parser, std::string_view data) {
  size_t used = 0;
  while (used < data.size() && parser.state() == HttpRequestParser::State::kNeedMore) {
    size_t n = parser.feed(data.substr(used, 1));
    EXPECT_LE(n, 1u);
    if (n == 0) {
      break;
    }
    used += n;
  }
  return {parser.state(), used};
}

// ---------------------------------------------------------------- valid requests

struct ValidCase {
  const char* name;
  std::string raw;
  HttpMethod method;
  const char* method_text;
  const char* target;
  int minor;
  size_t header_count;
  std::string body;
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const ValidCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<ValidCase> valid_cases() {
  return {
      {"OpenconnectInitPost", openconnect_init_post(), HttpMethod::kPost, "POST", "/", 1, 12, std::string(kInitBody)},
      {"OpenconnectConnect", kConnectRequest, HttpMethod::kConnect, "CONNECT", "/CSCOSSLC/tunnel", 1, 16, ""},
      {"LegacyGet", "GET / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n",
       HttpMethod::kGet, "GET", "/", 1, 2, ""},
      {"FormPost", "POST /auth HTTP/1.1\r\nContent-Length: 14\r\n\r\nusername=alice", HttpMethod::kPost, "POST",
       "/auth", 1, 1, "username=alice"},
      {"BareLf", "GET /x HTTP/1.0\nHost: a\n\n", HttpMethod::kGet, "GET", "/x", 0, 1, ""},
      {"MixedLineEndings", "HEAD / HTTP/1.1\r\nA: 1\nB: 2\r\n\n", HttpMethod::kHead, "HEAD", "/", 1, 2, ""},
      {"OtherMethod", "DELETE /x HTTP/1.1\r\n\r\n", HttpMethod::kOther, "DELETE", "/x", 1, 0, ""},
      {"LowercaseIsOther", "get / HTTP/1.1\r\n\r\n", HttpMethod::kOther, "get", "/", 1, 0, ""},
      {"LeadingEmptyLines", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", HttpMethod::kGet, "GET", "/", 1, 0, ""},
      {"EmptyValue", "GET / HTTP/1.1\r\nX-Empty:\r\nX-Spaces: \t \r\n\r\n", HttpMethod::kGet, "GET", "/", 1, 2, ""},
      {"ObsTextInValue", "GET / HTTP/1.1\r\nUser-Agent: caf\xC3\xA9\r\n\r\n", HttpMethod::kGet, "GET", "/", 1, 1, ""},
      {"DuplicateEqualContentLength", "POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nhi",
       HttpMethod::kPost, "POST", "/", 1, 2, "hi"},
      {"BinaryBody", "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n" + std::string("\0\r\n", 3), HttpMethod::kPost,
       "POST", "/", 1, 1, std::string("\0\r\n", 3)},
  };
}

class HttpValidTest : public ::testing::TestWithParam<ValidCase> {
 protected:
  void check(HttpRequestParser& parser, Outcome outcome) {
    const auto& c = GetParam();
    ASSERT_EQ(outcome.state, HttpRequestParser::State::kComplete) << parser.error().status;
    EXPECT_EQ(outcome.consumed, c.raw.size());
    const auto& req = parser.request();
    EXPECT_EQ(req.method, c.method);
    EXPECT_EQ(req.method_text, c.method_text);
    EXPECT_EQ(req.target, c.target);
    EXPECT_EQ(req.version_minor, c.minor);
    EXPECT_EQ(req.headers.size(), c.header_count);
    EXPECT_EQ(req.body, c.body);
  }
};

TEST_P(HttpValidTest, AllAtOnce) {
  HttpRequestParser parser;
  EXPECT_FALSE(parser.started());
  auto outcome = feed_all(parser, GetParam().raw);
  EXPECT_TRUE(parser.started());
  check(parser, outcome);
}

TEST_P(HttpValidTest, ByteAtATime) {
  HttpRequestParser parser;
  check(parser, feed_bytewise(parser, GetParam().raw));
}

TEST_P(HttpValidTest, SplitAtEveryPoint) {
  const auto& raw = GetParam().raw;
  for (size_t split = 0; split <= raw.size(); ++split) {
    HttpRequestParser parser;
    size_t used = parser.feed(std::string_view(raw).substr(0, split));
    ASSERT_EQ(used, split);
    used += parser.feed(std::string_view(raw).substr(split));
    check(parser, {parser.state(), used});
  }
}

INSTANTIATE_TEST_SUITE_P(Requests, HttpValidTest, ::testing::ValuesIn(valid_cases()), case_name<ValidCase>);

TEST(HttpParser, OpenconnectHeadersAreKeptInOrderAndTrimmed) {
  HttpRequestParser parser;
  parser.feed(kConnectRequest);
  ASSERT_EQ(parser.state(), HttpRequestParser::State::kComplete);
  const auto& req = parser.request();
  EXPECT_EQ(req.headers[0].first, "Host");
  EXPECT_EQ(req.headers[0].second, "10.99.0.1:4443");
  EXPECT_EQ(req.headers[15].first, "X-DTLS-Accept-Encoding");
  EXPECT_EQ(req.header("x-cstp-base-mtu"), "1500");
  EXPECT_EQ(req.cookie("webvpn"), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  EXPECT_EQ(req.path(), "/CSCOSSLC/tunnel");
  EXPECT_FALSE(req.wants_close());
}

// ---------------------------------------------------------------- pipelining and reuse

TEST(HttpParser, PipelinedRequestsStopAfterEachOne) {
  std::string first = "POST /auth HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde";
  std::string second = "GET /next HTTP/1.1\r\n\r\n";
  std::string tail = "STF\x01";  // tunnel bytes after the last request are not ours
  std::string stream = first + second + tail;

  HttpRequestParser parser;
  size_t used = parser.feed(stream);
  ASSERT_EQ(parser.state(), HttpRequestParser::State::kComplete);
  EXPECT_EQ(used, first.size());
  EXPECT_EQ(parser.request().body, "abcde");
  EXPECT_EQ(parser.feed(stream.substr(used)), 0u) << "a complete parser must not consume more";

  HttpRequest moved = std::move(parser.request());
  EXPECT_EQ(moved.target, "/auth");
  parser.reset();
  EXPECT_FALSE(parser.started());
  size_t used2 = parser.feed(std::string_view(stream).substr(used));
  ASSERT_EQ(parser.state(), HttpRequestParser::State::kComplete);
  EXPECT_EQ(used2, second.size());
  EXPECT_EQ(parser.request().target, "/next");
  EXPECT_TRUE(parser.request().headers.empty());
  EXPECT_TRUE(parser.request().body.empty());
}

TEST(HttpParser, ResetClearsAnError) {
  HttpRequestParser parser;
  parser.feed("BROKEN\r\n");
  ASSERT_EQ(parser.state(), HttpRequestParser::State::kError);
  EXPECT_EQ(parser.feed("GET / HTTP/1.1\r\n\r\n"), 0u);
  parser.reset();
  parser.feed("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parser.state(), HttpRequestParser::State::kComplete);
}

TEST(HttpParser, StartedAfterFirstByte) {
  HttpRequestParser parser;
  EXPECT_EQ(parser.feed(""), 0u);
  EXPECT_FALSE(parser.started());
  parser.feed("G");
  EXPECT_TRUE(parser.started());
  EXPECT_EQ(parser.state(), HttpRequestParser::State::kNeedMore);
}

// ---------------------------------------------------------------- errors

struct ErrorCase {
  const char* name;
  std::string raw;
  int status;
  const char* reason;
  HttpLimits limits = {};
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

// Small limits make the boundaries easy to hit exactly.
HttpLimits small_limits() {
  HttpLimits l;
  l.max_request_line = 32;
  l.max_header_bytes = 64;
  l.max_headers = 3;
  l.max_body = 10;
  return l;
}

constexpr const char* kBad = "Bad Request";

std::vector<ErrorCase> error_cases() {
  HttpLimits small = small_limits();
  // "GET " + target + " HTTP/1.1" is 13 + target bytes.
  std::string target_over = "/" + std::string(19, 'a');
  // One header line "X: " + value + CRLF is 5 + value bytes.
  std::string value_over(60, 'v');
  return {
      {"NoSpaces", "GARBAGE\r\n\r\n", 400, kBad},
      {"MissingVersion", "GET /\r\n\r\n", 400, kBad},
      {"DoubleSpace", "GET  / HTTP/1.1\r\n\r\n", 400, kBad},
      {"TrailingSpace", "GET / HTTP/1.1 \r\n\r\n", 400, kBad},
      {"MethodNotToken", "G(T / HTTP/1.1\r\n\r\n", 400, kBad},
      {"TabInTarget", "GET /a\tb HTTP/1.1\r\n\r\n", 400, kBad},
      {"GarbageVersion", "GET / FTP/1.1\r\n\r\n", 400, kBad},
      {"VersionLetters", "GET / HTTP/x.y\r\n\r\n", 400, kBad},
      {"Http2", "GET / HTTP/2.0\r\n\r\n", 505, "HTTP Version Not Supported"},
      {"Http09", "GET / HTTP/0.9\r\n\r\n", 505, "HTTP Version Not Supported"},
      {"Http12", "GET / HTTP/1.2\r\n\r\n", 505, "HTTP Version Not Supported"},
      {"NulInRequestLine", std::string("GET /\0 HTTP/1.1\r\n\r\n", 19), 400, kBad},
      {"ControlInRequestLine", "GET /\x01 HTTP/1.1\r\n\r\n", 400, kBad},
      {"DelInHeader", "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400, kBad},
      {"NulInHeader", std::string("GET / HTTP/1.1\r\nA: \0\r\n\r\n", 24), 400, kBad},
      {"EscInHeader", "GET / HTTP/1.1\r\nA: \x1b[31m\r\n\r\n", 400, kBad},
      {"BareCrInLine", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400, kBad},
      {"ObsFold", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400, kBad},
      {"ObsFoldTab", "GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", 400, kBad},
      {"LeadingSpaceFirstHeader", "GET / HTTP/1.1\r\n A: b\r\n\r\n", 400, kBad},
      {"NoColon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, kBad},
      {"EmptyName", "GET / HTTP/1.1\r\n: v\r\n\r\n", 400, kBad},
      {"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, kBad},
      {"ContentLengthNotDigits", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400, kBad},
      {"ContentLengthNegative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, kBad},
      {"ContentLengthEmpty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, kBad},
      {"ContentLengthList", "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx", 400, kBad},
      {"ContentLengthConflict", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400, kBad},
      {"ContentLengthHuge", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
       "Payload Too Large"},
      {"ContentLengthOverDefault", "POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", 413, "Payload Too Large"},
      {"Chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, "Not Implemented"},
      {"ChunkedWithLength", "POST / HTTP/1.1\r\nContent-Length: 3\r\ntransfer-encoding: identity\r\n\r\nabc", 501,
       "Not Implemented"},
      {"RequestLineOneOver", "GET " + target_over + " HTTP/1.1\r\n\r\n", 414, "URI Too Long", small},
      {"RequestLineHuge", "GET /" + std::string(5000, 'a') + " HTTP/1.1\r\n\r\n", 414, "URI Too Long"},
      {"RequestLineNoEnd", "GET /" + std::string(100, 'a'), 414, "URI Too Long", small},
      {"HeaderBytesOneOver", "GET / HTTP/1.1\r\nX: " + value_over + "\r\n\r\n", 431, "Request Header Fields Too Large",
       small},
      {"HeaderBytesAcrossLines",
       "GET / HTTP/1.1\r\nA: " + std::string(30, 'a') + "\r\nB: " + std::string(25, 'b') + "\r\n\r\n", 431,
       "Request Header Fields Too Large", small},
      {"HeaderNoEnd", "GET / HTTP/1.1\r\nX: " + std::string(200, 'v'), 431, "Request Header Fields Too Large", small},
      {"TooManyHeaders", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431,
       "Request Header Fields Too Large", small},
      {"BodyOneOver", "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890", 413, "Payload Too Large", small},
  };
}

class HttpErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(HttpErrorTest, AllAtOnce) {
  const auto& c = GetParam();
  HttpRequestParser parser(c.limits);
  auto outcome = feed_all(parser, c.raw);
  ASSERT_EQ(outcome.state, HttpRequestParser::State::kError);
  EXPECT_EQ(parser.error().status, c.status);
  EXPECT_EQ(parser.error().reason, c.reason);
  EXPECT_LE(outcome.consumed, c.raw.size());
}

TEST_P(HttpErrorTest, ByteAtATime) {
  const auto& c = GetParam();
  HttpRequestParser parser(c.limits);
  auto outcome = feed_bytewise(parser, c.raw);
  ASSERT_EQ(outcome.state, HttpRequestParser::State::kError);
  EXPECT_EQ(parser.error().status, c.status);
  EXPECT_EQ(parser.feed("more"), 0u) << "an errored parser must not consume more";
}

INSTANTIATE_TEST_SUITE_P(Requests, HttpErrorTest, ::testing::ValuesIn(error_cases()), case_name<ErrorCase>);

// ---------------------------------------------------------------- limits exactly at the bound

struct LimitCase {
  const char* name;
  std::string raw;
  size_t body_size;
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const LimitCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<LimitCase> at_limit_cases() {
  return {
      {"RequestLineExactly", "GET /" + std::string(18, 'a') + " HTTP/1.1\r\n\r\n", 0},
      {"RequestLineExactlyBareLf", "GET /" + std::string(18, 'a') + " HTTP/1.1\n\n", 0},
      {"HeaderBytesExactly", "GET / HTTP/1.1\r\nX: " + std::string(59, 'v') + "\r\n\r\n", 0},
      {"HeaderBytesExactlyBareLf", "GET / HTTP/1.1\nX: " + std::string(60, 'v') + "\n\n", 0},
      {"HeaderBytesExactlyTwoLines",
       "GET / HTTP/1.1\r\nA: " + std::string(30, 'a') + "\r\nB: " + std::string(24, 'b') + "\r\n\r\n", 0},
      {"HeadersExactlyMax", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0},
      {"BodyExactlyMax", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 10},
      {"ContentLengthLeadingZeros", "POST / HTTP/1.1\r\nContent-Length: 0010\r\n\r\n0123456789", 10},
  };
}

class HttpAtLimitTest : public ::testing::TestWithParam<LimitCase> {};

TEST_P(HttpAtLimitTest, Accepted) {
  const auto& c = GetParam();
  for (bool bytewise : {false, true}) {
    HttpRequestParser parser(small_limits());
    auto outcome = bytewise ? feed_bytewise(parser, c.raw) : feed_all(parser, c.raw);
    ASSERT_EQ(outcome.state, HttpRequestParser::State::kComplete) << parser.error().status;
    EXPECT_EQ(outcome.consumed, c.raw.size());
    EXPECT_EQ(parser.request().body.size(), c.body_size);
  }
}

INSTANTIATE_TEST_SUITE_P(Limits, HttpAtLimitTest, ::testing::ValuesIn(at_limit_cases()), case_name<LimitCase>);

TEST(HttpParser, DefaultLimitsAcceptLargestBody) {
  std::string body(65536, 'x');
  std::string raw = "POST / HTTP/1.1\r\nContent-Length: 65536\r\n\r\n" + body;
  HttpRequestParser parser;
  EXPECT_EQ(parser.feed(raw), raw.size());
  ASSERT_EQ(parser.state(), HttpRequestParser::State::kComplete);
  EXPECT_EQ(parser.request().body, body);
}

// ---------------------------------------------------------------- HttpRequest helpers

HttpRequest request_with(int minor, std::vector<std::pair<std::string, std::string>> headers,
                         std::string target = "/") {
  HttpRequest req;
  req.version_minor = minor;
  req.headers = std::move(headers);
  req.target = std::move(target);
  return req;
}

TEST(HttpRequest, HeaderLookupIsCaseInsensitiveAndFirstWins) {
  auto req = request_with(1, {{"X-Thing", "one"}, {"x-thing", "two"}, {"Other", ""}});
  EXPECT_EQ(req.header("x-THING"), "one");
  EXPECT_EQ(req.header("other"), "");
  EXPECT_FALSE(req.header("missing").has_value());
  EXPECT_FALSE(req.header("X-Thin").has_value());
}

TEST(HttpRequest, CookiesFromAllHeaders) {
  auto req = request_with(
      1, {{"Cookie", "a=b; webvpncontext=QUJD=="}, {"Accept", "*/*"}, {"cookie", " c=d;e=f=g ; novalue; =x; empty="}});
  EXPECT_EQ(req.cookie("a"), "b");
  EXPECT_EQ(req.cookie("webvpncontext"), "QUJD==");
  EXPECT_EQ(req.cookie("c"), "d");
  EXPECT_EQ(req.cookie("e"), "f=g");
  EXPECT_EQ(req.cookie("empty"), "");
  EXPECT_FALSE(req.cookie("novalue").has_value());
  EXPECT_FALSE(req.cookie("A").has_value()) << "cookie names are case-sensitive";
  EXPECT_FALSE(req.cookie("webvpn").has_value()) << "no prefix matches";
}

TEST(HttpRequest, FirstCookieWins) {
  auto req = request_with(1, {{"Cookie", "webvpn=one"}, {"Cookie", "webvpn=two"}});
  EXPECT_EQ(req.cookie("webvpn"), "one");
}

struct PathCase {
  const char* target;
  const char* path;
};

class HttpPathTest : public ::testing::TestWithParam<PathCase> {};

TEST_P(HttpPathTest, StripsQueryAndFragment) {
  auto req = request_with(1, {}, GetParam().target);
  EXPECT_EQ(req.path(), GetParam().path);
}

INSTANTIATE_TEST_SUITE_P(Paths, HttpPathTest,
                         ::testing::Values(PathCase{"/", "/"}, PathCase{"/auth?x=1", "/auth"},
                                           PathCase{"/auth#frag", "/auth"}, PathCase{"/a?b#c", "/a"},
                                           PathCase{"/a#b?c", "/a"}, PathCase{"?only", ""},
                                           PathCase{"/profiles/x.xml", "/profiles/x.xml"}));

struct CloseCase {
  int minor;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close;
};

class HttpCloseTest : public ::testing::TestWithParam<CloseCase> {};

TEST_P(HttpCloseTest, WantsClose) {
  auto req = request_with(GetParam().minor, GetParam().headers);
  EXPECT_EQ(req.wants_close(), GetParam().close);
}

INSTANTIATE_TEST_SUITE_P(Connection, HttpCloseTest,
                         ::testing::Values(CloseCase{1, {}, false}, CloseCase{1, {{"Connection", "close"}}, true},
                                           CloseCase{1, {{"connection", "Close"}}, true},
                                           CloseCase{1, {{"Connection", "keep-alive, close"}}, true},
                                           CloseCase{1, {{"Connection", "closed"}}, false},
                                           CloseCase{1, {{"Connection", "Keep-Alive"}}, false}, CloseCase{0, {}, true},
                                           CloseCase{0, {{"Connection", "Keep-Alive"}}, false},
                                           CloseCase{0, {{"Connection", "Upgrade ,keep-alive"}}, false},
                                           CloseCase{
                                               0, {{"Connection", "keep-alive"}, {"Connection", "close"}}, true}));

// ---------------------------------------------------------------- responses

TEST(HttpResponse, ExactBytes) {
  std::string body = "<?xml version=\"1.0\"?>";
  auto text = http_response(1, 200, "OK",
                            {{"Set-Cookie", "webvpncontext=; path=/; Secure; HttpOnly"},
                             {"Content-Type", "text/xml"},
                             {"X-Transcend-Version", "1"}},
                            body);
  EXPECT_EQ(text,
            "HTTP/1.1 200 OK\r\n"
            "Set-Cookie: webvpncontext=; path=/; Secure; HttpOnly\r\n"
            "Content-Type: text/xml\r\n"
            "X-Transcend-Version: 1\r\n"
            "Content-Length: 21\r\n"
            "\r\n"
            "<?xml version=\"1.0\"?>");
}

TEST(HttpResponse, EmptyBodyAndMinorVersion) {
  EXPECT_EQ(http_response(0, 401, "Authentication failed", {}, ""),
            "HTTP/1.0 401 Authentication failed\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpResponse, LineBreaksInFieldsCannotSplitTheResponse) {
  auto text = http_response(1, 200, "OK", {{"X-A", "a\r\nInjected: 1"}}, "");
  EXPECT_EQ(text, "HTTP/1.1 200 OK\r\nX-A: a  Injected: 1\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpResponse, RoundTripsThroughTheParserShape) {
  // A response is not a request, but its header block must survive our own line rules.
  auto text = http_response(1, 404, "Not found", {{"Connection", "close"}}, "<html></html>");
  EXPECT_NE(text.find("\r\nConnection: close\r\nContent-Length: 13\r\n\r\n<html></html>"), std::string::npos);
}

}  // namespace
}  // namespace ocm::proto
