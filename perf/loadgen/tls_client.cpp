// wolfSSL's options.h must precede every other wolfSSL header.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfio.h>

#include "tls_client.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "ocm/base/bytes.hpp"

namespace ocm::loadgen {
namespace {

std::once_flag g_init;

std::string wolf_error(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  return std::string(text) + " (" + std::to_string(code) + ")";
}

// What openconnect's GnuTLS priority offers for PSK-NEGOTIATE, limited to suites wolfSSL knows.
// Debian's wolfSSL only has PSK-CHACHA20-POLY1305 of these with a PSK-only key exchange.
constexpr const char* kDtlsSuites =
    "PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256:PSK-AES256-CBC-SHA:"
    "PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA";

// In-memory datagram pipe for building the session template.
struct MemPipe {
  std::deque<std::vector<uint8_t>> in;
  std::deque<std::vector<uint8_t>> out;
};
int pipe_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<MemPipe*>(ctx);
  if (p->in.empty()) {
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  auto d = std::move(p->in.front());
  p->in.pop_front();
  int n = std::min(sz, static_cast<int>(d.size()));
  std::memcpy(buf, d.data(), static_cast<size_t>(n));
  return n;
}
int pipe_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  static_cast<MemPipe*>(ctx)->out.emplace_back(buf, buf + sz);
  return sz;
}
constexpr uint8_t kTemplateKey[32] = {0x6c, 0x67};  // any value: the template is never used for data
unsigned int template_server_psk(WOLFSSL*, const char*, unsigned char* key, unsigned int max) {
  if (max < sizeof kTemplateKey) {
    return 0;
  }
  std::memcpy(key, kTemplateKey, sizeof kTemplateKey);
  return sizeof kTemplateKey;
}
unsigned int template_client_psk(WOLFSSL*, const char*, char* identity, unsigned int id_max, unsigned char* key,
                                 unsigned int max) {
  if (max < sizeof kTemplateKey || id_max < 4) {
    return 0;
  }
  std::memcpy(identity, "psk", 4);
  std::memcpy(key, kTemplateKey, sizeof kTemplateKey);
  return sizeof kTemplateKey;
}

}  // namespace

// ---- TLS -----------------------------------------------------------------------------------

int tls_client_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* self = static_cast<TlsClient*>(ctx);
  size_t avail = self->input_.size() - self->input_pos_;
  if (avail == 0) {
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  size_t n = std::min(avail, static_cast<size_t>(sz));
  std::memcpy(buf, self->input_.data() + self->input_pos_, n);
  self->input_pos_ += n;
  if (self->input_pos_ == self->input_.size()) {
    self->input_.clear();
    self->input_pos_ = 0;
  }
  return static_cast<int>(n);
}

int tls_client_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* self = static_cast<TlsClient*>(ctx);
  self->output_.insert(self->output_.end(), buf, buf + sz);
  return sz;
}

Result<std::shared_ptr<TlsContext>> TlsContext::create(std::vector<uint8_t> pin_sha256) {
  std::call_once(g_init, [] { wolfSSL_Init(); });
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (ctx == nullptr) {
    return make_error("wolfSSL_CTX_new failed");
  }
  std::shared_ptr<TlsContext> owner(new TlsContext(ctx, std::move(pin_sha256)));
  // The server's identity is checked by pin (openconnect --servercert), not by a CA chain.
  wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
  wolfSSL_CTX_SetIORecv(ctx, tls_client_recv);
  wolfSSL_CTX_SetIOSend(ctx, tls_client_send);
  return owner;
}

TlsContext::~TlsContext() { wolfSSL_CTX_free(ctx_); }

TlsClient::TlsClient(std::shared_ptr<TlsContext> ctx) : ctx_(std::move(ctx)) {
  ssl_ = wolfSSL_new(ctx_->native());
  if (ssl_ == nullptr) {
    std::abort();  // out of memory: nothing sensible to do in a load generator
  }
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  // TLS 1.3 key shares as openconnect 9 (GnuTLS 3.7) sends them: secp256r1 and x25519 (seen in
  // its ClientHello). wolfSSL alone would share P-256 only, and the server's cost per
  // handshake depends on which one it picks (perf/README.md).
  wolfSSL_UseKeyShare(ssl_, WOLFSSL_ECC_SECP256R1);
  wolfSSL_UseKeyShare(ssl_, WOLFSSL_ECC_X25519);
}

