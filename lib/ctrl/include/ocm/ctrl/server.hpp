#pragma once
// The slow path: one libuv loop that accepts TCP, runs TLS (wolfSSL), the HTTP/XML login, the
// CONNECT, the CSTP tunnel and the DTLS handshakes, and polls the data plane (whose burst
// pipeline moves DTLS packets between UDP and TUN). Everything here runs on the loop thread;
// nothing is shared with other threads except the password-check work items, which only read
// an immutable PasswdFile.

#include <memory>
#include <string>
#include <vector>

#include "ocm/base/result.hpp"
#include "ocm/config/config.hpp"
#include "ocm/datapath/data_plane.hpp"

namespace ocm::ctrl {

struct ServerStats;

class Server {
 public:
  // Loads the passwd file and the certificate, binds the TCP port. Errors name the file or
  // address involved. The data plane (UDP + TUN packet I/O and the burst pipeline) is polled
  // from this server's loop and must outlive it. `config_path` is re-read on SIGHUP and
  // `ocmctl reload` (empty: reload is refused).
  static Result<std::unique_ptr<Server>> create(std::shared_ptr<const config::Config> config,
                                                datapath::DataPlane& data_plane, std::string config_path = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs until SIGINT/SIGTERM, `ocmctl stop now` (or stop()). Returns 0 on a clean stop.
  // SIGHUP reloads; the control socket and the metrics listener (config [monitoring]) run here.
  int run();
  void stop();

  struct Impl;  // opaque: defined in lib/ctrl/src, shared by the slow path's translation units

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ocm::ctrl
