#include "ocm/dpdk/dpdk_data_plane.hpp"

#include <linux/if.h>
#include <linux/if_tun.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>
#include <thread>

#include "commands.hpp"
#include "eal.hpp"
#include "eth_port.hpp"
#include "kernel_iface.hpp"
#include "mempool.hpp"
#include "ocm/base/log.hpp"
#include "worker.hpp"

namespace ocm::dpdk {
namespace {

// The TAP exception port's vdev name (one per process).
constexpr const char* kTapVdev = "net_tap_ocm";
// The TAP ring sizes: kernel traffic (TLS, ARP, ICMP) only, far below the NIC's rate.
constexpr uint16_t kTapDescriptors = 512;
// release() is the one command that must not be lost (a stale route/peer would stay on the
// lcore): with a full ring the slow path retries for up to 20 ms (the lcore applies 64 commands
// per loop iteration, microseconds apart) before giving up loudly.
constexpr auto kReleaseRetry = std::chrono::milliseconds(20);

// Same clock as the slow path's uv_hrtime (CLOCK_MONOTONIC): last_rx_ns is compared with it.
uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t random_seed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    seed = 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(getpid());
  }
  return seed;
}

// Reads of lcore-owned fields from the slow path. The lcore writes them with plain stores (the
// pipeline is single-threaded code); every field read here is naturally aligned and at most 8
// bytes, which x86-64 loads and stores as a whole, so a value is never torn, only possibly a
// little stale. Used for telemetry (monotonic counters) and for the DPD timers' last_rx_ns and
// the state byte, where a value one loop iteration old changes nothing: the decisions taken
// on them (send a DPD request, move downstream to CSTP) are repaired by the next record.
template <typename T>
T relaxed_load(const T& field) noexcept {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_relaxed);
}

std::string mac_text(const datapath::MacAddr& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

}  // namespace

struct DpdkDataPlane::Impl {
  explicit Impl(const DpdkDataPlaneSettings& s) : settings(s), commands(kCommandRingSize) {}
  ~Impl() {
    if (event_fd >= 0) {
      ::close(event_fd);
    }
  }

  Status setup();  // lcore thread, after EAL
  void loop() noexcept;
  void teardown() noexcept;
  void lcore_main(std::promise<Status> ready);
  // Slow path: reserve a command slot (nullptr + counted when full).
  Command* reserve() noexcept {
    Command* c = commands.reserve();
    if (c == nullptr) {
      ++command_ring_full;
    }
    return c;
  }
  // Slow path: a command slot of `kind` carrying a copy of `bytes` (the caller sets the rest and
  // commits); nullptr + counted when the bytes do not fit or the ring is full.
  Command* reserve_with_bytes(CommandKind kind, std::span<const uint8_t> bytes) noexcept {
    if (bytes.size() > kCommandPayload) {
      ++command_too_big;
      return nullptr;
    }
    Command* c = reserve();
    if (c != nullptr) {
      c->kind = kind;
      c->len = static_cast<uint16_t>(bytes.size());
      std::memcpy(c->data, bytes.data(), bytes.size());
    }
    return c;
  }
  [[nodiscard]] uint32_t slots() const noexcept { return worker->sessions().capacity(); }

  DpdkDataPlaneSettings settings;
  std::unique_ptr<crypto::CryptoEngine> key_engine;  // the slow path's (AeadKey::create)
  int event_fd = -1;
  CommandRing commands;
  std::atomic<bool> stop{false};
  std::thread thread;

  // Created and used by the lcore thread; published to the slow path by the promise.
  MempoolPtr pool;
  std::unique_ptr<EthPort> nic;
  std::unique_ptr<EthPort> tap;
  bool tap_created = false;
  std::unique_ptr<Worker> worker;

  // Slow path only.
  // CSTP -> TUN packets never reach the lcore, and its buckets are the lcore's: the slow path
  // polices them with its own copy of each slot's rx limit (sized with the slots at setup).
  std::vector<datapath::TokenBucket> cstp_rx_limits;
  uint64_t command_ring_full = 0;
  uint64_t command_too_big = 0;
  uint64_t slow_tun_write_failures = 0;
  uint64_t release_lost = 0;
};

