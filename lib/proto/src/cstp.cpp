#include "ocm/proto/cstp.hpp"

// Runs on the data path: no allocation, no exceptions.

namespace ocm::proto {
namespace {

constexpr uint8_t kMagic[4] = {'S', 'T', 'F', 0x01};

}  // namespace

CstpDecodeError decode_cstp_record(std::span<const uint8_t> record, CstpFrame& out) noexcept {
  if (record.size() < kCstpHeaderSize) {
    return CstpDecodeError::kTooShort;
  }
  for (size_t i = 0; i < sizeof(kMagic); ++i) {
    if (record[i] != kMagic[i]) {
      return CstpDecodeError::kBadMagic;
    }
  }
  // Both ocserv and openconnect refuse a non-zero byte 7; accepting it would let a peer hide
  // data in a field a future version may give meaning to.
  if (record[7] != 0) {
    return CstpDecodeError::kBadReserved;
  }
  size_t length = (static_cast<size_t>(record[4]) << 8) | record[5];
  if (length > kCstpMaxPayload) {
    return CstpDecodeError::kTooLong;
  }
  // One frame per TLS record: anything else means the peer framed differently than we do, and
  // guessing where the next frame starts would desynchronise the stream.
  if (record.size() != kCstpHeaderSize + length) {
    return CstpDecodeError::kLengthMismatch;
  }
  out.type = static_cast<CstpType>(record[6]);
  out.payload = record.subspan(kCstpHeaderSize);
  return CstpDecodeError::kNone;
}

const char* to_string(CstpDecodeError error) noexcept {
  switch (error) {
    case CstpDecodeError::kNone:
      return "none";
    case CstpDecodeError::kTooShort:
      return "record shorter than the CSTP header";
    case CstpDecodeError::kBadMagic:
      return "bad CSTP magic";
    case CstpDecodeError::kBadReserved:
      return "non-zero CSTP reserved byte";
    case CstpDecodeError::kLengthMismatch:
      return "CSTP length does not match the record";
    case CstpDecodeError::kTooLong:
      return "CSTP payload too long";
  }
  return "unknown CSTP error";
}

void encode_cstp_header(uint8_t out[kCstpHeaderSize], CstpType type, uint16_t payload_len) noexcept {
  out[0] = kMagic[0];
  out[1] = kMagic[1];
  out[2] = kMagic[2];
  out[3] = kMagic[3];
  out[4] = static_cast<uint8_t>(payload_len >> 8);
  out[5] = static_cast<uint8_t>(payload_len & 0xff);
  out[6] = static_cast<uint8_t>(type);
  out[7] = 0;
}

}  // namespace ocm::proto
