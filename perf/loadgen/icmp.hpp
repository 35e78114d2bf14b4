#pragma once
// ICMP echo through the tunnel: the request we send as a DATA packet and the checks on the
// reply (it must come from the target, to our leased address, with our id and a sequence we sent).

#include <cstdint>
#include <algorithm>
#include <optional>
#include <span>
#include <vector>

namespace ocm::loadgen {

// IPv4 + ICMP echo request, total size `size` bytes (>= 28), checksums filled in.
std::vector<uint8_t> icmp_echo_request(uint32_t src, uint32_t dst, uint16_t id, uint16_t seq, size_t size);

struct EchoReply {
  uint16_t seq = 0;
  size_t size = 0;
};
// nullopt unless `packet` is a well-formed echo reply from `from` to `to` with identifier `id`.
std::optional<EchoReply> parse_echo_reply(std::span<const uint8_t> packet, uint32_t from, uint32_t to, uint16_t id);

}  // namespace ocm::loadgen
