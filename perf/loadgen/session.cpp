#include "session.hpp"

#include <netinet/in.h>

#include <cstring>

#include "icmp.hpp"
#include "ocm/base/bytes.hpp"
#include "ocm/proto/cstp.hpp"
#include "runner.hpp"

namespace ocm::loadgen {
namespace {

using proto::CstpType;

constexpr uint64_t kSecond = 1000000;
// Plaintext of one TLS record, or one DTLS record: CSTP frames are at most 8 + 16384 bytes.
constexpr size_t kRecordBuffer = 16384 + 64;

sockaddr_in make_addr(uint32_t ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(ip);
  return a;
}

std::string random_hex(size_t bytes) {
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    auto b = static_cast<uint8_t>(std::rand());
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace

Session::Session(Runner& runner, uint32_t index) : runner_(runner), index_(index) {}

Session::~Session() = default;

void Session::enter(State s, uint64_t now_us) {
  state_ = s;
  t_phase_ = now_us;
}

void Session::start() {
  uint64_t now = runner_.now_us();
  t_start_ = now;
  enter(State::kTcp, now);
  if (uv_tcp_init(runner_.loop(), &tcp_) != 0) {
    fail(Failure::kLocalResource, "uv_tcp_init");
    return;
  }
  tcp_.data = this;
  tcp_open_ = true;
  ++open_handles_;
  const auto& sources = runner_.opt().sources;
  if (!sources.empty()) {
    auto local = make_addr(sources[index_ % sources.size()], 0);
    if (int rc = uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&local), 0); rc != 0) {
      fail(Failure::kLocalResource, std::string("bind: ") + uv_strerror(rc));
      return;
    }
  }
  auto server = make_addr(runner_.opt().host, runner_.opt().port);
  connect_req_.data = this;
  if (int rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&server), on_connect); rc != 0) {
    fail(rc == UV_EMFILE || rc == UV_ENFILE || rc == UV_EADDRNOTAVAIL ? Failure::kLocalResource : Failure::kTcpError,
         std::string("connect: ") + uv_strerror(rc));
  }
}

void Session::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<Session*>(req->data);
  if (status == UV_ECANCELED || self->state_ != State::kTcp) {
    return;
  }
  if (status != 0) {
    self->fail(status == UV_ECONNREFUSED ? Failure::kTcpRefused
               : (status == UV_EADDRNOTAVAIL || status == UV_EMFILE) ? Failure::kLocalResource
                                                                     : Failure::kTcpError,
               std::string("connect: ") + uv_strerror(status));
    return;
  }
  uint64_t now = self->runner_.now_us();
  self->runner_.stats().latency(Phase::kTcp, now - self->t_phase_);
  uv_tcp_nodelay(&self->tcp_, 1);
  self->enter(State::kTls, now);
  self->tls_ = std::make_unique<TlsClient>(self->runner_.tls());
  if (int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), on_alloc, on_read); rc != 0) {
    self->fail(Failure::kTcpError, std::string("read_start: ") + uv_strerror(rc));
    return;
  }
  self->on_tls_bytes();  // sends the ClientHello
}

void Session::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  // One shared buffer: every read callback consumes its bytes before returning.
  auto* self = static_cast<Session*>(h->data);
  auto span = self->runner_.read_buffer();
  *buf = uv_buf_init(reinterpret_cast<char*>(span.data()), static_cast<unsigned>(span.size()));
}

void Session::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Session*>(stream->data);
  if (nread == 0 || self->state_ == State::kFailed || self->state_ == State::kClosed) {
    return;
  }
  if (nread < 0) {
    Failure f = self->state_ == State::kTls ? Failure::kTlsError
                : self->state_ == State::kUp || self->state_ == State::kDtls ? Failure::kServerClosed
                                                                              : Failure::kServerClosed;
    self->fail(f, std::string("connection ended: ") + uv_strerror(static_cast<int>(nread)));
    return;
  }
  self->tls_->push_input(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  self->on_tls_bytes();
}

