#pragma once
// The per-packet-thread context every stage receives: references to what the thread owns or
// shares, and the time of the current poll.

#include <cstdint>
#include <memory>

#include "ocm/crypto/aead.hpp"
#include "ocm/datapath/drop_reason.hpp"
#include "ocm/datapath/rings.hpp"
#include "ocm/datapath/session_table.hpp"
#include "ocm/proto/compression.hpp"

namespace ocm::datapath {

// Burst size: 32 packets amortise the per-call costs (ring indices, session lookups, syscalls
// in the socket driver) while a burst's buffers (32 x 2 KiB) stay within L1/L2.
inline constexpr uint16_t kBurst = 32;

// Largest packet the codecs handle (one DTLS record's plaintext, RFC 6347 §4.3.1); also the
// size of Ctx's codec output buffer.
inline constexpr uint32_t kMaxCompressedPacket = 16384;

struct Ctx {
  // Allocates the compression scratch (~45 KiB) once, here: the stages never allocate. Running
  // out of memory at setup aborts (noexcept), as every other startup allocation failure does.
  Ctx(crypto::CryptoEngine& engine_in, SessionTable& sessions_in, ControlRing& control_in, CstpRing& cstp_in,
      Counters& counters_in) noexcept
      : engine(engine_in),
        sessions(sessions_in),
        control(control_in),
        cstp(cstp_in),
        counters(counters_in),
        compress_scratch(std::make_unique<proto::CompressScratch>()),
        codec_out(std::make_unique<uint8_t[]>(kMaxCompressedPacket)) {}

  crypto::CryptoEngine& engine;  // this thread's ipsec-mb manager
  SessionTable& sessions;
  ControlRing& control;  // to the slow path: handshakes, DISCONNECT, roaming
  CstpRing& cstp;        // to the slow path: TUN packets for sessions without active DTLS
  Counters& counters;    // this thread's block
  // Monotonic nanoseconds, set by the thread's loop once per poll (one clock read per burst
  // instead of one per packet; tests set it directly). Stored as last_rx_ns/last_tx_ns.
  uint64_t now_ns = 0;
  // Compression (protocol.md §6.6), this thread's only: the codecs' working memory, and the
  // buffer a packet is (de)compressed into before it is copied back into its PktBuf (neither
  // codec works in place).
  std::unique_ptr<proto::CompressScratch> compress_scratch;
  std::unique_ptr<uint8_t[]> codec_out;  // kMaxCompressedPacket bytes
};

}  // namespace ocm::datapath
