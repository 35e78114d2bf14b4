#pragma once
// The ocpasswd file format: one "user:group1,group2:crypt-hash" per line (protocol.md §7.3).
// Hashes are checked with crypt(3) (libxcrypt): $y$ yescrypt, $6$ SHA-512, $5$ SHA-256, $1$ MD5.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/result.hpp"

namespace ocm::auth {

struct PasswdEntry {
  std::string username;
  std::vector<std::string> groups;  // "*" or empty field -> none
  std::string hash;                 // "!" prefix = locked
  [[nodiscard]] bool locked() const { return !hash.empty() && hash[0] == '!'; }
};

class PasswdFile {
 public:
  // Errors name the line: "passwd:3: missing ':' separator". Blank lines and '#' comments are
  // skipped. Duplicate user names are an error.
  static Result<PasswdFile> parse(std::string_view text, std::string_view source_name = "passwd");
  static Result<PasswdFile> load(const std::string& path);

  [[nodiscard]] const PasswdEntry* find(std::string_view username) const;
  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] const std::vector<PasswdEntry>& entries() const { return entries_; }
  // Scheme prefix ("$5$", "$y$", ...) of the decoy hash that unknown and locked users are checked
  // against; empty when the built-in yescrypt decoy is used.
  [[nodiscard]] std::string_view decoy_scheme() const;

 private:
  friend bool verify_user(const PasswdFile& file, std::string_view username, std::string_view password);

  std::vector<PasswdEntry> entries_;
  // A real hash from this file, of its most common kind, that verify_user burns a crypt call
  // on for unknown or locked users so they cost what a real user costs. Empty: use a built-in
  // yescrypt hash.
  std::string dummy_hash_;
};

// True when `password` matches `hash`. Unsupported or malformed hashes, locked entries and
// empty hashes never match. Runs crypt even for unknown users (see verify_user) so that timing
// does not reveal which user names exist.
bool verify_password(std::string_view password, std::string_view hash);

// Looks the user up and verifies; an unknown user costs the same crypt call as a known one.
bool verify_user(const PasswdFile& file, std::string_view username, std::string_view password);

}  // namespace ocm::auth
