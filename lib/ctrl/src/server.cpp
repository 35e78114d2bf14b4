#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "ocm/base/log.hpp"
#include "ocm/proto/dtls_hello.hpp"
#include "operations.hpp"
#include "server_impl.hpp"

namespace ocm::ctrl {
namespace {
constexpr uint64_t kTickMs = 1000;

void close_handle(uv_handle_t* handle) {
  if (handle->type != UV_UNKNOWN_HANDLE && !uv_is_closing(handle)) {
    uv_close(handle, nullptr);
  }
}
}  // namespace

BanPolicy ban_policy(const config::SecurityConfig& security) {
  BanPolicy p;
  p.max_score = security.max_ban_score;
  p.reset_time = security.ban_reset_time;
  p.ban_time = security.ban_time;
  p.points_wrong_password = security.ban_points_wrong_password;
  p.points_connection = security.ban_points_connection;
  p.exempt = security.ban_exempt;
  return p;
}

uint32_t peer_ipv4(uv_tcp_t* tcp) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || ss.ss_family != AF_INET) {
    return 0;
  }
  return ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr);
}

bool Server::Impl::add_ban_points(uint32_t ip, uint32_t points, const char* why) {
  if (ip == 0 || !bans.enabled()) {
    return false;
  }
  auto now = Clock::now();
  bool was = bans.banned(ip, now);
  bool is = bans.add_points(ip, points, now);
  if (is && !was) {
    ++stats.ips_banned;
    OCM_INFO("added IP %s to the ban list (%s), banned for %llds", format_ipv4(ip).c_str(), why,
             static_cast<long long>(bans.policy().ban_time.count()));
  }
  return is;
}

Server::Impl::Impl(std::shared_ptr<const config::Config> cfg, datapath::DataPlane& plane)
    : config(std::move(cfg)),
      data_plane(&plane),
      data_plane_fds(plane.poll_fds()),
      pool(config->network.ipv4_network),
      pool6(config->network.ipv6_network
                ? std::optional<session::Ipv6Pool>(std::in_place, *config->network.ipv6_network,
                                                   config->network.ipv6_subnet_prefix)
                : std::nullopt),
      sessions(pool, config->session.cookie_timeout, config->session.predictable_ips),
      route(pool.index_count(), nullptr),
      bans(ban_policy(config->security)) {}

Server::Impl::~Impl() = default;

