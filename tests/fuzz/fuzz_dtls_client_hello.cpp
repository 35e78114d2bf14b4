// parse_dtls_client_hello and dtls_lookup_id over the first datagram any host can send to the
// UDP port (the slow path parses it to find which tunnel it belongs to).
// Invariants:
//  - every span the parser returns lies inside the datagram; sizes respect the protocol bounds;
//  - offers_suite / offers_compression / extension agree with a naive scan of the raw fields;
//  - the lookup id is the app-id extension or the session_id, never empty, never for a zero random;
//  - a complete hello re-serialised from its fields parses back to the same fields.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "fuzz_check.hpp"
#include "ocm/proto/dtls_hello.hpp"

namespace {

using ocm::fuzz::within;
using ocm::proto::DtlsClientHello;

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void put16(std::vector<uint8_t>& v, size_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void put24(std::vector<uint8_t>& v, size_t x) {
  v.push_back(static_cast<uint8_t>(x >> 16));
  put16(v, x);
}
void put(std::vector<uint8_t>& v, std::span<const uint8_t> b) {
  v.insert(v.end(), b.begin(), b.end());
}

std::vector<uint8_t> serialise(const DtlsClientHello& h) {
  std::vector<uint8_t> body;
  put16(body, h.client_version);
  put(body, h.random);
  body.push_back(static_cast<uint8_t>(h.session_id.size()));
  put(body, h.session_id);
  body.push_back(static_cast<uint8_t>(h.cookie.size()));
  put(body, h.cookie);
  put16(body, h.cipher_suites.size());
  put(body, h.cipher_suites);
  body.push_back(static_cast<uint8_t>(h.compression_methods.size()));
  put(body, h.compression_methods);
  if (!h.extensions.empty()) {
    put16(body, h.extensions.size());
    put(body, h.extensions);
  }
  std::vector<uint8_t> out;
  out.push_back(ocm::proto::kDtlsContentHandshake);
  put16(out, h.record_version);
  put16(out, h.epoch);
  put16(out, static_cast<size_t>(h.record_seq >> 32));
  put16(out, static_cast<size_t>(h.record_seq >> 16) & 0xffff);
  put16(out, static_cast<size_t>(h.record_seq) & 0xffff);
  put16(out, ocm::proto::kDtlsHandshakeHeaderSize + body.size());
  out.push_back(ocm::proto::kDtlsHandshakeClientHello);
  put24(out, body.size());
  put16(out, h.message_seq);
  put24(out, 0);
  put24(out, body.size());
  put(out, body);
  return out;
}

void check_hello(const DtlsClientHello& h, std::span<const uint8_t> dgram) {
  FUZZ_CHECK(h.record_size <= dgram.size());
  FUZZ_CHECK(h.record_size >= ocm::proto::kDtlsRecordHeaderSize);
  FUZZ_CHECK(h.random.size() == ocm::proto::kDtlsRandomSize);
  FUZZ_CHECK(h.session_id.size() <= ocm::proto::kDtlsMaxSessionIdSize);
  FUZZ_CHECK(h.record_seq < (uint64_t{1} << 48));
  FUZZ_CHECK(within(h.random, dgram) && within(h.session_id, dgram));
  bool zero = std::all_of(h.random.begin(), h.random.end(), [](uint8_t b) { return b == 0; });
  FUZZ_CHECK(zero == h.random_all_zero);
  if (h.complete) {
    FUZZ_CHECK(within(h.cookie, dgram) && within(h.cipher_suites, dgram) && within(h.compression_methods, dgram) &&
               within(h.extensions, dgram) && within(h.message, dgram));
    FUZZ_CHECK(!h.cipher_suites.empty() && h.cipher_suites.size() % 2 == 0);
    FUZZ_CHECK(!h.compression_methods.empty());
    FUZZ_CHECK(h.message.size() >= ocm::proto::kDtlsHandshakeHeaderSize);
    FUZZ_CHECK(h.message.data() + h.message.size() <= dgram.data() + h.record_size);
    if (h.app_id) {
      FUZZ_CHECK(within(*h.app_id, h.extensions));
      FUZZ_CHECK(!h.app_id->empty() && h.app_id->size() <= ocm::proto::kDtlsMaxSessionIdSize);
    }
    // Naive scans against the accessors.
    for (size_t i = 0; i + 1 < h.cipher_suites.size(); i += 2) {
      FUZZ_CHECK(h.offers_suite(static_cast<uint16_t>((h.cipher_suites[i] << 8) | h.cipher_suites[i + 1])));
    }
    for (uint8_t m : h.compression_methods) {
      FUZZ_CHECK(h.offers_compression(m));
    }
    std::vector<uint16_t> seen;
    size_t p = 0;
    while (p + 4 <= h.extensions.size()) {
      auto type = static_cast<uint16_t>((h.extensions[p] << 8) | h.extensions[p + 1]);
      size_t len = size_t{h.extensions[p + 2]} * 256 + h.extensions[p + 3];
      FUZZ_CHECK(p + 4 + len <= h.extensions.size());
      if (std::find(seen.begin(), seen.end(), type) == seen.end()) {
        seen.push_back(type);
        auto ext = h.extension(type);
        FUZZ_CHECK(ext.has_value() && same(*ext, h.extensions.subspan(p + 4, len)));
      }
      p += 4 + len;
    }
    FUZZ_CHECK(p == h.extensions.size());
  }
  for (bool use_app_id : {false, true}) {
    auto id = ocm::proto::dtls_lookup_id(h, use_app_id);
    if (h.random_all_zero) {
      FUZZ_CHECK(!id);
      continue;
    }
    if (id) {
      FUZZ_CHECK(!id->empty() && id->size() <= ocm::proto::kDtlsMaxSessionIdSize && within(*id, dgram));
      FUZZ_CHECK(same(*id, (use_app_id && h.app_id) ? *h.app_id : h.session_id));
    } else {
      FUZZ_CHECK(h.session_id.empty() && !(use_app_id && h.app_id));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> dgram(data, size);
  auto parsed = ocm::proto::parse_dtls_client_hello(dgram);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  const DtlsClientHello& h = *parsed;
  check_hello(h, dgram);
  if (!h.complete) {
    return 0;
  }

  std::vector<uint8_t> again = serialise(h);
  auto back = ocm::proto::parse_dtls_client_hello(again);
  FUZZ_CHECK(back.has_value());
  check_hello(*back, again);
  FUZZ_CHECK(back->complete);
  FUZZ_CHECK(back->record_size == again.size());
  FUZZ_CHECK(back->record_version == h.record_version && back->epoch == h.epoch &&
             back->record_seq == h.record_seq && back->message_seq == h.message_seq &&
             back->client_version == h.client_version);
  FUZZ_CHECK(same(back->random, h.random) && same(back->session_id, h.session_id) && same(back->cookie, h.cookie) &&
             same(back->cipher_suites, h.cipher_suites) && same(back->compression_methods, h.compression_methods) &&
             same(back->extensions, h.extensions));
  FUZZ_CHECK(back->app_id.has_value() == h.app_id.has_value());
  if (h.app_id) {
    FUZZ_CHECK(same(*back->app_id, *h.app_id));
  }
  // The Finished hash covers the message as sent: re-serialising an unfragmented hello that had
  // no stray bytes must reproduce it exactly.
  FUZZ_CHECK(same(back->message, h.message) || h.extensions.empty());
  return 0;
}
