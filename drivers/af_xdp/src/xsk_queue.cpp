#include "xsk_queue.hpp"

#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ocm/base/log.hpp"

namespace ocm::af_xdp {
namespace {

using datapath::PktBuf;

// Frames kept out of the fill ring so that TUN reads and slow-path datagrams always find TX
// buffers: a quarter of the UMEM (1024 of 4096 frames = 32 bursts in flight to the kernel).
uint32_t tx_reserve(uint32_t frames) { return frames / 4; }

// Each ring holds half the frames, rounded down to a power of two (the kernel's requirement):
// fill + rx can then never hold more frames than exist, nor can tx + completion.
uint32_t ring_size_for(uint32_t frames) {
  uint32_t half = std::max<uint32_t>(frames / 2, 64);
  uint32_t size = 1;
  while (size * 2 <= half) {
    size *= 2;
  }
  return size;
}

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

}  // namespace

void XskQueue::UmemDeleter::operator()(uint8_t* p) const noexcept { ::munmap(p, bytes); }

Result<std::unique_ptr<XskQueue>> XskQueue::create(const XskQueueSettings& s) {
  if (s.frames < 256 || s.frames > (1u << 20)) {
    return make_error("af_xdp: frames_per_queue must be between 256 and 1048576");
  }
  std::unique_ptr<XskQueue> q(new XskQueue());
  q->frames_ = s.frames;
  q->ring_size_ = ring_size_for(s.frames);
  const uint32_t bytes = s.frames * kFrameSize;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (mem == MAP_FAILED) {
    return make_error("af_xdp: cannot map " + std::to_string(bytes) + " bytes of UMEM: " + errno_text(errno));
  }
  q->area_ = std::unique_ptr<uint8_t, UmemDeleter>(static_cast<uint8_t*>(mem), UmemDeleter{bytes});
  q->handles_ = std::make_unique<PktBuf[]>(s.frames);
  q->free_ = std::make_unique<uint32_t[]>(s.frames);
  for (uint32_t i = 0; i < s.frames; ++i) {
    q->handles_[i].attach(q->area_.get() + uint64_t{i} * kFrameSize, kFrameSize);
    q->free_[i] = s.frames - 1 - i;
  }
  q->free_count_ = s.frames;

  // auto: zero-copy first; a driver without it (veth, most virtual NICs) refuses the bind
  // with EOPNOTSUPP, and copy mode follows on a fresh UMEM registration.
  std::string failures;
  for (bool zc : {true, false}) {
    if ((zc && s.copy == CopyChoice::kCopy) || (!zc && s.copy == CopyChoice::kZeroCopy)) {
      continue;
    }
    xsk_umem_config ucfg{};
    ucfg.fill_size = q->ring_size_;
    ucfg.comp_size = q->ring_size_;
    ucfg.frame_size = kFrameSize;
    ucfg.frame_headroom = 0;
    ucfg.flags = 0;
    int err = xsk_umem__create(&q->umem_, q->area_.get(), bytes, &q->fill_, &q->comp_, &ucfg);
    if (err != 0) {
      return make_error("af_xdp: cannot register UMEM: " + errno_text(err) +
                        (err == -EPERM || err == -ENOMEM ? " (locked-memory limit? run as root)" : ""));
    }
    xsk_socket_config cfg{};
    cfg.rx_size = q->ring_size_;
    cfg.tx_size = q->ring_size_;
    // Our own XDP program is attached already; libxdp must not load its default one.
    cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
    cfg.xdp_flags = 0;
    cfg.bind_flags = static_cast<uint16_t>(XDP_USE_NEED_WAKEUP | (zc ? XDP_ZEROCOPY : XDP_COPY));
    err = xsk_socket__create(&q->xsk_, s.ifname.c_str(), s.queue_id, q->umem_, &q->rx_, &q->tx_, &cfg);
    if (err == 0) {
      q->zero_copy_ = zc;
      break;
    }
    q->xsk_ = nullptr;
    xsk_umem__delete(q->umem_);
    q->umem_ = nullptr;
    failures += std::string(failures.empty() ? "" : "; ") + (zc ? "zero-copy: " : "copy: ") + errno_text(err);
  }
  if (q->xsk_ == nullptr) {
    return make_error("af_xdp: cannot bind an AF_XDP socket to " + s.ifname + " queue " +
                      std::to_string(s.queue_id) + " (" + failures + ")");
  }
  if (int err = xsk_socket__update_xskmap(q->xsk_, s.xsks_map_fd); err != 0) {
    return make_error("af_xdp: cannot register the socket of queue " + std::to_string(s.queue_id) +
                      " in the XSKMAP: " + errno_text(err));
  }
  q->refill();
  return q;
}

XskQueue::~XskQueue() {
  if (xsk_ != nullptr) {
    xsk_socket__delete(xsk_);
  }
  if (umem_ != nullptr) {
    xsk_umem__delete(umem_);
  }
}

int XskQueue::fd() const noexcept { return xsk_socket__fd(xsk_); }

uint64_t XskQueue::addr_of(const PktBuf* p) const noexcept {
  auto base = static_cast<uint64_t>(p - handles_.get()) * kFrameSize;
  return base + p->headroom();
}

PktBuf* XskQueue::alloc() noexcept {
  if (free_count_ == 0) {
    return nullptr;
  }
  PktBuf* p = &handles_[free_[--free_count_]];
  p->reset();
  return p;
}

bool XskQueue::alloc_bulk(PktBuf* out[], uint32_t n) noexcept {
  if (free_count_ < n) {
    return false;
  }
  for (uint32_t i = 0; i < n; ++i) {
    out[i] = alloc();
  }
  return true;
}

void XskQueue::free(PktBuf* pkt) noexcept { free_[free_count_++] = static_cast<uint32_t>(pkt - handles_.get()); }

void XskQueue::free_bulk(PktBuf* const pkts[], uint32_t n) noexcept {
  for (uint32_t i = 0; i < n; ++i) {
    free(pkts[i]);
  }
}

void XskQueue::refill() noexcept {
  const uint32_t reserve = tx_reserve(frames_);
  uint32_t room = xsk_prod_nb_free(&fill_, ring_size_);
  uint32_t spare = free_count_ > reserve ? free_count_ - reserve : 0;
  uint32_t n = std::min(room, spare);
  if (n == 0) {
    if (room == ring_size_) {  // the kernel has no frame at all to receive into
      ++stats_.fill_starved;
    }
    return;
  }
  uint32_t idx = 0;
  if (xsk_ring_prod__reserve(&fill_, n, &idx) != n) {
    return;
  }
  for (uint32_t i = 0; i < n; ++i) {
    *xsk_ring_prod__fill_addr(&fill_, idx + i) = uint64_t{free_[--free_count_]} * kFrameSize;
  }
  xsk_ring_prod__submit(&fill_, n);
}

void XskQueue::reclaim() noexcept {
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&comp_, ring_size_, &idx);
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t addr = *xsk_ring_cons__comp_addr(&comp_, idx + i);
    free_[free_count_++] = static_cast<uint32_t>(addr / kFrameSize);
  }
  if (n > 0) {
    xsk_ring_cons__release(&comp_, n);
  }
  refill();
}

