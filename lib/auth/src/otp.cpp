// wolfSSL's options.h must precede every other wolfSSL header (it carries the build's defines).
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "ocm/auth/otp.hpp"

#include <array>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "ocm/base/ascii.hpp"
#include "ocm/base/bytes.hpp"

namespace ocm::auth {
namespace {

// RFC 4226 asks for at least 128-bit secrets and recommends 160; 64 bytes is the HMAC-SHA1
// block size, beyond which the key is hashed first and nothing is gained.
constexpr size_t kMinSecretBytes = 10;
constexpr size_t kMaxSecretBytes = 64;
// Six digits is RFC 4226's minimum; nine would overflow the 31-bit truncated value's range.
constexpr uint32_t kMinDigits = 6;
constexpr uint32_t kMaxDigits = 8;
// A users file with a few thousand lines is a large deployment; 4 MiB means a wrong path.
constexpr size_t kMaxFileBytes = size_t{4} << 20;
constexpr size_t kMaxUsernameLength = 64;

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      ++i;
    }
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      ++i;
    }
    if (i > start) {
      out.push_back(line.substr(start, i - start));
    }
  }
  return out;
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// "HOTP", "HOTP/E", "HOTP/E/8", "HOTP/T30", "HOTP/T60/6" (liboath's token types).
bool parse_type(std::string_view type, OtpToken& token, std::string& why) {
  if (!type.starts_with("HOTP")) {
    why = "unknown token type '" + std::string(type) + "' (expected HOTP, HOTP/E or HOTP/T<seconds>)";
    return false;
  }
  type.remove_prefix(4);
  token.kind = OtpKind::kHotp;
  if (type.starts_with("/E")) {
    type.remove_prefix(2);
  } else if (type.starts_with("/T")) {
    type.remove_prefix(2);
    auto slash = type.find('/');
    auto period = parse_u64(type.substr(0, slash));
    // A step over a day is not a one-time password any more.
    if (!period || *period == 0 || *period > 86400) {
      why = "bad time step in token type (expected HOTP/T<1..86400>)";
      return false;
    }
    token.kind = OtpKind::kTotp;
    token.period = static_cast<uint32_t>(*period);
    type = slash == std::string_view::npos ? std::string_view{} : type.substr(slash);
  }
  if (type.size() > 1 && type[0] == '/' && type[1] >= '0' && type[1] <= '9') {
    auto digits = parse_u64(type.substr(1));
    if (!digits || *digits < kMinDigits || *digits > kMaxDigits) {
      why = "bad digit count in token type (expected 6, 7 or 8)";
      return false;
    }
    token.digits = static_cast<uint32_t>(*digits);
    type = {};
  }
  if (!type.empty()) {
    why = "malformed token type";
    return false;
  }
  return true;
}

bool parse_secret(std::string_view hex, std::vector<uint8_t>& out) {
  if (hex.size() % 2 != 0 || hex.size() / 2 < kMinSecretBytes || hex.size() / 2 > kMaxSecretBytes) {
    return false;
  }
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit_value(hex[2 * i]);
    int lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      secure_zero(out.data(), out.size());
      out.clear();
      return false;
    }
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

std::span<const uint8_t> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

