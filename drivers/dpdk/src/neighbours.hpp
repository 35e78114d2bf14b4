#pragma once
// Next-hop MACs for the frames the lcore builds (sealed DTLS records, handshake flights).
// Learned, never resolved actively: from every DTLS frame a peer sends us (its source MAC is
// the right next hop back: the peer itself when on-link, else the router it came through) and
// from ARP frames passing NIC -> TAP (the gateway's and on-link hosts' answers to the kernel's
// ARP requests through the TAP, and their own requests). A fixed direct-mapped table keyed by
// IPv4 address: a collision overwrites, and the lost entry is learned again from the peer's
// next packet. Lcore-only, no allocation after construction.

#include <array>
#include <cstdint>
#include <span>

#include "ocm/datapath/frame.hpp"

namespace ocm::dpdk {

class NeighbourTable {
 public:
  // 4096 entries x 12 bytes = 48 KiB: an order of magnitude more peers than one lcore carries
  // before collisions matter, small enough for L2.
  static constexpr uint32_t kEntries = 4096;

  void learn(uint32_t ip, const datapath::MacAddr& mac) noexcept {
    if (ip == 0) {
      return;
    }
    Entry& e = table_[index(ip)];
    e.ip = ip;
    e.mac = mac;
  }
  // The learned MAC of `ip`, or nullptr.
  [[nodiscard]] const datapath::MacAddr* find(uint32_t ip) const noexcept {
    const Entry& e = table_[index(ip)];
    return e.ip == ip && ip != 0 ? &e.mac : nullptr;
  }

 private:
  struct Entry {
    uint32_t ip = 0;  // host order; 0 = empty
    datapath::MacAddr mac{};
  };
  static uint32_t index(uint32_t ip) noexcept {
    // Fibonacci hashing: consecutive addresses (a client subnet) spread over the table.
    return static_cast<uint32_t>((ip * 2654435769U) >> 20) & (kEntries - 1);
  }
  std::array<Entry, kEntries> table_{};
};

// The sender of an ARP frame (request or reply) for IPv4 over Ethernet, optionally behind one
// 802.1Q tag: true and (ip, mac) filled when the frame is one.
inline bool arp_sender(std::span<const uint8_t> frame, uint32_t& ip, datapath::MacAddr& mac) noexcept {
  size_t off = 12;
  if (frame.size() < off + 2) {
    return false;
  }
  uint16_t type = static_cast<uint16_t>(frame[off] << 8 | frame[off + 1]);
  if (type == 0x8100) {
    off += 4;
    if (frame.size() < off + 2) {
      return false;
    }
    type = static_cast<uint16_t>(frame[off] << 8 | frame[off + 1]);
  }
  off += 2;
  // htype 1, ptype 0x0800, hlen 6, plen 4, then op(2), sha(6), spa(4), tha(6), tpa(4).
  if (type != 0x0806 || frame.size() < off + 28) {
    return false;
  }
  const uint8_t* a = frame.data() + off;
  if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0x00 || a[4] != 6 || a[5] != 4) {
    return false;
  }
  for (size_t i = 0; i < 6; ++i) {
    mac[i] = a[8 + i];
  }
  ip = uint32_t{a[14]} << 24 | uint32_t{a[15]} << 16 | uint32_t{a[16]} << 8 | a[17];
  return true;
}

}  // namespace ocm::dpdk
