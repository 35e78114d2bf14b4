#pragma once
// Server side of the DTLS 1.2 handshake of the data channel (protocol.md §5), over memory I/O.
// After the handshake our own record layer (lib/crypto, ipsec-mb) protects the data, so this
// module only agrees keys and hands them out (DtlsKeys).
//
// Two modes, one DtlsHandshake object per attempt (per client address that sent a ClientHello
// naming the session):
//
// * PSK-NEGOTIATE (protocol.md §5.2): a full DTLS 1.2 PSK handshake run by wolfSSL. The PSK is the
//   32-byte TLS exporter value of the CSTP session, whatever identity the client names ("psk").
//   Suite: PSK-CHACHA20-POLY1305 only. Debian's wolfSSL 5.5.4 lacks WOLFSSL_STATIC_PSK, so
//   PSK-AES128/256-GCM do not exist there, and openconnect's priority (+PSK, "-KX-ALL:+PSK")
//   offers no DHE-PSK/ECDHE-PSK suite that could give AES-GCM instead (feasibility.md §5).
//   wolfSSL answers the first ClientHello with a HelloVerifyRequest (one extra round trip; the
//   client repeats its ClientHello from the same address, so route it to the same object).
//
// * Legacy resumption (protocol.md §5.3, Cisco style): the server pretends the client's
//   X-DTLS-Master-Secret belongs to a session with our random X-DTLS-Session-ID and accepts only
//   the abbreviated handshake resuming it:
//     ClientHello(session_id) -> ServerHello(same id) + ChangeCipherSpec + Finished
//                             <- ChangeCipherSpec + Finished
//   No extended master secret, no renegotiation_info requirement (echoed only if offered).
//   This is implemented here on wolfCrypt primitives (PRF, SHA-2, AES-GCM), not by wolfSSL's
//   state machine: Debian's wolfSSL is built without WOLFSSL_STATIC_RSA, so it does not know the
//   suites 0x009c/0x009d at all (wolfSSL_CTX_set_cipher_list("AES128-GCM-SHA256") fails, and a
//   resumed session with that suite fails in SetCipherSpecs with UNSUPPORTED_SUITE, -500).
//   Fabricating the session itself works with this wolfSSL (a hand-made wolfSSL_d2i_SSL_SESSION
//   blob returned from the HAVE_EXT_CACHE get-session callback resumes fine for suites wolfSSL
//   knows, e.g. ECDHE-ECDSA-AES128-GCM-SHA256), but SSL_SESSION_set1_id and
//   wolfSSL_get_cipher_by_value are stubs returning 0 in this build and there is no
//   set1_master_key, and wolfSSL cannot be told to announce 0x009c while using another suite's
//   tables, because the Finished hash covers the ServerHello bytes.
//   Only the DTLS 1.2 AES-GCM suites are implemented; DTLS 0.9 (AES-CBC-SHA1, 0x0100 records) is
//   not (choose_dtls() in lib/proto never picks it unless asked to).
//
// Usage (single thread, the loop owning the UDP socket):
//   auto hs = DtlsHandshake::psk(server, psk);            // or ::resume(...)
//   hs->push_datagram(first_client_hello);
//   state = hs->step();  send every hs->outgoing() datagram, then clear it;
//   while kWantRead: feed further datagrams from that client + step(); if retransmit_timeout()
//   passes without one, call on_timeout() (and send outgoing()).
//   On kDone take keys(). Keep the object for a while (the client may retransmit its last flight
//   in PSK mode, which must be answered): pass it any datagram whose first record has content
//   type 20/21/22 (handshake, CCS, alert); data records (type 23) go to the record layer.
//   A new ClientHello after kDone is a new DTLS session (client reconnect): create a new object.
//   Do not advertise X-DTLS-Rekey-Method: ssl: this wolfSSL has no secure renegotiation.
//
// Failure modes worth knowing: in PSK mode a client with the wrong PSK is not reported at once
// (wolfSSL drops its undecryptable Finished as DTLS allows), so the attempt ends with kError
// after the retransmission schedule (1+2+4+8+16+32 s). In legacy mode a wrong master secret
// ends it at the client's Finished, and a ClientHello that does not resume our session id
// (a full handshake) gets a handshake_failure alert and kError at once.
//
// Verified against: wolfSSL 5.5.4 and GnuTLS 3.7.9 clients in memory (unit tests), gnutls-cli
// over UDP with openconnect's PSK priority, and an OpenSSL 3.0 client resuming with
// SSL_SESSION_set1_master_key (openconnect's OpenSSL backend / AnyConnect style).
// Record-layer note from that: OpenSSL clients send a random-start counter as the AES-GCM
// explicit nonce, not epoch|seq (GnuTLS and wolfSSL send epoch|seq); take it from the record.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ocm/base/result.hpp"
#include "ocm/config/config.hpp"
#include "ocm/proto/dtls_suites.hpp"

