#include "tunnel_params.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "ocm/base/ipv4.hpp"

namespace ocm::loadgen {
namespace {

Result<std::string_view> once(const HttpResponse& r, std::string_view name) {
  size_t n = r.count(name);
  if (n != 1) {
    return make_error(std::string(name) + (n == 0 ? " missing" : " sent " + std::to_string(n) + " times"));
  }
  return *r.header(name);
}

Result<uint32_t> number(std::string_view name, std::string_view text, uint32_t lo, uint32_t hi) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) {
    return make_error(std::string(name) + ": bad value '" + std::string(text.substr(0, 40)) + "'");
  }
  return v;
}

Result<uint32_t> number_header(const HttpResponse& r, std::string_view name, uint32_t lo, uint32_t hi) {
  auto text = once(r, name);
  if (!text) {
    return text.error();
  }
  return number(name, *text, lo, hi);
}

bool contiguous_mask(uint32_t m) { return m != 0 && ((~m + 1) & ~m) == 0; }

}  // namespace

Result<TunnelParams> parse_tunnel_reply(const HttpResponse& r, bool asked_dtls) {
  TunnelParams t;
  if (auto v = once(r, "X-CSTP-Version"); !v || *v != "1") {
    return make_error("X-CSTP-Version must be 1");
  }
  auto addr = once(r, "X-CSTP-Address");
  if (!addr) {
    return addr.error();
  }
  auto a = parse_ipv4(*addr);
  auto mask_text = once(r, "X-CSTP-Netmask");
  if (!mask_text) {
    return mask_text.error();
  }
  auto m = parse_ipv4(*mask_text);
  if (!a || !m || !contiguous_mask(*m)) {
    return make_error("X-CSTP-Address/Netmask malformed: " + std::string(*addr) + " " + std::string(*mask_text));
  }
  // The lease must be a host address of the announced network.
  uint32_t host = *a & ~*m;
  if (host == 0 || host == ~*m) {
    return make_error("X-CSTP-Address is the network or broadcast address: " + std::string(*addr));
  }
  t.address = *a;
  t.netmask = *m;
  auto mtu = number_header(r, "X-CSTP-MTU", 576, 65535);
  if (!mtu) {
    return mtu.error();
  }
  t.mtu = *mtu;
  if (auto base = number_header(r, "X-CSTP-Base-MTU", 1280, 65535); !base) {
    return base.error();
  }
  if (r.count("X-CSTP-DPD") > 0) {
    auto dpd = number_header(r, "X-CSTP-DPD", 1, 86400);
    if (!dpd) {
      return dpd.error();
    }
    t.cstp_dpd = *dpd;
  }
  auto ka = number_header(r, "X-CSTP-Keepalive", 0, 1000000);
  if (!ka) {
    return ka.error();
  }
  t.cstp_keepalive = *ka;
  for (std::string_view never : {"X-CSTP-Content-Encoding", "X-DTLS-Content-Encoding", "X-CSTP-Address-IP6"}) {
    if (r.count(never) > 0) {
      return make_error(std::string(never) + " announced although not requested");
    }
  }
  bool any_dtls = std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
    return h.first.rfind("X-DTLS-", 0) == 0 || h.first.rfind("X-DTLS12-", 0) == 0;
  });
  if (!any_dtls) {
    return t;
  }
  if (!asked_dtls) {
    return make_error("X-DTLS-* headers although no DTLS was offered");
  }
  if (r.count("X-DTLS-Session-ID") > 0 || r.count("X-DTLS12-CipherSuite") > 0 || r.count("X-DTLS-MTU") > 0) {
    return make_error("legacy DTLS answered to a PSK-NEGOTIATE-only offer");
  }
  auto suite = once(r, "X-DTLS-CipherSuite");
  if (!suite || *suite != "PSK-NEGOTIATE") {
    return make_error("X-DTLS-CipherSuite is not PSK-NEGOTIATE");
  }
  auto app = once(r, "X-DTLS-App-ID");
  if (!app) {
    return app.error();
  }
  // openconnect accepts any even length up to 64; the server always sends 32 random bytes in
  // lowercase hex, so anything else is a server bug.
  if (app->size() != 64 ||
      !std::all_of(app->begin(), app->end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return make_error("X-DTLS-App-ID is not 64 lowercase hex digits");
  }
  TunnelParams::Dtls d;
  for (size_t i = 0; i < 32; ++i) {
    auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    d.app_id[i] = static_cast<uint8_t>((nib((*app)[2 * i]) << 4) | nib((*app)[2 * i + 1]));
  }
  auto port = number_header(r, "X-DTLS-Port", 1, 65535);
  if (!port) {
    return port.error();
  }
  d.port = static_cast<uint16_t>(*port);
  if (r.count("X-DTLS-DPD") > 0) {
    auto dpd = number_header(r, "X-DTLS-DPD", 1, 86400);
    if (!dpd) {
      return dpd.error();
    }
    d.dpd = *dpd;
  }
  auto dka = number_header(r, "X-DTLS-Keepalive", 0, 1000000);
  if (!dka) {
    return dka.error();
  }
  d.keepalive = *dka;
  t.dtls = d;
  return t;
}

}  // namespace ocm::loadgen
