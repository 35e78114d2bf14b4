#include "ocm/session/session_table.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "ocm/base/bytes.hpp"

namespace ocm::session {
namespace {

bool expired(const Session& s, Clock::time_point now) noexcept {
  return !s.tunnel_attached && s.expires <= now;
}

// splitmix64's finaliser: every key bit affects every output bit.
uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t random_key() {
  Cookie bytes = random_cookie();
  uint64_t key = 0;
  std::memcpy(&key, bytes.data(), sizeof key);
  secure_zero(bytes.data(), bytes.size());
  return key;
}

}  // namespace

size_t SessionTable::CookieHash::operator()(const Cookie& c) const noexcept {
  // Stored cookies are our own random bytes (nobody can choose what is inserted), so 16 of them
  // spread the buckets evenly; the key keeps the bucket of a probe unpredictable.
  uint64_t a = 0;
  uint64_t b = 0;
  std::memcpy(&a, c.data(), sizeof a);
  std::memcpy(&b, c.data() + sizeof a, sizeof b);
  return static_cast<size_t>(mix64(a ^ key) ^ mix64(b + key));
}

SessionTable::SessionTable(Ipv4Pool& pool, std::chrono::seconds cookie_timeout, bool predictable_ips)
    : pool_(pool),
      cookie_timeout_(cookie_timeout),
      predictable_ips_(predictable_ips),
      by_cookie_(0, CookieHash{random_key()}) {}

// Frees what a dying session holds. The cookie is wiped so the credential does not linger in
// freed heap memory (a core dump would otherwise carry it).
void SessionTable::release(Session& s) noexcept {
  by_cookie_.erase(s.cookie);
  by_id_.erase(s.id);
  if (s.tunnel_attached) {
    auto it = attached_by_user_.find(s.username);
    if (it != attached_by_user_.end() && --it->second == 0) {
      attached_by_user_.erase(it);
    }
  }
  if (s.ipv4) {
    [[maybe_unused]] const bool was_leased = pool_.release(*s.ipv4);
    // The session owns its lease exclusively; anything else is a bookkeeping bug.
    assert(was_leased);
  }
  secure_zero(s.cookie.data(), s.cookie.size());
}

Session& SessionTable::create(std::string username, std::string group, Clock::time_point now) {
  auto s = std::make_unique<Session>();
  // 0 means "no session" to callers, and after 2^32 sessions the counter wraps onto ids that
  // may still be alive; skip both.
  do {
    s->id = next_id_++;
  } while (s->id == 0 || by_id_.contains(s->id));
  // A repeated 256-bit random cookie will not happen; if it did, two users would share a key.
  do {
    s->cookie = random_cookie();
  } while (by_cookie_.contains(s->cookie));
  s->username = std::move(username);
  s->group = std::move(group);
  s->created = now;
  s->expires = now + cookie_timeout_;
  Session* raw = s.get();
  sessions_.push_back(std::move(s));
  by_cookie_.emplace(raw->cookie, raw);
  by_id_.emplace(raw->id, raw);
  return *raw;
}

Session* SessionTable::find(const Cookie& cookie, Clock::time_point now) {
  auto it = by_cookie_.find(cookie);
  if (it == by_cookie_.end() || expired(*it->second, now)) {
    return nullptr;
  }
  return it->second;
}

Session* SessionTable::find_id(uint32_t id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

bool SessionTable::ensure_lease(Session& s) {
  if (s.ipv4) {
    return true;
  }
  s.ipv4 = pool_.lease(predictable_ips_ ? std::string_view(s.username) : std::string_view{});
  return s.ipv4.has_value();
}

void SessionTable::attach(Session& s) {
  if (!s.tunnel_attached) {
    ++attached_by_user_[s.username];
  }
  s.tunnel_attached = true;
}

void SessionTable::detach(Session& s, Clock::time_point now) {
  if (s.tunnel_attached) {
    auto it = attached_by_user_.find(s.username);
    if (it != attached_by_user_.end() && --it->second == 0) {
      attached_by_user_.erase(it);
    }
  }
  s.tunnel_attached = false;
  s.expires = now + cookie_timeout_;
}

void SessionTable::detach_after_logout(Session& s, Clock::time_point now) {
  detach(s, now);
  // ocserv keeps a logged-out persistent cookie 15 s at least, so that a client's own
  // reconnect racing its BYE is not refused.
  s.expires = std::max(s.created + cookie_timeout_, now + std::chrono::seconds(15));
}

void SessionTable::remove(uint32_t id) {
  Session* s = find_id(id);
  if (s == nullptr) {
    return;
  }
  release(*s);
  // all() keeps creation order, so this is a search and a shift of pointers: O(n) but a few
  // microseconds at 10,000 sessions, once per logout.
  auto it = std::find_if(sessions_.begin(), sessions_.end(), [s](const auto& p) { return p.get() == s; });
  sessions_.erase(it);
}

size_t SessionTable::expire(Clock::time_point now) {
  const auto before = sessions_.size();
  std::erase_if(sessions_, [&](const std::unique_ptr<Session>& s) {
    if (!expired(*s, now)) {
      return false;
    }
    release(*s);
    return true;
  });
  return before - sessions_.size();
}

size_t SessionTable::attached_count(const std::string& username) const {
  auto it = attached_by_user_.find(username);
  return it == attached_by_user_.end() ? 0 : it->second;
}

}  // namespace ocm::session
