// The server side of tls.cpp against a real wolfSSL client over in-memory buffers: handshake,
// one-record-per-write framing, bad certificates and garbage input.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "tls.hpp"
#include "tls_memory.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

namespace ocm::ctrl {
namespace {

const std::string kData = OCM_TEST_DATA_DIR;

config::CryptoConfig test_crypto() {
  config::CryptoConfig c;
  c.cert_file = kData + "/test-server.crt";
  c.key_file = kData + "/test-server.key";
  return c;
}

// A wolfSSL client whose I/O goes to/from vectors the test moves by hand.
class MemClient {
 public:
  explicit MemClient(int version) {
    ctx_ = wolfSSL_CTX_new(version == 12 ? wolfTLSv1_2_client_method() : wolfTLSv1_3_client_method());
    wolfSSL_CTX_set_verify(ctx_, WOLFSSL_VERIFY_NONE, nullptr);
    wolfSSL_CTX_SetIORecv(ctx_, [](WOLFSSL*, char* buf, int sz, void* c) -> int {
      auto* self = static_cast<MemClient*>(c);
      if (self->in.empty()) {
        return WOLFSSL_CBIO_ERR_WANT_READ;
      }
      int n = std::min<int>(sz, static_cast<int>(self->in.size()));
      std::memcpy(buf, self->in.data(), static_cast<size_t>(n));
      self->in.erase(self->in.begin(), self->in.begin() + n);
      return n;
    });
    wolfSSL_CTX_SetIOSend(ctx_, [](WOLFSSL*, char* buf, int sz, void* c) -> int {
      auto* self = static_cast<MemClient*>(c);
      self->out.insert(self->out.end(), buf, buf + sz);
      return sz;
    });
    ssl_ = wolfSSL_new(ctx_);
    wolfSSL_SetIOReadCtx(ssl_, this);
    wolfSSL_SetIOWriteCtx(ssl_, this);
  }
  ~MemClient() {
    wolfSSL_free(ssl_);
    wolfSSL_CTX_free(ctx_);
  }
  MemClient(const MemClient&) = delete;
  MemClient& operator=(const MemClient&) = delete;

  WOLFSSL* ssl() { return ssl_; }
  std::vector<uint8_t> in;
  std::vector<uint8_t> out;

 private:
  WOLFSSL_CTX* ctx_ = nullptr;
  WOLFSSL* ssl_ = nullptr;
};

// Moves bytes both ways until both sides finish the handshake (bounded rounds).
bool handshake(MemClient& client, TlsSession& server) {
  for (int round = 0; round < 10; ++round) {
    int rc = wolfSSL_connect(client.ssl());
    server.push_input(client.out.data(), client.out.size());
    client.out.clear();
    auto st = server.handshake();
    client.in.insert(client.in.end(), server.output().begin(), server.output().end());
    server.output().clear();
    if (st == TlsSession::Status::kError) {
      return false;
    }
    if (rc == WOLFSSL_SUCCESS && server.handshake_done()) {
      return true;
    }
  }
  return false;
}

class TlsVersionTest : public ::testing::TestWithParam<int> {};
INSTANTIATE_TEST_SUITE_P(Versions, TlsVersionTest, ::testing::Values(12, 13));

TEST_P(TlsVersionTest, HandshakeAndRecordBoundaries) {
  auto ctx = TlsContext::create(test_crypto());
  ASSERT_TRUE(ctx.has_value()) << ctx.error().message;
  TlsSession server(*ctx);
  MemClient client(GetParam());
  ASSERT_TRUE(handshake(client, server));
  EXPECT_EQ(server.version(), GetParam() == 12 ? "TLSv1.2" : "TLSv1.3");

  // Two client writes must come out of the server as two separate reads: CSTP relies on it.
  ASSERT_EQ(wolfSSL_write(client.ssl(), "first", 5), 5);
  ASSERT_EQ(wolfSSL_write(client.ssl(), "second!", 7), 7);
  server.push_input(client.out.data(), client.out.size());
  client.out.clear();
  uint8_t buf[16500];
  size_t n = 0;
  ASSERT_EQ(server.read(buf, sizeof buf, n), TlsSession::Status::kOk);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n), "first");
  ASSERT_EQ(server.read(buf, sizeof buf, n), TlsSession::Status::kOk);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n), "second!");
  EXPECT_EQ(server.read(buf, sizeof buf, n), TlsSession::Status::kWantRead);

  // Server -> client.
  ASSERT_EQ(server.write(reinterpret_cast<const uint8_t*>("pong"), 4), TlsSession::Status::kOk);
  client.in.insert(client.in.end(), server.output().begin(), server.output().end());
  server.output().clear();
  char cbuf[16];
  ASSERT_EQ(wolfSSL_read(client.ssl(), cbuf, sizeof cbuf), 4);
  EXPECT_EQ(std::string(cbuf, 4), "pong");

  // close_notify from the client is reported as kClosed.
  wolfSSL_shutdown(client.ssl());
  server.push_input(client.out.data(), client.out.size());
  EXPECT_EQ(server.read(buf, sizeof buf, n), TlsSession::Status::kClosed);
}

