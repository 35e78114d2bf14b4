#pragma once
// One synthetic openconnect client: TCP -> TLS -> XML auth -> CONNECT -> DTLS (PSK-NEGOTIATE)
// -> kept alive with DPD/keepalive on both channels, optionally pinging through the tunnel.
// Runs on the runner's libuv loop; any deviation from what openconnect accepts ends the session
// with a Failure cause.

#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "auth_dialog.hpp"
#include "failure.hpp"
#include "http_response.hpp"
#include "stats.hpp"
#include "tls_client.hpp"
#include "tunnel_params.hpp"

namespace ocm::loadgen {

class Runner;

class Session {
 public:
  enum class State : uint8_t { kIdle, kTcp, kTls, kAuth, kConnect, kDtls, kUp, kFailed, kClosed };

  Session(Runner& runner, uint32_t index);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Timers (runner tick): phase deadlines, DTLS retransmission, DPD and keepalive.
  void tick(uint64_t now_us);
  // One echo request through the tunnel (DTLS when up, else CSTP).
  void send_ping(uint64_t now_us);
  // End of run: BYE (user logout, as openconnect on SIGINT) and close.
  void finish();

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool handles_closed() const noexcept { return open_handles_ == 0; }
  [[nodiscard]] const TrafficSample& traffic() const noexcept { return traffic_; }
  [[nodiscard]] uint64_t first_ping_us() const noexcept { return first_ping_us_; }

 private:
  // libuv callbacks
  static void on_connect(uv_connect_t* req, int status);
  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_udp_read(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const struct sockaddr*, unsigned);
  static void on_close(uv_handle_t* h);
  static void dtls_send(void* owner, const uint8_t* data, size_t len);

  void fail(Failure f, const std::string& detail);
  void close_handles();
  void flush_tls();
  void on_tls_bytes();
  void on_plaintext(const uint8_t* data, size_t len);
  void on_http_response();
  void start_connect();
  void on_connect_reply();
  void start_dtls();
  void on_datagram(const uint8_t* data, size_t len);
  void on_cstp_record(const uint8_t* data, size_t len);
  void on_dtls_payload(const uint8_t* data, size_t len);
  void on_up(uint64_t now_us);
  void on_data(const uint8_t* packet, size_t len, uint64_t now_us);
  bool send_cstp(uint8_t type, const uint8_t* payload, size_t len);
  bool send_dtls(uint8_t type, const uint8_t* payload, size_t len);
  void send_request(const std::string& text);
  void enter(State s, uint64_t now_us);

  // Liveness bookkeeping of one channel (openconnect's keepalive_action).
  struct Channel {
    uint32_t dpd_s = 0;
    uint32_t keepalive_s = 0;
    uint64_t last_rx_us = 0;
    uint64_t last_tx_us = 0;
    uint64_t dpd_sent_us = 0;  // 0 = none outstanding
  };
  void keep_alive(Channel& c, bool cstp, uint64_t now_us);

  Runner& runner_;
  uint32_t index_;
  State state_ = State::kIdle;
  uv_tcp_t tcp_{};
  uv_udp_t udp_{};
  uv_connect_t connect_req_{};
  bool tcp_open_ = false;
  bool udp_open_ = false;
  int open_handles_ = 0;

  std::unique_ptr<TlsClient> tls_;
  std::unique_ptr<DtlsClient> dtls_;
  std::optional<HttpResponseParser> http_;
  CookieJar cookies_;
  std::optional<AuthDocument> last_form_;
  bool password_sent_ = false;
  int auth_steps_ = 0;
  std::string cookie_;
  TunnelParams params_;

  uint64_t t_start_ = 0;
  uint64_t t_phase_ = 0;  // start of the current phase
  Channel cstp_;
  Channel dtls_chan_;
  uint64_t dtls_flight_us_ = 0;

  TrafficSample traffic_;
  uint64_t first_ping_us_ = 0;
  uint16_t ping_seq_ = 0;
  std::array<uint64_t, 256> ping_sent_us_{};
};

}  // namespace ocm::loadgen
