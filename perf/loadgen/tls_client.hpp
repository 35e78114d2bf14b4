#pragma once
// wolfSSL client objects behind memory I/O, as the server does it (lib/ctrl/src/tls.cpp):
// libuv owns the sockets, wolfSSL only sees bytes we hand it.
//
// TlsClient: the CSTP connection (TLS 1.2/1.3, whatever the server allows).
// DtlsClient: the PSK-NEGOTIATE data channel (DTLS 1.2, PSK identity "psk", key = the TLS
// exporter "EXPORTER-openconnect-psk"). openconnect puts X-DTLS-App-ID into the ClientHello's
// session_id and the server routes the ClientHello by it. wolfSSL has no call to set a client
// session id (wolfSSL_SESSION_set1_id is a stub in Debian's build), so DtlsContext makes one
// real PSK session in memory at start-up, serialises it (i2d) and, per connection, swaps the
// App-ID in for its id and hands it to wolfSSL_set_session: wolfSSL then offers that id, the
// server does not know it and runs a full PSK handshake, exactly what openconnect gets.

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ocm/base/result.hpp"

struct WOLFSSL_CTX;
struct WOLFSSL;

namespace ocm::loadgen {

enum class IoStatus { kOk, kWantRead, kClosed, kError };

class TlsContext {
 public:
  // `pin_sha256`: optional SHA-256 of the server's SubjectPublicKeyInfo (openconnect
  // --servercert pin-sha256:...); empty = accept any certificate.
  static Result<std::shared_ptr<TlsContext>> create(std::vector<uint8_t> pin_sha256);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  [[nodiscard]] WOLFSSL_CTX* native() const noexcept { return ctx_; }
  [[nodiscard]] const std::vector<uint8_t>& pin() const noexcept { return pin_; }

 private:
  TlsContext(WOLFSSL_CTX* ctx, std::vector<uint8_t> pin) : ctx_(ctx), pin_(std::move(pin)) {}
  WOLFSSL_CTX* ctx_;
  std::vector<uint8_t> pin_;
};

class TlsClient {
 public:
  explicit TlsClient(std::shared_ptr<TlsContext> ctx);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  void push_input(const uint8_t* data, size_t len);
  std::vector<uint8_t>& output() noexcept { return output_; }
  IoStatus handshake();
  // False if a pin is configured and the server's key does not match it.
  [[nodiscard]] bool pin_matches() const;
  // Plaintext of at most one TLS record.
  IoStatus read(uint8_t* buf, size_t cap, size_t& out_len);
  // One TLS record.
  IoStatus write(const uint8_t* data, size_t len);
  bool export_psk(std::span<uint8_t, 32> out) const;
  [[nodiscard]] const std::string& last_error() const noexcept { return last_error_; }
  [[nodiscard]] std::string version() const;
  // Key exchange group the server chose (e.g. "X25519").
  [[nodiscard]] std::string group() const;

 private:
  friend int tls_client_recv(WOLFSSL*, char*, int, void*);
  friend int tls_client_send(WOLFSSL*, char*, int, void*);
  IoStatus map_error(int ret);

  std::shared_ptr<TlsContext> ctx_;
  WOLFSSL* ssl_ = nullptr;
  std::vector<uint8_t> input_;
  size_t input_pos_ = 0;
  std::vector<uint8_t> output_;
  std::string last_error_;
};

class DtlsContext {
 public:
  static Result<std::shared_ptr<DtlsContext>> create();
  ~DtlsContext();
  DtlsContext(const DtlsContext&) = delete;
  DtlsContext& operator=(const DtlsContext&) = delete;
  [[nodiscard]] WOLFSSL_CTX* native() const noexcept { return ctx_; }
  // The serialised template session with `id` in place of its own session id.
  [[nodiscard]] std::vector<uint8_t> session_blob(std::span<const uint8_t, 32> id) const;

 private:
  explicit DtlsContext(WOLFSSL_CTX* ctx) : ctx_(ctx) {}
  WOLFSSL_CTX* ctx_;
  std::vector<uint8_t> blob_;
  size_t id_offset_ = 0;
};

class DtlsClient {
 public:
  using SendFn = void (*)(void* owner, const uint8_t* data, size_t len);
  static Result<std::unique_ptr<DtlsClient>> create(const std::shared_ptr<DtlsContext>& ctx,
                                                    std::span<const uint8_t, 32> app_id,
                                                    std::span<const uint8_t, 32> psk, SendFn send, void* owner);
  ~DtlsClient();
  DtlsClient(const DtlsClient&) = delete;
  DtlsClient& operator=(const DtlsClient&) = delete;

  void push_datagram(const uint8_t* data, size_t len);
  IoStatus handshake();
  // wolfSSL's retransmission timer for the current flight, in seconds.
  [[nodiscard]] int timeout_seconds() const;
  // The timer expired: retransmit (false when wolfSSL gives up).
  bool on_timeout();
  // Plaintext of one record; kWantRead when no complete record is queued.
  IoStatus read(uint8_t* buf, size_t cap, size_t& out_len);
  IoStatus write(const uint8_t* data, size_t len);
  [[nodiscard]] const std::string& last_error() const noexcept { return last_error_; }
  [[nodiscard]] std::string cipher() const;

 private:
  DtlsClient(std::shared_ptr<DtlsContext> ctx, std::span<const uint8_t, 32> psk, SendFn send, void* owner);
  friend int dtls_client_recv(WOLFSSL*, char*, int, void*);
  friend int dtls_client_send(WOLFSSL*, char*, int, void*);
  friend unsigned int dtls_client_psk(WOLFSSL*, const char*, char*, unsigned int, unsigned char*, unsigned int);
  IoStatus map_error(int ret);

  std::shared_ptr<DtlsContext> ctx_;
  WOLFSSL* ssl_ = nullptr;
  std::array<uint8_t, 32> psk_{};
  SendFn send_;
  void* owner_;
  std::deque<std::vector<uint8_t>> incoming_;
  std::string last_error_;
};

}  // namespace ocm::loadgen
