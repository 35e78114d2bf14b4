// decode_cookie over the `webvpn` cookie a client presents on CONNECT (before any other check),
// and HttpRequest::cookie, which extracts it from the Cookie headers.
// Invariants: a decoded cookie has exactly one accepted spelling (encode(decode(s)) == s);
// the Cookie header extractor returns exactly the value that was sent; encoding any 32 bytes
// decodes back to them, and cookie_equal tells them from a one-bit change.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "ocm/proto/http.hpp"
#include "ocm/session/cookie.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ocm::session::Cookie;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto cookie = ocm::session::decode_cookie(text)) {
    FUZZ_CHECK(ocm::session::encode_cookie(*cookie) == text);
    FUZZ_CHECK(ocm::session::cookie_equal(*cookie, *cookie));
  }

  // The same bytes as a Cookie header value: what the extractor returns is one trimmed value.
  // Between other cookies, `webvpn=<text>` must come back as exactly the trimmed text whenever
  // the text cannot end the pair early (no ';').
  auto is_ows = [](char c) { return c == ' ' || c == '\t'; };
  ocm::proto::HttpRequest raw_header;
  raw_header.headers.emplace_back("Cookie", std::string(text));
  if (auto value = raw_header.cookie("webvpn")) {
    FUZZ_CHECK(value->find(';') == std::string_view::npos);
    FUZZ_CHECK(value->empty() || (!is_ows(value->front()) && !is_ows(value->back())));
  }
  if (text.find(';') == std::string_view::npos) {
    ocm::proto::HttpRequest req;
    req.headers.emplace_back("Cookie", "webvpncontext=x; webvpn=" + std::string(text) + "; other=1");
    std::string_view trimmed = text;
    while (!trimmed.empty() && is_ows(trimmed.front())) {
      trimmed.remove_prefix(1);
    }
    while (!trimmed.empty() && is_ows(trimmed.back())) {
      trimmed.remove_suffix(1);
    }
    auto value = req.cookie("webvpn");
    FUZZ_CHECK(value.has_value() && *value == trimmed);
    FUZZ_CHECK(ocm::session::decode_cookie(*value).has_value() == ocm::session::decode_cookie(trimmed).has_value());
  }

  // Any 32 bytes (zero-padded input) must round-trip, and differ from a one-bit change.
  Cookie raw{};
  std::memcpy(raw.data(), data, size < raw.size() ? size : raw.size());
  auto encoded = ocm::session::encode_cookie(raw);
  FUZZ_CHECK(encoded.size() == 44);
  auto decoded = ocm::session::decode_cookie(encoded);
  FUZZ_CHECK(decoded.has_value() && *decoded == raw);
  FUZZ_CHECK(ocm::session::cookie_equal(*decoded, raw));
  Cookie flipped = raw;
  flipped[size % flipped.size()] ^= 1;
  FUZZ_CHECK(!ocm::session::cookie_equal(flipped, raw));
  return 0;
}
