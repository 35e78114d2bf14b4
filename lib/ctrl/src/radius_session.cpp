#include "radius_session.hpp"

#include <cstdio>
#include <random>

#include "ocm/base/bytes.hpp"
#include "ocm/base/log.hpp"

namespace ocm::ctrl {
namespace {

struct AuthWork {
  uv_work_t req{};
  std::shared_ptr<auth::RadiusClient> client;
  auth::RadiusAuthRequest request;
  auth::RadiusAuthOutcome outcome;
  std::function<void(auth::RadiusAuthOutcome)> done;
};

struct AcctWork {
  uv_work_t req{};
  std::shared_ptr<auth::RadiusClient> client;
  auth::RadiusAcctRecord record;
  Status result;
};

const char* status_name(auth::AcctStatus s) {
  switch (s) {
    case auth::AcctStatus::kStart:
      return "Start";
    case auth::AcctStatus::kStop:
      return "Stop";
    case auth::AcctStatus::kInterimUpdate:
      return "Interim-Update";
  }
  return "?";
}

uint32_t seconds_between(RadiusSessions::Clock::time_point a, RadiusSessions::Clock::time_point b) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(b - a).count();
  return s <= 0 ? 0U : static_cast<uint32_t>(s);
}

}  // namespace

auth::TerminateCause terminate_cause_for(std::string_view reason) noexcept {
  using auth::TerminateCause;
  if (reason.starts_with("client logged out")) {
    return TerminateCause::kUserRequest;
  }
  if (reason == "idle timeout") {
    return TerminateCause::kIdleTimeout;
  }
  if (reason == "session timeout") {
    return TerminateCause::kSessionTimeout;
  }
  if (reason.find("by the administrator") != std::string_view::npos) {
    return TerminateCause::kAdminReset;
  }
  if (reason == "server shutting down" || reason == "quota exceeded") {
    return TerminateCause::kNasRequest;
  }
  return TerminateCause::kLostCarrier;
}

void apply_radius_attributes(const auth::RadiusAuthOutcome& accept, config::UserConfig& uc,
                             const std::function<bool(uint32_t)>& in_pool) {
  if (accept.framed_ipv4 && !uc.explicit_ipv4) {
    if (in_pool(*accept.framed_ipv4)) {
      uc.explicit_ipv4 = accept.framed_ipv4;
    } else {
      OCM_WARN("radius: Framed-IP-Address %u.%u.%u.%u is outside the address pool; leasing from the pool",
               *accept.framed_ipv4 >> 24, (*accept.framed_ipv4 >> 16) & 0xff, (*accept.framed_ipv4 >> 8) & 0xff,
               *accept.framed_ipv4 & 0xff);
    }
  }
  if (accept.session_timeout_s != 0 && !uc.session_timeout) {
    uc.session_timeout = std::chrono::seconds(accept.session_timeout_s);
  }
  if (accept.idle_timeout_s != 0 && !uc.idle_timeout) {
    uc.idle_timeout = std::chrono::seconds(accept.idle_timeout_s);
  }
}

RadiusSessions::RadiusSessions(uv_loop_t* loop, std::shared_ptr<auth::RadiusClient> client,
                               const config::RadiusConfig& cfg, OctetsOf octets_of)
    : loop_(loop),
      client_(std::move(client)),
      accounting_(cfg.accounting),
      interim_(cfg.acct_interim_interval_s),
      octets_of_(std::move(octets_of)) {
  // Not a secret: only keeps Acct-Session-Ids of two server runs apart in the RADIUS logs.
  std::random_device rd;
  id_prefix_ = rd();
}

std::string RadiusSessions::new_acct_session_id() {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08X%08X", id_prefix_, next_id_++);
  return buf;
}

void RadiusSessions::authenticate(auth::RadiusAuthRequest request, std::function<void(auth::RadiusAuthOutcome)> done) {
  auto* work = new AuthWork;
  work->req.data = work;
  work->client = client_;
  work->request = std::move(request);
  work->done = std::move(done);
  uv_queue_work(
      loop_, &work->req,
      [](uv_work_t* req) {
        auto* w = static_cast<AuthWork*>(req->data);
        w->outcome = w->client->authenticate(w->request);  // zeroes the password
      },
      [](uv_work_t* req, int status) {
        std::unique_ptr<AuthWork> w(static_cast<AuthWork*>(req->data));
        secure_zero(w->request.password.data(), w->request.password.size());
        if (status != 0) {
          w->outcome = auth::RadiusAuthOutcome{};
          w->outcome.reason = "cancelled";
        }
        w->done(std::move(w->outcome));
      });
}

void RadiusSessions::logged_in(uint32_t session_id, std::string username, std::string acct_session_id,
                               const auth::RadiusAuthOutcome* outcome) {
  Entry e;
  e.username = std::move(username);
  e.acct_session_id = std::move(acct_session_id);
  if (outcome != nullptr) {
    e.accept = *outcome;
  }
  entries_[session_id] = std::move(e);
}

