#include "eth_port.hpp"

#include <rte_errno.h>

namespace ocm::dpdk {

std::string describe_ports() {
  std::string text = std::to_string(rte_eth_dev_count_avail()) + " port(s):";
  uint16_t id = 0;
  RTE_ETH_FOREACH_DEV(id) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(id, name);
    text += " " + std::to_string(id) + "=" + name;
  }
  return text;
}

Result<std::unique_ptr<EthPort>> EthPort::open(uint16_t port_id, rte_mempool* pool, uint16_t rx_descriptors,
                                               uint16_t tx_descriptors) {
  if (rte_eth_dev_is_valid_port(port_id) == 0) {
    return make_error("dpdk: port " + std::to_string(port_id) + " does not exist (" + describe_ports() +
                      "); check datapath.dpdk.port and the --vdev / PCI allow list in eal_args");
  }
  auto where = [port_id](const char* step, int rc) {
    return make_error("dpdk: port " + std::to_string(port_id) + ": " + step + ": " + rte_strerror(rc < 0 ? -rc : rc));
  };
  auto port = std::unique_ptr<EthPort>(new EthPort(port_id));
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(port_id, name);
  port->name_ = name;

  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) {
    return where("rte_eth_dev_info_get", rc);
  }
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(port_id, 1, 1, &conf); rc != 0) {
    return where("rte_eth_dev_configure", rc);
  }
  uint16_t nb_rx = rx_descriptors;
  uint16_t nb_tx = tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rx, &nb_tx); rc != 0) {
    return where("rte_eth_dev_adjust_nb_rx_tx_desc", rc);
  }
  int socket = rte_eth_dev_socket_id(port_id);
  unsigned queue_socket = socket < 0 ? 0U : static_cast<unsigned>(socket);
  if (int rc = rte_eth_rx_queue_setup(port_id, 0, nb_rx, queue_socket, nullptr, pool); rc != 0) {
    return where("rte_eth_rx_queue_setup", rc);
  }
  if (int rc = rte_eth_tx_queue_setup(port_id, 0, nb_tx, queue_socket, nullptr); rc != 0) {
    return where("rte_eth_tx_queue_setup", rc);
  }
  rte_ether_addr mac{};
  if (int rc = rte_eth_macaddr_get(port_id, &mac); rc != 0) {
    return where("rte_eth_macaddr_get", rc);
  }
  std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), port->mac_.begin());
  if (int rc = rte_eth_dev_start(port_id); rc != 0) {
    return where("rte_eth_dev_start", rc);
  }
  return port;
}

EthPort::~EthPort() { rte_eth_dev_stop(id_); }

}  // namespace ocm::dpdk