struct WOLFSSL_CTX;

namespace ocm::ctrl {

// The bulk cipher of the negotiated suite.
enum class DtlsBulk : uint8_t { kAes128Gcm, kAes256Gcm, kChaCha20Poly1305 };
const char* to_string(DtlsBulk bulk) noexcept;

// What the record layer needs. Zeroed on destruction (and copies zero themselves too).
struct DtlsKeys {
  DtlsBulk bulk = DtlsBulk::kAes128Gcm;
  uint16_t version = 0xfefd;  // record version to use/expect (DTLS 1.2)
  uint16_t epoch = 1;         // epoch of these keys
  uint8_t key_size = 0;       // 16 or 32
  uint8_t iv_size = 0;        // 4 (GCM salt; explicit nonce = epoch|seq) or 12 (ChaCha20, RFC 7905)
  std::array<uint8_t, 32> client_write_key{};
  std::array<uint8_t, 32> server_write_key{};
  std::array<uint8_t, 12> client_write_iv{};
  std::array<uint8_t, 12> server_write_iv{};
  // First sequence number (in `epoch`) the server's record layer may use. The handshake already
  // used the numbers below it for its Finished (and, in PSK mode, for answers to retransmitted
  // client flights, which this module caps below this value), so starting here never reuses a
  // nonce under the same key.
  uint64_t server_next_seq = 1;
  // (No client-side counterpart is needed: the client's Finished used low sequence numbers of
  // this epoch too, but as content type 22, which is authenticated, so a replay of it can never
  // pass the record layer's type-23 check.)
  std::string suite;  // e.g. "PSK-CHACHA20-POLY1305" or "AES128-GCM-SHA256", for logs

  DtlsKeys() = default;
  DtlsKeys(const DtlsKeys&) = default;
  DtlsKeys& operator=(const DtlsKeys&) = default;
  DtlsKeys(DtlsKeys&&) = default;
  DtlsKeys& operator=(DtlsKeys&&) = default;
  ~DtlsKeys();

  [[nodiscard]] std::span<const uint8_t> client_key() const noexcept { return {client_write_key.data(), key_size}; }
  [[nodiscard]] std::span<const uint8_t> server_key() const noexcept { return {server_write_key.data(), key_size}; }
  [[nodiscard]] std::span<const uint8_t> client_iv() const noexcept { return {client_write_iv.data(), iv_size}; }
  [[nodiscard]] std::span<const uint8_t> server_iv() const noexcept { return {server_write_iv.data(), iv_size}; }
};

// Server-wide wolfSSL DTLS 1.2 context for PSK mode. One per server; shared by the handshakes.
class DtlsServer {
 public:
  // With the server certificate/key (not used by PSK suites; loaded so that a future suite
  // needing it finds it, and to fail early on a bad config like the TLS context does).
  static Result<std::shared_ptr<DtlsServer>> create(const config::CryptoConfig& crypto);
  // Without certificate: enough for PSK-NEGOTIATE.
  static Result<std::shared_ptr<DtlsServer>> create();
  ~DtlsServer();
  DtlsServer(const DtlsServer&) = delete;
  DtlsServer& operator=(const DtlsServer&) = delete;

