#include "ocm/datapath/pkt.hpp"

#include <cstdlib>
#include <new>

#include "ocm/base/log.hpp"

namespace ocm::datapath {
namespace {

// murmur3's 64-bit finaliser: every input bit affects every output bit.
uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t load64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Buffers start on a cache line so that the packet at kHeadroom does too.
constexpr size_t kBufAlign = 64;

}  // namespace

// Not a PRF: the secret seed only keeps remote peers from predicting bucket positions cheaply.
uint64_t hash_ip(const IpAddr& addr, uint64_t seed) noexcept {
  uint64_t h = mix64(load64(addr.bytes.data()) ^ seed);
  return mix64(h ^ load64(addr.bytes.data() + 8) ^ (seed >> 32 | seed << 32));
}

uint64_t hash_peer(const Peer& peer, uint64_t seed) noexcept {
  return mix64(hash_ip(peer.addr, seed) ^ (uint64_t{peer.port} * 0x9e3779b97f4a7c15ULL));
}

void PktPool::AlignedDelete::operator()(uint8_t* p) const noexcept {
  ::operator delete[](p, std::align_val_t{kBufAlign});
}

PktPool::PktPool(uint32_t count, uint32_t buf_size) : count_(count), buf_size_(buf_size) {
  // Sizes come from constants or validated config: a bad one is a programming error.
  if (count == 0 || buf_size <= kHeadroom || buf_size > kMaxBufSize) {
    OCM_ERROR("datapath: invalid packet pool (count %u, buffer size %u)", count, buf_size);
    std::abort();
  }
  // Round each buffer up to the alignment so every buffer starts on a cache line.
  size_t stride = (size_t{buf_size} + kBufAlign - 1) / kBufAlign * kBufAlign;
  memory_.reset(static_cast<uint8_t*>(::operator new[](stride* count, std::align_val_t{kBufAlign})));
  handles_.reset(new PktBuf[count]);
  free_.reset(new PktBuf*[count]);
  for (uint32_t i = 0; i < count; ++i) {
    handles_[i].attach(memory_.get() + stride * i, buf_size);
    // Hand out low indices first: tests and cold starts touch less memory.
    free_[count - 1 - i] = &handles_[i];
  }
  free_count_ = count;
}

PktBuf* PktPool::alloc() noexcept {
  if (free_count_ == 0) {
    return nullptr;
  }
  PktBuf* pkt = free_[--free_count_];
  pkt->reset();
  return pkt;
}

bool PktPool::alloc_bulk(PktBuf* out[], uint32_t n) noexcept {
  if (n > free_count_) {
    return false;
  }
  for (uint32_t i = 0; i < n; ++i) {
    out[i] = free_[--free_count_];
    out[i]->reset();
  }
  return true;
}

void PktPool::free(PktBuf* pkt) noexcept {
  // More frees than buffers means a double free: corrupting the free list silently would hand
  // one buffer to two owners later.
  if (free_count_ >= count_ || !owns(pkt)) {
    OCM_ERROR("datapath: packet freed twice or to the wrong pool");
    std::abort();
  }
  free_[free_count_++] = pkt;
}

void PktPool::free_bulk(PktBuf* const pkts[], uint32_t n) noexcept {
  for (uint32_t i = 0; i < n; ++i) {
    free(pkts[i]);
  }
}

bool PktPool::owns(const PktBuf* pkt) const noexcept {
  return pkt >= handles_.get() && pkt < handles_.get() + count_;
}

}  // namespace ocm::datapath
