#pragma once
// Dropping what the running server does not need once setup is done: the TUN device exists, the
// TCP/UDP/control/metrics sockets are bound, and the certificate is loaded.

#include <span>

#include "ocm/base/result.hpp"

namespace ocm::app {

// As root: keeps only CAP_NET_ADMIN and CAP_NET_RAW (those of them it holds) (connect/disconnect scripts add routes and
// firewall rules; nothing else in the server needs a capability after setup) in the effective,
// permitted, inheritable and bounding sets, so neither the server nor the scripts it starts
// can regain the rest (no CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_SYS_MODULE, ...). Also sets
// no_new_privs. Not root: does nothing. Files the server re-reads on reload (config, passwd,
// certificate, key) must therefore be readable by root without CAP_DAC_OVERRIDE, i.e. owned
// by root or world/group readable — the usual layout.
// also_keep: capabilities the chosen driver still needs (effective and permitted only; scripts
// do not inherit them), e.g. CAP_BPF for af_xdp, whose counter map is read through bpf(2),
// which kernel.unprivileged_bpf_disabled closes to processes without CAP_BPF.
Status drop_capabilities_after_setup(std::span<const int> also_keep = {});

}  // namespace ocm::app
