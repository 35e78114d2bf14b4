#!/usr/bin/env python3
"""Interop test: IPv6 inside the tunnel with the real openconnect client.

Usage (as root):  ipv6_interop.py [--keep] SERVER_EXE

The cstp_interop topology (three namespaces) gets IPv6 as well: the server has the pool
fd00:1::/64 (its TUN fd00:1::1, one /128 per client) and forwards to a "behind" network
fd00:55::/64 (server fd00:55::1, behind host fd00:55::2). The server pushes IPv6 split routes
for both, and openconnect's script (cstp_interop.VPN_SCRIPT) applies INTERNAL_IP6_NETMASK and
CISCO_IPV6_SPLIT_INC. Checks, over DTLS and over CSTP (--no-dtls): the CONNECT reply carries
X-CSTP-Address-IP6 inside the pool, ping -6 to the server's tunnel address and to the behind
host, an IPv6 TCP transfer both ways with intact sha256, and a packet with a spoofed IPv6 source
from the client is dropped and counted (datapath_drops_total / cstp_drops_total
inner6_src_spoofed on /metrics). --disable-ipv6 gets no IPv6 address. Exit 0 / 1 / 77 (not root).
"""

import hashlib
import ipaddress
import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402
import dtls_interop as di  # noqa: E402

log = ci.log
POOL6 = ipaddress.ip_network("fd00:1::/64")
SERVER_TUN6 = "fd00:1::1"
BEHIND6_NET = "fd00:55::/64"
BEHIND6_GW = "fd00:55::1"
BEHIND6_IP = "fd00:55::2"
SPOOF6 = "fd00:1::dead"          # inside the pool, but not the client's lease
METRICS_PORT = 9109
BULK6_PORT = 5006
BULK6_BYTES = 4 * 1024 * 1024


