// config::parse (TOML -> validated Config) and import_ocserv (ocserv.conf -> TOML). Both read
// files an operator may have copied from elsewhere; a crash or hang here takes down start-up or
// a SIGHUP reload. The first input byte picks the entry point.
// Invariants:
//  - parse returns a config exactly when it reports no error, and is deterministic;
//  - every error names a line inside the text (or 0) and formats to a non-empty message;
//  - whatever import_ocserv emits is valid TOML (no syntax error from our own parser), so an
//    escaping mistake cannot turn an imported value into extra keys.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "ocm/config/config.hpp"
#include "ocm/config/import_ocserv.hpp"

namespace {

void check_parse(std::string_view text) {
  auto result = ocm::config::parse(text, "fuzz.toml");
  FUZZ_CHECK((result.config != nullptr) == result.errors.empty());
  const auto lines = static_cast<uint32_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const auto& e : result.errors) {
    FUZZ_CHECK(e.line <= lines);
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(!ocm::config::format_error("fuzz.toml", e).empty());
  }
  auto again = ocm::config::parse(text, "fuzz.toml");
  FUZZ_CHECK(again.errors.size() == result.errors.size());
  for (size_t i = 0; i < again.errors.size(); ++i) {
    FUZZ_CHECK(again.errors[i].key == result.errors[i].key && again.errors[i].line == result.errors[i].line &&
               again.errors[i].message == result.errors[i].message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    check_parse(text);
    return 0;
  }
  auto imported = ocm::config::import_ocserv(text, "ocserv.conf");
  auto result = ocm::config::parse(imported.toml, "imported.toml");
  for (const auto& e : result.errors) {
    // An empty key is how parse reports a TOML syntax error.
    if (e.key.empty()) {
      std::fprintf(stderr, "import_ocserv produced invalid TOML: line %u: %s\n", e.line, e.message.c_str());
    }
    FUZZ_CHECK(!e.key.empty());
  }
  return 0;
}
