#include "metrics_format.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "handshake_histogram.hpp"

namespace ocm::ctrl {
namespace {

// A strict reader for the text exposition format: every sample belongs to the family announced
// by the last TYPE line, names and label syntax are checked. Returns sample text -> value.
struct Exposition {
  std::map<std::string, std::string> types;
  std::map<std::string, double> samples;
  std::string error;
};

Exposition parse_exposition(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  std::string family;
  auto valid_name = [](std::string_view n) {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) {
      return false;
    }
    for (char c : n) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') {
        return false;
      }
    }
    return true;
  };
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ")) {
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      std::istringstream t(line.substr(7));
      std::string type;
      t >> family >> type;
      if (!valid_name(family) || e.types.count(family) != 0) {
        e.error = "bad or repeated family: " + line;
        return e;
      }
      e.types[family] = type;
      continue;
    }
    auto name_end = line.find_first_of("{ ");
    std::string name = line.substr(0, name_end);
    bool belongs = name == family || (e.types[family] == "histogram" &&
                                      (name == family + "_bucket" || name == family + "_sum" ||
                                       name == family + "_count"));
    if (!valid_name(name) || !belongs) {
      e.error = "sample outside its family: " + line;
      return e;
    }
    size_t value_at = name_end;
    if (line[name_end] == '{') {
      // label="value" pairs with escapes
      size_t i = name_end + 1;
      while (line[i] != '}') {
        auto eq = line.find("=\"", i);
        if (eq == std::string::npos || !valid_name(line.substr(i, eq - i))) {
          e.error = "bad label: " + line;
          return e;
        }
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          i += line[i] == '\\' ? 2 : 1;
        }
        if (i >= line.size()) {
          e.error = "unterminated label: " + line;
          return e;
        }
        ++i;
        if (line[i] == ',') {
          ++i;
        }
      }
      value_at = i + 1;
    }
    if (line[value_at] != ' ') {
      e.error = "no value: " + line;
      return e;
    }
    std::string value = line.substr(value_at + 1);
    char* end = nullptr;
    double v = value == "+Inf" ? INFINITY : std::strtod(value.c_str(), &end);
    if (value != "+Inf" && (end == value.c_str() || *end != '\0')) {
      e.error = "bad value: " + line;
      return e;
    }
    e.samples[line.substr(0, value_at)] = v;
  }
  return e;
}

TEST(MetricsFormat, CountersGaugesAndLabels) {
  MetricsWriter m;
  m.counter("x_total", "An x.\nSecond line \\ slash", 5);
  m.gauge("y", "A y.", 2);
  m.family("drops_total", "counter", "Drops.");
  m.sample("drops_total", uint64_t{1}, {{"reason", "a\"b\\c\nd"}});
  m.sample("drops_total", uint64_t{2}, {{"reason", "replay"}, {"port", "udp"}});
  std::string text = m.take();
  EXPECT_NE(text.find("# HELP x_total An x.\\nSecond line \\\\ slash\n# TYPE x_total counter\nx_total 5\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(drops_total{reason="a\"b\\c\nd"} 1)"), std::string::npos) << text;
  auto e = parse_exposition(text);
  ASSERT_TRUE(e.error.empty()) << e.error;
  EXPECT_EQ(e.types["y"], "gauge");
  EXPECT_EQ(e.samples[R"(drops_total{reason="replay",port="udp"})"], 2);
}

TEST(MetricsFormat, HistogramIsCumulative) {
  HandshakeHistogram h;
  h.observe(std::chrono::microseconds(500));
  h.observe(std::chrono::milliseconds(3));
  h.observe(std::chrono::milliseconds(3));
  h.observe(std::chrono::seconds(30));
  MetricsWriter m;
  m.histogram("hs_seconds", "Handshakes.", HandshakeHistogram::kBounds, h.buckets, h.count, h.sum_seconds);
  auto e = parse_exposition(m.take());
  ASSERT_TRUE(e.error.empty()) << e.error;
  EXPECT_EQ(e.samples[R"(hs_seconds_bucket{le="0.001"})"], 1);
  EXPECT_EQ(e.samples[R"(hs_seconds_bucket{le="0.005"})"], 3);
  EXPECT_EQ(e.samples[R"(hs_seconds_bucket{le="5"})"], 3);
  EXPECT_EQ(e.samples[R"(hs_seconds_bucket{le="+Inf"})"], 4);
  EXPECT_EQ(e.samples["hs_seconds_count"], 4);
  EXPECT_NEAR(e.samples["hs_seconds_sum"], 30.0065, 1e-9);
}

TEST(MetricsFormat, ValueFormatting) {
  EXPECT_EQ(format_metric_value(0.1), "0.1");
  EXPECT_EQ(format_metric_value(0.0025), "0.0025");
  EXPECT_EQ(format_metric_value(5.0), "5");
  EXPECT_EQ(format_metric_value(INFINITY), "+Inf");
}

}  // namespace
}  // namespace ocm::ctrl
