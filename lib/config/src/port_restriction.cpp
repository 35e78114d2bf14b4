#include "ocm/config/port_restriction.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace ocm::config {
namespace {

struct Protocol {
  std::string_view name;
  uint8_t number;
  bool has_port;
};

constexpr std::array<Protocol, 5> kProtocols = {{
    {"tcp", 6, true},
    {"udp", 17, true},
    {"sctp", 132, true},
    {"icmp", 1, false},
    {"icmpv6", 58, false},
}};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// A cursor over the text; every method skips leading whitespace first.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) {
      ++pos_;
    }
  }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }
  bool take(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string_view word() {
    skip_space();
    size_t start = pos_;
    while (pos_ < text_.size() && is_alnum(text_[pos_])) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  std::string_view digits() {
    skip_space();
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  // What is left, for error messages (cut short: values can be long).
  std::string rest() {
    skip_space();
    std::string_view r = text_.substr(pos_);
    return std::string(r.substr(0, 16)) + (r.size() > 16 ? "..." : "");
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

const Protocol* find_protocol(std::string_view name) {
  for (const auto& p : kProtocols) {
    if (p.name.size() == name.size() &&
        std::equal(name.begin(), name.end(), p.name.begin(), [](char a, char b) { return lower(a) == b; })) {
      return &p;
    }
  }
  return nullptr;
}

// "name(port)" or "name()".
Result<PortRule> parse_rule(Reader& in) {
  std::string_view name = in.word();
  if (name.empty()) {
    std::string rest = in.rest();
    return make_error(rest.empty() ? "expected a protocol like tcp(443)"
                                   : "expected a protocol like tcp(443), got '" + rest + "'");
  }
  const Protocol* proto = find_protocol(name);
  if (proto == nullptr) {
    return make_error("unknown protocol '" + std::string(name) + "' (tcp, udp, sctp, icmp, icmpv6)");
  }
  if (!in.take('(')) {
    return make_error("missing '(' after '" + std::string(name) + "'");
  }
  PortRule rule{proto->number, 0};
  std::string_view digits = in.digits();
  if (proto->has_port) {
    if (digits.empty()) {
      return make_error(std::string(proto->name) + "() needs a port, like " + std::string(proto->name) + "(443)");
    }
    // Beyond six digits it is out of range anyway; keeps the arithmetic inside 32 bits.
    uint32_t value = 0;
    for (char c : digits.substr(0, 6)) {
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value < 1 || value > 65535 || digits.size() > 6) {
      return make_error("port " + std::string(digits) + " out of range (1..65535)");
    }
    rule.port = static_cast<uint16_t>(value);
  } else if (!digits.empty()) {
    return make_error(std::string(proto->name) + "() takes no port, got '" + std::string(digits) + "'");
  }
  if (!in.take(')')) {
    return make_error("missing ')' after '" + std::string(name) + "(" + std::string(digits) + "'");
  }
  return rule;
}

}  // namespace

Result<PortRestriction> parse_port_restriction(std::string_view text) {
  Reader in(text);
  PortRestriction out;
  if (in.at_end()) {
    return make_error("empty list");
  }
  if (in.take('!')) {
    out.negate = true;
    if (!in.take('(')) {
      return make_error("expected '(' after '!', as in !(tcp(25))");
    }
    // "!()" is as empty as "".
    if (in.take(')')) {
      return make_error("empty list");
    }
  }
  while (true) {
    auto rule = parse_rule(in);
    if (!rule) {
      return rule.error();
    }
    if (std::find(out.rules.begin(), out.rules.end(), *rule) == out.rules.end()) {
      if (out.rules.size() == kMaxPortRules) {
        return make_error("more than " + std::to_string(kMaxPortRules) + " rules");
      }
      out.rules.push_back(*rule);
    }
    if (!in.take(',')) {
      break;
    }
  }
  if (out.negate && !in.take(')')) {
    return make_error(in.at_end() ? "missing ')' closing '!('" : "expected ',' or ')', got '" + in.rest() + "'");
  }
  if (!in.at_end()) {
    return make_error("expected ',' between rules, got '" + in.rest() + "'");
  }
  return out;
}

}  // namespace ocm::config