// issue 7, memory per idle session: the handshake gives the zero pages of wolfSSL's session
// object back, and the object's own mapping goes away with the session.
TEST_P(TlsVersionTest, HandshakeReleasesTheSessionObjectsZeroPages) {
  auto ctx = TlsContext::create(test_crypto());
  ASSERT_TRUE(ctx.has_value()) << ctx.error().message;
  const size_t blocks_before = tls_own_mapping_blocks();
  {
    TlsSession server(*ctx);
    EXPECT_GT(tls_own_mapping_blocks(), blocks_before);
    MemClient client(GetParam());
    ASSERT_TRUE(handshake(client, server));
    // Of the 37.5 KB WOLFSSL_SESSION, 36 KB are certificate-chain arrays that stay zero.
    EXPECT_GE(server.released_bytes(), 32u * 1024);
    // Still fully working afterwards.
    ASSERT_EQ(wolfSSL_write(client.ssl(), "ping", 4), 4);
    server.push_input(client.out.data(), client.out.size());
    client.out.clear();
    uint8_t buf[64];
    size_t n = 0;
    ASSERT_EQ(server.read(buf, sizeof buf, n), TlsSession::Status::kOk);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n), "ping");
  }
  EXPECT_EQ(tls_own_mapping_blocks(), blocks_before);
}

// A burst of records must not leave a 64 KiB input buffer behind on an idle tunnel.
TEST(TlsSessionTest, InputBufferShrinksOnceDrained) {
  auto ctx = TlsContext::create(test_crypto());
  ASSERT_TRUE(ctx.has_value());
  TlsSession server(*ctx);
  MemClient client(13);
  ASSERT_TRUE(handshake(client, server));
  std::vector<uint8_t> record(16000, 'x');
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(wolfSSL_write(client.ssl(), record.data(), static_cast<int>(record.size())),
              static_cast<int>(record.size()));
  }
  server.push_input(client.out.data(), client.out.size());
  client.out.clear();
  EXPECT_GT(server.input_capacity(), TlsSession::kKeptInputCapacity);
  uint8_t buf[16500];
  size_t n = 0;
  size_t total = 0;
  while (server.read(buf, sizeof buf, n) == TlsSession::Status::kOk) {
    total += n;
  }
  EXPECT_EQ(total, 4 * record.size());
  EXPECT_LE(server.input_capacity(), TlsSession::kKeptInputCapacity);
}

// The server prefers X25519 (no fast P-256 in this wolfSSL): a client sending key shares for
// both, as openconnect does, gets X25519; a client sharing only P-256 still gets P-256 at once.
TEST(TlsSessionTest, PrefersX25519AndStillServesP256OnlyClients) {
  auto ctx = TlsContext::create(test_crypto());
  ASSERT_TRUE(ctx.has_value());
  {
    TlsSession server(*ctx);
    MemClient client(13);
    ASSERT_EQ(wolfSSL_UseKeyShare(client.ssl(), WOLFSSL_ECC_SECP256R1), WOLFSSL_SUCCESS);
    ASSERT_EQ(wolfSSL_UseKeyShare(client.ssl(), WOLFSSL_ECC_X25519), WOLFSSL_SUCCESS);
    ASSERT_TRUE(handshake(client, server));
    EXPECT_STREQ(wolfSSL_get_curve_name(client.ssl()), "X25519");
  }
  {
    TlsSession server(*ctx);
    MemClient client(13);
    ASSERT_EQ(wolfSSL_UseKeyShare(client.ssl(), WOLFSSL_ECC_SECP256R1), WOLFSSL_SUCCESS);
    ASSERT_TRUE(handshake(client, server));
    EXPECT_STREQ(wolfSSL_get_curve_name(client.ssl()), "SECP256R1");
  }
  {
    TlsSession server(*ctx);
    MemClient client(12);  // TLS 1.2 ECDHE still works with the group list
    ASSERT_TRUE(handshake(client, server));
    EXPECT_EQ(server.version(), "TLSv1.2");
  }
}

