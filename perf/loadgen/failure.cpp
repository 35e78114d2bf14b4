#include "failure.hpp"

namespace ocm::loadgen {

const char* to_string(Failure f) noexcept {
  switch (f) {
    case Failure::kLocalResource: return "local_resource";
    case Failure::kTcpRefused: return "tcp_refused";
    case Failure::kTcpError: return "tcp_error";
    case Failure::kTcpTimeout: return "tcp_timeout";
    case Failure::kTlsError: return "tls_error";
    case Failure::kTlsTimeout: return "tls_timeout";
    case Failure::kCertPin: return "cert_pin_mismatch";
    case Failure::kHttpMalformed: return "http_malformed";
    case Failure::kHttpStatus: return "http_status";
    case Failure::kAuthRejected: return "auth_rejected";
    case Failure::kAuthXml: return "auth_xml";
    case Failure::kAuthCookie: return "auth_cookie";
    case Failure::kAuthTimeout: return "auth_timeout";
    case Failure::kConnectStatus: return "connect_status";
    case Failure::kConnectHeaders: return "connect_headers";
    case Failure::kConnectTimeout: return "connect_timeout";
    case Failure::kCstpFraming: return "cstp_framing";
    case Failure::kCstpUnexpected: return "cstp_unexpected";
    case Failure::kDtlsNotOffered: return "dtls_not_offered";
    case Failure::kDtlsError: return "dtls_error";
    case Failure::kDtlsTimeout: return "dtls_timeout";
    case Failure::kDtlsUnexpected: return "dtls_unexpected";
    case Failure::kServerDisconnect: return "server_disconnect";
    case Failure::kServerClosed: return "server_closed";
    case Failure::kDpdTimeout: return "dpd_timeout";
    case Failure::kCount: break;
  }
  return "unknown";
}

}  // namespace ocm::loadgen