void Session::flush_tls() {
  auto& out = tls_->output();
  if (out.empty() || !tcp_open_) {
    return;
  }
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(out.data()), static_cast<unsigned>(out.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
  size_t done = n > 0 ? static_cast<size_t>(n) : 0;
  if (done < out.size()) {
    // The kernel buffer is full (or busy): queue the rest; libuv keeps the order.
    struct WriteReq {
      uv_write_t req;
      std::vector<uint8_t> data;
    };
    auto* w = new WriteReq{};
    w->data.assign(out.begin() + static_cast<std::ptrdiff_t>(done), out.end());
    uv_buf_t rest = uv_buf_init(reinterpret_cast<char*>(w->data.data()), static_cast<unsigned>(w->data.size()));
    int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &rest, 1,
                      [](uv_write_t* req, int) { delete reinterpret_cast<WriteReq*>(req); });
    if (rc != 0) {
      delete w;
      out.clear();
      fail(Failure::kTcpError, std::string("write: ") + uv_strerror(rc));
      return;
    }
  }
  out.clear();
}

void Session::on_tls_bytes() {
  if (state_ == State::kTls) {
    IoStatus st = tls_->handshake();
    flush_tls();
    if (st == IoStatus::kWantRead) {
      return;
    }
    if (st != IoStatus::kOk) {
      fail(Failure::kTlsError, "handshake: " + tls_->last_error());
      return;
    }
    if (!tls_->pin_matches()) {
      fail(Failure::kCertPin, "server key does not match --servercert");
      return;
    }
    uint64_t now = runner_.now_us();
    runner_.stats().latency(Phase::kTls, now - t_phase_);
    runner_.note_tls_version(tls_->version(), tls_->group());
    enter(State::kAuth, now);
    http_.emplace(true);
    send_request(init_request(runner_.host_header(), cookies_.header_value()));
    // fall through: the server may already have sent application data (not expected, checked below)
  }
  uint8_t* buf = runner_.record_buffer();
  while (state_ == State::kAuth || state_ == State::kConnect || state_ == State::kDtls || state_ == State::kUp) {
    size_t n = 0;
    IoStatus st = tls_->read(buf, kRecordBuffer, n);
    flush_tls();
    if (st == IoStatus::kWantRead) {
      return;
    }
    if (st == IoStatus::kClosed) {
      fail(Failure::kServerClosed, "TLS close_notify from the server");
      return;
    }
    if (st == IoStatus::kError) {
      fail(state_ == State::kUp || state_ == State::kDtls ? Failure::kServerClosed : Failure::kTlsError,
           "TLS read: " + tls_->last_error());
      return;
    }
    if (state_ == State::kAuth || state_ == State::kConnect) {
      on_plaintext(buf, n);
    } else {
      on_cstp_record(buf, n);
    }
  }
}

void Session::send_request(const std::string& text) {
  if (tls_->write(reinterpret_cast<const uint8_t*>(text.data()), text.size()) != IoStatus::kOk) {
    fail(Failure::kTlsError, "TLS write: " + tls_->last_error());
    return;
  }
  flush_tls();
}

void Session::on_plaintext(const uint8_t* data, size_t len) {
  std::string_view text(reinterpret_cast<const char*>(data), len);
  if (!http_) {
    fail(Failure::kHttpMalformed, "bytes while no request is outstanding");
    return;
  }
  size_t used = http_->feed(text);
  if (http_->state() == HttpResponseParser::State::kError) {
    fail(Failure::kHttpMalformed, http_->error());
    return;
  }
  if (http_->state() == HttpResponseParser::State::kNeedMore) {
    return;
  }
  if (used != len) {
    // After the CONNECT reply the stream turns into CSTP, but the first frame must be a record
    // of its own (protocol.md §4.1); during auth nothing may follow a response unasked.
    fail(state_ == State::kConnect ? Failure::kCstpFraming : Failure::kHttpMalformed,
         "bytes after the response in the same TLS record");
    return;
  }
  if (state_ == State::kAuth) {
    on_http_response();
  } else {
    on_connect_reply();
  }
}

