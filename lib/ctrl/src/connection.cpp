#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "ocm/base/bytes.hpp"
#include "ocm/base/log.hpp"
#include "ocm/proto/auth_xml.hpp"
#include "ocm/crypto/aead.hpp"
#include "ocm/proto/dtls_suites.hpp"
#include "ocm/proto/tunnel_headers.hpp"
#include "ocm/session/cookie.hpp"
#include "client_cert.hpp"
#include "server_impl.hpp"

namespace ocm::ctrl {
namespace {

// A client that does not read its socket must not make us buffer without bound: beyond this
// many queued bytes, packets from TUN to that client are dropped (TCP is already congested).
constexpr size_t kMaxQueuedBytes = 4 * 1024 * 1024;
// Plaintext that may wait behind a running password check (pipelined requests).
constexpr size_t kMaxPendingPlaintext = 64 * 1024;
// How long a closing connection may take to drain its last bytes before it is cut.
constexpr auto kCloseGrace = std::chrono::seconds(3);
// Plaintext of one TLS record is at most 16 KiB.
constexpr size_t kRecordPlaintextMax = 16384;

// First byte of a server DISCONNECT payload that carries a reason (quota, session timeout).
constexpr uint8_t kServerDisconnectCode = 0x01;

constexpr std::string_view kExpiredCookieAttrs = "; expires=Thu, 01 Jan 1970 22:00:00 GMT; path=/; Secure; HttpOnly";

std::string peer_name(uv_tcp_t* tcp) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return "?";
  }
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
    port = ntohs(sin->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
    port = ntohs(sin6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

bool is_auth_path(std::string_view path) {
  return path == "/" || path == "/auth" || path == "/VPN" || path.starts_with("/auth/") || path.starts_with("/VPN/");
}

struct WriteReq {
  uv_write_t req{};
  std::vector<uint8_t> data;
};

struct PasswordWork {
  uv_work_t req{};
  Connection* connection = nullptr;
  std::shared_ptr<const auth::PasswdFile> passwd;
  std::string username;
  std::string password;
  bool force_fail = false;  // the outcome is decided already; crypt runs for equal timing
  bool ok = false;
  // PAM methods: the service to ask instead of the passwd file; LDAP: the server settings (a
  // copy: a reload may replace the Config while this runs). What the backend answered:
  std::optional<std::string> pam_service;
  uint32_t pam_gid_min = 0;
  std::optional<config::LdapConfig> ldap;
  std::vector<std::string> backend_groups;
  std::string backend_reason;
  bool backend_failed = false;  // an LDAP failure: its reason (server down, no such entry) is worth INFO
};

static_assert(config::kMaxPortRules == datapath::kMaxPortRules, "the config refuses what a session cannot hold");

// What a session may send to, computed once per CONNECT. restrict-to-routes: the split-include
// routes announced to it plus the server's tunnel address; unrestricted (count 0) when off, with
// the default route, or with no routes (which ocserv treats as everything through the tunnel).
// restrict-to-ports: the user/group file's list, else the global one. An error when either list
// is longer than a session holds (the config refuses such port lists already; this keeps the
// tunnel closed if not).
Result<datapath::RouteRestriction> session_restriction(const config::UserConfig& uc, const config::NetworkConfig& net) {
  datapath::RouteRestriction r;
  const auto& routes = uc.routes.value_or(net.routes);
  const bool default_route = uc.routes ? uc.default_route : net.default_route;
  if (uc.restrict_to_routes.value_or(net.restrict_to_routes) && !default_route && !routes.empty()) {
    if (routes.size() + 1 > datapath::kMaxRestrictedRoutes) {
      return make_error("more than " + std::to_string(datapath::kMaxRestrictedRoutes - 1) + " routes to restrict to");
    }
    for (const auto& route : routes) {
      r.routes[r.count++] = route;
    }
    r.routes[r.count++] = Ipv4Prefix{net.ipv4_network.network + 1, 32};
    r.allow_ipv6 = std::any_of(net.routes6.begin(), net.routes6.end(), [](const auto& p) { return p.length == 0; });
  }
  if (const auto& ports = uc.restrict_to_ports ? uc.restrict_to_ports : net.restrict_to_ports) {
    if (ports->rules.size() > datapath::kMaxPortRules) {
      return make_error("more than " + std::to_string(datapath::kMaxPortRules) + " port rules to restrict to");
    }
    r.ports_negate = ports->negate;
    for (const auto& rule : ports->rules) {
      r.ports[r.port_count++] = datapath::PortRuleSlot{rule.protocol, rule.port};
    }
  }
  return r;
}

void on_handle_closed(uv_handle_t* handle) {
  auto* conn = static_cast<Connection*>(handle->data);
  conn->handle_closed();
  if (conn->open_handles() == 0 && !conn->auth_in_flight()) {
    // Deletes conn: nothing may touch it after this line.
    static_cast<Server::Impl*>(handle->loop->data)->forget(conn->id());
  }
}

}  // namespace

Connection::Connection(Server::Impl& server, uint64_t id)
    : server_(server), id_(id), tls_(std::make_unique<TlsSession>(server.tls)) {}

bool Connection::accept(uv_stream_t* listener) {
  uv_tcp_init(&server_.loop, &tcp);
  tcp.data = this;
  ++open_handles_;
  uv_timer_init(&server_.loop, &timer);
  timer.data = this;
  ++open_handles_;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp)) != 0) {
    close("accept failed");
    return false;
  }
  uv_tcp_nodelay(&tcp, 1);
  peer_ = peer_name(&tcp);
  accepted_at_ = Clock::now();
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* impl = static_cast<Server::Impl*>(h->loop->data);
        *buf = uv_buf_init(impl->read_buffer.data(), impl->read_buffer.size());
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) { static_cast<Connection*>(s->data)->on_read(nread, buf); });
  arm_timer();
  OCM_DEBUG("conn#%lu %s: accepted", static_cast<unsigned long>(id_), peer_.c_str());
  return true;
}

void Connection::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (phase_ == Phase::kClosing) {
    return;
  }
  if (nread < 0) {
    close(nread == UV_EOF ? "peer closed the connection" : uv_strerror(static_cast<int>(nread)));
    return;
  }
  if (nread == 0) {
    return;
  }
  tls_->push_input(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  drive_tls();
}

void Connection::drive_tls() {
  if (phase_ == Phase::kHandshake) {
    auto status = tls_->handshake();
    flush();
    if (status == TlsSession::Status::kWantRead) {
      return;
    }
    if (status != TlsSession::Status::kOk) {
      ++server_.stats.tls_handshake_failures;
      OCM_INFO("conn#%lu %s: TLS handshake failed: %s", static_cast<unsigned long>(id_), peer_.c_str(),
               tls_->last_error().c_str());
      close("TLS handshake failed");
      return;
    }
    phase_ = Phase::kHttp;
    server_.stats.tls_handshake_latency.observe(Clock::now() - accepted_at_);
    OCM_DEBUG("conn#%lu %s: TLS established (%s, %s)", static_cast<unsigned long>(id_), peer_.c_str(),
              tls_->version().c_str(), tls_->cipher().c_str());
    arm_timer();
  }
  // Records can queue up behind a running password check; they are read once it finishes.
  std::array<uint8_t, kRecordPlaintextMax + 64> plain{};
  while (phase_ == Phase::kHttp || phase_ == Phase::kTunnel) {
    size_t n = 0;
    auto status = tls_->read(plain.data(), plain.size(), n);
    if (status == TlsSession::Status::kWantRead) {
      break;
    }
    if (status == TlsSession::Status::kClosed) {
      close("peer sent close_notify");
      break;
    }
    if (status == TlsSession::Status::kError) {
      OCM_INFO("conn#%lu %s: TLS error: %s", static_cast<unsigned long>(id_), peer_.c_str(), tls_->last_error().c_str());
      close("TLS error");
      break;
    }
    on_plaintext(plain.data(), n);
  }
  flush();
}

void Connection::on_plaintext(const uint8_t* data, size_t len) {
  if (phase_ == Phase::kTunnel) {
    feed_cstp(data, len);
  } else if (phase_ == Phase::kHttp) {
    if (auth_in_flight_) {
      if (pending_plaintext_.size() + len > kMaxPendingPlaintext) {
        close("too much data while a password check was running");
        return;
      }
      pending_plaintext_.append(reinterpret_cast<const char*>(data), len);
      return;
    }
    feed_http(data, len);
  }
}

