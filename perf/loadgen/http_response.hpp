#pragma once
// Incremental, strict parser for the server's HTTP/1.x responses (client side). It accepts
// what openconnect accepts from ocserv and nothing sloppier: "HTTP/1.0 " or "HTTP/1.1 " status
// line with a three-digit code, CRLF line ends, "Name: value" headers, body delimited by
// Content-Length (ocserv and we always send it; a response without one is reported, not guessed).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocm::loadgen {

struct HttpResponse {
  int version_minor = 1;
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;

  // Header names are matched case-sensitively, as openconnect does for X-CSTP-*/X-DTLS-*.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  [[nodiscard]] std::vector<std::string_view> all(std::string_view name) const;
  [[nodiscard]] size_t count(std::string_view name) const;
};

class HttpResponseParser {
 public:
  enum class State { kNeedMore, kComplete, kError };

  // `expect_body` false: the response ends at the blank line (the 200 reply to CONNECT, after
  // which the stream becomes CSTP). Otherwise the body is Content-Length bytes.
  explicit HttpResponseParser(bool expect_body) : expect_body_(expect_body) {}

  // Consumes bytes; returns how many were used (stops after a complete response or an error).
  size_t feed(std::string_view data);
  [[nodiscard]] State state() const noexcept { return state_; }
  HttpResponse& response() noexcept { return response_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  bool take_line(std::string_view line);
  bool fail(std::string why);

  static constexpr size_t kMaxHeaderBytes = 16384;
  static constexpr size_t kMaxBody = 65536;
  bool expect_body_;
  State state_ = State::kNeedMore;
  HttpResponse response_;
  std::string error_;
  std::string line_;
  bool in_body_ = false;
  bool saw_status_ = false;
  size_t header_bytes_ = 0;
  size_t body_remaining_ = 0;
};

}  // namespace ocm::loadgen
