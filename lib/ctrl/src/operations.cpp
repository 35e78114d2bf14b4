#include "operations.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "ocm/base/log.hpp"

namespace ocm::ctrl {
namespace {

std::string local_address(const uv_tcp_t& tcp) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(&tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {};
  }
  char host[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, host, sizeof host);
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, host, sizeof host);
  }
  return host;
}

// Steady-clock instants (session creation) shown as wall-clock time.
int64_t to_unix(Clock::time_point t) {
  auto age = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t).count();
  return unix_now() - age;
}

}  // namespace

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Operations::Operations(Server::Impl& impl) : impl_(impl), scripts_(impl.loop), started_at_(unix_now()) {}

Operations::~Operations() = default;

Status Operations::start() {
  const auto& mon = impl_.config->monitoring;
  if (!mon.control_socket.empty()) {
    auto opened = ControlSocket::open(impl_.loop, mon.control_socket,
                                      [this](ControlClient& client, const ControlRequest& request) {
                                        handle_command(client, request);
                                      });
    if (opened) {
      control_ = std::move(opened).value();
      OCM_INFO("ocmctl control socket at %s", mon.control_socket.c_str());
    } else {
      OCM_ERROR("%s; ocmctl will not work", opened.error().message.c_str());
    }
  }
  if (mon.enable_prometheus) {
    auto listening = MetricsHttp::open(impl_.loop, mon.stats_bind, mon.stats_port,
                                       [this](std::string_view path, std::string& body) {
                                         if (path != "/metrics") {
                                           return false;
                                         }
                                         body = metrics_text();
                                         return true;
                                       });
    if (!listening) {
      return listening.error();
    }
    metrics_ = std::move(listening).value();
    OCM_INFO("Prometheus metrics on http://%s:%u/metrics", mon.stats_bind.c_str(), mon.stats_port);
  }
  uv_signal_init(&impl_.loop, &sighup_);
  sighup_.data = this;
  sighup_open_ = true;
  uv_signal_start(&sighup_, [](uv_signal_t* h, int) {
    OCM_INFO("received SIGHUP, reloading");
    auto* ops = static_cast<Operations*>(h->data);
    auto result = ops->reload();
    if (result) {
      OCM_INFO("reload: %s", result->c_str());
    } else {
      OCM_ERROR("reload failed, keeping the running configuration: %s", result.error().message.c_str());
    }
  }, SIGHUP);
  return {};
}

void Operations::stop() {
  if (control_ != nullptr) {
    control_->close();
  }
  if (metrics_ != nullptr) {
    metrics_->close();
  }
  if (sighup_open_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&sighup_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&sighup_), nullptr);
  }
}

UserView Operations::user_view(const Connection& conn) const {
  UserView u;
  u.id = conn.session_id();
  if (const session::Session* s = impl_.sessions.find_id(conn.session_id())) {
    u.username = s->username;
    u.group = s->group;
  }
  const std::string& peer = conn.peer();
  auto colon = peer.rfind(':');
  u.remote_ip = peer.substr(0, colon);
  if (colon != std::string::npos) {
    u.remote_port = static_cast<uint16_t>(std::strtoul(peer.c_str() + colon + 1, nullptr, 10));
  }
  u.local_ip = local_address(conn.tcp);
  const auto& cfg = *impl_.config;
  u.device = cfg.network.device;
  u.ipv4 = format_ipv4(conn.address());
  u.ptp_ipv4 = format_ipv4(cfg.network.ipv4_network.network + 1);
  const TunnelInfo& info = conn.info();
  u.mtu = info.mtu;
  u.user_agent = info.user_agent;
  u.hostname = info.hostname;
  u.cstp_rx = info.cstp_rx_bytes;
  u.cstp_tx = info.cstp_tx_bytes;
  u.connected_at = info.connected_at;
  u.dtls_cipher = info.dtls_cipher;
  u.cstp_compression = info.cstp_compression;
  u.dtls_compression = info.dtls_compression;
  u.tls_cipher = conn.tls_cipher();
  u.dpd = static_cast<uint32_t>(cfg.session.dpd.count());
  u.keepalive = static_cast<uint32_t>(cfg.session.keepalive.count());
  auto slot = impl_.data_plane->session_view(conn.slot());
  u.dtls_rx = slot.counters.rx_bytes;
  u.dtls_tx = slot.counters.tx_bytes;
  u.dtls_state = datapath::to_string(slot.state);
  return u;
}

