#include "ocm/proto/http.hpp"

#include "ocm/base/ascii.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace ocm::proto {
namespace {

// HttpRequestParser::phase_ values.
constexpr int kPhaseRequestLine = 0;
constexpr int kPhaseHeaders = 1;
constexpr int kPhaseBody = 2;

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_ows(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char ch) noexcept {
  auto c = static_cast<unsigned char>(ch);
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return kSpecials.find(ch) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// CR is allowed only as part of the line ending, which is checked once the line is complete;
// HTAB is legal inside header values. Everything else below 0x20, and DEL, is refused so that
// nothing downstream (logs, C APIs, header echoing) ever sees it.
bool has_forbidden_control(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f;
  });
}

// True if the comma-separated list contains `token` (case-insensitive), as in "Connection".
bool list_has_token(std::string_view list, std::string_view token) noexcept {
  while (true) {
    auto comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      return false;
    }
    list.remove_prefix(comma + 1);
  }
}

HttpMethod method_from(std::string_view text) noexcept {
  // Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method.
  if (text == "GET") {
    return HttpMethod::kGet;
  }
  if (text == "POST") {
    return HttpMethod::kPost;
  }
  if (text == "CONNECT") {
    return HttpMethod::kConnect;
  }
  if (text == "HEAD") {
    return HttpMethod::kHead;
  }
  return HttpMethod::kOther;
}

HttpError make_http_error(int status) {
  switch (status) {
    case 413:
      return {413, "Payload Too Large"};
    case 414:
      return {414, "URI Too Long"};
    case 431:
      return {431, "Request Header Fields Too Large"};
    case 501:
      return {501, "Not Implemented"};
    case 505:
      return {505, "HTTP Version Not Supported"};
    default:
      return {400, "Bad Request"};
  }
}

// Returns 0 on success, else the status to answer.
int parse_request_line(std::string_view line, HttpRequest& req) {
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return 400;
  }
  auto method = line.substr(0, sp1);
  auto rest = line.substr(sp1 + 1);
  auto sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos) {
    return 400;  // HTTP/0.9 style "GET /" is not spoken here
  }
  auto target = rest.substr(0, sp2);
  auto version = rest.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || version.find(' ') != std::string_view::npos) {
    return 400;
  }
  // Spaces are excluded by the split; HTAB would survive it and has no place in a target.
  if (target.find('\t') != std::string_view::npos) {
    return 400;
  }
  if (version == "HTTP/1.1") {
    req.version_minor = 1;
  } else if (version == "HTTP/1.0") {
    req.version_minor = 0;
  } else {
    // A well-formed but different version is "not supported"; anything else is just garbage.
    constexpr std::string_view kPrefix = "HTTP/";
    if (version.size() <= kPrefix.size() || version.substr(0, kPrefix.size()) != kPrefix) {
      return 400;
    }
    auto number = version.substr(kPrefix.size());
    bool numeric = std::all_of(number.begin(), number.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    return numeric ? 505 : 400;
  }
  req.method = method_from(method);
  req.method_text.assign(method);
  req.target.assign(target);
  return 0;
}

int parse_header_line(std::string_view line, HttpRequest& req) {
  // A leading space or tab is obs-fold (RFC 9112 §5.2): refused, since a proxy in front of us
  // might unfold it differently and smuggle a header past our view.
  if (is_ows(line.front())) {
    return 400;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return 400;
  }
  auto name = line.substr(0, colon);
  if (!is_token(name)) {
    return 400;  // includes "Name : value", which RFC 9112 §5.1 says must be rejected
  }
  req.headers.emplace_back(std::string(name), std::string(trim_ows(line.substr(colon + 1))));
  return 0;
}

// Validates framing headers once all are known. Returns 0 and the body length, or a status.
int body_length(const HttpRequest& req, const HttpLimits& limits, size_t& length) {
  std::optional<uint64_t> content_length;
  for (const auto& [name, value] : req.headers) {
    // Chunked (or any coding) is never sent by VPN clients; refusing it removes a whole class of
    // request-smuggling ambiguities.
    if (iequals(name, "Transfer-Encoding")) {
      return 501;
    }
  }
  for (const auto& [name, value] : req.headers) {
    if (!iequals(name, "Content-Length")) {
      continue;
    }
    if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return 400;  // also rejects "5, 5" lists and signs
    }
    // Saturating: every value above the limit is answered with 413 anyway.
    uint64_t parsed = 0;
    for (char c : value) {
      auto digit = static_cast<uint64_t>(c - '0');
      if (parsed > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
        parsed = std::numeric_limits<uint64_t>::max();
        break;
      }
      parsed = parsed * 10 + digit;
    }
    if (content_length && *content_length != parsed) {
      return 400;
    }
    content_length = parsed;
  }
  if (!content_length) {
    length = 0;
    return 0;
  }
  if (*content_length > limits.max_body) {
    return 413;
  }
  length = static_cast<size_t>(*content_length);
  return 0;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpRequest::cookie(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (!iequals(key, "Cookie")) {
      continue;
    }
    std::string_view rest = value;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto pair = trim_ows(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) {
        continue;
      }
      // Cookie names are case-sensitive; the value keeps any '=' (base64 padding).
      if (trim_ows(pair.substr(0, eq)) == name) {
        return trim_ows(pair.substr(eq + 1));
      }
    }
  }
  return std::nullopt;
}

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  return t.substr(0, t.find_first_of("?#"));
}

