#include "control_views.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "ocm/base/json.hpp"

namespace ocm::ctrl {
namespace {

// Columns for the text tables: values come from clients (user names, agents), so control
// characters are replaced before they reach an operator's terminal.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  return out;
}

std::string or_dash(const std::string& text) { return text.empty() ? "-" : printable(text); }

class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  [[nodiscard]] std::string render() const {
    std::vector<size_t> width(rows_[0].size(), 0);
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) {
        width[i] = std::max(width[i], row[i].size());
      }
    }
    std::string out;
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) {
        out += row[i];
        if (i + 1 < row.size()) {
          out.append(width[i] - row[i].size() + 2, ' ');
        }
      }
      out += '\n';
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

void user_fields(json::Writer& w, const UserView& u, int64_t now) {
  uint64_t rx = u.cstp_rx + u.dtls_rx;
  uint64_t tx = u.cstp_tx + u.dtls_tx;
  w.begin_object()
      .field("ID", u.id)
      .field("Username", u.username)
      .field("Groupname", u.group.empty() ? std::string("(none)") : u.group)
      .field("State", u.state)
      .field("vhost", "default")
      .field("Device", u.device)
      .field("MTU", std::to_string(u.mtu))
      .field("Remote IP", u.remote_ip)
      .field("Local Device IP", u.local_ip)
      .field("IPv4", u.ipv4)
      .field("P-t-P IPv4", u.ptp_ipv4)
      .field("User-Agent", u.user_agent)
      .field("Hostname", u.hostname)
      .field("RX", human_bytes(rx))
      .field("TX", human_bytes(tx))
      .field("raw_rx", rx)
      .field("raw_tx", tx)
      .field("raw_cstp_rx", u.cstp_rx)
      .field("raw_cstp_tx", u.cstp_tx)
      .field("raw_dtls_rx", u.dtls_rx)
      .field("raw_dtls_tx", u.dtls_tx)
      .field("DPD", std::to_string(u.dpd))
      .field("KeepAlive", std::to_string(u.keepalive))
      .field("Connected at", human_duration(now - u.connected_at))
      .field("_Connected at", format_time(u.connected_at))
      .field("raw_connected_at", u.connected_at)
      .field("Session", std::to_string(u.id))
      .field("TLS ciphersuite", u.tls_cipher)
      .field("DTLS cipher", u.dtls_cipher.empty() ? std::string("(no-dtls)") : u.dtls_cipher)
      .field("DTLS state", u.dtls_state);
  // occtl prints these only for tunnels that negotiated compression.
  if (!u.cstp_compression.empty()) {
    w.field("CSTP compression", u.cstp_compression);
  }
  if (!u.dtls_compression.empty()) {
    w.field("DTLS compression", u.dtls_compression);
  }
  w.end_object();
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
  if (bytes < 1000) {
    return std::to_string(bytes) + " bytes";
  }
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1000.0 && unit + 1 < std::size(kUnits)) {
    value /= 1000.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
  return buf;
}

std::string human_duration(int64_t seconds) {
  if (seconds < 0) {
    seconds = 0;
  }
  char buf[48];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm %llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else if (seconds < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh %lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd %lldh", static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds % 86400 / 3600));
  }
  return buf;
}

