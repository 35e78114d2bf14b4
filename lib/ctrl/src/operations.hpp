#pragma once
// Everything an operator talks to, on the slow-path loop: the ocmctl control socket, the
// Prometheus listener, SIGHUP reload, connect/disconnect scripts and the event stream.
// Owned by Server::Impl (`ops`); reads the server's state, changes it only through the same
// calls the rest of the slow path uses (Connection::disconnect, Impl::stop).

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "control_socket.hpp"
#include "control_views.hpp"
#include "metrics_http.hpp"
#include "script_env.hpp"
#include "script_runner.hpp"
#include "ocm/base/result.hpp"
#include "server_impl.hpp"

namespace ocm::ctrl {

class Operations {
 public:
  explicit Operations(Server::Impl& impl);
  ~Operations();
  Operations(const Operations&) = delete;
  Operations& operator=(const Operations&) = delete;

  // Opens the control socket (a failure is logged, not fatal: the VPN matters more than the
  // tool), the metrics listener (fatal when enabled: a wrong port is a config error) and SIGHUP.
  Status start();
  // Closes every handle this object owns; the loop finishes the closes.
  void stop();

  void tunnel_up(Connection& conn);
  // Also starts the disconnect script (fire and forget, bounded by script_timeout).
  void tunnel_down(Connection& conn, const char* reason);

  // Runs session.connect_script for a CONNECT that waits for it; done(ok) follows on the loop.
  // Returns the job for cancel_connect_script().
  uint64_t run_connect_script(const Connection& conn, std::function<void(bool)> done);
  // The connection went away first: done is dropped. If the script still succeeds, the
  // disconnect script runs, so that whatever the connect script set up is undone.
  void cancel_connect_script(uint64_t job);
  // What a script sees of `conn` (sessions not yet attached included).
  [[nodiscard]] ScriptEnv script_env(const Connection& conn, const char* reason) const;

  // ocmctl commands (control_commands.cpp).
  void handle_command(ControlClient& client, const ControlRequest& request);
  // Re-reads config, passwd file and certificate (reload.cpp). The message lists what changed
  // and which keys need a restart.
  Result<std::string> reload();
  // Prometheus text exposition (metrics.cpp).
  [[nodiscard]] std::string metrics_text() const;

  [[nodiscard]] UserView user_view(const Connection& conn) const;
  [[nodiscard]] std::vector<UserView> users() const;  // every tunnel, by session id
  [[nodiscard]] StatusView status_view() const;
  [[nodiscard]] std::vector<SessionView> sessions(bool valid_only) const;
  [[nodiscard]] std::vector<BanView> bans() const;  // every scored address, most recent first

 private:
  Server::Impl& impl_;
  std::unique_ptr<ControlSocket> control_;
  std::unique_ptr<MetricsHttp> metrics_;
  struct PendingConnectScript {
    std::function<void(bool)> done;  // empty once cancelled
    ScriptEnv env;
  };
  void run_disconnect_script(ScriptEnv env);

  ScriptRunner scripts_;
  std::unordered_map<uint64_t, std::shared_ptr<PendingConnectScript>> connect_scripts_;
  uv_signal_t sighup_{};
  bool sighup_open_ = false;
  int64_t started_at_ = 0;  // Unix seconds
};

// Unix time now, in seconds.
int64_t unix_now();

}  // namespace ocm::ctrl