void Session::on_http_response() {
  HttpResponse resp = std::move(http_->response());
  http_.reset();
  if (resp.status == 401) {
    fail(Failure::kAuthRejected, "HTTP 401 " + resp.reason);
    return;
  }
  if (resp.status != 200) {
    fail(Failure::kHttpStatus, "auth step got HTTP " + std::to_string(resp.status) + " " + resp.reason);
    return;
  }
  for (auto sc : resp.all("Set-Cookie")) {
    if (auto st = cookies_.absorb(sc); !st) {
      fail(Failure::kHttpMalformed, st.error().message);
      return;
    }
  }
  auto doc = parse_auth_document(resp.body);
  if (!doc) {
    fail(Failure::kAuthXml, doc.error().message);
    return;
  }
  if (doc->auth_id == "success") {
    auto webvpn = cookies_.get("webvpn");
    if (!webvpn || !valid_session_cookie(*webvpn)) {
      fail(Failure::kAuthCookie, webvpn ? "webvpn cookie is not base64 of 32 bytes" : "success without webvpn cookie");
      return;
    }
    cookie_ = std::string(*webvpn);
    uint64_t now = runner_.now_us();
    runner_.stats().latency(Phase::kAuth, now - t_phase_);
    start_connect();
    return;
  }
  bool asks_password = false;
  for (const auto& in : doc->inputs) {
    asks_password = asks_password || in.type == "password";
  }
  if (!doc->has_form || doc->inputs.empty()) {
    fail(Failure::kAuthXml, "auth id \"" + doc->auth_id + "\" without a form to fill");
    return;
  }
  if (asks_password && password_sent_) {
    fail(Failure::kAuthRejected, "password asked again: " + doc->message.substr(0, 60));
    return;
  }
  if (++auth_steps_ > 6) {
    fail(Failure::kAuthXml, "auth dialogue longer than 6 forms");
    return;
  }
  const auto& user = runner_.user_for(index_);
  auto req = auth_reply_request(*doc, runner_.host_header(), cookies_.header_value(), user.first, user.second);
  if (!req) {
    fail(Failure::kAuthXml, req.error().message);
    return;
  }
  password_sent_ = password_sent_ || asks_password;
  http_.emplace(true);
  send_request(*req);
}

void Session::start_connect() {
  enter(State::kConnect, runner_.now_us());
  ConnectOptions opt;
  opt.dtls = runner_.opt().dtls;
  opt.hostname = "loadgen" + std::to_string(index_);
  opt.master_secret_hex = random_hex(48);
  http_.emplace(false);
  send_request(connect_request(runner_.host_header(), cookie_, opt));
}

void Session::on_connect_reply() {
  HttpResponse resp = std::move(http_->response());
  http_.reset();
  // openconnect accepts exactly "HTTP/1.1 200 " here (protocol.md §8.1).
  if (resp.version_minor != 1 || resp.status != 200) {
    fail(Failure::kConnectStatus, "CONNECT got HTTP/1." + std::to_string(resp.version_minor) + " " +
                                      std::to_string(resp.status) + " " + resp.reason);
    return;
  }
  auto params = parse_tunnel_reply(resp, runner_.opt().dtls);
  if (!params) {
    fail(Failure::kConnectHeaders, params.error().message);
    return;
  }
  params_ = *params;
  uint64_t now = runner_.now_us();
  runner_.stats().latency(Phase::kConnect, now - t_phase_);
  cstp_.dpd_s = params_.cstp_dpd;
  cstp_.keepalive_s = params_.cstp_keepalive;
  cstp_.last_rx_us = cstp_.last_tx_us = now;
  if (!runner_.opt().dtls) {
    on_up(now);
    return;
  }
  if (!params_.dtls) {
    fail(Failure::kDtlsNotOffered, "no X-DTLS-* offer in the CONNECT reply");
    return;
  }
  enter(State::kDtls, now);
  start_dtls();
}

