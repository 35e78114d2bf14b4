#pragma once
// Writer for the Prometheus text exposition format (version 0.0.4): one HELP and one TYPE line
// per family, then its samples. Label values are escaped (\\, \", \n) as the format requires,
// because per-user series carry user names that come from clients.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocm::ctrl {

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsWriter {
 public:
  // Starts a family; `type` is "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, double value, const Labels& labels = {});
  void sample(std::string_view name, uint64_t value, const Labels& labels = {});

  // Convenience: a family with one unlabelled sample.
  void counter(std::string_view name, std::string_view help, uint64_t value);
  void gauge(std::string_view name, std::string_view help, uint64_t value);
  // `buckets` are per-bucket (non-cumulative) counts for `bounds`; `count` includes +Inf.
  void histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                 std::span<const uint64_t> buckets, uint64_t count, double sum);

  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  void labels(const Labels& labels);
  std::string out_;
};

// Prometheus' float formatting: shortest round-trip text, "+Inf" for infinity.
std::string format_metric_value(double value);

}  // namespace ocm::ctrl
