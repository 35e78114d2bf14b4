#pragma once
// The run: one libuv loop, N sessions started under a rate limit and a concurrency cap, a tick
// for every session's timers, a traffic pacer, a once-a-second progress line and timeline
// sample, and the report at the end.

#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "options.hpp"
#include "session.hpp"
#include "stats.hpp"
#include "tls_client.hpp"

namespace ocm::loadgen {

class Runner {
 public:
  Runner(Options opt, std::shared_ptr<TlsContext> tls, std::shared_ptr<DtlsContext> dtls);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs to the end; returns the process exit status (0: every session established, stayed up
  // to the end and nothing failed).
  int run();

  // For sessions.
  [[nodiscard]] uv_loop_t* loop() noexcept { return &loop_; }
  [[nodiscard]] const Options& opt() const noexcept { return opt_; }
  [[nodiscard]] const std::shared_ptr<TlsContext>& tls() const noexcept { return tls_; }
  [[nodiscard]] const std::shared_ptr<DtlsContext>& dtls() const noexcept { return dtls_; }
  [[nodiscard]] Stats& stats() noexcept { return stats_; }
  [[nodiscard]] const std::string& host_header() const noexcept { return host_header_; }
  [[nodiscard]] const std::pair<std::string, std::string>& user_for(uint32_t index) const {
    return opt_.users[index % opt_.users.size()];
  }
  [[nodiscard]] uint64_t now_us() const;
  [[nodiscard]] uint32_t traffic_target(const TunnelParams& p) const noexcept;
  std::span<uint8_t> read_buffer() noexcept { return read_buf_; }
  uint8_t* record_buffer() noexcept { return record_buf_.data(); }
  uint8_t* send_buffer() noexcept { return send_buf_.data(); }
  void note_tls_version(const std::string& v, const std::string& group);
  void note_dtls_cipher(const std::string& c);
  void on_established(Session& s);
  void on_failed(Session& s, Session::State was, Failure f, const std::string& detail);
  void count_udp_send_drop() noexcept { ++udp_send_drops_; }
  void count_foreign_packet() noexcept { ++foreign_packets_; }

 private:
  static void on_start_timer(uv_timer_t* t);
  static void on_tick(uv_timer_t* t);
  static void on_traffic(uv_timer_t* t);
  static void on_signal(uv_signal_t* s, int);
  void start_more();
  void progress(uint64_t now);
  void finish();

  Options opt_;
  std::shared_ptr<TlsContext> tls_;
  std::shared_ptr<DtlsContext> dtls_;
  uv_loop_t loop_{};
  uv_timer_t start_timer_{};
  uv_timer_t tick_timer_{};
  uv_timer_t traffic_timer_{};
  uv_signal_t sigint_{};
  uv_signal_t sigterm_{};
  Stats stats_;
  std::string host_header_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<uint8_t> read_buf_ = std::vector<uint8_t>(65536);
  std::array<uint8_t, 16384 + 64> record_buf_{};
  std::array<uint8_t, 16384 + 64> send_buf_{};
  uint64_t t0_us_ = 0;
  uint32_t started_ = 0;
  uint32_t in_flight_ = 0;
  uint32_t established_ = 0;
  uint32_t established_peak_ = 0;
  uint32_t failed_ = 0;
  uint64_t first_start_us_ = 0;
  uint64_t last_established_us_ = 0;
  uint64_t hold_until_us_ = 0;  // set once every session has started and settled
  uint64_t next_progress_us_ = 0;
  double start_credit_ = 0;
  double traffic_credit_ = 0;
  uint64_t last_start_us_ = 0;
  uint64_t last_traffic_us_ = 0;
  uint64_t udp_send_drops_ = 0;
  uint64_t foreign_packets_ = 0;
  std::array<uint32_t, static_cast<size_t>(Failure::kCount)> logged_{};
  std::string tls_version_;
  std::string tls_group_;
  std::string dtls_cipher_;
  bool finishing_ = false;
  bool interrupted_ = false;
};

}  // namespace ocm::loadgen