void Connection::feed_http(const uint8_t* data, size_t len) {
  std::string_view rest(reinterpret_cast<const char*>(data), len);
  while (!rest.empty() && phase_ == Phase::kHttp && !auth_in_flight_) {
    bool was_started = parser_.started();
    size_t used = parser_.feed(rest);
    rest.remove_prefix(used);
    if (!was_started && parser_.started()) {
      request_started_at_ = Clock::now();
      request_timer_running_ = true;
      arm_timer();
    }
    if (parser_.state() == proto::HttpRequestParser::State::kError) {
      const auto& err = parser_.error();
      OCM_INFO("conn#%lu %s: bad HTTP request: %d %s", static_cast<unsigned long>(id_), peer_.c_str(), err.status,
               err.reason.c_str());
      send_response(err.status, err.reason, {}, {}, true);
      return;
    }
    if (parser_.state() != proto::HttpRequestParser::State::kComplete) {
      break;
    }
    proto::HttpRequest request = std::move(parser_.request());
    parser_.reset();
    request_timer_running_ = false;
    arm_timer();
    handle_request(request);
  }
  if (!rest.empty()) {
    if (phase_ == Phase::kTunnel) {
      // Frames pipelined right behind the CONNECT request.
      feed_cstp(reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
    } else if (auth_in_flight_ || phase_ == Phase::kScript) {
      pending_plaintext_.append(rest);
    }
  }
}

void Connection::handle_request(proto::HttpRequest& request) {
  ++requests_;
  http_minor_ = request.version_minor;
  if (requests_ > server_.config->server.max_requests_per_connection) {
    send_response(429, "Too Many Requests", {}, {}, true);
    return;
  }
  const std::string_view path = request.path();
  OCM_DEBUG("conn#%lu %s: %s %s", static_cast<unsigned long>(id_), peer_.c_str(), request.method_text.c_str(),
            request.target.c_str());
  switch (request.method) {
    case proto::HttpMethod::kConnect:
      handle_connect(request);
      return;
    case proto::HttpMethod::kGet:
      if (is_auth_path(path)) {
        auth_state_ = AuthState::kInitial;
        send_username_form();
      } else {
        send_response(404, "Not Found", {}, "<html><body><h1>404 Not Found</h1></body></html>\n", request.wants_close());
      }
      return;
    case proto::HttpMethod::kPost:
      if (is_auth_path(path)) {
        handle_auth_post(request);
      } else {
        send_response(404, "Not Found", {}, "<html><body><h1>404 Not Found</h1></body></html>\n", request.wants_close());
      }
      return;
    case proto::HttpMethod::kHead:
    case proto::HttpMethod::kOther:
      send_response(405, "Method Not Allowed", {{"Allow", "GET, POST, CONNECT"}}, {}, true);
      return;
  }
}

void Connection::send_username_form() {
  send_response(200, "OK",
                {{"Set-Cookie", "webvpncontext=" + std::string(kExpiredCookieAttrs)},
                 {"Content-Type", "text/xml"},
                 {"X-Transcend-Version", "1"}},
                proto::group_form_xml(server_.config->server.pre_login_banner, true, group_options()), false);
}

std::vector<proto::GroupOption> Connection::group_options() const {
  const auto& auth = server_.config->auth;
  std::vector<proto::GroupOption> out;
  auto add = [&out](const std::string& value, const std::string& label) {
    for (const auto& o : out) {
      if (o.value == value) {
        return;
      }
    }
    out.push_back({value, label});
  };
  for (const auto& g : auth.select_groups) {
    add(g.name, g.label);
  }
  if (auth.auto_select_group) {
    // Every group some user of the passwd file belongs to (ocserv's auto-select-group).
    std::vector<std::string> all;
    for (const auto& entry : server_.passwd->entries()) {
      all.insert(all.end(), entry.groups.begin(), entry.groups.end());
    }
    std::sort(all.begin(), all.end());
    for (const auto& g : all) {
      add(g, g);
    }
  }
  for (const auto& g : cert_groups_) {
    add(g, g);
  }
  if (!out.empty() && !auth.default_select_group.empty()) {
    add(auth.default_select_group, auth.default_select_group);
  }
  // The client's current choice goes first: Cisco clients and openconnect take the first
  // option as the selected one (protocol.md §2.4).
  if (group_chosen_) {
    const std::string& shown = chosen_group_.empty() ? auth.default_select_group : chosen_group_;
    auto it = std::find_if(out.begin(), out.end(), [&](const proto::GroupOption& o) { return o.value == shown; });
    if (it != out.end()) {
      std::rotate(out.begin(), it, it + 1);
    }
  }
  return out;
}

bool Connection::resolve_group(std::string_view value, std::string& group) const {
  const auto& auth = server_.config->auth;
  if (!auth.default_select_group.empty() && value == auth.default_select_group) {
    group.clear();  // "my default group"
    return true;
  }
  // Values first; then labels, which some AnyConnect versions send instead (ocserv maps them).
  auto options = group_options();
  for (const auto& o : options) {
    if (o.value == value) {
      group = o.value;
      return true;
    }
  }
  for (const auto& o : options) {
    if (o.label == value) {
      group = o.value;
      return true;
    }
  }
  return false;
}

void Connection::send_password_form(std::string_view message) {
  // The context cookie lets a client resume the dialogue; we keep the dialogue per connection,
  // which is what openconnect does (it never changes connection between form pages).
  auto context = session::encode_cookie(session::random_cookie());
  send_response(200, "OK",
                {{"Set-Cookie", "webvpncontext=" + context + "; Max-Age=" +
                                    std::to_string(server_.config->session.cookie_timeout.count()) +
                                    "; Secure; HttpOnly"},
                 {"Content-Type", "text/xml"},
                 {"X-Transcend-Version", "1"}},
                auth_state_ == AuthState::kNeedOtp ? proto::otp_form_xml(message) : proto::password_form_xml(message),
                false);
}

void Connection::refuse_login(const char* why) {
  ++server_.stats.auth_failures;
  OCM_INFO("conn#%lu %s: login refused for user '%s': %s", static_cast<unsigned long>(id_), peer_.c_str(),
           username_.c_str(), why);
  auth_state_ = AuthState::kInitial;
  send_response(401, "Authentication failed", {}, {}, true);
}

void Connection::handle_auth_post(const proto::HttpRequest& request) {
  auto fields = proto::parse_auth_body(request.body);
  if (!fields) {
    OCM_INFO("conn#%lu %s: malformed auth body", static_cast<unsigned long>(id_), peer_.c_str());
    send_response(400, "Bad Request", {}, {}, true);
    return;
  }
  const auto& auth = server_.config->auth;
  if (auth.uses_certificate() && !cert_user_) {
    // The handshake verified any certificate the client presented (CA, CRL); read who it names.
    auto id = peer_identity(tls_->native(), auth.cert_user_oid, auth.cert_group_oid);
    if (!id) {
      ++server_.stats.auth_failures;
      OCM_INFO("conn#%lu %s: certificate login refused: %s", static_cast<unsigned long>(id_), peer_.c_str(),
               id.error().message.c_str());
      send_response(401, id.error().message == "no client certificate" ? "No certificate" : "Could not read certificate",
                    {}, {}, true);
      return;
    }
    cert_user_ = id->username;
    cert_groups_ = id->groups;
  }
  if (fields->group_select && auth_state_ != AuthState::kNeedOtp) {
    std::string group;
    if (!resolve_group(*fields->group_select, group)) {
      username_ = fields->username.value_or(username_);
      refuse_login("unknown group selected");
      return;
    }
    chosen_group_ = std::move(group);
    group_chosen_ = true;
  }
  if (auth_state_ == AuthState::kNeedOtp) {
    if (fields->password) {
      check_otp(std::move(*fields->password));
    } else {
      send_password_form("Please enter your OTP password.");
    }
    return;
  }
  if (auth.method == config::AuthMethod::kCertificate) {
    // ocserv: with a valid certificate the first POST gets the complete document, no form.
    username_ = *cert_user_;
    complete_login(cert_groups_);
    return;
  }
  if (fields->username) {
    username_ = *fields->username;
    password_tries_ = 0;
    auth_state_ = AuthState::kNeedPassword;
    if (!fields->password) {
      send_password_form("Please enter your password.");
      return;
    }
  }
  if (fields->password && auth_state_ == AuthState::kNeedPassword) {
    start_password_check(std::move(*fields->password));
    return;
  }
  auth_state_ = AuthState::kInitial;
  send_username_form();
}

void Connection::start_password_check(std::string password) {
  if (server_.config->auth.uses_radius()) {
    start_radius_check(std::move(password));
    return;
  }
  // crypt(3) with yescrypt costs tens of milliseconds: it runs on libuv's thread pool so that
  // one login never stalls every tunnel on the loop.
  auto* work = new PasswordWork;
  work->req.data = work;
  work->connection = this;
  work->passwd = server_.passwd;
  work->username = username_;
  work->password = std::move(password);
  // plain+certificate: the password must be that of the certificate's user. A mismatch still
  // costs the crypt call, so it looks like any wrong password.
  work->force_fail = cert_user_.has_value() && *cert_user_ != username_;
  if (server_.config->auth.uses_pam()) {
    work->pam_service = server_.config->auth.pam_service;
    work->pam_gid_min = server_.config->auth.pam_gid_min;
  }
  if (server_.config->auth.uses_ldap()) {
    work->ldap = server_.config->auth.ldap;
  }
  if (work->force_fail) {
    OCM_INFO("conn#%lu %s: user '%s' typed with a certificate for '%s'", static_cast<unsigned long>(id_),
             peer_.c_str(), username_.c_str(), cert_user_->c_str());
  }
  auth_in_flight_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
  uv_queue_work(
      &server_.loop, &work->req,
      [](uv_work_t* req) {
        auto* w = static_cast<PasswordWork*>(req->data);
        if (w->pam_service) {
          // PAM may block for seconds (pam_unix's delay after a failure): hence the pool.
          auto outcome = auth::pam_login(*w->pam_service, w->username, w->password, w->pam_gid_min);
          w->ok = outcome.ok && !w->force_fail;
          w->backend_groups = std::move(outcome.groups);
          if (!outcome.reason.empty()) {
            w->backend_reason = "PAM: " + outcome.reason;
          }
        } else if (w->ldap) {
          // Binds and searches wait on the network for up to timeout_s each.
          auto outcome = auth::ldap_login(*w->ldap, w->username, w->password);
          w->ok = outcome.ok && !w->force_fail;
          w->backend_groups = std::move(outcome.groups);
          w->backend_reason = outcome.ok ? "LDAP: bound as " + outcome.dn : "LDAP: " + outcome.reason;
          w->backend_failed = !outcome.ok;
        } else {
          w->ok = auth::verify_user(*w->passwd, w->username, w->password) && !w->force_fail;
        }
        secure_zero(w->password.data(), w->password.size());
      },
      [](uv_work_t* req, int status) {
        std::unique_ptr<PasswordWork> w(static_cast<PasswordWork*>(req->data));
        Connection* conn = w->connection;
        if (w->backend_failed) {
          OCM_INFO("conn#%lu: %s", static_cast<unsigned long>(conn->id()), w->backend_reason.c_str());
        } else if (!w->backend_reason.empty()) {
          OCM_DEBUG("conn#%lu: %s", static_cast<unsigned long>(conn->id()), w->backend_reason.c_str());
        }
        conn->set_backend_groups(std::move(w->backend_groups));
        conn->on_auth_done(status == 0 && w->ok);
      });
}

void Connection::on_auth_done(bool ok) {
  auth_in_flight_ = false;
  if (phase_ == Phase::kClosing) {
    if (open_handles_ == 0) {
      server_.forget(id_);  // deletes this
    }
    return;
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* impl = static_cast<Server::Impl*>(h->loop->data);
        *buf = uv_buf_init(impl->read_buffer.data(), impl->read_buffer.size());
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) { static_cast<Connection*>(s->data)->on_read(nread, buf); });
  if (ok && server_.otp != nullptr) {
    // Second factor: the password alone logs nobody in (a user without a token fails there).
    auth_state_ = AuthState::kNeedOtp;
    otp_tries_ = 0;
    send_password_form("Please enter your OTP password.");
  } else if (ok) {
    complete_login(login_groups());
  } else {
    ++server_.stats.auth_failures;
    ++password_tries_;
    OCM_INFO("conn#%lu %s: login failed for user '%s' (attempt %u)", static_cast<unsigned long>(id_), peer_.c_str(),
             username_.c_str(), password_tries_);
    // A wrong password banning the address also ends this connection: no more guesses on it.
    bool banned = server_.add_ban_points(peer_ipv4(&tcp), server_.bans.policy().points_wrong_password,
                                         "wrong passwords");
    if (banned || password_tries_ >= server_.config->auth.max_password_tries) {
      send_response(401, "Authentication failed", {}, {}, true);
    } else {
      send_password_form("Login failed.\nPlease enter your password.");
    }
  }
  if (phase_ == Phase::kHttp && !pending_plaintext_.empty()) {
    std::string pending = std::move(pending_plaintext_);
    pending_plaintext_.clear();
    feed_http(reinterpret_cast<const uint8_t*>(pending.data()), pending.size());
  }
  // Records that arrived while reading was stopped are still inside wolfSSL's input.
  drive_tls();
}