// A tunnel frees wolfSSL's handshake arrays once the DTLS PSK is exported (TLS 1.3): records
// both ways and a client KeyUpdate still work, the exporter does not any more.
TEST_P(TlsVersionTest, ReleasingHandshakeStateKeepsRecordsAndKeyUpdateWorking) {
  auto ctx = TlsContext::create(test_crypto());
  ASSERT_TRUE(ctx.has_value());
  TlsSession server(*ctx);
  MemClient client(GetParam());
  ASSERT_TRUE(handshake(client, server));
  std::array<uint8_t, 32> psk{};
  ASSERT_TRUE(server.export_keying_material("EXPORTER-openconnect-psk", psk));
  server.release_handshake_state();
  server.release_handshake_state();  // idempotent
  // TLS 1.2 keeps its arrays (see tls.hpp), so only 1.3 loses the exporter.
  EXPECT_EQ(server.export_keying_material("EXPORTER-openconnect-psk", psk), GetParam() == 12);

  auto round_trip = [&](const std::string& up, const std::string& down) {
    ASSERT_EQ(wolfSSL_write(client.ssl(), up.data(), static_cast<int>(up.size())), static_cast<int>(up.size()));
    server.push_input(client.out.data(), client.out.size());
    client.out.clear();
    uint8_t buf[256];
    size_t n = 0;
    ASSERT_EQ(server.read(buf, sizeof buf, n), TlsSession::Status::kOk);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n), up);
    ASSERT_EQ(server.write(reinterpret_cast<const uint8_t*>(down.data()), down.size()), TlsSession::Status::kOk);
    client.in.insert(client.in.end(), server.output().begin(), server.output().end());
    server.output().clear();
    char cbuf[256];
    int got = wolfSSL_read(client.ssl(), cbuf, sizeof cbuf);
    ASSERT_EQ(got, static_cast<int>(down.size()));
    EXPECT_EQ(std::string(cbuf, static_cast<size_t>(got)), down);
  };
  round_trip("before key update", "reply one");
  if (GetParam() == 13) {
    ASSERT_EQ(wolfSSL_update_keys(client.ssl()), WOLFSSL_SUCCESS);
    round_trip("after key update", "reply two");
    round_trip("and again", "reply three");
  }
  wolfSSL_shutdown(client.ssl());
  server.push_input(client.out.data(), client.out.size());
  uint8_t buf[64];
  size_t n = 0;
  EXPECT_EQ(server.read(buf, sizeof buf, n), TlsSession::Status::kClosed);
}

TEST(TlsSessionTest, GarbageInsteadOfClientHelloIsAnError) {
  auto ctx = TlsContext::create(test_crypto());
  ASSERT_TRUE(ctx.has_value());
  TlsSession server(*ctx);
  const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  server.push_input(reinterpret_cast<const uint8_t*>(garbage), sizeof garbage - 1);
  EXPECT_EQ(server.handshake(), TlsSession::Status::kError);
  EXPECT_FALSE(server.last_error().empty());
}

TEST(TlsSessionTest, TruncatedClientHelloWaits) {
  auto ctx = TlsContext::create(test_crypto());
  ASSERT_TRUE(ctx.has_value());
  TlsSession server(*ctx);
  MemClient client(13);
  wolfSSL_connect(client.ssl());
  ASSERT_GT(client.out.size(), 10u);
  server.push_input(client.out.data(), client.out.size() / 2);
  EXPECT_EQ(server.handshake(), TlsSession::Status::kWantRead);
}

struct BadFilesCase {
  const char* name;
  const char* cert;
  const char* key;
  const char* expect_in_message;
};

class TlsContextErrorTest : public ::testing::TestWithParam<BadFilesCase> {};
INSTANTIATE_TEST_SUITE_P(
    Cases, TlsContextErrorTest,
    ::testing::Values(BadFilesCase{"missing_cert", "/nonexistent/cert.pem", "test-server.key", "certificate"},
                      BadFilesCase{"missing_key", "test-server.crt", "/nonexistent/key.pem", "private key"},
                      BadFilesCase{"key_mismatch", "test-server.crt", "other.key", "does not match"},
                      BadFilesCase{"key_as_cert", "test-server.key", "test-server.key", "certificate"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_P(TlsContextErrorTest, NamesTheProblem) {
  config::CryptoConfig c;
  auto path = [](const char* p) { return p[0] == '/' ? std::string(p) : kData + "/" + p; };
  c.cert_file = path(GetParam().cert);
  c.key_file = path(GetParam().key);
  auto ctx = TlsContext::create(c);
  ASSERT_FALSE(ctx.has_value());
  EXPECT_NE(ctx.error().message.find(GetParam().expect_in_message), std::string::npos) << ctx.error().message;
}

}  // namespace
}  // namespace ocm::ctrl