void Session::start_dtls() {
  std::array<uint8_t, 32> psk{};
  if (!tls_->export_psk(psk)) {
    fail(Failure::kDtlsError, "TLS exporter failed");
    return;
  }
  auto client = DtlsClient::create(runner_.dtls(), params_.dtls->app_id, psk, dtls_send, this);
  secure_zero(psk.data(), psk.size());
  if (!client) {
    fail(Failure::kLocalResource, client.error().message);
    return;
  }
  dtls_ = std::move(*client);
  if (uv_udp_init(runner_.loop(), &udp_) != 0) {
    fail(Failure::kLocalResource, "uv_udp_init");
    return;
  }
  udp_.data = this;
  udp_open_ = true;
  ++open_handles_;
  const auto& sources = runner_.opt().sources;
  auto local = make_addr(sources.empty() ? 0 : sources[index_ % sources.size()], 0);
  auto server = make_addr(runner_.opt().host, params_.dtls->port);
  int rc = uv_udp_bind(&udp_, reinterpret_cast<const sockaddr*>(&local), 0);
  if (rc == 0) {
    rc = uv_udp_connect(&udp_, reinterpret_cast<const sockaddr*>(&server));
  }
  if (rc == 0) {
    rc = uv_udp_recv_start(&udp_, on_alloc, on_udp_read);
  }
  if (rc != 0) {
    fail(Failure::kLocalResource, std::string("UDP socket: ") + uv_strerror(rc));
    return;
  }
  dtls_flight_us_ = runner_.now_us();
  IoStatus st = dtls_->handshake();
  if (st == IoStatus::kError) {
    fail(Failure::kDtlsError, "DTLS ClientHello: " + dtls_->last_error());
  }
}

void Session::dtls_send(void* owner, const uint8_t* data, size_t len) {
  auto* self = static_cast<Session*>(owner);
  if (!self->udp_open_) {
    return;
  }
  uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data)), static_cast<unsigned>(len));
  // Connected UDP socket: a full send buffer drops the datagram, as a network would.
  if (uv_udp_try_send(&self->udp_, &b, 1, nullptr) < 0) {
    self->runner_.count_udp_send_drop();
  }
}

