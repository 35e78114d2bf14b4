#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/stages.hpp"

namespace ocm::datapath {
namespace {

// protocol.md 4.2
constexpr uint8_t kTypeData = 0x00;
constexpr uint8_t kTypeDpdReq = 0x03;
constexpr uint8_t kTypeDpdResp = 0x04;
constexpr uint8_t kTypeDisconnect = 0x05;
constexpr uint8_t kTypeKeepalive = 0x07;
constexpr uint8_t kTypeCompressed = 0x08;

}  // namespace

uint16_t dispatch_payload(Ctx& ctx, PktBuf* pkts[], uint16_t n) noexcept {
  check_burst(n);
  BurstPartition part(pkts);
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    if (p->len() == 0) {
      part.drop(ctx, p, DropReason::kEmptyPayload);
      continue;
    }
    switch (p->data()[0]) {
      case kTypeData:
        p->adj(1);
        p->meta.kind = PktKind::kTunIp;
        part.keep(p);
        break;
      case kTypeDpdReq:
        // Echo in place: same length, same payload (an MTU probe's id and padding), only the
        // type changes (protocol.md 6.2). dtls_seal turns it into a record for the session.
        p->data()[0] = kTypeDpdResp;
        part.consume(ctx, p, Event::kDpdAnswered, PktKind::kDtlsPayload);
        break;
      case kTypeDpdResp:
        part.consume(ctx, p, Event::kDpdResp);
        break;
      case kTypeKeepalive:
        part.consume(ctx, p, Event::kKeepalive);
        break;
      case kTypeDisconnect: {
        PushResult r = push_control(ctx.control, ControlKind::kDisconnect, 0, p->meta.slot, p->meta.peer, ctx.now_ns,
                                    p->bytes().subspan(1));
        if (r == PushResult::kFull) {
          part.drop(ctx, p, DropReason::kControlRingFull);
        } else if (r == PushResult::kTooBig) {
          part.drop(ctx, p, DropReason::kControlTooBig);
        } else {
          part.consume(ctx, p, Event::kDisconnect);
        }
        break;
      }
      case kTypeCompressed:
        // We never advertise X-DTLS-Content-Encoding, so a compliant client never sends this.
        part.drop(ctx, p, DropReason::kCompressedUnsupported);
        break;
      default:
        part.drop(ctx, p, DropReason::kUnknownType);
        break;
    }
  }
  return part.finish();
}

}  // namespace ocm::datapath
