// ocm-loadgen: N synthetic openconnect sessions against ocserv-modern from one process
// (issue 7). See perf/README.md.

#include <sys/resource.h>

#include <cstdio>

#include "options.hpp"
#include "runner.hpp"
#include "tls_client.hpp"

namespace {

// Two sockets per session (TCP + UDP) plus slack; raise the hard limit too when allowed (root).
void raise_nofile(uint64_t want) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= want) {
    return;
  }
  rlimit next = lim;
  next.rlim_cur = want;
  next.rlim_max = std::max<rlim_t>(lim.rlim_max, want);
  if (setrlimit(RLIMIT_NOFILE, &next) != 0) {
    next.rlim_cur = lim.rlim_max;
    next.rlim_max = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &next);
    std::fprintf(stderr, "ocm-loadgen: RLIMIT_NOFILE limited to %llu (wanted %llu)\n",
                 static_cast<unsigned long long>(lim.rlim_max), static_cast<unsigned long long>(want));
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ocm::loadgen;
  auto opt = parse_options(argc, argv);
  if (!opt) {
    std::fprintf(stderr, "ocm-loadgen: %s\n%s", opt.error().message.c_str(), usage());
    return 2;
  }
  raise_nofile(opt->nofile != 0 ? opt->nofile : uint64_t{opt->sessions} * 2 + 256);
  auto tls = TlsContext::create(opt->pin);
  if (!tls) {
    std::fprintf(stderr, "ocm-loadgen: %s\n", tls.error().message.c_str());
    return 1;
  }
  auto dtls = DtlsContext::create();
  if (!dtls) {
    std::fprintf(stderr, "ocm-loadgen: %s\n", dtls.error().message.c_str());
    return 1;
  }
  Runner runner(std::move(*opt), std::move(*tls), std::move(*dtls));
  return runner.run();
}
