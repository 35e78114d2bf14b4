#pragma once
// The `socket` driver: the default data plane that works on any Linux box. One kernel UDP
// socket carries DTLS for every session (demultiplexed by the pipeline by 4-tuple) and the
// shared TUN device carries inner packets; both are read in bursts (recvmmsg, read) and
// written in batches (sendmmsg) from the slow path's loop thread.

#include <cstdint>
#include <memory>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/result.hpp"
#include "ocm/datapath/data_plane.hpp"

namespace ocm::socket {

struct SocketDataPlaneSettings {
  uint32_t bind_address = 0;  // host order; 0 = any
  uint16_t udp_port = 443;
  Ipv4Prefix pool;            // leased addresses (route table size)
  uint32_t max_sessions = 0;  // slots; 0 = one per pool address
  std::vector<int> tun_fds;   // owned by the caller, non-blocking
  // Socket buffers: a 32-packet burst of 1.5 KB is ~48 KB; 8 MB absorbs ~170 bursts while the
  // loop is busy with TLS work, so UDP bursts are not dropped by the kernel.
  int socket_buffer_bytes = 8 * 1024 * 1024;
};

class SocketDataPlane final : public datapath::DataPlane {
 public:
  // Binds the UDP port, creates the crypto engine, packet pool and session table.
  static Result<std::unique_ptr<SocketDataPlane>> create(const SocketDataPlaneSettings& settings);
  ~SocketDataPlane() override;

  [[nodiscard]] std::vector<int> poll_fds() const override;
  void poll(int fd, uint64_t now_ns) noexcept override;
  datapath::Ctx& ctx() noexcept override;
  bool send_datagram(const datapath::Peer& peer, std::span<const uint8_t> datagram) noexcept override;
  bool send_payload(uint32_t slot, std::span<const uint8_t> payload, uint64_t now_ns) noexcept override;
  bool write_tun(std::span<const uint8_t> packet) noexcept override;

  struct Impl;

 private:
  explicit SocketDataPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ocm::socket
