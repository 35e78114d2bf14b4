// lib/ctrl/src/ban_table.cpp: ocserv's ban score (main-ban.c) with an injected clock.

#include "ban_table.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ocm::ctrl {
namespace {

using std::chrono::seconds;
using TP = BanTable::Clock::time_point;

constexpr uint32_t kA = 0xC6336401;  // 198.51.100.1
constexpr uint32_t kB = 0xC6336402;  // 198.51.100.2
constexpr uint32_t kLoopback = 0x7F000001;
constexpr uint32_t kOffice = 0x0A010203;  // 10.1.2.3

// ocserv's sample values, scaled: 80 points, reset after 1200 s, banned for 300 s.
BanPolicy policy() {
  BanPolicy p;
  p.max_score = 80;
  p.reset_time = seconds(1200);
  p.ban_time = seconds(300);
  p.points_wrong_password = 10;
  p.points_connection = 1;
  p.exempt = {Ipv4Prefix{0x7F000000, 8}, Ipv4Prefix{0x0A000000, 8}};
  return p;
}

TP at(int64_t s) { return TP{} + seconds(1000000 + s); }

// One scripted step: at time t, address ip does something; expect banned-ness afterwards.
enum class Op { kConnect, kWrongPassword, kUnban, kExpire };
struct Step {
  int64_t t;
  Op op;
  uint32_t ip;
  bool want_banned;  // banned(ip, t) after the step
  uint32_t want_score;
};
struct ScoreCase {
  const char* name;
  std::vector<Step> steps;
};

class BanScoreTest : public ::testing::TestWithParam<ScoreCase> {};

TEST_P(BanScoreTest, Scripted) {
  BanTable table(policy());
  size_t i = 0;
  for (const Step& s : GetParam().steps) {
    switch (s.op) {
      case Op::kConnect:
        EXPECT_EQ(table.on_connection(s.ip, at(s.t)), s.want_banned) << "step " << i;
        break;
      case Op::kWrongPassword:
        table.on_wrong_password(s.ip, at(s.t));
        break;
      case Op::kUnban:
        EXPECT_TRUE(table.unban(s.ip)) << "step " << i;
        break;
      case Op::kExpire:
        table.expire(at(s.t));
        break;
    }
    EXPECT_EQ(table.banned(s.ip, at(s.t)), s.want_banned) << "step " << i;
    uint32_t score = 0;
    for (const auto& e : table.entries(at(s.t))) {
      if (e.ip == s.ip) {
        score = e.score;
      }
    }
    EXPECT_EQ(score, s.want_score) << "step " << i;
    ++i;
  }
}

// Seven wrong passwords on seven connections: 7 x (1 + 10) = 77, the eighth connection makes 78,
// its password 88 >= 80: banned.
std::vector<Step> brute_force(uint32_t ip, int64_t t0) {
  std::vector<Step> steps;
  uint32_t score = 0;
  for (int k = 0; k < 7; ++k) {
    score += 1;
    steps.push_back({t0 + k, Op::kConnect, ip, false, score});
    score += 10;
    steps.push_back({t0 + k, Op::kWrongPassword, ip, false, score});
  }
  steps.push_back({t0 + 7, Op::kConnect, ip, false, 78});
  steps.push_back({t0 + 7, Op::kWrongPassword, ip, true, 88});
  return steps;
}

std::vector<Step> concat(std::vector<Step> a, const std::vector<Step>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BanScoreTest,
    ::testing::Values(
        ScoreCase{"WrongPasswordsBan", brute_force(kA, 0)},
        ScoreCase{"ConnectionWhileBannedIsRefusedAndDoesNotExtend",
                  concat(brute_force(kA, 0), {{100, Op::kConnect, kA, true, 89},
                                              // banned at t=7 for 300 s: still banned at 307 ...
                                              {307, Op::kConnect, kA, true, 90},
                                              // ... not at 308, and the score starts again
                                              {308, Op::kConnect, kA, false, 1}})},
        ScoreCase{"ConnectionsAloneBanAtMaxScore",
                  [] {
                    std::vector<Step> s;
                    for (uint32_t k = 1; k < 80; ++k) {
                      s.push_back({int64_t{k}, Op::kConnect, kA, false, k});
                    }
                    s.push_back({80, Op::kConnect, kA, true, 80});
                    return s;
                  }()},
        ScoreCase{"ScoreResetsAfterResetTime",
                  {{0, Op::kConnect, kA, false, 1},
                   {0, Op::kWrongPassword, kA, false, 11},
                   {1200, Op::kConnect, kA, false, 12},  // not yet: strictly after reset_time
                   {1201, Op::kConnect, kA, false, 1}}},
        ScoreCase{"UnbanLiftsAtOnce",
                  concat(brute_force(kA, 0), {{10, Op::kUnban, kA, false, 0}, {11, Op::kConnect, kA, false, 1}})},
        ScoreCase{"AddressesAreIndependent",
                  concat(brute_force(kA, 0), {{9, Op::kConnect, kB, false, 1}})},
        ScoreCase{"LoopbackExempt",
                  {{0, Op::kConnect, kLoopback, false, 0}, {0, Op::kWrongPassword, kLoopback, false, 0}}},
        ScoreCase{"ListedPrefixExempt",
                  {{0, Op::kWrongPassword, kOffice, false, 0}, {0, Op::kConnect, kOffice, false, 0}}},
        ScoreCase{"ExpireKeepsActiveBans",
                  concat(brute_force(kA, 0), {{200, Op::kExpire, kA, true, 88}, {2000, Op::kExpire, kA, false, 0}})}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(BanTable, ExemptAddressIsNeverBannedWhateverItDoes) {
  BanTable table(policy());
  for (int k = 0; k < 1000; ++k) {
    table.on_wrong_password(kLoopback, at(k));
    EXPECT_FALSE(table.on_connection(kLoopback, at(k)));
  }
  EXPECT_EQ(table.size(), 0U);
}

TEST(BanTable, DisabledScoresNothing) {
  BanPolicy p = policy();
  p.max_score = 0;
  BanTable table(p);
  for (int k = 0; k < 100; ++k) {
    table.on_wrong_password(kA, at(0));
    EXPECT_FALSE(table.on_connection(kA, at(0)));
  }
  EXPECT_EQ(table.size(), 0U);
  EXPECT_FALSE(table.banned(kA, at(0)));
}

// A spray of source addresses cannot grow the table; the least recently scored entry goes,
// and an attacker that keeps trying stays at the front and stays banned.
TEST(BanTable, FullTableEvictsLeastRecentlyScored) {
  BanTable table(policy(), 8);
  for (const Step& s : brute_force(kA, 0)) {
    if (s.op == Op::kConnect) {
      table.on_connection(kA, at(s.t));
    } else {
      table.on_wrong_password(kA, at(s.t));
    }
  }
  ASSERT_TRUE(table.banned(kA, at(8)));
  for (uint32_t k = 0; k < 100; ++k) {
    table.on_connection(0xCB007100 + k, at(9));  // 203.0.113.x
    // The banned address keeps trying, so it stays the most recent and is never evicted.
    EXPECT_TRUE(table.on_connection(kA, at(9)));
    EXPECT_LE(table.size(), 8U);
  }
  EXPECT_EQ(table.size(), 8U);
  EXPECT_EQ(table.evictions(), 100U - 7U);
  auto list = table.entries(at(9));
  ASSERT_EQ(list.size(), 8U);
  EXPECT_EQ(list.front().ip, kA);
  EXPECT_EQ(list[1].ip, 0xCB007100U + 99);
  EXPECT_EQ(list.back().ip, 0xCB007100U + 93);  // the oldest survivors
  EXPECT_EQ(table.banned_count(at(9)), 1U);
}

TEST(BanTable, UnbanUnknownAddressFails) {
  BanTable table(policy());
  EXPECT_FALSE(table.unban(kA));
}

TEST(BanTable, ScoreSaturates) {
  BanPolicy p = policy();
  p.points_connection = UINT32_MAX / 2 + 1;
  BanTable table(p);
  table.on_connection(kA, at(0));
  table.on_connection(kA, at(0));
  table.on_connection(kA, at(0));
  EXPECT_EQ(table.entries(at(0)).front().score, UINT32_MAX);
  EXPECT_TRUE(table.banned(kA, at(0)));
}

TEST(BanTable, ReloadedPolicyAppliesToExistingScores) {
  BanTable table(policy());
  table.on_connection(kA, at(0));
  table.on_wrong_password(kA, at(0));  // 11 points
  EXPECT_FALSE(table.banned(kA, at(0)));
  BanPolicy stricter = policy();
  stricter.max_score = 5;
  table.set_policy(stricter);
  EXPECT_TRUE(table.banned(kA, at(1)));
}

}  // namespace
}  // namespace ocm::ctrl