Status Server::Impl::start() {
  uv_loop_init(&loop);
  loop.data = this;

  const auto& srv = config->server;
  sockaddr_in addr{};
  if (int rc = uv_ip4_addr(srv.bind.c_str(), srv.tcp_port, &addr); rc != 0) {
    return make_error("server.bind: invalid address " + srv.bind);
  }
  uv_tcp_init(&loop, &listener);
  listener.data = this;
  if (int rc = uv_tcp_bind(&listener, reinterpret_cast<const sockaddr*>(&addr), 0); rc != 0) {
    return make_error("cannot bind TCP " + srv.bind + ":" + std::to_string(srv.tcp_port) + ": " + uv_strerror(rc));
  }
  int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener), srv.listen_backlog, [](uv_stream_t* l, int status) {
    auto* impl = static_cast<Impl*>(l->data);
    if (status < 0 || impl->stopping) {
      return;
    }
    uint64_t id = impl->next_connection_id++;
    auto conn = std::make_unique<Connection>(*impl, id);
    Connection* raw = conn.get();
    impl->connections.emplace(id, std::move(conn));
    if (!raw->accept(l)) {
      return;
    }
    ++impl->stats.connections_accepted;
    // ocserv's check_if_banned: every connection scores, and a banned address is cut before
    // it costs a TLS handshake.
    uint32_t ip = peer_ipv4(&raw->tcp);
    if (impl->add_ban_points(ip, impl->bans.policy().points_connection, "connections")) {
      ++impl->stats.connections_refused_banned;
      // Debug only: a banned flood must not flood the log too (the counter shows it).
      OCM_DEBUG("conn#%lu: rejected connection from banned IP %s", static_cast<unsigned long>(id),
               format_ipv4(ip).c_str());
      raw->close("banned IP");
      return;
    }
    uint32_t max_clients = impl->config->session.max_clients;
    if (max_clients != 0 && impl->connections.size() > max_clients) {
      ++impl->stats.connections_refused_max_clients;
      OCM_WARN("conn#%lu: refused, max_clients (%u) reached", static_cast<unsigned long>(id), max_clients);
      raw->close("max_clients reached");
    }
  });
  if (rc != 0) {
    return make_error("cannot listen on TCP " + srv.bind + ":" + std::to_string(srv.tcp_port) + ": " + uv_strerror(rc));
  }

  data_plane->set_control_hook([this] { drain_rings(); });
  data_plane_polls = std::make_unique<uv_poll_t[]>(data_plane_fds.size());
  for (size_t i = 0; i < data_plane_fds.size(); ++i) {
    uv_poll_t* poll = &data_plane_polls[i];
    uv_poll_init(&loop, poll, data_plane_fds[i]);
    poll->data = this;
    uv_poll_start(poll, UV_READABLE, [](uv_poll_t* p, int status, int) {
      if (status == 0) {
        int fd = -1;
        uv_fileno(reinterpret_cast<uv_handle_t*>(p), &fd);
        static_cast<Impl*>(p->data)->on_data_plane_readable(fd);
      }
    });
  }

  uv_timer_init(&loop, &tick);
  tick.data = this;
  uv_timer_start(&tick, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->on_tick(); }, kTickMs, kTickMs);

  for (auto [sig, handle] : {std::pair{SIGINT, &sigint}, std::pair{SIGTERM, &sigterm}}) {
    uv_signal_init(&loop, handle);
    handle->data = this;
    uv_signal_start(handle, [](uv_signal_t* h, int signum) {
      OCM_INFO("received signal %d, shutting down", signum);
      static_cast<Impl*>(h->data)->stop();
    }, sig);
  }
  auto radius_sessions = make_radius_sessions(*this);
  if (!radius_sessions) {
    return radius_sessions.error();
  }
  radius = std::move(radius_sessions).value();
  ops = std::make_unique<Operations>(*this);
  if (auto started = ops->start(); !started) {
    return started;
  }
  OCM_INFO("listening on %s:%u (TLS), DTLS %s on UDP port %u, address pool %s/%u", srv.bind.c_str(), srv.tcp_port,
           config->dtls.enabled ? "offered" : "disabled", srv.dtls_port,
           format_ipv4(config->network.ipv4_network.network).c_str(), config->network.ipv4_network.length);
  return {};
}

void Server::Impl::on_tick() {
  auto now = Clock::now();
  // Collect first: check_tunnel may close connections, which must not invalidate our iteration.
  std::vector<Connection*> tunnels;
  tunnels.reserve(tunnel_owner.size());
  for (auto& [sid, conn] : tunnel_owner) {
    tunnels.push_back(conn);
  }
  for (Connection* conn : tunnels) {
    conn->check_tunnel(now);
  }
  if (size_t expired = sessions.expire(now); expired > 0) {
    OCM_DEBUG("expired %zu session(s)", expired);
  }
  bans.expire(now);
  if (radius != nullptr) {
    radius->on_tick(now, sessions);  // after expire(): Stop for the sessions it just ended
  }
  heap_trimmer.on_tick(now);
}

void Server::Impl::on_data_plane_readable(int fd) {
  data_plane->poll(fd, now_ns());
  drain_rings();
}

