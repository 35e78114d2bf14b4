// wolfSSL headers must come before anything that could define the same compat macros
// (feasibility.md §7: ipsec-mb clashes); options.h must be first of all.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfio.h>

#include "tls.hpp"

#include "ocm/base/log.hpp"
#include "tls_crypto_offload.hpp"
#include "tls_memory.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <mutex>

namespace ocm::ctrl {

int tls_recv_cb(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
  auto* self = static_cast<TlsSession*>(ctx);
  size_t avail = self->input_.size() - self->input_pos_;
  if (avail == 0) {
    // Empty means "not yet", never EOF: libuv delivers EOF to us separately.
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  size_t n = std::min(avail, static_cast<size_t>(sz));
  std::memcpy(buf, self->input_.data() + self->input_pos_, n);
  self->input_pos_ += n;
  if (self->input_pos_ == self->input_.size()) {
    // A burst can have grown the buffer to a whole 64 KiB socket read; an idle tunnel should
    // not keep that capacity for the rest of its life.
    if (self->input_.capacity() > TlsSession::kKeptInputCapacity) {
      std::vector<uint8_t>().swap(self->input_);
    } else {
      self->input_.clear();
    }
    self->input_pos_ = 0;
  }
  return static_cast<int>(n);
}

int tls_send_cb(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
  auto* self = static_cast<TlsSession*>(ctx);
  // Copy out: the write to the socket is asynchronous (feasibility.md §6).
  self->output_.insert(self->output_.end(), buf, buf + sz);
  return sz;
}

namespace {
std::once_flag g_init_once;

std::string wolf_error_string(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  return std::string(text) + " (" + std::to_string(code) + ")";
}

// Byte pipe for the start-up self-test client.
struct Pipe {
  std::vector<uint8_t> bytes;
};

int pipe_recv(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  if (p->bytes.empty()) {
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  size_t n = std::min(p->bytes.size(), static_cast<size_t>(sz));
  std::memcpy(buf, p->bytes.data(), n);
  p->bytes.erase(p->bytes.begin(), p->bytes.begin() + static_cast<std::ptrdiff_t>(n));
  return static_cast<int>(n);
}

int pipe_send(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  p->bytes.insert(p->bytes.end(), buf, buf + sz);
  return sz;
}

// wolfSSL_CTX_check_private_key accepts a mismatched ECDSA key in this wolfSSL build, and the
// mistake would only show as every client's handshake failing. A handshake with ourselves in
// memory proves the key signs for the certificate (the client checks the server's signature
// even without certificate verification).
Status self_test_handshake(const std::shared_ptr<TlsContext>& server_ctx) {
  WOLFSSL_CTX* cctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (cctx == nullptr) {
    return make_error("self-test: wolfSSL_CTX_new failed");
  }
  wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_NONE, nullptr);
  wolfSSL_CTX_SetIORecv(cctx, pipe_recv);
  wolfSSL_CTX_SetIOSend(cctx, pipe_send);
  WOLFSSL* client = wolfSSL_new(cctx);
  Pipe to_client;
  Pipe to_server;
  wolfSSL_SetIOReadCtx(client, &to_client);
  wolfSSL_SetIOWriteCtx(client, &to_server);
  TlsSession server(server_ctx);
  Status result = make_error("self-test handshake did not finish");
  // A TLS handshake needs at most a handful of flights; 16 rounds bounds a broken peer.
  for (int round = 0; round < 16; ++round) {
    int rc = wolfSSL_connect(client);
    if (rc != WOLFSSL_SUCCESS) {
      int err = wolfSSL_get_error(client, rc);
      if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) {
        result = make_error("self-test handshake failed: " + wolf_error_string(err));
        break;
      }
    }
    server.push_input(to_server.bytes.data(), to_server.bytes.size());
    to_server.bytes.clear();
    auto st = server.handshake();
    to_client.bytes.insert(to_client.bytes.end(), server.output().begin(), server.output().end());
    server.output().clear();
    if (st == TlsSession::Status::kError) {
      result = make_error("self-test handshake failed on the server side: " + server.last_error());
      break;
    }
    if (rc == WOLFSSL_SUCCESS && server.handshake_done()) {
      result = {};
      break;
    }
  }
  wolfSSL_free(client);
  wolfSSL_CTX_free(cctx);
  return result;
}
}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::create(const config::CryptoConfig& crypto) {
  std::call_once(g_init_once, [] {
    install_tls_allocators();  // before wolfSSL allocates anything (tls_memory.hpp)
    wolfSSL_Init();
  });
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
  if (ctx == nullptr) {
    return make_error("wolfSSL_CTX_new failed");
  }
  std::shared_ptr<TlsContext> owner(new TlsContext(ctx));
  // Debian's wolfSSL has no AES-NI; ipsec-mb does the record AES-GCM. Must precede any
  // wolfSSL_new (sessions copy the device id) including the self-test below.
  if (auto st = enable_tls_crypto_offload(ctx); !st) {
    OCM_WARN("tls: %s; AES-GCM stays in wolfSSL software", st.error().message.c_str());
  }
  int min_version = crypto.min_tls_version == config::TlsVersion::kTls13 ? WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2;
  if (wolfSSL_CTX_SetMinVersion(ctx, min_version) != WOLFSSL_SUCCESS) {
    return make_error("cannot set the minimum TLS version");
  }
  int rc = wolfSSL_CTX_use_certificate_chain_file(ctx, crypto.cert_file.c_str());
  if (rc != WOLFSSL_SUCCESS) {
    return make_error("cannot load certificate chain from " + crypto.cert_file + ": " + wolf_error_string(rc));
  }
  rc = wolfSSL_CTX_use_PrivateKey_file(ctx, crypto.key_file.c_str(), WOLFSSL_FILETYPE_PEM);
  if (rc != WOLFSSL_SUCCESS) {
    return make_error("cannot load private key from " + crypto.key_file + ": " + wolf_error_string(rc));
  }
  // X25519 first: this wolfSSL has no fast P-256 code, and a P-256 key agreement with a
  // client's fresh point costs ~300 us against ~70 us for X25519 (perf/README.md,
  // ocm-handshake-cost). openconnect (GnuTLS) sends key shares for both, AnyConnect offers
  // X25519 too; clients that share only P-256 still get it (no extra round trip). The rest is
  // every group this build supports, so no client loses a group it used to get.
  int groups[] = {WOLFSSL_ECC_X25519,    WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_X448,   WOLFSSL_ECC_SECP384R1,
                  WOLFSSL_ECC_SECP521R1, WOLFSSL_FFDHE_2048,    WOLFSSL_FFDHE_3072};
  if (wolfSSL_CTX_set_groups(ctx, groups, static_cast<int>(std::size(groups))) != WOLFSSL_SUCCESS) {
    OCM_WARN("tls: cannot set the key exchange group preference; using wolfSSL's default order");
  }
  wolfSSL_CTX_SetIORecv(ctx, tls_recv_cb);
  wolfSSL_CTX_SetIOSend(ctx, tls_send_cb);
  if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS || !self_test_handshake(owner)) {
    return make_error("private key " + crypto.key_file + " does not match certificate " + crypto.cert_file);
  }
  return owner;
}