Status DpdkDataPlane::Impl::setup() {
  const DpdkDataPlaneSettings& s = settings;
  if (rte_lcore_count() != 1) {
    return make_error("dpdk: eal_args give " + std::to_string(rte_lcore_count()) +
                      " lcores; this version runs exactly one polling lcore (give one core, e.g. \"-l\", \"1\"): "
                      "a session's sequence numbers are owned by one thread, and steering TUN packets to the "
                      "owning lcore is not implemented");
  }
  if (rte_eth_dev_is_valid_port(s.port) == 0) {
    return make_error("dpdk: port " + std::to_string(s.port) + " does not exist (" + describe_ports() +
                      "); check datapath.dpdk.port and the --vdev / PCI allow list in eal_args");
  }
  MempoolSizing sizing;
  sizing.nic_rx_descriptors = s.rx_descriptors;
  sizing.nic_tx_descriptors = s.tx_descriptors;
  sizing.tap_descriptors = kTapDescriptors;
  sizing.ring_packets = ParkLot::kCapacity;
  uint32_t mbufs = s.mbufs != 0 ? s.mbufs : mempool_size(sizing);
  int socket = rte_eth_dev_socket_id(s.port);
  auto mp = create_pkt_mempool("ocm_pkts", mbufs, socket < 0 ? SOCKET_ID_ANY : socket);
  if (!mp) {
    return mp.error();
  }
  pool = std::move(mp).value();
  auto nic_port = EthPort::open(s.port, pool.get(), s.rx_descriptors, s.tx_descriptors);
  if (!nic_port) {
    return nic_port.error();
  }
  nic = std::move(nic_port).value();

  std::string tap_args = "iface=" + s.tap_name + ",mac=" + mac_text(nic->mac());
  if (int rc = rte_vdev_init(kTapVdev, tap_args.c_str()); rc != 0) {
    return make_error("dpdk: cannot create the TAP exception port (" + std::string(kTapVdev) + "," + tap_args +
                      "): " + rte_strerror(rc < 0 ? -rc : rc));
  }
  tap_created = true;
  uint16_t tap_id = 0;
  if (rte_eth_dev_get_port_by_name(kTapVdev, &tap_id) != 0) {
    return make_error("dpdk: TAP exception port created but not found by name");
  }
  auto tap_port = EthPort::open(tap_id, pool.get(), kTapDescriptors, kTapDescriptors);
  if (!tap_port) {
    return tap_port.error();
  }
  tap = std::move(tap_port).value();
  if (auto up = configure_kernel_iface(s.tap_name, s.address, s.prefix_length, s.gateway); !up) {
    return up;
  }

  auto engine = crypto::CryptoEngine::create();  // on this thread: ipsec-mb managers are per thread
  if (!engine) {
    return engine.error();
  }
  WorkerSettings ws;
  ws.address = s.address;
  ws.prefix_length = s.prefix_length;
  ws.gateway = s.gateway;
  ws.udp_port = s.udp_port;
  ws.pool = s.pool;
  uint32_t pool_addresses = s.pool.length >= 32 ? 1U : (1U << (32 - s.pool.length));
  ws.slots = s.max_sessions != 0 ? s.max_sessions : pool_addresses;
  ws.hash_seed = random_seed();
  ws.tun_fd = s.tun_fd;
  ws.event_fd = event_fd;
  worker = std::make_unique<Worker>(ws, std::move(engine).value(), *nic, *tap, pool.get(), commands);
  OCM_INFO("dpdk data plane: lcore %u, port %u (%s, %s), TAP %s (port %u) with %s/%u, %u mbufs, DTLS on UDP %u",
           rte_lcore_id(), s.port, nic->name().c_str(), mac_text(nic->mac()).c_str(), s.tap_name.c_str(), tap_id,
           format_ipv4(s.address).c_str(), s.prefix_length, mbufs, s.udp_port);
  return {};
}

void DpdkDataPlane::Impl::loop() noexcept {
  while (!stop.load(std::memory_order_acquire)) {
    if (!worker->run_once(monotonic_ns())) {
      rte_pause();  // idle: be kind to the sibling hyper-thread
    }
  }
}