std::string format_time(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string users_json(const std::vector<UserView>& users, int64_t now) {
  json::Writer w;
  w.begin_array();
  for (const auto& u : users) {
    user_fields(w, u, now);
  }
  w.end_array();
  return w.take() + "\n";
}

std::string users_text(const std::vector<UserView>& users, int64_t now) {
  if (users.empty()) {
    return "no users connected\n";
  }
  Table t({"id", "user", "group", "remote-ip", "vpn-ip", "since", "rx", "tx", "dtls"});
  for (const auto& u : users) {
    t.add({std::to_string(u.id), or_dash(u.username), or_dash(u.group), or_dash(u.remote_ip), or_dash(u.ipv4),
           human_duration(now - u.connected_at), human_bytes(u.cstp_rx + u.dtls_rx),
           human_bytes(u.cstp_tx + u.dtls_tx), u.dtls_cipher.empty() ? "-" : printable(u.dtls_cipher)});
  }
  return t.render();
}

std::string user_details_text(const std::vector<UserView>& users, int64_t now) {
  std::string out;
  for (const auto& u : users) {
    if (!out.empty()) {
      out += '\n';
    }
    auto line = [&out](const char* key, const std::string& value) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%20s: ", key);
      out += buf;
      out += printable(value);
      out += '\n';
    };
    line("ID", std::to_string(u.id));
    line("Username", u.username);
    line("Groupname", u.group.empty() ? "(none)" : u.group);
    line("State", u.state);
    line("Device", u.device);
    line("MTU", std::to_string(u.mtu));
    line("Remote IP", u.remote_ip + ":" + std::to_string(u.remote_port));
    line("Local Device IP", u.local_ip);
    line("IPv4", u.ipv4);
    line("P-t-P IPv4", u.ptp_ipv4);
    line("User-Agent", u.user_agent);
    line("Hostname", u.hostname);
    line("RX", human_bytes(u.cstp_rx + u.dtls_rx) + " (CSTP " + human_bytes(u.cstp_rx) + ", DTLS " +
                   human_bytes(u.dtls_rx) + ")");
    line("TX", human_bytes(u.cstp_tx + u.dtls_tx) + " (CSTP " + human_bytes(u.cstp_tx) + ", DTLS " +
                   human_bytes(u.dtls_tx) + ")");
    line("DPD", std::to_string(u.dpd));
    line("KeepAlive", std::to_string(u.keepalive));
    line("Connected at", format_time(u.connected_at) + " UTC (" + human_duration(now - u.connected_at) + ")");
    line("TLS ciphersuite", u.tls_cipher);
    line("DTLS cipher", u.dtls_cipher.empty() ? "(no-dtls)" : u.dtls_cipher);
    line("DTLS state", u.dtls_state);
    if (!u.cstp_compression.empty()) {
      line("CSTP compression", u.cstp_compression);
    }
    if (!u.dtls_compression.empty()) {
      line("DTLS compression", u.dtls_compression);
    }
  }
  return out;
}

std::string sessions_json(const std::vector<SessionView>& sessions) {
  json::Writer w;
  w.begin_array();
  for (const auto& s : sessions) {
    w.begin_object()
        .field("Session", std::to_string(s.id))
        .field("Username", s.username)
        .field("Groupname", s.group.empty() ? std::string("(none)") : s.group)
        .field("In use", s.in_use)
        .field("State", s.in_use ? "active" : "detached")
        .field("IPv4", s.ipv4)
        .field("Created", format_time(s.created))
        .field("raw_created", s.created)
        .field("raw_expires_in", s.expires_in)
        .end_object();
  }
  w.end_array();
  return w.take() + "\n";
}

std::string sessions_text(const std::vector<SessionView>& sessions) {
  if (sessions.empty()) {
    return "no sessions\n";
  }
  Table t({"session", "user", "group", "state", "vpn-ip", "created", "expires-in"});
  for (const auto& s : sessions) {
    t.add({std::to_string(s.id), or_dash(s.username), or_dash(s.group), s.in_use ? "active" : "detached",
           or_dash(s.ipv4), format_time(s.created), s.in_use ? "-" : human_duration(s.expires_in)});
  }
  return t.render();
}

std::string status_json(const StatusView& s) {
  json::Writer w;
  w.begin_object()
      .field("Status", "online")
      .field("Server PID", s.pid)
      .field("Up since", format_time(s.up_since))
      .field("raw_up_since", s.up_since)
      .field("uptime", s.now - s.up_since)
      .field("Active sessions", s.active_sessions)
      .field("Total sessions", s.total_sessions)
      .field("Total authentication failures", s.auth_failures)
      .field("IPs in ban list", s.banned_ips)
      .field("Sessions handled", s.sessions_handled)
      .field("Authentication failures", s.auth_failures)
      .field("TLS handshake failures", s.tls_handshake_failures)
      .field("DTLS handshakes", s.dtls_handshakes_ok)
      .field("DTLS handshake failures", s.dtls_handshake_failures)
      .field("Connections", s.connections)
      .field("RX", human_bytes(s.rx))
      .field("TX", human_bytes(s.tx))
      .field("raw_rx", s.rx)
      .field("raw_tx", s.tx)
      .field("Datapath drops", s.datapath_drops)
      .end_object();
  return w.take() + "\n";
}

