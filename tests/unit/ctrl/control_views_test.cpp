#include "control_views.hpp"

#include <gtest/gtest.h>

#include "json_check.hpp"

namespace ocm::ctrl {
namespace {

using test::is_valid_json;

UserView hostile_user() {
  UserView u;
  u.id = 3;
  u.username = "al\"ice\\\n\x01\xff";
  u.group = "staff";
  u.remote_ip = "10.99.0.2";
  u.remote_port = 40000;
  u.ipv4 = "192.168.100.11";
  u.ptp_ipv4 = "192.168.100.1";
  u.user_agent = "Open AnyConnect VPN Agent v9.01-3 \xc3\x28";
  u.cstp_rx = 1500;
  u.dtls_rx = 500;
  u.cstp_tx = 10;
  u.dtls_tx = 2'000'000;
  u.connected_at = 1'700'000'000;
  u.tls_cipher = "TLS_AES_256_GCM_SHA384";
  return u;
}

TEST(ControlViews, UsersJsonIsValidWithHostileStrings) {
  std::string out = users_json({hostile_user(), UserView{}}, 1'700'000'100);
  EXPECT_TRUE(is_valid_json(out)) << out;
  EXPECT_NE(out.find(R"("Username":"al\"ice\\\n\u0001\ufffd")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("raw_rx":2000)"), std::string::npos);
  EXPECT_NE(out.find(R"("raw_tx":2000010)"), std::string::npos);
  EXPECT_NE(out.find(R"("raw_connected_at":1700000000)"), std::string::npos);
  for (const char* key : {"\"ID\"", "\"Groupname\"", "\"State\"", "\"vhost\"", "\"Device\"", "\"MTU\"",
                          "\"Remote IP\"", "\"IPv4\"", "\"P-t-P IPv4\"", "\"User-Agent\"", "\"RX\"", "\"TX\"",
                          "\"DPD\"", "\"KeepAlive\"", "\"Connected at\"", "\"Session\"", "\"TLS ciphersuite\"",
                          "\"DTLS cipher\""}) {
    EXPECT_NE(out.find(key), std::string::npos) << key;
  }
}

// occtl's "CSTP compression" / "DTLS compression": only for tunnels that negotiated it.
TEST(ControlViews, CompressionOnlyWhenNegotiated) {
  UserView plain = hostile_user();
  std::string out = users_json({plain}, 1'700'000'100);
  EXPECT_EQ(out.find("compression"), std::string::npos) << out;
  EXPECT_EQ(user_details_text({plain}, 1'700'000'100).find("compression"), std::string::npos);
  UserView compressed = plain;
  compressed.cstp_compression = "oc-lz4";
  compressed.dtls_compression = "lzs";
  out = users_json({compressed}, 1'700'000'100);
  EXPECT_TRUE(is_valid_json(out)) << out;
  EXPECT_NE(out.find(R"("CSTP compression":"oc-lz4")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("DTLS compression":"lzs")"), std::string::npos) << out;
  std::string details = user_details_text({compressed}, 1'700'000'100);
  EXPECT_NE(details.find("CSTP compression"), std::string::npos) << details;
  EXPECT_NE(details.find("lzs"), std::string::npos) << details;
}

TEST(ControlViews, EmptyListsAreValidJson) {
  EXPECT_EQ(users_json({}, 0), "[]\n");
  EXPECT_EQ(sessions_json({}), "[]\n");
  EXPECT_EQ(users_text({}, 0), "no users connected\n");
}

TEST(ControlViews, TextReplacesControlCharacters) {
  std::string out = users_text({hostile_user()}, 1'700'000'100);
  EXPECT_EQ(out.find('\x01'), std::string::npos);
  EXPECT_NE(out.find("192.168.100.11"), std::string::npos);
  EXPECT_NE(out.find("1m 40s"), std::string::npos);
  std::string details = user_details_text({hostile_user()}, 1'700'000'100);
  EXPECT_NE(details.find("10.99.0.2:40000"), std::string::npos);
  EXPECT_NE(details.find("(no-dtls)"), std::string::npos);
}

TEST(ControlViews, StatusAndSessionsAndEvents) {
  StatusView s;
  s.pid = 42;
  s.up_since = 1'700'000'000;
  s.now = 1'700'003'700;
  s.rx = 1234;
  std::string json = status_json(s);
  EXPECT_TRUE(is_valid_json(json)) << json;
  EXPECT_NE(json.find(R"("uptime":3700)"), std::string::npos);
  EXPECT_NE(json.find(R"("IPs in ban list":0)"), std::string::npos);
  EXPECT_NE(status_text(s).find("1h 1m"), std::string::npos);

  SessionView v{7, "bob", "", false, "192.168.100.5", 1'700'000'000, 120};
  EXPECT_TRUE(is_valid_json(sessions_json({v, v})));
  EXPECT_NE(sessions_text({v}).find("detached"), std::string::npos);

  EventView e{EventKind::kDisconnect, 1'700'000'060, hostile_user(), "DPD \"timeout\""};
  EXPECT_TRUE(is_valid_json(event_json(e))) << event_json(e);
  EXPECT_EQ(event_json(e).find('\n'), std::string::npos);
  EXPECT_NE(event_text(e).find("after 1m 0s"), std::string::npos);
}

TEST(ControlViews, HumanUnits) {
  EXPECT_EQ(human_bytes(999), "999 bytes");
  EXPECT_EQ(human_bytes(1500), "1.5 KB");
  EXPECT_EQ(human_bytes(2'000'000), "2.0 MB");
  EXPECT_EQ(human_duration(-5), "0s");
  EXPECT_EQ(human_duration(90061), "1d 1h");
  EXPECT_EQ(format_time(0), "1970-01-01 00:00:00");
}

}  // namespace
}  // namespace ocm::ctrl
