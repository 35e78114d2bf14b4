#include "ocm/auth/radius.hpp"

#include <arpa/inet.h>
#include <radcli/radcli.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "ocm/base/bytes.hpp"

namespace ocm::auth {
namespace {

// RFC 2865 §5.41 NAS-Port-Type "Virtual": a VPN has no physical port.
constexpr uint32_t kNasPortTypeVirtual = 5;
// RFC 2866 §5.6 Acct-Authentic "RADIUS".
constexpr uint32_t kAcctAuthenticRadius = 1;
// Group names become per-group config file names and ocmctl output (as client_cert.cpp).
constexpr size_t kMaxGroupName = 64;

bool usable_group(std::string_view g) {
  if (g.empty() || g.size() > kMaxGroupName || g == "." || g == "..") {
    return false;
  }
  return std::none_of(g.begin(), g.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '/';
  });
}

struct PairList {
  VALUE_PAIR* head = nullptr;
  PairList() = default;
  PairList(const PairList&) = delete;
  PairList& operator=(const PairList&) = delete;
  ~PairList() {
    if (head != nullptr) {
      rc_avpair_free(head);
    }
  }
};

bool add_string(rc_handle* rh, PairList& list, int attr, std::string_view value) {
  return rc_avpair_add(rh, &list.head, attr, value.data(), static_cast<int>(value.size()), 0) != nullptr;
}

bool add_u32(rc_handle* rh, PairList& list, int attr, uint32_t value) {
  return rc_avpair_add(rh, &list.head, attr, &value, 0, 0) != nullptr;
}

const char* rc_status(int rc) {
  switch (rc) {
    case OK_RC:
      return "accepted";
    case REJECT_RC:
      return "rejected";
    case TIMEOUT_RC:
      return "no answer from any RADIUS server";
    case BADRESP_RC:
      return "bad response (wrong shared secret?)";
    case BADRESPID_RC:
      return "response with a wrong id";
    default:
      return "radcli error";
  }
}

}  // namespace

std::vector<std::string> groups_from_class(std::string_view value) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view g) {
    if (usable_group(g) && std::find(out.begin(), out.end(), g) == out.end()) {
      out.emplace_back(g);
    }
  };
  if (!value.starts_with("OU=")) {
    add(value);
    return out;
  }
  value.remove_prefix(3);
  while (!value.empty()) {
    size_t semi = value.find(';');
    add(value.substr(0, semi));
    if (semi == std::string_view::npos) {
      break;
    }
    value.remove_prefix(semi + 1);
  }
  return out;
}

OctetSplit split_octets(uint64_t value) noexcept {
  return OctetSplit{static_cast<uint32_t>(value & 0xffffffffU), static_cast<uint32_t>(value >> 32)};
}

std::string radcli_server_list(const std::vector<config::RadiusServer>& servers,
                               const std::vector<config::RadiusServer>& fallback, std::string_view secret) {
  std::string out;
  auto add = [&](const std::string& host, uint32_t port) {
    out += out.empty() ? "" : ",";
    out += host + ":" + std::to_string(port) + ":" + std::string(secret);
  };
  if (!servers.empty()) {
    for (const auto& s : servers) {
      add(s.host, s.port);
    }
  } else {
    for (const auto& s : fallback) {
      add(s.host, s.port == 65535 ? s.port : s.port + 1U);
    }
  }
  return out;
}

struct RadiusClient::Handle {
  rc_handle* rh = nullptr;
  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (rh != nullptr) {
      rc_destroy(rh);
    }
  }
};

Result<std::unique_ptr<RadiusClient>> RadiusClient::create(const config::RadiusConfig& cfg) {
  std::unique_ptr<RadiusClient> client(new RadiusClient(cfg));
  auto handle = client->make_handle();
  if (!handle) {
    return handle.error();
  }
  client->idle_.push_back(std::move(handle).value());
  return client;
}

RadiusClient::RadiusClient(config::RadiusConfig cfg) : cfg_(std::move(cfg)) {}

RadiusClient::~RadiusClient() { secure_zero(cfg_.secret.data(), cfg_.secret.size()); }

