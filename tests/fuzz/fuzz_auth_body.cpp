// parse_auth_body over the unauthenticated client's POST body (XML "aggregate auth" or a
// urlencoded form), plus xml_escape, which puts client-supplied text back into our documents.
// Invariants:
//  - accepted values respect the 256-byte limit and carry no NUL (they reach crypt and logs);
//  - the fields we read re-encode (XML with xml_escape, or %-encoded form) and parse back equal;
//  - xml_escape output holds no raw markup characters and is valid UTF-8 without control bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "ocm/proto/auth_xml.hpp"

namespace {

using ocm::proto::AuthFields;

void check_value(const std::optional<std::string>& v) {
  if (v) {
    FUZZ_CHECK(v->size() <= 256);
    FUZZ_CHECK(v->find('\0') == std::string::npos);
  }
}

// Text that survives an XML round trip unchanged: printable ASCII and tab (XML parsers normalise
// CR and may treat other whitespace specially; xml_escape drops control characters by design).
bool xml_stable(const std::optional<std::string>& v) {
  if (!v) {
    return true;
  }
  for (char c : *v) {
    auto u = static_cast<unsigned char>(c);
    if (!(u == '\t' || (u >= 0x20 && u < 0x7f))) {
      return false;
    }
  }
  return true;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[u >> 4];
    out += kHex[u & 15];
  }
  return out;
}

void check_valid_escaped(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    FUZZ_CHECK(c != '<' && c != '>' && c != '"' && c != '\'');
    FUZZ_CHECK(c >= 0x20 || c == '\t' || c == '\n' || c == '\r');
    if (c == '&') {
      // Only the five entities we emit.
      auto rest = s.substr(i);
      FUZZ_CHECK(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;") ||
                 rest.starts_with("&quot;") || rest.starts_with("&apos;"));
    }
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    FUZZ_CHECK(len != 0 && i + len <= s.size());
    for (size_t k = 1; k < len; ++k) {
      FUZZ_CHECK((static_cast<unsigned char>(s[i + k]) >> 6) == 2);
    }
    i += len;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);

  check_valid_escaped(ocm::proto::xml_escape(body));

  auto fields = ocm::proto::parse_auth_body(body);
  if (!fields) {
    return 0;
  }
  check_value(fields->type);
  check_value(fields->username);
  check_value(fields->password);
  check_value(fields->group_select);

  std::string again;
  if (fields->is_xml) {
    if (!xml_stable(fields->type) || !xml_stable(fields->username) || !xml_stable(fields->password) ||
        !xml_stable(fields->group_select)) {
      return 0;
    }
    again = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config-auth client=\"vpn\"";
    if (fields->type) {
      again += " type=\"" + ocm::proto::xml_escape(*fields->type) + "\"";
    }
    again += "><auth>";
    if (fields->username) {
      again += "<username>" + ocm::proto::xml_escape(*fields->username) + "</username>";
    }
    if (fields->password) {
      again += "<password>" + ocm::proto::xml_escape(*fields->password) + "</password>";
    }
    again += "</auth>";
    if (fields->group_select) {
      again += "<group-select>" + ocm::proto::xml_escape(*fields->group_select) + "</group-select>";
    }
    again += "</config-auth>\n";
  } else {
    if (fields->username) {
      again += "username=" + percent_encode(*fields->username) + "&";
    }
    if (fields->password) {
      again += "password=" + percent_encode(*fields->password) + "&";
    }
    if (fields->group_select) {
      again += "group_list=" + percent_encode(*fields->group_select) + "&";
    }
  }
  auto back = ocm::proto::parse_auth_body(again);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->is_xml == fields->is_xml);
  FUZZ_CHECK(back->username == fields->username);
  FUZZ_CHECK(back->password == fields->password);
  FUZZ_CHECK(back->group_select == fields->group_select);
  if (fields->is_xml) {
    FUZZ_CHECK(back->type == fields->type);
  }
  return 0;
}
