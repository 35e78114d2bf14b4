#pragma once
// CSTP framing (protocol.md §4.1): "STF\x01" | len(2, BE) | type | 0x00 | payload.
// One frame per TLS record in both directions.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ocm::proto {

inline constexpr size_t kCstpHeaderSize = 8;
inline constexpr size_t kCstpMaxPayload = 16384;

enum class CstpType : uint8_t {
  kData = 0x00,
  kDpdRequest = 0x03,
  kDpdResponse = 0x04,
  kDisconnect = 0x05,
  kKeepalive = 0x07,
  kCompressed = 0x08,
  kTerminate = 0x09,
};

enum class CstpDecodeError {
  kNone,
  kTooShort,       // fewer than 8 bytes
  kBadMagic,       // not "STF\x01"
  kBadReserved,    // byte 7 != 0
  kLengthMismatch, // record size != 8 + length field (one frame per record rule)
  kTooLong,        // payload above kCstpMaxPayload
};

struct CstpFrame {
  CstpType type = CstpType::kData;  // may hold values outside the enum: check before use
  std::span<const uint8_t> payload;
};

// Decodes exactly one TLS record's worth of plaintext as one frame.
CstpDecodeError decode_cstp_record(std::span<const uint8_t> record, CstpFrame& out) noexcept;
const char* to_string(CstpDecodeError error) noexcept;

// Writes the 8-byte header for a payload of `payload_len` bytes into `out`.
void encode_cstp_header(uint8_t out[kCstpHeaderSize], CstpType type, uint16_t payload_len) noexcept;

// Client disconnect payloads: 0xB0 + reason text means "user logged out" (cookie invalidated);
// an empty payload means "temporary disconnect" (cookie kept).
inline constexpr uint8_t kDisconnectUserLogout = 0xB0;

}  // namespace ocm::proto
