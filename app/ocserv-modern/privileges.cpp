#include "privileges.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ocm::app {
namespace {

constexpr int kKeep[] = {CAP_NET_ADMIN, CAP_NET_RAW};

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int value = CAP_LAST_CAP;
  if (in) {
    in >> value;
  }
  return value;
}

// Capabilities, the bounding set and no_new_privs are per thread: capset(2) with pid 0 changes
// only the calling thread. Threads started during setup (the dpdk driver's EAL and lcore
// threads, libuv's pool) would keep full root otherwise, so every thread runs the same drop,
// the others from a signal handler (as glibc does for setuid). Everything the handler touches
// is prepared before the signal is sent and it makes only syscalls (async-signal-safe).
struct DropPlan {
  uint64_t bounding_keep = 0;  // bit per capability kept in the bounding set
  // Dropping from the bounding set needs CAP_SETPCAP. Started by systemd with a restricted
  // CapabilityBoundingSet= we lack it, and the unit has already narrowed the set; with
  // no_new_privs an exec cannot raise the permitted set beyond ours either way.
  bool drop_bounding = true;
  int last_cap = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
};
DropPlan* g_plan = nullptr;

bool drop_this_thread(DropPlan& plan) noexcept {
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes away below.
  for (int cap = 0; plan.drop_bounding && cap <= plan.last_cap; ++cap) {
    if ((plan.bounding_keep >> cap & 1) == 0 && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return false;
    }
  }
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  std::memcpy(data, plan.data, sizeof data);
  if (::syscall(SYS_capset, &header, data) != 0) {
    return false;
  }
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
}

void on_drop_signal(int /*signo*/) {
  int saved = errno;
  if (g_plan != nullptr) {
    if (!drop_this_thread(*g_plan)) {
      g_plan->failed.fetch_add(1);
    }
    g_plan->done.fetch_add(1);
  }
  errno = saved;
}

std::vector<pid_t> other_threads() {
  std::vector<pid_t> tids;
  auto self = static_cast<pid_t>(::syscall(SYS_gettid));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    pid_t tid = std::atoi(entry.path().filename().c_str());
    if (tid > 0 && tid != self) {
      tids.push_back(tid);
    }
  }
  return tids;
}

// "CapEff:\t0000000000003000" -> the mask, from /proc/self/task/<tid>/status.
std::optional<uint64_t> read_mask(pid_t tid, std::string_view field) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() + 1 && line[field.size()] == ':') {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 16);
    }
  }
  return std::nullopt;
}

}  // namespace

Status drop_capabilities_after_setup(std::span<const int> also_keep) {
  if (::geteuid() != 0) {
    return {};
  }
  // capset(2) can only lower the permitted set: keep what we hold of the wanted capabilities.
  // A service manager may have started us without some of them (the systemd unit grants no
  // CAP_NET_RAW), and asking for one we lack would fail the whole drop with EPERM.
  __user_cap_header_struct get_header{};
  get_header.version = _LINUX_CAPABILITY_VERSION_3;
  get_header.pid = 0;
  __user_cap_data_struct held[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &get_header, held) != 0) {
    return make_error(std::string("capget failed: ") + std::strerror(errno));
  }
  auto holds = [&held](int cap) { return (held[cap / 32].permitted >> (cap % 32) & 1u) != 0; };
  static DropPlan plan;
  plan.last_cap = std::min(last_cap(), 63);
  plan.drop_bounding = holds(CAP_SETPCAP);
  uint64_t effective = 0;
  for (int cap : kKeep) {
    if (!holds(cap)) {
      continue;
    }
    plan.bounding_keep |= uint64_t{1} << cap;
    effective |= uint64_t{1} << cap;
    plan.data[cap / 32].effective |= 1u << (cap % 32);
    plan.data[cap / 32].permitted |= 1u << (cap % 32);
    // Inheritable, so that scripts (exec'd as root) keep exactly these too.
    plan.data[cap / 32].inheritable |= 1u << (cap % 32);
  }
  // Only for the server itself: scripts do not get these.
  for (int cap : also_keep) {
    if (!holds(cap)) {
      continue;
    }
    plan.bounding_keep |= uint64_t{1} << cap;
    effective |= uint64_t{1} << cap;
    plan.data[cap / 32].effective |= 1u << (cap % 32);
    plan.data[cap / 32].permitted |= 1u << (cap % 32);
  }
  g_plan = &plan;

  const int signo = SIGRTMIN + 2;
  struct sigaction action {};
  action.sa_handler = on_drop_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (::sigaction(signo, &action, nullptr) != 0) {
    return make_error(std::string("cannot install the capability-drop signal handler: ") + std::strerror(errno));
  }
  std::vector<pid_t> others = other_threads();
  int sent = 0;
  for (pid_t tid : others) {
    if (::syscall(SYS_tgkill, ::getpid(), tid, signo) == 0) {
      ++sent;
    }
  }
  if (!drop_this_thread(plan)) {
    return make_error(std::string("cannot drop capabilities: ") + std::strerror(errno));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (plan.done.load() < sent && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (plan.failed.load() != 0) {
    return make_error("cannot drop capabilities in " + std::to_string(plan.failed.load()) + " thread(s)");
  }
  // Trust, but verify: a thread that blocked the signal, or was born while we looked, must not
  // keep root unnoticed.
  auto self = static_cast<pid_t>(::syscall(SYS_gettid));
  others = other_threads();
  others.push_back(self);
  for (pid_t tid : others) {
    auto eff = read_mask(tid, "CapEff");
    auto bnd = read_mask(tid, "CapBnd");
    if (!eff || !bnd) {
      continue;  // the thread exited meanwhile
    }
    if ((*eff & ~effective) != 0 || (plan.drop_bounding && (*bnd & ~plan.bounding_keep) != 0)) {
      return make_error("thread " + std::to_string(tid) + " still holds capabilities after the drop (CapEff " +
                        std::to_string(*eff) + ", CapBnd " + std::to_string(*bnd) + ")");
    }
  }
  return {};
}

}  // namespace ocm::app