const auth::RadiusAuthOutcome* RadiusSessions::accept_of(uint32_t session_id) const {
  auto it = entries_.find(session_id);
  return it == entries_.end() || !it->second.accept ? nullptr : &*it->second.accept;
}

const std::string* RadiusSessions::acct_session_id(uint32_t session_id) const {
  auto it = entries_.find(session_id);
  return it == entries_.end() ? nullptr : &it->second.acct_session_id;
}

std::chrono::seconds RadiusSessions::interim_of(const Entry& e) const {
  // The server's Acct-Interim-Interval wins over the config (ocserv, README-radius.md).
  if (e.accept && e.accept->acct_interim_interval_s != 0) {
    return std::chrono::seconds(e.accept->acct_interim_interval_s);
  }
  return interim_;
}

RadiusSessions::Octets RadiusSessions::total(const Entry& e) const {
  Octets t = e.done;
  if (e.conn != nullptr) {
    Octets now = octets_of_(*e.conn);
    // A counter below its baseline was reset under us (slot reused): count it from zero.
    t.in += now.in >= e.baseline.in ? now.in - e.baseline.in : now.in;
    t.out += now.out >= e.baseline.out ? now.out - e.baseline.out : now.out;
  }
  return t;
}

void RadiusSessions::tunnel_up(const Connection& conn, uint32_t session_id, std::string calling_station,
                               uint32_t ipv4) {
  auto it = entries_.find(session_id);
  if (it == entries_.end()) {
    return;
  }
  Entry& e = it->second;
  e.conn = &conn;
  e.baseline = octets_of_(conn);
  e.calling_station = std::move(calling_station);
  e.ipv4 = ipv4;
  auto now = Clock::now();
  if (!e.started) {
    // One Start per cookie session: a reconnect continues the same accounting session.
    e.started = true;
    e.start = now;
    send(e, auth::AcctStatus::kStart, now);
  }
  if (auto every = interim_of(e); every.count() > 0) {
    e.next_interim = now + every;
  }
}

void RadiusSessions::tunnel_down(const Connection& conn, uint32_t session_id, const char* reason) {
  auto it = entries_.find(session_id);
  if (it == entries_.end() || it->second.conn != &conn) {
    return;
  }
  Entry& e = it->second;
  e.done = total(e);
  e.conn = nullptr;
  e.last_cause = terminate_cause_for(reason);
}

void RadiusSessions::on_tick(Clock::time_point now, session::SessionTable& sessions) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (sessions.find_id(it->first) == nullptr) {
      // The session is over (logout, admin, cookie expiry): its accounting session too.
      if (e.started) {
        if (e.conn != nullptr) {  // cannot happen (tunnel_down runs first); counted anyway
          e.done = total(e);
          e.conn = nullptr;
        }
        send(e, auth::AcctStatus::kStop, now);
      }
      it = entries_.erase(it);
      continue;
    }
    if (e.conn != nullptr && interim_of(e).count() > 0 && now >= e.next_interim) {
      send(e, auth::AcctStatus::kInterimUpdate, now);
      e.next_interim = now + interim_of(e);
    }
    ++it;
  }
}

void RadiusSessions::stop_all(Clock::time_point now) {
  for (auto& [id, e] : entries_) {
    if (!e.started) {
      continue;
    }
    if (e.conn != nullptr) {  // tunnels are ended before this; a detached session has no conn
      e.done = total(e);
      e.conn = nullptr;
    }
    // Detached sessions too: they end because the server does.
    e.last_cause = auth::TerminateCause::kNasRequest;
    send(e, auth::AcctStatus::kStop, now);
  }
  entries_.clear();
}

void RadiusSessions::send(const Entry& e, auth::AcctStatus status, Clock::time_point now) {
  if (!accounting_) {
    return;
  }
  auto* work = new AcctWork;
  work->req.data = work;
  work->client = client_;
  auto& r = work->record;
  r.status = status;
  r.username = e.username;
  r.acct_session_id = e.acct_session_id;
  r.calling_station = e.calling_station;
  r.framed_ipv4 = e.ipv4;
  Octets t = total(e);
  r.input_octets = t.in;
  r.output_octets = t.out;
  r.session_time_s = seconds_between(e.start, now);
  if (status == auth::AcctStatus::kStop) {
    r.terminate_cause = e.last_cause;
  }
  OCM_DEBUG("radius: Accounting %s for '%s' (%s): in %llu, out %llu", status_name(status), e.username.c_str(),
            e.acct_session_id.c_str(), static_cast<unsigned long long>(t.in), static_cast<unsigned long long>(t.out));
  uv_queue_work(
      loop_, &work->req,
      [](uv_work_t* req) {
        auto* w = static_cast<AcctWork*>(req->data);
        w->result = w->client->account(w->record);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<AcctWork> w(static_cast<AcctWork*>(req->data));
        if (!w->result) {
          OCM_WARN("radius: Accounting %s for '%s' (%s) failed: %s", status_name(w->record.status),
                   w->record.username.c_str(), w->record.acct_session_id.c_str(), w->result.error().message.c_str());
        }
      });
}

}  // namespace ocm::ctrl