std::string status_text(const StatusView& s) {
  std::string out;
  auto line = [&out](const char* key, const std::string& value) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%30s: ", key);
    out += buf;
    out += value;
    out += '\n';
  };
  line("Status", "online");
  line("Server PID", std::to_string(s.pid));
  line("Up since", format_time(s.up_since) + " UTC (" + human_duration(s.now - s.up_since) + ")");
  line("Active sessions", std::to_string(s.active_sessions));
  line("Total sessions", std::to_string(s.total_sessions));
  line("Sessions handled", std::to_string(s.sessions_handled));
  line("Authentication failures", std::to_string(s.auth_failures));
  line("TLS handshake failures", std::to_string(s.tls_handshake_failures));
  line("DTLS handshakes (ok/failed)",
       std::to_string(s.dtls_handshakes_ok) + "/" + std::to_string(s.dtls_handshake_failures));
  line("Open connections", std::to_string(s.connections));
  line("RX", human_bytes(s.rx));
  line("TX", human_bytes(s.tx));
  line("Datapath drops", std::to_string(s.datapath_drops));
  line("IPs in ban list", std::to_string(s.banned_ips));
  return out;
}

std::string bans_json(const std::vector<BanView>& bans, int64_t now, bool points) {
  json::Writer w;
  w.begin_array();
  for (const auto& b : bans) {
    if (!points && !b.banned) {
      continue;
    }
    w.begin_object().field("IP", b.ip);
    if (!points) {
      w.field("Since", format_time(b.expires)).field("_Since", human_duration(b.expires - now));
      w.field("raw_expires", b.expires);
    }
    w.field("Score", uint64_t{b.score}).end_object();
  }
  w.end_array();
  return w.take() + "\n";
}

std::string bans_text(const std::vector<BanView>& bans, int64_t now, bool points) {
  Table t(points ? std::vector<std::string>{"IP", "score"} : std::vector<std::string>{"IP", "score", "expires"});
  size_t rows = 0;
  for (const auto& b : bans) {
    if (points) {
      t.add({b.ip, std::to_string(b.score)});
    } else if (b.banned) {
      t.add({b.ip, std::to_string(b.score), format_time(b.expires) + " UTC (in " + human_duration(b.expires - now) + ")"});
    } else {
      continue;
    }
    ++rows;
  }
  if (rows == 0) {
    return points ? "no scored IPs\n" : "no banned IPs\n";
  }
  return t.render();
}

std::string event_json(const EventView& e) {
  json::Writer w;
  w.begin_object()
      .field("Event", e.kind == EventKind::kConnect ? "connect" : "disconnect")
      .field("Time", format_time(e.time))
      .field("raw_time", e.time)
      .field("ID", e.user.id)
      .field("Username", e.user.username)
      .field("Groupname", e.user.group)
      .field("Remote IP", e.user.remote_ip)
      .field("IPv4", e.user.ipv4)
      .field("raw_rx", e.user.cstp_rx + e.user.dtls_rx)
      .field("raw_tx", e.user.cstp_tx + e.user.dtls_tx)
      .field("raw_duration", e.time - e.user.connected_at)
      .field("Reason", e.reason)
      .end_object();
  return w.take();
}

std::string event_text(const EventView& e) {
  std::string out = format_time(e.time) + " ";
  if (e.kind == EventKind::kConnect) {
    out += "connect    id " + std::to_string(e.user.id) + " user " + printable(e.user.username) + " from " +
           printable(e.user.remote_ip) + " got " + e.user.ipv4;
  } else {
    out += "disconnect id " + std::to_string(e.user.id) + " user " + printable(e.user.username) + " from " +
           printable(e.user.remote_ip) + " after " + human_duration(e.time - e.user.connected_at) + ", rx " +
           human_bytes(e.user.cstp_rx + e.user.dtls_rx) + " tx " + human_bytes(e.user.cstp_tx + e.user.dtls_tx) +
           ": " + printable(e.reason);
  }
  return out;
}

}  // namespace ocm::ctrl
