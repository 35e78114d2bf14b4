#pragma once
// The "200 CONNECTED" reply as openconnect reads it (protocol.md §3.3, §8), checked strictly:
// every header we rely on must be present once and well-formed, and the server must not
// announce anything we did not ask for (compression, legacy DTLS, an IPv6 address).

#include <array>
#include <cstdint>
#include <optional>

#include "http_response.hpp"
#include "ocm/base/result.hpp"

namespace ocm::loadgen {

struct TunnelParams {
  uint32_t address = 0;  // host order
  uint32_t netmask = 0;
  uint32_t mtu = 0;
  uint32_t cstp_dpd = 0;        // 0: no DPD announced
  uint32_t cstp_keepalive = 0;  // 0: none
  struct Dtls {
    uint16_t port = 0;
    std::array<uint8_t, 32> app_id{};
    uint32_t dpd = 0;
    uint32_t keepalive = 0;
  };
  std::optional<Dtls> dtls;  // set when the reply offers PSK-NEGOTIATE
};

// `asked_dtls`: we sent X-DTLS-CipherSuite: PSK-NEGOTIATE. The caller has already checked the
// status line. A reply without any X-DTLS-* header leaves `dtls` empty (the caller decides
// whether that is a failure).
Result<TunnelParams> parse_tunnel_reply(const HttpResponse& reply, bool asked_dtls);

}  // namespace ocm::loadgen