std::vector<UserView> Operations::users() const {
  std::vector<UserView> out;
  out.reserve(impl_.tunnel_owner.size());
  for (const auto& [sid, conn] : impl_.tunnel_owner) {
    out.push_back(user_view(*conn));
  }
  std::sort(out.begin(), out.end(), [](const UserView& a, const UserView& b) { return a.id < b.id; });
  return out;
}

std::vector<SessionView> Operations::sessions(bool valid_only) const {
  std::vector<SessionView> out;
  auto now = Clock::now();
  for (const auto& s : impl_.sessions.all()) {
    bool expired = !s->tunnel_attached && s->expires <= now;
    if (valid_only && expired) {
      continue;
    }
    SessionView v;
    v.id = s->id;
    v.username = s->username;
    v.group = s->group;
    v.in_use = s->tunnel_attached;
    v.ipv4 = s->ipv4 ? format_ipv4(*s->ipv4) : std::string();
    v.created = to_unix(s->created);
    v.expires_in =
        s->tunnel_attached ? 0 : std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(s->expires - now).count());
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const SessionView& a, const SessionView& b) { return a.id < b.id; });
  return out;
}

StatusView Operations::status_view() const {
  const auto& st = impl_.stats;
  const datapath::Counters dp = impl_.data_plane->counters();
  StatusView v;
  v.pid = ::getpid();
  v.up_since = started_at_;
  v.now = unix_now();
  v.active_sessions = impl_.tunnel_owner.size();
  v.total_sessions = impl_.sessions.size();
  v.sessions_handled = st.tunnels_opened;
  v.auth_failures = st.auth_failures;
  v.tls_handshake_failures = st.tls_handshake_failures;
  v.dtls_handshakes_ok = st.dtls_handshakes_ok;
  v.dtls_handshake_failures = st.dtls_handshake_failures;
  v.connections = impl_.connections.size();
  // Client -> server: CSTP frames plus DTLS datagrams; server -> client likewise.
  v.rx = st.cstp_bytes_in + dp.udp_rx.bytes;
  v.tx = st.cstp_bytes_out + dp.udp_tx.bytes;
  v.datapath_drops = dp.total_drops();
  v.banned_ips = impl_.bans.banned_count(Clock::now());
  return v;
}

std::vector<BanView> Operations::bans() const {
  auto now = Clock::now();
  int64_t unix = unix_now();
  std::vector<BanView> out;
  for (const auto& e : impl_.bans.entries(now)) {
    // Steady-clock expiry shown as wall-clock time: now + what is left.
    int64_t left = std::chrono::duration_cast<std::chrono::seconds>(e.expires - now).count();
    out.push_back(BanView{format_ipv4(e.ip), e.score, e.banned, unix + left});
  }
  return out;
}

void Operations::tunnel_up(Connection& conn) {
  if (control_ != nullptr && control_->subscribers() > 0) {
    EventView e{EventKind::kConnect, unix_now(), user_view(conn), {}};
    control_->publish(event_json(e), event_text(e));
  }
}

void Operations::tunnel_down(Connection& conn, const char* reason) {
  ++impl_.stats.tunnels_closed;
  bool want_script = !impl_.config->session.disconnect_script.empty();
  if (want_script || (control_ != nullptr && control_->subscribers() > 0)) {
    UserView u = user_view(conn);
    if (want_script) {
      ScriptEnv env = script_env(conn, "disconnect");
      env.stats = ScriptStats{u.cstp_rx + u.dtls_rx, u.cstp_tx + u.dtls_tx,
                              std::max<int64_t>(0, unix_now() - u.connected_at)};
      run_disconnect_script(std::move(env));
    }
    if (control_ != nullptr && control_->subscribers() > 0) {
      EventView e{EventKind::kDisconnect, unix_now(), std::move(u), reason};
      control_->publish(event_json(e), event_text(e));
    }
  }
}

