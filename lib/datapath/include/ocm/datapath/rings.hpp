#pragma once
// Bounded rings between the packet thread and the slow path. Slots are fixed-size and filled by
// copy, so the packet buffer goes back to its pool at once and the slow path never holds
// fast-path memory. A full ring is never waited on: the producer drops and counts.
//
// SpscRing is single-producer/single-consumer and safe across two threads (acquire/release on
// the indices, each on its own cache line); with one thread it costs two plain loads/stores.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ocm/datapath/pkt.hpp"

namespace ocm::datapath {

// The indices sit on separate cache lines on purpose (no false sharing between the threads).
template <typename Slot>
class SpscRing {  // NOLINT(clang-analyzer-optin.performance.Padding)
 public:
  // capacity is rounded up to a power of two (>= 2).
  explicit SpscRing(uint32_t capacity)
      : mask_(static_cast<uint32_t>(std::bit_ceil(uint64_t{capacity < 2 ? 2 : capacity})) - 1),
        slots_(new Slot[mask_ + 1]()) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer: the next slot to fill, or nullptr when full. Fill it, then commit().
  [[nodiscard]] Slot* reserve() noexcept {
    uint32_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) {
      return nullptr;
    }
    return &slots_[head & mask_];
  }
  void commit() noexcept { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  // Producer convenience for small trivially copyable slots.
  bool push(const Slot& value) noexcept {
    Slot* s = reserve();
    if (s == nullptr) {
      return false;
    }
    *s = value;
    commit();
    return true;
  }

  // Consumer: the oldest slot, or nullptr when empty. Read it, then pop().
  [[nodiscard]] const Slot* peek() const noexcept {
    uint32_t tail = tail_.load(std::memory_order_relaxed);
    if (head_.load(std::memory_order_acquire) == tail) {
      return nullptr;
    }
    return &slots_[tail & mask_];
  }
  void pop() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  [[nodiscard]] uint32_t size() const noexcept {
    return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] uint32_t capacity() const noexcept { return mask_ + 1; }

 private:
  uint32_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<uint32_t> head_{0};  // written by the producer only
  alignas(64) std::atomic<uint32_t> tail_{0};  // written by the consumer only
};

// A control ring slot holds any datagram a default-sized buffer can (2048 - 64 = 1984 bytes),
// rounded up; larger datagrams (only with bigger pool buffers) are dropped as control_too_big.
inline constexpr size_t kControlPayload = 2048;
static_assert(kControlPayload >= kDefaultBufSize - kHeadroom);

enum class ControlKind : uint8_t {
  kRecord,       // a datagram whose first record is handshake(22), CCS(20) or alert(21):
                 // data = the whole datagram, for the slow path's wolfSSL
  kDisconnect,   // DISCONNECT (0x05) received on DTLS: data = payload after the type byte
                 // (0xB0 + reason = user logout; empty = temporary, protocol.md 4.2)
  kPeerChanged,  // a roaming record authenticated: `peer` is the session's new UDP peer; no data
};
const char* to_string(ControlKind kind) noexcept;

struct ControlEvent {
  ControlKind kind = ControlKind::kRecord;
  uint8_t content_type = 0;  // kRecord: DTLS content type of the first record
  uint16_t len = 0;          // bytes used in data
  uint32_t slot = kNoSlot;   // session when the peer is known (kRecord may have kNoSlot)
  Peer peer;
  uint64_t time_ns = 0;                // Ctx::now_ns when queued
  uint8_t data[kControlPayload] = {};  // zeroed once, when the ring is created

  [[nodiscard]] std::span<const uint8_t> bytes() const noexcept { return {data, len}; }
};

// A CSTP ring slot holds any IP packet a default-sized buffer can.
inline constexpr size_t kCstpPayload = 2048;
static_assert(kCstpPayload >= kDefaultBufSize - kHeadroom);

// An IP packet read from TUN for a session whose DTLS is not active: the slow path frames it
// as CSTP DATA and writes it to that session's TLS connection.
struct CstpPacket {
  uint32_t slot = kNoSlot;
  uint32_t lease = 0;  // destination, host order (lets the slow path check the slot is still it)
  uint16_t len = 0;
  uint8_t data[kCstpPayload] = {};

  [[nodiscard]] std::span<const uint8_t> bytes() const noexcept { return {data, len}; }
};

using ControlRing = SpscRing<ControlEvent>;
using CstpRing = SpscRing<CstpPacket>;

enum class PushResult : uint8_t { kOk, kFull, kTooBig };

// Copies into the next slot. Never blocks.
PushResult push_control(ControlRing& ring, ControlKind kind, uint8_t content_type, uint32_t slot, const Peer& peer,
                        uint64_t time_ns, std::span<const uint8_t> data) noexcept;
PushResult push_cstp(CstpRing& ring, uint32_t slot, uint32_t lease, std::span<const uint8_t> packet) noexcept;

}  // namespace ocm::datapath
