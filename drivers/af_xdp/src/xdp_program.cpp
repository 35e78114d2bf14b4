#include "xdp_program.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ocm/base/log.hpp"
#include "ocm_xdp_object.hpp"

namespace ocm::af_xdp {
namespace {

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

// The name of the program with kernel id `id`, or "" when it cannot be read.
std::string prog_name(uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) {
    return {};
  }
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  std::string name;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
    name = info.name;
  }
  ::close(fd);
  return name;
}

const char* mode_text(uint32_t flags) {
  if ((flags & XDP_FLAGS_DRV_MODE) != 0) {
    return "native";
  }
  if ((flags & XDP_FLAGS_SKB_MODE) != 0) {
    return "generic";
  }
  return "offload";
}

// libbpf prints through its own logger; keep its warnings at debug level so that a failing
// verifier is visible with log_level = "debug" but the normal start is quiet.
int libbpf_log(libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) {
    return 0;
  }
  char line[512];
  std::vsnprintf(line, sizeof line, fmt, args);
  size_t n = std::strlen(line);
  if (n > 0 && line[n - 1] == '\n') {
    line[n - 1] = '\0';
  }
  OCM_DEBUG("libbpf: %s", line);
  return 0;
}

}  // namespace

const char* to_string(XdpAttachMode mode) noexcept { return mode == XdpAttachMode::kNative ? "native" : "generic"; }

const char* xdp_stat_name(int stat) noexcept {
  switch (stat) {
    case OCM_XDP_REDIRECTED:
      return "xdp_redirected";
    case OCM_XDP_NO_XSK:
      return "xdp_no_xsk";
    case OCM_XDP_PASS_NOT_IP:
      return "xdp_pass_not_ip";
    case OCM_XDP_PASS_NOT_UDP:
      return "xdp_pass_not_udp";
    case OCM_XDP_PASS_OTHER_PORT:
      return "xdp_pass_other_port";
    case OCM_XDP_PASS_FRAGMENT:
      return "xdp_pass_fragment";
    case OCM_XDP_PASS_MALFORMED:
      return "xdp_pass_malformed";
    case OCM_XDP_PASS_OTHER_ADDRESS:
      return "xdp_pass_other_address";
    default:
      return "xdp_unknown";
  }
}

Result<std::unique_ptr<XdpProgram>> XdpProgram::load(uint16_t dtls_port, uint32_t dtls_addr) {
  libbpf_set_print(libbpf_log);
  std::unique_ptr<XdpProgram> p(new XdpProgram());
  // What LIBBPF_OPTS expands to, spelled out: its compound literal is C99/GNU, which clang's
  // -Wpedantic rejects in C++.
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.object_name = "ocm_xdp";
  p->obj_ = bpf_object__open_mem(kOcmXdpObject, kOcmXdpObjectSize, &opts);
  if (p->obj_ == nullptr) {
    return make_error("af_xdp: cannot open the embedded XDP object: " + errno_text(errno));
  }
  // Address and port live in the object's read-only data section, so the verifier and JIT see
  // constants; they must be patched before load.
  bpf_map* rodata = nullptr;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, p->obj_) {
    const char* name = bpf_map__name(m);
    size_t len = std::strlen(name);
    if (len >= 7 && std::strcmp(name + len - 7, ".rodata") == 0) {
      rodata = m;
    }
  }
  if (rodata == nullptr) {
    return make_error("af_xdp: embedded XDP object has no .rodata (ocm_cfg)");
  }
  size_t size = 0;
  const void* initial = bpf_map__initial_value(rodata, &size);
  if (initial == nullptr || size != sizeof(ocm_xdp_config)) {
    return make_error("af_xdp: embedded XDP object: unexpected .rodata layout");
  }
  // ocm_cfg is the only global; network order, as the program compares with the headers.
  ocm_xdp_config cfg{};
  cfg.dtls_addr = htonl(dtls_addr);
  cfg.dtls_port = htons(dtls_port);
  if (int err = bpf_map__set_initial_value(rodata, &cfg, sizeof cfg); err != 0) {
    return make_error("af_xdp: cannot set the DTLS address and port in the XDP object: " + errno_text(err));
  }
  if (int err = bpf_object__load(p->obj_); err != 0) {
    std::string why = errno_text(err);
    if (err == -EPERM || err == -EACCES) {
      why += " (loading BPF programs needs root or CAP_BPF + CAP_NET_ADMIN; kernel lockdown can forbid it)";
    }
    return make_error("af_xdp: the kernel refused the XDP program: " + why);
  }
  bpf_program* prog = bpf_object__find_program_by_name(p->obj_, OCM_XDP_PROG_NAME);
  bpf_map* xsks = bpf_object__find_map_by_name(p->obj_, OCM_XDP_XSKS_MAP);
  bpf_map* stats = bpf_object__find_map_by_name(p->obj_, OCM_XDP_STATS_MAP);
  if (prog == nullptr || xsks == nullptr || stats == nullptr) {
    return make_error("af_xdp: embedded XDP object lacks its program or maps");
  }
  p->prog_fd_ = bpf_program__fd(prog);
  p->xsks_fd_ = bpf_map__fd(xsks);
  p->stats_fd_ = bpf_map__fd(stats);
  return p;
}