void Server::Impl::drain_rings() {
  auto& ctx = data_plane->ctx();
  while (const datapath::CstpPacket* pkt = ctx.cstp.peek()) {
    Connection* conn = pkt->slot < route.size() ? route[pkt->slot] : nullptr;
    if (conn != nullptr) {
      ++stats.tun_to_cstp;
      conn->send_data(pkt->bytes());
    } else {
      ++stats.cstp_drop_no_tunnel;
    }
    ctx.cstp.pop();
  }
  while (const datapath::ControlEvent* event = ctx.control.peek()) {
    handle_control(*event);
    ctx.control.pop();
  }
}

void Server::Impl::handle_control(const datapath::ControlEvent& event) {
  Connection* conn = event.slot < route.size() ? route[event.slot] : nullptr;
  switch (event.kind) {
    case datapath::ControlKind::kDisconnect:
      if (conn != nullptr) {
        conn->on_dtls_disconnect(event.bytes());
      }
      return;
    case datapath::ControlKind::kPeerChanged:
      OCM_DEBUG("session slot %u: DTLS peer moved (roaming)", event.slot);
      return;
    case datapath::ControlKind::kRecord:
      break;
  }
  auto hello = proto::parse_dtls_client_hello(event.bytes());
  bool is_hello = hello.has_value() && hello->epoch == 0;
  if (conn == nullptr) {
    // Unknown peer: a handshake in progress from it, or a ClientHello naming one of our ids.
    if (auto pending = dtls_pending.find(event.peer); pending != dtls_pending.end() && !is_hello) {
      conn = pending->second;
    } else if (is_hello && !hello->random_all_zero) {
      std::span<const uint8_t> id = hello->app_id ? *hello->app_id : hello->session_id;
      DtlsId key{};
      if (id.size() == key.size()) {
        std::memcpy(key.data(), id.data(), key.size());
        if (auto it = dtls_ids.find(key); it != dtls_ids.end()) {
          conn = it->second;
        }
      }
    }
  }
  if (conn == nullptr) {
    ++stats.dtls_unmatched_hellos;
    OCM_DEBUG("DTLS datagram (type %u) from an unknown peer matches no session", event.content_type);
    return;
  }
  conn->on_dtls_datagram(event.peer, event.bytes(), is_hello);
}

void Server::Impl::write_to_tun(std::span<const uint8_t> packet) {
  if (!data_plane->write_tun(packet)) {
    ++stats.tun_write_failures;
    return;
  }
  ++stats.cstp_to_tun;
}

void Server::Impl::forget(uint64_t connection_id) {
  connections.erase(connection_id);
  heap_trimmer.on_release();
}

void Server::Impl::stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  // The data plane outlives us; it must not call back into a server that is going away.
  data_plane->set_control_hook(nullptr);
  std::vector<Connection*> all;
  for (auto& [id, conn] : connections) {
    all.push_back(conn.get());
  }
  for (Connection* conn : all) {
    // ocserv tells clients the server is going away; they then exit instead of retrying.
    conn->disconnect("server shutting down", SessionFate::kRemove);
  }
  if (radius != nullptr) {
    radius->stop_all(Clock::now());
  }
  if (ops != nullptr) {
    ops->stop();
  }
  close_handle(reinterpret_cast<uv_handle_t*>(&listener));
  close_handle(reinterpret_cast<uv_handle_t*>(&tick));
  close_handle(reinterpret_cast<uv_handle_t*>(&sigint));
  close_handle(reinterpret_cast<uv_handle_t*>(&sigterm));
  for (size_t i = 0; i < data_plane_fds.size(); ++i) {
    close_handle(reinterpret_cast<uv_handle_t*>(&data_plane_polls[i]));
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_ != nullptr) {
    impl_->stop();
    uv_run(&impl_->loop, UV_RUN_DEFAULT);
    uv_loop_close(&impl_->loop);
  }
}

