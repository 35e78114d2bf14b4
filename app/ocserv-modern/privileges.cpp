#include "privileges.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace ocm::app {
namespace {

constexpr int kKeep[] = {CAP_NET_ADMIN, CAP_NET_RAW};

bool kept(int cap) {
  for (int k : kKeep) {
    if (k == cap) {
      return true;
    }
  }
  return false;
}

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int value = CAP_LAST_CAP;
  if (in) {
    in >> value;
  }
  return value;
}

}  // namespace

Status drop_capabilities_after_setup() {
  if (::geteuid() != 0) {
    return {};
  }
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes away below.
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (!kept(cap) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return make_error(std::string("cannot drop capability ") + std::to_string(cap) +
                        " from the bounding set: " + std::strerror(errno));
    }
  }
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int cap : kKeep) {
    data[cap / 32].effective |= 1u << (cap % 32);
    data[cap / 32].permitted |= 1u << (cap % 32);
    // Inheritable, so that scripts (exec'd as root) keep exactly these too.
    data[cap / 32].inheritable |= 1u << (cap % 32);
  }
  if (::syscall(SYS_capset, &header, data) != 0) {
    return make_error(std::string("capset failed: ") + std::strerror(errno));
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return make_error(std::string("cannot set no_new_privs: ") + std::strerror(errno));
  }
  return {};
}

}  // namespace ocm::app
