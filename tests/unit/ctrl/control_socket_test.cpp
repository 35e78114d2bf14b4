// The control socket and the metrics listener on a real libuv loop, with a blocking client on
// another thread (the loop thread runs until the client is done).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "control_socket.hpp"
#include "metrics_http.hpp"

namespace ocm::ctrl {
namespace {

std::string socket_dir() {
  char templ[] = "/tmp/ocm-ctl-XXXXXX";
  return mkdtemp(templ);
}

int connect_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string read_until_eof(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string ask(const std::string& path, const std::string& request) {
  int fd = connect_unix(path);
  if (fd < 0) {
    return "connect failed";
  }
  (void)::write(fd, request.data(), request.size());
  std::string out = read_until_eof(fd);
  ::close(fd);
  return out;
}

// Runs the loop until `client` returns, then closes `closer` and drains the loop.
template <typename Client, typename Closer>
void run_with_client(uv_loop_t& loop, Client client, Closer closer) {
  std::atomic<bool> done{false};
  uv_async_t wake{};
  uv_async_init(&loop, &wake, [](uv_async_t*) {});
  std::thread t([&] {
    client();
    done = true;
    uv_async_send(&wake);
  });
  while (!done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  t.join();
  closer();
  uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
}

TEST(ControlRequest, Parses) {
  auto r = parse_control_request("json show  users\r");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->json);
  EXPECT_EQ(r->words, (std::vector<std::string>{"show", "users"}));
  EXPECT_FALSE(parse_control_request("show users"));
  EXPECT_FALSE(parse_control_request("text"));
  EXPECT_FALSE(parse_control_request(""));
}

class ControlSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    dir_ = socket_dir();
    path_ = dir_ + "/sub/ocmctl.sock";
  }
  void TearDown() override {
    uv_loop_close(&loop_);
    ::unlink(path_.c_str());
    ::rmdir((dir_ + "/sub").c_str());
    ::rmdir(dir_.c_str());
  }
  uv_loop_t loop_{};
  std::string dir_;
  std::string path_;
};

TEST_F(ControlSocketTest, RepliesErrorsAndPermissions) {
  auto sock = ControlSocket::open(loop_, path_, [](ControlClient& c, const ControlRequest& r) {
    if (r.words[0] == "echo") {
      c.reply(std::string(r.json ? "json:" : "text:") + r.words.back());
    } else {
      c.fail("unknown command");
    }
  });
  ASSERT_TRUE(sock) << sock.error().message;
  struct stat st{};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string a, b, c, d;
  run_with_client(
      loop_,
      [&] {
        a = ask(path_, "json echo hi\n");
        b = ask(path_, "text nope\n");
        c = ask(path_, "bogus\n");
        d = ask(path_, std::string(2000, 'x'));
      },
      [&] { (*sock)->close(); });
  EXPECT_EQ(a, "OK\njson:hi\n");
  EXPECT_EQ(b, "ERROR unknown command\n");
  EXPECT_EQ(c, "ERROR request must start with 'json' or 'text'\n");
  EXPECT_EQ(d, "ERROR request line too long\n");
  EXPECT_NE(::access(path_.c_str(), F_OK), 0) << "close() removes the socket file";
}

TEST_F(ControlSocketTest, ReplacesStaleSocketButNotALiveOne) {
  auto first = ControlSocket::open(loop_, path_, [](ControlClient& c, const ControlRequest&) { c.reply("1"); });
  ASSERT_TRUE(first);
  auto second = ControlSocket::open(loop_, path_, [](ControlClient& c, const ControlRequest&) { c.reply("2"); });
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  (*first)->close();
  uv_run(&loop_, UV_RUN_DEFAULT);
  // A stale socket file: bound once, nobody listening.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  auto third = ControlSocket::open(loop_, path_, [](ControlClient& c, const ControlRequest&) { c.reply("3"); });
  ASSERT_TRUE(third) << third.error().message;
  std::string got;
  run_with_client(loop_, [&] { got = ask(path_, "text x\n"); }, [&] { (*third)->close(); });
  EXPECT_EQ(got, "OK\n3\n");
}

TEST_F(ControlSocketTest, RefusesToReplaceARegularFile) {
  ::mkdir((dir_ + "/sub").c_str(), 0755);
  FILE* f = std::fopen(path_.c_str(), "w");
  std::fclose(f);
  auto sock = ControlSocket::open(loop_, path_, [](ControlClient& c, const ControlRequest&) { c.reply(""); });
  ASSERT_FALSE(sock);
  EXPECT_NE(sock.error().message.find("not a socket"), std::string::npos);
}

TEST_F(ControlSocketTest, EventsStreamToSubscribers) {
  ControlSocket* raw = nullptr;
  auto sock = ControlSocket::open(loop_, path_, [](ControlClient& c, const ControlRequest&) { c.subscribe(); });
  ASSERT_TRUE(sock);
  raw = sock->get();
  std::string got;
  uv_timer_t timer{};
  uv_timer_init(&loop_, &timer);
  timer.data = raw;
  // Publish from the loop thread once the client has subscribed.
  uv_timer_start(&timer, [](uv_timer_t* t) {
    auto* s = static_cast<ControlSocket*>(t->data);
    if (s->subscribers() > 0) {
      s->publish("{\"Event\":\"connect\"}", "connect alice");
      s->publish("{\"Event\":\"disconnect\"}", "disconnect alice");
      uv_timer_stop(t);
    }
  }, 5, 5);
  run_with_client(
      loop_,
      [&] {
        int fd = connect_unix(path_);
        std::string req = "json show events\n";
        (void)::write(fd, req.data(), req.size());
        std::string buf;
        char chunk[256];
        while (buf.find("disconnect") == std::string::npos) {
          ssize_t n = ::read(fd, chunk, sizeof chunk);
          if (n <= 0) {
            break;
          }
          buf.append(chunk, static_cast<size_t>(n));
        }
        got = buf;
        ::close(fd);  // the client ends the stream
      },
      [&] {
        uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
        raw->close();
      });
  EXPECT_EQ(got, "OK\n{\"Event\":\"connect\"}\n{\"Event\":\"disconnect\"}\n");
}

std::string http_get(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  (void)::write(fd, request.data(), request.size());
  std::string out = read_until_eof(fd);
  ::close(fd);
  return out;
}

TEST(MetricsHttp, ServesMetricsAndRefusesTheRest) {
  uv_loop_t loop{};
  uv_loop_init(&loop);
  auto http = MetricsHttp::open(loop, "127.0.0.1", 0, [](std::string_view path, std::string& body) {
    if (path != "/metrics") {
      return false;
    }
    body = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n";
    return true;
  });
  ASSERT_TRUE(http) << http.error().message;
  uint16_t port = (*http)->port();
  ASSERT_NE(port, 0);
  std::string ok, query, missing, post, garbage;
  run_with_client(
      loop,
      [&] {
        ok = http_get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        query = http_get(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        missing = http_get(port, "GET /other HTTP/1.1\r\n\r\n");
        post = http_get(port, "POST /metrics HTTP/1.1\r\n\r\n");
        garbage = http_get(port, "hello\r\n\r\n");
      },
      [&] { (*http)->close(); });
  uv_loop_close(&loop);
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_TRUE(ok.ends_with("\r\n\r\n# HELP a_total A.\n# TYPE a_total counter\na_total 1\n")) << ok;
  EXPECT_TRUE(query.starts_with("HTTP/1.1 200")) << query;
  EXPECT_TRUE(missing.starts_with("HTTP/1.1 404")) << missing;
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405")) << post;
  EXPECT_TRUE(garbage.starts_with("HTTP/1.1 400")) << garbage;
}

TEST(MetricsHttp, BindFailureIsAnError) {
  uv_loop_t loop{};
  uv_loop_init(&loop);
  auto first = MetricsHttp::open(loop, "127.0.0.1", 0, [](std::string_view, std::string&) { return false; });
  ASSERT_TRUE(first);
  auto second =
      MetricsHttp::open(loop, "127.0.0.1", (*first)->port(), [](std::string_view, std::string&) { return false; });
  EXPECT_FALSE(second);
  (*first)->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace ocm::ctrl
