// ocserv-modern: composition root. Parses the command line, loads and checks the config,
// opens the datapath driver and runs the slow-path loop until a signal stops it.

#include <linux/capability.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/log.hpp"
#include "ocm/config/config.hpp"
#include "ocm/config/import_ocserv.hpp"
#include "ocm/ctrl/server.hpp"
#include "ocm/socket/socket_data_plane.hpp"
#ifdef OCM_HAVE_AF_XDP
#include "ocm/af_xdp/af_xdp_data_plane.hpp"
#endif
#ifdef OCM_HAVE_DPDK
#include "ocm/dpdk/dpdk_data_plane.hpp"
#endif
#include "ocm/tun/tun_device.hpp"
#include "privileges.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/ocserv-modern/ocserv-modern.toml";

void usage(FILE* out) {
  std::fprintf(out,
               "usage: ocserv-modern [-c FILE] [-t] [--version]\n"
               "       ocserv-modern import-ocserv OCSERV_CONF > ocserv-modern.toml\n"
               "  -c, --config FILE   configuration file (default %s)\n"
               "  -t, --test-config   check the configuration, print every error, exit 0 (valid) or 1\n"
               "      --version       print the version and exit\n"
               "  -h, --help          this text\n"
               "The server runs in the foreground and logs to stderr; SIGINT/SIGTERM stop it,\n"
               "SIGHUP reloads the config, passwd file and certificate. Manage it with ocmctl.\n"
               "import-ocserv converts an ocserv.conf to TOML on stdout; unsupported keys become\n"
               "comments and are listed on stderr.\n",
               kDefaultConfig);
}

struct Options {
  std::string config_path = kDefaultConfig;
  bool test_only = false;
};

// Returns -1 to continue, or an exit code.
int parse_args(int argc, char** argv, Options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ocserv-modern: %s needs a file name\n", argv[i]);
        return 2;
      }
      opts.config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      opts.config_path = std::string(arg.substr(9));
    } else if (arg == "-t" || arg == "--test-config") {
      opts.test_only = true;
    } else if (arg == "--version") {
      std::printf("ocserv-modern %s\n", OCM_VERSION);
      return 0;
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "ocserv-modern: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  return -1;
}

// `import-ocserv FILE`: TOML on stdout, summary on stderr. Exit 0 when our own parser accepts
// the result, 1 when it does not (the errors are printed), 2 when FILE cannot be read.
int import_ocserv_command(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ocserv-modern import-ocserv OCSERV_CONF > ocserv-modern.toml\n");
    return 2;
  }
  std::string path = argv[2];
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "ocserv-modern: cannot read %s: %s\n", path.c_str(), std::strerror(errno));
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto imported = ocm::config::import_ocserv(text.str(), path);
  std::fwrite(imported.toml.data(), 1, imported.toml.size(), stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "import-ocserv: %u setting(s) converted, %zu unsupported\n", imported.converted,
               imported.unsupported.size());
  for (const auto& u : imported.unsupported) {
    std::fprintf(stderr, "  unsupported: %s\n", u.c_str());
  }
  for (const auto& n : imported.notes) {
    std::fprintf(stderr, "  note: %s\n", n.c_str());
  }
  auto parsed = ocm::config::parse(imported.toml, "<converted>");
  for (const auto& e : parsed.errors) {
    std::fprintf(stderr, "%s\n", ocm::config::format_error("<converted>", e).c_str());
  }
  return parsed.errors.empty() ? 0 : 1;
}

ocm::Result<std::unique_ptr<ocm::datapath::DataPlane>> make_data_plane(const ocm::config::Config& config,
                                                                       const std::vector<int>& tun_fds) {
#ifdef OCM_HAVE_DPDK
  if (config.datapath.driver == ocm::config::Driver::kDpdk) {
    const auto& d = config.datapath.dpdk;
    ocm::dpdk::DpdkDataPlaneSettings s;
    s.eal_args = d.eal_args;
    s.port = d.port;
    s.address = d.address.address;
    s.prefix_length = d.address.prefix_length;
    s.gateway = d.gateway;
    s.tap_name = d.tap_name;
    s.udp_port = config.server.dtls_port;
    s.pool = config.network.ipv4_network;
    s.mbufs = d.mbufs;
    s.rx_descriptors = d.rx_descriptors;
    s.tx_descriptors = d.tx_descriptors;
    s.tun_fd = tun_fds.front();  // one lcore, one TUN queue
    auto made = ocm::dpdk::DpdkDataPlane::create(s);
    if (!made) {
      return made.error();
    }
    return std::unique_ptr<ocm::datapath::DataPlane>(std::move(made).value());
  }
#endif
#ifdef OCM_HAVE_AF_XDP
  if (config.datapath.driver == ocm::config::Driver::kAfXdp) {
    const auto& x = config.datapath.af_xdp;
    using S = ocm::af_xdp::AfXdpDataPlaneSettings;
    S s;
    s.interface = x.interface;
    s.queues = x.queues;
    s.xdp_mode = x.xdp_mode == ocm::config::XdpMode::kNative    ? S::Mode::kNative
                 : x.xdp_mode == ocm::config::XdpMode::kGeneric ? S::Mode::kGeneric
                                                                : S::Mode::kAuto;
    s.zero_copy = x.zero_copy == ocm::config::ZeroCopy::kOn    ? S::ZeroCopy::kOn
                  : x.zero_copy == ocm::config::ZeroCopy::kOff ? S::ZeroCopy::kOff
                                                               : S::ZeroCopy::kAuto;
    s.frames_per_queue = x.frames_per_queue;
    s.udp_port = config.server.dtls_port;
    // bind was validated as an IPv4 literal; 0.0.0.0 leaves every local address to the program.
    s.udp_address = ocm::parse_ipv4(config.server.bind).value_or(0);
    s.pool = config.network.ipv4_network;
    s.tun_fds = tun_fds;
    auto made = ocm::af_xdp::AfXdpDataPlane::create(s);
    if (!made) {
      return made.error();
    }
    return std::unique_ptr<ocm::datapath::DataPlane>(std::move(made).value());
  }
#endif
  ocm::socket::SocketDataPlaneSettings plane_settings;
  plane_settings.bind_address = *ocm::parse_ipv4(config.server.bind);  // validated by config
  plane_settings.udp_port = config.server.dtls_port;
  plane_settings.pool = config.network.ipv4_network;
  plane_settings.tun_fds = tun_fds;
  auto made = ocm::socket::SocketDataPlane::create(plane_settings);
  if (!made) {
    return made.error();
  }
  return std::unique_ptr<ocm::datapath::DataPlane>(std::move(made).value());
}