TlsClient::~TlsClient() { wolfSSL_free(ssl_); }

void TlsClient::push_input(const uint8_t* data, size_t len) { input_.insert(input_.end(), data, data + len); }

IoStatus TlsClient::map_error(int ret) {
  int err = wolfSSL_get_error(ssl_, ret);
  if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) {
    return IoStatus::kWantRead;
  }
  if (err == WOLFSSL_ERROR_ZERO_RETURN) {
    return IoStatus::kClosed;
  }
  last_error_ = wolf_error(err);
  return IoStatus::kError;
}

IoStatus TlsClient::handshake() {
  int ret = wolfSSL_connect(ssl_);
  return ret == WOLFSSL_SUCCESS ? IoStatus::kOk : map_error(ret);
}

bool TlsClient::pin_matches() const {
  if (ctx_->pin().empty()) {
    return true;
  }
  WOLFSSL_X509* cert = wolfSSL_get_peer_certificate(ssl_);
  if (cert == nullptr) {
    return false;
  }
  std::vector<uint8_t> spki(1024);
  int len = static_cast<int>(spki.size());
  bool ok = wolfSSL_X509_get_pubkey_buffer(cert, spki.data(), &len) == WOLFSSL_SUCCESS;
  wolfSSL_X509_free(cert);
  if (!ok) {
    return false;
  }
  uint8_t digest[WC_SHA256_DIGEST_SIZE];
  if (wc_Sha256Hash(spki.data(), static_cast<word32>(len), digest) != 0) {
    return false;
  }
  return constant_time_equal(digest, ctx_->pin());
}

IoStatus TlsClient::read(uint8_t* buf, size_t cap, size_t& out_len) {
  int ret = wolfSSL_read(ssl_, buf, static_cast<int>(cap));
  if (ret > 0) {
    out_len = static_cast<size_t>(ret);
    return IoStatus::kOk;
  }
  return map_error(ret);
}

IoStatus TlsClient::write(const uint8_t* data, size_t len) {
  int ret = wolfSSL_write(ssl_, data, static_cast<int>(len));
  return ret == static_cast<int>(len) ? IoStatus::kOk : map_error(ret);
}

bool TlsClient::export_psk(std::span<uint8_t, 32> out) const {
  static constexpr char kLabel[] = "EXPORTER-openconnect-psk";
  return wolfSSL_export_keying_material(ssl_, out.data(), out.size(), kLabel, sizeof kLabel - 1, nullptr, 0, 0) ==
         WOLFSSL_SUCCESS;
}

std::string TlsClient::version() const {
  const char* v = wolfSSL_get_version(ssl_);
  return v != nullptr ? v : "?";
}

std::string TlsClient::group() const {
  const char* g = wolfSSL_get_curve_name(ssl_);
  return g != nullptr ? g : "?";
}

// ---- DTLS ----------------------------------------------------------------------------------

int dtls_client_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* self = static_cast<DtlsClient*>(ctx);
  if (self->incoming_.empty()) {
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  auto d = std::move(self->incoming_.front());
  self->incoming_.pop_front();
  // A datagram larger than wolfSSL's buffer is cut; wolfSSL then rejects the record, which we
  // want to see rather than hide.
  int n = std::min(sz, static_cast<int>(d.size()));
  std::memcpy(buf, d.data(), static_cast<size_t>(n));
  return n;
}

int dtls_client_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* self = static_cast<DtlsClient*>(ctx);
  self->send_(self->owner_, reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(sz));
  return sz;  // UDP: a lost datagram is the retransmission timer's business
}

unsigned int dtls_client_psk(WOLFSSL* ssl, const char*, char* identity, unsigned int id_max, unsigned char* key,
                             unsigned int key_max) {
  auto* self = static_cast<DtlsClient*>(wolfSSL_GetIOReadCtx(ssl));
  // openconnect's identity is the ASCII string "psk" (protocol.md §5.2).
  if (id_max < 4 || key_max < self->psk_.size()) {
    return 0;
  }
  std::memcpy(identity, "psk", 4);
  std::memcpy(key, self->psk_.data(), self->psk_.size());
  return static_cast<unsigned int>(self->psk_.size());
}

