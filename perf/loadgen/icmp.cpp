#include "icmp.hpp"

#include "ocm/datapath/checksum.hpp"

namespace ocm::loadgen {
namespace {

constexpr size_t kIpHeader = 20;
constexpr size_t kIcmpHeader = 8;

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t get32(const uint8_t* p) { return (static_cast<uint32_t>(get16(p)) << 16) | get16(p + 2); }
uint16_t checksum(const uint8_t* p, size_t n) { return datapath::csum_finish(datapath::csum_partial(p, n, 0)); }

}  // namespace

std::vector<uint8_t> icmp_echo_request(uint32_t src, uint32_t dst, uint16_t id, uint16_t seq, size_t size) {
  size = std::max(size, kIpHeader + kIcmpHeader);
  std::vector<uint8_t> p(size, 0);
  p[0] = 0x45;
  put16(&p[2], static_cast<uint16_t>(size));
  put16(&p[4], seq);  // IP id
  p[8] = 64;          // TTL
  p[9] = 1;           // ICMP
  put32(&p[12], src);
  put32(&p[16], dst);
  put16(&p[10], checksum(p.data(), kIpHeader));
  uint8_t* icmp = &p[kIpHeader];
  icmp[0] = 8;  // echo request
  put16(icmp + 4, id);
  put16(icmp + 6, seq);
  for (size_t i = kIpHeader + kIcmpHeader; i < size; ++i) {
    p[i] = static_cast<uint8_t>(i);
  }
  put16(icmp + 2, checksum(icmp, size - kIpHeader));
  return p;
}

std::optional<EchoReply> parse_echo_reply(std::span<const uint8_t> p, uint32_t from, uint32_t to, uint16_t id) {
  if (p.size() < kIpHeader + kIcmpHeader || p[0] != 0x45 || p[9] != 1 || get16(&p[2]) != p.size()) {
    return std::nullopt;
  }
  if (get32(&p[12]) != from || get32(&p[16]) != to || checksum(p.data(), kIpHeader) != 0) {
    return std::nullopt;
  }
  const uint8_t* icmp = &p[kIpHeader];
  if (icmp[0] != 0 || icmp[1] != 0 || get16(icmp + 4) != id || checksum(icmp, p.size() - kIpHeader) != 0) {
    return std::nullopt;
  }
  return EchoReply{get16(icmp + 6), p.size()};
}

}  // namespace ocm::loadgen
