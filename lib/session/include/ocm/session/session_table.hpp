#pragma once
// Authenticated sessions, keyed by cookie. A session outlives its TLS connections: a client may
// reconnect with the cookie until it expires, and gets the same address back.
// Slow-path only (one libuv thread); no locking.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ocm/session/cookie.hpp"
#include "ocm/session/ip_pool.hpp"

namespace ocm::session {

using Clock = std::chrono::steady_clock;

struct Session {
  uint32_t id = 0;             // small, unique for the process lifetime (for logs and ocmctl)
  Cookie cookie{};
  std::string username;
  std::string group;
  std::optional<uint32_t> ipv4;  // lease held while the session exists
  Clock::time_point created{};
  // When no tunnel uses the session, it is deleted at `expires`. While a tunnel is attached
  // (`tunnel_attached`), it never expires.
  Clock::time_point expires{};
  bool tunnel_attached = false;
};

class SessionTable {
 public:
  SessionTable(Ipv4Pool& pool, std::chrono::seconds cookie_timeout, bool predictable_ips)
      : pool_(pool), cookie_timeout_(cookie_timeout), predictable_ips_(predictable_ips) {}

  // Creates a session for an authenticated user with a fresh random cookie.
  Session& create(std::string username, std::string group, Clock::time_point now);
  // Constant-time per comparison; expired sessions are not found.
  Session* find(const Cookie& cookie, Clock::time_point now);
  Session* find_id(uint32_t id);
  // Leases the session's address if it has none yet. False when the pool is exhausted.
  bool ensure_lease(Session& s);
  // A tunnel connection starts / stops using the session.
  void attach(Session& s);
  // Detach keeps the session (cookie reusable until now + cookie_timeout).
  void detach(Session& s, Clock::time_point now);
  // Deletes the session and frees its lease (user logout, admin disconnect).
  void remove(uint32_t id);
  // Deletes expired, detached sessions; returns how many. Call periodically.
  size_t expire(Clock::time_point now);

  [[nodiscard]] size_t size() const { return sessions_.size(); }
  // Every session, in creation order (ocmctl show sessions).
  [[nodiscard]] const std::vector<std::unique_ptr<Session>>& all() const { return sessions_; }
  // Number of sessions of `username` with a tunnel attached (max_same_clients).
  [[nodiscard]] size_t attached_count(const std::string& username) const;

 private:
  Ipv4Pool& pool_;
  std::chrono::seconds cookie_timeout_;
  bool predictable_ips_;
  uint32_t next_id_ = 1;
  std::vector<std::unique_ptr<Session>> sessions_;
};

}  // namespace ocm::session