Result<std::unique_ptr<RadiusClient::Handle>> RadiusClient::make_handle() const {
  auto h = std::make_unique<Handle>();
  if (!cfg_.config.empty()) {
    h->rh = rc_read_config(cfg_.config.c_str());
    if (h->rh == nullptr) {
      return make_error("radius: cannot read radcli config " + cfg_.config);
    }
  } else {
    h->rh = rc_new();
    if (h->rh == nullptr || rc_config_init(h->rh) == nullptr) {
      h->rh = nullptr;  // rc_config_init frees the handle on failure
      return make_error("radius: radcli initialisation failed");
    }
    std::string auth = radcli_server_list(cfg_.servers, {}, cfg_.secret);
    std::string acct = radcli_server_list(cfg_.acct_servers, cfg_.servers, cfg_.secret);
    const std::pair<const char*, std::string> options[] = {
        {"authserver", auth},
        {"acctserver", acct},
        {"dictionary", cfg_.dictionary},
        {"radius_timeout", std::to_string(cfg_.timeout_s)},
        {"radius_retries", std::to_string(cfg_.retries)},
        // A dead server is skipped for this long; 0 keeps trying every server on every request.
        {"radius_deadtime", "0"},
        {"bindaddr", "*"},
    };
    for (const auto& [name, value] : options) {
      if (rc_add_config(h->rh, name, value.c_str(), "ocserv-modern", 0) != 0) {
        return make_error(std::string("radius: radcli refused option ") + name);
      }
    }
    secure_zero(auth.data(), auth.size());
    secure_zero(acct.data(), acct.size());
    if (rc_apply_config(h->rh) != 0) {
      return make_error("radius: radcli refused the configuration");
    }
  }
  const char* dictionary = rc_conf_str(h->rh, "dictionary");
  if (dictionary == nullptr || rc_read_dictionary(h->rh, dictionary) != 0) {
    return make_error(std::string("radius: cannot read dictionary ") + (dictionary ? dictionary : "(none)"));
  }
  return h;
}

std::unique_ptr<RadiusClient::Handle> RadiusClient::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = make_handle();
  return h ? std::move(h).value() : nullptr;
}

void RadiusClient::give_back(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(handle));
}

RadiusAuthOutcome RadiusClient::authenticate(RadiusAuthRequest& request) {
  RadiusAuthOutcome out;
  auto handle = acquire();
  if (handle == nullptr) {
    secure_zero(request.password.data(), request.password.size());
    out.reason = "radcli handle unavailable";
    return out;
  }
  rc_handle* rh = handle->rh;
  PairList send;
  bool built = add_string(rh, send, PW_USER_NAME, request.username) &&
               add_string(rh, send, PW_USER_PASSWORD, request.password) &&
               add_string(rh, send, PW_NAS_IDENTIFIER, cfg_.nas_identifier) &&
               add_u32(rh, send, PW_NAS_PORT_TYPE, kNasPortTypeVirtual) &&
               add_u32(rh, send, PW_SERVICE_TYPE, PW_FRAMED) &&
               (request.calling_station.empty() ||
                add_string(rh, send, PW_CALLING_STATION_ID, request.calling_station)) &&
               (request.acct_session_id.empty() || add_string(rh, send, PW_ACCT_SESSION_ID, request.acct_session_id));
  secure_zero(request.password.data(), request.password.size());
  if (!built) {
    out.reason = "cannot build the Access-Request (dictionary lacks an attribute?)";
    give_back(std::move(handle));
    return out;
  }
  PairList received;
  std::array<char, PW_MAX_MSG_SIZE> msg{};
  int rc = rc_auth(rh, 0, send.head, &received.head, msg.data());
  give_back(std::move(handle));
  if (rc == REJECT_RC) {
    out.verdict = RadiusAuthOutcome::Verdict::kReject;
    out.reason = rc_status(rc);
    return out;
  }
  if (rc != OK_RC) {
    out.reason = rc_status(rc);
    return out;
  }
  out.verdict = RadiusAuthOutcome::Verdict::kAccept;
  for (VALUE_PAIR* vp = received.head; vp != nullptr; vp = rc_avpair_next(vp)) {
    unsigned type = 0;
    unsigned id = 0;
    rc_avpair_get_attr(vp, &type, &id);
    if (VENDOR(id) != 0) {
      continue;
    }
    uint32_t number = 0;
    switch (ATTRID(id)) {
      case PW_FRAMED_IP_ADDRESS:
        // radcli keeps ipaddr values in host order; 255.255.255.254 / .255 mean "NAS picks"
        // (RFC 2865 §5.8): the pool decides then.
        if (rc_avpair_get_uint32(vp, &number) == 0 && number != 0xfffffffeU && number != 0xffffffffU) {
          out.framed_ipv4 = number;
        }
        break;
      case PW_CLASS: {
        char* raw = nullptr;
        unsigned size = 0;
        if (rc_avpair_get_raw(vp, &raw, &size) == 0 && raw != nullptr) {
          for (auto& g : groups_from_class(std::string_view(raw, size))) {
            if (std::find(out.groups.begin(), out.groups.end(), g) == out.groups.end()) {
              out.groups.push_back(std::move(g));
            }
          }
        }
        break;
      }
      case PW_SESSION_TIMEOUT:
        if (rc_avpair_get_uint32(vp, &number) == 0) {
          out.session_timeout_s = number;
        }
        break;
      case PW_IDLE_TIMEOUT:
        if (rc_avpair_get_uint32(vp, &number) == 0) {
          out.idle_timeout_s = number;
        }
        break;
      case PW_ACCT_INTERIM_INTERVAL:
        if (rc_avpair_get_uint32(vp, &number) == 0) {
          out.acct_interim_interval_s = number;
        }
        break;
      default:
        break;
    }
  }
  return out;
}

