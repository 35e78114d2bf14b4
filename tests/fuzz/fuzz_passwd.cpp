// PasswdFile::parse over an ocpasswd file (read at start-up and on every SIGHUP reload; a crash
// here stops logins). Invariants:
//  - an accepted file has exactly one entry per data line, each findable under its user name,
//    with the groups and hash a plain reading of "user:groups:hash" gives;
//  - user names stay inside [A-Za-z0-9._@-];
//  - writing the entries back out and parsing again gives the same entries.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "ocm/auth/passwd.hpp"

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Line {
  std::string user;
  std::vector<std::string> groups;
  std::string hash;
};

// The data lines of a file the parser accepted.
std::vector<Line> reference_lines(std::string_view text) {
  std::vector<Line> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t eol = text.find('\n', start);
    std::string_view line = trim(text.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start));
    start = eol == std::string_view::npos ? text.size() : eol + 1;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    size_t c1 = line.find(':');
    size_t c2 = line.find(':', c1 + 1);
    Line l;
    l.user = line.substr(0, c1);
    std::string_view groups = trim(line.substr(c1 + 1, c2 - c1 - 1));
    if (!groups.empty() && groups != "*") {
      size_t g = 0;
      while (true) {
        size_t comma = groups.find(',', g);
        l.groups.emplace_back(trim(groups.substr(g, comma == std::string_view::npos ? std::string_view::npos : comma - g)));
        if (comma == std::string_view::npos) {
          break;
        }
        g = comma + 1;
      }
    }
    l.hash = line.substr(c2 + 1);
    out.push_back(std::move(l));
  }
  return out;
}

void check_matches(const ocm::auth::PasswdFile& file, const std::vector<Line>& lines) {
  FUZZ_CHECK(file.size() == lines.size());
  for (const Line& l : lines) {
    FUZZ_CHECK(!l.user.empty());
    for (char c : l.user) {
      FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                 c == '@' || c == '-');
    }
    const auto* e = file.find(l.user);
    FUZZ_CHECK(e != nullptr);
    FUZZ_CHECK(e->username == l.user && e->groups == l.groups && e->hash == l.hash);
    FUZZ_CHECK(e->locked() == (!l.hash.empty() && l.hash[0] == '!'));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ocm::auth::PasswdFile::parse(text, "fuzz");
  if (!parsed) {
    FUZZ_CHECK(parsed.error().message.starts_with("fuzz:"));
    return 0;
  }
  auto lines = reference_lines(text);
  check_matches(*parsed, lines);
  (void)parsed->decoy_scheme();

  std::string again;
  for (const Line& l : lines) {
    again += l.user + ":";
    for (size_t i = 0; i < l.groups.size(); ++i) {
      again += (i == 0 ? "" : ",") + l.groups[i];
    }
    again += ":" + l.hash + "\n";
  }
  auto reparsed = ocm::auth::PasswdFile::parse(again, "fuzz");
  FUZZ_CHECK(reparsed.has_value());
  check_matches(*reparsed, lines);
  return 0;
}
