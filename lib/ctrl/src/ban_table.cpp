#include "ban_table.hpp"

#include <utility>

namespace ocm::ctrl {

BanTable::BanTable(BanPolicy policy, uint32_t capacity)
    : policy_(std::move(policy)), capacity_(capacity == 0 ? 1 : capacity) {
  // Everything the table will ever hold is allocated here (the index's buckets included), so a
  // flood of new addresses costs no allocation beyond the index's node per entry.
  entries_.resize(capacity_);
  free_.reserve(capacity_);
  for (uint32_t i = capacity_; i > 0; --i) {
    free_.push_back(i - 1);
  }
  index_.reserve(capacity_);
}

void BanTable::set_policy(BanPolicy policy) { policy_ = std::move(policy); }

bool BanTable::exempt(uint32_t ip) const {
  for (const Ipv4Prefix& prefix : policy_.exempt) {
    if (prefix.contains(ip)) {
      return true;
    }
  }
  return false;
}

void BanTable::unlink(uint32_t i) {
  Entry& e = entries_[i];
  if (e.prev != kNone) {
    entries_[e.prev].next = e.next;
  } else {
    head_ = e.next;
  }
  if (e.next != kNone) {
    entries_[e.next].prev = e.prev;
  } else {
    tail_ = e.prev;
  }
  e.prev = kNone;
  e.next = kNone;
}

void BanTable::push_front(uint32_t i) {
  Entry& e = entries_[i];
  e.prev = kNone;
  e.next = head_;
  if (head_ != kNone) {
    entries_[head_].prev = i;
  }
  head_ = i;
  if (tail_ == kNone) {
    tail_ = i;
  }
}

void BanTable::remove(uint32_t i) {
  unlink(i);
  index_.erase(entries_[i].ip);
  free_.push_back(i);
}

uint32_t BanTable::find_or_insert(uint32_t ip, Clock::time_point now) {
  if (auto it = index_.find(ip); it != index_.end()) {
    unlink(it->second);
    push_front(it->second);
    return it->second;
  }
  if (free_.empty()) {
    // Full: forget the address scored longest ago (it is the least likely to be attacking now).
    ++evictions_;
    remove(tail_);
  }
  uint32_t i = free_.back();
  free_.pop_back();
  entries_[i] = Entry{ip, 0, now, Clock::time_point{}, kNone, kNone};
  index_.emplace(ip, i);
  push_front(i);
  return i;
}

bool BanTable::add_points(uint32_t ip, uint32_t points, Clock::time_point now) {
  if (!enabled() || exempt(ip)) {
    return false;
  }
  Entry& e = entries_[find_or_insert(ip, now)];
  bool over = e.score >= policy_.max_score;
  // As ocserv: a finished ban, or a quiet reset period without a ban, starts the score afresh.
  if ((over && now > e.expires) || (!over && now > e.last_reset + policy_.reset_time)) {
    e.score = 0;
    e.last_reset = now;
    over = false;
  }
  // The ban runs from the attempt that crossed the threshold; attempts while banned do not
  // extend it (a client retrying every minute would otherwise never be let back in).
  if (!over) {
    e.expires = now + policy_.ban_time;
  }
  e.score = e.score + points < e.score ? UINT32_MAX : e.score + points;
  return is_banned(e, now);
}

bool BanTable::on_connection(uint32_t ip, Clock::time_point now) {
  return add_points(ip, policy_.points_connection, now);
}

void BanTable::on_wrong_password(uint32_t ip, Clock::time_point now) {
  (void)add_points(ip, policy_.points_wrong_password, now);
}

bool BanTable::banned(uint32_t ip, Clock::time_point now) const {
  if (!enabled() || exempt(ip)) {
    return false;
  }
  auto it = index_.find(ip);
  return it != index_.end() && is_banned(entries_[it->second], now);
}

bool BanTable::unban(uint32_t ip) {
  auto it = index_.find(ip);
  if (it == index_.end()) {
    return false;
  }
  Entry& e = entries_[it->second];
  e.score = 0;
  e.expires = Clock::time_point{};
  return true;
}

size_t BanTable::expire(Clock::time_point now) {
  size_t removed = 0;
  uint32_t i = tail_;
  while (i != kNone) {
    uint32_t prev = entries_[i].prev;
    const Entry& e = entries_[i];
    if (now >= e.expires && now > e.last_reset + policy_.reset_time) {
      remove(i);
      ++removed;
    }
    i = prev;
  }
  return removed;
}

std::vector<BanTable::EntryView> BanTable::entries(Clock::time_point now) const {
  std::vector<EntryView> out;
  out.reserve(index_.size());
  for (uint32_t i = head_; i != kNone; i = entries_[i].next) {
    const Entry& e = entries_[i];
    out.push_back(EntryView{e.ip, e.score, is_banned(e, now), e.expires});
  }
  return out;
}

size_t BanTable::banned_count(Clock::time_point now) const {
  size_t n = 0;
  for (uint32_t i = head_; i != kNone; i = entries_[i].next) {
    n += is_banned(entries_[i], now) ? 1 : 0;
  }
  return n;
}

}  // namespace ocm::ctrl
