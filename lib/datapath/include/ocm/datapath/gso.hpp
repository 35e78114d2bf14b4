#pragma once
// Segmentation offload helpers for drivers, driver-neutral and free of kernel headers:
//
//  - TSO super-packets read from a TUN device opened with IFF_VNET_HDR and TUN_F_TSO4/6: the
//    kernel hands over one TCP packet of up to 64 KiB plus a virtio_net header saying how to cut
//    it (gso_size = payload bytes per segment); plan_tso() validates it and write_tso_segment()
//    produces each MSS-sized packet with its own IP length/id/checksum and TCP seq/flags/checksum.
//  - Partial checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM without GSO): complete_checksum().
//  - The reverse direction: plan_tcp_coalesce() finds runs of in-order segments of one TCP flow
//    that can go to TUN as one GSO write, finish_tcp_coalesce() rewrites the first packet's
//    headers and fills the virtio_net header for it.
//  - UDP GSO (UDP_SEGMENT) on the send side: group_udp_gso() cuts a list of datagrams into runs
//    that one sendmsg can carry (same peer, equal sizes except a shorter last one).
//
// All functions are noexcept and allocation-free (fast path, style.md §3).

#include <cstddef>
#include <cstdint>
#include <span>

#include "ocm/datapath/pkt.hpp"