Result<std::shared_ptr<const auth::OtpFile>> load_otp_file(const config::AuthConfig& auth) {
  if (auth.otp_file.empty()) {
    return std::shared_ptr<const auth::OtpFile>();
  }
  auto file = auth::OtpFile::load(auth.otp_file);
  if (!file) {
    return file.error();
  }
  OCM_INFO("loaded %zu OTP token(s) from %s", file->size(), auth.otp_file.c_str());
  return std::shared_ptr<const auth::OtpFile>(std::make_shared<auth::OtpFile>(std::move(file).value()));
}

Result<auth::PasswdFile> load_passwd_file(const config::AuthConfig& auth) {
  if (auth.uses_pam() || auth.uses_radius() || auth.uses_ldap()) {
    return auth::PasswdFile::parse("", auth.uses_pam() ? "pam" : auth.uses_radius() ? "radius" : "ldap");
  }
  return auth::PasswdFile::load(auth.passwd_file);
}

Result<std::unique_ptr<Server>> Server::create(std::shared_ptr<const config::Config> config,
                                               datapath::DataPlane& data_plane, std::string config_path) {
  auto passwd = load_passwd_file(config->auth);
  if (!passwd) {
    return passwd.error();
  }
  auto tls = TlsContext::create(config->crypto);
  if (!tls) {
    return tls.error();
  }
  if (auto certs = configure_client_certificates(*tls.value(), config->auth); !certs) {
    return certs.error();
  }
  auto otp = load_otp_file(config->auth);
  if (!otp) {
    return otp.error();
  }
  auto dtls = DtlsServer::create();
  if (!dtls) {
    return dtls.error();
  }
  auto impl = std::make_unique<Impl>(std::move(config), data_plane);
  impl->passwd = std::make_shared<const auth::PasswdFile>(std::move(passwd).value());
  impl->tls = std::move(tls).value();
  impl->otp = std::move(otp).value();
  impl->dtls_server = std::move(dtls).value();
  impl->config_path = std::move(config_path);
  std::unique_ptr<Server> server(new Server(std::move(impl)));
  if (auto started = server->impl_->start(); !started) {
    return started.error();
  }
  if (server->impl_->config->auth.uses_pam()) {
    OCM_INFO("passwords are checked by PAM service '%s'", server->impl_->config->auth.pam_service.c_str());
  } else if (const auto& ldap = server->impl_->config->auth.ldap; server->impl_->config->auth.uses_ldap()) {
    OCM_INFO("passwords are checked by LDAP server %s (%s%s)", ldap.uri.c_str(),
             ldap.direct_bind() ? "bind as " : "search under ",
             (ldap.direct_bind() ? ldap.bind_dn : ldap.base_dn).c_str());
  } else {
    OCM_INFO("loaded %zu user(s) from %s", server->impl_->passwd->size(), server->impl_->config->auth.passwd_file.c_str());
  }
  return server;
}

int Server::run() {
  uv_run(&impl_->loop, UV_RUN_DEFAULT);
  const auto& s = impl_->stats;
  OCM_INFO("stopped: %lu connections, %lu tunnels, %lu logins ok, %lu failed, %lu DTLS handshakes ok, %lu failed; "
           "CSTP: to TUN %lu, from TUN %lu, spoofed %lu, backpressure drops %lu",
           static_cast<unsigned long>(s.connections_accepted), static_cast<unsigned long>(s.tunnels_opened),
           static_cast<unsigned long>(s.auth_successes), static_cast<unsigned long>(s.auth_failures),
           static_cast<unsigned long>(s.dtls_handshakes_ok), static_cast<unsigned long>(s.dtls_handshake_failures),
           static_cast<unsigned long>(s.cstp_to_tun), static_cast<unsigned long>(s.tun_to_cstp),
           static_cast<unsigned long>(s.inner_drops[static_cast<size_t>(InnerVerdict::kSourceSpoofed)]),
           static_cast<unsigned long>(s.cstp_drop_backpressure));
  return 0;
}

void Server::stop() { impl_->stop(); }

}  // namespace ocm::ctrl