XdpProgram::~XdpProgram() {
  detach();
  if (obj_ != nullptr) {
    bpf_object__close(obj_);
  }
}

Result<XdpAttachMode> XdpProgram::attach(const std::string& ifname, XdpModeChoice choice) {
  unsigned int ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    return make_error("af_xdp: interface '" + ifname + "' does not exist");
  }
  bpf_xdp_query_opts query{};  // LIBBPF_OPTS spelled out (see load())
  query.sz = sizeof(query);
  if (int err = bpf_xdp_query(static_cast<int>(ifindex), 0, &query); err != 0) {
    return make_error("af_xdp: cannot query XDP state of " + ifname + ": " + errno_text(err));
  }
  // Our own program from an earlier run is replaced; anything else belongs to someone else.
  const struct {
    uint32_t id;
    uint32_t flags;
  } attached[] = {{query.drv_prog_id, XDP_FLAGS_DRV_MODE},
                  {query.skb_prog_id, XDP_FLAGS_SKB_MODE},
                  {query.hw_prog_id, XDP_FLAGS_HW_MODE}};
  for (const auto& a : attached) {
    if (a.id == 0) {
      continue;
    }
    std::string name = prog_name(a.id);
    if (name != OCM_XDP_PROG_NAME) {
      return make_error("af_xdp: " + ifname + " already has an XDP program attached (" + mode_text(a.flags) +
                        " mode, id " + std::to_string(a.id) + ", name '" + name +
                        "'); remove it (ip link set dev " + ifname + " xdp off) or use another interface");
    }
    OCM_WARN("af_xdp: removing a stale ocserv-modern XDP program (id %u) from %s", a.id, ifname.c_str());
    if (int err = bpf_xdp_detach(static_cast<int>(ifindex), a.flags, nullptr); err != 0) {
      return make_error("af_xdp: cannot remove the stale XDP program from " + ifname + ": " + errno_text(err));
    }
  }

  std::string failures;
  for (XdpAttachMode mode : {XdpAttachMode::kNative, XdpAttachMode::kGeneric}) {
    if ((mode == XdpAttachMode::kNative && choice == XdpModeChoice::kGeneric) ||
        (mode == XdpAttachMode::kGeneric && choice == XdpModeChoice::kNative)) {
      continue;
    }
    uint32_t flags = XDP_FLAGS_UPDATE_IF_NOEXIST |
                     (mode == XdpAttachMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
    int err = bpf_xdp_attach(static_cast<int>(ifindex), prog_fd_, flags, nullptr);
    if (err == 0) {
      ifindex_ = static_cast<int>(ifindex);
      attach_flags_ = flags & ~static_cast<uint32_t>(XDP_FLAGS_UPDATE_IF_NOEXIST);
      return mode;
    }
    if (err == -EPERM || err == -EACCES) {
      return make_error("af_xdp: not allowed to attach XDP to " + ifname + ": " + errno_text(err) +
                        " (needs CAP_NET_ADMIN)");
    }
    if (err == -EBUSY || err == -EEXIST) {
      return make_error("af_xdp: " + ifname + " got another XDP program meanwhile: " + errno_text(err));
    }
    failures += std::string(failures.empty() ? "" : "; ") + to_string(mode) + ": " + errno_text(err);
  }
  return make_error("af_xdp: cannot attach XDP to " + ifname + " (" + failures + ")");
}

void XdpProgram::detach() noexcept {
  if (ifindex_ == 0) {
    return;
  }
  // Only if it is still ours: an operator may have replaced it meanwhile.
  bpf_xdp_attach_opts opts{};  // LIBBPF_OPTS spelled out (see load())
  opts.sz = sizeof(opts);
  opts.old_prog_fd = prog_fd_;
  int err = bpf_xdp_detach(ifindex_, attach_flags_ | XDP_FLAGS_REPLACE, &opts);
  if (err != 0) {
    OCM_WARN("af_xdp: could not detach the XDP program from ifindex %d: %s", ifindex_, errno_text(err).c_str());
  }
  ifindex_ = 0;
}

XdpStats XdpProgram::stats() const {
  XdpStats out{};
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0 || stats_fd_ < 0) {
    return out;
  }
  // Per-CPU values come back as one 8-byte slot per possible CPU.
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  for (uint32_t key = 0; key < OCM_XDP_STAT_COUNT; ++key) {
    if (bpf_map_lookup_elem(stats_fd_, &key, values.data()) != 0) {
      continue;
    }
    uint64_t sum = 0;
    for (int c = 0; c < cpus; ++c) {
      sum += values[c];
    }
    out[key] = sum;
  }
  return out;
}

}  // namespace ocm::af_xdp
