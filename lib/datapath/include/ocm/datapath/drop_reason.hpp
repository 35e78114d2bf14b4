#pragma once
// Every reason the data path drops a packet, and every non-drop outcome it counts, listed once.
// The X-macros generate the enums, the names (telemetry keys) and the counter arrays.
// Counters are plain uint64_t in a cache-aligned block owned by one packet thread; a telemetry
// reader sums the blocks of all threads. No atomics on the packet path.

#include <cstddef>
#include <cstdint>

namespace ocm::datapath {

// X(enumerator, "name", why)
#define OCM_DATAPATH_DROP_REASONS(X)                                                                            \
  X(kDtlsShort, "dtls_short")                             /* datagram shorter than a DTLS record header */      \
  X(kDtlsBadLength, "dtls_bad_length")                    /* record length beyond the datagram, or app data     \
                                                             not exactly one record */                          \
  X(kDtlsBadVersion, "dtls_bad_version")                  /* not a DTLS version any client uses */              \
  X(kDtlsBadContentType, "dtls_bad_content_type")         /* not 20/21/22/23 */                                 \
  X(kUnknownPeer, "unknown_peer")                         /* app data from an address:port we do not know */    \
  X(kRoamAmbiguous, "roam_ambiguous")                     /* unknown port, several sessions share the IP */     \
  X(kNoDtlsSession, "no_dtls_session")                    /* session has no DTLS keys (any more) */             \
  X(kBadEpoch, "bad_epoch")                               /* epoch is not the session's current one */          \
  X(kReplay, "replay")                                    /* sequence number already seen or too old */         \
  X(kAuthFailed, "auth_failed")                           /* tag or header check failed */                      \
  X(kRoamAuthFailed, "roam_auth_failed")                  /* roaming candidate did not authenticate */          \
  X(kEmptyPayload, "empty_payload")                       /* record without a payload type byte */              \
  X(kUnknownType, "unknown_type")                         /* payload type we do not know (protocol.md 4.2) */   \
  X(kCompressedUnsupported, "compressed_unsupported")     /* 0x08 record, no DTLS compression negotiated */     \
  X(kDecompressFailed, "decompress_failed")               /* 0x08 record malformed or decompresses too big */   \
  X(kInnerTooShort, "inner_too_short")                    /* InnerVerdict::kTooShort */                         \
  X(kInnerNotIpv4, "inner_not_ipv4")                      /* InnerVerdict::kNotIpv4 */                          \
  X(kInnerBadHeaderLength, "inner_bad_header_length")     /* InnerVerdict::kBadHeaderLength */                  \
  X(kInnerBadTotalLength, "inner_bad_total_length")       /* InnerVerdict::kBadTotalLength */                   \
  X(kInnerSrcSpoofed, "inner_src_spoofed")                /* InnerVerdict::kSourceSpoofed */                    \
  X(kInner6TooShort, "inner6_too_short")                  /* InnerVerdict::kIpv6TooShort */                     \
  X(kInner6BadPayloadLength, "inner6_bad_payload_length") /* InnerVerdict::kIpv6BadPayloadLength */             \
  X(kInner6NoLease, "inner6_no_lease")                    /* InnerVerdict::kIpv6NoLease */                      \
  X(kInner6SrcSpoofed, "inner6_src_spoofed")              /* InnerVerdict::kIpv6SourceSpoofed */                \
  X(kRateLimited, "rate_limited")                         /* over the session's rx/tx bytes-per-second limit */ \
  X(kNotInRoutes, "not_in_routes")                        /* restrict-to-routes: destination not announced */   \
  X(kPortNotAllowed, "port_not_allowed")                  /* restrict-to-ports: protocol/port not allowed */    \
  X(kTunNotIpv4, "tun_not_ipv4")                          /* TUN packet neither IPv4 nor IPv6 (or truncated) */ \
  X(kNoRoute, "no_route")                                 /* no session holds the destination address */        \
  X(kControlRingFull, "control_ring_full")                /* slow path is behind */                             \
  X(kControlTooBig, "control_too_big")                    /* datagram larger than a control ring slot */        \
  X(kCstpRingFull, "cstp_ring_full")                      /* slow path is behind */                             \
  X(kTooBig, "too_big")                                   /* no head/tailroom to seal, or > 2^14 plaintext */   \
  X(kSeqExhausted, "seq_exhausted")                       /* 2^48 records sent; never reuse a nonce */          \
  X(kUdpTxFull, "udp_tx_full")                            /* UDP port did not accept the packet */              \
  X(kTunTxFull, "tun_tx_full")                            /* TUN port did not accept the packet */

// X(enumerator, "name")
#define OCM_DATAPATH_EVENTS(X)                                                                 \
  X(kToSlowPath, "to_slow_path")         /* handshake/CCS/alert datagram queued for wolfSSL */ \
  X(kDisconnect, "disconnect")           /* DISCONNECT on DTLS queued for the slow path */     \
  X(kKeepalive, "keepalive")             /* KEEPALIVE consumed */                              \
  X(kDpdResp, "dpd_resp")                /* DPD-RESP consumed */                               \
  X(kDpdAnswered, "dpd_answered")        /* DPD-REQ (incl. MTU probes) echoed as DPD-RESP */   \
  X(kRoamed, "roamed")                   /* a session's UDP peer moved after authentication */ \
  X(kRoamNotifyLost, "roam_notify_lost") /* roaming not reported: control ring full */         \
  X(kReactivated, "dtls_reactivated")    /* a record re-activated an inactive DTLS session */  \
  X(kTunToCstp, "tun_to_cstp")           /* TUN packet queued for CSTP (DTLS not active) */    \
  X(kDecompressed, "dtls_decompressed")  /* 0x08 record decompressed into an IP packet */      \
  X(kCompressed, "dtls_compressed")      /* TUN packet sent as a compressed 0x08 record */

#define OCM_DATAPATH_ENUM_ENTRY(name, str) name,

enum class DropReason : uint8_t {
  kNone = 0,  // not dropped
  OCM_DATAPATH_DROP_REASONS(OCM_DATAPATH_ENUM_ENTRY)
};
enum class Event : uint8_t { OCM_DATAPATH_EVENTS(OCM_DATAPATH_ENUM_ENTRY) };

#define OCM_DATAPATH_COUNT_ENTRY(name, str) +1  // NOLINT(bugprone-macro-parentheses): expands to a sum
// Array sizes, kNone included so that arrays can be indexed by the enum directly.
inline constexpr size_t kDropReasonCount = 1 OCM_DATAPATH_DROP_REASONS(OCM_DATAPATH_COUNT_ENTRY);
inline constexpr size_t kEventCount = 0 OCM_DATAPATH_EVENTS(OCM_DATAPATH_COUNT_ENTRY);
#undef OCM_DATAPATH_COUNT_ENTRY
#undef OCM_DATAPATH_ENUM_ENTRY

static_assert(kDropReasonCount <= 256, "DropReason is one byte in PktMeta");

// "none" for kNone, "?" for values outside the table.
const char* to_string(DropReason reason) noexcept;
const char* to_string(Event event) noexcept;

struct DirectionCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// One block per packet thread.
struct alignas(64) Counters {
  DirectionCounters udp_rx;  // datagrams given to process_udp_rx
  DirectionCounters udp_tx;  // records handed back for the UDP port (data + DPD replies)
  DirectionCounters tun_rx;  // IP packets given to process_tun_rx
  DirectionCounters tun_tx;  // IP packets handed back for the TUN device
  uint64_t drops[kDropReasonCount] = {};
  uint64_t events[kEventCount] = {};

  void drop(DropReason reason) noexcept { ++drops[static_cast<size_t>(reason)]; }
  void event(Event e) noexcept { ++events[static_cast<size_t>(e)]; }
  [[nodiscard]] uint64_t dropped(DropReason reason) const noexcept { return drops[static_cast<size_t>(reason)]; }
  [[nodiscard]] uint64_t count(Event e) const noexcept { return events[static_cast<size_t>(e)]; }
  [[nodiscard]] uint64_t total_drops() const noexcept;
  // Adds another thread's block (telemetry).
  void add(const Counters& other) noexcept;
};
static_assert(alignof(Counters) == 64, "one block per thread must not share a cache line");

}  // namespace ocm::datapath