Result<std::shared_ptr<DtlsContext>> DtlsContext::create() {
  std::call_once(g_init, [] { wolfSSL_Init(); });
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
  if (ctx == nullptr) {
    return make_error("wolfSSL_CTX_new (DTLS) failed");
  }
  std::shared_ptr<DtlsContext> owner(new DtlsContext(ctx));
  wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
  if (wolfSSL_CTX_set_cipher_list(ctx, kDtlsSuites) != WOLFSSL_SUCCESS) {
    return make_error("no PSK cipher suite available in this wolfSSL");
  }
  wolfSSL_CTX_SetIORecv(ctx, pipe_recv);
  wolfSSL_CTX_SetIOSend(ctx, pipe_send);
  wolfSSL_CTX_set_psk_client_callback(ctx, template_client_psk);

  // The template: one PSK handshake against a throw-away wolfSSL server in memory.
  WOLFSSL_CTX* sctx = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
  if (sctx == nullptr) {
    return make_error("wolfSSL_CTX_new (DTLS server) failed");
  }
  wolfSSL_CTX_SetIORecv(sctx, pipe_recv);
  wolfSSL_CTX_SetIOSend(sctx, pipe_send);
  wolfSSL_CTX_set_psk_server_callback(sctx, template_server_psk);
  wolfSSL_CTX_set_cipher_list(sctx, kDtlsSuites);
  WOLFSSL* c = wolfSSL_new(ctx);
  WOLFSSL* s = wolfSSL_new(sctx);
  MemPipe to_client;
  MemPipe to_server;
  wolfSSL_SetIOReadCtx(c, &to_client);
  wolfSSL_SetIOWriteCtx(c, &to_server);
  wolfSSL_SetIOReadCtx(s, &to_server);
  wolfSSL_SetIOWriteCtx(s, &to_client);
  wolfSSL_dtls_set_using_nonblock(c, 1);
  wolfSSL_dtls_set_using_nonblock(s, 1);
  bool done = false;
  for (int round = 0; round < 16 && !done; ++round) {
    done = wolfSSL_connect(c) == WOLFSSL_SUCCESS;
    for (auto& d : to_server.out) {
      to_server.in.push_back(std::move(d));
    }
    to_server.out.clear();
    wolfSSL_accept(s);
    for (auto& d : to_client.out) {
      to_client.in.push_back(std::move(d));
    }
    to_client.out.clear();
  }
  Status result = make_error("DTLS template handshake did not complete");
  if (done) {
    WOLFSSL_SESSION* ses = wolfSSL_get1_session(c);
    unsigned int id_len = 0;
    const unsigned char* id = ses != nullptr ? wolfSSL_SESSION_get_id(ses, &id_len) : nullptr;
    int len = ses != nullptr ? wolfSSL_i2d_SSL_SESSION(ses, nullptr) : 0;
    if (id != nullptr && id_len == 32 && len > 0) {
      owner->blob_.resize(static_cast<size_t>(len));
      unsigned char* p = owner->blob_.data();
      wolfSSL_i2d_SSL_SESSION(ses, &p);
      // The id must occur exactly once, or we would not know which bytes to replace.
      size_t hits = 0;
      for (size_t i = 0; i + 32 <= owner->blob_.size(); ++i) {
        if (std::memcmp(owner->blob_.data() + i, id, 32) == 0) {
          owner->id_offset_ = i;
          ++hits;
        }
      }
      result = hits == 1 ? Status{} : make_error("DTLS template: session id not found exactly once");
    }
    if (ses != nullptr) {
      wolfSSL_SESSION_free(ses);
    }
  }
  wolfSSL_free(c);
  wolfSSL_free(s);
  wolfSSL_CTX_free(sctx);
  if (!result) {
    return result.error();
  }
  wolfSSL_CTX_SetIORecv(ctx, dtls_client_recv);
  wolfSSL_CTX_SetIOSend(ctx, dtls_client_send);
  wolfSSL_CTX_set_psk_client_callback(ctx, dtls_client_psk);
  return owner;
}

