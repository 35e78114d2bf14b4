#include "commands.hpp"

namespace ocm::dpdk {

const char* to_string(CommandKind kind) noexcept {
  switch (kind) {
    case CommandKind::kAttachCstp:
      return "attach_cstp";
    case CommandKind::kActivate:
      return "activate";
    case CommandKind::kMarkInactive:
      return "mark_dtls_inactive";
    case CommandKind::kRelease:
      return "release";
    case CommandKind::kSetRateLimit:
      return "set_rate_limit";
    case CommandKind::kAttachIpv6:
      return "attach_ipv6";
    case CommandKind::kSetRestriction:
      return "set_restriction";
    case CommandKind::kSetCompression:
      return "set_compression";
    case CommandKind::kSendDatagram:
      return "send_datagram";
    case CommandKind::kSendPayload:
      return "send_payload";
  }
  return "?";
}

}  // namespace ocm::dpdk