std::vector<std::string> Connection::login_groups() const {
  const auth::PasswdEntry* entry = server_.passwd->find(username_);
  std::vector<std::string> groups = entry != nullptr ? entry->groups : std::vector<std::string>{};
  groups.insert(groups.end(), backend_groups_.begin(), backend_groups_.end());  // PAM, LDAP
  if (radius_accept_) {
    groups.insert(groups.end(), radius_accept_->groups.begin(), radius_accept_->groups.end());  // Class
  }
  groups.insert(groups.end(), cert_groups_.begin(), cert_groups_.end());
  return groups;
}

void Connection::check_otp(std::string code) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  auto verdict = server_.otp_verifier.verify(*server_.otp, username_, code, static_cast<uint64_t>(now.count()));
  secure_zero(code.data(), code.size());
  if (verdict == auth::OtpVerifier::Verdict::kOk) {
    complete_login(login_groups());
    return;
  }
  ++server_.stats.auth_failures;
  ++otp_tries_;
  const char* why = verdict == auth::OtpVerifier::Verdict::kReused    ? "code already used"
                    : verdict == auth::OtpVerifier::Verdict::kNoToken ? "user has no OTP token in otp_file"
                                                                      : "wrong code";
  OCM_INFO("conn#%lu %s: OTP failed for user '%s' (%s, attempt %u)", static_cast<unsigned long>(id_), peer_.c_str(),
           username_.c_str(), why, otp_tries_);
  bool banned = server_.add_ban_points(peer_ipv4(&tcp), server_.bans.policy().points_wrong_password, "wrong OTP codes");
  if (banned || otp_tries_ >= server_.config->auth.max_password_tries ||
      verdict == auth::OtpVerifier::Verdict::kNoToken) {
    auth_state_ = AuthState::kInitial;
    send_response(401, "Authentication failed", {}, {}, true);
  } else {
    send_password_form("Login failed.\nPlease enter your OTP password.");
  }
}

void Connection::complete_login(const std::vector<std::string>& member_of) {
  std::string group;
  if (group_chosen_ && !chosen_group_.empty()) {
    // ocserv: choosing a group you are not a member of fails after the credentials.
    if (std::find(member_of.begin(), member_of.end(), chosen_group_) == member_of.end()) {
      refuse_login(("not a member of group '" + chosen_group_ + "'").c_str());
      return;
    }
    group = chosen_group_;
  } else if (!member_of.empty()) {
    group = member_of.front();  // default group: the first one (passwd entry, then certificate)
  }
  ++server_.stats.auth_successes;
  auto& s = server_.sessions.create(username_, group, Clock::now());
  s.origin_ipv4 = peer_ipv4(&tcp);
  if (server_.radius != nullptr) {
    // Accounting follows every login; a RADIUS login also keeps its Access-Accept for CONNECT.
    server_.radius->logged_in(s.id, username_,
                              radius_accept_ ? radius_acct_id_ : server_.radius->new_acct_session_id(),
                              radius_accept_ ? &*radius_accept_ : nullptr);
  }
  auto cookie = session::encode_cookie(s.cookie);
  OCM_INFO("conn#%lu %s: user '%s' authenticated%s%s (session %u)", static_cast<unsigned long>(id_), peer_.c_str(),
           username_.c_str(), group.empty() ? "" : " in group ", group.c_str(), s.id);
  auth_state_ = AuthState::kInitial;
  send_response(200, "OK",
                {{"Connection", "Keep-Alive"},
                 {"Content-Type", "text/xml"},
                 {"X-Transcend-Version", "1"},
                 {"Set-Cookie", "webvpncontext=" + cookie + "; Secure; HttpOnly"},
                 {"Set-Cookie", "webvpn=" + cookie + "; Secure; HttpOnly"},
                 {"Set-Cookie", "webvpnc=" + std::string(kExpiredCookieAttrs)}},
                proto::auth_complete_xml(server_.config->server.banner), false);
}

Result<config::UserConfig> Connection::load_user_config(const session::Session& s) const {
  const auto& auth = server_.config->auth;
  config::UserConfig merged;
  // Group first, then the user's own file wins key by key (doc/operators.md).
  if (!auth.config_per_group.empty() && !s.group.empty()) {
    auto group = config::load_user_config(auth.config_per_group, s.group);
    if (!group) {
      return group.error();
    }
    if (*group) {
      merged = std::move(**group);
    }
  }
  if (!auth.config_per_user.empty()) {
    auto user = config::load_user_config(auth.config_per_user, s.username);
    if (!user) {
      return user.error();
    }
    if (*user) {
      config::merge_user_config(merged, **user);
    }
  }
  return merged;
}

