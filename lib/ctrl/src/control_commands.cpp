// Operations::handle_command: the ocmctl command set (occtl's, protocol.md §7.6).

#include <charconv>

#include "ocm/base/json.hpp"
#include "ocm/base/log.hpp"
#include "operations.hpp"

namespace ocm::ctrl {
namespace {

constexpr const char* kHelp =
    "show status\n"
    "show users\n"
    "show user NAME\n"
    "show id ID\n"
    "show sessions all|valid\n"
    "show ip bans\n"
    "show ip ban points\n"
    "show events\n"
    "unban ip IP\n"
    "disconnect user NAME      end the tunnel; the cookie stays valid (the client may reconnect)\n"
    "disconnect id ID\n"
    "terminate user NAME       end the tunnel and invalidate the session's cookie\n"
    "terminate id ID\n"
    "reload                    re-read config, passwd file and certificate\n"
    "stop now\n";

std::optional<uint32_t> parse_id(const std::string& text) {
  uint32_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || ptr != text.data() + text.size() || id == 0) {
    return std::nullopt;
  }
  return id;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    out += out.empty() ? "" : " ";
    out += w;
  }
  return out;
}

std::string message_body(bool json, const std::string& text) {
  if (!json) {
    return text + "\n";
  }
  json::Writer w;
  w.begin_object().field("Message", text).end_object();
  return w.take() + "\n";
}

}  // namespace

void Operations::handle_command(ControlClient& client, const ControlRequest& request) {
  const auto& w = request.words;
  const bool json = request.json;
  auto is = [&w](std::initializer_list<const char*> words) {
    if (w.size() != words.size()) {
      return false;
    }
    size_t i = 0;
    for (const char* word : words) {
      if (word != nullptr && w[i] != word) {
        return false;
      }
      ++i;
    }
    return true;
  };
  OCM_DEBUG("ocmctl: %s", joined(w).c_str());

  if (is({"show", "status"})) {
    auto v = status_view();
    client.reply(json ? status_json(v) : status_text(v));
  } else if (is({"show", "users"})) {
    auto all = users();
    client.reply(json ? users_json(all, unix_now()) : users_text(all, unix_now()));
  } else if (is({"show", "user", nullptr}) || is({"show", "id", nullptr})) {
    std::vector<UserView> found;
    std::optional<uint32_t> id;
    if (w[1] == "id" && !(id = parse_id(w[2]))) {
      client.fail("invalid id '" + w[2] + "'");
      return;
    }
    for (auto& u : users()) {
      if (id ? u.id == *id : u.username == w[2]) {
        found.push_back(std::move(u));
      }
    }
    if (found.empty()) {
      client.fail(w[1] == "id" ? "no tunnel with id " + w[2] : "user '" + w[2] + "' is not connected");
      return;
    }
    client.reply(json ? users_json(found, unix_now()) : user_details_text(found, unix_now()));
  } else if (is({"show", "sessions", "all"}) || is({"show", "sessions", "valid"})) {
    auto list = sessions(w[2] == "valid");
    client.reply(json ? sessions_json(list) : sessions_text(list));
  } else if (is({"show", "ip", "bans"}) || is({"show", "ip", "ban", "points"})) {
    bool points = w.size() == 4;
    auto list = bans();
    client.reply(json ? bans_json(list, unix_now(), points) : bans_text(list, unix_now(), points));
  } else if (is({"unban", "ip", nullptr})) {
    auto ip = parse_ipv4(w[2]);
    if (!ip) {
      client.fail("invalid IPv4 address '" + w[2] + "'");
      return;
    }
    if (!impl_.bans.unban(*ip)) {
      client.fail("IP '" + w[2] + "' is not in the ban list");
      return;
    }
    OCM_INFO("ocmctl: unbanning IP %s", w[2].c_str());
    client.reply(message_body(json, "IP '" + w[2] + "' was unbanned"));
  } else if (is({"disconnect", "user", nullptr}) || is({"disconnect", "id", nullptr}) ||
             is({"terminate", "user", nullptr}) || is({"terminate", "id", nullptr})) {
    bool terminate = w[0] == "terminate";
    std::optional<uint32_t> id;
    if (w[1] == "id" && !(id = parse_id(w[2]))) {
      client.fail("invalid id '" + w[2] + "'");
      return;
    }
    // Collect first: disconnect() changes tunnel_owner.
    std::vector<Connection*> targets;
    for (const auto& [sid, conn] : impl_.tunnel_owner) {
      const session::Session* s = impl_.sessions.find_id(sid);
      if (id ? sid == *id : (s != nullptr && s->username == w[2])) {
        targets.push_back(conn);
      }
    }
    if (targets.empty()) {
      client.fail(w[1] == "id" ? "no tunnel with id " + w[2] : "user '" + w[2] + "' is not connected");
      return;
    }
    for (Connection* conn : targets) {
      OCM_INFO("ocmctl: %s session %u", terminate ? "terminating" : "disconnecting", conn->session_id());
      conn->disconnect(terminate ? "terminated by the administrator" : "disconnected by the administrator",
                       terminate ? SessionFate::kRemove : SessionFate::kKeep);
    }
    client.reply(message_body(json, (terminate ? "terminated " : "disconnected ") + std::to_string(targets.size()) +
                                         " tunnel(s)"));
  } else if (is({"reload"})) {
    auto result = reload();
    if (!result) {
      OCM_ERROR("reload failed, keeping the running configuration: %s", result.error().message.c_str());
      client.fail(result.error().message);
      return;
    }
    OCM_INFO("reload: %s", result->c_str());
    client.reply(message_body(json, *result));
  } else if (is({"stop", "now"})) {
    OCM_INFO("ocmctl: stop now");
    client.reply(message_body(json, "server stopping"));
    impl_.stop();
  } else if (is({"show", "events"})) {
    client.subscribe();
  } else if (is({"help"})) {
    client.reply(kHelp);
  } else {
    client.fail("unknown command '" + joined(w) + "'; try 'help'");
  }
}

}  // namespace ocm::ctrl
