#pragma once
// RADIUS authentication (RFC 2865) and accounting (RFC 2866) through radcli, as ocserv's
// `auth = "radius[...]"` and `acct = "radius[...]"`. Every request blocks for up to
// timeout x (retries + 1) per server: callers run authenticate/account on a worker thread (the
// libuv pool), never on the event loop. The pure helpers (Class parsing, octet splitting, reply
// mapping) are separate so they can be tested without a server.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/result.hpp"
#include "ocm/config/config.hpp"

namespace ocm::auth {

struct RadiusAuthRequest {
  std::string username;
  std::string password;         // zeroed by authenticate() once sent
  std::string calling_station;  // the client's IP address (Calling-Station-Id)
  std::string acct_session_id;  // sent in the Access-Request too (ocserv 1.5.1, #751)
};

struct RadiusAuthOutcome {
  enum class Verdict { kAccept, kReject, kError };
  Verdict verdict = Verdict::kError;
  std::optional<uint32_t> framed_ipv4;  // Framed-IP-Address, host order
  std::vector<std::string> groups;      // from Class (see groups_from_class)
  uint32_t session_timeout_s = 0;       // Session-Timeout; 0 = none
  uint32_t idle_timeout_s = 0;          // Idle-Timeout; 0 = none
  uint32_t acct_interim_interval_s = 0; // Acct-Interim-Interval; 0 = none (config value applies)
  std::string reason;                   // for the log when not accepted (timeout, reject, ...)
};

// RFC 2866 Acct-Status-Type values we send.
enum class AcctStatus : uint32_t { kStart = 1, kStop = 2, kInterimUpdate = 3 };

// RFC 2866 §5.10 Acct-Terminate-Cause values we use.
enum class TerminateCause : uint32_t {
  kUserRequest = 1,
  kLostCarrier = 2,
  kIdleTimeout = 4,
  kSessionTimeout = 5,
  kAdminReset = 6,
  kNasRequest = 10,
};

struct RadiusAcctRecord {
  AcctStatus status = AcctStatus::kStart;
  std::string username;
  std::string acct_session_id;
  std::string calling_station;
  std::optional<uint32_t> framed_ipv4;  // host order
  uint64_t input_octets = 0;   // from the client (RFC 2866: "received from the port")
  uint64_t output_octets = 0;  // to the client
  uint32_t session_time_s = 0;
  std::optional<TerminateCause> terminate_cause;  // Stop only
};

// ocserv's Class handling: "OU=g1;g2" names groups g1 and g2; any other printable value is one
// group named by the whole value. Empty entries, and values that cannot be group names (control
// characters, '/', over 64 bytes), are skipped: a group name selects a per-group config file.
std::vector<std::string> groups_from_class(std::string_view value);

// A 64-bit counter as RFC 2869 sends it: the low 32 bits (Acct-*-Octets) and the number of
// 2^32 wraps (Acct-*-Gigawords).
struct OctetSplit {
  uint32_t octets = 0;
  uint32_t gigawords = 0;
};
OctetSplit split_octets(uint64_t value) noexcept;

// The value radcli gets for "authserver"/"acctserver": "host:port:secret,..." (empty `servers`:
// `fallback` at port + 1, the accounting convention 1812 -> 1813).
std::string radcli_server_list(const std::vector<config::RadiusServer>& servers,
                               const std::vector<config::RadiusServer>& fallback, std::string_view secret);

class RadiusClient {
 public:
  // Reads the dictionary (and the radcli file when `config` is set) once, to fail at start-up
  // rather than at the first login.
  static Result<std::unique_ptr<RadiusClient>> create(const config::RadiusConfig& cfg);
  ~RadiusClient();
  RadiusClient(const RadiusClient&) = delete;
  RadiusClient& operator=(const RadiusClient&) = delete;

  // Access-Request with User-Name, User-Password, NAS-Identifier, Calling-Station-Id,
  // NAS-Port-Type Virtual and Acct-Session-Id. Thread-safe; blocking. Zeroes request.password.
  RadiusAuthOutcome authenticate(RadiusAuthRequest& request);
  // Accounting-Request. Thread-safe; blocking.
  Status account(const RadiusAcctRecord& record);

 private:
  explicit RadiusClient(config::RadiusConfig cfg);  // out of line: Handle is incomplete here
  struct Handle;
  // radcli handles hold per-request state and must not be shared between threads: a small
  // pool, one handle per concurrent request (bounded by libuv's thread pool size).
  Result<std::unique_ptr<Handle>> make_handle() const;
  std::unique_ptr<Handle> acquire();
  void give_back(std::unique_ptr<Handle> handle);

  config::RadiusConfig cfg_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Handle>> idle_;
};

}  // namespace ocm::auth
