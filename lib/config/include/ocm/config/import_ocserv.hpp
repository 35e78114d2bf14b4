#pragma once
// `ocserv-modern import-ocserv`: converts an ocserv.conf into our TOML config. Every ocserv key
// either becomes a TOML key or is kept as a `# unsupported: key = value` comment: nothing is
// dropped silently. Pure text in, text out; the caller reads the file and prints.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ocm::config {

struct ImportResult {
  std::string toml;                      // a config our parser accepts (check it with parse())
  std::vector<std::string> unsupported;  // "line N: key = value (why)", also commented in toml
  std::vector<std::string> notes;        // conversions the operator should know about
  uint32_t converted = 0;                // ocserv lines that became TOML keys
};

// `ocserv_conf` is the file's text (ocserv syntax: `key = value` lines, `#` comments, repeated
// keys such as route and dns). `source_name` is named in the header comment of the output.
ImportResult import_ocserv(std::string_view ocserv_conf, std::string_view source_name = "ocserv.conf");

}  // namespace ocm::config
