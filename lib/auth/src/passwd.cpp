#include "ocm/auth/passwd.hpp"

#include <crypt.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>

#include "ocm/base/bytes.hpp"

namespace ocm::auth {
namespace {

// yescrypt (libxcrypt's default cost) of a random phrase nobody knows. Used when there is no
// real hash to spend the crypt call on; yescrypt because new Debian systems default to it.
constexpr std::string_view kFallbackDummyHash =
    "$y$j9T$ADWqZ5F4q7a5s6c7GfJlq1$h.F6Dixb8b35pt3gMQD6Rde0H00vnNDmGBOG7u08zX/";

// What ocpasswd and mkpasswd write on current systems (protocol.md §7.3). Anything else (DES,
// bcrypt, NT, ...) is refused so that the accepted set does not depend on which methods this
// libxcrypt build enables, and because DES silently checks only the first 8 characters.
constexpr std::array<std::string_view, 4> kSupportedPrefixes = {"$y$", "$6$", "$5$", "$1$"};

constexpr size_t kMaxUsernameLength = 64;

std::span<const uint8_t> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Index into kSupportedPrefixes, or nullopt for locked, empty, unknown or obviously broken hashes.
std::optional<size_t> hash_kind(std::string_view hash) noexcept {
  // crypt output is shorter than CRYPT_OUTPUT_SIZE and never contains NUL; anything else can
  // only fail, and a NUL would make crypt see a different setting than we compare against.
  if (hash.size() >= CRYPT_OUTPUT_SIZE || hash.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  for (size_t i = 0; i < kSupportedPrefixes.size(); ++i) {
    const auto prefix = kSupportedPrefixes[i];
    if (hash.size() > prefix.size() && hash.substr(0, prefix.size()) == prefix) {
      return i;
    }
  }
  return std::nullopt;
}

// Zeroes the passphrase copy and crypt's scratch state, which holds password-derived data.
struct CryptScratch {
  CryptScratch() : data(std::make_unique<crypt_data>()) {}  // value-initialised = zeroed, as crypt_rn requires
  CryptScratch(const CryptScratch&) = delete;
  CryptScratch& operator=(const CryptScratch&) = delete;
  ~CryptScratch() {
    secure_zero(data.get(), sizeof(crypt_data));
    secure_zero(phrase.data(), phrase.size());
  }
  // crypt_data is 32 KiB, more than we want to put on any thread's stack.
  std::unique_ptr<crypt_data> data;
  std::string phrase;
};

// One crypt call; true when its output equals `hash`. The caller has checked `hash` with
// hash_kind (or deliberately passes a dummy and ignores the result).
bool crypt_matches(std::string_view password, std::string_view hash) {
  CryptScratch scratch;
  scratch.phrase.assign(password);
  const std::string setting(hash);
  const char* out =
      crypt_rn(scratch.phrase.c_str(), setting.c_str(), scratch.data.get(), static_cast<int>(sizeof(crypt_data)));
  if (out == nullptr || out[0] == '*') {
    return false;
  }
  return constant_time_equal(as_bytes(out), as_bytes(hash));
}

// Spends the same crypt call a real verification would, then fails.
bool burn_and_fail(std::string_view password, std::string_view dummy_hash) {
  (void)crypt_matches(password, dummy_hash.empty() ? kFallbackDummyHash : dummy_hash);
  return false;
}

bool verify_with_dummy(std::string_view password, std::string_view hash, std::string_view dummy_hash) {
  // crypt takes C strings: "secret\0anything" would be checked as "secret".
  if (!hash_kind(hash) || password.find('\0') != std::string_view::npos) {
    return burn_and_fail(password, dummy_hash);
  }
  return crypt_matches(password, hash);
}

bool valid_username_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '@' || c == '-';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Error line_error(std::string_view source, size_t line_no, std::string_view what) {
  std::string msg(source);
  msg += ':';
  msg += std::to_string(line_no);
  msg += ": ";
  msg += what;
  return make_error(std::move(msg));
}

// Returns an error text, or an empty string when the name is acceptable.
std::string check_username(std::string_view name) {
  if (name.empty()) {
    return "empty user name";
  }
  if (name.size() > kMaxUsernameLength) {
    return "user name longer than " + std::to_string(kMaxUsernameLength) + " characters";
  }
  for (char c : name) {
    if (!valid_username_char(c)) {
      // The name itself is not echoed: it may hold control characters that garble a terminal.
      return "user name has a character outside [A-Za-z0-9._@-]";
    }
  }
  return {};
}

// Fills `groups`; returns an error text or an empty string.
std::string parse_groups(std::string_view field, std::vector<std::string>& groups) {
  field = trim(field);
  if (field.empty() || field == "*") {
    return {};
  }
  while (true) {
    const auto comma = field.find(',');
    const auto name = trim(field.substr(0, comma));
    // "a,,b" is almost certainly a typo; accepting it would hide a group the admin meant.
    if (name.empty()) {
      return "empty group name in group list";
    }
    groups.emplace_back(name);
    if (comma == std::string_view::npos) {
      return {};
    }
    field.remove_prefix(comma + 1);
  }
}

// The dummy hash is a real entry of the kind most entries use, so that an unknown user costs
// what a typical known user costs: ocpasswd writes $5$, mkpasswd $y$, and yescrypt costs an
// order of magnitude more.
std::string pick_dummy_hash(const std::vector<PasswdEntry>& entries) {
  std::array<size_t, kSupportedPrefixes.size()> counts{};
  std::array<const PasswdEntry*, kSupportedPrefixes.size()> first{};
  for (const auto& e : entries) {
    if (auto kind = hash_kind(e.hash)) {
      ++counts[*kind];
      if (first[*kind] == nullptr) {
        first[*kind] = &e;
      }
    }
  }
  size_t best = 0;
  for (size_t i = 1; i < counts.size(); ++i) {
    if (counts[i] > counts[best]) {
      best = i;
    }
  }
  return counts[best] == 0 ? std::string{} : first[best]->hash;
}

struct FileCloser {
  // Read-only stream: a failing close loses nothing.
  void operator()(std::FILE* f) const noexcept { (void)std::fclose(f); }
};

}  // namespace

Result<PasswdFile> PasswdFile::parse(std::string_view text, std::string_view source_name) {
  PasswdFile file;
  std::unordered_map<std::string_view, size_t> first_line;  // views into `text`
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);