void DpdkDataPlane::Impl::teardown() noexcept {
  if (worker) {
    const DriverStats& st = worker->stats();
    std::string line;
    for (size_t i = 0; i < static_cast<size_t>(Stat::kCount); ++i) {
      line += std::string(i == 0 ? "" : " ") + to_string(static_cast<Stat>(i)) + "=" + std::to_string(st.v[i]);
    }
    OCM_INFO("dpdk data plane stopped: %s", line.c_str());
  }
  worker.reset();  // frees parked packets
  if (tap) {
    uint16_t id = tap->id();
    tap.reset();
    rte_eth_dev_close(id);
  }
  if (tap_created) {
    rte_vdev_uninit(kTapVdev);  // the kernel TAP interface disappears
  }
  if (nic) {
    uint16_t id = nic->id();
    nic.reset();
    rte_eth_dev_close(id);
  }
  pool.reset();
  stop_eal();
}

void DpdkDataPlane::Impl::lcore_main(std::promise<Status> ready) {
  if (auto started = start_eal(settings.eal_args); !started) {
    ready.set_value(started);
    return;
  }
  if (auto s = setup(); !s) {
    teardown();
    ready.set_value(s);
    return;
  }
  ready.set_value({});
  loop();
  teardown();
}

Result<std::unique_ptr<DpdkDataPlane>> DpdkDataPlane::create(const DpdkDataPlaneSettings& settings) {
  if (settings.tun_fd < 0) {
    return make_error("dpdk driver: no TUN queue");
  }
  ifreq ifr{};
  if (::ioctl(settings.tun_fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR) != 0) {
    return make_error("dpdk driver: the TUN queue carries virtio_net headers; open it without offloads");
  }
  auto impl = std::make_unique<Impl>(settings);
  auto engine = crypto::CryptoEngine::create();
  if (!engine) {
    return engine.error();
  }
  impl->key_engine = std::move(engine).value();
  impl->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->event_fd < 0) {
    return make_error(std::string("dpdk driver: eventfd: ") + std::strerror(errno));
  }
  std::promise<Status> ready;
  std::future<Status> result = ready.get_future();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw, p = std::move(ready)]() mutable { raw->lcore_main(std::move(p)); });
  Status status = result.get();
  if (!status) {
    impl->thread.join();
    return status.error();
  }
  return std::unique_ptr<DpdkDataPlane>(new DpdkDataPlane(std::move(impl)));
}

DpdkDataPlane::DpdkDataPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DpdkDataPlane::~DpdkDataPlane() {
  impl_->stop.store(true, std::memory_order_release);
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
}

std::vector<int> DpdkDataPlane::poll_fds() const { return {impl_->event_fd}; }

void DpdkDataPlane::poll(int fd, uint64_t /*now_ns*/) noexcept {
  // Only clears the wake-up; the slow path drains ctx().control / ctx().cstp right after.
  uint64_t value = 0;
  if (fd == impl_->event_fd) {
    (void)::read(fd, &value, sizeof value);
  }
}

datapath::Ctx& DpdkDataPlane::ctx() noexcept { return impl_->worker->ctx(); }

bool DpdkDataPlane::send_datagram(const datapath::Peer& peer, std::span<const uint8_t> datagram) noexcept {
  Command* c = impl_->reserve_with_bytes(CommandKind::kSendDatagram, datagram);
  if (c == nullptr) {
    return false;
  }
  c->peer = peer;
  impl_->commands.commit();
  return true;
}

bool DpdkDataPlane::send_payload(uint32_t slot, std::span<const uint8_t> payload, uint64_t /*now_ns*/) noexcept {
  Command* c = impl_->reserve_with_bytes(CommandKind::kSendPayload, payload);
  if (c == nullptr) {
    return false;
  }
  c->slot = slot;
  impl_->commands.commit();
  return true;
}

bool DpdkDataPlane::write_tun(std::span<const uint8_t> packet) noexcept {
  // Kernel TUN writes are atomic per packet and thread-safe: no need to go through the lcore.
  if (::write(impl_->settings.tun_fd, packet.data(), packet.size()) != static_cast<ssize_t>(packet.size())) {
    ++impl_->slow_tun_write_failures;
    return false;
  }
  return true;
}

