#include "metrics_http.hpp"

#include <cstring>

#include "ocm/base/log.hpp"

namespace ocm::ctrl {
namespace {

constexpr size_t kMaxHead = 8192;
// Prometheus scrapes from one or two servers; more open connections than this is abuse.
constexpr size_t kMaxScrapes = 16;
constexpr uint64_t kScrapeTimeoutMs = 10000;

struct HttpWrite {
  uv_write_t req{};
  std::string data;
};

const char* reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    default:
      return "Error";
  }
}

}  // namespace

HttpTarget parse_request_head(std::string_view head) {
  auto line_end = head.find('\n');
  std::string_view line = head.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? std::string_view::npos : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    return {400, {}};
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET") {
    return {405, {}};
  }
  if (target.empty() || target.front() != '/') {
    return {400, {}};
  }
  return {200, std::string(target.substr(0, target.find('?')))};
}

struct MetricsHttp::Scrape {
  MetricsHttp& owner;
  uint64_t id;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  std::string head;
  int open_handles = 0;
  bool done = false;

  Scrape(MetricsHttp& o, uint64_t i) : owner(o), id(i) {}

  void close() {
    if (open_handles == 0 || uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer))) {
      return;
    }
    auto closed = [](uv_handle_t* h) {
      auto* s = static_cast<Scrape*>(h->data);
      if (--s->open_handles == 0) {
        s->owner.forget(s->id);  // deletes s
      }
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), closed);
  }

  void answer(int status, std::string_view content_type, std::string body) {
    done = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
    auto* w = new HttpWrite;
    w->data = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\nContent-Type: " +
              std::string(content_type) + "\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nConnection: close\r\n\r\n" + body;
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1, [](uv_write_t* req, int) {
      auto* write = static_cast<HttpWrite*>(req->data);
      auto* s = static_cast<Scrape*>(req->handle->data);
      delete write;
      s->close();
    });
    if (rc != 0) {
      delete w;
      close();
    }
  }

  void on_read(ssize_t nread, const uv_buf_t* buf) {
    if (nread < 0) {
      close();
      return;
    }
    if (done) {
      return;
    }
    head.append(buf->base, static_cast<size_t>(nread));
    if (head.find("\r\n\r\n") == std::string::npos && head.find("\n\n") == std::string::npos) {
      if (head.size() > kMaxHead) {
        answer(400, "text/plain", "request head too large\n");
      }
      return;
    }
    HttpTarget target = parse_request_head(head);
    if (target.status != 200) {
      answer(target.status, "text/plain", std::string(reason_of(target.status)) + "\n");
      return;
    }
    std::string body;
    if (!owner.handler_(target.path, body)) {
      answer(404, "text/plain", "not found; try /metrics\n");
      return;
    }
    answer(200, "text/plain; version=0.0.4; charset=utf-8", std::move(body));
  }
};

MetricsHttp::MetricsHttp(uv_loop_t& loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}

MetricsHttp::~MetricsHttp() = default;

void MetricsHttp::forget(uint64_t id) { scrapes_.erase(id); }

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::open(uv_loop_t& loop, const std::string& bind, uint16_t port,
                                                       Handler handler) {
  sockaddr_in addr{};
  if (uv_ip4_addr(bind.c_str(), port, &addr) != 0) {
    return make_error("monitoring.stats_bind: invalid address " + bind);
  }
  std::unique_ptr<MetricsHttp> self(new MetricsHttp(loop, std::move(handler)));
  uv_tcp_init(&loop, &self->listener_);
  self->listener_.data = self.get();
  int rc = uv_tcp_bind(&self->listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&self->listener_), 64, [](uv_stream_t* l, int status) {
      if (status == 0) {
        static_cast<MetricsHttp*>(l->data)->on_connection();
      }
    });
  }
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&self->listener_),
             [](uv_handle_t* h) { delete static_cast<MetricsHttp*>(h->data); });
    (void)self.release();
    return make_error("cannot listen for metrics on " + bind + ":" + std::to_string(port) + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&self->listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  self->port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return self;
}

void MetricsHttp::on_connection() {
  uint64_t id = next_id_++;
  auto scrape = std::make_unique<Scrape>(*this, id);
  Scrape* s = scrape.get();
  scrapes_.emplace(id, std::move(scrape));
  uv_tcp_init(&loop_, &s->tcp);
  uv_timer_init(&loop_, &s->timer);
  s->tcp.data = s;
  s->timer.data = s;
  s->open_handles = 2;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&s->tcp)) != 0 ||
      scrapes_.size() > kMaxScrapes) {
    s->close();
    return;
  }
  uv_timer_start(&s->timer, [](uv_timer_t* t) { static_cast<Scrape*>(t->data)->close(); }, kScrapeTimeoutMs, 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&s->tcp),
      [](uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(new char[2048], 2048); },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        std::unique_ptr<char[]> owned(buf->base);
        if (nread != 0) {
          static_cast<Scrape*>(stream->data)->on_read(nread, buf);
        }
      });
}

void MetricsHttp::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  std::vector<Scrape*> all;
  for (auto& [id, s] : scrapes_) {
    all.push_back(s.get());
  }
  for (Scrape* s : all) {
    s->close();
  }
}

}  // namespace ocm::ctrl
