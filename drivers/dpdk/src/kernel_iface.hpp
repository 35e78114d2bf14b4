#pragma once
// The kernel side of the TAP exception port: the appliance's address goes on the TAP (never on
// the DPDK-owned NIC), the TAP is brought up, and with a gateway a default route through it is
// added so the kernel's TLS replies reach off-link clients. ioctl only (no netlink library).

#include <cstdint>
#include <string>

#include "ocm/base/result.hpp"

namespace ocm::dpdk {

Status configure_kernel_iface(const std::string& name, uint32_t address, uint8_t prefix_length, uint32_t gateway);

}  // namespace ocm::dpdk
