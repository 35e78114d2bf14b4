#include "ocm/proto/dtls_hello.hpp"

#include <algorithm>

namespace ocm::proto {
namespace {

// Bounds-checked big-endian reader over a span. Every read either succeeds completely or
// leaves the reader untouched and returns false, so callers can bail out on the first miss.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) noexcept : data_(data) {}

  [[nodiscard]] size_t remaining() const noexcept { return data_.size() - pos_; }
  [[nodiscard]] size_t position() const noexcept { return pos_; }

  bool u8(uint8_t& out) noexcept {
    if (remaining() < 1) {
      return false;
    }
    out = data_[pos_++];
    return true;
  }
  bool u16(uint16_t& out) noexcept {
    uint64_t v = 0;
    if (!uint_n(2, v)) {
      return false;
    }
    out = static_cast<uint16_t>(v);
    return true;
  }
  bool u24(uint32_t& out) noexcept {
    uint64_t v = 0;
    if (!uint_n(3, v)) {
      return false;
    }
    out = static_cast<uint32_t>(v);
    return true;
  }
  bool u48(uint64_t& out) noexcept { return uint_n(6, out); }
  bool bytes(size_t n, std::span<const uint8_t>& out) noexcept {
    if (remaining() < n) {
      return false;
    }
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // A vector with a 1- or 2-byte length prefix (TLS presentation language "<..>").
  bool vec8(std::span<const uint8_t>& out) noexcept {
    uint8_t len = 0;
    size_t start = pos_;
    if (!u8(len) || !bytes(len, out)) {
      pos_ = start;
      return false;
    }
    return true;
  }
  bool vec16(std::span<const uint8_t>& out) noexcept {
    uint16_t len = 0;
    size_t start = pos_;
    if (!u16(len) || !bytes(len, out)) {
      pos_ = start;
      return false;
    }
    return true;
  }

 private:
  bool uint_n(size_t n, uint64_t& out) noexcept {
    if (remaining() < n) {
      return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v = (v << 8) | data_[pos_ + i];
    }
    pos_ += n;
    out = v;
    return true;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// ocserv's loose version check: DTLS 1.x (major 0xfe) or Cisco's pre-standard 0x0100.
bool plausible_version(uint16_t v) noexcept {
  return (v >> 8) == 0xfe || v == 0x0100;
}

}  // namespace

bool DtlsClientHello::offers_suite(uint16_t suite) const noexcept {
  for (size_t i = 0; i + 1 < cipher_suites.size(); i += 2) {
    if (((cipher_suites[i] << 8) | cipher_suites[i + 1]) == suite) {
      return true;
    }
  }
  return false;
}

bool DtlsClientHello::offers_compression(uint8_t method) const noexcept {
  return std::find(compression_methods.begin(), compression_methods.end(), method) != compression_methods.end();
}

std::optional<std::span<const uint8_t>> DtlsClientHello::extension(uint16_t type) const noexcept {
  Reader r(extensions);
  while (r.remaining() > 0) {
    uint16_t ext_type = 0;
    std::span<const uint8_t> data;
    if (!r.u16(ext_type) || !r.vec16(data)) {
      // parse_dtls_client_hello validated the list; this only guards direct misuse.
      return std::nullopt;
    }
    if (ext_type == type) {
      return data;
    }
  }
  return std::nullopt;
}

Result<DtlsClientHello> parse_dtls_client_hello(std::span<const uint8_t> datagram) {
  DtlsClientHello out;
  Reader rec(datagram);
  uint8_t content_type = 0;
  uint16_t record_len = 0;
  if (!rec.u8(content_type) || !rec.u16(out.record_version) || !rec.u16(out.epoch) || !rec.u48(out.record_seq) ||
      !rec.u16(record_len)) {
    return make_error("DTLS record header truncated");
  }
  if (content_type != kDtlsContentHandshake) {
    return make_error("not a handshake record");
  }
  if (!plausible_version(out.record_version)) {
    return make_error("implausible record version");
  }
  std::span<const uint8_t> fragment;
  if (!rec.bytes(record_len, fragment)) {
    return make_error("DTLS record longer than the datagram");
  }
  out.record_size = kDtlsRecordHeaderSize + record_len;

  Reader hs(fragment);
  uint8_t msg_type = 0;
  uint32_t msg_len = 0;
  uint32_t frag_offset = 0;
  uint32_t frag_len = 0;
  if (!hs.u8(msg_type) || !hs.u24(msg_len) || !hs.u16(out.message_seq) || !hs.u24(frag_offset) || !hs.u24(frag_len)) {
    return make_error("handshake header truncated");
  }
  if (msg_type != kDtlsHandshakeClientHello) {
    return make_error("not a ClientHello");
  }
  // Only the first fragment names the session; later fragments cannot be matched on their own.
  if (frag_offset != 0) {
    return make_error("not the first ClientHello fragment");
  }
  if (frag_len > msg_len) {
    return make_error("fragment longer than the ClientHello");
  }
  std::span<const uint8_t> body;
  if (!hs.bytes(frag_len, body)) {
    return make_error("handshake fragment longer than the record");
  }
  out.complete = frag_len == msg_len;

  Reader r(body);
  if (!r.u16(out.client_version)) {
    return make_error("client_version truncated");
  }
  if (!plausible_version(out.client_version)) {
    return make_error("implausible client_version");
  }
  if (!r.bytes(kDtlsRandomSize, out.random)) {
    return make_error("random truncated");
  }
  out.random_all_zero = std::all_of(out.random.begin(), out.random.end(), [](uint8_t b) { return b == 0; });
  if (!r.vec8(out.session_id)) {
    return make_error("session_id truncated");
  }
  if (out.session_id.size() > kDtlsMaxSessionIdSize) {
    return make_error("session_id longer than 32 bytes");
  }
  if (!out.complete) {
    return out;
  }

  if (!r.vec8(out.cookie)) {
    return make_error("cookie truncated");
  }
  if (!r.vec16(out.cipher_suites)) {
    return make_error("cipher_suites truncated");
  }
  if (out.cipher_suites.empty() || out.cipher_suites.size() % 2 != 0) {
    return make_error("cipher_suites length invalid");
  }
  if (!r.vec8(out.compression_methods)) {
    return make_error("compression_methods truncated");
  }
  if (out.compression_methods.empty()) {
    return make_error("no compression method");
  }
  // Extensions are optional: a hello may end right after the compression methods.
  if (r.remaining() > 0) {
    if (!r.vec16(out.extensions)) {
      return make_error("extensions truncated");
    }
    if (r.remaining() != 0) {
      return make_error("trailing bytes after the extensions");
    }
    Reader ext(out.extensions);
    while (ext.remaining() > 0) {
      uint16_t type = 0;
      std::span<const uint8_t> data;
      if (!ext.u16(type) || !ext.vec16(data)) {
        return make_error("extension truncated");
      }
      if (type == kDtlsAppIdExtension && !out.app_id) {
        std::span<const uint8_t> id;
        Reader id_reader(data);
        if (!id_reader.vec8(id) || id.empty() || id.size() > kDtlsMaxSessionIdSize) {
          return make_error("malformed application-ID extension");
        }
        out.app_id = id;
      }
    }
  }
  out.message = fragment.first(kDtlsHandshakeHeaderSize + frag_len);
  return out;
}

std::optional<std::span<const uint8_t>> dtls_lookup_id(const DtlsClientHello& hello,
                                                       bool use_app_id_extension) noexcept {
  if (hello.random_all_zero) {
    return std::nullopt;
  }
  if (use_app_id_extension && hello.app_id) {
    return *hello.app_id;
  }
  if (hello.session_id.empty()) {
    return std::nullopt;
  }
  return hello.session_id;
}

}  // namespace ocm::proto
