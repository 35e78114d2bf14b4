#pragma once
// The data path's view of tunnel sessions: a fixed-capacity array of slots, addressed by u32
// index, plus three lookup structures that are all sized at construction:
//   - PeerIndex   UDP peer (address:port) -> slot, for every session holding DTLS keys and a peer;
//   - IpIndex     peer IP -> slot, or "ambiguous" when several such sessions share the IP
//                 (roaming, protocol.md 5.5: an unknown port is tried against the one session
//                 with that source IP, never guessed among several);
//   - route       pool index (address - pool network) -> slot, for the TUN direction;
//   - Ipv6 routes the session's IPv6 subnet -> slot (a FlatIndex keyed by the destination masked
//                 to the one subnet length all leases share), for IPv6 from TUN.
//
// Threading: today the slow path (libuv thread) and the pipeline run on the same thread, so the
// slow path mutates the table directly through the methods marked "slow path". With several
// packet threads (lcores) each session is owned by one lcore and these calls become commands
// carrying immutable key objects, published through a per-lcore ring and applied by the owner
// between bursts; the method set stays the same.
// The pipeline only reads, except for the per-session replay window, sequence numbers,
// timestamps and counters, and move_peer() when a roaming record authenticates.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/result.hpp"
#include "ocm/crypto/aead.hpp"
#include "ocm/crypto/replay_window.hpp"
#include "ocm/datapath/flat_index.hpp"
#include "ocm/datapath/inner_packet.hpp"
#include "ocm/datapath/pkt.hpp"
#include "ocm/datapath/rate_limit.hpp"
#include "ocm/datapath/route_restriction.hpp"
#include "ocm/proto/compression.hpp"

namespace ocm::datapath {

// lookup_roaming() result when more than one session has the IP.
inline constexpr uint32_t kAmbiguousSlot = UINT32_MAX - 1;
// DTLS sequence numbers are 48 bits; the record with seq 2^48 - 1 is the last one we may send.
inline constexpr uint64_t kMaxDtlsSeq = (uint64_t{1} << 48) - 1;

enum class SessionState : uint8_t {
  kFree,          // slot unused
  kCstpOnly,      // lease routed; no DTLS keys: TUN packets go to the CSTP ring
  kDtlsActive,    // keys + peer: TUN packets are sealed and sent on UDP
  kDtlsInactive,  // keys kept but downstream on CSTP (protocol.md 5.6: UDP silent, or DATA on
                  // CSTP); the next authenticated DTLS record makes it active again
};
const char* to_string(SessionState state) noexcept;

struct SessionCounters {
  uint64_t rx_packets = 0;  // authenticated records
  uint64_t rx_bytes = 0;    // their plaintext bytes (type byte included)
  uint64_t tx_packets = 0;  // sealed records
  uint64_t tx_bytes = 0;    // their plaintext bytes (type byte included)
  uint64_t auth_failures = 0;
  uint64_t replays = 0;
};

// One slot. Fields are public for the pipeline stages; only SessionTable's slow-path methods
// and the pipeline (window, tx_seq, timestamps, counters) write them.
struct alignas(64) DtlsSession {
  // Cache line 0, read for every packet by classify/open/route/seal: state, epoch, sequence
  // number, lease, peer and replay window.
  SessionState state = SessionState::kFree;
  bool has_peer = false;
  uint16_t epoch = 0;   // current epoch of both directions
  uint32_t lease = 0;   // IPv4, host order; 0 when free
  uint64_t tx_seq = 0;  // next sequence number to send
  Peer peer;
  crypto::ReplayWindow window;
  // Cache line 1, written per packet: timestamps and counters.
  uint64_t last_rx_ns = 0;  // Ctx::now_ns of the last authenticated record; 0 = none yet
  uint64_t last_tx_ns = 0;  // Ctx::now_ns of the last sealed record
  SessionCounters counters;
  // Slow path and roaming only.
  uint32_t ip_prev = kNoSlot;  // list of sessions whose peer shares peer.addr (IpIndex)
  uint32_t ip_next = kNoSlot;
  // Bandwidth limits (set_rate_limit); taken by the pipeline per packet that is not dropped
  // otherwise: client -> TUN after validate_inner, TUN -> client in route_tun (DTLS and CSTP).
  TokenBucket rx_limit;
  TokenBucket tx_limit;
  // DTLS compression (set_compression): route_tun compresses TUN packets longer than
  // compress_min_size with it; dispatch_payload decompresses 0x08 records only when it is set.
  // Beside tx_limit, which route_tun reads for every packet anyway.
  proto::Compression compression = proto::Compression::kNone;
  uint16_t compress_min_size = 0;
  // Expanded keys, each cache-aligned (AeadKey): only the lines the AEAD reads are touched.
  crypto::AeadKey rx_key;  // client -> server
  crypto::AeadKey tx_key;  // server -> client

