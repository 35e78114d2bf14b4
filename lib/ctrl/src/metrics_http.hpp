#pragma once
// A deliberately tiny HTTP/1.x server for Prometheus scrapes, on the slow-path loop: one
// request per connection, GET only, the answer is produced synchronously by a handler and the
// connection is closed after it. Anything else gets 400/404/405. Bounded: request head size,
// a per-connection deadline and a cap on open scrape connections.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ocm/base/result.hpp"

namespace ocm::ctrl {

class MetricsHttp {
 public:
  // Fills `body` for `path` and returns true, or returns false for 404.
  using Handler = std::function<bool(std::string_view path, std::string& body)>;

  static Result<std::unique_ptr<MetricsHttp>> open(uv_loop_t& loop, const std::string& bind, uint16_t port,
                                                   Handler handler);
  ~MetricsHttp();
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Port actually bound (useful when opened with port 0 in tests).
  [[nodiscard]] uint16_t port() const { return port_; }
  // Closes the listener and every scrape connection; the object must live until the loop has
  // run the close callbacks.
  void close();

  struct Scrape;  // one connection (metrics_http.cpp)

 private:
  MetricsHttp(uv_loop_t& loop, Handler handler);
  void on_connection();
  void forget(uint64_t id);

  uv_loop_t& loop_;
  Handler handler_;
  uv_tcp_t listener_{};
  uint16_t port_ = 0;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Scrape>> scrapes_;
};

// The request target of a GET request head ("GET /metrics HTTP/1.1\r\n..."); errors carry the
// HTTP status to answer ("400", "405"). Exposed for unit tests.
struct HttpTarget {
  int status = 200;
  std::string path;  // without the query string
};
HttpTarget parse_request_head(std::string_view head);

}  // namespace ocm::ctrl