void Connection::handle_connect(const proto::HttpRequest& request) {
  if (request.target != "/CSCOSSLC/tunnel") {
    send_response(404, "Not Found", {}, {}, true);
    return;
  }
  auto cookie_text = request.cookie("webvpn");
  auto cookie = cookie_text ? session::decode_cookie(*cookie_text) : std::nullopt;
  if (!cookie) {
    OCM_INFO("conn#%lu %s: CONNECT without a valid cookie", static_cast<unsigned long>(id_), peer_.c_str());
    send_response(503, "Service Unavailable", {}, {}, true);
    return;
  }
  auto now = Clock::now();
  session::Session* s = server_.sessions.find(*cookie, now);
  if (s == nullptr) {
    OCM_INFO("conn#%lu %s: CONNECT with an unknown or expired cookie", static_cast<unsigned long>(id_), peer_.c_str());
    send_response(401, "Cookie is not acceptable", {}, {}, true);
    return;
  }
  if (auto limit = server_.config->session.session_timeout; limit.count() > 0 && now - s->created >= limit) {
    // A detached session past session_timeout: the login is over (tick() ends attached ones).
    OCM_INFO("conn#%lu %s: CONNECT for session %u after its session_timeout", static_cast<unsigned long>(id_),
             peer_.c_str(), s->id);
    if (!s->tunnel_attached) {
      server_.sessions.remove(s->id);
    }
    send_response(401, "Cookie is not acceptable", {}, {}, true);
    return;
  }
  if (over_same_client_limit(*s)) {
    send_response(401, "Cookie is not acceptable", {}, {}, true);
    return;
  }
  // Re-read on every CONNECT, as ocserv does: edits apply without a reload. A broken file
  // refuses the tunnel (ocserv 1.5.1) rather than running it without the intended limits.
  auto user_config = load_user_config(*s);
  if (!user_config) {
    OCM_WARN("conn#%lu %s: per-user/group config for user '%s': %s", static_cast<unsigned long>(id_), peer_.c_str(),
             s->username.c_str(), user_config.error().message.c_str());
    send_response(503, "Service Unavailable", {{"X-Reason", "Server configuration error"}}, {}, true);
    return;
  }
  user_config_ = std::move(user_config).value();
  if (user_config_.deny_roaming.value_or(server_.config->session.deny_roaming) && peer_ipv4(&tcp) != s->origin_ipv4) {
    // A cookie is a bearer token: with deny_roaming a stolen one is useless elsewhere.
    OCM_INFO("conn#%lu %s: cookie of session %u used away from its login address %s (deny_roaming)",
             static_cast<unsigned long>(id_), peer_.c_str(), s->id, format_ipv4(s->origin_ipv4).c_str());
    ++server_.stats.roaming_refusals;
    send_response(401, "Cookie is not acceptable", {}, {}, true);
    return;
  }
  if (const auth::RadiusAuthOutcome* accept = server_.radius ? server_.radius->accept_of(s->id) : nullptr) {
    apply_radius_attributes(*accept, user_config_, [this](uint32_t a) { return server_.pool.index_of(a).has_value(); });
  }
  if (user_config_.explicit_ipv4 && !s->ipv4) {
    if (!server_.pool.lease_exact(*user_config_.explicit_ipv4)) {
      OCM_WARN("conn#%lu %s: explicit-ipv4 %s of user '%s' is outside the pool or in use",
               static_cast<unsigned long>(id_), peer_.c_str(), format_ipv4(*user_config_.explicit_ipv4).c_str(),
               s->username.c_str());
      send_response(503, "Service Unavailable", {{"X-Reason", "Server configuration error"}}, {}, true);
      return;
    }
    s->ipv4 = *user_config_.explicit_ipv4;
  }
  // The lease comes first: the connect script is told the address (IP_REMOTE).
  if (!server_.sessions.ensure_lease(*s)) {
    OCM_WARN("conn#%lu %s: address pool exhausted", static_cast<unsigned long>(id_), peer_.c_str());
    send_response(503, "Service Unavailable", {{"X-Reason", "Server configuration error"}}, {}, true);
    return;
  }
  auto tunnel_request = proto::parse_tunnel_request(request);
  session_id_ = s->id;
  address_ = *s->ipv4;
  info_.user_agent = std::string(request.header("User-Agent").value_or(""));
  info_.hostname = tunnel_request.hostname;
  if (server_.config->session.connect_script.empty()) {
    finish_connect(tunnel_request);
    return;
  }
  // Nothing is attached (route, data plane slot, tunnel_owner) until the script says yes, so a
  // refusal has nothing to undo but the session itself.
  pending_tunnel_ = std::move(tunnel_request);
  phase_ = Phase::kScript;
  arm_timer();
  script_job_ = server_.start_connect_script(*this, [this](bool ok) { on_connect_script_done(ok); });
}

bool Connection::over_same_client_limit(const session::Session& s) {
  size_t limit = server_.config->session.max_same_clients;
  size_t others = server_.sessions.attached_count(s.username) - (s.tunnel_attached ? 1 : 0);
  if (limit == 0 || others < limit) {
    return false;
  }
  OCM_INFO("conn#%lu %s: user '%s' exceeds max_same_clients", static_cast<unsigned long>(id_), peer_.c_str(),
           s.username.c_str());
  return true;
}

void Connection::on_connect_script_done(bool ok) {
  script_job_ = 0;
  if (phase_ != Phase::kScript) {
    return;
  }
  if (!ok) {
    ++server_.stats.connect_script_refusals;
    // As ocserv: a refused session is over (cookie and lease), unless another connection
    // carries it right now.
    if (session::Session* s = server_.sessions.find_id(session_id_); s != nullptr && !s->tunnel_attached) {
      server_.sessions.remove(session_id_);
    }
    phase_ = Phase::kHttp;
    // openconnect treats 401 as final ("cookie rejected", exit 2) instead of retrying.
    send_response(401, "Cookie is not acceptable", {}, {}, true);
    return;
  }
  phase_ = Phase::kHttp;
  finish_connect(pending_tunnel_);
  if (phase_ == Phase::kTunnel && !pending_plaintext_.empty()) {
    std::string pending = std::move(pending_plaintext_);
    pending_plaintext_.clear();
    feed_cstp(reinterpret_cast<const uint8_t*>(pending.data()), pending.size());
  }
  // Records that arrived while we waited are still inside wolfSSL's input; this also flushes.
  drive_tls();
}