    line = trim(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const auto c1 = line.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      return line_error(source_name, line_no, "missing ':' separator (expected user:groups:hash)");
    }
    const auto username = line.substr(0, c1);
    const auto groups_field = line.substr(c1 + 1, c2 - c1 - 1);
    const auto hash = line.substr(c2 + 1);
    // crypt hashes never contain ':', so a fourth field means a corrupted or foreign file.
    if (hash.find(':') != std::string_view::npos) {
      return line_error(source_name, line_no, "too many ':' separated fields (expected user:groups:hash)");
    }
    if (auto err = check_username(username); !err.empty()) {
      return line_error(source_name, line_no, err);
    }
    if (auto [it, inserted] = first_line.emplace(username, line_no); !inserted) {
      return line_error(
          source_name, line_no,
          "duplicate user '" + std::string(username) + "' (first on line " + std::to_string(it->second) + ")");
    }
    PasswdEntry entry;
    entry.username.assign(username);
    if (auto err = parse_groups(groups_field, entry.groups); !err.empty()) {
      return line_error(source_name, line_no, err);
    }
    entry.hash.assign(hash);
    file.entries_.push_back(std::move(entry));
  }
  file.dummy_hash_ = pick_dummy_hash(file.entries_);
  return file;
}

Result<PasswdFile> PasswdFile::load(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    return make_error("cannot open " + path + ": " + std::strerror(errno));
  }
  std::string text;
  std::array<char, 8192> buf{};
  while (true) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    text.append(buf.data(), n);
    if (n < buf.size()) {
      break;
    }
  }
  // fopen succeeds on a directory; the read is what fails (EISDIR).
  if (std::ferror(f.get()) != 0) {
    return make_error("cannot read " + path + ": " + std::strerror(errno));
  }
  return parse(text, path);
}

const PasswdEntry* PasswdFile::find(std::string_view username) const {
  for (const auto& e : entries_) {
    if (e.username == username) {
      return &e;
    }
  }
  return nullptr;
}

bool verify_password(std::string_view password, std::string_view hash) {
  return verify_with_dummy(password, hash, {});
}

bool verify_user(const PasswdFile& file, std::string_view username, std::string_view password) {
  const PasswdEntry* entry = file.find(username);
  if (entry == nullptr) {
    return burn_and_fail(password, file.dummy_hash_);
  }
  return verify_with_dummy(password, entry->hash, file.dummy_hash_);
}

std::string_view PasswdFile::decoy_scheme() const {
  std::string_view hash = dummy_hash_;
  if (hash.size() < 3 || hash[0] != '$') {
    return {};
  }
  return hash.substr(0, hash.find('$', 1) + 1);
}

}  // namespace ocm::auth
