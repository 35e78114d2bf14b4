#include "ocm/proto/auth_xml.hpp"

#include "ocm/base/ascii.hpp"

#include <cstdint>
#include <vector>

namespace ocm::proto {
namespace {

// Same bound as HttpLimits::max_body: a larger body never gets here, and the scan cost stays fixed.
constexpr size_t kMaxScan = 65536;
// Usernames, passwords and group names are short; ocserv's own buffers are of this order.
constexpr size_t kMaxValue = 256;
// Real documents nest 3 deep; the bound keeps the element stack small on hostile input.
constexpr size_t kMaxDepth = 32;

constexpr std::string_view kXmlHeader = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr std::string_view kVersion = "<version who=\"sg\">0.1(1)</version>\n";

bool iends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

enum class Field { kNone, kUsername, kPassword, kGroup };

// Which AuthFields member a field/element name fills. Matching is case-insensitive, as ocserv's
// strcasestr() search is, so clients that ocserv accepts are accepted here too.
Field classify(std::string_view name) noexcept {
  if (iequals(name, "username")) {
    return Field::kUsername;
  }
  // openconnect sends secondary_password etc. for multi-step backends; the first one wins.
  if (iequals(name, "password") || iends_with(name, "_password")) {
    return Field::kPassword;
  }
  return Field::kNone;
}

std::optional<std::string>& slot(AuthFields& fields, Field field) noexcept {
  switch (field) {
    case Field::kUsername:
      return fields.username;
    case Field::kPassword:
      return fields.password;
    default:
      return fields.group_select;
  }
}

// Values end up in C APIs (PAM, crypt, logs): an embedded NUL would silently truncate them.
bool acceptable_value(std::string_view value) noexcept {
  return value.size() <= kMaxValue && value.find('\0') == std::string_view::npos;
}

// XML 1.0 Char production; anything else in a character reference is a malformed document.
bool is_xml_char(uint32_t cp) noexcept {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
         (cp >= 0x10000 && cp <= 0x10FFFF);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes one reference body (between '&' and ';') and appends it.
bool append_reference(std::string& out, std::string_view ref) {
  if (ref == "amp") {
    out.push_back('&');
  } else if (ref == "lt") {
    out.push_back('<');
  } else if (ref == "gt") {
    out.push_back('>');
  } else if (ref == "quot") {
    out.push_back('"');
  } else if (ref == "apos") {
    out.push_back('\'');
  } else if (ref.size() >= 2 && ref[0] == '#') {
    bool hex = ref[1] == 'x';
    auto digits = ref.substr(hex ? 2 : 1);
    // 8 digits cover every code point; more can only overflow or be padding games.
    if (digits.empty() || digits.size() > 8) {
      return false;
    }
    uint32_t cp = 0;
    for (char c : digits) {
      int v = hex ? hex_digit_value(c) : ((c >= '0' && c <= '9') ? c - '0' : -1);
      if (v < 0) {
        return false;
      }
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
    }
    if (!is_xml_char(cp)) {
      return false;
    }
    append_utf8(out, cp);
  } else {
    return false;  // no DTD, so no other entity can be defined
  }
  return true;
}

// Appends `text` with entity and character references decoded.
bool append_unescaped(std::string& out, std::string_view text) {
  while (!text.empty()) {
    auto amp = text.find('&');
    out.append(text.substr(0, amp));
    if (amp == std::string_view::npos) {
      break;
    }
    auto semi = text.find(';', amp + 1);
    if (semi == std::string_view::npos || !append_reference(out, text.substr(amp + 1, semi - amp - 1))) {
      return false;
    }
    text.remove_prefix(semi + 1);
    if (out.size() > kMaxValue) {
      return false;  // stop early on huge inputs
    }
  }
  return true;
}

bool is_xml_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_name_char(char ch) noexcept {
  auto c = static_cast<unsigned char>(ch);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
         c == '-' || c == '.' || c >= 0x80;
}

// Reads an XML name at `pos`; empty if there is none.
std::string_view read_name(std::string_view doc, size_t& pos) noexcept {
  size_t start = pos;
  if (pos >= doc.size()) {
    return {};
  }
  char first = doc[pos];
  if (!is_name_char(first) || first == '-' || first == '.' || (first >= '0' && first <= '9')) {
    return {};
  }
  while (pos < doc.size() && is_name_char(doc[pos])) {
    ++pos;
  }
  return doc.substr(start, pos - start);
}

void skip_space(std::string_view doc, size_t& pos) noexcept {
  while (pos < doc.size() && is_xml_space(doc[pos])) {
    ++pos;
  }
}

bool starts_with_at(std::string_view doc, size_t pos, std::string_view prefix) noexcept {
  return doc.size() - pos >= prefix.size() && doc.substr(pos, prefix.size()) == prefix;
}

// A small well-formedness-checking scanner rather than ocserv's substring search: substring
// search lets "<username>" inside a comment or attribute win, and reads past a truncated value.
// It understands elements, attributes, comments, CDATA, processing instructions and a DOCTYPE
// without internal subset; it never expands entities beyond the five predefined ones.
class XmlScanner {
 public:
  explicit XmlScanner(std::string_view doc) : doc_(doc) {}

  bool run(AuthFields& out) {
    while (pos_ < doc_.size()) {
      size_t lt = doc_.find('<', pos_);
      auto text = doc_.substr(pos_, lt == std::string_view::npos ? std::string_view::npos : lt - pos_);
      if (capturing_ != Field::kNone && (!append_unescaped(value_, text) || value_.size() > kMaxValue)) {
        return false;
      }
      if (lt == std::string_view::npos) {
        break;
      }
      pos_ = lt;
      if (!markup(out)) {
        return false;
      }
    }
    // A document cut short (or with unclosed elements) is not trusted for any field.
    return open_.empty() && capturing_ == Field::kNone;
  }

 private:
  // Skips past `terminator` searching from `from`; false if it never comes.
  bool skip_to(size_t from, std::string_view terminator) {
    auto end = doc_.find(terminator, from);
    if (end == std::string_view::npos) {
      return false;
    }
    pos_ = end + terminator.size();
    return true;
  }

  bool markup(AuthFields& out) {
    if (starts_with_at(doc_, pos_, "<!--")) {
      return skip_to(pos_ + 4, "-->");
    }
    if (starts_with_at(doc_, pos_, "<![CDATA[")) {
      size_t start = pos_ + 9;
      if (!skip_to(start, "]]>")) {
        return false;
      }
      if (capturing_ != Field::kNone) {
        value_.append(doc_.substr(start, pos_ - 3 - start));  // CDATA is literal text
      }
      return value_.size() <= kMaxValue;
    }
    if (starts_with_at(doc_, pos_, "<?")) {
      return skip_to(pos_ + 2, "?>");
    }
    if (starts_with_at(doc_, pos_, "<!")) {
      return skip_to(pos_ + 2, ">");
    }
    if (starts_with_at(doc_, pos_, "</")) {
      return end_tag(out);
    }
    return start_tag(out);
  }

  bool end_tag(AuthFields& out) {
    pos_ += 2;
    auto name = read_name(doc_, pos_);
    skip_space(doc_, pos_);
    if (name.empty() || pos_ >= doc_.size() || doc_[pos_] != '>') {
      return false;
    }
    ++pos_;
    if (open_.empty() || open_.back() != name) {
      return false;
    }
    open_.pop_back();
    if (capturing_ != Field::kNone && open_.size() == capture_depth_) {
      if (!acceptable_value(value_)) {
        return false;
      }
      slot(out, capturing_) = std::move(value_);
      value_.clear();
      capturing_ = Field::kNone;
    }
    return true;
  }

  bool start_tag(AuthFields& out) {
    ++pos_;
    auto name = read_name(doc_, pos_);
    if (name.empty()) {
      return false;  // a bare '<' in text
    }
    // Fields are plain text: an element inside one means the document is not what we expect.
    if (capturing_ != Field::kNone) {
      return false;
    }
    bool wants_type = iequals(name, "config-auth") && !seen_config_auth_;
    seen_config_auth_ = seen_config_auth_ || wants_type;
    bool self_closing = false;
    while (true) {
      skip_space(doc_, pos_);
      if (pos_ >= doc_.size()) {
        return false;
      }
      if (doc_[pos_] == '>') {
        ++pos_;
        break;
      }
      if (doc_[pos_] == '/') {
        if (!starts_with_at(doc_, pos_, "/>")) {
          return false;
        }
        pos_ += 2;
        self_closing = true;
        break;
      }
      auto attr = read_name(doc_, pos_);
      skip_space(doc_, pos_);
      if (attr.empty() || pos_ >= doc_.size() || doc_[pos_] != '=') {
        return false;
      }
      ++pos_;
      skip_space(doc_, pos_);
      if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\'')) {
        return false;
      }
      auto close = doc_.find(doc_[pos_], pos_ + 1);
      if (close == std::string_view::npos) {
        return false;
      }
      auto raw = doc_.substr(pos_ + 1, close - pos_ - 1);
      pos_ = close + 1;
      if (raw.find('<') != std::string_view::npos) {
        return false;  // not allowed in attribute values
      }
      if (wants_type && attr == "type") {
        std::string type;
        if (!append_unescaped(type, raw) || !acceptable_value(type)) {
          return false;
        }
        out.type = std::move(type);
      }
    }

    Field field = classify(name);
    if (field == Field::kNone && iequals(name, "group-select")) {
      field = Field::kGroup;
    }
    if (field != Field::kNone && slot(out, field).has_value()) {
      field = Field::kNone;  // first occurrence wins; later ones are ordinary elements
    }
    if (self_closing) {
      if (field != Field::kNone) {
        slot(out, field) = std::string();
      }
      return true;
    }
    if (open_.size() >= kMaxDepth) {
      return false;
    }
    open_.push_back(name);
    if (field != Field::kNone) {
      capturing_ = field;
      capture_depth_ = open_.size() - 1;
      value_.clear();
    }
    return true;
  }

