// options.h must come before every other wolfSSL header (it carries the build's feature macros).
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/kdf.h>
#include <wolfssl/wolfio.h>

#include "dtls_handshake.hpp"
#include "tls_memory.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "ocm/base/bytes.hpp"
#include "ocm/proto/dtls_hello.hpp"

namespace ocm::ctrl {
namespace {

// openconnect offers "+PSK" key exchange only; of the static-PSK suites Debian's wolfSSL has just
// this one (feasibility.md §5).
constexpr char kPskCipherList[] = "PSK-CHACHA20-POLY1305";

constexpr size_t kRecordHeaderSize = 13;
constexpr size_t kHandshakeHeaderSize = 12;
constexpr uint8_t kContentChangeCipherSpec = 20;
constexpr uint8_t kContentAlert = 21;
constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kHandshakeServerHello = 2;
constexpr uint8_t kHandshakeFinished = 20;
constexpr uint8_t kHandshakeClientKeyExchange = 16;
constexpr uint16_t kDtls12 = 0xfefd;
constexpr size_t kVerifyDataSize = 12;
constexpr size_t kGcmExplicitNonceSize = 8;
constexpr size_t kGcmSaltSize = 4;
constexpr size_t kGcmTagSize = 16;
constexpr uint16_t kRenegotiationInfoExtension = 0xff01;
constexpr uint16_t kEmptyRenegotiationInfoScsv = 0x00ff;
constexpr uint8_t kAlertFatal = 2;
constexpr uint8_t kAlertHandshakeFailure = 40;

// A client that floods us before we step is not worth more memory than this.
constexpr size_t kMaxQueuedDatagrams = 64;
// PSK mode: epoch-1 sequence numbers below this belong to wolfSSL (its Finished and answers to
// retransmitted client flights); the record layer starts here. wolfSSL output that would go
// beyond is dropped, so the two can never use the same nonce.
constexpr uint64_t kPskReservedServerSeq = 64;
// Retransmission schedule: 1, 2, 4, 8, 16, 32 s -> give up after about a minute, like ocserv.
constexpr int kInitialTimeoutSeconds = 1;
constexpr int kMaxTimeoutSeconds = 32;
constexpr int kMaxTimeouts = 6;
// Answers to a client that keeps retransmitting after we finished (it gives up after ~12 s).
constexpr int kMaxFinalFlightResends = 8;

std::once_flag g_init_once;

std::string wolf_error_string(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  return std::string(text) + " (" + std::to_string(code) + ")";
}

bool fill_random(std::span<uint8_t> out) noexcept {
  size_t filled = 0;
  while (filled < out.size()) {
    ssize_t n = getrandom(out.data() + filled, out.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    filled += static_cast<size_t>(n);
  }
  return true;
}

void put16(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put24(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 16));
  put16(out, v);
}
void put48(std::vector<uint8_t>& out, uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}
uint32_t get_be(std::span<const uint8_t> p, size_t n) noexcept {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

struct Record {
  uint8_t type = 0;
  uint16_t version = 0;
  uint16_t epoch = 0;
  uint64_t seq = 0;
  std::span<const uint8_t> header;  // the 13 header bytes
  std::span<const uint8_t> body;
};

// Splits a datagram into records; stops at the first one that does not fit (the rest of a
// malformed datagram is ignored, as DTLS does).
std::vector<Record> split_records(std::span<const uint8_t> datagram) {
  std::vector<Record> records;
  while (datagram.size() >= kRecordHeaderSize) {
    Record r;
    r.type = datagram[0];
    r.version = static_cast<uint16_t>(get_be(datagram.subspan(1), 2));
    r.epoch = static_cast<uint16_t>(get_be(datagram.subspan(3), 2));
    r.seq = (uint64_t{get_be(datagram.subspan(5), 2)} << 32) | get_be(datagram.subspan(7), 4);
    size_t len = get_be(datagram.subspan(11), 2);
    if (datagram.size() - kRecordHeaderSize < len) {
      break;
    }
    r.header = datagram.first(kRecordHeaderSize);
    r.body = datagram.subspan(kRecordHeaderSize, len);
    records.push_back(r);
    datagram = datagram.subspan(kRecordHeaderSize + len);
  }
  return records;
}

void append_record(std::vector<uint8_t>& out, uint8_t type, uint16_t epoch, uint64_t seq,
                   std::span<const uint8_t> body) {
  out.push_back(type);
  put16(out, kDtls12);
  put16(out, epoch);
  put48(out, seq);
  put16(out, static_cast<uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

std::vector<uint8_t> handshake_message(uint8_t type, uint16_t message_seq, std::span<const uint8_t> body) {
  std::vector<uint8_t> msg;
  msg.reserve(kHandshakeHeaderSize + body.size());
  msg.push_back(type);
  put24(msg, static_cast<uint32_t>(body.size()));
  put16(msg, message_seq);
  put24(msg, 0);  // fragment_offset
  put24(msg, static_cast<uint32_t>(body.size()));
  msg.insert(msg.end(), body.begin(), body.end());
  return msg;
}

// TLS 1.2 PRF (RFC 5246 §5) with the suite's hash.
bool prf(std::span<uint8_t> out, std::span<const uint8_t> secret, std::string_view label, std::span<const uint8_t> seed,
         int hash_type) noexcept {
  return wc_PRF_TLS(out.data(), static_cast<word32>(out.size()), secret.data(), static_cast<word32>(secret.size()),
                    reinterpret_cast<const byte*>(label.data()), static_cast<word32>(label.size()), seed.data(),
                    static_cast<word32>(seed.size()), 1, hash_type, nullptr, INVALID_DEVID) == 0;
}

// Hash of the handshake transcript; returns the digest length, 0 on failure.
size_t transcript_hash(std::span<const uint8_t> data, bool sha384, std::array<uint8_t, 48>& out) noexcept {
  if (sha384) {
    return wc_Sha384Hash(data.data(), static_cast<word32>(data.size()), out.data()) == 0 ? 48 : 0;
  }
  return wc_Sha256Hash(data.data(), static_cast<word32>(data.size()), out.data()) == 0 ? 32 : 0;
}

// RFC 5288 record protection: nonce = salt(4) || explicit(8), AAD = epoch|seq || type || version
// || plaintext length. `explicit_nonce` is what the record carries.
bool gcm_seal(std::span<const uint8_t> key, std::span<const uint8_t> salt, std::span<const uint8_t> explicit_nonce,
              std::span<const uint8_t> aad, std::span<const uint8_t> plain, uint8_t* out, uint8_t* tag) noexcept {
  std::array<uint8_t, 12> nonce{};
  std::memcpy(nonce.data(), salt.data(), kGcmSaltSize);
  std::memcpy(nonce.data() + kGcmSaltSize, explicit_nonce.data(), kGcmExplicitNonceSize);
  Aes aes;
  if (wc_AesInit(&aes, nullptr, INVALID_DEVID) != 0) {
    return false;
  }
  bool ok = wc_AesGcmSetKey(&aes, key.data(), static_cast<word32>(key.size())) == 0 &&
            wc_AesGcmEncrypt(&aes, out, plain.data(), static_cast<word32>(plain.size()), nonce.data(), nonce.size(),
                             tag, kGcmTagSize, aad.data(), static_cast<word32>(aad.size())) == 0;
  wc_AesFree(&aes);
  return ok;
}

bool gcm_open(std::span<const uint8_t> key, std::span<const uint8_t> salt, std::span<const uint8_t> explicit_nonce,
              std::span<const uint8_t> aad, std::span<const uint8_t> cipher, std::span<const uint8_t> tag,
              uint8_t* out) noexcept {
  std::array<uint8_t, 12> nonce{};
  std::memcpy(nonce.data(), salt.data(), kGcmSaltSize);
  std::memcpy(nonce.data() + kGcmSaltSize, explicit_nonce.data(), kGcmExplicitNonceSize);
  Aes aes;
  if (wc_AesInit(&aes, nullptr, INVALID_DEVID) != 0) {
    return false;
  }
  bool ok = wc_AesGcmSetKey(&aes, key.data(), static_cast<word32>(key.size())) == 0 &&
            wc_AesGcmDecrypt(&aes, out, cipher.data(), static_cast<word32>(cipher.size()), nonce.data(), nonce.size(),
                             tag.data(), kGcmTagSize, aad.data(), static_cast<word32>(aad.size())) == 0;
  wc_AesFree(&aes);
  return ok;
}

// The 13-byte AEAD additional data of a record.
std::array<uint8_t, 13> record_aad(uint8_t type, uint16_t version, uint16_t epoch, uint64_t seq, size_t plain_len) {
  std::vector<uint8_t> v;
  put16(v, epoch);
  put48(v, seq);
  v.push_back(type);
  put16(v, version);
  put16(v, static_cast<uint32_t>(plain_len));
  std::array<uint8_t, 13> aad{};
  std::copy(v.begin(), v.end(), aad.begin());
  return aad;
}

// ---------------------------------------------------------------------------------------------
// PSK-NEGOTIATE: wolfSSL runs the handshake.

class PskHandshake final : public DtlsHandshake {
 public:
  PskHandshake(std::shared_ptr<DtlsServer> server, std::span<const uint8_t, kDtlsPskSize> psk_key)
      : server_(std::move(server)) {
    std::copy(psk_key.begin(), psk_key.end(), psk_.begin());
  }
  ~PskHandshake() override {
    // wolfSSL_free zeroes the session keys it holds (ForceZero in its key cleanup).
    if (ssl_ != nullptr) {
      wolfSSL_free(ssl_);
    }
    secure_zero(psk_.data(), psk_.size());
    secure_zero(cookie_secret_.data(), cookie_secret_.size());
  }
  PskHandshake(const PskHandshake&) = delete;
  PskHandshake& operator=(const PskHandshake&) = delete;

  Status init() {
    if (!fill_random(cookie_secret_)) {
      return make_error("getrandom failed");
    }
    ssl_ = wolfSSL_new(server_->native());
    if (ssl_ == nullptr) {
      return make_error("wolfSSL_new failed");
    }
    wolfSSL_SetIOReadCtx(ssl_, this);
    wolfSSL_SetIOWriteCtx(ssl_, this);
    wolfSSL_SetCookieCtx(ssl_, this);
    // Our callbacks never block; wolfSSL must not wait on a socket either.
    wolfSSL_dtls_set_using_nonblock(ssl_, 1);
    wolfSSL_dtls_set_timeout_init(ssl_, kInitialTimeoutSeconds);
    wolfSSL_dtls_set_timeout_max(ssl_, kMaxTimeoutSeconds);
    return {};
  }

  [[nodiscard]] std::chrono::milliseconds retransmit_timeout() const override {
    int seconds = ssl_ != nullptr ? wolfSSL_dtls_get_current_timeout(ssl_) : 0;
    return std::chrono::seconds(seconds > 0 ? seconds : kInitialTimeoutSeconds);
  }

  static int recv_cb(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
    auto* self = static_cast<PskHandshake*>(ctx);
    if (self->incoming_.empty()) {
      return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    std::vector<uint8_t> datagram = std::move(self->incoming_.front());
    self->incoming_.pop_front();
    // A datagram larger than wolfSSL's buffer is cut, as recvfrom() would.
    size_t n = std::min(datagram.size(), static_cast<size_t>(std::max(sz, 0)));
    if (n == 0) {
      return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    std::memcpy(buf, datagram.data(), n);
    return static_cast<int>(n);
  }

  static int send_cb(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
    auto* self = static_cast<PskHandshake*>(ctx);
    std::span<const uint8_t> datagram(reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(sz));
    for (const Record& r : split_records(datagram)) {
      // Never let wolfSSL protect a record with a (key, sequence number) pair the record layer
      // may use: epoch 1 at or above the reserved limit, or any later epoch.
      if (r.epoch > 1 || (r.epoch == 1 && r.seq >= kPskReservedServerSeq)) {
        return sz;  // pretend it went out; a lost datagram is normal for DTLS
      }
    }
    self->outgoing_.emplace_back(datagram.begin(), datagram.end());
    return sz;
  }

  static unsigned int psk_cb(WOLFSSL* ssl, const char* /*identity*/, unsigned char* key, unsigned int max_key_len) {
    // openconnect sends the identity "psk"; ocserv ignores it, and so do we: the key alone
    // proves the client owns the CSTP session.
    auto* self = static_cast<PskHandshake*>(wolfSSL_GetIOReadCtx(ssl));
    if (self == nullptr || max_key_len < kDtlsPskSize) {
      return 0;
    }
    std::memcpy(key, self->psk_.data(), kDtlsPskSize);
    return kDtlsPskSize;
  }

  static int cookie_cb(WOLFSSL* /*ssl*/, unsigned char* buf, int sz, void* ctx) {
    // wolfSSL's default cookie hashes the peer's socket address, which memory I/O does not
    // have. The cookie only has to be the same for both ClientHellos of this attempt, and this
    // object already belongs to one client address, so per-attempt random bytes do.
    auto* self = static_cast<PskHandshake*>(ctx);
    if (self == nullptr || sz <= 0) {
      return -1;
    }
    size_t n = std::min(static_cast<size_t>(sz), self->cookie_secret_.size());
    std::memcpy(buf, self->cookie_secret_.data(), n);
    return static_cast<int>(n);
  }

 private:
  void process() override {
    if (state_ == State::kWantRead) {
      size_t sent_before = outgoing_.size();
      int rc = wolfSSL_accept(ssl_);
      if (rc == WOLFSSL_SUCCESS) {
        // The server sends the last flight of a full handshake; keep it for a client that
        // lost it (see below).
        final_flight_.assign(outgoing_.begin() + static_cast<std::ptrdiff_t>(sent_before), outgoing_.end());
        capture_keys();
        if (state_ == State::kDone) {
          // All a finished handshake still does is resend those bytes (below), so the wolfSSL
          // object (~55 KB, most of an idle tunnel's memory otherwise) goes now instead of
          // when the tunnel drops this handshake (dtls_handshake_disposable).
          wolfSSL_free(ssl_);
          ssl_ = nullptr;
        }
      } else {
        int err = wolfSSL_get_error(ssl_, rc);
        if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) {
          fail("DTLS-PSK handshake failed: " + wolf_error_string(err));
        }
      }
    }
    if (state_ == State::kDone) {
      // A client that lost our last flight (ChangeCipherSpec + Finished) retransmits its own
      // (ClientKeyExchange, ChangeCipherSpec, Finished) and needs ours again. wolfSSL 5.5.4
      // keeps the flight (dtlsHsRetain) but was not seen to answer, so we resend the bytes it
      // sent: same records, same sequence numbers, same ciphertext, so no nonce is reused and
      // a client that did get them drops the duplicates. wolfSSL itself is gone by now (see
      // above); anything else that strays here (application data) is dropped.
      bool client_retransmitted = std::any_of(incoming_.begin(), incoming_.end(), [](const std::vector<uint8_t>& d) {
        return is_retransmitted_final_flight(d);
      });
      if (client_retransmitted && final_flight_resends_ < kMaxFinalFlightResends) {
        ++final_flight_resends_;
        outgoing_.insert(outgoing_.end(), final_flight_.begin(), final_flight_.end());
      }
    }
    if (state_ != State::kWantRead) {
      incoming_.clear();
    }
  }

  // The client's last flight of a full handshake: ClientKeyExchange (epoch 0, handshake type
  // 16) and/or its Finished (the only handshake record it sends in epoch 1).
  static bool is_retransmitted_final_flight(const std::vector<uint8_t>& datagram) {
    for (const Record& r : split_records(datagram)) {
      if (r.type != kContentHandshake) {
        continue;
      }
      if (r.epoch == 1 || (r.epoch == 0 && !r.body.empty() && r.body[0] == kHandshakeClientKeyExchange)) {
        return true;
      }
    }
    return false;
  }

  void retransmit() override {
    // Only called while kWantRead, when ssl_ is always there.
    if (ssl_ == nullptr || wolfSSL_dtls_got_timeout(ssl_) != WOLFSSL_SUCCESS) {
      fail("DTLS-PSK handshake timed out");
    }
  }

  void capture_keys() {
    int bulk = wolfSSL_GetBulkCipher(ssl_);
    int key_size = wolfSSL_GetKeySize(ssl_);
    int iv_size = wolfSSL_GetIVSize(ssl_);
    if (bulk == wolfssl_aes_gcm && key_size == 16 && iv_size == static_cast<int>(kGcmSaltSize)) {
      keys_.bulk = DtlsBulk::kAes128Gcm;
    } else if (bulk == wolfssl_aes_gcm && key_size == 32 && iv_size == static_cast<int>(kGcmSaltSize)) {
      keys_.bulk = DtlsBulk::kAes256Gcm;
    } else if (bulk == wolfssl_chacha && key_size == 32 && iv_size == 12) {
      keys_.bulk = DtlsBulk::kChaCha20Poly1305;
    } else {
      fail("negotiated an unexpected bulk cipher " + std::to_string(bulk) + " (key " + std::to_string(key_size) +
           ", iv " + std::to_string(iv_size) + ")");
      return;
    }
    const unsigned char* ck = wolfSSL_GetClientWriteKey(ssl_);
    const unsigned char* sk = wolfSSL_GetServerWriteKey(ssl_);
    const unsigned char* civ = wolfSSL_GetClientWriteIV(ssl_);
    const unsigned char* siv = wolfSSL_GetServerWriteIV(ssl_);
    if (ck == nullptr || sk == nullptr || civ == nullptr || siv == nullptr) {
      fail("wolfSSL did not expose the session keys");
      return;
    }
    keys_.key_size = static_cast<uint8_t>(key_size);
    keys_.iv_size = static_cast<uint8_t>(iv_size);
    std::memcpy(keys_.client_write_key.data(), ck, keys_.key_size);
    std::memcpy(keys_.server_write_key.data(), sk, keys_.key_size);
    std::memcpy(keys_.client_write_iv.data(), civ, keys_.iv_size);
    std::memcpy(keys_.server_write_iv.data(), siv, keys_.iv_size);
    keys_.epoch = 1;
    keys_.version = kDtls12;
    keys_.server_next_seq = kPskReservedServerSeq;
    const char* name = wolfSSL_get_cipher_name(ssl_);
    keys_.suite = name != nullptr ? name : "?";
    state_ = State::kDone;
  }

  std::shared_ptr<DtlsServer> server_;
  WOLFSSL* ssl_ = nullptr;
  std::array<uint8_t, kDtlsPskSize> psk_{};
  std::array<uint8_t, 32> cookie_secret_{};
  std::vector<std::vector<uint8_t>> final_flight_;
  int final_flight_resends_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Legacy resumption: our own server side of the abbreviated DTLS 1.2 handshake.

class ResumeHandshake final : public DtlsHandshake {
 public:
  ResumeHandshake(std::span<const uint8_t, kDtlsMasterSecretSize> master_secret,
                  std::span<const uint8_t, kDtlsSessionIdSize> session_id, proto::DtlsLegacySuite suite)
      : suite_(suite) {
    std::copy(master_secret.begin(), master_secret.end(), master_secret_.begin());
    std::copy(session_id.begin(), session_id.end(), session_id_.begin());
    const auto& info = proto::dtls_legacy_suite_info(suite);
    suite_id_ = info.id;
    sha384_ = suite == proto::DtlsLegacySuite::kAes256Gcm;
    key_size_ = sha384_ ? 32 : 16;
  }
  ~ResumeHandshake() override {
    secure_zero(master_secret_.data(), master_secret_.size());
    secure_zero(expected_client_verify_.data(), expected_client_verify_.size());
  }
  ResumeHandshake(const ResumeHandshake&) = delete;
  ResumeHandshake& operator=(const ResumeHandshake&) = delete;

  [[nodiscard]] std::chrono::milliseconds retransmit_timeout() const override { return timeout_; }

 private:
  void process() override {
    while (state_ == State::kWantRead && !incoming_.empty()) {
      std::vector<uint8_t> datagram = std::move(incoming_.front());
      incoming_.pop_front();
      if (!got_hello_) {
        handle_client_hello(datagram);
      } else {
        handle_client_flight(datagram);
      }
    }
    // After kDone the client has our keys and theirs: nothing it sends needs an answer (the
    // client sends the last flight of an abbreviated handshake). A new ClientHello is a new
    // session for the caller to set up.
    if (state_ != State::kWantRead) {
      incoming_.clear();
    }
  }

  void retransmit() override {
    if (!got_hello_) {
      fail("no ClientHello arrived");
      return;
    }
    if (++timeouts_ >= kMaxTimeouts) {
      fail("legacy DTLS handshake timed out waiting for the client's Finished");
      return;
    }
    // The same bytes again: the Finished record keeps its sequence number, which is safe since
    // the plaintext is identical, and the record layer starts after it anyway.
    outgoing_.push_back(flight_);
    timeout_ = std::min(timeout_ * 2, std::chrono::milliseconds(std::chrono::seconds(kMaxTimeoutSeconds)));
  }

  void send_alert(uint8_t description) {
    const uint8_t body[2] = {kAlertFatal, description};
    std::vector<uint8_t> datagram;
    append_record(datagram, kContentAlert, 0, epoch0_seq_++, body);
    outgoing_.push_back(std::move(datagram));
  }

  void handle_client_hello(const std::vector<uint8_t>& datagram) {
    auto parsed = proto::parse_dtls_client_hello(datagram);
    if (!parsed) {
      fail("not a valid ClientHello: " + parsed.error().message);
      return;
    }
    const proto::DtlsClientHello& hello = *parsed;
    if (hello.epoch != 0) {
      fail("ClientHello outside epoch 0");
      return;
    }
    if (!hello.complete) {
      fail("fragmented ClientHello (not supported in legacy mode)");
      return;
    }
    if (hello.random_all_zero) {
      fail("ClientHello random is all zero");
      return;
    }
    // The heart of the legacy mode: anything but a resumption of the session we announced is
    // refused (openconnect itself treats a full handshake as a MITM attack, protocol.md §8.9).
    if (hello.session_id.size() != kDtlsSessionIdSize || !constant_time_equal(hello.session_id, session_id_)) {
      send_alert(kAlertHandshakeFailure);
      fail("ClientHello does not resume the advertised session (full handshakes are refused)");
      return;
    }
    // DTLS versions count down: 0xfefd is 1.2, 0xfefc would be 1.3, 0xfeff is 1.0.
    if (hello.client_version > kDtls12 || (hello.client_version >> 8) != 0xfe) {
      send_alert(kAlertHandshakeFailure);
      fail("client does not offer DTLS 1.2");
      return;
    }
    if (!hello.offers_suite(suite_id_)) {
      send_alert(kAlertHandshakeFailure);
      fail("client does not offer the agreed cipher suite " + std::string(proto::dtls_suite_name(suite_, true)));
      return;
    }
    if (!hello.offers_compression(0)) {
      send_alert(kAlertHandshakeFailure);
      fail("client does not offer null compression");
      return;
    }
    got_hello_ = true;
    client_hello_seq_ = hello.message_seq;
    std::copy(hello.random.begin(), hello.random.end(), client_random_.begin());
    // RFC 5746: answer a client that signals secure renegotiation with an empty
    // renegotiation_info; we never renegotiate, so that is all it takes.
    bool echo_reneg =
        hello.offers_suite(kEmptyRenegotiationInfoScsv) || hello.extension(kRenegotiationInfoExtension).has_value();
    transcript_.assign(hello.message.begin(), hello.message.end());
    build_flight(echo_reneg);
  }

  void build_flight(bool echo_reneg) {
    if (!fill_random(server_random_)) {
      fail("getrandom failed");
      return;
    }
    // ServerHello: same session id and suite, null compression, no extended master secret.
    std::vector<uint8_t> body;
    put16(body, kDtls12);
    body.insert(body.end(), server_random_.begin(), server_random_.end());
    body.push_back(static_cast<uint8_t>(kDtlsSessionIdSize));
    body.insert(body.end(), session_id_.begin(), session_id_.end());
    put16(body, suite_id_);
    body.push_back(0);
    if (echo_reneg) {
      put16(body, 5);
      put16(body, kRenegotiationInfoExtension);
      put16(body, 1);
      body.push_back(0);
    }
    // Our first handshake message of this handshake: message_seq 0 (RFC 6347 §4.2.2).
    std::vector<uint8_t> server_hello = handshake_message(kHandshakeServerHello, 0, body);
    transcript_.insert(transcript_.end(), server_hello.begin(), server_hello.end());

    // key_block = PRF(master, "key expansion", server_random + client_random): for AEAD suites
    // client key | server key | client salt | server salt (RFC 5246 §6.3, RFC 5288 §3).
    std::array<uint8_t, 64> seed{};
    std::copy(server_random_.begin(), server_random_.end(), seed.begin());
    std::copy(client_random_.begin(), client_random_.end(), seed.begin() + 32);
    std::array<uint8_t, (2 * size_t{32}) + (2 * kGcmSaltSize)> key_block{};
    std::span<uint8_t> kb(key_block.data(), 2 * key_size_ + 2 * kGcmSaltSize);
    int hash_type = sha384_ ? sha384_mac : sha256_mac;
    if (!prf(kb, master_secret_, "key expansion", seed, hash_type)) {
      fail("PRF failed");
      return;
    }
    keys_.bulk = sha384_ ? DtlsBulk::kAes256Gcm : DtlsBulk::kAes128Gcm;
    keys_.key_size = static_cast<uint8_t>(key_size_);
    keys_.iv_size = static_cast<uint8_t>(kGcmSaltSize);
    std::memcpy(keys_.client_write_key.data(), kb.data(), key_size_);
    std::memcpy(keys_.server_write_key.data(), kb.data() + key_size_, key_size_);
    std::memcpy(keys_.client_write_iv.data(), kb.data() + 2 * key_size_, kGcmSaltSize);
    std::memcpy(keys_.server_write_iv.data(), kb.data() + 2 * key_size_ + kGcmSaltSize, kGcmSaltSize);
    secure_zero(key_block.data(), key_block.size());
    keys_.epoch = 1;
    keys_.version = kDtls12;
    keys_.server_next_seq = 1;  // our Finished is epoch 1, seq 0
    keys_.suite = std::string(proto::dtls_suite_name(suite_, true));

    // In an abbreviated handshake the server's Finished comes first and covers
    // ClientHello + ServerHello; the client's covers those plus our Finished. DTLS hashes the
    // handshake messages with their 12-byte headers as if unfragmented (RFC 6347 §4.2.6).
    std::array<uint8_t, 48> digest{};
    size_t digest_len = transcript_hash(transcript_, sha384_, digest);
    std::array<uint8_t, kVerifyDataSize> verify{};
    if (digest_len == 0 ||
        !prf(verify, master_secret_, "server finished", std::span(digest.data(), digest_len), hash_type)) {
      fail("transcript hash failed");
      return;
    }
    std::vector<uint8_t> finished = handshake_message(kHandshakeFinished, 1, verify);
    transcript_.insert(transcript_.end(), finished.begin(), finished.end());
    digest_len = transcript_hash(transcript_, sha384_, digest);
    if (digest_len == 0 || !prf(expected_client_verify_, master_secret_, "client finished",
                                std::span(digest.data(), digest_len), hash_type)) {
      fail("transcript hash failed");
      return;
    }

    flight_.clear();
    append_record(flight_, kContentHandshake, 0, epoch0_seq_++, server_hello);
    const uint8_t ccs[1] = {1};
    append_record(flight_, kContentChangeCipherSpec, 0, epoch0_seq_++, ccs);
    if (!append_sealed_finished(finished)) {
      fail("AES-GCM failed");
      return;
    }
    outgoing_.push_back(flight_);
  }

  // Our Finished as epoch 1, seq 0, explicit nonce = epoch|seq (what lib/crypto expects too).
  bool append_sealed_finished(std::span<const uint8_t> finished) {
    constexpr uint16_t kEpoch = 1;
    constexpr uint64_t kSeq = 0;
    std::vector<uint8_t> explicit_nonce;
    put16(explicit_nonce, kEpoch);
    put48(explicit_nonce, kSeq);
    auto aad = record_aad(kContentHandshake, kDtls12, kEpoch, kSeq, finished.size());
    std::vector<uint8_t> body(explicit_nonce);
    body.resize(kGcmExplicitNonceSize + finished.size() + kGcmTagSize);
    if (!gcm_seal(keys_.server_key(), keys_.server_iv(), explicit_nonce, aad, finished,
                  body.data() + kGcmExplicitNonceSize, body.data() + kGcmExplicitNonceSize + finished.size())) {
      return false;
    }
    append_record(flight_, kContentHandshake, kEpoch, kSeq, body);
    return true;
  }

  void handle_client_flight(const std::vector<uint8_t>& datagram) {
    for (const Record& r : split_records(datagram)) {
      if (r.version != kDtls12 && r.version != 0xfeff) {
        continue;
      }
      if (r.epoch == 0) {
        handle_plain_record(r, datagram);
      } else if (r.epoch == 1 && (r.type == kContentHandshake || r.type == kContentAlert)) {
        handle_protected_record(r);
      }
      // Epoch-1 application data before we verified the client's Finished is dropped; the
      // client retransmits its Finished once our flight is retransmitted.
      if (state_ != State::kWantRead) {
        return;
      }
    }
  }

  void handle_plain_record(const Record& r, const std::vector<uint8_t>& datagram) {
    if (r.type == kContentAlert) {
      if (r.body.size() >= 2 && r.body[0] == kAlertFatal) {
        fail("client sent fatal alert " + std::to_string(r.body[1]));
      }
      return;
    }
    if (r.type != kContentHandshake) {
      return;  // ChangeCipherSpec: the protected Finished that follows says everything.
    }
    // The client did not get our flight and repeats its ClientHello: repeat our flight,
    // byte for byte.
    size_t offset = static_cast<size_t>(r.header.data() - datagram.data());
    auto hello = proto::parse_dtls_client_hello(std::span(datagram).subspan(offset));
    if (hello && std::equal(hello->random.begin(), hello->random.end(), client_random_.begin()) &&
        constant_time_equal(hello->session_id, session_id_)) {
      outgoing_.push_back(flight_);
    }
  }

  void handle_protected_record(const Record& r) {
    if (r.body.size() < kGcmExplicitNonceSize + kGcmTagSize) {
      return;
    }
    size_t plain_len = r.body.size() - kGcmExplicitNonceSize - kGcmTagSize;
    auto aad = record_aad(r.type, r.version, r.epoch, r.seq, plain_len);
    std::vector<uint8_t> plain(plain_len);
    if (!gcm_open(keys_.client_key(), keys_.client_iv(), r.body.first(kGcmExplicitNonceSize), aad,
                  r.body.subspan(kGcmExplicitNonceSize, plain_len), r.body.last(kGcmTagSize), plain.data())) {
      // A record only the holder of the master secret could make: a client that fails here
      // has a different secret or suite, and retrying will not change that.
      fail("client's protected record did not authenticate (master secret or suite mismatch)");
      return;
    }
    if (r.type == kContentAlert) {
      if (plain.size() >= 2 && plain[0] == kAlertFatal) {
        fail("client sent fatal alert " + std::to_string(plain[1]));
      }
      return;
    }
    std::vector<uint8_t> expected =
        handshake_message(kHandshakeFinished, static_cast<uint16_t>(client_hello_seq_ + 1), expected_client_verify_);
    bool ok = plain.size() == expected.size() && constant_time_equal(plain, expected);
    secure_zero(plain.data(), plain.size());
    if (!ok) {
      fail("client Finished does not verify");
      return;
    }
    state_ = State::kDone;
  }

  std::array<uint8_t, kDtlsMasterSecretSize> master_secret_{};
  std::array<uint8_t, kDtlsSessionIdSize> session_id_{};
  proto::DtlsLegacySuite suite_;
  uint16_t suite_id_ = 0;
  bool sha384_ = false;
  size_t key_size_ = 16;
  bool got_hello_ = false;
  uint16_t client_hello_seq_ = 0;
  std::array<uint8_t, 32> client_random_{};
  std::array<uint8_t, 32> server_random_{};
  std::vector<uint8_t> transcript_;
  std::array<uint8_t, kVerifyDataSize> expected_client_verify_{};
  std::vector<uint8_t> flight_;
  uint64_t epoch0_seq_ = 0;
  int timeouts_ = 0;
  std::chrono::milliseconds timeout_{std::chrono::seconds(kInitialTimeoutSeconds)};
};

}  // namespace

const char* to_string(DtlsBulk bulk) noexcept {
  switch (bulk) {
    case DtlsBulk::kAes128Gcm:
      return "AES-128-GCM";
    case DtlsBulk::kAes256Gcm:
      return "AES-256-GCM";
    case DtlsBulk::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
  }
  return "?";
}

DtlsKeys::~DtlsKeys() {
  secure_zero(client_write_key.data(), client_write_key.size());
  secure_zero(server_write_key.data(), server_write_key.size());
  secure_zero(client_write_iv.data(), client_write_iv.size());
  secure_zero(server_write_iv.data(), server_write_iv.size());
}

namespace {

Result<std::shared_ptr<DtlsServer>> make_server(const config::CryptoConfig* crypto,
                                                std::shared_ptr<DtlsServer> (*wrap)(WOLFSSL_CTX*)) {
  std::call_once(g_init_once, [] {
    install_tls_allocators();  // before wolfSSL allocates anything (tls_memory.hpp)
    wolfSSL_Init();
  });
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
  if (ctx == nullptr) {
    return make_error("wolfSSL_CTX_new(DTLS 1.2 server) failed");
  }
  std::shared_ptr<DtlsServer> owner = wrap(ctx);
  if (crypto != nullptr) {
    int rc = wolfSSL_CTX_use_certificate_chain_file(ctx, crypto->cert_file.c_str());
    if (rc != WOLFSSL_SUCCESS) {
      return make_error("DTLS: cannot load certificate chain from " + crypto->cert_file + ": " + wolf_error_string(rc));
    }
    rc = wolfSSL_CTX_use_PrivateKey_file(ctx, crypto->key_file.c_str(), WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS) {
      return make_error("DTLS: cannot load private key from " + crypto->key_file + ": " + wolf_error_string(rc));
    }
  }
  // The PSK callback first: it is what makes wolfSSL consider PSK suites usable at all.
  wolfSSL_CTX_set_psk_server_callback(ctx, PskHandshake::psk_cb);
  if (wolfSSL_CTX_set_cipher_list(ctx, kPskCipherList) != WOLFSSL_SUCCESS) {
    return make_error(std::string("DTLS: wolfSSL lacks ") + kPskCipherList);
  }
  wolfSSL_CTX_SetIORecv(ctx, PskHandshake::recv_cb);
  wolfSSL_CTX_SetIOSend(ctx, PskHandshake::send_cb);
  wolfSSL_CTX_SetGenCookie(ctx, PskHandshake::cookie_cb);
  // Every DTLS-PSK handshake must be a full one proving the PSK; a resumable session would also
  // keep its master secret in wolfSSL's global cache for no use.
  wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
  return owner;
}

}  // namespace

Result<std::shared_ptr<DtlsServer>> DtlsServer::create(const config::CryptoConfig& crypto) {
  return make_server(&crypto, [](WOLFSSL_CTX* ctx) { return std::shared_ptr<DtlsServer>(new DtlsServer(ctx)); });
}

Result<std::shared_ptr<DtlsServer>> DtlsServer::create() {
  return make_server(nullptr, [](WOLFSSL_CTX* ctx) { return std::shared_ptr<DtlsServer>(new DtlsServer(ctx)); });
}

DtlsServer::~DtlsServer() {
  wolfSSL_CTX_free(ctx_);
}

Result<std::unique_ptr<DtlsHandshake>> DtlsHandshake::psk(std::shared_ptr<DtlsServer> server,
                                                          std::span<const uint8_t, kDtlsPskSize> psk_key) {
  if (server == nullptr) {
    return make_error("no DTLS server context");
  }
  auto hs = std::make_unique<PskHandshake>(std::move(server), psk_key);
  if (auto st = hs->init(); !st) {
    return st.error();
  }
  return std::unique_ptr<DtlsHandshake>(std::move(hs));
}

Result<std::unique_ptr<DtlsHandshake>> DtlsHandshake::resume(
    std::span<const uint8_t, kDtlsMasterSecretSize> master_secret,
    std::span<const uint8_t, kDtlsSessionIdSize> session_id, proto::DtlsLegacySuite suite) {
  if (suite != proto::DtlsLegacySuite::kAes128Gcm && suite != proto::DtlsLegacySuite::kAes256Gcm) {
    return make_error("legacy DTLS: only the DTLS 1.2 AES-GCM suites are implemented, not " +
                      std::string(proto::dtls_suite_name(suite, false)));
  }
  return std::unique_ptr<DtlsHandshake>(std::make_unique<ResumeHandshake>(master_secret, session_id, suite));
}

DtlsHandshake::~DtlsHandshake() = default;

void DtlsHandshake::push_datagram(std::span<const uint8_t> datagram) {
  // An empty datagram carries no record; handing wolfSSL a 0-byte read would look like EOF.
  if (datagram.empty() || incoming_.size() >= kMaxQueuedDatagrams) {
    return;  // dropped like an overflowing socket buffer would
  }
  incoming_.emplace_back(datagram.begin(), datagram.end());
}

DtlsHandshake::State DtlsHandshake::step() {
  process();
  return state_;
}

DtlsHandshake::State DtlsHandshake::on_timeout() {
  if (state_ == State::kWantRead) {
    retransmit();
  }
  return state_;
}

Result<DtlsKeys> DtlsHandshake::keys() const {
  if (state_ != State::kDone) {
    return make_error("DTLS handshake not finished");
  }
  return keys_;
}

DtlsHandshake::State DtlsHandshake::fail(std::string message) {
  if (state_ != State::kError) {
    state_ = State::kError;
    error_ = std::move(message);
  }
  return state_;
}

bool dtls_handshake_disposable(DtlsHandshake::State state, bool keys_installed, bool client_record_seen,
                               std::chrono::steady_clock::duration since_done) noexcept {
  if (state != DtlsHandshake::State::kDone || !keys_installed) {
    return false;
  }
  return client_record_seen || since_done >= kDtlsHandshakeLinger;
}

}  // namespace ocm::ctrl
