#pragma once
// The XDP program (bpf/ocm_xdp.c, embedded in the binary) as a resource: loaded with the DTLS
// port patched in, attached to one interface, detached when this object dies. Slow path only.

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "ocm/base/result.hpp"
#include "ocm_xdp_shared.h"

struct bpf_object;

namespace ocm::af_xdp {

enum class XdpAttachMode { kNative, kGeneric };
const char* to_string(XdpAttachMode mode) noexcept;

// Which modes attach() may try, in order: native only, generic only, or native then generic.
enum class XdpModeChoice { kNative, kGeneric, kAuto };

using XdpStats = std::array<uint64_t, OCM_XDP_STAT_COUNT>;
// Counter names in ocm_xdp_stat order, as exported ("xdp_redirected", ...).
const char* xdp_stat_name(int stat) noexcept;

class XdpProgram {
 public:
  // Opens the embedded object and loads it into the kernel (the verifier runs here). dtls_port
  // and dtls_addr (IPv4; 0 = every local address) in host order.
  static Result<std::unique_ptr<XdpProgram>> load(uint16_t dtls_port, uint32_t dtls_addr = 0);
  ~XdpProgram();
  XdpProgram(const XdpProgram&) = delete;
  XdpProgram& operator=(const XdpProgram&) = delete;

  // Attaches to the interface. A program of ours left attached by an earlier run (crash, kill
  // -9) is replaced; any other XDP program on the interface is an error naming it. Returns the
  // mode the kernel accepted.
  Result<XdpAttachMode> attach(const std::string& ifname, XdpModeChoice choice);
  // Removes the program from the interface if it is still the one we attached. Idempotent.
  void detach() noexcept;

  [[nodiscard]] int prog_fd() const noexcept { return prog_fd_; }
  [[nodiscard]] int xsks_map_fd() const noexcept { return xsks_fd_; }
  // The per-CPU counters summed over CPUs; zeros when the map cannot be read.
  [[nodiscard]] XdpStats stats() const;

 private:
  XdpProgram() = default;
  bpf_object* obj_ = nullptr;
  int prog_fd_ = -1;
  int xsks_fd_ = -1;
  int stats_fd_ = -1;
  int ifindex_ = 0;  // attached to, 0 = not attached
  uint32_t attach_flags_ = 0;
};

}  // namespace ocm::af_xdp