  std::string_view doc_;
  size_t pos_ = 0;
  std::vector<std::string_view> open_;  // names of the open elements, outermost first
  Field capturing_ = Field::kNone;
  size_t capture_depth_ = 0;
  std::string value_;
  bool seen_config_auth_ = false;
};

// application/x-www-form-urlencoded: '+' is a space, %XX a byte.
bool url_decode(std::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return false;
      }
      int hi = hex_digit_value(text[i + 1]);
      int lo = hex_digit_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return false;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::optional<AuthFields> parse_form(std::string_view body) {
  AuthFields out;
  std::string name;
  std::string value;
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    auto eq = pair.find('=');
    auto raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    // Names are decoded too: that is how "group%5flist" becomes group_list.
    if (!url_decode(pair.substr(0, eq), name) || !url_decode(raw_value, value)) {
      return std::nullopt;
    }
    Field field = classify(name);
    if (field == Field::kNone && iequals(name, "group_list")) {
      field = Field::kGroup;
    }
    if (field == Field::kNone || slot(out, field).has_value()) {
      continue;
    }
    if (!acceptable_value(value)) {
      return std::nullopt;
    }
    slot(out, field) = value;
  }
  return out;
}

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not valid
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t utf8_sequence_length(std::string_view s) noexcept {
  auto b0 = static_cast<unsigned char>(s[0]);
  size_t len = 0;
  uint32_t min = 0;
  uint32_t cp = 0;
  if (b0 < 0x80) {
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    min = 0x80;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    min = 0x800;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    min = 0x10000;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) {
    return 0;
  }
  for (size_t i = 1; i < len; ++i) {
    auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

std::string element(std::string_view name, std::string_view text) {
  std::string out;
  out += '<';
  out += name;
  out += '>';
  out += xml_escape(text);
  out += "</";
  out += name;
  out += '>';
  return out;
}

std::string auth_request_xml(std::string_view banner, std::string_view message, std::string_view input) {
  std::string out;
  out += kXmlHeader;
  out += "<config-auth client=\"vpn\" type=\"auth-request\">\n";
  out += kVersion;
  out += "<auth id=\"main\">\n";
  if (!banner.empty()) {
    out += element("banner", banner);
  }
  out += element("message", message);
  out += "\n<form method=\"post\" action=\"/auth\">\n";
  out += input;
  // ocserv ends the form documents without a final newline (but not the complete document).
  out += "</form></auth>\n</config-auth>";
  return out;
}

}  // namespace

std::optional<AuthFields> parse_auth_body(std::string_view body) {
  body = body.substr(0, kMaxScan);
  if (body.find("<?xml") == std::string_view::npos) {
    return parse_form(body);
  }
  AuthFields out;
  out.is_xml = true;
  XmlScanner scanner(body);
  if (!scanner.run(out)) {
    return std::nullopt;
  }
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    char c = text.front();
    auto uc = static_cast<unsigned char>(c);
    size_t len = 1;
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (uc < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          // Not representable in XML 1.0 at all; libxml2 (openconnect) would reject the document.
          break;
        }
        len = utf8_sequence_length(text);
        if (len == 0) {
          // Same reason: the document declares UTF-8. U+FFFD keeps the text readable.
          out += "\xEF\xBF\xBD";
          len = 1;
        } else {
          out.append(text.substr(0, len));
        }
        break;
    }
    text.remove_prefix(len);
  }
  return out;
}