void Connection::finish_connect(const proto::TunnelRequest& tunnel_request) {
  auto now = Clock::now();
  // Looked up again: the session may have expired or been terminated while a script ran.
  session::Session* s = server_.sessions.find_id(session_id_);
  // The limit is checked again because other tunnels of the user may have come up meanwhile.
  if (s == nullptr || over_same_client_limit(*s)) {
    send_response(401, "Cookie is not acceptable", {}, {}, true);
    return;
  }
  if (!server_.sessions.ensure_lease(*s)) {
    OCM_WARN("conn#%lu %s: address pool exhausted", static_cast<unsigned long>(id_), peer_.c_str());
    send_response(503, "Service Unavailable", {{"X-Reason", "Server configuration error"}}, {}, true);
    return;
  }
  const auto& cfg = *server_.config;
  auto owner = server_.tunnel_owner.find(s->id);
  if (owner != server_.tunnel_owner.end() && owner->second != this) {
    // Cookie reuse while the old tunnel is up: the newest connection wins (protocol.md §6.5).
    OCM_INFO("session %u: taken over by conn#%lu", s->id, static_cast<unsigned long>(id_));
    owner->second->disconnect("session taken over by a new connection", SessionFate::kHandOver);
  }
  address_ = *s->ipv4;
  route_index_ = *server_.pool.index_of(address_);
  // The pool index doubles as the data plane slot: one lease per session, dense, bounded.
  // Attached before the reply is written, so a refusal is still a clean 503, not a 200
  // followed by an error.
  if (auto attached = server_.data_plane->attach_cstp(route_index_, address_); !attached) {
    OCM_ERROR("conn#%lu: data plane refused slot %u: %s", static_cast<unsigned long>(id_), route_index_,
              attached.error().message.c_str());
    send_response(503, "Service Unavailable", {{"X-Reason", "Server error"}}, {}, true);
    return;
  }
  const config::UserConfig& uc = user_config_;
  if (auto limited = server_.data_plane->set_rate_limit(route_index_,
                                                        uc.rx_rate_limit.value_or(cfg.session.rx_rate_limit),
                                                        uc.tx_rate_limit.value_or(cfg.session.tx_rate_limit));
      !limited) {
    // Refusing is safer than running the tunnel without the limit the operator asked for.
    OCM_ERROR("conn#%lu: data plane refused the rate limit for slot %u: %s", static_cast<unsigned long>(id_),
              route_index_, limited.error().message.c_str());
    server_.data_plane->release(route_index_);
    send_response(503, "Service Unavailable", {{"X-Reason", "Server error"}}, {}, true);
    return;
  }
  auto restriction = session_restriction(uc, cfg.network);
  Status restricted =
      restriction ? server_.data_plane->set_restriction(route_index_, *restriction) : Status(restriction.error());
  if (!restricted) {
    // Fail closed: a user the operator restricted never gets an unrestricted tunnel.
    OCM_ERROR("conn#%lu: restrict-to-routes/-ports refused for slot %u: %s", static_cast<unsigned long>(id_),
              route_index_, restricted.error().message.c_str());
    server_.data_plane->release(route_index_);
    send_response(503, "Service Unavailable", {{"X-Reason", "Server error"}}, {}, true);
    return;
  }
  restriction_ = *restriction;
  proto::TunnelReply reply;
  uint32_t dtls_overhead = 0;
  bool dtls_offered = prepare_dtls(tunnel_request, reply, dtls_overhead);
  // The PSK exporter above was the last use of the TLS handshake's secrets (5.5 KB per tunnel).
  tls_->release_handshake_state();
  auto mtu = proto::choose_mtu(cfg.network.mtu, tunnel_request, dtls_overhead);
  // IPv6: the subnet with the IPv4 lease's pool index, announced only if the client takes it.
  // The data plane learns it (or that there is none) on every CONNECT, so a reconnect with
  // --disable-ipv6 cannot keep sending from the subnet of the previous connection.
  lease6_ = {};
  if (server_.pool6) {
    if (auto lease = server_.pool6->lease_for_index(route_index_)) {
      reply.ipv6 = proto::ipv6_reply(tunnel_request, mtu.mtu, lease->address, lease->prefix_length,
                                     server_.pool6->network(), cfg.network.dns_servers6, cfg.network.routes6);
      if (reply.ipv6) {
        lease6_ = datapath::Ipv6Subnet{ipv6_masked(lease->address, lease->prefix_length), lease->prefix_length};
      }
    }
  }
  if (auto attached6 = server_.data_plane->attach_ipv6(route_index_, lease6_); !attached6) {
    OCM_ERROR("conn#%lu: data plane refused the IPv6 lease for slot %u: %s", static_cast<unsigned long>(id_),
              route_index_, attached6.error().message.c_str());
    server_.data_plane->release(route_index_);
    send_response(503, "Service Unavailable", {{"X-Reason", "Server error"}}, {}, true);
    return;
  }
  if (auto compressed = negotiate_compression(tunnel_request, reply); !compressed) {
    OCM_ERROR("conn#%lu: data plane refused DTLS compression for slot %u: %s", static_cast<unsigned long>(id_),
              route_index_, compressed.error().message.c_str());
    server_.data_plane->release(route_index_);
    send_response(503, "Service Unavailable", {{"X-Reason", "Server error"}}, {}, true);
    return;
  }
  reply.server_name = cfg.server.server_name + " " + OCM_VERSION;
  reply.hostname = tunnel_request.hostname;
  reply.dpd_seconds = static_cast<uint32_t>(cfg.session.dpd.count());
  reply.keepalive_seconds = static_cast<uint32_t>(cfg.session.keepalive.count());
  reply.idle_timeout_seconds = static_cast<uint32_t>(uc.idle_timeout.value_or(cfg.session.idle_timeout).count());
  set_rekey(reply);
  if (auto limit = uc.session_timeout.value_or(cfg.session.session_timeout); limit.count() > 0) {
    auto used = std::chrono::duration_cast<std::chrono::seconds>(now - s->created);
    reply.session_timeout_seconds = static_cast<uint32_t>(limit.count());
    reply.session_timeout_remaining_seconds = static_cast<uint32_t>(std::max<int64_t>(limit.count() - used.count(), 1));
  }
  reply.default_domain = cfg.network.default_domain;
  reply.address = *s->ipv4;
  reply.netmask = cfg.network.ipv4_network.netmask();
  // A per-user/group list replaces the global one (ocserv, protocol.md §7.2).
  reply.dns = uc.dns.value_or(cfg.network.dns_servers);
  reply.split_dns = uc.split_dns.value_or(cfg.network.split_dns);
  reply.split_include = uc.routes.value_or(cfg.network.routes);
  reply.default_route = uc.routes ? uc.default_route : cfg.network.default_route;
  reply.split_exclude = uc.no_routes.value_or(std::vector<Ipv4Prefix>{});
  reply.base_mtu = mtu.base_mtu;
  reply.mtu = mtu.mtu;
  reply.banner = cfg.server.banner;
  std::string head = proto::tunnel_reply(reply);
  // The header block goes out as its own record(s): CSTP frames must start a fresh record.
  tls_write(reinterpret_cast<const uint8_t*>(head.data()), head.size());

  server_.sessions.attach(*s);
  server_.tunnel_owner[s->id] = this;
  server_.route[route_index_] = this;
  phase_ = Phase::kTunnel;
  last_rx_ = now;
  last_data_ = now;
  ++server_.stats.tunnels_opened;
  info_.mtu = mtu.mtu;
  info_.connected_at = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  arm_timer();
  if (dtls_offered) {
    server_.dtls_ids[dtls_id_] = this;
  }
  std::string dtls_desc = reply.dtls ? "offered (" + reply.dtls->suite + ")" : std::string("not offered");
  std::string address6 =
      reply.ipv6 ? " + " + format_ipv6_prefix(reply.ipv6->address, reply.ipv6->prefix_length) : std::string();
  OCM_INFO("conn#%lu %s: tunnel up for user '%s' (session %u), address %s%s, mtu %u, %s %s, DTLS %s",
           static_cast<unsigned long>(id_), peer_.c_str(), s->username.c_str(), s->id,
           format_ipv4(address_).c_str(), address6.c_str(), mtu.mtu, tls_->version().c_str(), tls_->cipher().c_str(),
           dtls_desc.c_str());
  server_.on_tunnel_up(*this);
}

void Connection::feed_cstp(const uint8_t* data, size_t len) {
  // One frame per record is the rule (protocol.md §4.1); we parse the plaintext as a stream so
  // that a frame split across reads is still accepted, but reject any malformed header.
  std::span<const uint8_t> input(data, len);
  if (!cstp_buffer_.empty()) {
    cstp_buffer_.insert(cstp_buffer_.end(), data, data + len);
    input = cstp_buffer_;
  }
  size_t offset = 0;
  while (phase_ == Phase::kTunnel && input.size() - offset >= proto::kCstpHeaderSize) {
    const uint8_t* h = input.data() + offset;
    size_t payload_len = (size_t{h[4]} << 8) | h[5];
    if (std::memcmp(h, "STF\x01", 4) != 0 || h[7] != 0 || payload_len > proto::kCstpMaxPayload) {
      ++server_.stats.cstp_protocol_errors;
      OCM_INFO("conn#%lu %s: malformed CSTP frame header", static_cast<unsigned long>(id_), peer_.c_str());
      close("malformed CSTP frame");
      return;
    }
    size_t frame_len = proto::kCstpHeaderSize + payload_len;
    if (input.size() - offset < frame_len) {
      break;
    }
    proto::CstpFrame frame;
    auto err = proto::decode_cstp_record(input.subspan(offset, frame_len), frame);
    if (err != proto::CstpDecodeError::kNone) {
      ++server_.stats.cstp_protocol_errors;
      close(proto::to_string(err));
      return;
    }
    offset += frame_len;
    handle_frame(frame);
  }
  if (phase_ != Phase::kTunnel) {
    return;
  }
  if (cstp_buffer_.empty()) {
    cstp_buffer_.assign(input.begin() + static_cast<std::ptrdiff_t>(offset), input.end());
  } else {
    cstp_buffer_.erase(cstp_buffer_.begin(), cstp_buffer_.begin() + static_cast<std::ptrdiff_t>(offset));
  }
}

void Connection::handle_frame(const proto::CstpFrame& frame) {
  ++server_.stats.cstp_frames_in;
  server_.stats.cstp_bytes_in += proto::kCstpHeaderSize + frame.payload.size();
  info_.cstp_rx_bytes += proto::kCstpHeaderSize + frame.payload.size();
  auto now = Clock::now();
  last_rx_ = now;
  dpd_outstanding_ = false;
  switch (frame.type) {
    case proto::CstpType::kData:
      handle_data(frame.payload, now);
      return;
    case proto::CstpType::kDpdRequest:
      send_frame(proto::CstpType::kDpdResponse, frame.payload);
      return;
    case proto::CstpType::kDpdResponse:
    case proto::CstpType::kKeepalive:
      return;
    case proto::CstpType::kDisconnect:
      if (!frame.payload.empty() && frame.payload[0] == proto::kDisconnectUserLogout) {
        std::string why(reinterpret_cast<const char*>(frame.payload.data()) + 1, frame.payload.size() - 1);
        OCM_INFO("conn#%lu %s: user logged out (%s)", static_cast<unsigned long>(id_), peer_.c_str(), why.c_str());
        close("client logged out", SessionFate::kLogout);
      } else if (frame.payload.empty()) {
        close("client disconnected temporarily");
      } else {
        ++server_.stats.cstp_protocol_errors;
        close("malformed DISCONNECT frame");
      }
      return;
    case proto::CstpType::kCompressed: {
      if (cstp_compression_ == proto::Compression::kNone) {
        // Only after X-CSTP-Content-Encoding in our reply; openconnect is as strict (§8.10).
        ++server_.stats.cstp_protocol_errors;
        close("compressed frame without negotiated compression");
        return;
      }
      // Nothing legitimate decompresses beyond the tunnel MTU; the margin tolerates a client
      // whose idea of the MTU is a little larger than ours.
      constexpr size_t kMtuMargin = 256;
      auto& codec = server_.codec();
      const size_t limit = std::min<size_t>(size_t{info_.mtu} + kMtuMargin, codec.buffer.size());
      size_t n = proto::decompress_packet(cstp_compression_, frame.payload, std::span(codec.buffer.data(), limit));
      if (n == 0) {
        ++server_.stats.cstp_decompress_failures;
        ++server_.stats.cstp_protocol_errors;
        const std::string algorithm(proto::compression_name(cstp_compression_));
        OCM_INFO("conn#%lu %s: %s-compressed CSTP frame of %zu bytes is malformed or decompresses beyond %zu bytes",
                 static_cast<unsigned long>(id_), peer_.c_str(), algorithm.c_str(), frame.payload.size(), limit);
        close("malformed compressed CSTP frame");
        return;
      }
      ++server_.stats.cstp_decompressed;
      handle_data(std::span<const uint8_t>(codec.buffer.data(), n), now);
      return;
    }
    default:
      OCM_DEBUG("conn#%lu: ignoring CSTP frame type 0x%02x", static_cast<unsigned long>(id_),
                static_cast<unsigned>(frame.type));
      return;
  }
}

