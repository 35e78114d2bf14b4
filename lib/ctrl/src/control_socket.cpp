#include "control_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ocm/base/log.hpp"

namespace ocm::ctrl {
namespace {

// How many event lines may wait for a slow `show events` reader before it is dropped: an
// operator's terminal must not make the server buffer without bound.
constexpr size_t kMaxQueuedEventBytes = 1 << 20;

struct ControlWrite {
  uv_write_t req{};
  std::string data;
};

// True when something accepts connections on `path` (another server instance).
bool socket_is_live(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

}  // namespace

Result<ControlRequest> parse_control_request(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  ControlRequest request;
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') {
      ++pos;
    }
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) {
      end = line.size();
    }
    if (end > pos) {
      words.emplace_back(line.substr(pos, end - pos));
    }
    pos = end;
  }
  if (words.empty() || (words[0] != "json" && words[0] != "text")) {
    return make_error("request must start with 'json' or 'text'");
  }
  if (words.size() < 2) {
    return make_error("empty command");
  }
  request.json = words[0] == "json";
  request.words.assign(words.begin() + 1, words.end());
  return request;
}

// ---- ControlClient ---------------------------------------------------------------------------

void ControlClient::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    close();  // EOF: a `show events` client went away, or a client gave up
    return;
  }
  if (answered_) {
    return;  // nothing more is expected from the client; ignore extra input
  }
  line_.append(buf->base, static_cast<size_t>(nread));
  auto newline = line_.find('\n');
  if (newline == std::string::npos) {
    if (line_.size() > kMaxRequestBytes) {
      fail("request line too long");
    }
    return;
  }
  auto request = parse_control_request(std::string_view(line_).substr(0, newline));
  if (!request) {
    fail(request.error().message);
    return;
  }
  json_ = request->json;
  owner_.handler_(*this, *request);
  if (!answered_) {
    fail("internal error: command not answered");
  }
}

void ControlClient::write(std::string data) {
  if (closing_) {
    return;
  }
  auto* w = new ControlWrite;
  w->data = std::move(data);
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&pipe), &buf, 1, [](uv_write_t* req, int) {
    delete static_cast<ControlWrite*>(req->data);
  });
  if (rc != 0) {
    delete w;
    close();
  }
}

void ControlClient::reply(std::string_view body) {
  answered_ = true;
  std::string out = "OK\n";
  out += body;
  if (!body.empty() && body.back() != '\n') {
    out += '\n';
  }
  write(std::move(out));
  close();
}

void ControlClient::fail(std::string_view message) {
  answered_ = true;
  std::string out = "ERROR ";
  out += message;
  out += '\n';
  write(std::move(out));
  close();
}

void ControlClient::subscribe() {
  answered_ = true;
  subscribed_ = true;
  write("OK\n");
}

void ControlClient::close() {
  if (closing_) {
    return;
  }
  closing_ = true;
  subscribed_ = false;
  // Shutdown waits for queued writes (the reply) before the handle is closed.
  auto* req = new uv_shutdown_t;
  int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&pipe), [](uv_shutdown_t* r, int) {
    auto* client = static_cast<ControlClient*>(r->handle->data);
    delete r;
    uv_close(reinterpret_cast<uv_handle_t*>(&client->pipe), [](uv_handle_t* h) {
      auto* c = static_cast<ControlClient*>(h->data);
      c->owner_.forget(c->id_);  // deletes c
    });
  });
  if (rc != 0) {
    delete req;
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe), [](uv_handle_t* h) {
      auto* c = static_cast<ControlClient*>(h->data);
      c->owner_.forget(c->id_);
    });
  }
}

// ---- ControlSocket ---------------------------------------------------------------------------

ControlSocket::ControlSocket(uv_loop_t& loop, std::string path, Handler handler)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)) {}

ControlSocket::~ControlSocket() = default;

Result<std::unique_ptr<ControlSocket>> ControlSocket::open(uv_loop_t& loop, const std::string& path,
                                                           Handler handler) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return make_error("control socket path '" + path + "' is empty or too long");
  }
  std::string dir = parent_dir(path);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return make_error("cannot create directory '" + dir + "' for the control socket: " + std::strerror(errno));
  }
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error("control socket path '" + path + "' exists and is not a socket; not removing it");
    }
    if (socket_is_live(path)) {
      return make_error("control socket '" + path + "' is in use: is another ocserv-modern running?");
    }
    ::unlink(path.c_str());  // stale, from a server that did not exit cleanly
  }
  std::unique_ptr<ControlSocket> self(new ControlSocket(loop, path, std::move(handler)));
  uv_pipe_init(&loop, &self->listener_, 0);
  self->listener_.data = self.get();
  // The umask makes the socket 0600 from the start: no window in which others could connect.
  mode_t old_mask = ::umask(0177);
  int rc = uv_pipe_bind(&self->listener_, path.c_str());
  ::umask(old_mask);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&self->listener_), 16, [](uv_stream_t* l, int status) {
      if (status == 0) {
        static_cast<ControlSocket*>(l->data)->on_connection();
      }
    });
  }
  if (rc != 0) {
    // The handle is closed on a later loop iteration: the object dies in its close callback.
    uv_close(reinterpret_cast<uv_handle_t*>(&self->listener_),
             [](uv_handle_t* h) { delete static_cast<ControlSocket*>(h->data); });
    (void)self.release();
    return make_error("cannot listen on control socket '" + path + "': " + uv_strerror(rc));
  }
  ::chmod(path.c_str(), 0600);
  self->listening_ = true;
  return self;
}

void ControlSocket::on_connection() {
  uint64_t id = next_id_++;
  auto client = std::make_unique<ControlClient>(*this, id);
  ControlClient* raw = client.get();
  uv_pipe_init(&loop_, &raw->pipe, 0);
  raw->pipe.data = raw;
  clients_.emplace(id, std::move(client));
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&raw->pipe)) != 0) {
    raw->closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->pipe), [](uv_handle_t* h) {
      auto* c = static_cast<ControlClient*>(h->data);
      c->owner_.forget(c->id_);
    });
    return;
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&raw->pipe),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        // Requests are tiny; a small heap buffer per read keeps this independent of other users.
        size_t size = std::min<size_t>(suggested, kMaxRequestBytes + 1);
        *buf = uv_buf_init(new char[size], static_cast<unsigned>(size));
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        std::unique_ptr<char[]> owned(buf->base);
        if (nread != 0) {
          static_cast<ControlClient*>(s->data)->on_read(nread, buf);
        }
      });
}

void ControlSocket::publish(std::string_view json_line, std::string_view text_line) {
  for (auto& [id, client] : clients_) {
    if (!client->subscribed_) {
      continue;
    }
    if (uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&client->pipe)) > kMaxQueuedEventBytes) {
      OCM_WARN("ocmctl: dropping a 'show events' client that does not read");
      client->close();
      continue;
    }
    std::string line(client->json_ ? json_line : text_line);
    line += '\n';
    client->write(std::move(line));
  }
}

size_t ControlSocket::subscribers() const {
  size_t n = 0;
  for (const auto& [id, client] : clients_) {
    n += client->subscribed_ ? 1 : 0;
  }
  return n;
}

void ControlSocket::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    ::unlink(path_.c_str());
  }
  std::vector<ControlClient*> all;
  for (auto& [id, client] : clients_) {
    all.push_back(client.get());
  }
  for (ControlClient* client : all) {
    client->close();
  }
}

}  // namespace ocm::ctrl
