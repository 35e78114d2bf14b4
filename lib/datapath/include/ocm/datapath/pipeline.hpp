#pragma once
// The two entry points a driver's packet loop calls (lcore.hpp shows the whole loop).
//
// Ownership: the caller hands over `in[0, n)` and gets every one of those packets back in
// exactly one output array; nothing is freed or kept by the pipeline (control and CSTP rings
// copy). After the call the caller owns the outputs: transmit to_tun/to_udp, free to_free
// (dropped or consumed; meta.drop tells which, for debugging). Output arrays must have room for
// n pointers each. Any n is accepted; the pipeline works in chunks of kBurst.
//
// Before calling, the driver sets for each input packet: data window = UDP payload (resp. IP
// packet from TUN) at or after kHeadroom, meta.peer = UDP source (UDP side only), and
// optionally meta.driver. Everything else in meta is reset here.
// Set ctx.now_ns once per poll before calling.

#include <cstdint>

#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/pkt.hpp"

namespace ocm::datapath {

struct UdpRxResult {
  uint16_t n_tun = 0;   // inner IP packets, type byte stripped, validated: write to TUN
  uint16_t n_udp = 0;   // sealed DPD responses: send to meta.peer
  uint16_t n_free = 0;  // dropped or consumed
};

// UDP datagrams received on the DTLS port.
UdpRxResult process_udp_rx(Ctx& ctx, PktBuf* const in[], uint16_t n, PktBuf* to_tun[], PktBuf* to_udp[],
                           PktBuf* to_free[]) noexcept;

struct TunRxResult {
  uint16_t n_udp = 0;   // sealed DTLS records: send each to its meta.peer
  uint16_t n_free = 0;  // dropped or handed to the CSTP ring (copied)
};

// IP packets read from the TUN device.
TunRxResult process_tun_rx(Ctx& ctx, PktBuf* const in[], uint16_t n, PktBuf* to_udp[], PktBuf* to_free[]) noexcept;

// For the slow path: seals DTLS payloads it built (type byte + payload at data, meta.slot set)
// exactly as the pipeline does; same ownership rules. to_udp records go to meta.peer.
TunRxResult seal_payloads(Ctx& ctx, PktBuf* const in[], uint16_t n, PktBuf* to_udp[], PktBuf* to_free[]) noexcept;

}  // namespace ocm::datapath
