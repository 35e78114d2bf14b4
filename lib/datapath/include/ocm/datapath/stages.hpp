#pragma once
// The pipeline stages. Each follows the burst contract of burst.hpp (n <= kBurst; good packets
// first in input order; the rest behind with a DropReason or a non-drop kind). pipeline.hpp
// chains them; drivers normally call the two entry points there, not the stages.
//
// UDP receive chain:  classify_udp -> dtls_open -> dispatch_payload -> validate_inner -> police_rx -> TUN
//                                                   \-> (kDtlsPayload: DPD replies) -> dtls_seal -> UDP
// TUN receive chain:  route_tun -> dtls_seal -> UDP

#include <cstdint>

#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/inner_packet.hpp"
#include "ocm/datapath/pkt.hpp"

namespace ocm::datapath {

// Maximum DTLS plaintext (RFC 6347 §4.3.1: 2^14) we seal or accept.
inline constexpr uint16_t kMaxDtlsPlaintext = 16384;

// In: datagrams as received (data = UDP payload, meta.peer = source).
// Keeps application_data (23) records, DTLS 1.2, exactly one record per datagram, whose peer is
// known (kind kDtlsData) or whose source IP belongs to exactly one keyed session (kind
// kRoamCandidate); sets meta.slot/rec_epoch/rec_seq. Handshake (22), CCS (20) and alert (21)
// datagrams (DTLS 1.0/1.2 or the 0.9 "01 00" version) are copied whole to the control ring,
// with the slot when the peer is known, and consumed (to_slow_path). Drops: dtls_short,
// dtls_bad_length, dtls_bad_version, dtls_bad_content_type, unknown_peer, roam_ambiguous,
// control_ring_full, control_too_big.
uint16_t classify_udp(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept;

// In: classify_udp output. Processes the burst grouped by session (stable, so each session's
// records keep their order): epoch check, replay check, decrypt+authenticate in place, replay
// window update, last_rx_ns, per-session counters. A roaming candidate that authenticates moves
// its session's peer to the packet's source (event roamed; kPeerChanged on the control ring).
// An authenticated record re-activates a kDtlsInactive session. Out: data = DTLS plaintext
// (payload type byte + payload), kind kDtlsData. Drops: no_dtls_session, bad_epoch, replay,
// auth_failed, roam_auth_failed.
uint16_t dtls_open(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept;

// In: DTLS plaintext. DATA (0x00): type byte stripped, kind kTunIp, kept. DPD-REQ (0x03): type
// byte rewritten to DPD-RESP (0x04) in place, payload untouched (so MTU probes come back with
// their length and id, protocol.md 6.2), kind kDtlsPayload, left for dtls_seal (dpd_answered).
// DPD-RESP (0x04) and KEEPALIVE (0x07): consumed (dpd_resp, keepalive). DISCONNECT (0x05):
// payload copied to the control ring, consumed (disconnect). COMPRESSED (0x08) of a session
// with DTLS compression (set_compression): decompressed into ctx.codec_out (at most what the
// buffer holds after the type byte, and kMaxCompressedPacket), copied back in place of the type
// byte and payload, then kept exactly like DATA (dtls_decompressed). Drops: empty_payload,
// compressed_unsupported (0x08 without compression), decompress_failed (malformed or too big),
// unknown_type, control_ring_full, control_too_big.
uint16_t dispatch_payload(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept;

// In: inner IP packets (kind kTunIp) with meta.slot. check_inner_ipv4 against the session's
// lease; drops inner_* named after the InnerVerdict.
uint16_t validate_inner(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept;
DropReason drop_reason_for(InnerVerdict verdict) noexcept;
// In: validate_inner output. Charges each packet's length to its session's rx token bucket
// (rate_limit.hpp, refilled from ctx.now_ns); over the limit: dropped rate_limited.
uint16_t police_rx(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept;

// In: IP packets read from TUN (data = IP packet). Routes by IPv4 destination (pool index ->
// slot). DTLS active: prepends the DATA type byte, sets meta.slot, kind kDtlsPayload, kept;
// with DTLS compression and more than compress_min_size bytes the packet is first compressed in
// place and gets the COMPRESSED type byte instead, unless that would not make it smaller
// (dtls_compressed).
// CSTP only or DTLS inactive: copied to the CSTP ring, consumed (tun_to_cstp). Either way the
// packet is first charged to the session's tx token bucket. Drops: tun_not_ipv4, no_route,
// rate_limited, too_big (no headroom), cstp_ring_full.
uint16_t route_tun(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept;

// In: DTLS plaintext (type byte + payload) with meta.slot. Seals each in place into one
// record with the session's tx key, epoch and the next tx_seq, and sets meta.peer to the
// session's peer. Needs dtls_plaintext_offset(algo) bytes of headroom and kTagSize of
// tailroom. The slow path uses it to send its own DTLS payloads (e.g. the DPD request of
// protocol.md 6.1): alloc a PktBuf, write type byte + payload at kHeadroom, set meta.slot.
// Drops: no_dtls_session (no keys or no peer), too_big, seq_exhausted.
uint16_t dtls_seal(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept;

}  // namespace ocm::datapath
