#pragma once
// Driver-neutral packet buffers for the burst pipeline.
//
// A PktBuf is a 64-byte handle: a pointer to a fixed buffer owned by a pool (ours, a DPDK
// mempool or an AF_XDP UMEM), the data window inside it, and the per-packet metadata the stages
// exchange (PktMeta). The driver receives into buffer() + kHeadroom so that the pipeline can
// prepend the DTLS record header, explicit nonce and payload type byte in place and append the
// tag in the tailroom: no copy between TUN and UDP in either direction.
//
// Ownership: whoever holds the PktBuf* owns the packet. A PktPool hands packets out with
// alloc*/takes them back with free*; pipeline entry points take packets from their caller and
// hand each one back in exactly one output array (see pipeline.hpp). Stages never free.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "ocm/datapath/drop_reason.hpp"

namespace ocm::datapath {

// 64 >= 13 (DTLS header) + 8 (GCM explicit nonce) + 1 (payload type byte) = 22, rounded up to a
// cache line so that the IP packet a driver receives starts cache-aligned.
inline constexpr uint16_t kHeadroom = 64;
// 2048 holds a 1500-byte frame plus headroom and the 16-byte tag with room to spare, and is the
// usual DPDK/AF_XDP frame size, so drivers can map their buffers 1:1.
inline constexpr uint32_t kDefaultBufSize = 2048;
// Lengths and offsets are 16-bit (as in rte_mbuf); a buffer may not be larger.
inline constexpr uint32_t kMaxBufSize = 65535;

inline constexpr uint32_t kNoSlot = UINT32_MAX;

// An IP address: IPv6, or IPv4 stored IPv4-mapped (::ffff:a.b.c.d) so that both families share
// one compact, memcmp-comparable key.
struct IpAddr {
  std::array<uint8_t, 16> bytes{};

  static IpAddr v4(uint32_t host_order) noexcept {
    IpAddr a;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    a.bytes[12] = static_cast<uint8_t>(host_order >> 24);
    a.bytes[13] = static_cast<uint8_t>(host_order >> 16);
    a.bytes[14] = static_cast<uint8_t>(host_order >> 8);
    a.bytes[15] = static_cast<uint8_t>(host_order);
    return a;
  }
  static IpAddr v6(const uint8_t (&b)[16]) noexcept {
    IpAddr a;
    std::memcpy(a.bytes.data(), b, 16);
    return a;
  }
  [[nodiscard]] bool is_v4() const noexcept {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes.data(), kMapped, sizeof(kMapped)) == 0;
  }
  // Host order; meaningful only when is_v4().
  [[nodiscard]] uint32_t v4_host() const noexcept {
    return (uint32_t{bytes[12]} << 24) | (uint32_t{bytes[13]} << 16) | (uint32_t{bytes[14]} << 8) | bytes[15];
  }
  bool operator==(const IpAddr&) const = default;
};

// The UDP endpoint of a client as the socket/NIC saw it (after any NAT).
struct Peer {
  IpAddr addr;
  uint16_t port = 0;  // host order

  static Peer v4(uint32_t host_order_addr, uint16_t port) noexcept { return Peer{IpAddr::v4(host_order_addr), port}; }
  bool operator==(const Peer&) const = default;
};
static_assert(sizeof(IpAddr) == 16);
static_assert(sizeof(Peer) == 18, "Peer is a compact hash key");

// Keyed hashes for the lookup tables. The seed is random per process: peers are chosen by
// whoever sends us datagrams, so an unkeyed hash would let them aim at one probe chain.
uint64_t hash_ip(const IpAddr& addr, uint64_t seed) noexcept;
uint64_t hash_peer(const Peer& peer, uint64_t seed) noexcept;

// What the pipeline has decided about a packet so far.
enum class PktKind : uint8_t {
  kRaw,            // as received by a driver
  kDtlsData,       // application_data record from a known peer (slot set)
  kRoamCandidate,  // application_data from an unknown port whose IP maps to exactly one session
  kTunIp,          // IP packet headed for the TUN device
  kDtlsPayload,    // DTLS plaintext (type byte + payload) to seal for meta.slot and send on UDP
  kConsumed,       // fully handled (copied to a ring, keepalive, DPD response); free it
};

// Per-packet metadata. Lives inside PktBuf; a DPDK driver keeps it in the mbuf private area,
// which must therefore be at least kMetaAreaSize bytes.
struct PktMeta {
  Peer peer;  // UDP remote: source on rx, destination on tx
  PktKind kind = PktKind::kRaw;
  DropReason drop = DropReason::kNone;  // set when a stage rejects the packet
  uint32_t slot = kNoSlot;              // session slot once known
  uint16_t rec_epoch = 0;               // DTLS header fields parsed by classify
  uint64_t rec_seq = 0;
  uint64_t driver = 0;  // driver-private (mbuf pointer, UMEM address, ...)
};
inline constexpr size_t kMetaAreaSize = 48;
static_assert(sizeof(PktMeta) <= kMetaAreaSize, "PktMeta must fit the driver private area");

class PktBuf {
 public:
  PktBuf() = default;

  // Binds the handle to a buffer (pools and drivers only) and resets it.
  void attach(uint8_t* buffer, uint32_t capacity) noexcept {
    buf_ = buffer;
    cap_ = capacity;
    reset();
  }
  // Data window empty at kHeadroom, metadata cleared.
  void reset() noexcept {
    off_ = kHeadroom;
    len_ = 0;
    meta = PktMeta{};
  }

