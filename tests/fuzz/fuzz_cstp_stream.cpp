// CSTP frames from a client's TLS stream (protocol.md §4.1). The input is cut into TLS-record-
// sized chunks (fuzzer-chosen sizes). Each chunk goes to decode_cstp_record as one record, and
// the concatenation goes through the same header checks and reassembly Connection::feed_cstp
// applies (that function needs a live libuv/wolfSSL connection, so its loop is mirrored here and
// every frame it would cut is handed to the real decoder).
// Invariants:
//  - decode_cstp_record agrees with an independent reading of the header (same error, in the
//    documented order), its payload lies inside the record, and re-encoding the header gives
//    back the record's first 8 bytes;
//  - every frame the stream reassembly cuts decodes cleanly, and the frames (and where the
//    stream fails) do not depend on how the bytes were chunked.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_check.hpp"
#include "ocm/proto/cstp.hpp"

namespace {

using ocm::proto::CstpDecodeError;
using ocm::proto::CstpFrame;
using ocm::proto::kCstpHeaderSize;
using ocm::proto::kCstpMaxPayload;

CstpDecodeError reference_decode(std::span<const uint8_t> r) {
  if (r.size() < 8) {
    return CstpDecodeError::kTooShort;
  }
  if (r[0] != 'S' || r[1] != 'T' || r[2] != 'F' || r[3] != 1) {
    return CstpDecodeError::kBadMagic;
  }
  if (r[7] != 0) {
    return CstpDecodeError::kBadReserved;
  }
  size_t len = size_t{r[4]} * 256 + r[5];
  if (len > 16384) {
    return CstpDecodeError::kTooLong;
  }
  return r.size() == 8 + len ? CstpDecodeError::kNone : CstpDecodeError::kLengthMismatch;
}

void check_record(std::span<const uint8_t> record) {
  CstpFrame frame;
  CstpDecodeError err = ocm::proto::decode_cstp_record(record, frame);
  FUZZ_CHECK(err == reference_decode(record));
  FUZZ_CHECK(ocm::proto::to_string(err) != nullptr);
  if (err != CstpDecodeError::kNone) {
    return;
  }
  FUZZ_CHECK(frame.payload.size() <= kCstpMaxPayload);
  FUZZ_CHECK(frame.payload.size() + kCstpHeaderSize == record.size());
  FUZZ_CHECK(ocm::fuzz::within(frame.payload, record));
  FUZZ_CHECK(frame.payload.empty() || frame.payload.data() == record.data() + kCstpHeaderSize);
  uint8_t header[kCstpHeaderSize];
  ocm::proto::encode_cstp_header(header, frame.type, static_cast<uint16_t>(frame.payload.size()));
  FUZZ_CHECK(std::memcmp(header, record.data(), kCstpHeaderSize) == 0);
}

struct StreamResult {
  std::vector<std::vector<uint8_t>> frames;
  bool failed = false;
  size_t pending = 0;  // bytes left buffered at the end
};

// feed_cstp's loop: buffer, cut whole frames, refuse a malformed header at once.
StreamResult run_stream(std::span<const uint8_t> stream, const std::vector<size_t>& cuts) {
  StreamResult out;
  std::vector<uint8_t> buffer;
  size_t pos = 0;
  for (size_t cut : cuts) {
    buffer.insert(buffer.end(), stream.begin() + static_cast<std::ptrdiff_t>(pos),
                  stream.begin() + static_cast<std::ptrdiff_t>(pos + cut));
    pos += cut;
    size_t offset = 0;
    while (buffer.size() - offset >= kCstpHeaderSize) {
      const uint8_t* h = buffer.data() + offset;
      size_t payload_len = (size_t{h[4]} << 8) | h[5];
      if (std::memcmp(h, "STF\x01", 4) != 0 || h[7] != 0 || payload_len > kCstpMaxPayload) {
        out.failed = true;
        return out;
      }
      size_t frame_len = kCstpHeaderSize + payload_len;
      if (buffer.size() - offset < frame_len) {
        break;
      }
      std::span<const uint8_t> frame_bytes(h, frame_len);
      CstpFrame frame;
      FUZZ_CHECK(ocm::proto::decode_cstp_record(frame_bytes, frame) == CstpDecodeError::kNone);
      out.frames.emplace_back(frame_bytes.begin(), frame_bytes.end());
      offset += frame_len;
    }
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  out.pending = buffer.size();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ocm::fuzz::Reader in(data, size);
  // Up to 8 chunk sizes, each 0..1023 bytes, then the stream itself.
  std::vector<size_t> sizes;
  const size_t n_sizes = in.u8() % 9;
  for (size_t i = 0; i < n_sizes; ++i) {
    sizes.push_back(in.u16() % 1024);
  }
  std::span<const uint8_t> stream = in.rest();

  std::vector<size_t> cuts;
  size_t pos = 0;
  for (size_t i = 0; pos < stream.size(); ++i) {
    size_t want = sizes.empty() ? stream.size() : sizes[i % sizes.size()];
    size_t take = std::min(want == 0 ? size_t{1} : want, stream.size() - pos);
    check_record(stream.subspan(pos, take));
    cuts.push_back(take);
    pos += take;
  }
  check_record(stream);

  StreamResult chunked = run_stream(stream, cuts);
  StreamResult whole = run_stream(stream, {stream.size()});
  FUZZ_CHECK(chunked.failed == whole.failed);
  FUZZ_CHECK(chunked.frames == whole.frames);
  if (!whole.failed) {
    FUZZ_CHECK(chunked.pending == whole.pending);
  }
  return 0;
}
