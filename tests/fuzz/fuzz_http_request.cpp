// HttpRequestParser over untrusted TLS plaintext (the first thing an unauthenticated peer reaches).
// Invariants:
//  - the outcome does not depend on how TLS happened to cut the bytes: feeding the input in
//    fuzzer-chosen chunks gives the same requests (and where each ends) as one feed, and
//    refuses exactly when one feed does;
//  - a complete request respects the limits and holds no CR/LF/NUL anywhere;
//  - parse -> serialise -> parse gives the same request.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "ocm/proto/http.hpp"

namespace {

using ocm::proto::HttpLimits;
using ocm::proto::HttpRequest;
using ocm::proto::HttpRequestParser;

struct Outcome {
  HttpRequestParser::State state = HttpRequestParser::State::kNeedMore;
  int status = 0;
  size_t consumed = 0;
  HttpRequest request;
};

bool same_request(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.method_text == b.method_text && a.target == b.target &&
         a.version_minor == b.version_minor && a.headers == b.headers && a.body == b.body;
}

// Parses requests one after another (pipelining) until an error, the end of the data or `max`.
// `chunk_size(i)` says how many bytes the i-th feed call gets.
template <typename ChunkFn>
std::vector<Outcome> parse_all(std::string_view data, const HttpLimits& limits, ChunkFn chunk_size, size_t max) {
  std::vector<Outcome> out;
  HttpRequestParser parser(limits);
  size_t pos = 0;
  size_t start = 0;
  size_t call = 0;
  while (out.size() < max) {
    while (parser.state() == HttpRequestParser::State::kNeedMore && pos < data.size()) {
      size_t n = std::min(chunk_size(call++), data.size() - pos);
      size_t used = parser.feed(data.substr(pos, n));
      FUZZ_CHECK(used <= n);
      pos += used;
      if (used < n) {
        // Only a finished request or an error may leave bytes unconsumed.
        FUZZ_CHECK(parser.state() != HttpRequestParser::State::kNeedMore);
      }
    }
    Outcome o;
    o.state = parser.state();
    o.consumed = pos - start;
    if (o.state == HttpRequestParser::State::kError) {
      o.status = parser.error().status;
    } else if (o.state == HttpRequestParser::State::kComplete) {
      o.request = parser.request();
    }
    out.push_back(std::move(o));
    if (parser.state() != HttpRequestParser::State::kComplete) {
      break;
    }
    parser.reset();
    start = pos;
  }
  return out;
}

bool clean(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return true;
}

void check_complete(const HttpRequest& req, const HttpLimits& limits) {
  FUZZ_CHECK(!req.method_text.empty() && clean(req.method_text));
  FUZZ_CHECK(!req.target.empty() && clean(req.target));
  FUZZ_CHECK(req.target.find(' ') == std::string::npos);
  FUZZ_CHECK(req.version_minor == 0 || req.version_minor == 1);
  FUZZ_CHECK(req.headers.size() <= limits.max_headers);
  FUZZ_CHECK(req.body.size() <= limits.max_body);
  size_t header_bytes = 0;
  for (const auto& [name, value] : req.headers) {
    FUZZ_CHECK(!name.empty() && clean(name) && name.find(':') == std::string::npos);
    FUZZ_CHECK(clean(value));
    header_bytes += name.size() + 1 + value.size();
  }
  FUZZ_CHECK(header_bytes <= limits.max_header_bytes);
  // The accessors must cope with whatever got through.
  (void)req.path();
  (void)req.wants_close();
  (void)req.cookie("webvpn");
  (void)req.header("content-length");
}

// LF line endings and no space after the colon: never longer than what was parsed, so the
// limits cannot turn a round trip that should succeed into a 414/431.
std::string serialise(const HttpRequest& req) {
  std::string s = req.method_text + " " + req.target + " HTTP/1." + std::to_string(req.version_minor) + "\n";
  for (const auto& [name, value] : req.headers) {
    s += name + ":" + value + "\n";
  }
  s += "\n";
  s += req.body;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ocm::fuzz::Reader in(data, size);
  // Small limits too, so the limit paths are reached with small inputs.
  const bool small = (in.u8() & 1) != 0;
  HttpLimits limits;
  if (small) {
    limits = HttpLimits{64, 256, 8, 128};
  }
  const uint8_t step = in.u8();
  std::string_view text = ocm::fuzz::as_text(in.rest());

  auto whole = parse_all(text, limits, [](size_t) { return SIZE_MAX; }, 4);
  auto chunked = parse_all(text, limits, [step](size_t i) { return size_t{1} + (step + i * 7) % 23; }, 4);
  FUZZ_CHECK(whole.size() == chunked.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    FUZZ_CHECK(whole[i].state == chunked[i].state);
    if (whole[i].state != HttpRequestParser::State::kComplete) {
      // An error is answered and the connection closed. Which status it gets may depend on the
      // cut (an over-long line holding a NUL is 414 when the limit is crossed in an earlier
      // chunk, 400 when the NUL arrives in the same one), as may how far the parser read; both
      // are refusals, so only the refusal itself must not depend on the cut.
      if (whole[i].state == HttpRequestParser::State::kError) {
        FUZZ_CHECK(whole[i].status >= 400 && chunked[i].status >= 400);
      }
      continue;
    }
    FUZZ_CHECK(whole[i].consumed == chunked[i].consumed);
    FUZZ_CHECK(same_request(whole[i].request, chunked[i].request));
    check_complete(whole[i].request, limits);

    std::string again = serialise(whole[i].request);
    HttpRequestParser reparser(limits);
    size_t used = reparser.feed(again);
    FUZZ_CHECK(reparser.state() == HttpRequestParser::State::kComplete);
    FUZZ_CHECK(used == again.size());
    FUZZ_CHECK(same_request(reparser.request(), whole[i].request));
  }
  return 0;
}