DtlsContext::~DtlsContext() { wolfSSL_CTX_free(ctx_); }

std::vector<uint8_t> DtlsContext::session_blob(std::span<const uint8_t, 32> id) const {
  std::vector<uint8_t> blob = blob_;
  std::memcpy(blob.data() + id_offset_, id.data(), id.size());
  return blob;
}

DtlsClient::DtlsClient(std::shared_ptr<DtlsContext> ctx, std::span<const uint8_t, 32> psk, SendFn send, void* owner)
    : ctx_(std::move(ctx)), send_(send), owner_(owner) {
  std::memcpy(psk_.data(), psk.data(), psk_.size());
}

Result<std::unique_ptr<DtlsClient>> DtlsClient::create(const std::shared_ptr<DtlsContext>& ctx,
                                                       std::span<const uint8_t, 32> app_id,
                                                       std::span<const uint8_t, 32> psk, SendFn send, void* owner) {
  std::unique_ptr<DtlsClient> c(new DtlsClient(ctx, psk, send, owner));
  c->ssl_ = wolfSSL_new(ctx->native());
  if (c->ssl_ == nullptr) {
    return make_error("wolfSSL_new (DTLS) failed");
  }
  wolfSSL_SetIOReadCtx(c->ssl_, c.get());
  wolfSSL_SetIOWriteCtx(c->ssl_, c.get());
  wolfSSL_dtls_set_using_nonblock(c->ssl_, 1);
  auto blob = ctx->session_blob(app_id);
  const unsigned char* p = blob.data();
  WOLFSSL_SESSION* ses = wolfSSL_d2i_SSL_SESSION(nullptr, &p, static_cast<long>(blob.size()));
  if (ses == nullptr) {
    return make_error("d2i of the DTLS session template failed");
  }
  // The template may be older than wolfSSL's default session lifetime on long runs.
  wolfSSL_SSL_SESSION_set_timeout(ses, 86400);
  int rc = wolfSSL_set_session(c->ssl_, ses);
  wolfSSL_SESSION_free(ses);
  if (rc != WOLFSSL_SUCCESS) {
    return make_error("wolfSSL_set_session (App-ID) failed");
  }
  return c;
}

DtlsClient::~DtlsClient() {
  wolfSSL_free(ssl_);
  secure_zero(psk_.data(), psk_.size());
}

void DtlsClient::push_datagram(const uint8_t* data, size_t len) { incoming_.emplace_back(data, data + len); }

IoStatus DtlsClient::map_error(int ret) {
  int err = wolfSSL_get_error(ssl_, ret);
  if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) {
    return IoStatus::kWantRead;
  }
  if (err == WOLFSSL_ERROR_ZERO_RETURN) {
    return IoStatus::kClosed;
  }
  last_error_ = wolf_error(err);
  return IoStatus::kError;
}

IoStatus DtlsClient::handshake() {
  int ret = wolfSSL_connect(ssl_);
  return ret == WOLFSSL_SUCCESS ? IoStatus::kOk : map_error(ret);
}

int DtlsClient::timeout_seconds() const { return wolfSSL_dtls_get_current_timeout(ssl_); }

bool DtlsClient::on_timeout() { return wolfSSL_dtls_got_timeout(ssl_) == WOLFSSL_SUCCESS; }

IoStatus DtlsClient::read(uint8_t* buf, size_t cap, size_t& out_len) {
  int ret = wolfSSL_read(ssl_, buf, static_cast<int>(cap));
  if (ret > 0) {
    out_len = static_cast<size_t>(ret);
    return IoStatus::kOk;
  }
  return map_error(ret);
}

IoStatus DtlsClient::write(const uint8_t* data, size_t len) {
  int ret = wolfSSL_write(ssl_, data, static_cast<int>(len));
  return ret == static_cast<int>(len) ? IoStatus::kOk : map_error(ret);
}

std::string DtlsClient::cipher() const {
  const char* c = wolfSSL_get_cipher(ssl_);
  return c != nullptr ? c : "?";
}

}  // namespace ocm::loadgen
