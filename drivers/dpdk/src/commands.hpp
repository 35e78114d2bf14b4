#pragma once
// Slow path -> lcore: immutable commands in a bounded SPSC ring (one producer: the libuv
// thread; one consumer: the lcore, between bursts). Everything a command needs is copied into
// its slot, the two expanded AeadKeys included, so the lcore never reads slow-path memory and
// the slow path may free or change its own copies at once. The lcore scrubs key material from
// the slot before releasing it.

#include <cstdint>

#include "ocm/crypto/aead.hpp"
#include "ocm/datapath/inner_packet.hpp"
#include "ocm/datapath/pkt.hpp"
#include "ocm/datapath/rings.hpp"
#include "ocm/datapath/route_restriction.hpp"
#include "ocm/proto/compression.hpp"

namespace ocm::dpdk {

enum class CommandKind : uint8_t {
  kAttachCstp,      // SessionTable::attach_cstp(slot, lease)
  kActivate,        // SessionTable::activate(slot, lease, peer, rx_key, tx_key, epoch, seq)
  kMarkInactive,    // SessionTable::mark_dtls_inactive(slot)
  kRelease,         // SessionTable::release(slot)
  kSetRateLimit,    // SessionTable::set_rate_limit(slot, rx_rate, tx_rate)
  kAttachIpv6,      // SessionTable::attach_ipv6(slot, lease6)
  kSetRestriction,  // SessionTable::set_restriction(slot, restriction)
  kSetCompression,  // SessionTable::set_compression(slot, compression, compress_min_size)
  kSendDatagram,    // data[0, len) as one UDP datagram to peer (DTLS handshake flight)
  kSendPayload,     // data[0, len) = type byte + payload, sealed for slot and sent to its peer
};
const char* to_string(CommandKind kind) noexcept;

// A datagram a default-sized mbuf can carry after the frame headroom.
inline constexpr uint16_t kCommandPayload = 1536;

struct Command {
  CommandKind kind = CommandKind::kRelease;
  uint16_t epoch = 0;
  uint16_t len = 0;
  uint32_t slot = datapath::kNoSlot;
  uint32_t lease = 0;
  uint64_t first_tx_seq = 0;
  uint64_t rx_rate = 0;  // kSetRateLimit: bytes/s, 0 = unlimited
  uint64_t tx_rate = 0;
  datapath::Ipv6Subnet lease6;  // kAttachIpv6: empty = none
  datapath::RouteRestriction restriction;  // kSetRestriction: count 0 = unrestricted
  proto::Compression compression = proto::Compression::kNone;  // kSetCompression
  uint16_t compress_min_size = 0;                              // kSetCompression
  datapath::Peer peer;
  crypto::AeadKey rx_key;
  crypto::AeadKey tx_key;
  uint8_t data[kCommandPayload] = {};
};

using CommandRing = datapath::SpscRing<Command>;

}  // namespace ocm::dpdk
