#pragma once
// EAL start/stop. rte_eal_init runs at most once per process (DPDK cannot re-initialise), on
// the calling thread, which becomes the main lcore and is pinned to the first `-l` core.

#include <string>
#include <vector>

#include "ocm/base/result.hpp"

namespace ocm::dpdk {

// argv = {"ocserv-modern", args...}. Errors carry rte_errno's text and a hint: hugepages
// missing (no --no-huge and no free 2 MB/1 GB pages), --in-memory with --no-huge, not root, or
// "EAL already initialised".
Status start_eal(const std::vector<std::string>& args);
// rte_eal_cleanup; only after start_eal succeeded and every port/mempool is gone.
void stop_eal() noexcept;

// Free hugepages of the default size, from /proc/meminfo (-1 when unreadable).
long free_hugepages();

}  // namespace ocm::dpdk