Status RadiusClient::account(const RadiusAcctRecord& r) {
  auto handle = acquire();
  if (handle == nullptr) {
    return make_error("radcli handle unavailable");
  }
  rc_handle* rh = handle->rh;
  PairList send;
  auto in = split_octets(r.input_octets);
  auto out = split_octets(r.output_octets);
  bool built = add_u32(rh, send, PW_ACCT_STATUS_TYPE, static_cast<uint32_t>(r.status)) &&
               add_string(rh, send, PW_USER_NAME, r.username) &&
               add_string(rh, send, PW_ACCT_SESSION_ID, r.acct_session_id) &&
               add_string(rh, send, PW_NAS_IDENTIFIER, cfg_.nas_identifier) &&
               add_u32(rh, send, PW_NAS_PORT_TYPE, kNasPortTypeVirtual) &&
               add_u32(rh, send, PW_SERVICE_TYPE, PW_FRAMED) &&
               add_u32(rh, send, PW_ACCT_AUTHENTIC, kAcctAuthenticRadius) &&
               (r.calling_station.empty() || add_string(rh, send, PW_CALLING_STATION_ID, r.calling_station)) &&
               (!r.framed_ipv4 || add_u32(rh, send, PW_FRAMED_IP_ADDRESS, *r.framed_ipv4));
  if (built && r.status != AcctStatus::kStart) {
    built = add_u32(rh, send, PW_ACCT_INPUT_OCTETS, in.octets) &&
            add_u32(rh, send, PW_ACCT_INPUT_GIGAWORDS, in.gigawords) &&
            add_u32(rh, send, PW_ACCT_OUTPUT_OCTETS, out.octets) &&
            add_u32(rh, send, PW_ACCT_OUTPUT_GIGAWORDS, out.gigawords) &&
            add_u32(rh, send, PW_ACCT_SESSION_TIME, r.session_time_s);
  }
  if (built && r.terminate_cause) {
    built = add_u32(rh, send, PW_ACCT_TERMINATE_CAUSE, static_cast<uint32_t>(*r.terminate_cause));
  }
  if (!built) {
    give_back(std::move(handle));
    return make_error("cannot build the Accounting-Request");
  }
  int rc = rc_acct(rh, 0, send.head);
  give_back(std::move(handle));
  if (rc != OK_RC) {
    return make_error(rc_status(rc));
  }
  return {};
}

}  // namespace ocm::auth
