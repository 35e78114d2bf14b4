// Operations::reload (SIGHUP, ocmctl reload): a new Config, passwd file and TLS context for new
// connections; established tunnels keep theirs (each TlsSession holds its context). Keys whose
// resources were built at startup (sockets, TUN, pool, session table, data plane, control and
// metrics listeners) keep their running values and are reported as needing a restart.
// All-or-nothing: any error leaves the running configuration untouched.

#include "ocm/base/log.hpp"
#include "operations.hpp"

namespace ocm::ctrl {
namespace {

// Copies `field` of the running config into the new one and records `name` when it differed.
template <typename T>
void keep(const char* name, T& fresh, const T& running, std::vector<std::string>& restart) {
  if (!(fresh == running)) {
    restart.emplace_back(name);
    fresh = running;
  }
}

}  // namespace

Result<std::string> Operations::reload() {
  if (impl_.config_path.empty()) {
    return make_error("the server was started without a config file path; nothing to reload");
  }
  auto parsed = config::parse_file(impl_.config_path);
  if (!parsed.errors.empty()) {
    std::string message = std::to_string(parsed.errors.size()) + " error(s) in the config:";
    for (const auto& e : parsed.errors) {
      message += " " + config::format_error(impl_.config_path, e) + ";";
    }
    return make_error(message);
  }
  const config::Config& running = *impl_.config;
  auto fresh = std::make_shared<config::Config>(*parsed.config);
  std::vector<std::string> restart;
  keep("server.bind", fresh->server.bind, running.server.bind, restart);
  keep("server.tcp_port", fresh->server.tcp_port, running.server.tcp_port, restart);
  keep("server.dtls_port", fresh->server.dtls_port, running.server.dtls_port, restart);
  keep("server.listen_backlog", fresh->server.listen_backlog, running.server.listen_backlog, restart);
  keep("network.device", fresh->network.device, running.network.device, restart);
  keep("network.ipv4_network", fresh->network.ipv4_network, running.network.ipv4_network, restart);
  // The TUN's IPv6 address and the pool the sessions' subnets derive from are set up at start.
  keep("network.ipv6_network", fresh->network.ipv6_network, running.network.ipv6_network, restart);
  keep("network.ipv6_subnet_prefix", fresh->network.ipv6_subnet_prefix, running.network.ipv6_subnet_prefix, restart);
  keep("session.cookie_timeout", fresh->session.cookie_timeout, running.session.cookie_timeout, restart);
  keep("session.predictable_ips", fresh->session.predictable_ips, running.session.predictable_ips, restart);
  keep("datapath.driver", fresh->datapath.driver, running.datapath.driver, restart);
  keep("performance.tun_queues", fresh->performance.tun_queues, running.performance.tun_queues, restart);
  keep("monitoring.control_socket", fresh->monitoring.control_socket, running.monitoring.control_socket, restart);
  keep("monitoring.enable_prometheus", fresh->monitoring.enable_prometheus, running.monitoring.enable_prometheus,
       restart);
  keep("monitoring.stats_bind", fresh->monitoring.stats_bind, running.monitoring.stats_bind, restart);
  keep("monitoring.stats_port", fresh->monitoring.stats_port, running.monitoring.stats_port, restart);

  auto passwd = load_passwd_file(fresh->auth);
  if (!passwd) {
    return passwd.error();
  }
  auto tls = TlsContext::create(fresh->crypto);
  if (!tls) {
    return tls.error();
  }
  if (auto certs = configure_client_certificates(*tls.value(), fresh->auth); !certs) {
    return certs.error();
  }
  auto otp = load_otp_file(fresh->auth);
  if (!otp) {
    return otp.error();
  }
  // Nothing can fail from here on: publish everything together.
  impl_.passwd = std::make_shared<const auth::PasswdFile>(std::move(passwd).value());
  impl_.tls = std::move(tls).value();
  impl_.otp = std::move(otp).value();
  log::set_level(fresh->monitoring.log_level);
  // Scores are kept; new thresholds and exemptions apply to them from now on.
  impl_.bans.set_policy(ban_policy(fresh->security));
  impl_.config = std::move(fresh);

  std::string message = "reloaded " + impl_.config_path + " (" + std::to_string(impl_.passwd->size()) +
                        " user(s), certificate " + impl_.config->crypto.cert_file + ")";
  if (!restart.empty()) {
    std::string keys;
    for (const auto& key : restart) {
      keys += " " + key;
    }
    message += "; changed keys that need a restart and were NOT applied:" + keys;
    OCM_WARN("reload: these changed keys need a restart and keep their running values:%s", keys.c_str());
  }
  return message;
}

}  // namespace ocm::ctrl
