#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {
namespace {

constexpr uint16_t kDtls12 = 0xfefd;
constexpr uint16_t kDtls10 = 0xfeff;      // record version of a DTLS 1.2 ClientHello
constexpr uint16_t kDtlsBadVer = 0x0100;  // pre-RFC "DTLS 0.9" of legacy Cisco mode (protocol.md 5.4)

bool control_version_ok(uint16_t version) noexcept {
  return version == kDtls12 || version == kDtls10 || version == kDtlsBadVer;
}

// Consecutive datagrams usually come from the same client, so remember the last lookup.
// Valid for one burst only: the slow path may change the table between bursts.
class PeerCache {
 public:
  explicit PeerCache(const SessionTable& table) noexcept : table_(table) {}
  uint32_t lookup(const Peer& peer) noexcept {
    if (!valid_ || !(peer == peer_)) {
      peer_ = peer;
      slot_ = table_.lookup_peer(peer);
      valid_ = true;
    }
    return slot_;
  }

 private:
  const SessionTable& table_;
  Peer peer_;
  uint32_t slot_ = kNoSlot;
  bool valid_ = false;
};

}  // namespace

uint16_t classify_udp(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  BurstPartition part(pkts);
  PeerCache peers(ctx.sessions);
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    std::span<const uint8_t> datagram = p->bytes();
    if (datagram.size() < crypto::kDtlsHeaderSize) {
      part.drop(ctx, p, DropReason::kDtlsShort);
      continue;
    }
    crypto::DtlsHeader h;
    if (!crypto::parse_dtls_header(datagram, h)) {
      part.drop(ctx, p, DropReason::kDtlsBadLength);
      continue;
    }
    switch (h.content_type) {
      case crypto::kContentApplicationData: {
        if (h.version != kDtls12) {
          part.drop(ctx, p, DropReason::kDtlsBadVersion);
          continue;
        }
        // Clients send one application_data record per datagram; splitting coalesced records
        // would cost every packet a loop for a case no client produces.
        if (crypto::kDtlsHeaderSize + h.length != datagram.size()) {
          part.drop(ctx, p, DropReason::kDtlsBadLength);
          continue;
        }
        uint32_t slot = peers.lookup(p->meta.peer);
        PktKind kind = PktKind::kDtlsData;
        if (slot == kNoSlot) {
          // protocol.md 5.5: an unknown address:port is tried against the one session whose
          // peer has this source IP (NAT rebinding); dtls_open decides by authenticating.
          slot = ctx.sessions.lookup_roaming(p->meta.peer.addr);
          if (slot == kNoSlot) {
            part.drop(ctx, p, DropReason::kUnknownPeer);
            continue;
          }
          if (slot == kAmbiguousSlot) {
            part.drop(ctx, p, DropReason::kRoamAmbiguous);
            continue;
          }
          kind = PktKind::kRoamCandidate;
        }
        p->meta.kind = kind;
        p->meta.slot = slot;
        p->meta.rec_epoch = h.epoch;
        p->meta.rec_seq = h.seq;
        part.keep(p);
        break;
      }
      case crypto::kContentHandshake:
      case crypto::kContentChangeCipherSpec:
      case crypto::kContentAlert: {
        if (!control_version_ok(h.version)) {
          part.drop(ctx, p, DropReason::kDtlsBadVersion);
          continue;
        }
        uint32_t slot = peers.lookup(p->meta.peer);
        p->meta.slot = slot;
        PushResult r =
            push_control(ctx.control, ControlKind::kRecord, h.content_type, slot, p->meta.peer, ctx.now_ns, datagram);
        if (r == PushResult::kFull) {
          part.drop(ctx, p, DropReason::kControlRingFull);
        } else if (r == PushResult::kTooBig) {
          part.drop(ctx, p, DropReason::kControlTooBig);
        } else {
          part.consume(ctx, p, Event::kToSlowPath);
        }
        break;
      }
      default:
        part.drop(ctx, p, DropReason::kDtlsBadContentType);
        break;
    }
  }
  return part.finish();
}

}  // namespace ocm::datapath
