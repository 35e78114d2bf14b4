#pragma once
// A tiny streaming JSON writer for operator output (ocmctl --json, events). It always produces
// valid JSON: strings are escaped and invalid UTF-8 is replaced by U+FFFD, because user names
// and User-Agent strings come from clients (occtl's JSON broke on such input, landscape.md §1.11).
// Misuse (a value where a key is expected) is a programming error caught by assert.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ocm::json {

// Appends `text` as a JSON string literal (with the quotes) to `out`.
void append_string(std::string& out, std::string_view text);

class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view name);
  Writer& value(std::string_view text);
  Writer& value(const char* text) { return value(std::string_view(text)); }
  Writer& value(const std::string& text) { return value(std::string_view(text)); }
  Writer& value(uint64_t number);
  Writer& value(int64_t number);
  Writer& value(uint32_t number) { return value(static_cast<uint64_t>(number)); }
  Writer& value(int number) { return value(static_cast<int64_t>(number)); }
  Writer& value(bool flag);
  Writer& null();

  // key + value in one call.
  template <typename T>
  Writer& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  [[nodiscard]] const std::string& str() const { return out_; }
  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace ocm::json
