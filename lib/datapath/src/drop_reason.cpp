#include "ocm/datapath/drop_reason.hpp"

namespace ocm::datapath {
namespace {

#define OCM_DATAPATH_NAME_ENTRY(name, str) str,
constexpr const char* kDropNames[kDropReasonCount] = {"none", OCM_DATAPATH_DROP_REASONS(OCM_DATAPATH_NAME_ENTRY)};
constexpr const char* kEventNames[kEventCount] = {OCM_DATAPATH_EVENTS(OCM_DATAPATH_NAME_ENTRY)};
#undef OCM_DATAPATH_NAME_ENTRY

}  // namespace

const char* to_string(DropReason reason) noexcept {
  auto i = static_cast<size_t>(reason);
  return i < kDropReasonCount ? kDropNames[i] : "?";
}

const char* to_string(Event event) noexcept {
  auto i = static_cast<size_t>(event);
  return i < kEventCount ? kEventNames[i] : "?";
}

uint64_t Counters::total_drops() const noexcept {
  uint64_t sum = 0;
  for (uint64_t d : drops) {
    sum += d;
  }
  return sum;
}

void Counters::add(const Counters& other) noexcept {
  auto add_dir = [](DirectionCounters& mine, const DirectionCounters& theirs) {
    mine.packets += theirs.packets;
    mine.bytes += theirs.bytes;
  };
  add_dir(udp_rx, other.udp_rx);
  add_dir(udp_tx, other.udp_tx);
  add_dir(tun_rx, other.tun_rx);
  add_dir(tun_tx, other.tun_tx);
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    drops[i] += other.drops[i];
  }
  for (size_t i = 0; i < kEventCount; ++i) {
    events[i] += other.events[i];
  }
}

}  // namespace ocm::datapath