uint32_t XskQueue::receive(PktBuf* out[], uint32_t max) noexcept {
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&rx_, max, &idx);
  for (uint32_t i = 0; i < n; ++i) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, idx + i);
    // Aligned chunk mode: the frame is the 2 KiB chunk holding addr; the kernel put the packet
    // at an offset inside it (its XDP headroom).
    PktBuf* p = handle_of(d->addr);
    p->reset();
    p->set_window(static_cast<uint32_t>(d->addr % kFrameSize), d->len);
    out[i] = p;
  }
  if (n > 0) {
    xsk_ring_cons__release(&rx_, n);
    stats_.rx_frames += n;
  }
  refill();
  return n;
}

uint32_t XskQueue::transmit(PktBuf* const pkts[], uint32_t n) noexcept {
  if (n == 0) {
    return 0;
  }
  if (xsk_prod_nb_free(&tx_, n) < n) {
    reclaim();
  }
  uint32_t room = xsk_prod_nb_free(&tx_, n);
  uint32_t take = std::min(room, n);
  uint32_t idx = 0;
  if (take > 0 && xsk_ring_prod__reserve(&tx_, take, &idx) == take) {
    for (uint32_t i = 0; i < take; ++i) {
      xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx + i);
      d->addr = addr_of(pkts[i]);
      d->len = pkts[i]->len();
      d->options = 0;
    }
    xsk_ring_prod__submit(&tx_, take);
  } else {
    take = 0;
  }
  if (take < n) {
    stats_.tx_ring_full += n - take;
    free_bulk(pkts + take, n - take);
  }
  stats_.tx_frames += take;
  // Copy mode transmits only inside sendto(); zero-copy drivers ask for it when they sleep.
  if (take > 0 && (!zero_copy_ || xsk_ring_prod__needs_wakeup(&tx_))) {
    if (::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN && errno != EBUSY &&
        errno != ENOBUFS && errno != ENETDOWN) {
      ++stats_.kick_failures;
    }
  }
  // Copy mode completes inside sendto(): hand those frames back right away.
  reclaim();
  return take;
}

XskQueue::KernelStats XskQueue::kernel_stats() const noexcept {
  xdp_statistics st{};
  socklen_t len = sizeof st;
  KernelStats out;
  if (::getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
    out.rx_dropped = st.rx_dropped;
    out.rx_invalid_descs = st.rx_invalid_descs;
    out.tx_invalid_descs = st.tx_invalid_descs;
    out.rx_ring_full = st.rx_ring_full;
    out.rx_fill_ring_empty_descs = st.rx_fill_ring_empty_descs;
    out.tx_ring_empty_descs = st.tx_ring_empty_descs;
  }
  return out;
}

}  // namespace ocm::af_xdp
