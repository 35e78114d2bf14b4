// ClientHello parsing for session matching (protocol.md §5.5): field extraction for the hellos
// openconnect/AnyConnect send, every malformation we can name, truncation at every offset, and
// random garbage (the last two are meant to be run under ASan too).
#include "ocm/proto/dtls_hello.hpp"

#include <gtest/gtest.h>

#include "param_name.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace ocm::proto {
namespace {

void put16(std::vector<uint8_t>& v, uint32_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void put24(std::vector<uint8_t>& v, uint32_t x) {
  v.push_back(static_cast<uint8_t>(x >> 16));
  put16(v, x);
}

struct Extension {
  uint16_t type;
  std::vector<uint8_t> data;
};

// Everything a ClientHello test wants to vary. Defaults = openconnect 9.01 in PSK mode (§5.1).
struct HelloSpec {
  uint8_t record_type = 22;
  uint16_t record_version = 0xfeff;
  uint16_t epoch = 0;
  uint64_t record_seq = 0;
  uint8_t hs_type = 1;
  uint16_t message_seq = 0;
  uint16_t client_version = 0xfefd;
  uint8_t random_fill = 0x5a;
  std::vector<uint8_t> session_id = std::vector<uint8_t>(32, 0xab);
  std::vector<uint8_t> cookie;
  std::vector<uint16_t> suites = {0x00a9, 0xccab, 0xc0a5, 0x008d, 0x00a8, 0xc0a4, 0x008c, 0x00ae};
  std::vector<uint8_t> compression = {0};
  bool with_extensions = true;
  std::vector<Extension> extensions = {
      {0x000d, {0x00, 0x04, 0x04, 0x03, 0x08, 0x04}},  // signature_algorithms
      {0x0023, {}},                                    // session_ticket
      {0xff01, {0x00}},                                // renegotiation_info
      {0x001c, {0x40, 0x00}},                          // record_size_limit
  };
  // Overrides (nullopt = consistent value).
  std::optional<uint32_t> fragment_offset;
  std::optional<uint32_t> fragment_length_delta;  // fragment_length = body - delta
  std::vector<uint8_t> trailing;                  // bytes after the extensions block
};

std::vector<uint8_t> hello_body(const HelloSpec& s) {
  std::vector<uint8_t> b;
  put16(b, s.client_version);
  b.insert(b.end(), 32, s.random_fill);
  b.push_back(static_cast<uint8_t>(s.session_id.size()));
  b.insert(b.end(), s.session_id.begin(), s.session_id.end());
  b.push_back(static_cast<uint8_t>(s.cookie.size()));
  b.insert(b.end(), s.cookie.begin(), s.cookie.end());
  put16(b, static_cast<uint32_t>(s.suites.size() * 2));
  for (uint16_t suite : s.suites) {
    put16(b, suite);
  }
  b.push_back(static_cast<uint8_t>(s.compression.size()));
  b.insert(b.end(), s.compression.begin(), s.compression.end());
  if (s.with_extensions) {
    std::vector<uint8_t> ext;
    for (const auto& e : s.extensions) {
      put16(ext, e.type);
      put16(ext, static_cast<uint32_t>(e.data.size()));
      ext.insert(ext.end(), e.data.begin(), e.data.end());
    }
    put16(b, static_cast<uint32_t>(ext.size()));
    b.insert(b.end(), ext.begin(), ext.end());
  }
  b.insert(b.end(), s.trailing.begin(), s.trailing.end());
  return b;
}

// Wraps a (possibly cut) body: message length = full body, fragment = what is given.
std::vector<uint8_t> wrap(const HelloSpec& s, const std::vector<uint8_t>& body, uint32_t msg_len) {
  std::vector<uint8_t> hs;
  hs.push_back(s.hs_type);
  put24(hs, msg_len);
  put16(hs, s.message_seq);
  put24(hs, s.fragment_offset.value_or(0));
  put24(hs, static_cast<uint32_t>(body.size()) - s.fragment_length_delta.value_or(0));
  hs.insert(hs.end(), body.begin(), body.end());
  std::vector<uint8_t> rec;
  rec.push_back(s.record_type);
  put16(rec, s.record_version);
  put16(rec, s.epoch);
  put16(rec, static_cast<uint32_t>(s.record_seq >> 32));
  put16(rec, static_cast<uint32_t>(s.record_seq >> 16));
  put16(rec, static_cast<uint32_t>(s.record_seq));
  put16(rec, static_cast<uint32_t>(hs.size()));
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}

std::vector<uint8_t> build(const HelloSpec& s) {
  auto body = hello_body(s);
  return wrap(s, body, static_cast<uint32_t>(body.size()));
}

// ------------------------------------------------------------------ accepted hellos

struct GoodCase {
  const char* name;
  HelloSpec spec;
  bool complete = true;
  bool random_all_zero = false;
  std::optional<std::vector<uint8_t>> app_id;
  // dtls_lookup_id with and without the app-id extension.
  std::optional<std::vector<uint8_t>> lookup_with_app_id;
  std::optional<std::vector<uint8_t>> lookup_without_app_id;
};

std::vector<uint8_t> ids(uint8_t fill, size_t n) {
  return std::vector<uint8_t>(n, fill);
}

std::vector<GoodCase> good_cases() {
  std::vector<GoodCase> cases;
  {
    GoodCase c{"OpenconnectPsk", {}};
    c.lookup_with_app_id = ids(0xab, 32);
    c.lookup_without_app_id = ids(0xab, 32);
    cases.push_back(c);
  }
  {
    GoodCase c{"OldOpenconnectAppIdExtension", {}};
    c.spec.session_id = {};
    std::vector<uint8_t> data = {32};
    auto id = ids(0xcd, 32);
    data.insert(data.end(), id.begin(), id.end());
    c.spec.extensions.push_back({kDtlsAppIdExtension, data});
    c.app_id = id;
    c.lookup_with_app_id = id;
    c.lookup_without_app_id = std::nullopt;  // empty session_id
    cases.push_back(c);
  }
  {
    GoodCase c{"AppIdExtensionWinsOverSessionId", {}};
    c.spec.extensions.push_back({kDtlsAppIdExtension, {4, 1, 2, 3, 4}});
    c.app_id = std::vector<uint8_t>{1, 2, 3, 4};
    c.lookup_with_app_id = std::vector<uint8_t>{1, 2, 3, 4};
    c.lookup_without_app_id = ids(0xab, 32);
    cases.push_back(c);
  }
  {
    GoodCase c{"CiscoDtls09", {}};
    c.spec.record_version = 0x0100;
    c.spec.client_version = 0x0100;
    c.spec.suites = {0x002f};
    c.spec.with_extensions = false;
    c.lookup_with_app_id = ids(0xab, 32);
    c.lookup_without_app_id = ids(0xab, 32);
    cases.push_back(c);
  }
  {
    GoodCase c{"NoExtensionsWithCookie", {}};
    c.spec.with_extensions = false;
    c.spec.cookie = ids(0x11, 20);
    c.spec.message_seq = 1;
    c.lookup_with_app_id = ids(0xab, 32);
    c.lookup_without_app_id = ids(0xab, 32);
    cases.push_back(c);
  }
  {
    GoodCase c{"EmptyExtensionBlock", {}};
    c.spec.extensions = {};
    c.lookup_with_app_id = ids(0xab, 32);
    c.lookup_without_app_id = ids(0xab, 32);
    cases.push_back(c);
  }
  {
    GoodCase c{"ShortSessionId", {}};
    c.spec.session_id = {7};
    c.lookup_with_app_id = std::vector<uint8_t>{7};
    c.lookup_without_app_id = std::vector<uint8_t>{7};
    cases.push_back(c);
  }
  {
    GoodCase c{"AllZeroRandom", {}};
    c.spec.random_fill = 0;
    c.random_all_zero = true;
    cases.push_back(c);
  }
  {
    GoodCase c{"FirstFragmentOnly", {}};
    c.spec.fragment_length_delta = 40;  // the fragment still holds the session id
    c.complete = false;
    c.lookup_with_app_id = ids(0xab, 32);
    c.lookup_without_app_id = ids(0xab, 32);
    cases.push_back(c);
  }
  return cases;
}

class DtlsHelloGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(DtlsHelloGoodTest, Parses) {
  const GoodCase& c = GetParam();
  std::vector<uint8_t> dg;
  if (c.spec.fragment_length_delta) {
    // Cut the body to the fragment but keep the full message length in the header.
    auto body = hello_body(c.spec);
    uint32_t full = static_cast<uint32_t>(body.size());
    body.resize(body.size() - *c.spec.fragment_length_delta);
    HelloSpec consistent = c.spec;
    consistent.fragment_length_delta.reset();
    dg = wrap(consistent, body, full);
  } else {
    dg = build(c.spec);
  }
  auto parsed = parse_dtls_client_hello(dg);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const DtlsClientHello& h = *parsed;
  EXPECT_EQ(h.record_version, c.spec.record_version);
  EXPECT_EQ(h.client_version, c.spec.client_version);
  EXPECT_EQ(h.message_seq, c.spec.message_seq);
  EXPECT_EQ(h.record_size, dg.size());
  EXPECT_EQ(h.complete, c.complete);
  EXPECT_EQ(h.random_all_zero, c.random_all_zero);
  ASSERT_EQ(h.random.size(), 32u);
  EXPECT_EQ(std::vector<uint8_t>(h.session_id.begin(), h.session_id.end()), c.spec.session_id);
  if (c.complete) {
    EXPECT_EQ(std::vector<uint8_t>(h.cookie.begin(), h.cookie.end()), c.spec.cookie);
    EXPECT_EQ(h.cipher_suites.size(), c.spec.suites.size() * 2);
    for (uint16_t suite : c.spec.suites) {
      EXPECT_TRUE(h.offers_suite(suite));
    }
    EXPECT_FALSE(h.offers_suite(0x1301));
    EXPECT_TRUE(h.offers_compression(0));
    // The whole handshake message is what the Finished hash covers.
    EXPECT_EQ(h.message.data(), dg.data() + kDtlsRecordHeaderSize);
    EXPECT_EQ(h.message.size(), dg.size() - kDtlsRecordHeaderSize);
  }
  if (c.app_id) {
    ASSERT_TRUE(h.app_id.has_value());
    EXPECT_EQ(std::vector<uint8_t>(h.app_id->begin(), h.app_id->end()), *c.app_id);
  } else {
    EXPECT_FALSE(h.app_id.has_value());
  }
  auto with = dtls_lookup_id(h, true);
  auto without = dtls_lookup_id(h, false);
  ASSERT_EQ(with.has_value(), c.lookup_with_app_id.has_value());
  ASSERT_EQ(without.has_value(), c.lookup_without_app_id.has_value());
  if (with) {
    EXPECT_EQ(std::vector<uint8_t>(with->begin(), with->end()), *c.lookup_with_app_id);
  }
  if (without) {
    EXPECT_EQ(std::vector<uint8_t>(without->begin(), without->end()), *c.lookup_without_app_id);
  }
}

INSTANTIATE_TEST_SUITE_P(Hellos, DtlsHelloGoodTest, ::testing::ValuesIn(good_cases()), case_name<GoodCase>);

TEST(DtlsHello, ExtensionLookup) {
  auto dg = build(HelloSpec{});
  auto h = parse_dtls_client_hello(dg);
  ASSERT_TRUE(h);
  auto reneg = h->extension(0xff01);
  ASSERT_TRUE(reneg.has_value());
  EXPECT_EQ(reneg->size(), 1u);
  EXPECT_TRUE(h->extension(0x0023).has_value());
  EXPECT_FALSE(h->extension(0x0017).has_value());
}

TEST(DtlsHello, SecondRecordInTheDatagramIsLeftAlone) {
  auto dg = build(HelloSpec{});
  size_t first = dg.size();
  dg.insert(dg.end(), {20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1});
  auto h = parse_dtls_client_hello(dg);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->record_size, first);
}

// ------------------------------------------------------------------ rejected hellos

struct BadCase {
  const char* name;
  HelloSpec spec;
};

std::vector<BadCase> bad_cases() {
  std::vector<BadCase> cases;
  auto add = [&](const char* name, auto&& mutate) {
    BadCase c{name, {}};
    mutate(c.spec);
    cases.push_back(c);
  };
  add("ApplicationDataRecord", [](HelloSpec& s) { s.record_type = 23; });
  add("AlertRecord", [](HelloSpec& s) { s.record_type = 21; });
  add("TlsRecordVersion", [](HelloSpec& s) { s.record_version = 0x0303; });
  add("TlsClientVersion", [](HelloSpec& s) { s.client_version = 0x0303; });
  add("ServerHelloType", [](HelloSpec& s) { s.hs_type = 2; });
  add("HelloVerifyRequestType", [](HelloSpec& s) { s.hs_type = 3; });
  add("LaterFragment", [](HelloSpec& s) { s.fragment_offset = 10; });
  add("SessionIdTooLong", [](HelloSpec& s) { s.session_id = std::vector<uint8_t>(33, 1); });
  add("NoCipherSuites", [](HelloSpec& s) { s.suites = {}; });
  add("NoCompression", [](HelloSpec& s) { s.compression = {}; });
  add("AppIdEmpty", [](HelloSpec& s) { s.extensions.push_back({kDtlsAppIdExtension, {0}}); });
  add("AppIdTooLong", [](HelloSpec& s) {
    std::vector<uint8_t> d(34, 0x42);
    d[0] = 33;
    s.extensions.push_back({kDtlsAppIdExtension, d});
  });
  add("AppIdLengthBeyondExtension", [](HelloSpec& s) { s.extensions.push_back({kDtlsAppIdExtension, {5, 1, 2}}); });
  add("AppIdNoData", [](HelloSpec& s) { s.extensions.push_back({kDtlsAppIdExtension, {}}); });
  add("TrailingBytes", [](HelloSpec& s) { s.trailing = {0}; });
  add("TrailingOddByteWithoutExtensions", [](HelloSpec& s) {
    s.with_extensions = false;
    s.trailing = {0};
  });
  return cases;
}

class DtlsHelloBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(DtlsHelloBadTest, Rejected) {
  auto dg = build(GetParam().spec);
  auto parsed = parse_dtls_client_hello(dg);
  EXPECT_FALSE(parsed);
}

INSTANTIATE_TEST_SUITE_P(Hellos, DtlsHelloBadTest, ::testing::ValuesIn(bad_cases()), case_name<BadCase>);

TEST(DtlsHello, OddCipherSuiteLength) {
  auto dg = build(HelloSpec{});
  // Turn the suite list length (at 13 + 12 + 2 + 32 + 1 + 32 + 1) from 16 into 15, and drop the
  // last suite byte so the rest still lines up; the parser must reject the odd length.
  size_t off = kDtlsRecordHeaderSize + kDtlsHandshakeHeaderSize + 2 + 32 + 1 + 32 + 1;
  ASSERT_EQ(dg[off + 1], 16);
  dg[off + 1] = 15;
  dg.erase(dg.begin() + static_cast<std::ptrdiff_t>(off + 2 + 15));
  // Fix the three length fields that cover the removed byte.
  auto fix = [&](size_t at, size_t width) {
    uint32_t v = 0;
    for (size_t i = 0; i < width; ++i) {
      v = (v << 8) | dg[at + i];
    }
    --v;
    for (size_t i = 0; i < width; ++i) {
      dg[at + width - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
    }
  };
  fix(11, 2);
  fix(14, 3);
  fix(22, 3);
  EXPECT_FALSE(parse_dtls_client_hello(dg));
}

TEST(DtlsHello, FragmentLongerThanMessage) {
  HelloSpec s;
  auto body = hello_body(s);
  auto dg = wrap(s, body, static_cast<uint32_t>(body.size()) - 1);
  EXPECT_FALSE(parse_dtls_client_hello(dg));
}

TEST(DtlsHello, FragmentCutsTheSessionId) {
  HelloSpec s;
  auto body = hello_body(s);
  uint32_t full = static_cast<uint32_t>(body.size());
  body.resize(2 + 32 + 1 + 10);  // the session_id claims 32 bytes, the fragment has 10
  auto dg = wrap(s, body, full);
  EXPECT_FALSE(parse_dtls_client_hello(dg));
}

// ------------------------------------------------------------------ truncation and garbage

// Cutting the datagram anywhere leaves a record whose length field overruns it.
TEST(DtlsHello, DatagramTruncatedAtEveryOffsetIsRejected) {
  HelloSpec s;
  s.extensions.push_back({kDtlsAppIdExtension, {2, 9, 9}});
  auto dg = build(s);
  for (size_t len = 0; len < dg.size(); ++len) {
    std::vector<uint8_t> cut(dg.begin(), dg.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_FALSE(parse_dtls_client_hello(cut)) << "length " << len;
  }
  EXPECT_TRUE(parse_dtls_client_hello(dg));
}

// Cutting the hello body with all length fields made consistent: only the two places where a
// hello may legally end (after compression methods, or at the real end) parse.
TEST(DtlsHello, BodyTruncatedAtEveryOffsetWithConsistentHeaders) {
  HelloSpec s;
  s.cookie = {1, 2, 3};
  s.extensions.push_back({kDtlsAppIdExtension, {2, 9, 9}});
  auto body = hello_body(s);
  HelloSpec no_ext = s;
  no_ext.with_extensions = false;
  size_t end_of_compression = hello_body(no_ext).size();
  for (size_t len = 0; len <= body.size(); ++len) {
    std::vector<uint8_t> cut(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(len));
    auto dg = wrap(s, cut, static_cast<uint32_t>(len));
    auto parsed = parse_dtls_client_hello(dg);
    bool expect_ok = len == body.size() || len == end_of_compression;
    EXPECT_EQ(static_cast<bool>(parsed), expect_ok) << "body length " << len;
  }
}

// A first fragment cut at every offset, with the message length still saying "more follows":
// parses (incomplete) exactly when the fragment holds the whole session_id.
TEST(DtlsHello, FirstFragmentCutAtEveryOffset) {
  HelloSpec s;
  auto body = hello_body(s);
  uint32_t full = static_cast<uint32_t>(body.size());
  size_t needed = 2 + 32 + 1 + s.session_id.size();
  for (size_t len = 0; len < body.size(); ++len) {
    std::vector<uint8_t> cut(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(len));
    auto parsed = parse_dtls_client_hello(wrap(s, cut, full));
    EXPECT_EQ(static_cast<bool>(parsed), len >= needed) << "fragment length " << len;
    if (parsed) {
      EXPECT_FALSE(parsed->complete);
      EXPECT_EQ(parsed->session_id.size(), 32u);
    }
  }
}

TEST(DtlsHello, RandomGarbageNeverCrashes) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 400);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> dg(length(rng));
    for (auto& b : dg) {
      b = static_cast<uint8_t>(byte(rng));
    }
    // Half of them get a plausible record + handshake header so the parser goes deeper.
    if (i % 2 == 0 && dg.size() >= 25) {
      dg[0] = 22;
      dg[1] = 0xfe;
      dg[2] = 0xfd;
      size_t rec_len = dg.size() - 13;
      dg[11] = static_cast<uint8_t>(rec_len >> 8);
      dg[12] = static_cast<uint8_t>(rec_len);
      dg[13] = 1;
      size_t body = rec_len - 12;
      for (size_t at : {14u, 22u}) {
        dg[at] = 0;
        dg[at + 1] = static_cast<uint8_t>(body >> 8);
        dg[at + 2] = static_cast<uint8_t>(body);
      }
      dg[19] = dg[20] = dg[21] = 0;
      dg[25 % dg.size()] = 0xfe;
    }
    auto parsed = parse_dtls_client_hello(dg);
    if (parsed) {
      // Every span must lie inside the datagram.
      auto inside = [&](std::span<const uint8_t> sp) {
        return sp.empty() || (sp.data() >= dg.data() && sp.data() + sp.size() <= dg.data() + dg.size());
      };
      EXPECT_TRUE(inside(parsed->random));
      EXPECT_TRUE(inside(parsed->session_id));
      EXPECT_TRUE(inside(parsed->cookie));
      EXPECT_TRUE(inside(parsed->cipher_suites));
      EXPECT_TRUE(inside(parsed->extensions));
      EXPECT_TRUE(inside(parsed->message));
      if (parsed->app_id) {
        EXPECT_TRUE(inside(*parsed->app_id));
      }
      (void)dtls_lookup_id(*parsed, true);
    }
  }
}

TEST(DtlsHello, BitFlipsOfAValidHelloNeverCrash) {
  HelloSpec s;
  s.extensions.push_back({kDtlsAppIdExtension, {4, 1, 2, 3, 4}});
  const auto good = build(s);
  std::mt19937 rng(777);
  std::uniform_int_distribution<size_t> pos(0, good.size() - 1);
  std::uniform_int_distribution<int> bit(0, 7);
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    auto dg = good;
    for (int flips = 0; flips < 1 + i % 3; ++flips) {
      dg[pos(rng)] ^= static_cast<uint8_t>(1u << bit(rng));
    }
    auto parsed = parse_dtls_client_hello(dg);
    if (parsed) {
      ++accepted;
      EXPECT_LE(parsed->session_id.size(), 32u);
      EXPECT_LE(parsed->record_size, dg.size());
    }
  }
  // Flips inside the random or the suite values keep the hello valid; most others do not.
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace ocm::proto