std::string username_form_xml(std::string_view banner) {
  return auth_request_xml(banner, "Please enter your username.",
                          "<input type=\"text\" name=\"username\" label=\"Username:\" />\n");
}

std::string group_form_xml(std::string_view banner, bool username, const std::vector<GroupOption>& groups) {
  std::string inputs;
  if (username) {
    inputs += "<input type=\"text\" name=\"username\" label=\"Username:\" />\n";
  }
  if (!groups.empty()) {
    inputs += "<select name=\"group_list\" label=\"Group:\">\n";
    for (const auto& g : groups) {
      inputs += "<option value=\"" + xml_escape(g.value) + "\">" + xml_escape(g.label) + "</option>\n";
    }
    inputs += "</select>\n";
  }
  return auth_request_xml(banner, username ? "Please enter your username." : "Please select your group.", inputs);
}

std::string otp_form_xml(std::string_view message) {
  return auth_request_xml({}, message,
                          "<input type=\"password\" name=\"secondary_password\" label=\"OTP code:\" />\n");
}

std::string password_form_xml(std::string_view message) {
  return auth_request_xml({}, message, "<input type=\"password\" name=\"password\" label=\"Password:\" />\n");
}

std::string auth_complete_xml(std::string_view banner) {
  std::string out;
  out += kXmlHeader;
  out += "<config-auth client=\"vpn\" type=\"complete\">\n";
  out += kVersion;
  out += "<auth id=\"success\">\n<title>SSL VPN Service</title>";
  if (!banner.empty()) {
    out += element("banner", banner);
  }
  out += "</auth></config-auth>\n";
  return out;
}

}  // namespace ocm::proto
