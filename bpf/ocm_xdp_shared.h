/* Layout shared by the XDP program (bpf/ocm_xdp.c) and the af_xdp driver that loads it: the
 * program's name, its map names and the slots of its counter map. C, so both compilers read it. */
#ifndef OCM_XDP_SHARED_H
#define OCM_XDP_SHARED_H

/* The kernel keeps 15 characters of a program name; the driver recognises a program it left
 * behind (crash, kill -9) by this name and replaces it, and refuses any other program. */
#define OCM_XDP_PROG_NAME "ocm_xdp_dtls"
#define OCM_XDP_XSKS_MAP "ocm_xsks"
#define OCM_XDP_STATS_MAP "ocm_xdp_stats"
/* Upper bound for [datapath.af_xdp] queues: the XSKMAP is indexed by rx queue. */
#define OCM_XDP_MAX_QUEUES 64

/* The program's only global, in .rodata: the loader patches it before load, so the verifier
 * and JIT see constants. One struct, so both sides agree on the offsets. */
struct ocm_xdp_config {
  unsigned int dtls_addr;    /* IPv4, network order; 0 = any local address ([server] bind 0.0.0.0) */
  unsigned short dtls_port;  /* network order */
  unsigned short reserved;
};

/* Per-CPU counters, one slot each; the driver sums the CPUs. */
enum ocm_xdp_stat {
  OCM_XDP_REDIRECTED = 0,   /* DTLS port, sent to the XSK of the rx queue */
  OCM_XDP_NO_XSK,           /* DTLS port, but no socket on that queue: passed to the kernel */
  OCM_XDP_PASS_NOT_IP,      /* ARP, LLDP, other EtherTypes */
  OCM_XDP_PASS_NOT_UDP,     /* TCP (TLS), ICMP, IPv6 with extension headers */
  OCM_XDP_PASS_OTHER_PORT,  /* UDP to another port */
  OCM_XDP_PASS_FRAGMENT,    /* IPv4 fragments: the kernel reassembles, we never see them */
  OCM_XDP_PASS_MALFORMED,   /* truncated headers: the kernel decides */
  OCM_XDP_PASS_OTHER_ADDRESS, /* DTLS port, but not our address (another local address, a
                                 routed packet, IPv6 while we bind an IPv4 address) */
  OCM_XDP_STAT_COUNT,
};

#endif
