#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "ocm/base/log.hpp"
#include "server_impl.hpp"

namespace ocm::ctrl {
namespace {
// Packets read from one TUN queue per poll wake-up: bounded so that TLS clients are served
// between bursts.
constexpr int kTunReadBudget = 256;
// Largest IP packet a TUN read returns (the device MTU is far lower; this is just the buffer).
constexpr size_t kTunBufferSize = 65536;
constexpr uint64_t kTickMs = 1000;

void close_handle(uv_handle_t* handle) {
  if (handle->type != UV_UNKNOWN_HANDLE && !uv_is_closing(handle)) {
    uv_close(handle, nullptr);
  }
}
}  // namespace

Server::Impl::Impl(std::shared_ptr<const config::Config> cfg, TunHandles tun_handles)
    : config(std::move(cfg)),
      tun(std::move(tun_handles)),
      pool(config->network.ipv4_network),
      sessions(pool, config->session.cookie_timeout, config->session.predictable_ips),
      route(pool.index_count(), nullptr) {}

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

  tun_polls = std::make_unique<uv_poll_t[]>(tun.fds.size());
  for (size_t i = 0; i < tun.fds.size(); ++i) {
    uv_poll_t* poll = &tun_polls[i];
    uv_poll_init(&loop, poll, tun.fds[i]);
    poll->data = this;
    uv_poll_start(poll, UV_READABLE, [](uv_poll_t* p, int status, int) {
      if (status == 0) {
        int fd = -1;
        uv_fileno(reinterpret_cast<uv_handle_t*>(p), &fd);
        static_cast<Impl*>(p->data)->on_tun_readable(fd);
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
  OCM_INFO("listening on %s:%u (TLS), address pool %s/%u, %zu TUN queue(s)", srv.bind.c_str(), srv.tcp_port,
           format_ipv4(config->network.ipv4_network.network).c_str(), config->network.ipv4_network.length,
           tun.fds.size());
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
}

void Server::Impl::on_tun_readable(int fd) {
  static std::array<uint8_t, kTunBufferSize> buffer;
  for (int i = 0; i < kTunReadBudget; ++i) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        OCM_WARN("TUN read failed: %s", std::strerror(errno));
      }
      return;
    }
    std::span<const uint8_t> packet(buffer.data(), static_cast<size_t>(n));
    uint32_t dst = 0;
    if (!ipv4_destination(packet, dst)) {
      ++stats.tun_drop_not_ipv4;
      continue;
    }
    auto index = pool.index_of(dst);
    Connection* conn = index ? route[*index] : nullptr;
    if (conn == nullptr) {
      ++stats.tun_drop_no_session;
      continue;
    }
    ++stats.tun_packets_in;
    conn->send_data(packet);
  }
}

void Server::Impl::write_to_tun(std::span<const uint8_t> packet) {
  // Any queue of a multi-queue TUN accepts writes; the first is as good as any.
  ssize_t n = ::write(tun.fds.front(), packet.data(), packet.size());
  if (n != static_cast<ssize_t>(packet.size())) {
    ++stats.tun_write_failures;
    return;
  }
  ++stats.tun_packets_out;
}

void Server::Impl::forget(uint64_t connection_id) { connections.erase(connection_id); }

void Server::Impl::stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  std::vector<Connection*> all;
  for (auto& [id, conn] : connections) {
    all.push_back(conn.get());
  }
  for (Connection* conn : all) {
    // ocserv tells clients the server is going away; they then exit instead of retrying.
    conn->disconnect("server shutting down", SessionFate::kRemove);
  }
  close_handle(reinterpret_cast<uv_handle_t*>(&listener));
  close_handle(reinterpret_cast<uv_handle_t*>(&tick));
  close_handle(reinterpret_cast<uv_handle_t*>(&sigint));
  close_handle(reinterpret_cast<uv_handle_t*>(&sigterm));
  for (size_t i = 0; i < tun.fds.size(); ++i) {
    close_handle(reinterpret_cast<uv_handle_t*>(&tun_polls[i]));
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

Result<std::unique_ptr<Server>> Server::create(std::shared_ptr<const config::Config> config, TunHandles tun) {
  if (tun.fds.empty()) {
    return make_error("no TUN queue to poll");
  }
  auto passwd = auth::PasswdFile::load(config->auth.passwd_file);
  if (!passwd) {
    return passwd.error();
  }
  auto tls = TlsContext::create(config->crypto);
  if (!tls) {
    return tls.error();
  }
  auto impl = std::make_unique<Impl>(std::move(config), std::move(tun));
  impl->passwd = std::make_shared<const auth::PasswdFile>(std::move(passwd).value());
  impl->tls = std::move(tls).value();
  std::unique_ptr<Server> server(new Server(std::move(impl)));
  if (auto started = server->impl_->start(); !started) {
    return started.error();
  }
  OCM_INFO("loaded %zu user(s) from %s", server->impl_->passwd->size(), server->impl_->config->auth.passwd_file.c_str());
  return server;
}

int Server::run() {
  uv_run(&impl_->loop, UV_RUN_DEFAULT);
  const auto& s = impl_->stats;
  OCM_INFO("stopped: %lu connections, %lu tunnels, %lu logins ok, %lu failed, tun in %lu out %lu, drops: "
           "no-session %lu backpressure %lu spoofed %lu",
           static_cast<unsigned long>(s.connections_accepted), static_cast<unsigned long>(s.tunnels_opened),
           static_cast<unsigned long>(s.auth_successes), static_cast<unsigned long>(s.auth_failures),
           static_cast<unsigned long>(s.tun_packets_in), static_cast<unsigned long>(s.tun_packets_out),
           static_cast<unsigned long>(s.tun_drop_no_session), static_cast<unsigned long>(s.tun_drop_backpressure),
           static_cast<unsigned long>(s.inner_drops[static_cast<size_t>(InnerVerdict::kSourceSpoofed)]));
  return 0;
}

void Server::stop() { impl_->stop(); }

}  // namespace ocm::ctrl