void Connection::handle_data(std::span<const uint8_t> packet, Clock::time_point now) {
  last_data_ = now;
  // The client sends on CSTP when its DTLS is down: answer on CSTP too until a DTLS record
  // arrives again (protocol.md §5.6); the pipeline re-activates DTLS on that record.
  if (server_.data_plane->session_view(route_index_).state == datapath::SessionState::kDtlsActive) {
    (void)server_.data_plane->mark_dtls_inactive(route_index_);
  }
  auto verdict = check_inner(packet, address_, lease6_);
  if (verdict != InnerVerdict::kOk) {
    ++server_.stats.inner_drops[static_cast<size_t>(verdict)];
    OCM_DEBUG("conn#%lu: dropped inner packet: %s", static_cast<unsigned long>(id_), to_string(verdict));
    return;
  }
  if (auto restricted = restriction_.check(packet); restricted != datapath::RestrictVerdict::kAllowed) {
    ++(restricted == datapath::RestrictVerdict::kNotInRoutes ? server_.stats.cstp_drop_not_in_routes
                                                             : server_.stats.cstp_drop_port_not_allowed);
    return;
  }
  // The session's rx limit, shared with DTLS (the same token bucket on same-thread drivers).
  if (!server_.data_plane->admit_cstp_rx(route_index_, static_cast<uint32_t>(packet.size()), Server::Impl::now_ns())) {
    ++server_.stats.cstp_drop_rate_limited;
    return;
  }
  server_.write_to_tun(packet);
}

Status Connection::negotiate_compression(const proto::TunnelRequest& request, proto::TunnelReply& reply) {
  const config::CompressionConfig& cfg = server_.config->compression;
  std::array<proto::Compression, 2> preference{};
  size_t count = 0;
  for (config::CompressionAlgorithm a : cfg.algorithms) {
    if (count < preference.size()) {
      preference[count++] =
          a == config::CompressionAlgorithm::kLz4 ? proto::Compression::kLz4 : proto::Compression::kLzs;
    }
  }
  const std::span<const proto::Compression> prefs(preference.data(), cfg.enabled ? count : 0);
  // Per channel, as ocserv: each from its own Accept-Encoding (absent with openconnect -D).
  cstp_compression_ = proto::negotiate_compression(request.cstp_accept_encoding, prefs);
  compress_min_size_ = cfg.min_size;
  reply.cstp_compression = cstp_compression_;
  proto::Compression dtls = proto::Compression::kNone;
  if (reply.dtls) {
    dtls = proto::negotiate_compression(request.dtls_accept_encoding, prefs);
    reply.dtls->compression = dtls;
  }
  info_.cstp_compression = std::string(proto::compression_name(cstp_compression_));
  info_.dtls_compression = std::string(proto::compression_name(dtls));
  if (cstp_compression_ != proto::Compression::kNone || dtls != proto::Compression::kNone) {
    OCM_INFO("conn#%lu %s: compression: CSTP %s, DTLS %s (packets over %u bytes)", static_cast<unsigned long>(id_),
             peer_.c_str(), info_.cstp_compression.empty() ? "none" : info_.cstp_compression.c_str(),
             info_.dtls_compression.empty() ? "none" : info_.dtls_compression.c_str(), cfg.min_size);
  }
  // Every CONNECT, so that a reconnect without compression does not inherit the previous one's.
  return server_.data_plane->set_compression(route_index_, dtls, static_cast<uint16_t>(cfg.min_size));
}

void Connection::send_data(std::span<const uint8_t> packet) {
  if (phase_ != Phase::kTunnel) {
    return;
  }
  if (uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&tcp)) > kMaxQueuedBytes) {
    ++server_.stats.cstp_drop_backpressure;
    return;
  }
  last_data_ = Clock::now();
  if (cstp_compression_ != proto::Compression::kNone && packet.size() > compress_min_size_ &&
      packet.size() <= proto::kCstpMaxPayload) {
    auto& codec = server_.codec();
    if (size_t n = proto::compress_packet(cstp_compression_, packet, codec.buffer, codec.scratch); n > 0) {
      ++server_.stats.cstp_compressed;
      send_frame(proto::CstpType::kCompressed, std::span<const uint8_t>(codec.buffer.data(), n));
      flush();
      return;
    }
  }
  send_frame(proto::CstpType::kData, packet);
  flush();
}

void Connection::send_frame(proto::CstpType type, std::span<const uint8_t> payload) {
  if (payload.size() > proto::kCstpMaxPayload) {
    return;
  }
  std::array<uint8_t, proto::kCstpHeaderSize + proto::kCstpMaxPayload> frame;
  proto::encode_cstp_header(frame.data(), type, static_cast<uint16_t>(payload.size()));
  if (!payload.empty()) {
    std::memcpy(frame.data() + proto::kCstpHeaderSize, payload.data(), payload.size());
  }
  ++server_.stats.cstp_frames_out;
  server_.stats.cstp_bytes_out += proto::kCstpHeaderSize + payload.size();
  info_.cstp_tx_bytes += proto::kCstpHeaderSize + payload.size();
  // One wolfSSL_write of at most 16 KiB + 8 is exactly one record (protocol.md §4.1).
  tls_write(frame.data(), proto::kCstpHeaderSize + payload.size());
}

void Connection::tls_write(const uint8_t* data, size_t len) {
  while (len > 0) {
    size_t chunk = std::min(len, kRecordPlaintextMax);
    if (tls_->write(data, chunk) != TlsSession::Status::kOk) {
      OCM_INFO("conn#%lu %s: TLS write failed: %s", static_cast<unsigned long>(id_), peer_.c_str(),
               tls_->last_error().c_str());
      close("TLS write failed");
      return;
    }
    data += chunk;
    len -= chunk;
  }
}

void Connection::send_response(int status, std::string_view reason,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view body, bool close_after) {
  auto all_headers = headers;
  if (close_after) {
    all_headers.emplace_back("Connection", "close");
  }
  std::string response = proto::http_response(http_minor_, status, reason, all_headers, body);
  tls_write(reinterpret_cast<const uint8_t*>(response.data()), response.size());
  flush();
  if (close_after) {
    close(status >= 400 ? "request refused" : "response sent");
  }
}

void Connection::flush() {
  auto& out = tls_->output();
  if (out.empty() || shutdown_started_) {
    return;
  }
  auto* w = new WriteReq;
  w->data.swap(out);
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(w->data.data()), static_cast<unsigned>(w->data.size()));
  w->req.data = w;
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1, [](uv_write_t* req, int status) {
    std::unique_ptr<WriteReq> owned(static_cast<WriteReq*>(req->data));
    if (status < 0 && status != UV_ECANCELED) {
      auto* conn = static_cast<Connection*>(req->handle->data);
      conn->close("write failed");
    }
  });
  if (rc != 0) {
    delete w;
    close("write failed");
  }
}

void Connection::arm_timer() {
  const auto& cfg = server_.config->server;
  Clock::time_point deadline;
  switch (phase_) {
    case Phase::kHandshake:
      deadline = accepted_at_ + cfg.handshake_timeout;
      break;
    case Phase::kHttp:
      deadline = accepted_at_ + cfg.auth_timeout;
      if (request_timer_running_) {
        deadline = std::min(deadline, request_started_at_ + cfg.request_timeout);
      }
      break;
    case Phase::kScript:  // the script's own timeout bounds the wait
    case Phase::kTunnel:
      // Tunnel liveness is checked by the server's periodic tick.
      uv_timer_stop(&timer);
      return;
    case Phase::kClosing:
      deadline = Clock::now() + kCloseGrace;
      break;
  }
  auto now = Clock::now();
  auto ms = deadline > now ? std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() : 0;
  uv_timer_start(&timer, [](uv_timer_t* t) { static_cast<Connection*>(t->data)->on_timer(); },
                 static_cast<uint64_t>(ms) + 1, 0);
}

