#include "ocm/datapath/ring_port.hpp"

namespace ocm::datapath {

RingPort::RingPort(PktPool& pool, uint32_t depth) : pool_(pool), rx_(depth), tx_(depth) {}

uint16_t RingPort::rx_burst(PktBuf* out[], uint16_t n) noexcept {
  uint16_t got = 0;
  while (got < n) {
    PktBuf* const* slot = rx_.peek();
    if (slot == nullptr) {
      break;
    }
    out[got++] = *slot;
    rx_.pop();
  }
  stats_.rx_packets += got;
  return got;
}

uint16_t RingPort::tx_burst(PktBuf* const pkts[], uint16_t n) noexcept {
  uint16_t sent = 0;
  while (sent < n && tx_.push(pkts[sent])) {
    ++sent;
  }
  stats_.tx_packets += sent;
  stats_.tx_full += n - sent;
  return sent;
}

bool RingPort::inject(PktBuf* pkt) noexcept {
  if (!rx_.push(pkt)) {
    ++stats_.inject_full;
    return false;
  }
  return true;
}

uint16_t RingPort::inject_burst(PktBuf* const pkts[], uint16_t n) noexcept {
  uint16_t taken = 0;
  while (taken < n && inject(pkts[taken])) {
    ++taken;
  }
  return taken;
}

uint16_t RingPort::drain(PktBuf* out[], uint16_t n) noexcept {
  uint16_t got = 0;
  while (got < n) {
    PktBuf* const* slot = tx_.peek();
    if (slot == nullptr) {
      break;
    }
    out[got++] = *slot;
    tx_.pop();
  }
  return got;
}

}  // namespace ocm::datapath
