#pragma once
// What one polling lcore owns and does: the pipeline context (crypto engine, session table,
// rings to the slow path, counters), the NIC and TAP ports, the kernel TUN fd, next-hop MACs,
// parked early records, and its driver counters. run_once() is one loop iteration; the thread
// that calls it (the lcore, or a unit test) must be the only one touching the Worker, except
// for the slow path's side of the rings and the relaxed reads documented in
// dpdk_data_plane.cpp.
//
// Several lcores later: one Worker per lcore with its own NIC queue pair and rings; the TUN
// direction then needs steering to the lcore that owns the session's tx sequence numbers
// (out of scope today: the driver refuses more than one lcore).

#include <cstdint>
#include <memory>

#include "commands.hpp"
#include "eth_port.hpp"
#include "neighbours.hpp"
#include "park.hpp"
#include "ocm/base/ipv4.hpp"
#include "ocm/crypto/aead.hpp"
#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/frame.hpp"
#include "ocm/datapath/session_table.hpp"

namespace ocm::dpdk {

// X(enumerator, "name"): driver counters (exported as metrics), one uint64_t each.
#define OCM_DPDK_STATS(X)                                                                        \
  X(kNicRx, "nic_rx")                       /* frames received on the NIC */                     \
  X(kNicTx, "nic_tx")                       /* frames the NIC accepted (ours + the kernel's) */  \
  X(kNicTxFull, "nic_tx_full")              /* dropped: NIC TX ring full */                      \
  X(kNicRxMultiseg, "nic_rx_multiseg")      /* dropped: chained mbuf (jumbo frame) */            \
  X(kToKernel, "to_kernel")                 /* NIC frames passed to the TAP (not our DTLS) */    \
  X(kFromKernel, "from_kernel")             /* TAP frames passed to the NIC */                   \
  X(kTapTxFull, "tap_tx_full")              /* dropped: TAP TX ring full */                      \
  X(kDtlsRx, "dtls_rx")                     /* DTLS datagrams given to the pipeline */           \
  X(kDtlsTx, "dtls_tx")                     /* DTLS datagrams framed for the NIC */              \
  X(kNoNeighbour, "no_neighbour")           /* dropped: no MAC learned for the next hop */       \
  X(kFrameFailed, "frame_failed")           /* dropped: no headroom for the headers */           \
  X(kTunRx, "tun_rx")                       /* packets read from the kernel TUN fd */            \
  X(kTunTx, "tun_tx")                       /* packets written to the kernel TUN fd */           \
  X(kTunWriteFailed, "tun_write_failed")    /* dropped: TUN write failed */                      \
  X(kTunReadOversize, "tun_read_oversize")  /* dropped: TUN packet larger than an mbuf */        \
  X(kMbufExhausted, "mbuf_exhausted")       /* TUN bursts / commands skipped: mempool empty */   \
  X(kParked, "parked")                      /* early data records held for their keys */         \
  X(kUnparked, "unparked")                  /* parked records re-run after their keys came */    \
  X(kParkExpired, "park_expired")           /* parked records re-run without keys (dropped) */   \
  X(kParkFull, "park_full")                 /* early records not parked: lot full */             \
  X(kCommands, "commands")                  /* slow-path commands applied */                     \
  X(kCommandFailed, "command_failed")       /* commands the session table refused */             \
  X(kWakeups, "wakeups")                    /* eventfd signals to the slow path */

#define OCM_DPDK_STAT_ENUM(name, str) name,
enum class Stat : uint8_t { OCM_DPDK_STATS(OCM_DPDK_STAT_ENUM) kCount };
#undef OCM_DPDK_STAT_ENUM
const char* to_string(Stat stat) noexcept;

struct alignas(64) DriverStats {
  uint64_t v[static_cast<size_t>(Stat::kCount)] = {};
  void add(Stat s, uint64_t n = 1) noexcept { v[static_cast<size_t>(s)] += n; }
  [[nodiscard]] uint64_t get(Stat s) const noexcept { return v[static_cast<size_t>(s)]; }
};

struct WorkerSettings {
  uint32_t address = 0;  // host order
  uint8_t prefix_length = 24;
  uint32_t gateway = 0;  // host order; 0 = none
  uint16_t udp_port = 443;
  Ipv4Prefix pool;
  uint32_t slots = 0;
  uint64_t hash_seed = 0;
  int tun_fd = -1;    // non-blocking, no virtio_net header
  // When set, the TUN side is this DPDK port instead of tun_fd: it carries bare IP packets
  // (net_tun, or ocm-perf-dpdk's net_ring/net_null ports), so inner packets move in bursts
  // without a syscall each. Its mbufs must come with at least kFrameHeadroom of headroom
  // (DPDK's default RTE_PKTMBUF_HEADROOM is the same 128) for the record and frame headers.
  EthPort* tun_port = nullptr;
  int event_fd = -1;  // signalled when the rings to the slow path got something; -1 = none
};

// Ring sizes. Control/CSTP: as the socket driver (1024 x 2 KiB each), enough for the slow path
// to fall a few ms behind. Commands: 256 slots x ~3.6 KiB; a command is one slow-path call, and
// the lcore applies up to kCommandsPerIteration per loop iteration (microseconds apart).
inline constexpr uint32_t kControlRingSize = 1024;
inline constexpr uint32_t kCstpRingSize = 1024;
inline constexpr uint32_t kCommandRingSize = 256;
inline constexpr uint32_t kCommandsPerIteration = 64;
// Room after a TUN packet for the DTLS tag (16) and padding.
inline constexpr uint32_t kTailReserve = 64;

class Worker {
 public:
  Worker(const WorkerSettings& settings, std::unique_ptr<crypto::CryptoEngine> engine, EthPort& nic, EthPort& tap,
         rte_mempool* pool, CommandRing& commands);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();  // frees parked packets

