#pragma once
// Authenticated sessions, keyed by cookie. A session outlives its TLS connections: a client may
// reconnect with the cookie until it expires, and gets the same address back.
// Slow-path only (one libuv thread); no locking.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
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
  uint32_t origin_ipv4 = 0;  // client address of the login, host order (deny_roaming)
  // When no tunnel uses the session, it is deleted at `expires`. While a tunnel is attached
  // (`tunnel_attached`), it never expires.
  Clock::time_point expires{};
  bool tunnel_attached = false;
};

// Every lookup is O(1) (hash indexes by cookie, id and user name), so a CONNECT costs the same
// with 10 or 10,000 sessions. Session objects never move: references stay valid until the
// session is removed or expires.
class SessionTable {
 public:
  SessionTable(Ipv4Pool& pool, std::chrono::seconds cookie_timeout, bool predictable_ips);

  // Creates a session for an authenticated user with a fresh random cookie.
  Session& create(std::string username, std::string group, Clock::time_point now);
  // Expired sessions are not found. Hashing is keyed with a per-process secret and every
  // cookie comparison is constant-time, so lookup timing tells nothing about stored cookies.
  Session* find(const Cookie& cookie, Clock::time_point now);
  Session* find_id(uint32_t id);
  // Leases the session's address if it has none yet. False when the pool is exhausted.
  bool ensure_lease(Session& s);
  // A tunnel connection starts / stops using the session.
  void attach(Session& s);
  // Detach keeps the session (cookie reusable until now + cookie_timeout).
  void detach(Session& s, Clock::time_point now);
  // A user logout with persistent cookies: detached, but the cookie lives no longer than it
  // would have without the logout (created + cookie_timeout), and at least a few seconds.
  void detach_after_logout(Session& s, Clock::time_point now);
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
  // A cookie is 32 random bytes, but an attacker chooses the cookies we look up: with an
  // unkeyed hash, timing could tell which buckets hold valid cookies. Mixing in a random
  // per-process key removes that link (bucket choice is unpredictable without the key).
  struct CookieHash {
    uint64_t key = 0;
    size_t operator()(const Cookie& c) const noexcept;
  };
  // std::array's == stops at the first differing byte; cookies are secrets.
  struct CookieEqual {
    bool operator()(const Cookie& a, const Cookie& b) const noexcept { return cookie_equal(a, b); }
  };
  // Drops the indexes of a session that is about to be deleted and frees what it holds.
  void release(Session& s) noexcept;

  Ipv4Pool& pool_;
  std::chrono::seconds cookie_timeout_;
  bool predictable_ips_;
  uint32_t next_id_ = 1;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::unordered_map<Cookie, Session*, CookieHash, CookieEqual> by_cookie_;
  std::unordered_map<uint32_t, Session*> by_id_;
  // Sessions with a tunnel attached, per user name; users at zero are erased.
  std::unordered_map<std::string, size_t> attached_by_user_;
};

}  // namespace ocm::session