namespace ocm::datapath {

// Layout of Linux's struct virtio_net_hdr (include/uapi/linux/virtio_net.h), in the byte order
// the TUN device uses (native on little-endian hosts). Drivers static_assert that it matches.
struct VnetHdr {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;      // untrusted: may cover the whole first packet on the forward path
  uint16_t gso_size = 0;     // payload bytes per segment
  uint16_t csum_start = 0;   // offset where the checksummed region starts (the L4 header)
  uint16_t csum_offset = 0;  // offset of the checksum field from csum_start
};
static_assert(sizeof(VnetHdr) == 10, "virtio_net_hdr is 10 bytes");

inline constexpr uint8_t kVnetFlagNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr uint8_t kVnetFlagDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
inline constexpr uint8_t kVnetGsoNone = 0;        // VIRTIO_NET_HDR_GSO_NONE
inline constexpr uint8_t kVnetGsoTcpV4 = 1;       // VIRTIO_NET_HDR_GSO_TCPV4
inline constexpr uint8_t kVnetGsoUdp = 3;         // VIRTIO_NET_HDR_GSO_UDP (UFO)
inline constexpr uint8_t kVnetGsoTcpV6 = 4;       // VIRTIO_NET_HDR_GSO_TCPV6
inline constexpr uint8_t kVnetGsoUdpL4 = 5;       // VIRTIO_NET_HDR_GSO_UDP_L4 (USO)
inline constexpr uint8_t kVnetGsoEcn = 0x80;      // VIRTIO_NET_HDR_GSO_ECN

// Why a TUN frame could not be segmented or checksummed (each is counted by the driver).
enum class GsoVerdict : uint8_t {
  kOk,
  kBadChecksumOffsets,  // csum_start/csum_offset outside the packet
  kUnsupportedType,     // GSO type other than TCPv4/TCPv6 (UFO, USO, unknown)
  kBadIpHeader,         // too short, wrong version for the GSO type, bad IHL
  kNotTcp,              // IP protocol / next header is not TCP
  kFragment,            // IPv4 fragment (MF or offset set)
  kBadTcpHeader,        // data offset < 5 or header beyond the packet, or csum offset != 16
  kNoPayload,           // GSO frame without payload, or gso_size 0
  kSegmentTooBig,       // headers + gso_size do not fit the caller's buffer
  kTooManySegments,     // more segments than a uint16_t can count
};
const char* to_string(GsoVerdict verdict) noexcept;

// Finishes a CHECKSUM_PARTIAL packet in place: sums from csum_start to the end (the field holds
// the pseudo-header sum the kernel left there) and stores the result at csum_start+csum_offset.
GsoVerdict complete_checksum(std::span<uint8_t> packet, uint16_t csum_start, uint16_t csum_offset) noexcept;

struct TsoPlan {
  uint16_t ip_hlen = 0;    // IPv4 header with options, or 40 for IPv6
  uint16_t hdr_len = 0;    // ip_hlen + TCP header with options (computed, never the kernel's)
  uint16_t gso_size = 0;   // payload bytes of every segment but the last
  uint16_t segments = 0;   // number of segments
  uint32_t payload = 0;    // total TCP payload bytes
  bool v6 = false;
};

// Validates a TSO frame (packet = the bytes after the virtio_net header) and computes its cut.
// Every segment (hdr_len + gso_size bytes at most) must fit max_segment_len.
GsoVerdict plan_tso(std::span<const uint8_t> packet, const VnetHdr& hdr, uint32_t max_segment_len,
                    TsoPlan& plan) noexcept;

// Writes segment `index` (< plan.segments) of the planned frame to `out`, which has room for
// plan.hdr_len + plan.gso_size bytes, and returns its length. The segment is a complete packet:
// IPv4 total length, id (+index) and header checksum, or IPv6 payload length; TCP seq (+index *
// gso_size), FIN/PSH only on the last segment, CWR only on the first, URG and the urgent pointer
// only on segments that still precede the urgent point (pointer rebased), full TCP checksum.
uint16_t write_tso_segment(std::span<const uint8_t> packet, const TsoPlan& plan, uint16_t index,
                           uint8_t* out) noexcept;

// ---- TUN write side: coalescing in-order TCP segments into one GSO write ----------------------

struct TcpCoalesceGroup {
  uint16_t first = 0;     // index of the first packet in the input array
  uint16_t count = 0;     // packets [first, first + count)
  uint16_t gso_size = 0;  // payload of the first packet (every one but the last has it)
  uint16_t hdr_len = 0;   // IPv4 + TCP header length (identical in all members)
};

// Largest coalesced IPv4 packet (total length is 16 bits).
inline constexpr uint32_t kMaxCoalescedLen = 65535;

// Walks pkts[0, n) (IPv4 packets) and covers them, in order, with groups: a group of count 1 is
// a packet to write as it is; a longer one is a run of consecutive segments of one TCP flow that
// Linux GRO would also merge (IPv4 without options or fragments, flags ACK or ACK|PSH with PSH
// only on the last, equal ack, window, TCP options, TOS, TTL and DF, contiguous sequence numbers,
// payloads equal but for a shorter last one, valid IP and TCP checksums, at most max_segments and
// kMaxCoalescedLen bytes). Returns the number of groups written to out (room for n).
uint16_t plan_tcp_coalesce(PktBuf* const pkts[], uint16_t n, uint16_t max_segments, TcpCoalesceGroup out[]) noexcept;

// For a group with count > 1: rewrites the first packet's IPv4 total length and header checksum
// for the merged size, stores the pseudo-header sum in its TCP checksum field (the kernel
// completes it: CHECKSUM_PARTIAL) and fills `hdr` (GSO_TCPV4, NEEDS_CSUM). The merged packet is
// the first packet followed by the payloads (bytes after hdr_len) of the others.
void finish_tcp_coalesce(PktBuf* const pkts[], const TcpCoalesceGroup& group, VnetHdr& hdr) noexcept;

// ---- UDP send side: UDP_SEGMENT runs -----------------------------------------------------------

struct UdpGsoGroup {
  uint16_t first = 0;     // index of the first datagram
  uint16_t count = 0;     // datagrams [first, first + count)
  uint16_t seg_size = 0;  // size of the first datagram (every one but the last has it)
};

// Linux accepts at most this many segments per UDP_SEGMENT send (UDP_MAX_SEGMENTS).
inline constexpr uint16_t kUdpMaxSegments = 64;
// Largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP).
inline constexpr uint32_t kUdpMaxPayload = 65507;

// Covers pkts[0, n) in order with runs that one UDP_SEGMENT sendmsg can carry: same meta.peer,
// every datagram but the last exactly seg_size bytes, the last no larger, at most max_segments
// datagrams and kUdpMaxPayload bytes, seg_size <= max_seg_size (datagrams above it, e.g. ones the
// path MTU rejected, form runs of one). Returns the number of groups written to out (room for n).
uint16_t group_udp_gso(PktBuf* const pkts[], uint16_t n, uint16_t max_segments, uint16_t max_seg_size,
                       UdpGsoGroup out[]) noexcept;

}  // namespace ocm::datapath
