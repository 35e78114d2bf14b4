#pragma once
// wolfSSL behind memory I/O: libuv owns the sockets, wolfSSL only sees bytes we hand it
// (feasibility.md §6). One TlsContext per server; one TlsSession per TCP connection.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/result.hpp"
#include "ocm/config/config.hpp"

struct WOLFSSL_CTX;
struct WOLFSSL;

namespace ocm::ctrl {

class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> create(const config::CryptoConfig& crypto);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  [[nodiscard]] WOLFSSL_CTX* native() const noexcept { return ctx_; }

 private:
  explicit TlsContext(WOLFSSL_CTX* ctx) : ctx_(ctx) {}
  WOLFSSL_CTX* ctx_;
};

class TlsSession {
 public:
  enum class Status {
    kOk,          // progress made (handshake done / data returned / written)
    kWantRead,    // needs more ciphertext from the peer
    kClosed,      // peer sent close_notify
    kError,       // fatal: alert sent (if any) is in the output buffer; close the connection
  };

  explicit TlsSession(std::shared_ptr<TlsContext> ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext received from TCP.
  void push_input(const uint8_t* data, size_t len);
  // Ciphertext wolfSSL produced; the caller sends it and clears the buffer.
  std::vector<uint8_t>& output() noexcept { return output_; }

  Status handshake();
  [[nodiscard]] bool handshake_done() const noexcept { return handshake_done_; }
  // Reads the plaintext of (at most) one TLS record into `buf`; `out_len` is set on kOk.
  Status read(uint8_t* buf, size_t cap, size_t& out_len);
  // Writes `len` bytes as one TLS record (len <= 16384).
  Status write(const uint8_t* data, size_t len);
  void shutdown();

  [[nodiscard]] std::string last_error() const { return last_error_; }
  // RFC 5705/8446 exporter on this session (openconnect's DTLS PSK: label
  // "EXPORTER-openconnect-psk", no context, 32 bytes). False before the handshake completes
  // and after release_handshake_state().
  bool export_keying_material(std::string_view label, std::span<uint8_t> out) const;
  // The tunnel is up and the exporter was its last use of the handshake's secrets: frees
  // wolfSSL's handshake arrays (randoms, secrets, the pre-master buffer; 5.5 KB that wolfSSL
  // keeps for the exporter). TLS 1.3 only: a 1.2 connection keeps them for whatever a
  // renegotiation attempt might need. Records, KeyUpdate and close_notify keep working.
  void release_handshake_state();

  // The wolfSSL object, for reading the verified client certificate (client_cert.hpp).
  [[nodiscard]] WOLFSSL* native() const noexcept { return ssl_; }
  [[nodiscard]] std::string version() const;
  [[nodiscard]] std::string cipher() const;
  // Bytes of wolfSSL's session object given back to the kernel after the handshake (tests).
  [[nodiscard]] size_t released_bytes() const noexcept { return released_bytes_; }
  // Ciphertext buffer capacity kept between reads; more is freed once the buffer drains.
  static constexpr size_t kKeptInputCapacity = 4096;
  [[nodiscard]] size_t input_capacity() const noexcept { return input_.capacity(); }

 private:
  friend int tls_recv_cb(WOLFSSL*, char*, int, void*);
  friend int tls_send_cb(WOLFSSL*, char*, int, void*);
  Status map_error(int ret);

  std::shared_ptr<TlsContext> ctx_;
  WOLFSSL* ssl_ = nullptr;
  std::vector<uint8_t> input_;
  size_t input_pos_ = 0;
  std::vector<uint8_t> output_;
  bool handshake_done_ = false;
  bool arrays_released_ = false;
  size_t released_bytes_ = 0;
  std::string last_error_;
};

}  // namespace ocm::ctrl