int run_server(std::shared_ptr<const ocm::config::Config> config, const std::string& config_path) {
  const ocm::config::Driver driver = config->datapath.driver;
#ifndef OCM_HAVE_AF_XDP
  if (driver == ocm::config::Driver::kAfXdp) {
    std::fprintf(stderr, "ocserv-modern: the 'af_xdp' datapath driver is not compiled in (libbpf-dev, libxdp-dev or clang missing at build time)\n");
    return 1;
  }
#endif
#ifndef OCM_HAVE_DPDK
  if (driver == ocm::config::Driver::kDpdk) {
    std::fprintf(stderr, "ocserv-modern: the 'dpdk' datapath driver is not compiled in (libdpdk-dev missing at build time)\n");
    return 1;
  }
#endif
  const auto& net = config->network;
  ocm::tun::TunSettings tun_settings{net.device, net.ipv4_network.network + 1, net.ipv4_network, net.mtu,
                                     config->performance.tun_queues};
  // The dpdk lcore reads and writes plain packets (no virtio_net header).
  tun_settings.offloads = driver == ocm::config::Driver::kSocket || driver == ocm::config::Driver::kAfXdp;
  tun_settings.network6 = net.ipv6_network;
  auto tun = ocm::tun::TunDevice::open(tun_settings);
  if (!tun) {
    OCM_ERROR("%s", tun.error().message.c_str());
    return 1;
  }
  OCM_INFO("TUN device %s up with %s/%u, mtu %u", tun->name().c_str(),
           ocm::format_ipv4(tun_settings.address).c_str(), net.ipv4_network.length, net.mtu);
  if (net.ipv6_network) {
    ocm::Ipv6Addr server6 = net.ipv6_network->network;
    server6[15] = static_cast<uint8_t>(server6[15] | 1);
    OCM_INFO("TUN device %s has IPv6 %s", tun->name().c_str(),
             ocm::format_ipv6_prefix(server6, net.ipv6_network->length).c_str());
  }
  auto plane = make_data_plane(*config, tun->fds());
  if (!plane) {
    OCM_ERROR("%s", plane.error().message.c_str());
    return 1;
  }
  auto server = ocm::ctrl::Server::create(config, **plane, config_path);
  if (!server) {
    OCM_ERROR("%s", server.error().message.c_str());
    return 1;
  }
  // Everything that needs privilege is set up now (TUN, bound ports, keys read).
  // af_xdp reads its XDP counters through bpf(2), which needs CAP_BPF once root is gone.
  static constexpr int kBpf[] = {CAP_BPF};
  std::span<const int> also_keep;
  if (driver == ocm::config::Driver::kAfXdp) {
    also_keep = kBpf;
  }
  if (auto dropped = ocm::app::drop_capabilities_after_setup(also_keep); !dropped) {
    OCM_ERROR("%s", dropped.error().message.c_str());
    return 1;
  }
  return (*server)->run();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "import-ocserv") {
    return import_ocserv_command(argc, argv);
  }
  Options opts;
  if (int rc = parse_args(argc, argv, opts); rc >= 0) {
    return rc;
  }
  auto parsed = ocm::config::parse_file(opts.config_path);
  if (!parsed.errors.empty()) {
    for (const auto& e : parsed.errors) {
      std::fprintf(stderr, "%s\n", ocm::config::format_error(opts.config_path, e).c_str());
    }
    std::fprintf(stderr, "ocserv-modern: %zu error(s) in %s\n", parsed.errors.size(), opts.config_path.c_str());
    return 1;
  }
  if (opts.test_only) {
    std::printf("%s: configuration OK\n", opts.config_path.c_str());
    return 0;
  }
  ocm::log::set_level(parsed.config->monitoring.log_level);
  // A client vanishing mid-write must be an error code on that socket, not a dead server.
  std::signal(SIGPIPE, SIG_IGN);
  OCM_INFO("ocserv-modern %s starting with %s", OCM_VERSION, opts.config_path.c_str());
  return run_server(parsed.config, opts.config_path);
}
