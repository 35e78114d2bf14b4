#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "ocm/base/json.hpp"

namespace ocm::loadgen {

const char* to_string(Phase p) noexcept {
  switch (p) {
    case Phase::kTcp: return "tcp";
    case Phase::kTls: return "tls";
    case Phase::kAuth: return "auth";
    case Phase::kConnect: return "connect";
    case Phase::kDtls: return "dtls";
    case Phase::kTotal: return "total";
    case Phase::kCount: break;
  }
  return "?";
}

uint64_t percentile(std::vector<uint64_t> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

uint64_t Stats::failures_total() const { return std::accumulate(failures_.begin(), failures_.end(), uint64_t{0}); }

std::string Stats::json(const Summary& s) const {
  json::Writer w;
  w.begin_object();
  w.field("sessions", s.sessions);
  w.field("established_peak", s.established_peak);
  w.field("established_end", s.established_end);
  w.field("failed", failures_total());
  w.field("ramp_us", s.ramp_us);
  uint64_t rate_milli = s.ramp_us > 0 ? s.established_peak * 1000000000ULL / s.ramp_us : 0;
  w.field("connect_rate_milli_per_s", rate_milli);
  w.field("tls_version", s.tls_version);
  w.field("tls_group", s.tls_group);
  w.field("dtls_cipher", s.dtls_cipher);
  w.key("latency_us").begin_object();
  for (size_t i = 0; i < latency_.size(); ++i) {
    w.key(to_string(static_cast<Phase>(i))).begin_object();
    w.field("count", static_cast<uint64_t>(latency_[i].size()));
    w.field("p50", percentile(latency_[i], 50));
    w.field("p90", percentile(latency_[i], 90));
    w.field("p99", percentile(latency_[i], 99));
    w.field("max", percentile(latency_[i], 100));
    w.end_object();
  }
  w.end_object();
  w.key("failures").begin_object();
  for (size_t i = 0; i < failures_.size(); ++i) {
    if (failures_[i] > 0) {
      w.field(to_string(static_cast<Failure>(i)), failures_[i]);
    }
  }
  w.end_object();
  w.key("keepalive").begin_object();
  w.field("cstp_dpd_sent", cstp_dpd_sent_).field("cstp_dpd_answered", cstp_dpd_ok_);
  w.field("dtls_dpd_sent", dtls_dpd_sent_).field("dtls_dpd_answered", dtls_dpd_ok_);
  w.field("cstp_server_dpd_answered", cstp_server_dpd_).field("dtls_server_dpd_answered", dtls_server_dpd_);
  w.field("cstp_keepalive_sent", cstp_keepalive_).field("dtls_keepalive_sent", dtls_keepalive_);
  w.end_object();
  w.key("traffic").begin_array();
  for (const auto& t : traffic_) {
    w.begin_object();
    w.field("tx_packets", t.tx_packets).field("rx_packets", t.rx_packets).field("rx_bytes", t.rx_bytes);
    w.field("rx_bits_per_s", t.active_us > 0 ? t.rx_bytes * 8 * 1000000 / t.active_us : 0);
    std::vector<uint64_t> rtt(t.rtt_us.begin(), t.rtt_us.end());
    w.field("rtt_p50_us", percentile(rtt, 50)).field("rtt_p99_us", percentile(rtt, 99));
    w.end_object();
  }
  w.end_array();
  w.key("timeline").begin_array();
  for (const auto& p : timeline_) {
    w.begin_object().field("t_ms", p.t_ms).field("started", p.started).field("established", p.established);
    w.field("failed", p.failed).end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

std::string Stats::text(const Summary& s) const {
  std::string out;
  char line[256];
  double rate = s.ramp_us > 0 ? s.established_peak * 1e6 / static_cast<double>(s.ramp_us) : 0;
  std::snprintf(line, sizeof line, "sessions %u, established peak %u, at end %u, failed %llu; %.1f sessions/s over %.2f s\n",
                s.sessions, s.established_peak, s.established_end, static_cast<unsigned long long>(failures_total()),
                rate, static_cast<double>(s.ramp_us) / 1e6);
  out += line;
  std::snprintf(line, sizeof line, "tls %s (%s), dtls %s\n", s.tls_version.c_str(), s.tls_group.c_str(),
                s.dtls_cipher.c_str());
  out += line;
  for (size_t i = 0; i < latency_.size(); ++i) {
    std::snprintf(line, sizeof line, "  %-8s n=%-6zu p50 %8.2f ms  p90 %8.2f ms  p99 %8.2f ms  max %8.2f ms\n",
                  to_string(static_cast<Phase>(i)), latency_[i].size(), percentile(latency_[i], 50) / 1e3,
                  percentile(latency_[i], 90) / 1e3, percentile(latency_[i], 99) / 1e3,
                  percentile(latency_[i], 100) / 1e3);
    out += line;
  }
  for (size_t i = 0; i < failures_.size(); ++i) {
    if (failures_[i] > 0) {
      std::snprintf(line, sizeof line, "  failure %-18s %llu\n", to_string(static_cast<Failure>(i)),
                    static_cast<unsigned long long>(failures_[i]));
      out += line;
    }
  }
  std::snprintf(line, sizeof line,
                "  dpd cstp %llu/%llu dtls %llu/%llu answered; server dpd answered cstp %llu dtls %llu; keepalives cstp %llu dtls %llu\n",
                static_cast<unsigned long long>(cstp_dpd_ok_), static_cast<unsigned long long>(cstp_dpd_sent_),
                static_cast<unsigned long long>(dtls_dpd_ok_), static_cast<unsigned long long>(dtls_dpd_sent_),
                static_cast<unsigned long long>(cstp_server_dpd_), static_cast<unsigned long long>(dtls_server_dpd_),
                static_cast<unsigned long long>(cstp_keepalive_), static_cast<unsigned long long>(dtls_keepalive_));
  out += line;
  for (const auto& t : traffic_) {
    std::vector<uint64_t> rtt(t.rtt_us.begin(), t.rtt_us.end());
    std::snprintf(line, sizeof line, "  traffic: tx %llu rx %llu pkts, %.1f kbit/s, rtt p50 %.2f ms p99 %.2f ms\n",
                  static_cast<unsigned long long>(t.tx_packets), static_cast<unsigned long long>(t.rx_packets),
                  t.active_us > 0 ? static_cast<double>(t.rx_bytes) * 8e3 / static_cast<double>(t.active_us) : 0.0,
                  percentile(rtt, 50) / 1e3, percentile(rtt, 99) / 1e3);
    out += line;
  }
  return out;
}

}  // namespace ocm::loadgen
