#pragma once
// RADIUS on the loop thread ([auth] method = "radius", [auth.radius] accounting): runs
// Access-Requests and Accounting-Requests on libuv's thread pool (radcli blocks for up to
// timeout x retries), and keeps per-session accounting state. ocserv's semantics: one
// accounting session (one Acct-Session-Id, one Start, one Stop) per cookie session, across
// reconnects with the cookie; Stop when the session ends (logout, admin, expiry of the cookie),
// with the octets of every connection that carried it.

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "ocm/auth/radius.hpp"
#include "ocm/config/config.hpp"
#include "ocm/config/user_config.hpp"
#include "ocm/session/session_table.hpp"

namespace ocm::ctrl {

class Connection;

// Maps the reason a tunnel ended (the strings Connection::close is given) to RFC 2866's
// Acct-Terminate-Cause. Unknown reasons: Lost-Carrier (the client went away).
auth::TerminateCause terminate_cause_for(std::string_view reason) noexcept;

// The user config a RADIUS Access-Accept implies: Framed-IP-Address -> explicit IPv4 (only when
// it lies in the pool; `in_pool` decides), Session-Timeout, Idle-Timeout. Per-user/group files
// win key by key (an operator's file is more specific than the RADIUS server's default).
void apply_radius_attributes(const auth::RadiusAuthOutcome& accept, config::UserConfig& uc,
                             const std::function<bool(uint32_t)>& in_pool);

class RadiusSessions {
 public:
  using Clock = std::chrono::steady_clock;
  // The sum of a connection's counters: CSTP frames plus DTLS records, both directions.
  struct Octets {
    uint64_t in = 0;   // from the client
    uint64_t out = 0;  // to the client
  };
  using OctetsOf = std::function<Octets(const Connection&)>;

  RadiusSessions(uv_loop_t* loop, std::shared_ptr<auth::RadiusClient> client, const config::RadiusConfig& cfg,
                 OctetsOf octets_of);

  // A fresh Acct-Session-Id: 8 random hex digits for this process, 8 for the login.
  std::string new_acct_session_id();
  // Runs the Access-Request on the thread pool; `done` runs on the loop.
  void authenticate(auth::RadiusAuthRequest request, std::function<void(auth::RadiusAuthOutcome)> done);

  // A login created session `session_id`; `outcome` is its Access-Accept (null for non-RADIUS
  // methods with accounting only).
  void logged_in(uint32_t session_id, std::string username, std::string acct_session_id,
                 const auth::RadiusAuthOutcome* outcome);
  // The Access-Accept of a RADIUS session (for apply_radius_attributes at CONNECT); null if none.
  [[nodiscard]] const auth::RadiusAuthOutcome* accept_of(uint32_t session_id) const;
  void tunnel_up(const Connection& conn, uint32_t session_id, std::string calling_station, uint32_t ipv4);
  void tunnel_down(const Connection& conn, uint32_t session_id, const char* reason);
  // Interim-Updates that are due; Stop for sessions that no longer exist in `sessions`.
  void on_tick(Clock::time_point now, session::SessionTable& sessions);
  [[nodiscard]] const std::string* acct_session_id(uint32_t session_id) const;
  // Server shutdown: every session ends with the process, so every started accounting session
  // gets its Stop now (queued on the pool; the loop runs until they are sent or time out).
  void stop_all(Clock::time_point now);

 private:
  struct Entry {
    std::string username;
    std::string acct_session_id;
    std::optional<auth::RadiusAuthOutcome> accept;
    std::string calling_station;
    std::optional<uint32_t> ipv4;
    const Connection* conn = nullptr;  // the connection carrying the tunnel now, if any
    Octets done;                       // octets of connections that already ended
    Octets baseline;                   // counters of `conn` when it came up
    bool started = false;              // Start sent
    Clock::time_point start{};
    Clock::time_point next_interim{};
    auth::TerminateCause last_cause = auth::TerminateCause::kLostCarrier;
  };
  Octets total(const Entry& e) const;
  void send(const Entry& e, auth::AcctStatus status, Clock::time_point now);
  [[nodiscard]] std::chrono::seconds interim_of(const Entry& e) const;

  uv_loop_t* loop_;
  std::shared_ptr<auth::RadiusClient> client_;
  bool accounting_;
  std::chrono::seconds interim_;
  OctetsOf octets_of_;
  uint32_t id_prefix_ = 0;
  uint32_t next_id_ = 1;
  std::unordered_map<uint32_t, Entry> entries_;  // by session id
};

}  // namespace ocm::ctrl