uint32_t hotp(std::span<const uint8_t> key, uint64_t counter, uint32_t digits) {
  std::array<uint8_t, 8> msg{};
  for (int i = 7; i >= 0; --i) {
    msg[static_cast<size_t>(i)] = static_cast<uint8_t>(counter & 0xFF);
    counter >>= 8;
  }
  std::array<uint8_t, WC_SHA_DIGEST_SIZE> mac{};
  Hmac h;
  // Only a wolfCrypt built without SHA-1 can fail here, and then no code would ever verify;
  // a zero MAC makes every comparison fail closed.
  if (wc_HmacInit(&h, nullptr, INVALID_DEVID) == 0) {
    if (wc_HmacSetKey(&h, WC_SHA, key.data(), static_cast<word32>(key.size())) != 0 ||
        wc_HmacUpdate(&h, msg.data(), static_cast<word32>(msg.size())) != 0 || wc_HmacFinal(&h, mac.data()) != 0) {
      mac.fill(0);
    }
    wc_HmacFree(&h);
  }
  secure_zero(&h, sizeof h);  // holds the padded key
  size_t offset = mac[mac.size() - 1] & 0x0F;
  uint32_t bin = (static_cast<uint32_t>(mac[offset] & 0x7F) << 24) | (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                 (static_cast<uint32_t>(mac[offset + 2]) << 8) | static_cast<uint32_t>(mac[offset + 3]);
  secure_zero(mac.data(), mac.size());
  uint32_t mod = 1;
  for (uint32_t i = 0; i < digits; ++i) {
    mod *= 10;
  }
  return bin % mod;
}

std::string format_otp(uint32_t value, uint32_t digits) {
  std::string out(digits, '0');
  for (size_t i = digits; i > 0 && value > 0; --i) {
    out[i - 1] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

OtpFile::~OtpFile() {
  for (auto& token : tokens_) {
    secure_zero(token.secret.data(), token.secret.size());
  }
}

Result<OtpFile> OtpFile::parse(std::string_view text, std::string_view source_name) {
  OtpFile file;
  size_t line_no = 0;
  auto fail = [&](const std::string& why) {
    return make_error(std::string(source_name) + ":" + std::to_string(line_no) + ": " + why);
  };
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    auto fields = split_fields(line);
    if (fields.empty() || fields[0].starts_with('#')) {
      continue;
    }
    if (fields.size() < 4 || fields.size() > 7) {
      return fail("expected 'TYPE USER PIN SECRET [COUNTER [OTP [TIME]]]'");
    }
    OtpToken token;
    std::string why;
    if (!parse_type(fields[0], token, why)) {
      return fail(why);
    }
    if (fields[1].size() > kMaxUsernameLength) {
      return fail("user name longer than " + std::to_string(kMaxUsernameLength) + " characters");
    }
    token.username = std::string(fields[1]);
    if (fields[2] != "-") {
      // liboath would check a PIN typed before the code; we never ask for one, so a PIN in the
      // file would be silently ignored: refuse it instead.
      return fail("PINs are not supported (use '-' for user '" + token.username + "')");
    }
    if (!parse_secret(fields[3], token.secret)) {
      return fail("bad secret for user '" + token.username + "' (expected " + std::to_string(2 * kMinSecretBytes) +
                  " to " + std::to_string(2 * kMaxSecretBytes) + " hex digits, an even number)");
    }
    if (fields.size() >= 5) {
      auto counter = parse_u64(fields[4]);
      if (!counter) {
        return fail("bad counter for user '" + token.username + "'");
      }
      token.counter = *counter;
    }
    if (file.find(token.username) != nullptr) {
      return fail("duplicate user '" + token.username + "'");
    }
    file.tokens_.push_back(std::move(token));
  }
  return file;
}

Result<OtpFile> OtpFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error("cannot open OTP file " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > kMaxFileBytes) {
    secure_zero(text.data(), text.size());
    return make_error("OTP file " + path + " is larger than " + std::to_string(kMaxFileBytes) + " bytes");
  }
  auto parsed = parse(text, path);
  secure_zero(text.data(), text.size());  // the secrets were in it
  return parsed;
}

const OtpToken* OtpFile::find(std::string_view username) const {
  for (const auto& token : tokens_) {
    if (token.username == username) {
      return &token;
    }
  }
  return nullptr;
}

OtpVerifier::Verdict OtpVerifier::verify(const OtpFile& file, std::string_view username, std::string_view code,
                                         uint64_t unix_seconds) {
  const OtpToken* token = file.find(username);
  if (token == nullptr) {
    return Verdict::kNoToken;
  }
  if (code.size() != token->digits ||
      code.find_first_not_of("0123456789") != std::string_view::npos) {
    return Verdict::kWrong;
  }
  auto it = next_.find(std::string(username));
  uint64_t floor = it == next_.end() ? 0 : it->second;
  uint64_t first = 0;
  uint64_t last = 0;
  if (token->kind == OtpKind::kTotp) {
    uint64_t step = unix_seconds / token->period;
    first = step == 0 ? 0 : step - 1;
    last = step + 1;
  } else {
    // The counter just below the floor is compared too, only to tell "reused" from "wrong".
    first = floor > token->counter ? floor - 1 : token->counter;
    last = std::max(floor, token->counter) + kHotpLookAhead - 1;
  }
  // Every candidate is computed and compared (constant-time) so the time taken does not say
  // which one matched.
  std::optional<uint64_t> accepted;
  bool reused = false;
  for (uint64_t c = first; c <= last; ++c) {
    std::string candidate = format_otp(hotp(token->secret, c, token->digits), token->digits);
    bool equal = constant_time_equal(as_bytes(candidate), as_bytes(code));
    secure_zero(candidate.data(), candidate.size());
    if (!equal) {
      continue;
    }
    if (c < floor) {
      reused = true;
    } else if (!accepted) {
      accepted = c;
    }
  }
  if (accepted) {
    next_[std::string(username)] = *accepted + 1;
    return Verdict::kOk;
  }
  return reused ? Verdict::kReused : Verdict::kWrong;
}

}  // namespace ocm::auth
