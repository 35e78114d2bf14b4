#pragma once
// Choosing the DTLS mode and legacy cipher suite from the CONNECT request (protocol.md §3.2, §5.2,
// §5.3), and the names we answer with. Pure functions: no I/O, no crypto.
//
//   X-DTLS-CipherSuite names:   OC-DTLS1_2-AES256-GCM [90], OC-DTLS1_2-AES128-GCM [80],
//                               AES256-SHA [60], AES128-SHA [50], DES-CBC3-SHA [1]  (DTLS 0.9)
//   X-DTLS12-CipherSuite names: AES256-GCM-SHA384 [90], AES128-GCM-SHA256 [50]
// Highest server priority wins; a suite whose cipher+MAC equal the CSTP TLS session's is taken
// at once; a match in the DTLS12 list overrides one from the DTLS list; names we do not know
// (ECDHE-*, DHE-*, OC2-...-CHACHA20-POLY1305, ...) are ignored. PSK-NEGOTIATE as a whole token
// in either list selects PSK mode.

#include <cstdint>
#include <optional>
#include <string_view>

namespace ocm::proto {

enum class DtlsLegacySuite : uint8_t {
  kAes128Gcm,  // DTLS 1.2, TLS_RSA_WITH_AES_128_GCM_SHA256 (0x009c)
  kAes256Gcm,  // DTLS 1.2, TLS_RSA_WITH_AES_256_GCM_SHA384 (0x009d)
  kAes256Cbc,  // DTLS 0.9, TLS_RSA_WITH_AES_256_CBC_SHA (0x0035)
  kAes128Cbc,  // DTLS 0.9, TLS_RSA_WITH_AES_128_CBC_SHA (0x002f)
  kDes3Cbc,    // DTLS 0.9, TLS_RSA_WITH_3DES_EDE_CBC_SHA (0x000a)
};

struct DtlsLegacySuiteInfo {
  DtlsLegacySuite suite;
  uint16_t id;                   // TLS cipher suite value
  uint16_t version;              // 0xfefd (DTLS 1.2) or 0x0100 (DTLS 0.9, OpenSSL's DTLS1_BAD_VER)
  std::string_view dtls_name;    // name in X-DTLS-CipherSuite
  std::string_view dtls12_name;  // name in X-DTLS12-CipherSuite, empty if none
  uint8_t priority;              // ocserv's server priority in the X-DTLS-CipherSuite list
  uint8_t priority12;            // ... and in the X-DTLS12-CipherSuite list (0 if not listed there)
};
const DtlsLegacySuiteInfo& dtls_legacy_suite_info(DtlsLegacySuite suite) noexcept;

// The reply value for X-DTLS-CipherSuite (from_dtls12 = false) or X-DTLS12-CipherSuite.
std::string_view dtls_suite_name(DtlsLegacySuite suite, bool from_dtls12) noexcept;
inline constexpr std::string_view kDtlsPskNegotiate = "PSK-NEGOTIATE";

enum class DtlsMode : uint8_t { kNone, kPsk, kLegacy };

// The bulk cipher + MAC of the CSTP TLS session, for ocserv's "same as TLS wins" rule.
enum class TlsBulk : uint8_t { kOther, kAes128Gcm, kAes256Gcm, kAes128CbcSha1, kAes256CbcSha1, kDes3CbcSha1 };

struct DtlsPolicy {
  bool allow_psk = true;
  bool allow_legacy = true;
  // Try legacy first and fall back to PSK (config dtls.mode = auto: AES-GCM beats
  // ChaCha20-Poly1305 on this wolfSSL). false = ocserv's order (PSK wins when offered).
  bool prefer_legacy = false;
  // DTLS 0.9 CBC suites. Our handshake (lib/ctrl dtls_handshake) implements only the DTLS 1.2
  // GCM suites, so the server must leave this off; it exists for completeness of the table.
  bool allow_dtls0_9 = false;
  TlsBulk tls_bulk = TlsBulk::kOther;
};

struct DtlsChoice {
  DtlsMode mode = DtlsMode::kNone;
  DtlsLegacySuite suite = DtlsLegacySuite::kAes128Gcm;  // kLegacy only
  bool from_dtls12 = false;                             // kLegacy only: answer in X-DTLS12-CipherSuite
  // "PSK-NEGOTIATE" or dtls_suite_name(suite, from_dtls12); empty for kNone.
  std::string_view reply_name;
};

// `dtls_list` / `dtls12_list`: the header values as sent (empty if absent). Legacy mode needs
// `have_master_secret` (a valid 48-byte X-DTLS-Master-Secret); without it only PSK can be chosen.
DtlsChoice choose_dtls(std::string_view dtls_list, std::string_view dtls12_list, bool have_master_secret,
                       const DtlsPolicy& policy) noexcept;

}  // namespace ocm::proto