bool HttpRequest::wants_close() const {
  bool keep_alive = false;
  for (const auto& [key, value] : headers) {
    if (!iequals(key, "Connection")) {
      continue;
    }
    if (list_has_token(value, "close")) {
      return true;
    }
    keep_alive = keep_alive || list_has_token(value, "keep-alive");
  }
  return version_minor == 0 && !keep_alive;
}

void HttpRequestParser::reset() {
  state_ = State::kNeedMore;
  request_ = HttpRequest{};
  error_ = HttpError{};
  started_ = false;
  line_.clear();
  phase_ = kPhaseRequestLine;
  header_bytes_ = 0;
  body_remaining_ = 0;
}

size_t HttpRequestParser::feed(std::string_view data) {
  size_t used = 0;
  auto fail = [this](int status) {
    error_ = make_http_error(status);
    state_ = State::kError;
    line_.clear();
  };

  while (state_ == State::kNeedMore && used < data.size()) {
    started_ = true;
    if (phase_ == kPhaseBody) {
      size_t take = std::min(body_remaining_, data.size() - used);
      request_.body.append(data.substr(used, take));
      used += take;
      body_remaining_ -= take;
      if (body_remaining_ == 0) {
        state_ = State::kComplete;
      }
      continue;
    }

    auto rest = data.substr(used);
    auto lf = rest.find('\n');
    auto chunk = rest.substr(0, lf);
    if (has_forbidden_control(chunk)) {
      used += chunk.size();
      fail(400);
      break;
    }

    // Enforce the limits before buffering so a peer can never make us hold more than the limit.
    // A trailing CR is (or may still turn out to be) the line ending, so it is not counted.
    size_t pending = line_.size() + chunk.size();
    if (pending > 0 && (chunk.empty() ? line_.back() : chunk.back()) == '\r') {
      --pending;
    }
    if (phase_ == kPhaseRequestLine && pending > limits_.max_request_line) {
      used += chunk.size();
      fail(414);
      break;
    }
    if (phase_ == kPhaseHeaders && header_bytes_ + pending > limits_.max_header_bytes) {
      used += chunk.size();
      fail(431);
      break;
    }

    line_.append(chunk);
    if (lf == std::string_view::npos) {
      used += chunk.size();
      break;
    }
    used += lf + 1;

    std::string_view line = line_;
    size_t raw_size = line.size() + 1;  // with the LF
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.find('\r') != std::string_view::npos) {
      fail(400);  // bare CR inside a line
      break;
    }

    if (phase_ == kPhaseRequestLine) {
      // RFC 9112 §2.2: ignore empty lines before the request line (some clients add a CRLF after
      // a POST body). They cost no memory, and the slow-loris timer bounds the time.
      if (!line.empty()) {
        if (int status = parse_request_line(line, request_); status != 0) {
          fail(status);
          break;
        }
        phase_ = kPhaseHeaders;
      }
      line_.clear();
      continue;
    }

    // kPhaseHeaders
    if (line.empty()) {
      line_.clear();
      size_t length = 0;
      if (int status = body_length(request_, limits_, length); status != 0) {
        fail(status);
        break;
      }
      if (length == 0) {
        state_ = State::kComplete;
      } else {
        request_.body.reserve(length);
        body_remaining_ = length;
        phase_ = kPhaseBody;
      }
      continue;
    }
    header_bytes_ += raw_size;
    if (header_bytes_ > limits_.max_header_bytes || request_.headers.size() >= limits_.max_headers) {
      fail(431);
      break;
    }
    int status = parse_header_line(line, request_);
    line_.clear();
    if (status != 0) {
      fail(status);
      break;
    }
  }
  return used;
}

std::string http_response(int version_minor, int status, std::string_view reason,
                          const std::vector<std::pair<std::string, std::string>>& extra_headers,
                          std::string_view body) {
  // A CR or LF inside a field would split the response; flatten them rather than trust callers.
  auto append_field = [](std::string& out, std::string_view text) {
    for (char c : text) {
      out.push_back((c == '\r' || c == '\n') ? ' ' : c);
    }
  };
  std::string out;
  out.reserve(64 + body.size() + extra_headers.size() * 48);
  out += "HTTP/1.";
  out += std::to_string(version_minor);
  out += ' ';
  out += std::to_string(status);
  out += ' ';
  append_field(out, reason);
  out += "\r\n";
  for (const auto& [name, value] : extra_headers) {
    append_field(out, name);
    out += ": ";
    append_field(out, value);
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n\r\n";
  out += body;
  return out;
}

}  // namespace ocm::proto
