#include "eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>

namespace ocm::dpdk {
namespace {
std::atomic<bool> g_eal_started{false};

bool has_arg(const std::vector<std::string>& args, const std::string& name) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) { return a == name || a.starts_with(name + "="); });
}
}  // namespace

long free_hugepages() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long value = 0;
  while (in >> key >> value) {
    if (key == "HugePages_Free:") {
      return value;
    }
    in.ignore(256, '\n');
  }
  return -1;
}

Status start_eal(const std::vector<std::string>& args) {
  if (g_eal_started.exchange(true)) {
    return make_error("dpdk: EAL is already initialised in this process (DPDK can start only once)");
  }
  std::vector<std::string> storage;
  storage.reserve(args.size() + 1);
  storage.emplace_back("ocserv-modern");
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) {
    argv.push_back(s.data());
  }
  argv.push_back(nullptr);
  int rc = rte_eal_init(static_cast<int>(storage.size()), argv.data());
  if (rc >= 0) {
    return {};
  }
  int err = rte_errno;
  std::string why = rte_strerror(err);
  std::string hint;
  bool no_huge = has_arg(args, "--no-huge");
  if (no_huge && has_arg(args, "--in-memory")) {
    hint = "--in-memory cannot be combined with --no-huge; use --no-huge --no-shconf";
  } else if (err == EINVAL) {
    hint = "invalid EAL arguments in datapath.dpdk.eal_args (EAL's usage text is above)";
  } else if (!no_huge && free_hugepages() == 0) {
    hint = "no free hugepages: reserve some (scripts/dpdk-setup.sh --hugepages N) or add \"--no-huge\" to eal_args";
  } else if (::geteuid() != 0) {
    hint = "EAL needs root (or CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_IPC_LOCK)";
  } else {
    hint = "see the EAL messages above; check eal_args";
  }
  return make_error("dpdk: EAL cannot start (rte_eal_init: " + why + "): " + hint);
}

void stop_eal() noexcept { rte_eal_cleanup(); }

}  // namespace ocm::dpdk
