#include "ocm/session/session_table.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "ocm/base/bytes.hpp"

namespace ocm::session {
namespace {

bool expired(const Session& s, Clock::time_point now) noexcept {
  return !s.tunnel_attached && s.expires <= now;
}

// Frees what a dying session holds. The cookie is wiped so the credential does not linger in
// freed heap memory (a core dump would otherwise carry it).
void release_session(Ipv4Pool& pool, Session& s) noexcept {
  if (s.ipv4) {
    [[maybe_unused]] const bool was_leased = pool.release(*s.ipv4);
    // The session owns its lease exclusively; anything else is a bookkeeping bug.
    assert(was_leased);
  }
  secure_zero(s.cookie.data(), s.cookie.size());
}

}  // namespace

Session& SessionTable::create(std::string username, std::string group, Clock::time_point now) {
  auto s = std::make_unique<Session>();
  // 0 means "no session" to callers, and after 2^32 sessions the counter wraps onto ids that
  // may still be alive; skip both.
  do {
    s->id = next_id_++;
  } while (s->id == 0 || find_id(s->id) != nullptr);
  s->cookie = random_cookie();
  s->username = std::move(username);
  s->group = std::move(group);
  s->created = now;
  s->expires = now + cookie_timeout_;
  sessions_.push_back(std::move(s));
  return *sessions_.back();
}

Session* SessionTable::find(const Cookie& cookie, Clock::time_point now) {
  Session* found = nullptr;
  // No early exit: how long the lookup takes should not depend on which session matched.
  for (const auto& s : sessions_) {
    if (cookie_equal(s->cookie, cookie) && !expired(*s, now)) {
      found = s.get();
    }
  }
  return found;
}

Session* SessionTable::find_id(uint32_t id) {
  for (const auto& s : sessions_) {
    if (s->id == id) {
      return s.get();
    }
  }
  return nullptr;
}

bool SessionTable::ensure_lease(Session& s) {
  if (s.ipv4) {
    return true;
  }
  s.ipv4 = pool_.lease(predictable_ips_ ? std::string_view(s.username) : std::string_view{});
  return s.ipv4.has_value();
}

void SessionTable::attach(Session& s) {
  s.tunnel_attached = true;
}

void SessionTable::detach(Session& s, Clock::time_point now) {
  s.tunnel_attached = false;
  s.expires = now + cookie_timeout_;
}

void SessionTable::remove(uint32_t id) {
  auto it = std::find_if(sessions_.begin(), sessions_.end(), [id](const auto& s) { return s->id == id; });
  if (it == sessions_.end()) {
    return;
  }
  release_session(pool_, **it);
  sessions_.erase(it);
}

size_t SessionTable::expire(Clock::time_point now) {
  const auto before = sessions_.size();
  std::erase_if(sessions_, [&](const std::unique_ptr<Session>& s) {
    if (!expired(*s, now)) {
      return false;
    }
    release_session(pool_, *s);
    return true;
  });
  return before - sessions_.size();
}

size_t SessionTable::attached_count(const std::string& username) const {
  return static_cast<size_t>(std::count_if(sessions_.begin(), sessions_.end(), [&](const auto& s) {
    return s->tunnel_attached && s->username == username;
  }));
}

}  // namespace ocm::session