TlsContext::~TlsContext() { wolfSSL_CTX_free(ctx_); }

TlsSession::TlsSession(std::shared_ptr<TlsContext> ctx) : ctx_(std::move(ctx)) {
  ssl_ = wolfSSL_new(ctx_->native());
  if (ssl_ == nullptr) {
    // Only memory exhaustion gets here; a server that cannot allocate a session cannot go on.
    std::abort();
  }
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
}

TlsSession::~TlsSession() { wolfSSL_free(ssl_); }

void TlsSession::push_input(const uint8_t* data, size_t len) { input_.insert(input_.end(), data, data + len); }

TlsSession::Status TlsSession::map_error(int ret) {
  int err = wolfSSL_get_error(ssl_, ret);
  switch (err) {
    case WOLFSSL_ERROR_WANT_READ:
    case WOLFSSL_ERROR_WANT_WRITE:
      return Status::kWantRead;
    case WOLFSSL_ERROR_ZERO_RETURN:
      return Status::kClosed;
    default:
      last_error_ = wolf_error_string(err);
      return Status::kError;
  }
}

TlsSession::Status TlsSession::handshake() {
  int ret = wolfSSL_accept(ssl_);
  if (ret == WOLFSSL_SUCCESS) {
    handshake_done_ = true;
    // The session object's peer-certificate arrays stay zero without client certificates:
    // hand those pages back (tls_memory.hpp). Nothing else in it changes any more.
    released_bytes_ = release_zero_pages(wolfSSL_get_session(ssl_));
    return Status::kOk;
  }
  return map_error(ret);
}

TlsSession::Status TlsSession::read(uint8_t* buf, size_t cap, size_t& out_len) {
  int ret = wolfSSL_read(ssl_, buf, static_cast<int>(cap));
  if (ret > 0) {
    out_len = static_cast<size_t>(ret);
    return Status::kOk;
  }
  return map_error(ret);
}

TlsSession::Status TlsSession::write(const uint8_t* data, size_t len) {
  int ret = wolfSSL_write(ssl_, data, static_cast<int>(len));
  if (ret == static_cast<int>(len)) {
    return Status::kOk;
  }
  return map_error(ret);
}

void TlsSession::shutdown() { wolfSSL_shutdown(ssl_); }

void TlsSession::release_handshake_state() {
  if (handshake_done_ && !arrays_released_ && wolfSSL_version(ssl_) == TLS1_3_VERSION) {
    wolfSSL_FreeArrays(ssl_);
    arrays_released_ = true;
  }
}

bool TlsSession::export_keying_material(std::string_view label, std::span<uint8_t> out) const {
  if (!handshake_done_ || arrays_released_) {
    return false;
  }
  return wolfSSL_export_keying_material(ssl_, out.data(), out.size(), label.data(), label.size(), nullptr, 0, 0) ==
         WOLFSSL_SUCCESS;
}

std::string TlsSession::version() const {
  const char* v = wolfSSL_get_version(ssl_);
  return v != nullptr ? v : "?";
}

std::string TlsSession::cipher() const {
  const char* c = wolfSSL_get_cipher(ssl_);
  return c != nullptr ? c : "?";
}

}  // namespace ocm::ctrl
