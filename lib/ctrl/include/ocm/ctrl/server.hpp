#pragma once
// The slow path: one libuv loop that accepts TCP, runs TLS (wolfSSL), the HTTP/XML login, the
// CONNECT and the CSTP tunnel, and moves tunnel packets between TLS and the TUN device.
// Everything here runs on the loop thread; nothing is shared with other threads except the
// password-check work items, which only read an immutable PasswdFile.

#include <memory>
#include <vector>

#include "ocm/base/result.hpp"
#include "ocm/config/config.hpp"

namespace ocm::ctrl {

struct ServerStats;

// File descriptors of the (multi-queue) TUN device opened by the driver. The server polls all
// of them; it does not own them.
struct TunHandles {
  std::vector<int> fds;
};

class Server {
 public:
  // Loads the passwd file and the certificate, binds the TCP port. Errors name the file or
  // address involved.
  static Result<std::unique_ptr<Server>> create(std::shared_ptr<const config::Config> config, TunHandles tun);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs until SIGINT/SIGTERM (or stop()). Returns 0 on a clean stop.
  int run();
  void stop();

  struct Impl;  // opaque: defined in lib/ctrl/src, shared by the slow path's translation units

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ocm::ctrl