  [[nodiscard]] bool has_keys() const noexcept {
    return state == SessionState::kDtlsActive || state == SessionState::kDtlsInactive;
  }
};
static_assert(offsetof(DtlsSession, window) + sizeof(crypto::ReplayWindow) <= 64,
              "per-packet read fields must share the first cache line");
static_assert(offsetof(DtlsSession, tx_limit) + sizeof(TokenBucket) <= 192,
              "the rate limits share the third cache line with the roaming links, before the keys");
static_assert(offsetof(DtlsSession, compress_min_size) + sizeof(uint16_t) <= 192,
              "the compression settings fit in the third cache line, beside tx_limit");
static_assert(offsetof(DtlsSession, last_rx_ns) == 64 &&
                  offsetof(DtlsSession, counters) + sizeof(SessionCounters) <= 128,
              "per-packet written fields must share the second cache line");

class SessionTable {
 public:
  // capacity: number of slots (sessions this packet thread can carry), >= 1.
  // pool: the leased IPv4 prefix; the route table has one u32 per address in it (a /16 costs
  // 256 KiB, a /12 4 MiB). hash_seed: random per process (see hash_peer).
  SessionTable(uint32_t capacity, Ipv4Prefix pool, uint64_t hash_seed);
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // ---- slow path -------------------------------------------------------------------------
  // A free slot (round-robin scan from a cursor, so amortised O(1) while the table is not
  // nearly full), or kNoSlot. The slot stays free until attach_cstp/activate.
  [[nodiscard]] uint32_t find_free_slot() noexcept;
  // The session has a tunnel on CSTP with `lease`: routes the lease to the slot. From any
  // state; DTLS keys the slot had are zeroed (as deactivate_dtls). Errors: bad slot, lease
  // outside the pool, lease routed to another slot.
  Status attach_cstp(uint32_t slot, uint32_t lease);
  // DTLS is up: installs both keys (expanded by the slow path), the epoch, the first sequence
  // number to send (after those wolfSSL used) and the peer; resets the replay window; state
  // becomes kDtlsActive. From any state. If another slot had this peer, that slot loses it and
  // becomes kDtlsInactive (the newest handshake wins, as the newest CSTP connection does).
  Status activate(uint32_t slot, uint32_t lease, const Peer& peer, const crypto::AeadKey& rx_key,
                  const crypto::AeadKey& tx_key, uint16_t epoch, uint64_t first_tx_seq);
  // Moves the session's UDP peer (e.g. wolfSSL saw the client from a new address). Requires
  // keys; steals the peer from another slot as activate() does.
  Status set_peer(uint32_t slot, const Peer& peer);
  // Downstream back to CSTP, keys kept (UDP silent 3 x DPD, DATA seen on CSTP, "large packet").
  Status mark_dtls_inactive(uint32_t slot);
  // Per-session bandwidth limits in bytes/s of inner IP packets, 0 = unlimited (both buckets
  // start full). Requires a slot that is not free; attach_cstp on a free slot clears them, so
  // the slow path sets them after attaching.
  Status set_rate_limit(uint32_t slot, uint64_t rx_bytes_per_second, uint64_t tx_bytes_per_second);
  // DTLS compression negotiated for the session (protocol.md §6.6): kNone = none (0x08 records
  // are then dropped as compressed_unsupported); otherwise TUN packets longer than min_size bytes
  // are sent compressed when that makes them smaller. Requires a slot that is not free;
  // attach_cstp on a free slot and release() clear it, so the slow path sets it on every CONNECT.
  Status set_compression(uint32_t slot, proto::Compression algorithm, uint16_t min_size);
  // The session's IPv6 lease (its subnet; host bits of `lease.network` are cleared), or none
  // when lease.empty() (no pool, or the client declined IPv6). Requires a slot that is not free;
  // release() drops it. Errors: every lease must have the same prefix length (the TUN lookup
  // masks destinations with it), and a subnet routed to another slot.
  Status attach_ipv6(uint32_t slot, const Ipv6Subnet& lease);
  // restrict-to-routes: the destinations the session may send to (count 0 = any). Requires a
  // slot that is not free; attach_cstp on a free slot and release() clear it. Errors: bad or
  // free slot, count > kMaxRestrictedRoutes.
  Status set_restriction(uint32_t slot, const RouteRestriction& restriction);
  // DTLS gone: keys zeroed, peer forgotten, state kCstpOnly. No-op when already without keys.
  Status deactivate_dtls(uint32_t slot);
  // Session over: route, peer and keys removed and zeroed; the slot is free. No-op when free.
  void release(uint32_t slot) noexcept;

