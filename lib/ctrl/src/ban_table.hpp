#pragma once
// ocserv's IP ban score (src/main-ban.c, protocol.md §7.4), per client IPv4 address.
//
// Points: every TCP connection (ban_points_connection), every wrong password
// (ban_points_wrong_password). When a score reaches max_ban_score the address is banned until
// ban_time after the point where it crossed (further attempts while banned add points but do
// not extend the ban, or a client polling the server would never get out). A score starts again
// from 0 when a ban has run out, or when ban_reset_time has passed since its last reset while
// not banned. Exempt prefixes are neither scored nor banned.
//
// Bounded: a fixed number of entries (kCapacity), all allocated at construction; when full,
// the least recently scored address is forgotten. An attacker who sprays source addresses can
// therefore only push out other idle entries, never grow memory; an address that keeps trying
// keeps its entry because every attempt makes it the most recent.
// Slow path (loop thread) only. Time is passed in (Clock::time_point) so tests need no sleeps.

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ocm/base/ipv4.hpp"

namespace ocm::ctrl {

struct BanPolicy {
  uint32_t max_score = 0;  // 0 = banning off: nothing is scored
  std::chrono::seconds reset_time{1200};
  std::chrono::seconds ban_time{300};
  uint32_t points_wrong_password = 10;
  uint32_t points_connection = 1;
  std::vector<Ipv4Prefix> exempt;
};

class BanTable {
 public:
  using Clock = std::chrono::steady_clock;
  // 16384 entries x ~64 bytes (entry + index node) is about 1 MiB: enough to remember every
  // address of a sizeable brute-force botnet for ban_reset_time, small next to the server.
  static constexpr uint32_t kDefaultCapacity = 16384;

  explicit BanTable(BanPolicy policy, uint32_t capacity = kDefaultCapacity);

  // Reload: new thresholds apply to existing scores; a capacity never changes.
  void set_policy(BanPolicy policy);
  [[nodiscard]] const BanPolicy& policy() const { return policy_; }
  [[nodiscard]] bool enabled() const { return policy_.max_score != 0; }
  [[nodiscard]] bool exempt(uint32_t ip) const;

  // A TCP connection from `ip` was accepted: adds the connection points, then says whether the
  // address is banned (the caller closes the connection before TLS). ocserv's check_if_banned.
  bool on_connection(uint32_t ip, Clock::time_point now);
  // A password check failed for a client at `ip`.
  void on_wrong_password(uint32_t ip, Clock::time_point now);
  // Adds points; true when the address is banned afterwards.
  bool add_points(uint32_t ip, uint32_t points, Clock::time_point now);
  [[nodiscard]] bool banned(uint32_t ip, Clock::time_point now) const;
  // Score 0, ban lifted (the entry stays until it ages out). False when the address is unknown.
  bool unban(uint32_t ip);
  // Drops entries whose ban is over and whose reset time has passed; returns how many.
  size_t expire(Clock::time_point now);

  struct EntryView {
    uint32_t ip = 0;
    uint32_t score = 0;
    bool banned = false;
    Clock::time_point expires{};  // end of the ban (meaningful when banned)
  };
  // Every scored address, most recent first (ocmctl show ip bans / ban points).
  [[nodiscard]] std::vector<EntryView> entries(Clock::time_point now) const;
  [[nodiscard]] size_t banned_count(Clock::time_point now) const;
  [[nodiscard]] size_t size() const { return index_.size(); }
  [[nodiscard]] uint32_t capacity() const { return capacity_; }
  [[nodiscard]] uint64_t evictions() const { return evictions_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Entry {
    uint32_t ip = 0;
    uint32_t score = 0;
    Clock::time_point last_reset{};
    Clock::time_point expires{};
    uint32_t prev = kNone;  // LRU list, most recent at head_
    uint32_t next = kNone;
  };

  [[nodiscard]] bool is_banned(const Entry& e, Clock::time_point now) const {
    return e.score >= policy_.max_score && now <= e.expires;
  }
  uint32_t find_or_insert(uint32_t ip, Clock::time_point now);
  void unlink(uint32_t i);
  void push_front(uint32_t i);
  void remove(uint32_t i);

  BanPolicy policy_;
  uint32_t capacity_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  std::unordered_map<uint32_t, uint32_t> index_;  // ip -> entries_ index
  uint32_t head_ = kNone;
  uint32_t tail_ = kNone;
  uint64_t evictions_ = 0;
};

}  // namespace ocm::ctrl
