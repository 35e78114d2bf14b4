#pragma once
// The `socket` driver: the default data plane that works on any Linux box. One kernel UDP
// socket carries DTLS for every session (demultiplexed by the pipeline by 4-tuple) and the
// shared TUN device carries inner packets; both are read in bursts (recvmmsg, read) and
// written in batches (sendmmsg) from the slow path's loop thread.
//
// Offloads, each with a fallback to the plain path:
//  - TUN with IFF_VNET_HDR (detected on the descriptors with TUNGETIFF; drivers/tun sets it up):
//    every read and write carries a virtio_net header. Reads may return TCP super-packets
//    (TSO, up to 64 KiB) that are cut into MTU-sized segments here, straight into packet
//    buffers (lib/datapath/gso.hpp); partial checksums are completed. Writes of consecutive
//    segments of one TCP flow are merged into one GSO write (tun_gro).
//  - UDP_SEGMENT (udp_gso): the sealed records of one peer go out as one sendmsg when they have
//    equal sizes (but for a shorter last one); the kernel cuts them. If the kernel refuses
//    (EIO/EINVAL) GSO is switched off for good; EMSGSIZE (path MTU) resends that run one by one.

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
  bool udp_gso = true;  // UDP_SEGMENT sends (see above)
  bool tun_gro = true;  // merge TCP segments into GSO writes when the TUN has IFF_VNET_HDR
};

// Driver-level counters the pipeline cannot see (its own are in ctx().counters).
struct SocketDriverStats {
  uint64_t udp_send_failures = 0;   // records the kernel did not take (buffer full, errors)
  uint64_t tun_write_failures = 0;  // packets the TUN did not take
  uint64_t pool_exhausted = 0;      // bursts skipped because the packet pool was empty
  // TUN reads with a virtio_net header
  bool tun_vnet_hdr = false;          // the TUN queues carry virtio_net headers
  uint64_t tun_gso_frames = 0;        // TSO super-packets read
  uint64_t tun_gso_segments = 0;      // segments cut from them
  uint64_t tun_gso_invalid = 0;       // super-packets dropped: layout we cannot cut (GsoVerdict)
  uint64_t tun_gso_segments_lost = 0; // segments dropped because the pool ran dry mid-frame
  uint64_t tun_csum_completed = 0;    // partial checksums completed (non-GSO frames)
  uint64_t tun_csum_invalid = 0;      // frames dropped: checksum offsets outside the packet
  uint64_t tun_read_oversize = 0;     // frames dropped: larger than a packet buffer / read buffer
  uint64_t tun_read_short = 0;        // reads shorter than the virtio_net header
  // TUN writes
  uint64_t tun_gro_writes = 0;   // GSO writes of merged segments
  uint64_t tun_gro_packets = 0;  // packets those writes carried
  // UDP GSO sends
  bool udp_gso = false;              // still enabled
  uint64_t udp_gso_sends = 0;        // sendmsg calls that carried more than one record
  uint64_t udp_gso_records = 0;      // records they carried
  uint64_t udp_gso_emsgsize = 0;     // runs resent one by one after EMSGSIZE
  uint64_t udp_gso_disabled = 0;     // 1 once the kernel refused UDP_SEGMENT (EIO/EINVAL)
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

  [[nodiscard]] SocketDriverStats driver_stats() const noexcept;
  [[nodiscard]] const char* driver_name() const noexcept override { return "socket"; }
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> driver_counters() const override;

  struct Impl;

 private:
  explicit SocketDataPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ocm::socket
