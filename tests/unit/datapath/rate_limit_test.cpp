// lib/datapath rate_limit.hpp (token bucket math), police_rx, route_tun's tx limit, and
// SessionTable::set_rate_limit.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ocm/datapath/pipeline.hpp"
#include "ocm/datapath/rate_limit.hpp"
#include "ocm/datapath/stages.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using test::Harness;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 5 * kSec;  // a "now" well after the clock's origin

// One packet offered at time t (ns after kT0); `want` = admitted.
struct Offer {
  uint64_t t;
  uint64_t bytes;
  bool want;
};
struct BucketCase {
  const char* name;
  uint64_t rate;
  std::vector<Offer> offers;
};

class TokenBucketTest : public ::testing::TestWithParam<BucketCase> {};

TEST_P(TokenBucketTest, Admits) {
  TokenBucket b;
  b.set_rate(GetParam().rate);
  size_t i = 0;
  for (const Offer& o : GetParam().offers) {
    EXPECT_EQ(b.take(o.bytes, kT0 + o.t), o.want) << "offer " << i;
    ++i;
  }
}

// 1 MB/s: burst 125000 bytes (1/8 s). 100 kB/s: burst is the 64 KiB floor.
INSTANTIATE_TEST_SUITE_P(
    Cases, TokenBucketTest,
    ::testing::Values(
        BucketCase{"UnlimitedTakesAnything", 0, {{0, 65535, true}, {0, 65535, true}, {0, 65535, true}}},
        BucketCase{"FullBurstThenEmpty", 1'000'000, {{0, 125000, true}, {0, 1, false}}},
        BucketCase{"BurstIsTheCeiling", 1'000'000, {{0, 125001, false}, {0, 125000, true}}},
        BucketCase{"MinimumBurstFloor", 100'000, {{0, 65536, true}, {0, 1, false}}},
        // Refill is exact to the byte: 1 ms at 1 MB/s is 1000 bytes, not 999.
        BucketCase{"RefillPerMillisecond", 1'000'000,
                   {{0, 125000, true}, {1'000'000, 1001, false}, {1'000'000, 1000, true}, {1'000'000, 1, false}}},
        // Fractions accumulate: 1 byte/s, refilled a nanosecond at a time, still gives 1 byte per second.
        BucketCase{"SlowRateAccumulatesFractions", 1,
                   {{0, 65536, true}, {kSec / 2, 1, false}, {kSec - 1, 1, false}, {kSec, 1, true}, {kSec, 1, false}}},
        // A day idle refills to the burst only (overflow-checked multiplication).
        BucketCase{"LongIdleRefillsOnlyToBurst", 1'000'000,
                   {{0, 125000, true}, {86400 * kSec, 125000, true}, {86400 * kSec, 1, false}}},
        BucketCase{"MaxRateLongIdle", TokenBucket::kMaxRate,
                   {{0, 65535, true}, {uint64_t{365} * 86400 * kSec, 65535, true}}},
        // A clock that goes backwards (another thread's older timestamp) refills nothing.
        BucketCase{"ClockBackwardsRefillsNothing", 1'000'000,
                   {{kSec, 125000, true}, {kSec / 2, 1, false}, {kSec + 1000, 1, true}}},
        // A refused packet takes nothing: a smaller one still fits.
        BucketCase{"RefusalTakesNothing", 1'000'000, {{0, 100000, true}, {0, 30000, false}, {0, 25000, true}}}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(TokenBucket, SustainedRateMatchesTheLimit) {
  // 1500-byte packets offered at 4x the limit for 10 s: what passes is the rate x 10 s plus one
  // burst, to the packet.
  TokenBucket b;
  const uint64_t rate = 2'000'000;
  b.set_rate(rate);
  uint64_t passed = 0;
  const uint64_t step = 1500 * kSec / (4 * rate);  // ns between packets at 4x
  for (uint64_t t = 0; t < 10 * kSec; t += step) {
    if (b.take(1500, kT0 + t)) {
      passed += 1500;
    }
  }
  uint64_t want = rate * 10 + TokenBucket::burst_bytes_for(rate);
  EXPECT_LE(passed, want);
  EXPECT_GE(passed, want - 1500);
}

TEST(TokenBucket, RateAboveMaximumIsClamped) {
  TokenBucket b;
  b.set_rate(TokenBucket::kMaxRate * 4);
  EXPECT_EQ(b.rate(), TokenBucket::kMaxRate);
  EXPECT_EQ(b.burst_bytes(), TokenBucket::kMaxRate / 8);
}

TEST(SessionTableRateLimit, SetOnFreeSlotFailsAndReleaseClears) {
  Harness h(8);
  EXPECT_FALSE(h.table.set_rate_limit(3, 1000, 1000));
  EXPECT_FALSE(h.table.set_rate_limit(99, 1000, 1000));
  ASSERT_TRUE(h.table.attach_cstp(3, Harness::lease_of(3)));
  ASSERT_TRUE(h.table.set_rate_limit(3, 1000, 2000));
  EXPECT_EQ(h.table.session(3).rx_limit.rate(), 1000U);
  EXPECT_EQ(h.table.session(3).tx_limit.rate(), 2000U);
  // DTLS coming up keeps the limits (same session); release forgets them.
  h.activate(3);
  EXPECT_EQ(h.table.session(3).tx_limit.rate(), 2000U);
  h.table.release(3);
  ASSERT_TRUE(h.table.attach_cstp(3, Harness::lease_of(3)));
  EXPECT_FALSE(h.table.session(3).rx_limit.limited());
}

// Packets of 1500 bytes for `slot`, as police_rx (meta.slot set) or route_tun (to the lease) sees them.
std::vector<PktBuf*> rx_batch(Harness& h, uint32_t slot, int n) {
  std::vector<PktBuf*> pkts;
  for (int i = 0; i < n; ++i) {
    PktBuf* p = h.packet(test::ipv4_packet(Harness::lease_of(slot), test::kRemote, 1500));
    p->meta.slot = slot;
    pkts.push_back(p);
  }
  return pkts;
}

// police_rx: per session, in burst order; another session's budget is its own.
TEST(PoliceRx, DropsOverTheLimitPerSession) {
  Harness h(8, 4096);
  h.activate(0);
  h.activate(1);
  ASSERT_TRUE(h.table.set_rate_limit(0, 100'000, 0));  // burst: the 64 KiB floor
  h.ctx.now_ns = kT0;
  std::vector<PktBuf*> mixed;
  for (int i = 0; i < 20; ++i) {
    auto one = rx_batch(h, static_cast<uint32_t>(i % 2), 1);
    mixed.push_back(one[0]);
  }
  EXPECT_EQ(test::run_stage(police_rx, h.ctx, mixed), 20);  // slot 0: 15000 bytes so far
  auto full = rx_batch(h, 0, 32);
  EXPECT_EQ(test::run_stage(police_rx, h.ctx, full), 32);  // 63000 <= 65536
  auto over = rx_batch(h, 0, 4);
  EXPECT_EQ(test::run_stage(police_rx, h.ctx, over), 1);  // 2536 left: one more fits
  EXPECT_EQ(h.counters.dropped(DropReason::kRateLimited), 3U);
  EXPECT_EQ(over[1]->meta.drop, DropReason::kRateLimited);
  auto other = rx_batch(h, 1, 32);
  EXPECT_EQ(test::run_stage(police_rx, h.ctx, other), 32) << "slot 1 has no limit";
  // 100 ms later 10000 bytes came back (1036 + 10000): seven of eight fit.
  h.ctx.now_ns = kT0 + kSec / 10;
  auto later = rx_batch(h, 0, 8);
  EXPECT_EQ(test::run_stage(police_rx, h.ctx, later), 7);
  EXPECT_EQ(h.counters.dropped(DropReason::kRateLimited), 4U);
}

// route_tun charges the tx bucket for DTLS and CSTP-ring packets alike.
TEST(RouteTunRateLimit, TxLimitCoversDtlsAndCstp) {
  Harness h(8, 4096, 64, 128);
  h.activate(0);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  ASSERT_TRUE(h.table.set_rate_limit(0, 0, 100'000));
  ASSERT_TRUE(h.table.set_rate_limit(1, 0, 100'000));
  h.ctx.now_ns = kT0;
  for (uint32_t slot : {0U, 1U}) {
    uint16_t kept = 0;
    for (int batch = 0; batch < 2; ++batch) {
      std::vector<PktBuf*> pkts;
      for (int i = 0; i < 32; ++i) {
        pkts.push_back(h.packet(test::ipv4_packet(test::kRemote, Harness::lease_of(slot), 1500)));
      }
      kept += test::run_stage(route_tun, h.ctx, pkts);
    }
    if (slot == 0) {
      EXPECT_EQ(kept, 43);  // sealed on DTLS: 43 x 1500 <= 65536 < 44 x 1500
    } else {
      EXPECT_EQ(kept, 0);
      EXPECT_EQ(h.counters.count(Event::kTunToCstp), 43U);
    }
  }
  EXPECT_EQ(h.counters.dropped(DropReason::kRateLimited), 2U * 21U);
}

}  // namespace
}  // namespace ocm::datapath
