// Connection's RADIUS login step ([auth] method = "radius"): kept out of connection.cpp so the
// password paths stay side by side there with one branch each.

#include "ocm/base/log.hpp"
#include "server_impl.hpp"

namespace ocm::ctrl {

void Connection::start_radius_check(std::string password) {
  auth::RadiusAuthRequest request;
  request.username = username_;
  request.password = std::move(password);
  // peer_ is "ip:port"; Calling-Station-Id is the client's address alone (as ocserv sends it).
  request.calling_station = peer_.substr(0, peer_.rfind(':'));
  radius_acct_id_ = server_.radius->new_acct_session_id();
  request.acct_session_id = radius_acct_id_;
  radius_accept_.reset();
  // As the crypt call: reading stops until the answer is in, so no request races the verdict.
  auth_in_flight_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
  server_.radius->authenticate(std::move(request), [this](auth::RadiusAuthOutcome outcome) {
    using Verdict = auth::RadiusAuthOutcome::Verdict;
    if (outcome.verdict == Verdict::kError) {
      // No answer or a broken one: the login fails like a wrong password (fail closed), and
      // the log says it was the RADIUS server, not the user.
      OCM_WARN("conn#%lu %s: RADIUS check for user '%s' failed: %s", static_cast<unsigned long>(id_), peer_.c_str(),
               username_.c_str(), outcome.reason.c_str());
    }
    bool ok = outcome.verdict == Verdict::kAccept;
    if (ok) {
      radius_accept_ = std::move(outcome);
    }
    on_auth_done(ok);
  });
}

}  // namespace ocm::ctrl

namespace ocm::ctrl {

Result<std::unique_ptr<RadiusSessions>> make_radius_sessions(Server::Impl& impl) {
  const auto& cfg = impl.config->auth.radius;
  if (!impl.config->auth.uses_radius() && !cfg.accounting) {
    return std::unique_ptr<RadiusSessions>();
  }
  auto client = auth::RadiusClient::create(cfg);
  if (!client) {
    return client.error();
  }
  auto octets = [&impl](const Connection& conn) {
    // What ocmctl shows as the user's traffic: CSTP frames (TLS) plus DTLS records.
    auto slot = impl.data_plane->session_view(conn.slot());
    return RadiusSessions::Octets{conn.info().cstp_rx_bytes + slot.counters.rx_bytes,
                                  conn.info().cstp_tx_bytes + slot.counters.tx_bytes};
  };
  OCM_INFO("radius: %s%s%s", impl.config->auth.uses_radius() ? "authentication" : "",
           impl.config->auth.uses_radius() && cfg.accounting ? " and " : "", cfg.accounting ? "accounting" : "");
  return std::make_unique<RadiusSessions>(&impl.loop, std::shared_ptr<auth::RadiusClient>(std::move(client).value()),
                                          cfg, octets);
}

}  // namespace ocm::ctrl
