#include "ocm/proto/dtls_suites.hpp"

#include <array>

namespace ocm::proto {
namespace {

constexpr uint16_t kDtls12 = 0xfefd;
constexpr uint16_t kDtls09 = 0x0100;

// ocserv 1.1.6's table (protocol.md §5.3), in enum order.
constexpr std::array<DtlsLegacySuiteInfo, 5> kSuites = {{
    {DtlsLegacySuite::kAes128Gcm, 0x009c, kDtls12, "OC-DTLS1_2-AES128-GCM", "AES128-GCM-SHA256", 80, 50},
    {DtlsLegacySuite::kAes256Gcm, 0x009d, kDtls12, "OC-DTLS1_2-AES256-GCM", "AES256-GCM-SHA384", 90, 90},
    {DtlsLegacySuite::kAes256Cbc, 0x0035, kDtls09, "AES256-SHA", "", 60, 0},
    {DtlsLegacySuite::kAes128Cbc, 0x002f, kDtls09, "AES128-SHA", "", 50, 0},
    {DtlsLegacySuite::kDes3Cbc, 0x000a, kDtls09, "DES-CBC3-SHA", "", 1, 0},
}};

TlsBulk bulk_of(DtlsLegacySuite suite) noexcept {
  switch (suite) {
    case DtlsLegacySuite::kAes128Gcm:
      return TlsBulk::kAes128Gcm;
    case DtlsLegacySuite::kAes256Gcm:
      return TlsBulk::kAes256Gcm;
    case DtlsLegacySuite::kAes256Cbc:
      return TlsBulk::kAes256CbcSha1;
    case DtlsLegacySuite::kAes128Cbc:
      return TlsBulk::kAes128CbcSha1;
    case DtlsLegacySuite::kDes3Cbc:
      return TlsBulk::kDes3CbcSha1;
  }
  return TlsBulk::kOther;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Calls fn(token) for each colon-separated token; stops early when fn returns true.
template <typename Fn>
bool for_each_token(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    size_t colon = list.find(':');
    std::string_view token = trim(list.substr(0, colon));
    if (!token.empty() && fn(token)) {
      return true;
    }
    if (colon == std::string_view::npos) {
      break;
    }
    list.remove_prefix(colon + 1);
  }
  return false;
}

bool has_token(std::string_view list, std::string_view wanted) {
  return for_each_token(list, [&](std::string_view token) { return token == wanted; });
}

std::optional<DtlsLegacySuite> pick(std::string_view list, bool dtls12, const DtlsPolicy& policy) {
  const DtlsLegacySuiteInfo* best = nullptr;
  for_each_token(list, [&](std::string_view token) {
    for (const auto& info : kSuites) {
      std::string_view name = dtls12 ? info.dtls12_name : info.dtls_name;
      if (name.empty() || token != name) {
        continue;
      }
      if (info.version == kDtls09 && !policy.allow_dtls0_9) {
        return false;
      }
      // ocserv: the suite the TLS session already uses is taken without looking further.
      if (policy.tls_bulk != TlsBulk::kOther && bulk_of(info.suite) == policy.tls_bulk) {
        best = &info;
        return true;
      }
      uint8_t prio = dtls12 ? info.priority12 : info.priority;
      uint8_t best_prio = best == nullptr ? 0 : (dtls12 ? best->priority12 : best->priority);
      if (best == nullptr || prio > best_prio) {
        best = &info;
      }
      return false;
    }
    return false;
  });
  if (best == nullptr) {
    return std::nullopt;
  }
  return best->suite;
}

}  // namespace

const DtlsLegacySuiteInfo& dtls_legacy_suite_info(DtlsLegacySuite suite) noexcept {
  return kSuites[static_cast<size_t>(suite)];
}

std::string_view dtls_suite_name(DtlsLegacySuite suite, bool from_dtls12) noexcept {
  const auto& info = dtls_legacy_suite_info(suite);
  // DTLS 0.9 suites have no DTLS12 name; fall back to the X-DTLS-CipherSuite spelling.
  if (from_dtls12 && !info.dtls12_name.empty()) {
    return info.dtls12_name;
  }
  return info.dtls_name;
}

DtlsChoice choose_dtls(std::string_view dtls_list, std::string_view dtls12_list, bool have_master_secret,
                       const DtlsPolicy& policy) noexcept {
  DtlsChoice psk;
  if (policy.allow_psk && (has_token(dtls_list, kDtlsPskNegotiate) || has_token(dtls12_list, kDtlsPskNegotiate))) {
    psk.mode = DtlsMode::kPsk;
    psk.reply_name = kDtlsPskNegotiate;
  }
  DtlsChoice legacy;
  if (policy.allow_legacy && have_master_secret) {
    if (auto s12 = pick(dtls12_list, true, policy)) {
      legacy.mode = DtlsMode::kLegacy;
      legacy.suite = *s12;
      legacy.from_dtls12 = true;
    } else if (auto s = pick(dtls_list, false, policy)) {
      legacy.mode = DtlsMode::kLegacy;
      legacy.suite = *s;
    }
    if (legacy.mode == DtlsMode::kLegacy) {
      legacy.reply_name = dtls_suite_name(legacy.suite, legacy.from_dtls12);
    }
  }
  if (policy.prefer_legacy) {
    return legacy.mode != DtlsMode::kNone ? legacy : psk;
  }
  return psk.mode != DtlsMode::kNone ? psk : legacy;
}

}  // namespace ocm::proto
