#include "metrics_format.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ocm::ctrl {

std::string format_metric_value(double value) {
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  if (std::isnan(value)) {
    return "NaN";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  // Prefer the short form when it round-trips (0.1, not 0.10000000000000001).
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, value);
    if (std::strtod(shorter, nullptr) == value) {
      return shorter;
    }
  }
  return buf;
}

void MetricsWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  // HELP text escapes only backslash and newline.
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsWriter::labels(const Labels& labels) {
  if (labels.empty()) {
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) {
      out_ += ',';
    }
    first = false;
    out_ += key;
    out_ += "=\"";
    for (char c : value) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '"') {
        out_ += "\\\"";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }
  out_ += '}';
}

void MetricsWriter::sample(std::string_view name, double value, const Labels& l) {
  out_ += name;
  labels(l);
  out_ += ' ';
  out_ += format_metric_value(value);
  out_ += '\n';
}

void MetricsWriter::sample(std::string_view name, uint64_t value, const Labels& l) {
  out_ += name;
  labels(l);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void MetricsWriter::counter(std::string_view name, std::string_view help, uint64_t value) {
  family(name, "counter", help);
  sample(name, value);
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, uint64_t value) {
  family(name, "gauge", help);
  sample(name, value);
}

void MetricsWriter::histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                              std::span<const uint64_t> buckets, uint64_t count, double sum) {
  family(name, "histogram", help);
  std::string bucket_name = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size() && i < buckets.size(); ++i) {
    cumulative += buckets[i];
    sample(bucket_name, cumulative, {{"le", format_metric_value(bounds[i])}});
  }
  sample(bucket_name, count, {{"le", "+Inf"}});
  sample(std::string(name) + "_sum", sum);
  sample(std::string(name) + "_count", count);
}

}  // namespace ocm::ctrl
