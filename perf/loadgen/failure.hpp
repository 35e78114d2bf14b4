#pragma once
// Why a session failed. Every cause is counted separately in the report, so that a server bug
// shows up under its own name instead of as a generic "error".

#include <cstdint>

namespace ocm::loadgen {

enum class Failure : uint8_t {
  kLocalResource,       // socket/bind/fd limit on our side (not the server's fault)
  kTcpRefused,
  kTcpError,            // reset, unreachable, other connect/read errors
  kTcpTimeout,          // connect did not complete in time
  kTlsError,            // handshake alert/failure
  kTlsTimeout,
  kCertPin,             // server certificate did not match --servercert
  kHttpMalformed,       // status line, header syntax, body framing
  kHttpStatus,          // unexpected status during auth (not 200/401)
  kAuthRejected,        // 401 or a second password prompt ("Login failed.")
  kAuthXml,             // missing <auth id>, form method not POST, no usable inputs
  kAuthCookie,          // no webvpn cookie, or not base64 of 32 bytes
  kAuthTimeout,
  kConnectStatus,       // CONNECT answered with anything but "HTTP/1.1 200 "
  kConnectHeaders,      // required X-CSTP-/X-DTLS- header missing or malformed
  kConnectTimeout,
  kCstpFraming,         // not exactly one well-formed CSTP frame per TLS record
  kCstpUnexpected,      // compressed frame without negotiation, unknown type
  kDtlsNotOffered,      // DTLS asked for but the reply carries no usable DTLS offer
  kDtlsError,           // handshake failure (alert, bad record)
  kDtlsTimeout,
  kDtlsUnexpected,      // unexpected payload type or content on the established channel
  kServerDisconnect,    // CSTP DISCONNECT/TERMINATE from the server
  kServerClosed,        // TCP/TLS closed by the server while the tunnel was up
  kDpdTimeout,          // no answer to DPD within 2 x dpd
  kCount,
};

const char* to_string(Failure f) noexcept;

}  // namespace ocm::loadgen
