#pragma once
// The ocmctl control socket: a Unix stream socket served by the slow-path loop.
//
// Protocol (doc/operations.md, "Control socket protocol"): the client sends one request line,
//   "<format> <command words>\n"   format = "json" | "text", e.g. "json show users\n"
// (at most kMaxRequestBytes). The server answers with a status line, "OK\n" or
// "ERROR <message>\n", then the body, and closes the connection. "show events" answers "OK\n"
// and then streams one line per event (a JSON object per line in json format) until the client
// closes. Anyone who can connect is an administrator: the socket is created mode 0600.
//
// This class knows nothing about sessions: commands go to a handler (Server::Impl's).

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ocm/base/result.hpp"

namespace ocm::ctrl {

inline constexpr size_t kMaxRequestBytes = 1024;

struct ControlRequest {
  bool json = false;
  std::vector<std::string> words;  // the command, split on spaces
};

// Parses "<format> <words...>" (without the newline); nullopt-like error text on failure.
Result<ControlRequest> parse_control_request(std::string_view line);

class ControlSocket;

// One accepted ocmctl connection. Lives until its handle has closed; the handler must answer
// (reply/fail) or subscribe() exactly once.
class ControlClient {
 public:
  ControlClient(ControlSocket& owner, uint64_t id) : owner_(owner), id_(id) {}
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  void reply(std::string_view body);         // "OK\n" + body, then close
  void fail(std::string_view message);       // "ERROR message\n", then close
  void subscribe();                          // "OK\n", then events until the peer closes
  [[nodiscard]] bool subscribed() const { return subscribed_; }
  [[nodiscard]] bool json() const { return json_; }

  uv_pipe_t pipe{};

 private:
  friend class ControlSocket;
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void write(std::string data);
  void close();

  ControlSocket& owner_;
  uint64_t id_;
  std::string line_;
  bool answered_ = false;
  bool subscribed_ = false;
  bool json_ = false;
  bool closing_ = false;
};

class ControlSocket {
 public:
  using Handler = std::function<void(ControlClient&, const ControlRequest&)>;

  // Creates the socket file (parent directory made 0755 if missing; a stale socket file no
  // server answers on is replaced; a live one is an error, so two servers never share it).
  static Result<std::unique_ptr<ControlSocket>> open(uv_loop_t& loop, const std::string& path, Handler handler);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Sends one event to every `show events` subscriber, in its format.
  void publish(std::string_view json_line, std::string_view text_line);
  // Stops listening, removes the socket file and closes every client once its pending output
  // is written. The object must stay alive until the loop has run the close callbacks.
  void close();
  [[nodiscard]] size_t subscribers() const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  friend class ControlClient;
  ControlSocket(uv_loop_t& loop, std::string path, Handler handler);
  void on_connection();
  void forget(uint64_t id) { clients_.erase(id); }

  uv_loop_t& loop_;
  std::string path_;
  Handler handler_;
  uv_pipe_t listener_{};
  bool listening_ = false;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<ControlClient>> clients_;
};

}  // namespace ocm::ctrl
