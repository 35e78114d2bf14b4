#include "ocm/datapath/rings.hpp"

#include <cstring>

namespace ocm::datapath {

const char* to_string(ControlKind kind) noexcept {
  switch (kind) {
    case ControlKind::kRecord:
      return "record";
    case ControlKind::kDisconnect:
      return "disconnect";
    case ControlKind::kPeerChanged:
      return "peer_changed";
  }
  return "?";
}

PushResult push_control(ControlRing& ring, ControlKind kind, uint8_t content_type, uint32_t slot, const Peer& peer,
                        uint64_t time_ns, std::span<const uint8_t> data) noexcept {
  if (data.size() > kControlPayload) {
    return PushResult::kTooBig;
  }
  ControlEvent* ev = ring.reserve();
  if (ev == nullptr) {
    return PushResult::kFull;
  }
  ev->kind = kind;
  ev->content_type = content_type;
  ev->len = static_cast<uint16_t>(data.size());
  ev->slot = slot;
  ev->peer = peer;
  ev->time_ns = time_ns;
  if (!data.empty()) {
    std::memcpy(ev->data, data.data(), data.size());
  }
  ring.commit();
  return PushResult::kOk;
}

PushResult push_cstp(CstpRing& ring, uint32_t slot, uint32_t lease, std::span<const uint8_t> packet) noexcept {
  if (packet.size() > kCstpPayload) {
    return PushResult::kTooBig;
  }
  CstpPacket* out = ring.reserve();
  if (out == nullptr) {
    return PushResult::kFull;
  }
  out->slot = slot;
  out->lease = lease;
  out->len = static_cast<uint16_t>(packet.size());
  if (!packet.empty()) {
    std::memcpy(out->data, packet.data(), packet.size());
  }
  ring.commit();
  return PushResult::kOk;
}

}  // namespace ocm::datapath
