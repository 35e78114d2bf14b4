#pragma once
// One-time passwords as ocserv's `plain[otp=FILE]` uses them: HOTP (RFC 4226) and TOTP
// (RFC 6238) with HMAC-SHA1, secrets in liboath's users file format:
//
//   HOTP/T30 alice - 3132333435363738393031323334353637383930
//   TYPE     USER  PIN SECRET(hex) [COUNTER [LAST-OTP [TIME]]]
//
// TYPE is HOTP or HOTP/E (event counter) or HOTP/T<seconds> (time steps), optionally followed by
// /<digits> (6 to 8; 6 when absent). PIN must be '-': we never ask for an OTP PIN.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ocm/base/result.hpp"

namespace ocm::auth {

enum class OtpKind { kHotp, kTotp };

struct OtpToken {
  OtpKind kind = OtpKind::kTotp;
  std::string username;
  std::vector<uint8_t> secret;  // zeroed by OtpFile's destructor
  uint32_t digits = 6;
  uint32_t period = 30;   // TOTP step in seconds
  uint64_t counter = 0;   // HOTP: first counter value the file allows
};

// RFC 4226 §5.3: HMAC-SHA1 over the big-endian counter, dynamic truncation, modulo 10^digits.
// `digits` is 6..8.
uint32_t hotp(std::span<const uint8_t> key, uint64_t counter, uint32_t digits);
// The code as the user types it: zero-padded to `digits`.
std::string format_otp(uint32_t value, uint32_t digits);

class OtpFile {
 public:
  // Errors name the line: "users.oath:3: bad secret (expected an even number of hex digits)".
  static Result<OtpFile> parse(std::string_view text, std::string_view source_name = "otp");
  static Result<OtpFile> load(const std::string& path);

  OtpFile() = default;
  OtpFile(OtpFile&&) = default;
  OtpFile& operator=(OtpFile&&) = default;
  OtpFile(const OtpFile&) = delete;
  OtpFile& operator=(const OtpFile&) = delete;
  ~OtpFile();

  [[nodiscard]] const OtpToken* find(std::string_view username) const;
  [[nodiscard]] size_t size() const { return tokens_.size(); }

 private:
  std::vector<OtpToken> tokens_;
};

// Checks codes and remembers, per user, the last counter (HOTP) or time step (TOTP) that was
// accepted, so a code is good only once (RFC 4226 §7.2, RFC 6238 §5.2). The memory is per
// process: a restart forgets it (see doc/operators.md).
class OtpVerifier {
 public:
  enum class Verdict { kOk, kWrong, kReused, kNoToken };
  // TOTP accepts the step of `unix_seconds` and one step either side (clock skew);
  // HOTP accepts the next kHotpLookAhead counters (codes the user generated but never sent).
  static constexpr uint64_t kHotpLookAhead = 10;

  Verdict verify(const OtpFile& file, std::string_view username, std::string_view code, uint64_t unix_seconds);

 private:
  // user -> first counter / time step that may still be accepted.
  std::unordered_map<std::string, uint64_t> next_;
};

}  // namespace ocm::auth
