#include "script_env.hpp"

namespace ocm::ctrl {
namespace {

std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      c = '?';
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> script_environment(const ScriptEnv& env) {
  std::vector<std::string> out;
  out.reserve(16);
  auto add = [&out](std::string_view name, std::string_view value) {
    std::string line(name);
    line += '=';
    line += printable(value);
    out.push_back(std::move(line));
  };
  add("PATH", kScriptPath);
  add("REASON", env.reason);
  add("USERNAME", env.username);
  add("GROUPNAME", env.groupname);
  add("HOSTNAME", env.hostname);
  add("DEVICE", env.device);
  add("IP_REAL", env.ip_real);
  add("IP_REAL_LOCAL", env.ip_real_local);
  add("IP_LOCAL", env.ip_local);
  add("IP_REMOTE", env.ip_remote);
  if (!env.ipv6_remote.empty()) {
    add("IPV6_LOCAL", env.ipv6_local);
    add("IPV6_REMOTE", env.ipv6_remote);
    add("IPV6_PREFIX", env.ipv6_prefix);
  }
  add("ID", std::to_string(env.id));
  add("USER_AGENT", env.user_agent);
  if (env.stats) {
    add("STATS_BYTES_IN", std::to_string(env.stats->bytes_in));
    add("STATS_BYTES_OUT", std::to_string(env.stats->bytes_out));
    add("STATS_DURATION", std::to_string(env.stats->duration));
  }
  return out;
}

}  // namespace ocm::ctrl
