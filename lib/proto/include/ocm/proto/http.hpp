#pragma once
// Incremental HTTP/1.1 request parser for the authentication phase, with hard limits.
// Feed it bytes as TLS delivers them; it never allocates beyond the limits.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocm::proto {

struct HttpLimits {
  size_t max_request_line = 2048;   // method + target + version
  size_t max_header_bytes = 16384;  // header lines with their CRLF/LF; request line, final blank line excluded
  size_t max_headers = 64;
  size_t max_body = 65536;          // Content-Length above this -> 413
};

enum class HttpMethod { kGet, kPost, kConnect, kHead, kOther };

struct HttpRequest {
  HttpMethod method = HttpMethod::kOther;
  std::string method_text;   // as sent, e.g. "DELETE"
  std::string target;        // request-target as sent, e.g. "/auth"
  int version_minor = 1;     // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::string body;

  // Case-insensitive lookup of the first header with this name.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  // Value of cookie `name` from all Cookie headers ("a=b; c=d"), if present.
  [[nodiscard]] std::optional<std::string_view> cookie(std::string_view name) const;
  // Path without query string or fragment.
  [[nodiscard]] std::string_view path() const;
  // HTTP/1.0 without "Connection: keep-alive", or "Connection: close".
  [[nodiscard]] bool wants_close() const;
};

// Why a request was refused, with the status code to answer.
struct HttpError {
  int status = 400;       // 400, 413, 414, 431, 501, 505
  std::string reason;     // status reason phrase, e.g. "Request Header Fields Too Large"
};

class HttpRequestParser {
 public:
  explicit HttpRequestParser(HttpLimits limits = {}) : limits_(limits) {}

  enum class State { kNeedMore, kComplete, kError };

  // Consumes bytes from `data`; returns how many were used. Stops after one complete request
  // (the rest of `data` belongs to the next request or to the tunnel) or at the first error.
  size_t feed(std::string_view data);
  [[nodiscard]] State state() const noexcept { return state_; }
  // Valid when state() == kComplete. Moving it out is allowed before reset().
  HttpRequest& request() noexcept { return request_; }
  // Valid when state() == kError.
  [[nodiscard]] const HttpError& error() const noexcept { return error_; }
  // True once any byte of the current request has been seen (for the slow-loris timer).
  [[nodiscard]] bool started() const noexcept { return started_; }
  // Prepares for the next request on the same connection.
  void reset();

 private:
  HttpLimits limits_;
  State state_ = State::kNeedMore;
  HttpRequest request_;
  HttpError error_;
  bool started_ = false;
  // Implementation state (line buffer, phase, remaining body bytes) lives here.
  std::string line_;
  int phase_ = 0;
  size_t header_bytes_ = 0;
  size_t body_remaining_ = 0;
};

// Serialises a response. Always sets Content-Length; `extra_headers` are emitted in order.
std::string http_response(int version_minor, int status, std::string_view reason,
                          const std::vector<std::pair<std::string, std::string>>& extra_headers,
                          std::string_view body);

}  // namespace ocm::proto
