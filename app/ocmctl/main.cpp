// ocmctl: the operator's command-line tool (occtl's command set) for a running ocserv-modern.
// Speaks the control-socket protocol (doc/operations.md): one request line, a status line back,
// then the body. Exit status: 0 success, 1 the server refused the command, 2 usage error,
// 3 the server could not be reached.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/config/config.hpp"

namespace {

constexpr const char* kDefaultSocket = "/run/ocserv-modern/ocmctl.sock";

void usage(FILE* out) {
  std::fprintf(out,
               "usage: ocmctl [-s SOCKET | -c CONFIG] [-j] COMMAND...\n"
               "  -s, --socket PATH   control socket (default %s)\n"
               "  -c, --config FILE   take the socket path from this server config ([monitoring] control_socket)\n"
               "  -j, --json          JSON output (occtl's key names plus raw_* numbers)\n"
               "      --version       print the version and exit\n"
               "commands:\n"
               "  show status | show users | show user NAME | show id ID\n"
               "  show sessions all|valid | show ip bans | show events\n"
               "  disconnect user NAME | disconnect id ID | terminate user NAME | terminate id ID\n"
               "  unban ip IP | reload | stop now | help\n"
               "exit status: 0 ok, 1 command failed, 2 usage error, 3 server unreachable\n",
               kDefaultSocket);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = kDefaultSocket;
  bool json = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!words.empty()) {
      words.emplace_back(arg);  // everything after the command belongs to it (user names like "-x")
    } else if ((arg == "-s" || arg == "--socket") && i + 1 < argc) {
      socket_path = argv[++i];
    } else if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      auto parsed = ocm::config::parse_file(argv[++i]);
      if (!parsed.errors.empty()) {
        for (const auto& e : parsed.errors) {
          std::fprintf(stderr, "%s\n", ocm::config::format_error(argv[i], e).c_str());
        }
        return 2;
      }
      socket_path = parsed.config->monitoring.control_socket;
    } else if (arg == "-j" || arg == "--json") {
      json = true;
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("ocmctl %s\n", OCM_VERSION);
      return 0;
    } else if (arg.starts_with("-")) {
      std::fprintf(stderr, "ocmctl: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    } else {
      words.emplace_back(arg);
    }
  }
  if (words.empty()) {
    usage(stderr);
    return 2;
  }
  std::string request = json ? "json" : "text";
  for (const auto& w : words) {
    if (w.find_first_of(" \n\r") != std::string::npos || w.empty()) {
      std::fprintf(stderr, "ocmctl: arguments must not contain spaces or newlines\n");
      return 2;
    }
    request += " " + w;
  }
  request += "\n";

  sockaddr_un addr{};
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "ocmctl: invalid socket path '%s'\n", socket_path.c_str());
    return 2;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "ocmctl: cannot connect to %s: %s (is ocserv-modern running? are you root?)\n",
                 socket_path.c_str(), std::strerror(errno));
    return 3;
  }
  // The server ends a reply by closing; for `show events` the user ends it (Ctrl-C).
  std::signal(SIGPIPE, SIG_IGN);
  if (!write_all(fd, request)) {
    std::fprintf(stderr, "ocmctl: cannot send the request: %s\n", std::strerror(errno));
    return 3;
  }
  std::string status;
  bool have_status = false;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    std::string_view chunk(buf, static_cast<size_t>(n));
    if (!have_status) {
      status.append(chunk);
      auto nl = status.find('\n');
      if (nl == std::string::npos) {
        continue;
      }
      have_status = true;
      std::string rest = status.substr(nl + 1);
      status.resize(nl);
      if (status != "OK") {
        // The status line is the whole answer of a refused command.
        std::fprintf(stderr, "ocmctl: %s\n", status.starts_with("ERROR ") ? status.c_str() + 6 : status.c_str());
        ::close(fd);
        return 1;
      }
      chunk = rest;
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
    } else {
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
    }
    std::fflush(stdout);  // events must show up as they happen, also through a pipe
  }
  ::close(fd);
  if (!have_status) {
    std::fprintf(stderr, "ocmctl: the server closed the connection without an answer\n");
    return 3;
  }
  return 0;
}