  [[nodiscard]] uint8_t* data() noexcept { return buf_ + off_; }
  [[nodiscard]] const uint8_t* data() const noexcept { return buf_ + off_; }
  [[nodiscard]] uint16_t len() const noexcept { return len_; }
  [[nodiscard]] std::span<uint8_t> bytes() noexcept { return {data(), len_}; }
  [[nodiscard]] std::span<const uint8_t> bytes() const noexcept { return {data(), len_}; }
  [[nodiscard]] uint16_t headroom() const noexcept { return off_; }
  [[nodiscard]] uint32_t tailroom() const noexcept { return cap_ - off_ - len_; }
  [[nodiscard]] uint8_t* buffer() noexcept { return buf_; }
  [[nodiscard]] uint32_t capacity() const noexcept { return cap_; }

  // Grows the window at the front by n bytes; returns the new data() or nullptr (unchanged)
  // when there is not enough headroom.
  uint8_t* prepend(uint16_t n) noexcept {
    if (n > off_) {
      return nullptr;
    }
    off_ = static_cast<uint16_t>(off_ - n);
    len_ = static_cast<uint16_t>(len_ + n);
    return data();
  }
  // Removes n bytes from the front; nullptr (unchanged) when len() < n.
  uint8_t* adj(uint16_t n) noexcept {
    if (n > len_) {
      return nullptr;
    }
    off_ = static_cast<uint16_t>(off_ + n);
    len_ = static_cast<uint16_t>(len_ - n);
    return data();
  }
  // Grows the window at the back; nullptr (unchanged) without tailroom. Returns the old end.
  uint8_t* append(uint16_t n) noexcept {
    if (n > tailroom()) {
      return nullptr;
    }
    uint8_t* end = data() + len_;
    len_ = static_cast<uint16_t>(len_ + n);
    return end;
  }
  // Sets the window to [offset, offset + len) of the buffer; false (unchanged) when out of range.
  bool set_window(uint32_t offset, uint32_t len) noexcept {
    if (offset > cap_ || len > cap_ - offset) {
      return false;
    }
    off_ = static_cast<uint16_t>(offset);
    len_ = static_cast<uint16_t>(len);
    return true;
  }
  // Same, with a pointer into the buffer (e.g. the plaintext a decrypt returned).
  bool set_window_at(const uint8_t* start, uint32_t len) noexcept {
    // Compared as integers: relational operators on pointers into different objects are unspecified.
    auto begin = reinterpret_cast<uintptr_t>(buf_);
    auto at = reinterpret_cast<uintptr_t>(start);
    if (at < begin || at - begin > cap_) {
      return false;
    }
    return set_window(static_cast<uint32_t>(at - begin), len);
  }
  // Copies bytes into an empty packet at kHeadroom (tests, slow path); false when too big.
  bool assign(std::span<const uint8_t> bytes_in) noexcept {
    if (kHeadroom > cap_ || bytes_in.size() > cap_ - kHeadroom) {
      return false;
    }
    off_ = kHeadroom;
    len_ = static_cast<uint16_t>(bytes_in.size());
    if (!bytes_in.empty()) {
      std::memcpy(data(), bytes_in.data(), bytes_in.size());
    }
    return true;
  }

  PktMeta meta;

 private:
  uint8_t* buf_ = nullptr;
  uint32_t cap_ = 0;
  uint16_t off_ = 0;
  uint16_t len_ = 0;
};
static_assert(sizeof(PktBuf) == 64, "one PktBuf handle per cache line");

// A fixed set of packet buffers created at startup; alloc/free never touch the heap.
// Not thread-safe: one pool per packet thread (or per driver queue).
class PktPool {
 public:
  // count buffers of buf_size bytes (kHeadroom < buf_size <= kMaxBufSize) in one allocation.
  // Sizing: a thread needs rx bursts in flight on each port plus what its rings and driver tx
  // queues can hold; drivers document their own arithmetic.
  PktPool(uint32_t count, uint32_t buf_size = kDefaultBufSize);
  PktPool(const PktPool&) = delete;
  PktPool& operator=(const PktPool&) = delete;

  // One packet, reset (window empty at kHeadroom, metadata cleared), or nullptr when empty.
  PktBuf* alloc() noexcept;
  // n packets or none (returns false and allocates nothing), so callers never hold a partial burst.
  bool alloc_bulk(PktBuf* out[], uint32_t n) noexcept;
  // Gives packets back. Each must come from this pool and be held by the caller.
  void free(PktBuf* pkt) noexcept;
  void free_bulk(PktBuf* const pkts[], uint32_t n) noexcept;

  [[nodiscard]] uint32_t capacity() const noexcept { return count_; }
  [[nodiscard]] uint32_t available() const noexcept { return free_count_; }
  [[nodiscard]] uint32_t buf_size() const noexcept { return buf_size_; }
  [[nodiscard]] bool owns(const PktBuf* pkt) const noexcept;

 private:
  struct AlignedDelete {
    void operator()(uint8_t* p) const noexcept;
  };
  uint32_t count_;
  uint32_t buf_size_;
  std::unique_ptr<uint8_t[], AlignedDelete> memory_;
  std::unique_ptr<PktBuf[]> handles_;
  std::unique_ptr<PktBuf*[]> free_;  // stack of free handles
  uint32_t free_count_ = 0;
};

}  // namespace ocm::datapath