Status DpdkDataPlane::attach_cstp(uint32_t slot, uint32_t lease) {
  // What the table would refuse, checked here so the caller gets the error synchronously.
  if (slot >= impl_->slots()) {
    return make_error("slot " + std::to_string(slot) + " out of range");
  }
  if (!impl_->settings.pool.contains(lease)) {
    return make_error("lease " + format_ipv4(lease) + " outside the pool");
  }
  Command* c = impl_->reserve();
  if (c == nullptr) {
    return make_error("dpdk: command ring full");
  }
  c->kind = CommandKind::kAttachCstp;
  c->slot = slot;
  c->lease = lease;
  impl_->commands.commit();
  return {};
}

Status DpdkDataPlane::activate_dtls(uint32_t slot, uint32_t lease, const datapath::Peer& peer,
                                    const crypto::AeadKey& rx_key, const crypto::AeadKey& tx_key, uint16_t epoch,
                                    uint64_t first_tx_seq) {
  if (slot >= impl_->slots()) {
    return make_error("slot " + std::to_string(slot) + " out of range");
  }
  if (!impl_->settings.pool.contains(lease)) {
    return make_error("lease " + format_ipv4(lease) + " outside the pool");
  }
  Command* c = impl_->reserve();
  if (c == nullptr) {
    return make_error("dpdk: command ring full");
  }
  c->kind = CommandKind::kActivate;
  c->slot = slot;
  c->lease = lease;
  c->peer = peer;
  c->rx_key = rx_key;
  c->tx_key = tx_key;
  c->epoch = epoch;
  c->first_tx_seq = first_tx_seq;
  impl_->commands.commit();
  return {};
}

Status DpdkDataPlane::mark_dtls_inactive(uint32_t slot) {
  if (slot >= impl_->slots()) {
    return make_error("slot " + std::to_string(slot) + " out of range");
  }
  Command* c = impl_->reserve();
  if (c == nullptr) {
    return make_error("dpdk: command ring full");
  }
  c->kind = CommandKind::kMarkInactive;
  c->slot = slot;
  impl_->commands.commit();
  return {};
}

Status DpdkDataPlane::set_rate_limit(uint32_t slot, uint64_t rx_bytes_per_second, uint64_t tx_bytes_per_second) {
  if (slot >= impl_->slots()) {
    return make_error("slot " + std::to_string(slot) + " out of range");
  }
  Command* c = impl_->reserve();
  if (c == nullptr) {
    return make_error("dpdk: command ring full");
  }
  c->kind = CommandKind::kSetRateLimit;
  c->slot = slot;
  c->rx_rate = rx_bytes_per_second;
  c->tx_rate = tx_bytes_per_second;
  impl_->commands.commit();
  if (impl_->cstp_rx_limits.size() != impl_->slots()) {
    impl_->cstp_rx_limits.resize(impl_->slots());
  }
  impl_->cstp_rx_limits[slot].set_rate(rx_bytes_per_second);
  return {};
}

Status DpdkDataPlane::attach_ipv6(uint32_t slot, const datapath::Ipv6Subnet& lease) {
  if (slot >= impl_->slots()) {
    return make_error("slot " + std::to_string(slot) + " out of range");
  }
  Command* c = impl_->reserve();
  if (c == nullptr) {
    return make_error("dpdk: command ring full");
  }
  c->kind = CommandKind::kAttachIpv6;
  c->slot = slot;
  c->lease6 = lease;
  impl_->commands.commit();
  return {};
}

Status DpdkDataPlane::set_restriction(uint32_t slot, const datapath::RouteRestriction& restriction) {
  if (slot >= impl_->slots()) {
    return make_error("slot " + std::to_string(slot) + " out of range");
  }
  if (restriction.count > datapath::kMaxRestrictedRoutes || restriction.port_count > datapath::kMaxPortRules) {
    return make_error("too many restricted routes or port rules");  // the lcore would refuse it too, unseen
  }
  Command* c = impl_->reserve();
  if (c == nullptr) {
    return make_error("dpdk: command ring full");
  }
  c->kind = CommandKind::kSetRestriction;
  c->slot = slot;
  c->restriction = restriction;
  impl_->commands.commit();
  return {};
}