  // One loop iteration at time now_ns (CLOCK_MONOTONIC): commands, parked records, NIC, TAP,
  // TUN. True when anything was done (the caller may pause when idle).
  bool run_once(uint64_t now_ns) noexcept;

  datapath::Ctx& ctx() noexcept { return ctx_; }
  [[nodiscard]] const DriverStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const datapath::Counters& counters() const noexcept { return counters_; }
  [[nodiscard]] const datapath::SessionTable& sessions() const noexcept { return sessions_; }
  [[nodiscard]] const NeighbourTable& neighbours() const noexcept { return neighbours_; }
  // Lcore thread only: lets a benchmark or test seed next hops it has not sent frames from.
  NeighbourTable& neighbours() noexcept { return neighbours_; }
  [[nodiscard]] uint32_t parked() const noexcept { return park_.size(); }

 private:
  bool apply_commands() noexcept;
  void apply(const Command& c) noexcept;
  void unpark() noexcept;
  bool poll_nic() noexcept;
  bool poll_tap() noexcept;
  bool poll_tun() noexcept;
  // DTLS payload windows from the NIC (or the park): parks early records, runs the rest.
  void udp_in(datapath::PktBuf* const pkts[], uint16_t n) noexcept;
  void run_pipeline(datapath::PktBuf* const pkts[], uint16_t n) noexcept;
  // Frames records (window = UDP payload, meta.peer = destination) and sends them on the NIC;
  // takes all n packets (sent or freed).
  void send_records(datapath::PktBuf* const pkts[], uint16_t n) noexcept;
  void write_tun(datapath::PktBuf* const pkts[], uint16_t n) noexcept;
  // IP packets from the TUN side: route, seal, frame, send; takes all n packets.
  void tun_in(datapath::PktBuf* const pkts[], uint16_t n) noexcept;
  [[nodiscard]] const datapath::MacAddr* next_hop(const datapath::Peer& peer) const noexcept;
  [[nodiscard]] uint64_t slow_path_pushes() const noexcept;

  WorkerSettings settings_;
  std::unique_ptr<crypto::CryptoEngine> engine_;
  EthPort& nic_;
  EthPort& tap_;
  rte_mempool* pool_;
  CommandRing& commands_;
  datapath::SessionTable sessions_;
  datapath::ControlRing control_;
  datapath::CstpRing cstp_;
  datapath::Counters counters_;
  datapath::Ctx ctx_;
  DriverStats stats_;
  NeighbourTable neighbours_;
  ParkLot park_;
  datapath::IpAddr our_ip_;
  uint32_t netmask_ = 0;
};

}  // namespace ocm::dpdk
