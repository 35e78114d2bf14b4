#include "ocm/datapath/session_table.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include "ocm/base/log.hpp"

namespace ocm::datapath {
namespace {

// The IP index gets a seed distinct from the peer index's, so that a collision in one says
// nothing about the other.
constexpr uint64_t kIpSeedTweak = 0x5bd1e9955bd1e995ULL;
constexpr uint64_t kIp6SeedTweak = 0x9e3779b97f4a7c15ULL;

IpAddr ipv6_key(const uint8_t* addr, uint8_t length) noexcept {
  IpAddr key;
  std::memcpy(key.bytes.data(), addr, 16);
  key.bytes = ipv6_masked(key.bytes, length);
  return key;
}
// A /8 pool already needs 2^24 route entries (64 MiB); anything wider is a config error.
constexpr uint8_t kMinPoolPrefix = 8;

Error slot_error(const char* what, uint32_t slot) {
  return make_error(std::string(what) + " (slot " + std::to_string(slot) + ")");
}

}  // namespace

const char* to_string(SessionState state) noexcept {
  switch (state) {
    case SessionState::kFree:
      return "free";
    case SessionState::kCstpOnly:
      return "cstp_only";
    case SessionState::kDtlsActive:
      return "dtls_active";
    case SessionState::kDtlsInactive:
      return "dtls_inactive";
  }
  return "?";
}

SessionTable::SessionTable(uint32_t capacity, Ipv4Prefix pool, uint64_t hash_seed)
    : capacity_(capacity),
      pool_(pool),
      route_size_(pool.length >= 32 ? 1 : uint32_t{1} << (32 - pool.length)),
      peers_(capacity == 0 ? 1 : capacity, PeerHasher{hash_seed}),
      ips_(capacity == 0 ? 1 : capacity, IpHasher{hash_seed ^ kIpSeedTweak}),
      routes6_(capacity == 0 ? 1 : capacity, IpHasher{hash_seed ^ kIp6SeedTweak}) {
  if (capacity == 0 || pool.length < kMinPoolPrefix || pool.length > 32) {
    OCM_ERROR("datapath: invalid session table (capacity %u, pool prefix /%u)", capacity, unsigned{pool.length});
    std::abort();
  }
  slots_.reset(new DtlsSession[capacity_]);
  leases6_.reset(new Ipv6Subnet[capacity_]);
  restrictions_.reset(new RouteRestriction[capacity_]);
  route_.reset(new uint32_t[route_size_]);
  for (uint32_t i = 0; i < route_size_; ++i) {
    route_[i] = kNoSlot;
  }
}

uint32_t SessionTable::find_free_slot() noexcept {
  for (uint32_t i = 0; i < capacity_; ++i) {
    uint32_t slot = (cursor_ + i) % capacity_;
    if (slots_[slot].state == SessionState::kFree) {
      cursor_ = (slot + 1) % capacity_;
      return slot;
    }
  }
  return kNoSlot;
}

bool SessionTable::lease_in_pool(uint32_t lease) const noexcept {
  return pool_.contains(lease);
}

void SessionTable::set_route(uint32_t slot, uint32_t lease) noexcept {
  DtlsSession& s = slots_[slot];
  if (s.lease != 0 && s.lease != lease) {
    clear_route(slot);
  }
  s.lease = lease;
  route_[lease - pool_.network] = slot;
}

void SessionTable::clear_route(uint32_t slot) noexcept {
  DtlsSession& s = slots_[slot];
  if (s.lease != 0 && lease_in_pool(s.lease) && route_[s.lease - pool_.network] == slot) {
    route_[s.lease - pool_.network] = kNoSlot;
  }
  s.lease = 0;
}

void SessionTable::link_peer(uint32_t slot, const Peer& peer) noexcept {
  DtlsSession& s = slots_[slot];
  s.peer = peer;
  s.has_peer = true;
  // Cannot fail: every slot holds at most one peer and the index has room for all slots.
  peers_.insert(peer, slot);
  s.ip_prev = kNoSlot;
  IpEntry* entry = ips_.find(peer.addr);
  if (entry == nullptr) {
    s.ip_next = kNoSlot;
    ips_.insert(peer.addr, IpEntry{slot, 1});
    return;
  }
  s.ip_next = entry->head;
  slots_[entry->head].ip_prev = slot;
  entry->head = slot;
  ++entry->count;
}

void SessionTable::unlink_peer(uint32_t slot) noexcept {
  DtlsSession& s = slots_[slot];
  if (!s.has_peer) {
    return;
  }
  peers_.erase(s.peer);
  IpEntry* entry = ips_.find(s.peer.addr);
  if (entry != nullptr) {
    if (s.ip_prev != kNoSlot) {
      slots_[s.ip_prev].ip_next = s.ip_next;
    } else {
      entry->head = s.ip_next;
    }
    if (s.ip_next != kNoSlot) {
      slots_[s.ip_next].ip_prev = s.ip_prev;
    }
    if (--entry->count == 0) {
      ips_.erase(s.peer.addr);
    }
  }
  s.ip_prev = kNoSlot;
  s.ip_next = kNoSlot;
  s.has_peer = false;
  s.peer = Peer{};
}

void SessionTable::steal_peer_from_others(uint32_t slot, const Peer& peer) noexcept {
  uint32_t other = lookup_peer(peer);
  if (other == kNoSlot || other == slot) {
    return;
  }
  unlink_peer(other);
  // Keys stay (the client may come back from another port, via set_peer), but without a peer
  // there is nowhere to send: downstream goes to CSTP.
  slots_[other].state = SessionState::kDtlsInactive;
}

void SessionTable::zero_keys(DtlsSession& s) noexcept {
  // AeadKey's assignment overwrites the whole expanded key; its destructor zeroes the temporary.
  s.rx_key = crypto::AeadKey{};
  s.tx_key = crypto::AeadKey{};
}

Status SessionTable::attach_cstp(uint32_t slot, uint32_t lease) {
  if (!valid_slot(slot)) {
    return slot_error("attach_cstp: no such slot", slot);
  }
  if (!lease_in_pool(lease)) {
    return slot_error("attach_cstp: lease outside the pool", slot);
  }
  uint32_t owner = route_[lease - pool_.network];
  if (owner != kNoSlot && owner != slot) {
    return slot_error("attach_cstp: lease is routed to another slot", owner);
  }
  DtlsSession& s = slots_[slot];
  if (s.state == SessionState::kFree) {
    ++in_use_;
    s = DtlsSession{};
    restrictions_[slot] = RouteRestriction{};
  }
  if (s.has_keys()) {
    unlink_peer(slot);
    zero_keys(s);
  }
  set_route(slot, lease);
  s.state = SessionState::kCstpOnly;
  return {};
}

Status SessionTable::activate(uint32_t slot, uint32_t lease, const Peer& peer, const crypto::AeadKey& rx_key,
                              const crypto::AeadKey& tx_key, uint16_t epoch, uint64_t first_tx_seq) {
  if (!valid_slot(slot)) {
    return slot_error("activate: no such slot", slot);
  }
  if (!lease_in_pool(lease)) {
    return slot_error("activate: lease outside the pool", slot);
  }
  if (!rx_key.valid() || !tx_key.valid() || rx_key.algo() != tx_key.algo()) {
    return slot_error("activate: keys missing or of different algorithms", slot);
  }
  if (first_tx_seq > kMaxDtlsSeq) {
    return slot_error("activate: first sequence number beyond 2^48", slot);
  }
  uint32_t owner = route_[lease - pool_.network];
  if (owner != kNoSlot && owner != slot) {
    return slot_error("activate: lease is routed to another slot", owner);
  }
  DtlsSession& s = slots_[slot];
  if (s.state == SessionState::kFree) {
    ++in_use_;
    s = DtlsSession{};
  }
  set_route(slot, lease);
  unlink_peer(slot);
  steal_peer_from_others(slot, peer);
  link_peer(slot, peer);
  s.rx_key = rx_key;
  s.tx_key = tx_key;
  s.epoch = epoch;
  s.tx_seq = first_tx_seq;
  s.window.reset();
  // No record has been received under these keys yet; the slow path times the handshake itself.
  s.last_rx_ns = 0;
  s.state = SessionState::kDtlsActive;
  return {};
}

Status SessionTable::set_peer(uint32_t slot, const Peer& peer) {
  if (!valid_slot(slot)) {
    return slot_error("set_peer: no such slot", slot);
  }
  DtlsSession& s = slots_[slot];
  if (!s.has_keys()) {
    return slot_error("set_peer: session has no DTLS keys", slot);
  }
  if (s.has_peer && s.peer == peer) {
    return {};
  }
  unlink_peer(slot);
  steal_peer_from_others(slot, peer);
  link_peer(slot, peer);
  return {};
}

Status SessionTable::mark_dtls_inactive(uint32_t slot) {
  if (!valid_slot(slot)) {
    return slot_error("mark_dtls_inactive: no such slot", slot);
  }
  DtlsSession& s = slots_[slot];
  if (!s.has_keys()) {
    return slot_error("mark_dtls_inactive: session has no DTLS keys", slot);
  }
  s.state = SessionState::kDtlsInactive;
  return {};
}

Status SessionTable::set_rate_limit(uint32_t slot, uint64_t rx_bytes_per_second, uint64_t tx_bytes_per_second) {
  if (!valid_slot(slot)) {
    return slot_error("set_rate_limit: no such slot", slot);
  }
  DtlsSession& s = slots_[slot];
  if (s.state == SessionState::kFree) {
    return slot_error("set_rate_limit: slot is free", slot);
  }
  s.rx_limit.set_rate(rx_bytes_per_second);
  s.tx_limit.set_rate(tx_bytes_per_second);
  return {};
}

Status SessionTable::set_compression(uint32_t slot, proto::Compression algorithm, uint16_t min_size) {
  if (!valid_slot(slot)) {
    return slot_error("set_compression: no such slot", slot);
  }
  DtlsSession& s = slots_[slot];
  if (s.state == SessionState::kFree) {
    return slot_error("set_compression: slot is free", slot);
  }
  if (algorithm != proto::Compression::kNone && algorithm != proto::Compression::kLz4 &&
      algorithm != proto::Compression::kLzs) {
    return slot_error("set_compression: unknown algorithm", slot);
  }
  s.compression = algorithm;
  s.compress_min_size = min_size;
  return {};
}

Status SessionTable::set_restriction(uint32_t slot, const RouteRestriction& restriction) {
  if (!valid_slot(slot)) {
    return slot_error("set_restriction: no such slot", slot);
  }
  if (slots_[slot].state == SessionState::kFree) {
    return slot_error("set_restriction: slot is free", slot);
  }
  if (restriction.count > kMaxRestrictedRoutes) {
    return slot_error("set_restriction: too many routes", slot);
  }
  if (restriction.port_count > kMaxPortRules) {
    return slot_error("set_restriction: too many port rules", slot);
  }
  restrictions_[slot] = restriction;
  return {};
}

Status SessionTable::attach_ipv6(uint32_t slot, const Ipv6Subnet& lease) {
  if (!valid_slot(slot)) {
    return slot_error("attach_ipv6: no such slot", slot);
  }
  if (slots_[slot].state == SessionState::kFree) {
    return slot_error("attach_ipv6: slot is free", slot);
  }
  if (lease.empty()) {
    clear_ipv6(slot);
    return {};
  }
  if (lease.prefix_length > 128) {
    return slot_error("attach_ipv6: prefix length beyond 128", slot);
  }
  const bool only_this_one = routes6_.size() == 1 && !leases6_[slot].empty();
  if (routes6_.size() != 0 && !only_this_one && lease.prefix_length != lease6_length_) {
    return slot_error("attach_ipv6: prefix length differs from the other IPv6 leases", slot);
  }
  const IpAddr key = ipv6_key(lease.network.data(), lease.prefix_length);
  if (const uint32_t* owner = routes6_.find(key); owner != nullptr && *owner != slot) {
    return slot_error("attach_ipv6: subnet is routed to another slot", *owner);
  }
  clear_ipv6(slot);
  // Cannot fail: one entry per slot and the index has room for all slots.
  routes6_.insert(key, slot);
  leases6_[slot] = Ipv6Subnet{key.bytes, lease.prefix_length};
  lease6_length_ = lease.prefix_length;
  return {};
}

void SessionTable::clear_ipv6(uint32_t slot) noexcept {
  Ipv6Subnet& l = leases6_[slot];
  if (l.empty()) {
    return;
  }
  IpAddr key;
  key.bytes = l.network;
  routes6_.erase(key);
  l = Ipv6Subnet{};
}

Status SessionTable::deactivate_dtls(uint32_t slot) {
  if (!valid_slot(slot)) {
    return slot_error("deactivate_dtls: no such slot", slot);
  }
  DtlsSession& s = slots_[slot];
  if (s.state == SessionState::kFree) {
    return slot_error("deactivate_dtls: slot is free", slot);
  }
  if (!s.has_keys()) {
    return {};
  }
  unlink_peer(slot);
  zero_keys(s);
  s.epoch = 0;
  s.tx_seq = 0;
  s.window.reset();
  s.state = SessionState::kCstpOnly;
  return {};
}

void SessionTable::release(uint32_t slot) noexcept {
  if (!valid_slot(slot) || slots_[slot].state == SessionState::kFree) {
    return;
  }
  unlink_peer(slot);
  clear_route(slot);
  clear_ipv6(slot);
  restrictions_[slot] = RouteRestriction{};
  // Overwrites every field, keys included, with the defaults.
  slots_[slot] = DtlsSession{};
  --in_use_;
}

uint32_t SessionTable::lookup_peer(const Peer& peer) const noexcept {
  const uint32_t* slot = peers_.find(peer);
  return slot == nullptr ? kNoSlot : *slot;
}

uint32_t SessionTable::lookup_roaming(const IpAddr& addr) const noexcept {
  const IpEntry* entry = ips_.find(addr);
  if (entry == nullptr) {
    return kNoSlot;
  }
  return entry->count == 1 ? entry->head : kAmbiguousSlot;
}

uint32_t SessionTable::route(uint32_t dst) const noexcept {
  if (!pool_.contains(dst)) {
    return kNoSlot;
  }
  return route_[dst - pool_.network];
}

uint32_t SessionTable::route6(const uint8_t* dst) const noexcept {
  if (routes6_.size() == 0) {
    return kNoSlot;
  }
  const uint32_t* slot = routes6_.find(ipv6_key(dst, lease6_length_));
  return slot == nullptr ? kNoSlot : *slot;
}

bool SessionTable::move_peer(uint32_t slot, const Peer& peer) noexcept {
  DtlsSession& s = slots_[slot];
  if (!s.has_keys() || (s.has_peer && s.peer == peer) || lookup_peer(peer) != kNoSlot) {
    return false;
  }
  unlink_peer(slot);
  link_peer(slot, peer);
  return true;
}

}  // namespace ocm::datapath
