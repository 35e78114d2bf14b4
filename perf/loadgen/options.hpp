#pragma once
// Command line of ocm-loadgen.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ocm/base/result.hpp"

namespace ocm::loadgen {

struct Options {
  uint32_t host = 0;  // server address, host order
  uint16_t port = 443;
  std::vector<std::pair<std::string, std::string>> users;  // round-robin over sessions
  uint32_t sessions = 1;
  double rate = 0;            // new sessions per second; 0 = as fast as `concurrency` allows
  uint32_t concurrency = 256; // sessions between TCP connect and established
  bool dtls = true;
  uint32_t traffic_sessions = 0;
  double traffic_pps = 10;    // per traffic session
  uint32_t traffic_size = 100; // IP packet size
  uint32_t traffic_target = 0; // 0 = the server's tunnel address (first host of the pool)
  double duration = 10;       // seconds to hold the sessions after the last one started
  double phase_timeout = 30;  // per handshake phase
  std::vector<uint32_t> sources;  // local addresses to bind, round-robin; empty = kernel's choice
  std::vector<uint8_t> pin;   // SHA-256 of the server's SPKI
  std::string json_path;      // "-" = stdout
  uint64_t nofile = 0;        // RLIMIT_NOFILE to set (0 = sessions * 2 + 256)
  bool quiet = false;
};

Result<Options> parse_options(int argc, char** argv);
const char* usage();

}  // namespace ocm::loadgen
