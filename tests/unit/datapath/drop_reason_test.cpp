#include "ocm/datapath/drop_reason.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

namespace ocm::datapath {
namespace {

TEST(DropReasonTest, NamesAreUniqueSnakeCase) {
  std::set<std::string> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    std::string name = to_string(static_cast<DropReason>(i));
    EXPECT_NE(name, "?");
    for (char c : name) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << name;
    }
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
  }
  EXPECT_STREQ(to_string(DropReason::kNone), "none");
  EXPECT_STREQ(to_string(DropReason::kInnerSrcSpoofed), "inner_src_spoofed");
  EXPECT_STREQ(to_string(static_cast<DropReason>(kDropReasonCount)), "?");
}

TEST(EventTest, NamesAreUnique) {
  std::set<std::string> names;
  for (size_t i = 0; i < kEventCount; ++i) {
    EXPECT_TRUE(names.insert(to_string(static_cast<Event>(i))).second);
  }
  EXPECT_STREQ(to_string(Event::kDpdAnswered), "dpd_answered");
  EXPECT_STREQ(to_string(static_cast<Event>(kEventCount)), "?");
}

TEST(CountersTest, CountAndAdd) {
  Counters a;
  a.drop(DropReason::kReplay);
  a.drop(DropReason::kReplay);
  a.drop(DropReason::kNoRoute);
  a.event(Event::kKeepalive);
  a.udp_rx.packets = 3;
  a.udp_rx.bytes = 300;
  EXPECT_EQ(a.dropped(DropReason::kReplay), 2u);
  EXPECT_EQ(a.total_drops(), 3u);
  EXPECT_EQ(a.count(Event::kKeepalive), 1u);

  Counters b;
  b.drop(DropReason::kReplay);
  b.event(Event::kKeepalive);
  b.tun_tx.packets = 1;
  b.tun_tx.bytes = 60;
  b.udp_rx.packets = 1;
  b.add(a);
  EXPECT_EQ(b.dropped(DropReason::kReplay), 3u);
  EXPECT_EQ(b.dropped(DropReason::kNoRoute), 1u);
  EXPECT_EQ(b.count(Event::kKeepalive), 2u);
  EXPECT_EQ(b.udp_rx.packets, 4u);
  EXPECT_EQ(b.udp_rx.bytes, 300u);
  EXPECT_EQ(b.tun_tx.bytes, 60u);
}

TEST(CountersTest, BlockIsCacheAligned) {
  EXPECT_EQ(alignof(Counters), 64u);
  EXPECT_EQ(sizeof(Counters) % 64, 0u);
}

}  // namespace
}  // namespace ocm::datapath
