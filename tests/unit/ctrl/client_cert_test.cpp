#include "client_cert.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ocm::ctrl {
namespace {

using ::testing::HasSubstr;

// Made with openssl for this test: subject "UID=alice-uid, CN=alice, OU=engineers, OU=ops",
// subjectAltName email:alice@example.com, signed by a throw-away CA.
constexpr std::string_view kAlice = R"PEM(-----BEGIN CERTIFICATE-----
MIIBwzCCAWmgAwIBAgIUGlzEYEIdE451Bes3vdvlBAY7fP4wCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHVGVzdCBDQTAgFw0yNjExMjYxNDQ1NDJaGA8yMTI2MTEwMjE0
NDU0MlowTTEZMBcGCgmSJomT8ixkAQEMCWFsaWNlLXVpZDEOMAwGA1UEAwwFYWxp
Y2UxEjAQBgNVBAsMCWVuZ2luZWVyczEMMAoGA1UECwwDb3BzMFkwEwYHKoZIzj0C
AQYIKoZIzj0DAQcDQgAEWRW8aoZvGFdb6sEhr0MrUzt3csL2ZpFJRJx8hP5WnXOr
iI+3hAmmV+FMbA5YrfQS4Xy/+VW6GWA8NkoslVVeB6NgMF4wHAYDVR0RBBUwE4ER
YWxpY2VAZXhhbXBsZS5jb20wHQYDVR0OBBYEFPc++htSwRKDGZpjFfQTFFSPg46R
MB8GA1UdIwQYMBaAFMiRm62HbB8B3NuOUBA8FbhBFLeNMAoGCCqGSM49BAMCA0gA
MEUCIEPmb87OzTNQnd6Rln98uF4/PUaUtE6fnqb3pt4wzlu1AiEA8VSo4xbpjUJX
7RcNn78c110kgBrATNFuqwYGhPBowzo=
-----END CERTIFICATE-----
)PEM";
// Subject "O=NoCN" only: no user name anywhere.
constexpr std::string_view kNoCn = R"PEM(-----BEGIN CERTIFICATE-----
MIIBHTCBxAIUGlzEYEIdE451Bes3vdvlBAY7fP8wCgYIKoZIzj0EAwIwEjEQMA4G
A1UEAwwHVGVzdCBDQTAgFw0yNjExMjYxNDQ1NDJaGA8yMTI2MTEwMjE0NDU0Mlow
DzENMAsGA1UECgwETm9DTjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFSyfQal
mkBrmeRfX8WFYGLfU3VmV/rmSuGHmZ4Q/hNmWjlxDcEvhi28ZwSvVQl5sW2CBqBz
pXLcFUl1/uDieTcwCgYIKoZIzj0EAwIDSAAwRQIgSbinoL2lEgvyJRdCcFL2t6aA
9FdKhxH3lh1CFwxOCRQCIQDC9r6eXF++T+TsBmJ8I5eyjV231INY9LvlI8nAQmw+
Cw==
-----END CERTIFICATE-----
)PEM";

TEST(ClientCert, UserFromCnGroupsFromEveryOu) {
  auto id = certificate_identity_pem(kAlice, "2.5.4.3", "2.5.4.11");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->username, "alice");
  EXPECT_EQ(id->groups, (std::vector<std::string>{"engineers", "ops"}));
}

TEST(ClientCert, UserFromUid) {
  auto id = certificate_identity_pem(kAlice, "0.9.2342.19200300.100.1.1", "");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->username, "alice-uid");
  EXPECT_TRUE(id->groups.empty());
}

TEST(ClientCert, UserFromSanEmail) {
  auto id = certificate_identity_pem(kAlice, "SAN(rfc822name)", "");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->username, "alice@example.com");
}

TEST(ClientCert, MissingAttributeIsAnError) {
  auto id = certificate_identity_pem(kNoCn, "2.5.4.3", "2.5.4.11");
  ASSERT_FALSE(id);
  EXPECT_THAT(id.error().message, HasSubstr("has no 2.5.4.3"));
  auto san = certificate_identity_pem(kNoCn, "SAN(rfc822name)", "");
  ASSERT_FALSE(san);
  // An OID the certificate does not carry at all.
  EXPECT_FALSE(certificate_identity_pem(kAlice, "2.5.4.10", ""));
}

TEST(ClientCert, GarbageIsRefused) {
  EXPECT_FALSE(certificate_identity_pem("", "2.5.4.3", ""));
  EXPECT_FALSE(certificate_identity_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "2.5.4.3", ""));
  std::string truncated(kAlice.substr(0, kAlice.size() / 2));
  EXPECT_FALSE(certificate_identity_pem(truncated, "2.5.4.3", ""));
  EXPECT_FALSE(certificate_identity(nullptr, "2.5.4.3", ""));
}

}  // namespace
}  // namespace ocm::ctrl