void Session::on_udp_read(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const struct sockaddr*, unsigned) {
  auto* self = static_cast<Session*>(udp->data);
  if (nread <= 0 || self->dtls_ == nullptr) {
    return;  // 0 = nothing more; errors (ICMP unreachable) surface as DTLS timeouts
  }
  self->on_datagram(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
}

void Session::on_datagram(const uint8_t* data, size_t len) {
  if (state_ != State::kDtls && state_ != State::kUp) {
    return;
  }
  dtls_->push_datagram(data, len);
  uint64_t now = runner_.now_us();
  if (state_ == State::kDtls) {
    IoStatus st = dtls_->handshake();
    dtls_flight_us_ = now;
    if (st == IoStatus::kWantRead) {
      return;
    }
    if (st != IoStatus::kOk) {
      fail(Failure::kDtlsError, "DTLS handshake: " + dtls_->last_error());
      return;
    }
    runner_.stats().latency(Phase::kDtls, now - t_phase_);
    runner_.note_dtls_cipher(dtls_->cipher());
    dtls_chan_.dpd_s = params_.dtls->dpd;
    dtls_chan_.keepalive_s = params_.dtls->keepalive;
    dtls_chan_.last_rx_us = dtls_chan_.last_tx_us = now;
    on_up(now);
  }
  uint8_t* buf = runner_.record_buffer();
  while (state_ == State::kUp) {
    size_t n = 0;
    IoStatus st = dtls_->read(buf, kRecordBuffer, n);
    if (st == IoStatus::kWantRead) {
      return;
    }
    if (st != IoStatus::kOk) {
      fail(Failure::kDtlsError, "DTLS read: " + dtls_->last_error());
      return;
    }
    on_dtls_payload(buf, n);
  }
}

void Session::on_up(uint64_t now_us) {
  enter(State::kUp, now_us);
  runner_.stats().latency(Phase::kTotal, now_us - t_start_);
  runner_.on_established(*this);
}

void Session::on_cstp_record(const uint8_t* data, size_t len) {
  proto::CstpFrame frame;
  if (auto err = proto::decode_cstp_record({data, len}, frame); err != proto::CstpDecodeError::kNone) {
    fail(Failure::kCstpFraming, proto::to_string(err));
    return;
  }
  uint64_t now = runner_.now_us();
  cstp_.last_rx_us = now;
  switch (frame.type) {
    case CstpType::kData:
      on_data(frame.payload.data(), frame.payload.size(), now);
      break;
    case CstpType::kDpdRequest:
      runner_.stats().server_dpd(true);
      send_cstp(static_cast<uint8_t>(CstpType::kDpdResponse), frame.payload.data(), frame.payload.size());
      break;
    case CstpType::kDpdResponse:
      if (cstp_.dpd_sent_us != 0) {
        runner_.stats().dpd(true, true);
        cstp_.dpd_sent_us = 0;
      }
      break;
    case CstpType::kKeepalive:
      break;
    case CstpType::kDisconnect:
    case CstpType::kTerminate:
      fail(Failure::kServerDisconnect, "CSTP DISCONNECT/TERMINATE from the server");
      break;
    default:
      // COMPRESSED was not negotiated; unknown types are fatal in openconnect too.
      fail(Failure::kCstpUnexpected, "CSTP frame type " + std::to_string(static_cast<int>(frame.type)));
      break;
  }
}

void Session::on_dtls_payload(const uint8_t* data, size_t len) {
  if (len == 0) {
    fail(Failure::kDtlsUnexpected, "empty DTLS record");
    return;
  }
  uint64_t now = runner_.now_us();
  dtls_chan_.last_rx_us = now;
  switch (static_cast<CstpType>(data[0])) {
    case CstpType::kData:
      on_data(data + 1, len - 1, now);
      break;
    case CstpType::kDpdRequest:
      runner_.stats().server_dpd(false);
      send_dtls(static_cast<uint8_t>(CstpType::kDpdResponse), data + 1, len - 1);
      break;
    case CstpType::kDpdResponse:
      if (dtls_chan_.dpd_sent_us != 0) {
        runner_.stats().dpd(false, true);
        dtls_chan_.dpd_sent_us = 0;
      }
      break;
    case CstpType::kKeepalive:
      break;
    default:
      // ocserv never sends DISCONNECT over DTLS, and nothing else is defined there.
      fail(Failure::kDtlsUnexpected, "DTLS payload type " + std::to_string(data[0]));
      break;
  }
}

void Session::on_data(const uint8_t* packet, size_t len, uint64_t now_us) {
  auto reply = parse_echo_reply({packet, len}, runner_.traffic_target(params_), params_.address,
                                static_cast<uint16_t>(index_));
  if (!reply) {
    runner_.count_foreign_packet();
    return;
  }
  ++traffic_.rx_packets;
  traffic_.rx_bytes += reply->size;
  uint64_t sent = ping_sent_us_[reply->seq % ping_sent_us_.size()];
  if (sent != 0 && now_us >= sent) {
    traffic_.rtt_us.push_back(static_cast<uint32_t>(std::min<uint64_t>(now_us - sent, UINT32_MAX)));
    ping_sent_us_[reply->seq % ping_sent_us_.size()] = 0;
  }
}

bool Session::send_cstp(uint8_t type, const uint8_t* payload, size_t len) {
  uint8_t* frame = runner_.send_buffer();
  proto::encode_cstp_header(frame, static_cast<CstpType>(type), static_cast<uint16_t>(len));
  if (len > 0) {
    std::memcpy(frame + proto::kCstpHeaderSize, payload, len);
  }
  if (tls_->write(frame, proto::kCstpHeaderSize + len) != IoStatus::kOk) {
    fail(Failure::kTlsError, "TLS write: " + tls_->last_error());
    return false;
  }
  flush_tls();
  cstp_.last_tx_us = runner_.now_us();
  return true;
}

bool Session::send_dtls(uint8_t type, const uint8_t* payload, size_t len) {
  uint8_t* rec = runner_.send_buffer();
  rec[0] = type;
  if (len > 0) {
    std::memcpy(rec + 1, payload, len);
  }
  if (dtls_->write(rec, len + 1) != IoStatus::kOk) {
    fail(Failure::kDtlsError, "DTLS write: " + dtls_->last_error());
    return false;
  }
  dtls_chan_.last_tx_us = runner_.now_us();
  return true;
}

void Session::send_ping(uint64_t now_us) {
  if (state_ != State::kUp) {
    return;
  }
  if (first_ping_us_ == 0) {
    first_ping_us_ = now_us;
  }
  uint16_t seq = ++ping_seq_;
  auto pkt = icmp_echo_request(params_.address, runner_.traffic_target(params_), static_cast<uint16_t>(index_), seq,
                               runner_.opt().traffic_size);
  ping_sent_us_[seq % ping_sent_us_.size()] = now_us;
  ++traffic_.tx_packets;
  if (dtls_ != nullptr) {
    send_dtls(static_cast<uint8_t>(CstpType::kData), pkt.data(), pkt.size());
  } else {
    send_cstp(static_cast<uint8_t>(CstpType::kData), pkt.data(), pkt.size());
  }
}

void Session::keep_alive(Channel& c, bool cstp, uint64_t now) {
  if (state_ != State::kUp) {
    return;
  }
  if (c.dpd_s > 0) {
    uint64_t dpd = c.dpd_s * kSecond;
    if (now - c.last_rx_us >= 2 * dpd) {
      fail(Failure::kDpdTimeout, cstp ? "CSTP: nothing received for 2 x dpd" : "DTLS: nothing received for 2 x dpd");
      return;
    }
    // openconnect: DPD when nothing was received for dpd s, repeated every dpd/2 while unanswered.
    if (now - c.last_rx_us >= dpd && (c.dpd_sent_us == 0 || now - c.dpd_sent_us >= dpd / 2)) {
      if (c.dpd_sent_us == 0) {
        runner_.stats().dpd(cstp, false);
      }
      c.dpd_sent_us = now;
      if (!(cstp ? send_cstp(static_cast<uint8_t>(CstpType::kDpdRequest), nullptr, 0)
                 : send_dtls(static_cast<uint8_t>(CstpType::kDpdRequest), nullptr, 0))) {
        return;
      }
    }
  }
  if (c.keepalive_s > 0 && now - c.last_tx_us >= c.keepalive_s * kSecond) {
    runner_.stats().keepalive(cstp);
    if (cstp) {
      send_cstp(static_cast<uint8_t>(CstpType::kKeepalive), nullptr, 0);
    } else {
      send_dtls(static_cast<uint8_t>(CstpType::kKeepalive), nullptr, 0);
    }
  }
}

void Session::tick(uint64_t now) {
  uint64_t limit = static_cast<uint64_t>(runner_.opt().phase_timeout * 1e6);
  switch (state_) {
    case State::kTcp:
      if (now - t_phase_ > limit) fail(Failure::kTcpTimeout, "TCP connect timed out");
      break;
    case State::kTls:
      if (now - t_phase_ > limit) fail(Failure::kTlsTimeout, "TLS handshake timed out");
      break;
    case State::kAuth:
      if (now - t_phase_ > limit) fail(Failure::kAuthTimeout, "auth dialogue timed out");
      break;
    case State::kConnect:
      if (now - t_phase_ > limit) fail(Failure::kConnectTimeout, "no CONNECT reply");
      break;
    case State::kDtls:
      if (now - t_phase_ > limit) {
        fail(Failure::kDtlsTimeout, "DTLS handshake timed out");
      } else if (now - dtls_flight_us_ >= static_cast<uint64_t>(dtls_->timeout_seconds()) * kSecond) {
        dtls_flight_us_ = now;
        if (!dtls_->on_timeout()) {
          fail(Failure::kDtlsTimeout, "DTLS retransmissions exhausted");
        }
      }
      break;
    case State::kUp:
      keep_alive(cstp_, true, now);
      if (dtls_ != nullptr) {
        keep_alive(dtls_chan_, false, now);
      }
      break;
    default:
      break;
  }
}

void Session::fail(Failure f, const std::string& detail) {
  if (state_ == State::kFailed || state_ == State::kClosed) {
    return;
  }
  State was = state_;
  state_ = State::kFailed;
  runner_.on_failed(*this, was, f, detail);
  close_handles();
}

void Session::finish() {
  if (state_ == State::kUp) {
    // openconnect on SIGINT: BYE with 0xB0 + reason, which also ends the session server-side.
    static constexpr char kReason[] = "\xb0" "Aborted by caller";
    send_cstp(static_cast<uint8_t>(CstpType::kDisconnect), reinterpret_cast<const uint8_t*>(kReason),
              sizeof kReason - 1);
  }
  if (state_ != State::kFailed) {
    state_ = State::kClosed;
  }
  close_handles();
}

void Session::on_close(uv_handle_t* h) {
  auto* self = static_cast<Session*>(h->data);
  --self->open_handles_;
}

void Session::close_handles() {
  if (tcp_open_) {
    tcp_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
  }
  if (udp_open_) {
    udp_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&udp_), on_close);
  }
}

}  // namespace ocm::loadgen