void Connection::on_timer() {
  switch (phase_) {
    case Phase::kHandshake:
      OCM_INFO("conn#%lu %s: TLS handshake timed out", static_cast<unsigned long>(id_), peer_.c_str());
      close("handshake timeout");
      return;
    case Phase::kHttp: {
      auto now = Clock::now();
      const auto& cfg = server_.config->server;
      if (request_timer_running_ && now >= request_started_at_ + cfg.request_timeout) {
        OCM_INFO("conn#%lu %s: request not completed in time", static_cast<unsigned long>(id_), peer_.c_str());
        close("request timeout");
      } else if (now >= accepted_at_ + cfg.auth_timeout) {
        OCM_INFO("conn#%lu %s: no tunnel within auth_timeout", static_cast<unsigned long>(id_), peer_.c_str());
        close("auth timeout");
      } else {
        arm_timer();
      }
      return;
    }
    case Phase::kScript:
    case Phase::kTunnel:
      return;
    case Phase::kClosing:
      // The peer did not take our last bytes in time: cut the connection.
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp), on_handle_closed);
      }
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&timer), on_handle_closed);
      }
      return;
  }
}

void Connection::check_tunnel(Clock::time_point now) {
  const auto& sess = server_.config->session;
  if (dtls_hs_ != nullptr && dtls_hs_->state() == DtlsHandshake::State::kWantRead &&
      now - dtls_last_flight_ >= dtls_hs_->retransmit_timeout()) {
    dtls_hs_->on_timeout();
    send_dtls_flights();
    if (dtls_hs_->state() == DtlsHandshake::State::kError) {
      ++server_.stats.dtls_handshake_failures;
      OCM_INFO("conn#%lu %s: DTLS handshake gave up: %s", static_cast<unsigned long>(id_), peer_.c_str(),
               dtls_hs_->error().c_str());
      server_.dtls_pending.erase(dtls_peer_);
      dtls_hs_.reset();
    }
  }
  auto view = server_.data_plane->session_view(route_index_);
  // Activation zeroes last_rx_ns, so a non-zero value is a record under this attempt's keys.
  if (dtls_hs_ != nullptr &&
      dtls_handshake_disposable(dtls_hs_->state(), dtls_installed_, view.last_rx_ns != 0, now - dtls_done_at_)) {
    dtls_hs_.reset();
    server_.heap_trimmer.on_release();
  }
  if (view.state == datapath::SessionState::kDtlsActive && sess.dpd.count() > 0) {
    // Records: the pipeline's timestamps (uv_hrtime). Activation zeroes last_rx_ns: until the
    // first record, silence counts from when the keys went in, not from the clock's epoch.
    const Clock::duration silent =
        view.last_rx_ns != 0 ? std::chrono::nanoseconds(Server::Impl::now_ns() - view.last_rx_ns) : now - dtls_done_at_;
    if (silent > 3 * sess.dpd) {
      // UDP went quiet: send downstream over CSTP until a DTLS record shows up again.
      OCM_INFO("conn#%lu %s: no DTLS traffic for %llds, using CSTP", static_cast<unsigned long>(id_), peer_.c_str(),
               static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(silent).count()));
      (void)server_.data_plane->mark_dtls_inactive(route_index_);
      dtls_dpd_outstanding_ = false;
    } else if (silent > 2 * sess.dpd && !dtls_dpd_outstanding_) {
      static constexpr uint8_t kDpdRequest[] = {static_cast<uint8_t>(proto::CstpType::kDpdRequest)};
      dtls_dpd_outstanding_ = server_.data_plane->send_payload(route_index_, kDpdRequest, Server::Impl::now_ns());
    } else if (silent <= 2 * sess.dpd) {
      dtls_dpd_outstanding_ = false;
    }
  }
  if (sess.dpd.count() > 0) {
    auto silent = now - last_rx_;
    if (silent > 3 * sess.dpd) {
      OCM_INFO("conn#%lu %s: DPD timeout", static_cast<unsigned long>(id_), peer_.c_str());
      close("DPD timeout");
      return;
    }
    if (silent > 2 * sess.dpd && !dpd_outstanding_) {
      dpd_outstanding_ = true;
      send_frame(proto::CstpType::kDpdRequest, {});
      flush();
    }
  }
  const auto idle_timeout = user_config_.idle_timeout.value_or(sess.idle_timeout);
  const auto session_timeout = user_config_.session_timeout.value_or(sess.session_timeout);
  if (idle_timeout.count() > 0 && now - last_data_ > idle_timeout) {
    OCM_INFO("conn#%lu %s: idle timeout", static_cast<unsigned long>(id_), peer_.c_str());
    ++server_.stats.idle_timeouts;
    disconnect("idle timeout", SessionFate::kKeep);
    return;
  }
  // ocserv's session-timeout: the login is over, the cookie with it (the client must log in again).
  if (session_timeout.count() > 0) {
    const session::Session* s = server_.sessions.find_id(session_id_);
    if (s != nullptr && now - s->created >= session_timeout) {
      OCM_INFO("conn#%lu %s: session timeout (%llds)", static_cast<unsigned long>(id_), peer_.c_str(),
               static_cast<long long>(session_timeout.count()));
      ++server_.stats.session_timeouts;
      disconnect_telling_client("session timeout", SessionFate::kRemove);
      return;
    }
  }
  if (sess.quota_bytes > 0) {
    // Inner bytes both ways on both channels: DTLS record plaintext from the data plane, CSTP
    // frames here. Checked once per tick, so a fast client overshoots by at most a second.
    uint64_t used = view.counters.rx_bytes + view.counters.tx_bytes + info_.cstp_rx_bytes + info_.cstp_tx_bytes;
    if (used > sess.quota_bytes) {
      OCM_INFO("conn#%lu %s: quota exceeded (%llu of %llu bytes)", static_cast<unsigned long>(id_), peer_.c_str(),
               static_cast<unsigned long long>(used), static_cast<unsigned long long>(sess.quota_bytes));
      ++server_.stats.quota_disconnects;
      // The cookie goes too: reconnecting with it must not start a fresh quota.
      disconnect_telling_client("quota exceeded", SessionFate::kRemove);
      return;
    }
  }
}

