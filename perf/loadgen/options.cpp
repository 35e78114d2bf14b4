#include "options.hpp"

#include <charconv>
#include <cstring>
#include <fstream>
#include <string_view>

#include "ocm/base/bytes.hpp"
#include "ocm/base/ipv4.hpp"

namespace ocm::loadgen {
namespace {

template <typename T>
Result<T> number(std::string_view name, std::string_view text) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return make_error(std::string(name) + ": not a number: " + std::string(text));
  }
  return v;
}

// "a.b.c.d" or "a.b.c.d-a.b.c.e" (inclusive) or a comma list of those.
Result<std::vector<uint32_t>> address_list(std::string_view text) {
  std::vector<uint32_t> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto dash = item.find('-');
    auto lo = parse_ipv4(item.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : parse_ipv4(item.substr(dash + 1));
    if (!lo || !hi || *hi < *lo || *hi - *lo > 65535) {
      return make_error("--source: bad address range: " + std::string(item));
    }
    for (uint64_t a = *lo; a <= *hi; ++a) {
      out.push_back(static_cast<uint32_t>(a));
    }
  }
  return out;
}

}  // namespace

const char* usage() {
  return "usage: ocm-loadgen --host IP [--port N] (--user U --password P | --users-file FILE)\n"
         "         [--sessions N] [--rate R] [--concurrency C] [--dtls on|off]\n"
         "         [--traffic K] [--traffic-pps R] [--traffic-size BYTES] [--traffic-target IP]\n"
         "         [--duration S] [--timeout S] [--source IP[-IP][,...]] [--servercert pin-sha256:B64]\n"
         "         [--json FILE|-] [--nofile N] [--quiet]\n"
         "Opens N sessions (TLS, XML auth, CONNECT, DTLS PSK-NEGOTIATE) like openconnect 9.01,\n"
         "keeps them alive with DPD/keepalive, optionally pings through K of them, and reports.\n"
         "Exit status: 0 all sessions established and none failed, 1 otherwise, 2 usage error.\n";
}

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  std::string user;
  std::string password;
  bool have_host = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> Result<std::string_view> {
      if (i + 1 >= argc) {
        return make_error(std::string(a) + " needs a value");
      }
      return std::string_view(argv[++i]);
    };
    if (a == "--quiet") {
      o.quiet = true;
      continue;
    }
    auto v = next();
    if (!v) {
      return v.error();
    }
    std::string_view val = *v;
    auto set_num = [&](auto& field) -> Status {
      auto n = number<std::remove_reference_t<decltype(field)>>(a, val);
      if (!n) {
        return n.error();
      }
      field = *n;
      return {};
    };
    Status st;
    if (a == "--host") {
      auto h = parse_ipv4(val);
      if (!h) {
        return make_error("--host: not an IPv4 address: " + std::string(val));
      }
      o.host = *h;
      have_host = true;
    } else if (a == "--port") {
      st = set_num(o.port);
    } else if (a == "--user") {
      user = val;
    } else if (a == "--password") {
      password = val;
    } else if (a == "--users-file") {
      std::ifstream in{std::string(val)};
      if (!in) {
        return make_error("cannot read " + std::string(val));
      }
      for (std::string line; std::getline(in, line);) {
        auto colon = line.find(':');
        if (line.empty() || line[0] == '#') {
          continue;
        }
        if (colon == std::string::npos) {
          return make_error(std::string(val) + ": expected user:password lines");
        }
        o.users.emplace_back(line.substr(0, colon), line.substr(colon + 1));
      }
    } else if (a == "--sessions") {
      st = set_num(o.sessions);
    } else if (a == "--rate") {
      st = set_num(o.rate);
    } else if (a == "--concurrency") {
      st = set_num(o.concurrency);
    } else if (a == "--dtls") {
      if (val != "on" && val != "off") {
        return make_error("--dtls: on or off");
      }
      o.dtls = val == "on";
    } else if (a == "--traffic") {
      st = set_num(o.traffic_sessions);
    } else if (a == "--traffic-pps") {
      st = set_num(o.traffic_pps);
    } else if (a == "--traffic-size") {
      st = set_num(o.traffic_size);
    } else if (a == "--traffic-target") {
      auto t = parse_ipv4(val);
      if (!t) {
        return make_error("--traffic-target: not an IPv4 address");
      }
      o.traffic_target = *t;
    } else if (a == "--duration") {
      st = set_num(o.duration);
    } else if (a == "--timeout") {
      st = set_num(o.phase_timeout);
    } else if (a == "--source") {
      auto s = address_list(val);
      if (!s) {
        return s.error();
      }
      o.sources = std::move(*s);
    } else if (a == "--servercert") {
      constexpr std::string_view kPrefix = "pin-sha256:";
      auto raw = val.substr(0, kPrefix.size()) == kPrefix ? base64_decode(val.substr(kPrefix.size())) : std::nullopt;
      if (!raw || raw->size() != 32) {
        return make_error("--servercert: expected pin-sha256:<base64 of 32 bytes>");
      }
      o.pin = std::move(*raw);
    } else if (a == "--json") {
      o.json_path = val;
    } else if (a == "--nofile") {
      st = set_num(o.nofile);
    } else {
      return make_error("unknown option " + std::string(a));
    }
    if (!st) {
      return st.error();
    }
  }
  if (!have_host) {
    return make_error("--host is required");
  }
  if (!user.empty()) {
    o.users.emplace_back(user, password);
  }
  if (o.users.empty()) {
    return make_error("--user/--password or --users-file is required");
  }
  if (o.sessions == 0 || o.concurrency == 0 || o.traffic_sessions > o.sessions || o.traffic_size < 28 ||
      o.traffic_size > 1400 || o.rate < 0 || o.traffic_pps <= 0 || o.duration < 0 || o.phase_timeout <= 0) {
    return make_error("option out of range (sessions, concurrency >= 1; traffic <= sessions; 28 <= traffic-size <= 1400)");
  }
  return o;
}

}  // namespace ocm::loadgen