Status DpdkDataPlane::set_compression(uint32_t slot, proto::Compression algorithm, uint16_t min_size) {
  if (slot >= impl_->slots()) {
    return make_error("slot " + std::to_string(slot) + " out of range");
  }
  Command* c = impl_->reserve();
  if (c == nullptr) {
    return make_error("dpdk: command ring full");
  }
  c->kind = CommandKind::kSetCompression;
  c->slot = slot;
  c->compression = algorithm;
  c->compress_min_size = min_size;
  impl_->commands.commit();
  return {};
}

bool DpdkDataPlane::admit_cstp_rx(uint32_t slot, uint32_t bytes, uint64_t now_ns) noexcept {
  if (slot >= impl_->cstp_rx_limits.size()) {
    return true;  // no limit was ever set
  }
  return impl_->cstp_rx_limits[slot].take(bytes, now_ns);
}

void DpdkDataPlane::release(uint32_t slot) noexcept {
  if (slot >= impl_->slots()) {
    return;
  }
  auto deadline = std::chrono::steady_clock::now() + kReleaseRetry;
  Command* c = impl_->reserve();
  while (c == nullptr && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    c = impl_->commands.reserve();
  }
  if (c == nullptr) {
    ++impl_->release_lost;
    OCM_ERROR("dpdk: command ring full for 20 ms; slot %u not released on the lcore", slot);
    return;
  }
  c->kind = CommandKind::kRelease;
  c->slot = slot;
  impl_->commands.commit();
}

datapath::SessionView DpdkDataPlane::session_view(uint32_t slot) noexcept {
  const datapath::SessionTable& table = impl_->worker->sessions();
  if (!table.valid_slot(slot)) {
    return {};
  }
  const datapath::DtlsSession& s = table.session(slot);
  datapath::SessionView v;
  v.state = relaxed_load(s.state);
  v.last_rx_ns = relaxed_load(s.last_rx_ns);
  v.counters.rx_packets = relaxed_load(s.counters.rx_packets);
  v.counters.rx_bytes = relaxed_load(s.counters.rx_bytes);
  v.counters.tx_packets = relaxed_load(s.counters.tx_packets);
  v.counters.tx_bytes = relaxed_load(s.counters.tx_bytes);
  v.counters.auth_failures = relaxed_load(s.counters.auth_failures);
  v.counters.replays = relaxed_load(s.counters.replays);
  return v;
}

datapath::Counters DpdkDataPlane::counters() noexcept {
  const datapath::Counters& src = impl_->worker->counters();
  datapath::Counters out;
  for (auto [to, from] : {std::pair{&out.udp_rx, &src.udp_rx}, std::pair{&out.udp_tx, &src.udp_tx},
                          std::pair{&out.tun_rx, &src.tun_rx}, std::pair{&out.tun_tx, &src.tun_tx}}) {
    to->packets = relaxed_load(from->packets);
    to->bytes = relaxed_load(from->bytes);
  }
  for (size_t i = 0; i < datapath::kDropReasonCount; ++i) {
    out.drops[i] = relaxed_load(src.drops[i]);
  }
  for (size_t i = 0; i < datapath::kEventCount; ++i) {
    out.events[i] = relaxed_load(src.events[i]);
  }
  return out;
}

crypto::CryptoEngine& DpdkDataPlane::key_engine() noexcept { return *impl_->key_engine; }

std::vector<std::pair<std::string, uint64_t>> DpdkDataPlane::driver_counters() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  const DriverStats& st = impl_->worker->stats();
  for (size_t i = 0; i < static_cast<size_t>(Stat::kCount); ++i) {
    out.emplace_back(to_string(static_cast<Stat>(i)), relaxed_load(st.v[i]));
  }
  out.emplace_back("command_ring_full", impl_->command_ring_full);
  out.emplace_back("command_too_big", impl_->command_too_big);
  out.emplace_back("release_lost", impl_->release_lost);
  out.emplace_back("slow_path_tun_write_failures", impl_->slow_tun_write_failures);
  return out;
}

}  // namespace ocm::dpdk
