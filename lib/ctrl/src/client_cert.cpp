// options.h must be the first wolfSSL header (it carries the build's feature macros).
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/objects.h>
#include <wolfssl/openssl/x509v3.h>

#include "client_cert.hpp"

#include <algorithm>
#include <initializer_list>
#include <memory>

#include "ocm/base/log.hpp"
#include "tls.hpp"

namespace ocm::ctrl {
namespace {

// Same bound as the passwd file's user names; longer certificate attributes are refused.
constexpr size_t kMaxNameLength = 64;

struct X509Free {
  void operator()(WOLFSSL_X509* x) const { wolfSSL_X509_free(x); }
};
using X509Ptr = std::unique_ptr<WOLFSSL_X509, X509Free>;

// User and group names go into logs, XML, scripts' environment and file names: printable only.
bool acceptable_name(std::string_view value) {
  return !value.empty() && value.size() <= kMaxNameLength &&
         std::none_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string asn1_text(WOLFSSL_ASN1_STRING* s) {
  if (s == nullptr) {
    return {};
  }
  const unsigned char* data = wolfSSL_ASN1_STRING_data(s);
  int len = wolfSSL_ASN1_STRING_length(s);
  if (data == nullptr || len <= 0) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
}

struct OidNid {
  std::string_view oid;
  int nid;
};
// wolfSSL 5.5.4 neither prints the dotted OID of a parsed subject entry (OBJ_obj2txt returns
// 0) nor maps most dotted OIDs to NIDs (OBJ_txt2nid), so the subject attributes a user name or
// group can sensibly come from are listed here.
constexpr OidNid kSubjectOids[] = {
    {"2.5.4.3", NID_commonName},
    {"2.5.4.4", NID_surname},
    {"2.5.4.5", NID_serialNumber},
    {"2.5.4.10", NID_organizationName},
    {"2.5.4.11", NID_organizationalUnitName},
    {"2.5.4.42", NID_givenName},
    {"0.9.2342.19200300.100.1.1", NID_userId},
    {"0.9.2342.19200300.100.1.25", NID_domainComponent},
    {"1.2.840.113549.1.9.1", NID_emailAddress},
};

int nid_of(std::string_view oid) {
  for (const auto& entry : kSubjectOids) {
    if (entry.oid == oid) {
      return entry.nid;
    }
  }
  return 0;
}

// Every value of the subject attribute `oid`, in certificate order.
std::vector<std::string> subject_values(WOLFSSL_X509* cert, std::string_view oid) {
  std::vector<std::string> out;
  WOLFSSL_X509_NAME* name = wolfSSL_X509_get_subject_name(cert);
  int nid = nid_of(oid);
  if (name == nullptr || nid == 0) {
    return out;
  }
  int count = wolfSSL_X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    WOLFSSL_X509_NAME_ENTRY* entry = wolfSSL_X509_NAME_get_entry(name, i);
    if (entry != nullptr && wolfSSL_OBJ_obj2nid(wolfSSL_X509_NAME_ENTRY_get_object(entry)) == nid) {
      out.push_back(asn1_text(wolfSSL_X509_NAME_ENTRY_get_data(entry)));
    }
  }
  return out;
}

std::vector<std::string> san_emails(WOLFSSL_X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<WOLFSSL_STACK*>(wolfSSL_X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return out;
  }
  int n = wolfSSL_sk_GENERAL_NAME_num(names);
  for (int i = 0; i < n; ++i) {
    WOLFSSL_GENERAL_NAME* gn = wolfSSL_sk_GENERAL_NAME_value(names, i);
    if (gn != nullptr && gn->type == GEN_EMAIL) {
      out.push_back(asn1_text(gn->d.rfc822Name));
    }
  }
  wolfSSL_sk_GENERAL_NAME_pop_free(names, wolfSSL_GENERAL_NAME_free);
  return out;
}

}  // namespace

Status configure_client_certificates(TlsContext& ctx, const config::AuthConfig& auth) {
  if (!auth.uses_certificate()) {
    return {};
  }
  for (const auto& oid : {std::string_view(auth.cert_user_oid), std::string_view(auth.cert_group_oid)}) {
    if (!oid.empty() && oid != "SAN(rfc822name)" && nid_of(oid) == 0) {
      return make_error("certificate attribute OID " + std::string(oid) +
                        " is not supported (use CN 2.5.4.3, OU 2.5.4.11, O 2.5.4.10, UID "
                        "0.9.2342.19200300.100.1.1, emailAddress 1.2.840.113549.1.9.1, or SAN(rfc822name))");
    }
  }
  WOLFSSL_CTX* native = ctx.native();
  if (wolfSSL_CTX_load_verify_locations(native, auth.ca_file.c_str(), nullptr) != WOLFSSL_SUCCESS) {
    return make_error("cannot load client CA certificates from " + auth.ca_file);
  }
  if (!auth.crl_file.empty()) {
    // HAVE_CRL is compiled into Debian's wolfSSL 5.5.4. CRL_CHECK checks the client's own
    // certificate against its issuer's CRL; a CRL that does not load is fatal, since running
    // without it would let revoked certificates in.
    if (wolfSSL_CTX_EnableCRL(native, WOLFSSL_CRL_CHECK) != WOLFSSL_SUCCESS) {
      return make_error("cannot enable CRL checks");
    }
    if (wolfSSL_CTX_LoadCRLFile(native, auth.crl_file.c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
      return make_error("cannot load CRL from " + auth.crl_file + " (PEM expected, signed by a CA in " +
                        auth.ca_file + ")");
    }
  }
  // VERIFY_PEER without FAIL_IF_NO_PEER_CERT: see the header.
  wolfSSL_CTX_set_verify(native, WOLFSSL_VERIFY_PEER, nullptr);
  return {};
}

Result<CertIdentity> certificate_identity(WOLFSSL_X509* cert, std::string_view user_oid,
                                          std::string_view group_oid) {
  if (cert == nullptr) {
    return make_error("no certificate");
  }
  std::vector<std::string> users = user_oid == "SAN(rfc822name)" ? san_emails(cert) : subject_values(cert, user_oid);
  if (users.empty()) {
    return make_error("the certificate has no " + std::string(user_oid) + " to take the user name from");
  }
  // Two different names would make the identity ambiguous; ocserv takes the first, we refuse.
  if (std::any_of(users.begin(), users.end(), [&](const std::string& u) { return u != users.front(); })) {
    return make_error("the certificate has several different " + std::string(user_oid) + " values");
  }
  if (!acceptable_name(users.front()) || users.front().find('\0') != std::string::npos) {
    return make_error("the certificate's " + std::string(user_oid) + " is not a usable user name");
  }
  CertIdentity id;
  id.username = users.front();
  if (!group_oid.empty()) {
    for (auto& g : subject_values(cert, group_oid)) {
      if (!acceptable_name(g) || g.find('\0') != std::string::npos) {
        return make_error("the certificate's " + std::string(group_oid) + " is not a usable group name");
      }
      id.groups.push_back(std::move(g));
    }
  }
  return id;
}

Result<CertIdentity> certificate_identity_pem(std::string_view pem, std::string_view user_oid,
                                              std::string_view group_oid) {
  X509Ptr cert(wolfSSL_X509_load_certificate_buffer(reinterpret_cast<const unsigned char*>(pem.data()),
                                                    static_cast<int>(pem.size()), WOLFSSL_FILETYPE_PEM));
  if (!cert) {
    return make_error("cannot parse the certificate");
  }
  return certificate_identity(cert.get(), user_oid, group_oid);
}

Result<CertIdentity> peer_identity(WOLFSSL* ssl, std::string_view user_oid, std::string_view group_oid) {
  // With OPENSSL_EXTRA this returns a copy the caller frees. The handshake already verified it
  // against the CA and CRL (WOLFSSL_VERIFY_PEER), so a certificate here is a trusted one.
  X509Ptr cert(wolfSSL_get_peer_certificate(ssl));
  if (!cert) {
    return make_error("no client certificate");
  }
  return certificate_identity(cert.get(), user_oid, group_oid);
}

}  // namespace ocm::ctrl