  // ---- getters (both paths) --------------------------------------------------------------
  [[nodiscard]] uint32_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] uint32_t in_use() const noexcept { return in_use_; }
  [[nodiscard]] const Ipv4Prefix& pool() const noexcept { return pool_; }
  [[nodiscard]] bool valid_slot(uint32_t slot) const noexcept { return slot < capacity_; }
  [[nodiscard]] SessionState state(uint32_t slot) const noexcept { return slots_[slot].state; }
  [[nodiscard]] uint64_t last_rx_ns(uint32_t slot) const noexcept { return slots_[slot].last_rx_ns; }
  [[nodiscard]] const DtlsSession& session(uint32_t slot) const noexcept { return slots_[slot]; }
  // Kept beside the slots, not in DtlsSession: only IPv6 packets read it, so IPv4 traffic does
  // not pay for 17 more bytes per slot in its cache lines.
  [[nodiscard]] const Ipv6Subnet& lease6(uint32_t slot) const noexcept { return leases6_[slot]; }
  // Beside the slots for the same reason: only restricted sessions' packets read past count.
  [[nodiscard]] const RouteRestriction& restriction(uint32_t slot) const noexcept { return restrictions_[slot]; }

  // ---- pipeline --------------------------------------------------------------------------
  [[nodiscard]] DtlsSession& at(uint32_t slot) noexcept { return slots_[slot]; }
  // Slot with this exact peer, or kNoSlot.
  [[nodiscard]] uint32_t lookup_peer(const Peer& peer) const noexcept;
  // The one keyed session whose peer has this IP, kAmbiguousSlot, or kNoSlot.
  [[nodiscard]] uint32_t lookup_roaming(const IpAddr& addr) const noexcept;
  // Slot whose lease is `dst` (host order), or kNoSlot.
  [[nodiscard]] uint32_t route(uint32_t dst) const noexcept;
  // Slot whose IPv6 subnet holds `dst` (16 bytes, network order), or kNoSlot.
  [[nodiscard]] uint32_t route6(const uint8_t* dst) const noexcept;
  // A roaming record authenticated: the session's peer becomes `peer`. False (nothing changed)
  // when the peer is unchanged, the session has no keys, or `peer` belongs to another slot.
  bool move_peer(uint32_t slot, const Peer& peer) noexcept;

 private:
  struct PeerHasher {
    uint64_t seed;
    uint64_t operator()(const Peer& p) const noexcept { return hash_peer(p, seed); }
  };
  struct IpHasher {
    uint64_t seed;
    uint64_t operator()(const IpAddr& a) const noexcept { return hash_ip(a, seed); }
  };
  struct IpEntry {
    uint32_t head = kNoSlot;  // first slot of the list through DtlsSession::ip_next
    uint32_t count = 0;
  };

  [[nodiscard]] bool lease_in_pool(uint32_t lease) const noexcept;
  void set_route(uint32_t slot, uint32_t lease) noexcept;
  void clear_route(uint32_t slot) noexcept;
  void link_peer(uint32_t slot, const Peer& peer) noexcept;  // slot must have no peer
  void unlink_peer(uint32_t slot) noexcept;
  void steal_peer_from_others(uint32_t slot, const Peer& peer) noexcept;
  void zero_keys(DtlsSession& s) noexcept;
  void clear_ipv6(uint32_t slot) noexcept;

  uint32_t capacity_;
  Ipv4Prefix pool_;
  uint32_t route_size_;
  std::unique_ptr<DtlsSession[]> slots_;
  std::unique_ptr<uint32_t[]> route_;  // pool index -> slot
  FlatIndex<Peer, uint32_t, PeerHasher> peers_;
  FlatIndex<IpAddr, IpEntry, IpHasher> ips_;
  std::unique_ptr<Ipv6Subnet[]> leases6_;     // per slot; empty = none
  std::unique_ptr<RouteRestriction[]> restrictions_;  // per slot; count 0 = unrestricted
  FlatIndex<IpAddr, uint32_t, IpHasher> routes6_;  // subnet network -> slot
  uint8_t lease6_length_ = 0;                 // prefix length of every current IPv6 lease
  uint32_t in_use_ = 0;
  uint32_t cursor_ = 0;
};

}  // namespace ocm::datapath
