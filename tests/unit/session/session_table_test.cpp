#include "ocm/session/session_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ocm::session {
namespace {

using std::chrono::seconds;

constexpr seconds kTimeout{300};
// Any fixed point will do; tests pass time explicitly and never sleep.
constexpr Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(100);

Ipv4Prefix prefix_of(const char* text) {
  return parse_ipv4_prefix(text).value();
}

class SessionTableTest : public ::testing::Test {
 protected:
  Ipv4Pool pool_{prefix_of("192.168.99.0/24")};
  SessionTable table_{pool_, kTimeout, true};
};

TEST_F(SessionTableTest, CreateFillsSession) {
  Session& a = table_.create("alice", "staff", kT0);
  Session& b = table_.create("bob", "", kT0 + seconds(1));
  EXPECT_NE(a.id, 0u);
  EXPECT_NE(a.id, b.id);
  EXPECT_FALSE(cookie_equal(a.cookie, b.cookie));
  EXPECT_EQ(a.username, "alice");
  EXPECT_EQ(a.group, "staff");
  EXPECT_EQ(a.created, kT0);
  EXPECT_EQ(a.expires, kT0 + kTimeout);
  EXPECT_EQ(b.expires, kT0 + seconds(1) + kTimeout);
  EXPECT_FALSE(a.ipv4.has_value());
  EXPECT_FALSE(a.tunnel_attached);
  EXPECT_EQ(table_.size(), 2u);
  EXPECT_EQ(pool_.in_use(), 0u);  // the lease comes with the tunnel, not with the login
  EXPECT_EQ(table_.find_id(a.id), &a);
  EXPECT_EQ(table_.find_id(b.id), &b);
  EXPECT_EQ(table_.find_id(0), nullptr);
  EXPECT_EQ(table_.find_id(12345), nullptr);
}

// persistent_cookies: a logout never lengthens the cookie's life, but always leaves 15 s.
TEST_F(SessionTableTest, DetachAfterLogoutKeepsCookieUntilItsOriginalExpiry) {
  struct Case {
    seconds logout_at;
    seconds want_expiry;
  };
  const Case cases[] = {
      {seconds(10), kTimeout},                          // early logout: created + cookie_timeout
      {kTimeout - seconds(5), kTimeout + seconds(10)},  // near the end: now + 15 s
      {kTimeout * 3, kTimeout * 3 + seconds(15)},       // long tunnel: now + 15 s
  };
  for (const auto& c : cases) {
    Session& s = table_.create("alice", "", kT0);
    table_.attach(s);
    table_.detach_after_logout(s, kT0 + c.logout_at);
    EXPECT_FALSE(s.tunnel_attached);
    EXPECT_EQ(s.expires, kT0 + c.want_expiry) << c.logout_at.count();
    EXPECT_EQ(table_.find(s.cookie, kT0 + c.want_expiry - seconds(1)), &s);
    EXPECT_EQ(table_.find(s.cookie, kT0 + c.want_expiry), nullptr);
    EXPECT_EQ(table_.attached_count("alice"), 0u);
    table_.remove(s.id);
  }
}

TEST_F(SessionTableTest, FindByCookieUntilExpiry) {
  Session& a = table_.create("alice", "", kT0);
  table_.create("bob", "", kT0);
  EXPECT_EQ(table_.find(a.cookie, kT0), &a);
  EXPECT_EQ(table_.find(a.cookie, kT0 + kTimeout - seconds(1)), &a);
  EXPECT_EQ(table_.find(a.cookie, kT0 + kTimeout), nullptr);  // expires <= now
  EXPECT_EQ(table_.find(a.cookie, kT0 + kTimeout + seconds(1000)), nullptr);
  // Not found, but still there until expire() runs.
  EXPECT_EQ(table_.size(), 2u);

  Cookie other = a.cookie;
  other[31] ^= 0x80;
  EXPECT_EQ(table_.find(other, kT0), nullptr);
  EXPECT_EQ(table_.find(Cookie{}, kT0), nullptr);
}

TEST_F(SessionTableTest, ExpireDeletesDetachedExpiredSessionsAndFreesLeases) {
  Session& a = table_.create("alice", "", kT0);
  Session& b = table_.create("bob", "", kT0 + seconds(10));
  const uint32_t a_id = a.id;
  const uint32_t b_id = b.id;
  ASSERT_TRUE(table_.ensure_lease(a));
  ASSERT_TRUE(table_.ensure_lease(b));
  const uint32_t a_addr = *a.ipv4;
  EXPECT_EQ(pool_.in_use(), 2u);

  EXPECT_EQ(table_.expire(kT0 + kTimeout - seconds(1)), 0u);
  EXPECT_EQ(table_.expire(kT0 + kTimeout), 1u);
  EXPECT_EQ(table_.find_id(a_id), nullptr);
  EXPECT_NE(table_.find_id(b_id), nullptr);
  EXPECT_FALSE(pool_.is_leased(a_addr));
  EXPECT_EQ(pool_.in_use(), 1u);
  EXPECT_EQ(table_.expire(kT0 + kTimeout + seconds(10)), 1u);
  EXPECT_EQ(table_.size(), 0u);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(SessionTableTest, AttachedSessionNeverExpires) {
  Session& a = table_.create("alice", "", kT0);
  ASSERT_TRUE(table_.ensure_lease(a));
  table_.attach(a);
  const auto much_later = kT0 + kTimeout * 1000;
  EXPECT_EQ(table_.find(a.cookie, much_later), &a);
  EXPECT_EQ(table_.expire(much_later), 0u);
  EXPECT_EQ(table_.size(), 1u);
  EXPECT_EQ(pool_.in_use(), 1u);
}

TEST_F(SessionTableTest, DetachRestartsTheTimeout) {
  Session& a = table_.create("alice", "", kT0);
  table_.attach(a);
  const auto t1 = kT0 + seconds(5000);
  table_.detach(a, t1);
  EXPECT_FALSE(a.tunnel_attached);
  EXPECT_EQ(a.expires, t1 + kTimeout);
  EXPECT_EQ(table_.find(a.cookie, t1 + kTimeout - seconds(1)), &a);
  EXPECT_EQ(table_.expire(t1 + kTimeout - seconds(1)), 0u);
  EXPECT_EQ(table_.find(a.cookie, t1 + kTimeout), nullptr);
  EXPECT_EQ(table_.expire(t1 + kTimeout), 1u);
}

TEST_F(SessionTableTest, ReconnectFindsSameSessionAndAddress) {
  Session& a = table_.create("alice", "staff", kT0);
  ASSERT_TRUE(table_.ensure_lease(a));
  const uint32_t addr = *a.ipv4;
  table_.attach(a);
  table_.detach(a, kT0 + seconds(60));  // TCP drop

  // Another user connects meanwhile.
  Session& b = table_.create("bob", "", kT0 + seconds(61));
  ASSERT_TRUE(table_.ensure_lease(b));

  Session* again = table_.find(a.cookie, kT0 + seconds(70));
  ASSERT_EQ(again, &a);
  ASSERT_TRUE(table_.ensure_lease(*again));
  EXPECT_EQ(again->ipv4, addr);
  table_.attach(*again);
  EXPECT_EQ(pool_.in_use(), 2u);
}

TEST_F(SessionTableTest, RemoveFreesLease) {
  Session& a = table_.create("alice", "", kT0);
  ASSERT_TRUE(table_.ensure_lease(a));
  const uint32_t addr = *a.ipv4;
  const Cookie cookie = a.cookie;
  const uint32_t id = a.id;
  table_.attach(a);
  table_.remove(id);  // logout works even while attached
  EXPECT_EQ(table_.size(), 0u);
  EXPECT_EQ(table_.find_id(id), nullptr);
  EXPECT_EQ(table_.find(cookie, kT0), nullptr);
  EXPECT_FALSE(pool_.is_leased(addr));
  EXPECT_EQ(pool_.in_use(), 0u);
  table_.remove(id);  // unknown id: no-op
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(SessionTableTest, RemoveWithoutLeaseKeepsOthers) {
  Session& a = table_.create("alice", "", kT0);
  Session& b = table_.create("bob", "", kT0);
  ASSERT_TRUE(table_.ensure_lease(b));
  const uint32_t b_id = b.id;
  table_.remove(a.id);
  ASSERT_NE(table_.find_id(b_id), nullptr);
  EXPECT_EQ(table_.find_id(b_id), &b);  // references to other sessions stay valid
  EXPECT_EQ(pool_.in_use(), 1u);
}

TEST_F(SessionTableTest, IdsAreNotReused) {
  std::set<uint32_t> ids;
  for (int i = 0; i < 50; ++i) {
    Session& s = table_.create("u", "", kT0);
    EXPECT_TRUE(ids.insert(s.id).second);
    table_.remove(s.id);
  }
}

TEST_F(SessionTableTest, AttachedCount) {
  Session& a1 = table_.create("alice", "", kT0);
  Session& a2 = table_.create("alice", "", kT0);
  Session& b = table_.create("bob", "", kT0);
  table_.create("alice", "", kT0);  // authenticated, never connected
  EXPECT_EQ(table_.attached_count("alice"), 0u);
  table_.attach(a1);
  table_.attach(a2);
  table_.attach(b);
  EXPECT_EQ(table_.attached_count("alice"), 2u);
  EXPECT_EQ(table_.attached_count("bob"), 1u);
  EXPECT_EQ(table_.attached_count("carol"), 0u);
  EXPECT_EQ(table_.attached_count("Alice"), 0u);
  table_.detach(a1, kT0);
  EXPECT_EQ(table_.attached_count("alice"), 1u);
  table_.remove(a2.id);
  EXPECT_EQ(table_.attached_count("alice"), 0u);
}

TEST_F(SessionTableTest, AttachAndDetachAreIdempotentForTheCount) {
  Session& a = table_.create("alice", "", kT0);
  table_.detach(a, kT0);  // never attached
  EXPECT_EQ(table_.attached_count("alice"), 0u);
  table_.attach(a);
  table_.attach(a);  // a cookie reconnect re-attaches an attached session
  EXPECT_EQ(table_.attached_count("alice"), 1u);
  table_.detach(a, kT0);
  table_.detach(a, kT0);
  EXPECT_EQ(table_.attached_count("alice"), 0u);
  table_.attach(a);
  EXPECT_EQ(table_.expire(kT0 + kTimeout * 10), 0u);
  table_.remove(a.id);  // logout while attached drops the count too
  EXPECT_EQ(table_.attached_count("alice"), 0u);
}

// The indexes must follow the sessions exactly: 10,000 sessions are all found by cookie and id,
// and after logouts and expiry nothing is found any more (an index entry left behind would be
// a dangling pointer and a leak per session).
TEST(SessionTable, TenThousandSessionsAllFoundThenAllGone) {
  Ipv4Pool pool(prefix_of("10.40.0.0/16"));
  SessionTable table(pool, kTimeout, false);
  constexpr int kSessions = 10000;
  std::vector<std::pair<uint32_t, Cookie>> made;
  for (int i = 0; i < kSessions; ++i) {
    Session& s = table.create("user" + std::to_string(i % 100), "", kT0);
    ASSERT_TRUE(table.ensure_lease(s));
    if (i % 2 == 0) {
      table.attach(s);
    }
    made.emplace_back(s.id, s.cookie);
  }
  EXPECT_EQ(table.size(), static_cast<size_t>(kSessions));
  EXPECT_EQ(table.attached_count("user0"), 100u);  // i % 100 == 0: every one of them even
  EXPECT_EQ(table.attached_count("user1"), 0u);
  for (const auto& [id, cookie] : made) {
    Session* s = table.find(cookie, kT0 + seconds(1));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->id, id);
    EXPECT_EQ(table.find_id(id), s);
  }
  // Half log out (the attached ones), the rest expires.
  for (size_t i = 0; i < made.size(); i += 2) {
    table.remove(made[i].first);
  }
  EXPECT_EQ(table.attached_count("user0"), 0u);
  EXPECT_EQ(table.expire(kT0 + kTimeout), static_cast<size_t>(kSessions / 2));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  for (const auto& [id, cookie] : made) {
    EXPECT_EQ(table.find(cookie, kT0), nullptr);
    EXPECT_EQ(table.find_id(id), nullptr);
  }
}

TEST_F(SessionTableTest, EnsureLeaseKeepsExistingAddress) {
  Session& a = table_.create("alice", "", kT0);
  ASSERT_TRUE(table_.ensure_lease(a));
  const auto addr = a.ipv4;
  ASSERT_TRUE(table_.ensure_lease(a));
  EXPECT_EQ(a.ipv4, addr);
  EXPECT_EQ(pool_.in_use(), 1u);
}

TEST(SessionTable, PredictableIpsUseUsernameAsSeed) {
  Ipv4Pool reference(prefix_of("10.20.0.0/24"));
  const auto alice_addr = reference.lease("alice");
  ASSERT_TRUE(alice_addr.has_value());

  Ipv4Pool pool(prefix_of("10.20.0.0/24"));
  SessionTable table(pool, kTimeout, true);
  Session& a = table.create("alice", "", kT0);
  ASSERT_TRUE(table.ensure_lease(a));
  EXPECT_EQ(a.ipv4, alice_addr);

  // Next login after the session expired: same address again.
  EXPECT_EQ(table.expire(kT0 + kTimeout), 1u);
  Session& again = table.create("alice", "", kT0 + kTimeout);
  ASSERT_TRUE(table.ensure_lease(again));
  EXPECT_EQ(again.ipv4, alice_addr);
}

TEST(SessionTable, UnpredictableIpsIgnoreUsername) {
  Ipv4Pool pool(prefix_of("10.20.0.0/24"));
  SessionTable table(pool, kTimeout, false);
  Session& a = table.create("alice", "", kT0);
  ASSERT_TRUE(table.ensure_lease(a));
  // No seed: the scan starts at the first leasable address.
  EXPECT_EQ(a.ipv4, parse_ipv4("10.20.0.2"));
}

TEST(SessionTable, EnsureLeaseFailsWhenPoolExhausted) {
  Ipv4Pool pool(prefix_of("10.0.0.0/30"));  // one leasable address
  SessionTable table(pool, kTimeout, true);
  Session& a = table.create("alice", "", kT0);
  Session& b = table.create("bob", "", kT0);
  ASSERT_TRUE(table.ensure_lease(a));
  EXPECT_FALSE(table.ensure_lease(b));
  EXPECT_FALSE(b.ipv4.has_value());
  table.remove(a.id);
  EXPECT_TRUE(table.ensure_lease(b));
}

// Differential test against a naive model: random creates, leases, attaches, detaches, removes,
// expiries and lookups with a moving clock.
TEST(SessionTable, MatchesReferenceModel) {
  struct Model {
    Cookie cookie{};
    std::string username;
    Clock::time_point expires;
    bool attached = false;
    std::optional<uint32_t> ipv4;
  };
  Ipv4Pool pool(prefix_of("10.30.0.0/27"));  // 29 leasable: exhaustion happens
  SessionTable table(pool, seconds(30), true);
  std::map<uint32_t, Model> model;
  std::mt19937 rng(777);
  auto now = kT0;
  auto pick = [&]() -> uint32_t {
    auto it = model.begin();
    std::advance(it, static_cast<long>(rng() % model.size()));
    return it->first;
  };
  auto live = [&](const Model& m) { return m.attached || m.expires > now; };

  for (int step = 0; step < 20000; ++step) {
    now += seconds(rng() % 3);
    const unsigned op = rng() % 12;
    if (op < 3 || model.empty()) {
      const std::string user = "user" + std::to_string(rng() % 8);
      Session& s = table.create(user, "", now);
      ASSERT_EQ(model.count(s.id), 0u);
      model[s.id] = Model{s.cookie, user, now + seconds(30), false, std::nullopt};
    } else if (op < 5) {
      const uint32_t id = pick();
      Session* s = table.find_id(id);
      ASSERT_NE(s, nullptr);
      const bool ok = table.ensure_lease(*s);
      Model& m = model[id];
      if (!m.ipv4) {
        size_t leased = 0;
        for (const auto& [k, v] : model) {
          leased += v.ipv4 ? 1 : 0;
        }
        ASSERT_EQ(ok, leased < pool.capacity()) << step;
        m.ipv4 = s->ipv4;
      } else {
        ASSERT_TRUE(ok);
        ASSERT_EQ(s->ipv4, m.ipv4);
      }
    } else if (op < 6) {
      const uint32_t id = pick();
      table.attach(*table.find_id(id));
      model[id].attached = true;
    } else if (op < 7) {
      const uint32_t id = pick();
      table.detach(*table.find_id(id), now);
      model[id].attached = false;
      model[id].expires = now + seconds(30);
    } else if (op < 8) {
      const uint32_t id = pick();
      table.remove(id);
      model.erase(id);
    } else if (op < 9) {
      size_t expect = 0;
      std::erase_if(model, [&](const auto& kv) {
        const bool dead = !live(kv.second);
        expect += dead ? 1 : 0;
        return dead;
      });
      ASSERT_EQ(table.expire(now), expect) << step;
    } else if (op < 11) {
      const uint32_t id = pick();
      Session* s = table.find(model[id].cookie, now);
      if (live(model[id])) {
        ASSERT_NE(s, nullptr) << step;
        ASSERT_EQ(s->id, id);
      } else {
        ASSERT_EQ(s, nullptr) << step;
      }
    } else {
      const std::string user = "user" + std::to_string(rng() % 8);
      size_t expect = 0;
      for (const auto& [k, v] : model) {
        expect += v.attached && v.username == user ? 1 : 0;
      }
      ASSERT_EQ(table.attached_count(user), expect) << step;
    }
    ASSERT_EQ(table.size(), model.size()) << step;
    size_t leased = 0;
    for (const auto& [k, v] : model) {
      leased += v.ipv4 ? 1 : 0;
    }
    ASSERT_EQ(pool.in_use(), leased) << step;
  }
}

}  // namespace
}  // namespace ocm::session
