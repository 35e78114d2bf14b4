#pragma once
// Client certificate authentication (ocserv auth = "certificate"): the server context asks for
// a client certificate and verifies it against [auth] ca_file (and crl_file); the login takes
// the user name and groups from the verified certificate.

#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/result.hpp"
#include "ocm/config/config.hpp"

struct WOLFSSL;
struct WOLFSSL_X509;

namespace ocm::ctrl {

class TlsContext;

// Requests (never requires) a client certificate and verifies a presented one against the CA
// and CRL: a certificate that does not verify fails the handshake; a missing one is refused
// at the login with a clear message (HTTP 401 "No certificate"), which also keeps clients that
// do not present the certificate again on the tunnel connection (AnyConnect) working.
// No-op for method "plain".
Status configure_client_certificates(TlsContext& ctx, const config::AuthConfig& auth);

struct CertIdentity {
  std::string username;
  std::vector<std::string> groups;  // every value of cert_group_oid, in certificate order
};

// The identity in a certificate: `user_oid` is a dotted subject attribute OID or
// "SAN(rfc822name)"; `group_oid` empty = no groups. Fails when the user attribute is missing or
// holds something that cannot be a user name (empty, control characters, NUL, over 64 bytes).
Result<CertIdentity> certificate_identity(WOLFSSL_X509* cert, std::string_view user_oid, std::string_view group_oid);
// Same, from PEM text (tests, tools).
Result<CertIdentity> certificate_identity_pem(std::string_view pem, std::string_view user_oid,
                                              std::string_view group_oid);
// The verified peer certificate of a finished handshake; an error when the client sent none.
Result<CertIdentity> peer_identity(WOLFSSL* ssl, std::string_view user_oid, std::string_view group_oid);

}  // namespace ocm::ctrl