ScriptEnv Operations::script_env(const Connection& conn, const char* reason) const {
  const auto& cfg = *impl_.config;
  ScriptEnv env;
  env.reason = reason;
  env.id = conn.session_id();
  if (const session::Session* s = impl_.sessions.find_id(conn.session_id())) {
    env.username = s->username;
    env.groupname = s->group;
  }
  const std::string& peer = conn.peer();
  env.ip_real = peer.substr(0, peer.rfind(':'));
  env.ip_real_local = local_address(conn.tcp);
  env.device = cfg.network.device;
  env.ip_local = format_ipv4(cfg.network.ipv4_network.network + 1);
  env.ip_remote = format_ipv4(conn.address());
  if (impl_.pool6) {
    // The same arithmetic as the CONNECT reply: the subnet whose index is the IPv4 lease's.
    auto index = impl_.pool.index_of(conn.address());
    if (auto lease = index ? impl_.pool6->lease_for_index(*index) : std::nullopt) {
      env.ipv6_local = format_ipv6(impl_.pool6->server_address());
      env.ipv6_remote = format_ipv6(lease->address);
      env.ipv6_prefix = format_ipv6_prefix(ipv6_masked(lease->address, lease->prefix_length), lease->prefix_length);
    }
  }
  env.hostname = conn.info().hostname;
  env.user_agent = conn.info().user_agent;
  return env;
}

uint64_t Operations::run_connect_script(const Connection& conn, std::function<void(bool)> done) {
  const auto& sess = impl_.config->session;
  auto pending = std::make_shared<PendingConnectScript>();
  pending->done = std::move(done);
  pending->env = script_env(conn, "connect");
  auto env = script_environment(pending->env);
  std::string path = sess.connect_script;
  uint32_t id = pending->env.id;
  // The job id is only known after run() returns; done never runs before that.
  auto job = std::make_shared<uint64_t>(0);
  *job = scripts_.run(path, env, sess.script_timeout, [this, pending, job, path, id](const ScriptResult& r) {
    connect_scripts_.erase(*job);
    if (r.ok()) {
      OCM_DEBUG("session %u: connect script %s succeeded", id, path.c_str());
    } else {
      OCM_INFO("session %u: connect script %s refused the session: %s", id, path.c_str(), r.describe().c_str());
    }
    if (pending->done) {
      pending->done(r.ok());
    } else if (r.ok()) {
      // The client left while its script ran: undo what the script set up.
      pending->env.reason = "disconnect";
      pending->env.stats = ScriptStats{};
      run_disconnect_script(std::move(pending->env));
    }
  });
  connect_scripts_.emplace(*job, std::move(pending));
  return *job;
}

void Operations::cancel_connect_script(uint64_t job) {
  if (auto it = connect_scripts_.find(job); it != connect_scripts_.end()) {
    it->second->done = nullptr;
  }
}

void Operations::run_disconnect_script(ScriptEnv env) {
  const auto& sess = impl_.config->session;
  if (sess.disconnect_script.empty()) {
    return;
  }
  std::string path = sess.disconnect_script;
  uint32_t id = env.id;
  scripts_.run(path, script_environment(env), sess.script_timeout, [path, id](const ScriptResult& r) {
    if (!r.ok()) {
      OCM_WARN("session %u: disconnect script %s: %s", id, path.c_str(), r.describe().c_str());
    }
  });
}

void Server::Impl::on_tunnel_up(Connection& conn) {
  if (radius != nullptr) {
    const std::string& peer = conn.peer();
    radius->tunnel_up(conn, conn.session_id(), peer.substr(0, peer.rfind(':')), conn.address());
  }
  if (ops != nullptr) {
    ops->tunnel_up(conn);
  }
}

void Server::Impl::on_tunnel_down(Connection& conn, const char* reason) {
  if (radius != nullptr) {
    radius->tunnel_down(conn, conn.session_id(), reason);  // before end_tunnel frees the slot's counters
  }
  if (ops != nullptr) {
    ops->tunnel_down(conn, reason);
  }
}

uint64_t Server::Impl::start_connect_script(Connection& conn, std::function<void(bool)> done) {
  return ops->run_connect_script(conn, std::move(done));
}

void Server::Impl::cancel_connect_script(uint64_t job) {
  if (ops != nullptr) {
    ops->cancel_connect_script(job);
  }
}

}  // namespace ocm::ctrl