void Connection::disconnect_telling_client(const char* reason, SessionFate fate) {
  if (phase_ == Phase::kTunnel) {
    // openconnect prints a DISCONNECT payload as "Received server disconnect: <code> '<text>'";
    // the code byte is ours (0xb0 would claim a user logout, so a distinct server code).
    std::string payload(1, static_cast<char>(kServerDisconnectCode));
    payload += reason;
    send_frame(proto::CstpType::kDisconnect,
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
    flush();
  }
  close(reason, fate);
}

void Connection::disconnect(const char* reason, SessionFate fate) {
  if (phase_ == Phase::kTunnel) {
    send_frame(proto::CstpType::kDisconnect, {});
    flush();
  }
  close(reason, fate);
}

void Connection::set_rekey(proto::TunnelReply& reply) const {
  const auto& sess = server_.config->session;
  if (sess.rekey_time.count() <= 0) {
    return;
  }
  auto seconds = static_cast<uint32_t>(std::min<int64_t>(sess.rekey_time.count(), UINT32_MAX - 64));
  if (seconds > 30) {
    // As ocserv: +-29 s of jitter, so that clients that connected together do not all rekey in
    // the same second.
    auto noise = session::random_cookie();
    seconds = seconds - 29 + noise[0] % 59;
  }
  reply.rekey_seconds = seconds;
  // TLS 1.3 renews keys with KeyUpdate, which wolfSSL answers in place; TLS 1.2 would need a
  // renegotiation, which this wolfSSL build lacks (openconnect would fall back to a new tunnel
  // after a failed attempt; telling it up front saves the failure).
  bool in_place = sess.rekey_method == config::RekeyMethod::kSsl && tls_->version() == "TLSv1.3";
  reply.rekey_method = in_place ? "ssl" : "new-tunnel";
}

bool Connection::prepare_dtls(const proto::TunnelRequest& request, proto::TunnelReply& reply, uint32_t& overhead) {
  const auto& cfg = *server_.config;
  if (!cfg.dtls.enabled) {
    return false;
  }
  proto::DtlsPolicy policy;
  policy.allow_psk = cfg.dtls.mode != config::DtlsMode::kLegacy;
  policy.allow_legacy = cfg.dtls.mode != config::DtlsMode::kPsk;
  // Resumption gives AES-GCM; PSK-NEGOTIATE only ChaCha20 with this wolfSSL (feasibility.md §5).
  policy.prefer_legacy = cfg.dtls.mode != config::DtlsMode::kPsk;
  auto choice = proto::choose_dtls(request.dtls_ciphersuites, request.dtls12_ciphersuites,
                                   request.dtls_master_secret.has_value(), policy);
  if (choice.mode == proto::DtlsMode::kNone) {
    return false;
  }
  // A fresh id on every CONNECT (ocserv does the same): it names this tunnel's DTLS session.
  dtls_id_ = session::random_cookie();
  if (choice.mode == proto::DtlsMode::kPsk) {
    if (!tls_->export_keying_material("EXPORTER-openconnect-psk", dtls_psk_)) {
      OCM_WARN("conn#%lu: TLS exporter failed; not offering DTLS", static_cast<unsigned long>(id_));
      return false;
    }
    dtls_mode_ = DtlsMode::kPsk;
    overhead = 30;  // 13 header + 16 tag + 1 payload type (ChaCha20-Poly1305)
  } else {
    dtls_master_ = *request.dtls_master_secret;
    dtls_suite_ = choice.suite;
    dtls_mode_ = DtlsMode::kLegacy;
    overhead = 38;  // 13 header + 8 explicit nonce + 16 tag + 1 payload type (AES-GCM)
  }
  proto::TunnelReply::Dtls offer;
  offer.port = cfg.server.dtls_port;
  offer.psk = dtls_mode_ == DtlsMode::kPsk;
  offer.id_hex = hex_encode(dtls_id_);
  offer.suite_from_dtls12 = choice.from_dtls12;
  offer.suite = std::string(choice.reply_name);
  reply.dtls = std::move(offer);
  return true;
}

void Connection::on_dtls_datagram(const datapath::Peer& peer, std::span<const uint8_t> datagram, bool client_hello) {
  if (phase_ != Phase::kTunnel || dtls_mode_ == DtlsMode::kNone) {
    return;
  }
  bool same_attempt = dtls_hs_ != nullptr && peer == dtls_peer_ && dtls_hs_->state() == DtlsHandshake::State::kWantRead;
  // A ClientHello starts a new DTLS session unless it continues the attempt in progress from the
  // same peer (the retry after our HelloVerifyRequest, or a retransmission).
  if (client_hello && !same_attempt) {
    if (auto it = server_.dtls_pending.find(dtls_peer_); it != server_.dtls_pending.end() && it->second == this) {
      server_.dtls_pending.erase(it);
    }
    Result<std::unique_ptr<DtlsHandshake>> created =
        dtls_mode_ == DtlsMode::kPsk ? DtlsHandshake::psk(server_.dtls_server, dtls_psk_)
                                     : DtlsHandshake::resume(dtls_master_, dtls_id_, dtls_suite_);
    if (!created) {
      OCM_WARN("conn#%lu: cannot start DTLS handshake: %s", static_cast<unsigned long>(id_),
               created.error().message.c_str());
      return;
    }
    dtls_hs_ = std::move(created).value();
    dtls_installed_ = false;
    dtls_peer_ = peer;
    server_.dtls_pending[peer] = this;
  } else if (dtls_hs_ == nullptr || peer != dtls_peer_) {
    // Later flights belong to the attempt's own peer; anything else (a stray or forged alert
    // from another port of the same client) must not disturb it.
    return;
  }
  dtls_hs_->push_datagram(datagram);
  auto state = dtls_hs_->step();
  send_dtls_flights();
  if (state == DtlsHandshake::State::kError) {
    ++server_.stats.dtls_handshake_failures;
    OCM_INFO("conn#%lu %s: DTLS handshake failed: %s", static_cast<unsigned long>(id_), peer_.c_str(),
             dtls_hs_->error().c_str());
    server_.dtls_pending.erase(dtls_peer_);
    dtls_hs_.reset();
    return;
  }
  if (state == DtlsHandshake::State::kDone && !dtls_installed_) {
    dtls_installed_ = true;
    dtls_done_at_ = Clock::now();
    dtls_established();
  }
}

void Connection::send_dtls_flights() {
  for (const auto& datagram : dtls_hs_->outgoing()) {
    server_.data_plane->send_datagram(dtls_peer_, datagram);
  }
  if (!dtls_hs_->outgoing().empty()) {
    dtls_last_flight_ = Clock::now();
  }
  dtls_hs_->outgoing().clear();
}

void Connection::dtls_established() {
  server_.dtls_pending.erase(dtls_peer_);
  auto keys = dtls_hs_->keys();
  if (!keys) {
    ++server_.stats.dtls_handshake_failures;
    OCM_WARN("conn#%lu: DTLS keys unavailable: %s", static_cast<unsigned long>(id_), keys.error().message.c_str());
    return;
  }
  crypto::AeadAlgo algo = keys->bulk == DtlsBulk::kAes128Gcm   ? crypto::AeadAlgo::kAes128Gcm
                          : keys->bulk == DtlsBulk::kAes256Gcm ? crypto::AeadAlgo::kAes256Gcm
                                                               : crypto::AeadAlgo::kChaCha20Poly1305;
  auto& engine = server_.data_plane->key_engine();
  auto rx = crypto::AeadKey::create(engine, algo, keys->client_key(), keys->client_iv());
  auto tx = crypto::AeadKey::create(engine, algo, keys->server_key(), keys->server_iv());
  if (!rx || !tx) {
    ++server_.stats.dtls_handshake_failures;
    OCM_WARN("conn#%lu: cannot expand DTLS keys", static_cast<unsigned long>(id_));
    return;
  }
  auto activated = server_.data_plane->activate_dtls(route_index_, address_, dtls_peer_, *rx, *tx,
                                                                keys->epoch, keys->server_next_seq);
  if (!activated) {
    ++server_.stats.dtls_handshake_failures;
    OCM_WARN("conn#%lu: data plane refused DTLS keys: %s", static_cast<unsigned long>(id_),
             activated.error().message.c_str());
    return;
  }
  ++server_.stats.dtls_handshakes_ok;
  info_.dtls_cipher = keys->suite;
  dtls_dpd_outstanding_ = false;
  OCM_INFO("conn#%lu %s: DTLS established with %s port %u (%s)", static_cast<unsigned long>(id_), peer_.c_str(),
           dtls_peer_.addr.is_v4() ? format_ipv4(dtls_peer_.addr.v4_host()).c_str() : "IPv6", dtls_peer_.port,
           keys->suite.c_str());
}

void Connection::on_dtls_disconnect(std::span<const uint8_t> payload) {
  if (phase_ != Phase::kTunnel) {
    return;
  }
  if (!payload.empty() && payload[0] == proto::kDisconnectUserLogout) {
    close("client logged out (DTLS)", SessionFate::kLogout);
  } else {
    close("client disconnected (DTLS)");
  }
}

Connection::~Connection() = default;

void Connection::end_tunnel(SessionFate fate) {
  server_.route[route_index_] = nullptr;
  server_.data_plane->release(route_index_);
  if (dtls_mode_ != DtlsMode::kNone) {
    if (auto it = server_.dtls_ids.find(dtls_id_); it != server_.dtls_ids.end() && it->second == this) {
      server_.dtls_ids.erase(it);
    }
    if (auto it = server_.dtls_pending.find(dtls_peer_); it != server_.dtls_pending.end() && it->second == this) {
      server_.dtls_pending.erase(it);
    }
    dtls_hs_.reset();
    secure_zero(dtls_psk_.data(), dtls_psk_.size());
    secure_zero(dtls_master_.data(), dtls_master_.size());
  }
  auto owner = server_.tunnel_owner.find(session_id_);
  if (owner != server_.tunnel_owner.end() && owner->second == this) {
    server_.tunnel_owner.erase(owner);
  }
  session::Session* s = server_.sessions.find_id(session_id_);
  if (s == nullptr) {
    return;
  }
  switch (fate) {
    case SessionFate::kKeep:
      server_.sessions.detach(*s, Clock::now());
      break;
    case SessionFate::kRemove:
      server_.sessions.remove(session_id_);
      break;
    case SessionFate::kLogout:
      if (server_.config->session.persistent_cookies) {
        server_.sessions.detach_after_logout(*s, Clock::now());
      } else {
        server_.sessions.remove(session_id_);
      }
      break;
    case SessionFate::kHandOver:
      break;
  }
}

void Connection::close(const char* reason, SessionFate fate) {
  if (phase_ == Phase::kClosing) {
    return;
  }
  if (phase_ == Phase::kTunnel) {
    server_.on_tunnel_down(*this, reason);
    end_tunnel(fate);
    OCM_INFO("conn#%lu %s: tunnel closed: %s", static_cast<unsigned long>(id_), peer_.c_str(), reason);
  } else if (phase_ == Phase::kScript) {
    // The session was never attached; it stays as it was (cookie valid until it expires).
    server_.cancel_connect_script(script_job_);
    script_job_ = 0;
    OCM_INFO("conn#%lu %s: client left while its connect script ran: %s", static_cast<unsigned long>(id_),
             peer_.c_str(), reason);
  } else {
    OCM_DEBUG("conn#%lu %s: closing: %s", static_cast<unsigned long>(id_), peer_.c_str(), reason);
  }
  phase_ = Phase::kClosing;
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp))) {
    return;
  }
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
  tls_->shutdown();
  flush();
  shutdown_started_ = true;
  // Let queued bytes (a final response, a DISCONNECT frame) drain, then close; the timer
  // cuts a peer that never reads.
  arm_timer();
  auto* req = new uv_shutdown_t;
  int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp), [](uv_shutdown_t* r, int) {
    auto* conn = static_cast<Connection*>(r->handle->data);
    delete r;
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&conn->tcp))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp), on_handle_closed);
    }
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&conn->timer))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&conn->timer), on_handle_closed);
    }
  });
  if (rc != 0) {
    delete req;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), on_handle_closed);
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&timer), on_handle_closed);
    }
  }
}

}  // namespace ocm::ctrl
