#include "http_response.hpp"

#include <algorithm>
#include <charconv>

namespace ocm::loadgen {

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> HttpResponse::all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : headers) {
    if (k == name) {
      out.emplace_back(v);
    }
  }
  return out;
}

size_t HttpResponse::count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; }));
}

bool HttpResponseParser::fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
  return false;
}

bool HttpResponseParser::take_line(std::string_view line) {
  if (!saw_status_) {
    saw_status_ = true;
    if (line.size() < 12 || (line.substr(0, 9) != "HTTP/1.1 " && line.substr(0, 9) != "HTTP/1.0 ")) {
      return fail("bad status line: " + std::string(line.substr(0, 60)));
    }
    response_.version_minor = line[7] - '0';
    std::string_view code = line.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (line.size() > 12 && line[12] != ' ')) {
      return fail("bad status code: " + std::string(line.substr(0, 60)));
    }
    response_.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    response_.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
    return true;
  }
  if (line.empty()) {
    if (!expect_body_) {
      state_ = State::kComplete;
      return true;
    }
    auto lengths = response_.all("Content-Length");
    if (lengths.size() != 1) {
      return fail(lengths.empty() ? "response without Content-Length" : "several Content-Length headers");
    }
    size_t len = 0;
    auto [p, ec] = std::from_chars(lengths[0].data(), lengths[0].data() + lengths[0].size(), len);
    if (ec != std::errc() || p != lengths[0].data() + lengths[0].size()) {
      return fail("bad Content-Length");
    }
    if (len > kMaxBody) {
      return fail("body too large");
    }
    body_remaining_ = len;
    in_body_ = true;
    if (len == 0) {
      state_ = State::kComplete;
    }
    return true;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail("header line without name: " + std::string(line.substr(0, 60)));
  }
  std::string_view name = line.substr(0, colon);
  if (std::any_of(name.begin(), name.end(), [](char c) { return c <= ' ' || c >= 0x7f; })) {
    return fail("bad header name: " + std::string(name.substr(0, 60)));
  }
  std::string_view value = line.substr(colon + 1);
  // openconnect skips exactly one space after the colon.
  if (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  response_.headers.emplace_back(std::string(name), std::string(value));
  return true;
}

size_t HttpResponseParser::feed(std::string_view data) {
  size_t used = 0;
  while (used < data.size() && state_ == State::kNeedMore) {
    if (in_body_) {
      size_t n = std::min(body_remaining_, data.size() - used);
      response_.body.append(data.substr(used, n));
      used += n;
      body_remaining_ -= n;
      if (body_remaining_ == 0) {
        state_ = State::kComplete;
      }
      continue;
    }
    char c = data[used++];
    if (++header_bytes_ > kMaxHeaderBytes) {
      fail("header block too large");
      break;
    }
    if (c != '\n') {
      line_.push_back(c);
      continue;
    }
    if (line_.empty() || line_.back() != '\r') {
      fail("line not terminated by CRLF");
      break;
    }
    line_.pop_back();
    std::string line = std::move(line_);
    line_.clear();
    if (!take_line(line)) {
      break;
    }
  }
  return used;
}

}  // namespace ocm::loadgen
