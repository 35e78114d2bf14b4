#pragma once
// A minimal strict JSON validator for tests (RFC 8259 grammar, UTF-8 checked): the writer's
// "always valid JSON" promise is tested against an independent reader, not against itself.

#include <cstddef>
#include <string_view>

namespace ocm::test {

class JsonChecker {
 public:
  explicit JsonChecker(std::string_view text) : s_(text) {}
  // True when the whole text is exactly one JSON value (surrounding whitespace allowed).
  bool valid() {
    ws();
    if (!value(0)) {
      return false;
    }
    ws();
    return i_ == s_.size();
  }

 private:
  static constexpr int kMaxDepth = 64;
  bool eof() const { return i_ >= s_.size(); }
  char peek() const { return eof() ? '\0' : s_[i_]; }
  void ws() {
    while (!eof() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool lit(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) {
      return false;
    }
    i_ += word.size();
    return true;
  }
  bool value(int depth) {
    if (depth > kMaxDepth) {
      return false;
    }
    switch (peek()) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string();
      case 't':
        return lit("true");
      case 'f':
        return lit("false");
      case 'n':
        return lit("null");
      default:
        return number();
    }
  }
  bool object(int depth) {
    ++i_;
    ws();
    if (peek() == '}') {
      ++i_;
      return true;
    }
    while (true) {
      ws();
      if (!string()) {
        return false;
      }
      ws();
      if (peek() != ':') {
        return false;
      }
      ++i_;
      ws();
      if (!value(depth + 1)) {
        return false;
      }
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == '}') {
        ++i_;
        return true;
      }
      return false;
    }
  }
  bool array(int depth) {
    ++i_;
    ws();
    if (peek() == ']') {
      ++i_;
      return true;
    }
    while (true) {
      ws();
      if (!value(depth + 1)) {
        return false;
      }
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == ']') {
        ++i_;
        return true;
      }
      return false;
    }
  }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  bool number() {
    size_t start = i_;
    if (peek() == '-') {
      ++i_;
    }
    if (peek() == '0') {
      ++i_;
    } else if (is_digit(peek())) {
      while (is_digit(peek())) {
        ++i_;
      }
    } else {
      return false;
    }
    if (peek() == '.') {
      ++i_;
      if (!is_digit(peek())) {
        return false;
      }
      while (is_digit(peek())) {
        ++i_;
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') {
        ++i_;
      }
      if (!is_digit(peek())) {
        return false;
      }
      while (is_digit(peek())) {
        ++i_;
      }
    }
    return i_ > start;
  }
  bool string() {
    if (peek() != '"') {
      return false;
    }
    ++i_;
    while (!eof()) {
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) {
        return false;
      }
      if (c == '\\') {
        ++i_;
        char e = peek();
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (i_ + k >= s_.size() || !is_hex(s_[i_ + k])) {
              return false;
            }
          }
          i_ += 5;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos || e == '\0') {
          return false;
        }
        ++i_;
        continue;
      }
      if (c >= 0x80 && !utf8()) {
        return false;
      }
      if (c < 0x80) {
        ++i_;
      }
    }
    return false;
  }
  bool utf8() {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s_[k]); };
    unsigned char c = b(i_);
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || i_ + len > s_.size()) {
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((b(i_ + k) & 0xC0u) != 0x80u) {
        return false;
      }
    }
    i_ += len;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

inline bool is_valid_json(std::string_view text) { return JsonChecker(text).valid(); }

}  // namespace ocm::test