class Ipv6Test(di.DtlsTest):
    def __init__(self, args):
        args.only = None
        super().__init__(args)

    def write_config(self, mode):
        super().write_config(mode)
        with open(self.config) as f:
            text = f.read()
        # IPv6 pool, IPv6 routes (behind network and the pool itself, so that the client reaches
        # the server's tunnel address), an IPv6 DNS server, and /metrics for the drop counters.
        text = text.replace(f'routes = ["{ci.BEHIND_NET}"]',
                            f'ipv6_network = "{POOL6}"\n'
                            f'routes = ["{ci.BEHIND_NET}", "{BEHIND6_NET}", "{POOL6}"]')
        text = text.replace(f'dns_servers = ["{ci.SERVER_TUN_IP}"]',
                            f'dns_servers = ["{ci.SERVER_TUN_IP}", "{SERVER_TUN6}"]')
        text = text.replace('[monitoring]\n', f'[monitoring]\nenable_prometheus = true\n'
                                              f'stats_bind = "127.0.0.1"\nstats_port = {METRICS_PORT}\n')
        with open(self.config, "w") as f:
            f.write(text)

    def setup_ipv6_topology(self):
        t = self.topo
        ci.run(["ip", "-n", t.srv, "addr", "add", f"{BEHIND6_GW}/64", "dev", "vb", "nodad"])
        ci.run(["ip", "-n", t.bhd, "addr", "add", f"{BEHIND6_IP}/64", "dev", "vh", "nodad"])
        ci.run(["ip", "-n", t.bhd, "-6", "route", "add", str(POOL6), "via", BEHIND6_GW])
        t.ns(t.srv, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")

    # ---- evidence ---------------------------------------------------------------------------

    def metric(self, name, reason):
        """A counter from the server's /metrics (read from inside the server namespace)."""
        cp = self.topo.ns(self.topo.srv, sys.executable, "-c",
                          "import urllib.request,sys;"
                          f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{METRICS_PORT}/metrics',"
                          "timeout=5).read().decode())", check=False, timeout=15)
        m = re.search(r'^\S*' + re.escape(name) + r'\{reason="' + re.escape(reason) + r'"\} (\d+)$', cp.stdout, re.M)
        return int(m.group(1)) if m else None

    def start_bulk6_helper(self):
        helper = self.path("bulk6_helper.py")
        with open(helper, "w") as f:
            f.write(ci.BULK_HELPER.replace("srv = socket.socket()", "srv = socket.socket(socket.AF_INET6)"))
        p = subprocess.Popen(["ip", "netns", "exec", self.topo.bhd, sys.executable, helper, BEHIND6_IP,
                              str(BULK6_PORT), "500"], stdin=subprocess.DEVNULL,
                             stdout=open(self.path("bulk6.log"), "wb"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None:
            if self.topo.ns(self.topo.bhd, "ss", "-Hltn", f"sport = :{BULK6_PORT}", check=False).stdout.strip():
                return True
            time.sleep(0.1)
        return False

    def bulk6(self, mode, nbytes=BULK6_BYTES, timeout=60):
        """IPv6 TCP upload ('U') / download ('D') with the behind host; (ok, detail)."""
        deadline = time.monotonic() + timeout
        with ci.InNetns(self.topo.cli):
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.settimeout(15)
            s.connect((BEHIND6_IP, BULK6_PORT))
            s.sendall(mode.encode() + struct.pack("!Q", nbytes))
            got = b""
            if mode == "U":
                data = os.urandom(nbytes)
                s.sendall(data)
                want = hashlib.sha256(data).hexdigest()
                while len(got) < 64:
                    d = ci.recv_some(s, deadline)
                    if not d:
                        break
                    got += d
                return got.decode(errors="replace") == want, f"{nbytes} bytes up, sha256 {'match' if got.decode(errors='replace') == want else 'MISMATCH'}"
            buf = b""
            while True:
                d = ci.recv_some(s, deadline)
                if not d:
                    break
                buf += d
            want, data = buf[:64].decode(errors="replace"), buf[64:]
            ok = len(data) == nbytes and hashlib.sha256(data).hexdigest() == want
            return ok, f"{len(data)} of {nbytes} bytes down, sha256 {'match' if ok else 'MISMATCH'}"
        except (OSError, ci.ConnClosed) as e:
            return False, f"{type(e).__name__}: {e}"
        finally:
            s.close()

    # ---- steps ------------------------------------------------------------------------------

    def channel_checks(self, label, extra, drop_metric, drop_reason):
        c = self.connect(label, extra)
        if c is None:
            return
        env = c["env"] or {}
        addr6 = self.header(c, "X-CSTP-Address-IP6")
        ok = addr6 is not None and addr6.endswith("/128") and ipaddress.ip_address(addr6.split("/")[0]) in POOL6
        self.check(f"{label}: reply has X-CSTP-Address-IP6 inside {POOL6}", ok, str(addr6))
        self.check(f"{label}: client script got INTERNAL_IP6_ADDRESS / NETMASK",
                   env.get("INTERNAL_IP6_NETMASK") == addr6 and env.get("INTERNAL_IP6_ADDRESS") == (addr6 or "/").split("/")[0],
                   f"{env.get('INTERNAL_IP6_ADDRESS')} {env.get('INTERNAL_IP6_NETMASK')}")
        incs = {f"{env.get(f'CISCO_IPV6_SPLIT_INC_{i}_ADDR')}/{env.get(f'CISCO_IPV6_SPLIT_INC_{i}_MASKLEN')}"
                for i in range(int(env.get("CISCO_IPV6_SPLIT_INC", "0")))}
        self.check(f"{label}: IPv6 split-includes pushed", incs == {BEHIND6_NET, str(POOL6)}, str(sorted(incs)))
        ok, detail = self.ping(SERVER_TUN6, count=5)
        self.check(f"{label}: ping -6 the server's tunnel address {SERVER_TUN6}", ok, detail)
        ok, detail = self.ping(BEHIND6_IP, count=5, size=1200)
        self.check(f"{label}: ping -6 -s 1200 the behind host {BEHIND6_IP}", ok, detail)
        ok, detail = self.ping(ci.BEHIND_IP, count=3)
        self.check(f"{label}: IPv4 still works next to IPv6", ok, detail)
        for mode in ("U", "D"):
            ok, detail = self.bulk6(mode)
            self.check(f"{label}: IPv6 TCP {'upload' if mode == 'U' else 'download'} through the tunnel intact",
                       ok, detail)
        # A spoofed source: an extra address on the client's tun, inside the pool but not leased
        # to it. The kernel sends from it; the server must drop and count every such packet.
        before = self.metric(drop_metric, drop_reason)
        ci.run(["ip", "-n", self.topo.cli, "addr", "add", f"{SPOOF6}/128", "dev", c["ifname"], "nodad"])
        self.topo.ns(self.topo.cli, "ping", "-6", "-n", "-q", "-c", "5", "-i", "0.2", "-W", "1", "-I", SPOOF6,
                     BEHIND6_IP, check=False, timeout=20)
        time.sleep(0.5)
        after = self.metric(drop_metric, drop_reason)
        self.check(f"{label}: spoofed IPv6 source dropped and counted ({drop_metric} {drop_reason})",
                   before is not None and after is not None and after - before >= 5, f"{before} -> {after}")
        behind_rx = self.topo.ns(self.topo.bhd, "ip", "-6", "neigh", "show", check=False).stdout
        self.check(f"{label}: no reply path learned for the spoofed source", SPOOF6 not in behind_rx, "")
        self.stop(c)

    def check_dtls(self):
        self.channel_checks("dtls", (), "datapath_drops_total", "inner6_src_spoofed")

    def check_cstp(self):
        self.channel_checks("cstp", ("--no-dtls",), "cstp_drops_total", "inner_inner6_src_spoofed")

    def check_disable_ipv6(self):
        c = self.connect("no-ipv6", ("--disable-ipv6",))
        if c is None:
            return
        self.check("no-ipv6: no IPv6 address in the reply", self.header(c, "X-CSTP-Address-IP6") is None,
                   str(self.header(c, "X-CSTP-Address-IP6")))
        self.check("no-ipv6: no IPv6 routes in the reply", self.header(c, "X-CSTP-Split-Include-IP6") is None)
        ok, detail = self.ping(ci.BEHIND_IP, count=3)
        self.check("no-ipv6: IPv4 works", ok, detail)
        self.stop(c)

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.config_checks()
        self.topo.setup()
        self.setup_ipv6_topology()
        if not self.start_server():
            return
        self.check("IPv6 bulk helper listening", self.start_bulk6_helper())
        cp = ci.run(["ip", "-n", self.topo.srv, "-6", "addr", "show", "dev", self.server_tun], check=False)
        self.check(f"server TUN has {SERVER_TUN6}/64", f"{SERVER_TUN6}/64" in cp.stdout, cp.stdout.strip()[-200:])
        cp = ci.run(["ip", "-n", self.topo.srv, "-6", "route", "show", str(POOL6)], check=False)
        self.check(f"kernel routes {POOL6} to the server TUN", self.server_tun in cp.stdout, cp.stdout.strip())
        self.run_steps([self.check_dtls, self.check_cstp, self.check_disable_ipv6])
        self.stop_server()


def main():
    return ci.main_for(Ipv6Test, __doc__)


if __name__ == "__main__":
    sys.exit(main())
