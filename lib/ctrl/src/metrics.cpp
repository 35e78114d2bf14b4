// Operations::metrics_text: the server's counters as Prometheus series. Counters are never
// reset (landscape.md §6: occtl-based exporters had to model resetting byte counts as gauges).

#include "metrics_format.hpp"
#include "ocm/datapath/drop_reason.hpp"
#include "operations.hpp"

namespace ocm::ctrl {
namespace {

constexpr std::string_view kPrefix = "ocserv_modern_";

std::string n(std::string_view suffix) { return std::string(kPrefix) + std::string(suffix); }

}  // namespace

std::string Operations::metrics_text() const {
  const auto& st = impl_.stats;
  const datapath::Counters dp = impl_.data_plane->counters();
  MetricsWriter m;

  m.gauge(n("start_time_seconds"), "Unix time the server started.", static_cast<uint64_t>(started_at_));
  m.gauge(n("active_sessions"), "Tunnels currently up (CSTP or DTLS).", impl_.tunnel_owner.size());
  uint64_t dtls_active = 0;
  for (const auto& [sid, conn] : impl_.tunnel_owner) {
    if (impl_.data_plane->session_view(conn->slot()).state == datapath::SessionState::kDtlsActive) {
      ++dtls_active;
    }
  }
  m.gauge(n("dtls_active_tunnels"), "Tunnels whose downstream currently uses DTLS.", dtls_active);
  m.gauge(n("sessions"), "Valid sessions (cookies), with or without a tunnel.", impl_.sessions.size());
  m.gauge(n("connections"), "Open TCP/TLS connections.", impl_.connections.size());

  m.counter(n("connections_accepted_total"), "TCP connections accepted.", st.connections_accepted);
  m.counter(n("connections_refused_total"), "Connections closed because max_clients was reached.",
            st.connections_refused_max_clients);
  m.counter(n("tls_handshake_failures_total"), "TLS handshakes that failed.", st.tls_handshake_failures);
  m.counter(n("auth_successes_total"), "Successful logins.", st.auth_successes);
  m.counter(n("auth_failures_total"), "Failed password checks.", st.auth_failures);
  m.counter(n("sessions_handled_total"), "Tunnels established (CONNECT accepted).", st.tunnels_opened);
  m.counter(n("sessions_closed_total"), "Tunnels that ended.", st.tunnels_closed);
  m.counter(n("connect_script_refusals_total"), "Tunnels refused by the connect script.",
            st.connect_script_refusals);
  m.counter(n("roaming_refusals_total"), "Cookies refused because they came from another address (deny_roaming).",
            st.roaming_refusals);
  m.counter(n("ban_connections_refused_total"), "Connections closed right after accept: the address is banned.",
            st.connections_refused_banned);
  m.counter(n("bans_total"), "Times a client address reached security.max_ban_score and was banned.",
            st.ips_banned);
  m.gauge(n("banned_ips"), "Client addresses banned right now.", impl_.bans.banned_count(Clock::now()));
  m.gauge(n("ban_table_entries"), "Client addresses with a ban score (bounded table).", impl_.bans.size());
  m.family(n("tunnels_ended_by_limit_total"), "counter", "Tunnels the server ended because of a limit.");
  m.sample(n("tunnels_ended_by_limit_total"), st.idle_timeouts, {{"limit", "idle_timeout"}});
  m.sample(n("tunnels_ended_by_limit_total"), st.session_timeouts, {{"limit", "session_timeout"}});
  m.sample(n("tunnels_ended_by_limit_total"), st.quota_disconnects, {{"limit", "quota_bytes"}});

  m.family(n("dtls_handshakes_total"), "counter", "DTLS handshakes by result.");
  m.sample(n("dtls_handshakes_total"), st.dtls_handshakes_ok, {{"result", "ok"}});
  m.sample(n("dtls_handshakes_total"), st.dtls_handshake_failures, {{"result", "failed"}});
  m.counter(n("dtls_unmatched_hellos_total"), "DTLS datagrams on the control path matching no session.",
            st.dtls_unmatched_hellos);

  m.family(n("cstp_frames_total"), "counter", "CSTP frames over TLS by direction (rx = from clients).");
  m.sample(n("cstp_frames_total"), st.cstp_frames_in, {{"direction", "rx"}});
  m.sample(n("cstp_frames_total"), st.cstp_frames_out, {{"direction", "tx"}});
  m.family(n("cstp_bytes_total"), "counter", "CSTP frame bytes (8-byte header included) by direction.");
  m.sample(n("cstp_bytes_total"), st.cstp_bytes_in, {{"direction", "rx"}});
  m.sample(n("cstp_bytes_total"), st.cstp_bytes_out, {{"direction", "tx"}});
  m.counter(n("cstp_protocol_errors_total"), "Malformed CSTP input that closed a connection.",
            st.cstp_protocol_errors);
  m.family(n("cstp_compressed_packets_total"), "counter",
           "IP packets carried in COMPRESSED CSTP frames by direction (rx = decompressed from clients).");
  m.sample(n("cstp_compressed_packets_total"), st.cstp_decompressed, {{"direction", "rx"}});
  m.sample(n("cstp_compressed_packets_total"), st.cstp_compressed, {{"direction", "tx"}});
  m.counter(n("cstp_decompress_failures_total"),
            "COMPRESSED CSTP frames that were malformed or too large (the connection was closed).",
            st.cstp_decompress_failures);
  m.family(n("cstp_drops_total"), "counter", "IP packets dropped on the CSTP path, by reason.");
  m.sample(n("cstp_drops_total"), st.cstp_drop_backpressure, {{"reason", "backpressure"}});
  m.sample(n("cstp_drops_total"), st.cstp_drop_no_tunnel, {{"reason", "no_tunnel"}});
  m.sample(n("cstp_drops_total"), st.tun_write_failures, {{"reason", "tun_write_failed"}});
  m.sample(n("cstp_drops_total"), st.cstp_drop_rate_limited, {{"reason", "rate_limited"}});
  m.sample(n("cstp_drops_total"), st.cstp_drop_not_in_routes, {{"reason", "not_in_routes"}});
  m.sample(n("cstp_drops_total"), st.cstp_drop_port_not_allowed, {{"reason", "port_not_allowed"}});
  for (size_t v = 1; v < st.inner_drops.size(); ++v) {
    m.sample(n("cstp_drops_total"), st.inner_drops[v],
             {{"reason", std::string("inner_") + to_string(static_cast<InnerVerdict>(v))}});
  }

  m.family(n("datapath_packets_total"), "counter", "Packets through the data plane by port and direction.");
  struct Port {
    const char* port;
    const char* direction;
    const datapath::DirectionCounters& c;
  };
  const Port ports[] = {{"udp", "rx", dp.udp_rx}, {"udp", "tx", dp.udp_tx}, {"tun", "rx", dp.tun_rx},
                        {"tun", "tx", dp.tun_tx}};
  // A family's samples must follow its own TYPE line, so the two families are written in turn.
  for (const Port& p : ports) {
    m.sample(n("datapath_packets_total"), p.c.packets, {{"port", p.port}, {"direction", p.direction}});
  }
  m.family(n("datapath_bytes_total"), "counter", "Bytes through the data plane by port and direction.");
  for (const Port& p : ports) {
    m.sample(n("datapath_bytes_total"), p.c.bytes, {{"port", p.port}, {"direction", p.direction}});
  }
  m.family(n("datapath_drops_total"), "counter", "Packets dropped by the data plane, by reason.");
  for (size_t r = 1; r < datapath::kDropReasonCount; ++r) {
    auto reason = static_cast<datapath::DropReason>(r);
    m.sample(n("datapath_drops_total"), dp.dropped(reason), {{"reason", datapath::to_string(reason)}});
  }
  m.family(n("ring_drops_total"), "counter", "Packets lost because a ring to the slow path was full.");
  m.sample(n("ring_drops_total"), dp.dropped(datapath::DropReason::kControlRingFull), {{"ring", "control"}});
  m.sample(n("ring_drops_total"), dp.dropped(datapath::DropReason::kCstpRingFull), {{"ring", "cstp"}});
  m.family(n("datapath_events_total"), "counter", "Non-drop data plane outcomes, by event.");
  for (size_t e = 0; e < datapath::kEventCount; ++e) {
    auto event = static_cast<datapath::Event>(e);
    m.sample(n("datapath_events_total"), dp.count(event), {{"event", datapath::to_string(event)}});
  }

  m.family(n("driver_events_total"), "counter", "Datapath driver counters (syscall failures, offload use).");
  for (const auto& [event, value] : impl_.data_plane->driver_counters()) {
    m.sample(n("driver_events_total"), value, {{"driver", impl_.data_plane->driver_name()}, {"event", event}});
  }

  const auto& h = st.tls_handshake_latency;
  m.histogram(n("tls_handshake_duration_seconds"), "TCP accept to TLS handshake done.",
              HandshakeHistogram::kBounds, h.buckets, h.count, h.sum_seconds);

  if (impl_.config->monitoring.per_user_metrics) {
    auto all = users();
    m.family(n("user_rx_bytes_total"), "counter", "Bytes from each connected user (CSTP + DTLS).");
    for (const auto& u : all) {
      m.sample(n("user_rx_bytes_total"), u.cstp_rx + u.dtls_rx,
               {{"id", std::to_string(u.id)}, {"username", u.username}, {"vpn_ipv4", u.ipv4}});
    }
    m.family(n("user_tx_bytes_total"), "counter", "Bytes to each connected user (CSTP + DTLS).");
    for (const auto& u : all) {
      m.sample(n("user_tx_bytes_total"), u.cstp_tx + u.dtls_tx,
               {{"id", std::to_string(u.id)}, {"username", u.username}, {"vpn_ipv4", u.ipv4}});
    }
    m.family(n("user_connected_at_seconds"), "gauge", "Unix time each connected user's tunnel came up.");
    for (const auto& u : all) {
      m.sample(n("user_connected_at_seconds"), static_cast<uint64_t>(u.connected_at),
               {{"id", std::to_string(u.id)}, {"username", u.username}, {"vpn_ipv4", u.ipv4}});
    }
  }
  return m.take();
}

}  // namespace ocm::ctrl