  [[nodiscard]] WOLFSSL_CTX* native() const noexcept { return ctx_; }

 private:
  explicit DtlsServer(WOLFSSL_CTX* ctx) : ctx_(ctx) {}
  WOLFSSL_CTX* ctx_;
};

inline constexpr size_t kDtlsPskSize = 32;
inline constexpr size_t kDtlsMasterSecretSize = 48;
inline constexpr size_t kDtlsSessionIdSize = 32;

class DtlsHandshake {
 public:
  enum class State : uint8_t {
    kWantRead,  // waiting for the peer (or for a retransmission timeout)
    kDone,      // keys() is valid
    kError,     // fatal; error() says why. Send outgoing() (maybe an alert) and drop the object.
  };

  // PSK-NEGOTIATE. `psk` = wolfSSL_export_keying_material(cstp, out, 32,
  // "EXPORTER-openconnect-psk", 24, nullptr, 0, 0) of the CSTP TLS session.
  static Result<std::unique_ptr<DtlsHandshake>> psk(std::shared_ptr<DtlsServer> server,
                                                    std::span<const uint8_t, kDtlsPskSize> psk);
  // Legacy resumption of (master_secret, session_id, suite); suite must be a DTLS 1.2 AES-GCM
  // one. Needs no DtlsServer: wolfSSL is not involved (see the header comment).
  static Result<std::unique_ptr<DtlsHandshake>> resume(std::span<const uint8_t, kDtlsMasterSecretSize> master_secret,
                                                       std::span<const uint8_t, kDtlsSessionIdSize> session_id,
                                                       proto::DtlsLegacySuite suite);

  virtual ~DtlsHandshake();
  DtlsHandshake(const DtlsHandshake&) = delete;
  DtlsHandshake& operator=(const DtlsHandshake&) = delete;

  // One UDP payload from the client (may hold several records). Copied; processed by step().
  void push_datagram(std::span<const uint8_t> datagram);
  // Processes the queued datagrams. Safe to call in any state, any number of times.
  State step();
  // The retransmission timer expired without a datagram from the client: resend our last
  // flight (or give up with kError after about a minute).
  State on_timeout();
  // How long to wait before on_timeout(), from the last flight we sent.
  [[nodiscard]] virtual std::chrono::milliseconds retransmit_timeout() const = 0;

  // Datagrams to send to the client, in order. The caller sends and clears them.
  std::vector<std::vector<uint8_t>>& outgoing() noexcept { return outgoing_; }

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  // Only after kDone.
  [[nodiscard]] Result<DtlsKeys> keys() const;

 protected:
  DtlsHandshake() = default;
  virtual void process() = 0;
  virtual void retransmit() = 0;
  State fail(std::string message);

  std::deque<std::vector<uint8_t>> incoming_;
  std::vector<std::vector<uint8_t>> outgoing_;
  State state_ = State::kWantRead;
  std::string error_;
  DtlsKeys keys_;
};

// A finished handshake is kept only for a client whose copy of our last flight was lost: it
// retransmits its own final flight on a doubling timer from 1 s (RFC 6347 §4.2.4) and needs
// ours again. 10 s covers its retransmissions at 1, 3 and 7 s.
inline constexpr std::chrono::seconds kDtlsHandshakeLinger{10};

// Whether a tunnel may drop its finished handshake (its wolfSSL object is already gone at kDone;
// what remains is our last flight, a copy of the keys and the object itself): the keys are in the
// data plane, and either a record under them came from the client (so it has our last flight)
// or kDtlsHandshakeLinger has passed.
bool dtls_handshake_disposable(DtlsHandshake::State state, bool keys_installed, bool client_record_seen,
                               std::chrono::steady_clock::duration since_done) noexcept;

}  // namespace ocm::ctrl
