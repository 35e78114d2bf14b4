#pragma once
// What the run measured, and its JSON report (integers only: microseconds, bytes, counts, and
// rates in milli-units, because ocm::json::Writer writes no floating point).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "failure.hpp"

namespace ocm::loadgen {

enum class Phase : uint8_t { kTcp, kTls, kAuth, kConnect, kDtls, kTotal, kCount };
const char* to_string(Phase p) noexcept;

struct TimelinePoint {
  uint64_t t_ms;
  uint32_t established;
  uint32_t failed;
  uint32_t started;
};

struct TrafficSample {
  uint64_t tx_packets = 0;
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t active_us = 0;  // from first send to the end of the run
  std::vector<uint32_t> rtt_us;
};

class Stats {
 public:
  void latency(Phase p, uint64_t us) { latency_[static_cast<size_t>(p)].push_back(us); }
  void failure(Failure f) { ++failures_[static_cast<size_t>(f)]; }
  void sample(const TimelinePoint& p) { timeline_.push_back(p); }
  void dpd(bool cstp, bool answered) { ++(cstp ? (answered ? cstp_dpd_ok_ : cstp_dpd_sent_) : (answered ? dtls_dpd_ok_ : dtls_dpd_sent_)); }
  void server_dpd(bool cstp) { ++(cstp ? cstp_server_dpd_ : dtls_server_dpd_); }
  void keepalive(bool cstp) { ++(cstp ? cstp_keepalive_ : dtls_keepalive_); }
  void traffic(TrafficSample s) { traffic_.push_back(std::move(s)); }
  [[nodiscard]] uint64_t failures_total() const;

  struct Summary {
    uint32_t sessions = 0;
    uint32_t established_peak = 0;
    uint32_t established_end = 0;
    uint64_t ramp_us = 0;  // first attempt to last establishment
    std::string tls_version;
    std::string tls_group;  // key exchange group of the first session
    std::string dtls_cipher;
  };
  [[nodiscard]] std::string json(const Summary& s) const;
  [[nodiscard]] std::string text(const Summary& s) const;

 private:
  std::array<std::vector<uint64_t>, static_cast<size_t>(Phase::kCount)> latency_;
  std::array<uint64_t, static_cast<size_t>(Failure::kCount)> failures_{};
  std::vector<TimelinePoint> timeline_;
  std::vector<TrafficSample> traffic_;
  uint64_t cstp_dpd_sent_ = 0, cstp_dpd_ok_ = 0, dtls_dpd_sent_ = 0, dtls_dpd_ok_ = 0;
  uint64_t cstp_server_dpd_ = 0, dtls_server_dpd_ = 0, cstp_keepalive_ = 0, dtls_keepalive_ = 0;
};

// Nearest-rank percentile of unsorted samples (0 when empty).
uint64_t percentile(std::vector<uint64_t> samples, double p);

}  // namespace ocm::loadgen
