#include "ocm/datapath/gso.hpp"

#include <algorithm>
#include <cstring>

#include "ocm/datapath/checksum.hpp"

namespace ocm::datapath {
namespace {

constexpr uint8_t kProtoTcp = 6;
constexpr uint16_t kTcpCsumOffset = 16;
constexpr uint16_t kIpv6HeaderLen = 40;

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpUrg = 0x20;
constexpr uint8_t kTcpCwr = 0x80;

constexpr size_t kTcpFlags = 13;
constexpr size_t kTcpUrgPtr = 18;

}  // namespace

const char* to_string(GsoVerdict verdict) noexcept {
  switch (verdict) {
    case GsoVerdict::kOk:
      return "ok";
    case GsoVerdict::kBadChecksumOffsets:
      return "bad_checksum_offsets";
    case GsoVerdict::kUnsupportedType:
      return "unsupported_gso_type";
    case GsoVerdict::kBadIpHeader:
      return "bad_ip_header";
    case GsoVerdict::kNotTcp:
      return "not_tcp";
    case GsoVerdict::kFragment:
      return "fragment";
    case GsoVerdict::kBadTcpHeader:
      return "bad_tcp_header";
    case GsoVerdict::kNoPayload:
      return "no_payload";
    case GsoVerdict::kSegmentTooBig:
      return "segment_too_big";
    case GsoVerdict::kTooManySegments:
      return "too_many_segments";
  }
  return "?";
}

GsoVerdict complete_checksum(std::span<uint8_t> packet, uint16_t csum_start, uint16_t csum_offset) noexcept {
  size_t len = packet.size();
  if (csum_start >= len || size_t{csum_offset} + 2 > len - csum_start) {
    return GsoVerdict::kBadChecksumOffsets;
  }
  uint8_t* region = packet.data() + csum_start;
  // The field holds the (uncomplemented) pseudo-header sum; summing over it folds it in.
  uint16_t sum = csum_finish(csum_partial(region, len - csum_start, 0));
  // 0x0000 and 0xffff are the same ones'-complement value; UDP reserves 0 for "no checksum".
  store_be16(region + csum_offset, sum == 0 ? 0xffff : sum);
  return GsoVerdict::kOk;
}

GsoVerdict plan_tso(std::span<const uint8_t> packet, const VnetHdr& hdr, uint32_t max_segment_len,
                    TsoPlan& plan) noexcept {
  const uint8_t type = static_cast<uint8_t>(hdr.gso_type & ~kVnetGsoEcn);
  if (type != kVnetGsoTcpV4 && type != kVnetGsoTcpV6) {
    return GsoVerdict::kUnsupportedType;
  }
  const uint8_t* p = packet.data();
  const size_t len = packet.size();
  TsoPlan out;
  out.v6 = type == kVnetGsoTcpV6;
  if (!out.v6) {
    if (len < 20 || (p[0] >> 4) != 4) {
      return GsoVerdict::kBadIpHeader;
    }
    out.ip_hlen = static_cast<uint16_t>((p[0] & 0x0f) * 4);
    if (out.ip_hlen < 20 || out.ip_hlen > len) {
      return GsoVerdict::kBadIpHeader;
    }
    if (p[9] != kProtoTcp) {
      return GsoVerdict::kNotTcp;
    }
    if ((load_be16(p + 6) & 0x3fff) != 0) {  // MF or a fragment offset
      return GsoVerdict::kFragment;
    }
  } else {
    if (len < kIpv6HeaderLen || (p[0] >> 4) != 6) {
      return GsoVerdict::kBadIpHeader;
    }
    out.ip_hlen = kIpv6HeaderLen;
    if (p[6] != kProtoTcp) {  // extension headers are not produced by Linux TSO for TCP
      return GsoVerdict::kNotTcp;
    }
  }
  if ((hdr.flags & kVnetFlagNeedsCsum) != 0 && (hdr.csum_start != out.ip_hlen || hdr.csum_offset != kTcpCsumOffset)) {
    return GsoVerdict::kBadChecksumOffsets;
  }
  if (len < size_t{out.ip_hlen} + 20) {
    return GsoVerdict::kBadTcpHeader;
  }
  // hdr.hdr_len is not trusted (on the forward path it can span the whole first packet).
  const uint16_t doff = static_cast<uint16_t>((p[out.ip_hlen + 12] >> 4) * 4);
  if (doff < 20 || size_t{out.ip_hlen} + doff > len) {
    return GsoVerdict::kBadTcpHeader;
  }
  out.hdr_len = static_cast<uint16_t>(out.ip_hlen + doff);
  out.payload = static_cast<uint32_t>(len - out.hdr_len);
  if (out.payload == 0 || hdr.gso_size == 0) {
    return GsoVerdict::kNoPayload;
  }
  out.gso_size = hdr.gso_size;
  if (size_t{out.hdr_len} + std::min<uint32_t>(out.gso_size, out.payload) > max_segment_len) {
    return GsoVerdict::kSegmentTooBig;
  }
  uint32_t segments = (out.payload + out.gso_size - 1) / out.gso_size;
  if (segments > UINT16_MAX) {
    return GsoVerdict::kTooManySegments;
  }
  out.segments = static_cast<uint16_t>(segments);
  plan = out;
  return GsoVerdict::kOk;
}

uint16_t write_tso_segment(std::span<const uint8_t> packet, const TsoPlan& plan, uint16_t index,
                           uint8_t* out) noexcept {
  const uint8_t* p = packet.data();
  const uint32_t offset = uint32_t{index} * plan.gso_size;  // payload offset of this segment
  const uint32_t seg_payload = std::min<uint32_t>(plan.gso_size, plan.payload - offset);
  const auto total = static_cast<uint16_t>(plan.hdr_len + seg_payload);
  const bool first = index == 0;
  const bool last = index + 1 == plan.segments;

  std::memcpy(out, p, plan.hdr_len);
  if (!plan.v6) {
    store_be16(out + 2, total);
    store_be16(out + 4, static_cast<uint16_t>(load_be16(p + 4) + index));
    ipv4_set_header_checksum(out, plan.ip_hlen);
  } else {
    store_be16(out + 4, static_cast<uint16_t>(total - kIpv6HeaderLen));
  }

  uint8_t* tcp = out + plan.ip_hlen;
  store_be32(tcp + 4, load_be32(p + plan.ip_hlen + 4) + offset);
  uint8_t flags = tcp[kTcpFlags];
  if (!last) {
    flags = static_cast<uint8_t>(flags & ~(kTcpFin | kTcpPsh));
  }
  if (!first) {
    flags = static_cast<uint8_t>(flags & ~kTcpCwr);
  }
  if ((flags & kTcpUrg) != 0) {
    // The urgent point is seq0 + ptr. Segments that start at or after it carry no URG (as if the
    // sender had sent them one by one); earlier ones point at it from their own seq. 0xffff means
    // "at least 64 KiB ahead" and stays as it is.
    uint16_t ptr = load_be16(tcp + kTcpUrgPtr);
    if (ptr != 0xffff) {
      if (ptr > offset) {
        store_be16(tcp + kTcpUrgPtr, static_cast<uint16_t>(ptr - offset));
      } else {
        flags = static_cast<uint8_t>(flags & ~kTcpUrg);
        store_be16(tcp + kTcpUrgPtr, 0);
      }
    }
  }
  tcp[kTcpFlags] = flags;

  const uint16_t doff = static_cast<uint16_t>(plan.hdr_len - plan.ip_hlen);
  const auto l4_len = static_cast<uint16_t>(total - plan.ip_hlen);
  uint64_t acc = plan.v6 ? csum_pseudo_v6(p + 8, p + 24, kProtoTcp, l4_len) : csum_pseudo_v4(p + 12, p + 16, kProtoTcp, l4_len);
  tcp[kTcpCsumOffset] = 0;
  tcp[kTcpCsumOffset + 1] = 0;
  acc = csum_partial(tcp, doff, acc);
  acc = csum_copy(out + plan.hdr_len, p + plan.hdr_len + offset, seg_payload, acc);
  store_be16(tcp + kTcpCsumOffset, csum_finish(acc));
  return total;
}

// ---- coalescing ---------------------------------------------------------------------------------

namespace {

// What plan_tcp_coalesce needs to know about one packet.
struct TcpSeg {
  bool candidate = false;
  uint16_t hdr_len = 0;
  uint16_t payload = 0;
  bool psh = false;
  uint32_t seq = 0;
};

TcpSeg inspect(const PktBuf* pkt) noexcept {
  TcpSeg s;
  const uint8_t* p = pkt->data();
  const uint16_t len = pkt->len();
  // IPv4 without options (GRO does not merge packets with IP options), TCP, not a fragment.
  if (len < 40 || p[0] != 0x45 || p[9] != kProtoTcp || load_be16(p + 2) != len || (load_be16(p + 6) & 0x3fff) != 0) {
    return s;
  }
  // The merged packet gets a fresh IP header checksum: a bad one must reach the kernel as it is.
  if (csum_fold(csum_partial(p, 20, 0)) != 0xffff) {
    return s;
  }
  const uint8_t* tcp = p + 20;
  const auto doff = static_cast<uint16_t>((tcp[12] >> 4) * 4);
  if (doff < 20 || 20u + doff >= len) {  // no payload: pure ACKs are never merged
    return s;
  }
  const uint8_t flags = tcp[kTcpFlags];
  if (flags != kTcpAck && flags != (kTcpAck | kTcpPsh)) {  // SYN/FIN/RST/URG/ECE/CWR never merged
    return s;
  }
  s.candidate = true;
  s.hdr_len = static_cast<uint16_t>(20 + doff);
  s.payload = static_cast<uint16_t>(len - s.hdr_len);
  s.psh = (flags & kTcpPsh) != 0;
  s.seq = load_be32(tcp + 4);
  return s;
}

bool tcp_checksum_ok(const PktBuf* pkt) noexcept {
  const uint8_t* p = pkt->data();
  const auto l4_len = static_cast<uint16_t>(pkt->len() - 20);
  uint64_t acc = csum_pseudo_v4(p + 12, p + 16, kProtoTcp, l4_len);
  return csum_fold(csum_partial(p + 20, l4_len, acc)) == 0xffff;
}

// Same flow and the same headers but for the sequence number (and PSH, and the checksums, and
// the IPv4 id/length/checksum, which the merged packet gets anew).
bool same_headers(const PktBuf* a, const PktBuf* b, uint16_t hdr_len) noexcept {
  const uint8_t* x = a->data();
  const uint8_t* y = b->data();
  if (x[1] != y[1] || x[8] != y[8] || (x[6] & 0x40) != (y[6] & 0x40)) {  // TOS, TTL, DF
    return false;
  }
  if (std::memcmp(x + 12, y + 12, 8) != 0) {  // addresses
    return false;
  }
  const uint8_t* tx = x + 20;
  const uint8_t* ty = y + 20;
  // Ports (0..3), ack (8..11), data offset (12), window (14..15), options (20..).
  return std::memcmp(tx, ty, 4) == 0 && std::memcmp(tx + 8, ty + 8, 5) == 0 && std::memcmp(tx + 14, ty + 14, 2) == 0 &&
         std::memcmp(tx + 20, ty + 20, hdr_len - 40) == 0;
}

}  // namespace

uint16_t plan_tcp_coalesce(PktBuf* const pkts[], uint16_t n, uint16_t max_segments, TcpCoalesceGroup out[]) noexcept {
  uint16_t groups = 0;
  uint16_t i = 0;
  while (i < n) {
    TcpCoalesceGroup g;
    g.first = i;
    g.count = 1;
    TcpSeg head = inspect(pkts[i]);
    ++i;
    if (head.candidate && !head.psh && max_segments > 1) {
      g.gso_size = head.payload;
      g.hdr_len = head.hdr_len;
      uint32_t total = pkts[g.first]->len();
      uint32_t next_seq = head.seq + head.payload;
      bool head_checked = false;
      while (i < n && g.count < max_segments) {
        TcpSeg s = inspect(pkts[i]);
        if (!s.candidate || s.hdr_len != g.hdr_len || s.seq != next_seq || s.payload > g.gso_size ||
            total + s.payload > kMaxCoalescedLen || !same_headers(pkts[g.first], pkts[i], g.hdr_len)) {
          break;
        }
        // Verified here because the merged packet's checksum is computed afresh: a bad segment
        // must reach the receiver as it came, to be dropped there.
        if (!head_checked) {
          if (!tcp_checksum_ok(pkts[g.first])) {
            break;
          }
          head_checked = true;
        }
        if (!tcp_checksum_ok(pkts[i])) {
          break;
        }
        ++g.count;
        ++i;
        total += s.payload;
        next_seq += s.payload;
        if (s.psh || s.payload < g.gso_size) {  // PSH or a short segment ends the run
          break;
        }
      }
    }
    out[groups++] = g;
  }
  return groups;
}

void finish_tcp_coalesce(PktBuf* const pkts[], const TcpCoalesceGroup& group, VnetHdr& hdr) noexcept {
  uint8_t* p = pkts[group.first]->data();
  uint32_t total = pkts[group.first]->len();
  bool psh = false;
  for (uint16_t k = 1; k < group.count; ++k) {
    const PktBuf* m = pkts[group.first + k];
    total += m->len() - group.hdr_len;
    psh = (m->data()[20 + kTcpFlags] & kTcpPsh) != 0;
  }
  store_be16(p + 2, static_cast<uint16_t>(total));
  ipv4_set_header_checksum(p, 20);
  uint8_t* tcp = p + 20;
  if (psh) {
    tcp[kTcpFlags] = static_cast<uint8_t>(tcp[kTcpFlags] | kTcpPsh);
  }
  // CHECKSUM_PARTIAL: the field holds the uncomplemented pseudo-header sum.
  store_be16(tcp + kTcpCsumOffset, csum_fold(csum_pseudo_v4(p + 12, p + 16, kProtoTcp, static_cast<uint16_t>(total - 20))));
  hdr = VnetHdr{};
  hdr.flags = kVnetFlagNeedsCsum;
  hdr.gso_type = kVnetGsoTcpV4;
  hdr.hdr_len = group.hdr_len;
  hdr.gso_size = group.gso_size;
  hdr.csum_start = 20;
  hdr.csum_offset = kTcpCsumOffset;
}

// ---- UDP GSO ------------------------------------------------------------------------------------

uint16_t group_udp_gso(PktBuf* const pkts[], uint16_t n, uint16_t max_segments, uint16_t max_seg_size,
                       UdpGsoGroup out[]) noexcept {
  uint16_t groups = 0;
  uint16_t i = 0;
  while (i < n) {
    UdpGsoGroup g;
    g.first = i;
    g.count = 1;
    g.seg_size = pkts[i]->len();
    uint32_t total = g.seg_size;
    ++i;
    if (g.seg_size != 0 && g.seg_size <= max_seg_size) {
      const Peer& peer = pkts[g.first]->meta.peer;
      while (i < n && g.count < max_segments) {
        const uint16_t len = pkts[i]->len();
        if (len == 0 || len > g.seg_size || total + len > kUdpMaxPayload || !(pkts[i]->meta.peer == peer)) {
          break;
        }
        ++g.count;
        ++i;
        total += len;
        if (len < g.seg_size) {  // a shorter datagram can only be the last one
          break;
        }
      }
    }
    out[groups++] = g;
  }
  return groups;
}

}  // namespace ocm::datapath
