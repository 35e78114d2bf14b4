// SPDX-License-Identifier: GPL-2.0-or-later
/* Steers UDP datagrams for the DTLS port into the AF_XDP socket of the queue they arrived on;
 * everything else (TLS, ARP, ICMP, other UDP, the DTLS port of another address) goes on to the
 * kernel untouched. The driver sets the address and port before loading, so the verifier sees
 * constants. */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ocm_xdp_shared.h"

#define VLAN_HLEN 4
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* Patched by the loader through the object's .rodata (ocm_xdp_shared.h). */
volatile const struct ocm_xdp_config ocm_cfg = {};

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, OCM_XDP_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} ocm_xsks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, OCM_XDP_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} ocm_xdp_stats SEC(".maps");

static __always_inline void count(__u32 slot) {
  __u64* v = bpf_map_lookup_elem(&ocm_xdp_stats, &slot);
  if (v) {
    *v += 1;
  }
}

static __always_inline int pass(__u32 slot) {
  count(slot);
  return XDP_PASS;
}

SEC("xdp")
int ocm_xdp_dtls(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) {
    return pass(OCM_XDP_PASS_MALFORMED);
  }
  __u16 proto = eth->h_proto;
  void* l3 = eth + 1;
  /* One 802.1Q tag: cheap, and enough for a server on a tagged access port. */
  if (proto == bpf_htons(ETH_P_8021Q)) {
    if (l3 + VLAN_HLEN > end) {
      return pass(OCM_XDP_PASS_MALFORMED);
    }
    proto = *(__u16*)(l3 + 2);
    l3 += VLAN_HLEN;
  }

  struct udphdr* udp;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = l3;
    if ((void*)(ip + 1) > end) {
      return pass(OCM_XDP_PASS_MALFORMED);
    }
    if (ip->ihl < 5) {
      return pass(OCM_XDP_PASS_MALFORMED);
    }
    if (ip->protocol != IPPROTO_UDP) {
      return pass(OCM_XDP_PASS_NOT_UDP);
    }
    if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
      return pass(OCM_XDP_PASS_FRAGMENT);
    }
    /* Only datagrams for the server's own address: the same port on another address of the
     * host (or forwarded through it) belongs to the kernel. */
    if (ocm_cfg.dtls_addr != 0 && ip->daddr != ocm_cfg.dtls_addr) {
      return pass(OCM_XDP_PASS_OTHER_ADDRESS);
    }
    udp = l3 + ip->ihl * 4;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = l3;
    if ((void*)(ip6 + 1) > end) {
      return pass(OCM_XDP_PASS_MALFORMED);
    }
    /* Extension headers are not walked: clients send plain UDP. */
    if (ip6->nexthdr != IPPROTO_UDP) {
      return pass(OCM_XDP_PASS_NOT_UDP);
    }
    /* A server bound to one IPv4 address has no IPv6 DTLS socket. */
    if (ocm_cfg.dtls_addr != 0) {
      return pass(OCM_XDP_PASS_OTHER_ADDRESS);
    }
    udp = (void*)(ip6 + 1);
  } else {
    return pass(OCM_XDP_PASS_NOT_IP);
  }

  if ((void*)(udp + 1) > end) {
    return pass(OCM_XDP_PASS_MALFORMED);
  }
  if (udp->dest != ocm_cfg.dtls_port) {
    return pass(OCM_XDP_PASS_OTHER_PORT);
  }
  /* XDP_PASS as the fallback: a queue without a socket still reaches the kernel. */
  int action = bpf_redirect_map(&ocm_xsks, ctx->rx_queue_index, XDP_PASS);
  count(action == XDP_REDIRECT ? OCM_XDP_REDIRECTED : OCM_XDP_NO_XSK);
  return action;
}

char LICENSE[] SEC("license") = "GPL";
