#!/usr/bin/env python3
"""Interop test: restrict-user-to-routes enforced in the data path, with the real openconnect.

Usage (as root):  restrict_interop.py [--keep] SERVER_EXE

Same namespaces and helpers as cstp_interop.py. The server announces routes = [10.55.0.0/24];
alice's per-user file says restrict-user-to-routes = true. For the DTLS data channel (the
pipeline's validate_inner stage) and for CSTP (--no-dtls, the slow path) the test checks:
the behind host 10.55.0.2 and the server's tunnel address answer pings; after
`ip route add 10.66.0.0/24 dev <tun>` in the client namespace, pings to 10.66.0.1 go into the
tunnel and are dropped and counted as not_in_routes in /metrics (datapath_drops_total for
DTLS, cstp_drops_total for CSTP). Control: without the per-user file the same pings are not
counted (the restriction, not something else, drops them).

restrict-user-to-ports (same server, no restart: per-user files are read at each CONNECT):
alice's file says restrict-user-to-ports = "tcp(BULK_PORT), icmp()". Over DTLS and over CSTP:
pings to the behind host answer and an upload to its BULK_PORT completes; a TCP connect to
another port times out (its SYNs never arrive: no RST) and UDP datagrams are dropped, both
counted as port_not_allowed. Then "!(tcp(BULK_PORT))": BULK_PORT times out and is counted,
another port is refused by the behind host (its SYN went through), pings answer.
Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root).
"""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402
import auth_interop as ai  # noqa: E402

METRICS_PORT = 9117
OTHER_NET = "10.66.0.0/24"
OTHER_IP = "10.66.0.1"


class RestrictTest(ai.AuthTest):
    def __init__(self, args):
        super().__init__(args)
        self.use_dtls = False

    def write_config(self, name, auth):
        super().write_config(name, auth)
        with open(self.config) as f:
            text = f.read()
        text = text.replace("[monitoring]\n", f'[monitoring]\nenable_prometheus = true\n'
                                              f'stats_bind = "127.0.0.1"\nstats_port = {METRICS_PORT}\n')
        with open(self.config, "w") as f:
            f.write(text)

    def oc_cmd(self, ifname, extra):
        cmd = super().oc_cmd(ifname, extra)
        if self.use_dtls:
            cmd.remove("--no-dtls")
        return cmd

    def not_in_routes(self, reason="not_in_routes"):
        """(datapath, cstp) counters of a drop reason from /metrics, or None."""
        code = (f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{METRICS_PORT}/metrics',"
                f"timeout=5).read().decode(),end='')")
        cp = self.topo.ns(self.topo.srv, "python3", "-c", code, check=False, timeout=20)
        if cp.returncode != 0:
            return None
        out = []
        for family in ("datapath_drops_total", "cstp_drops_total"):
            m = re.search(rf'^ocserv_modern_{family}\{{reason="{reason}"\}} (\d+)', cp.stdout, re.M)
            out.append(int(m.group(1)) if m else None)
        return tuple(out)

    def wait_dtls(self, c, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Established DTLS connection" in self.oc_log(c):
                return True
            time.sleep(0.2)
        return False

    def connected(self, label):
        """A client that is up (and on DTLS when the test uses it), or None."""
        c = self.start_client(label, ci.PASSWORD + "\n")
        env = self.wait_connected(c)
        if not self.check(f"{label}: tunnel up", env is not None, self.oc_log(c)[-300:]):
            return None
        if self.use_dtls:
            self.check(f"{label}: DTLS established", self.wait_dtls(c))
        return c

    def channel(self, label, restricted):
        c = self.connected(label)
        if c is None:
            return
        try:
            ok, detail = self.ping(ci.BEHIND_IP)
            self.check(f"{label}: behind host inside the announced route answers", ok, detail)
            ok, detail = self.ping(ci.SERVER_TUN_IP)
            self.check(f"{label}: server's tunnel address answers", ok, detail)
            self.topo.ns(self.topo.cli, "ip", "route", "replace", OTHER_NET, "dev", c["ifname"])
            before = self.not_in_routes()
            self.ping(OTHER_IP, count=4)
            after = self.not_in_routes()
            if not self.check(f"{label}: /metrics has both not_in_routes counters",
                              before is not None and after is not None and None not in before + after,
                              f"{before} {after}"):
                return
            dp, cstp = after[0] - before[0], after[1] - before[1]
            if not restricted:
                self.check(f"{label}: unrestricted user: nothing counted as not_in_routes", dp == 0 and cstp == 0,
                           f"datapath +{dp}, cstp +{cstp}")
            elif self.use_dtls:
                self.check(f"{label}: pings outside the routes dropped in the pipeline (datapath_drops_total)",
                           dp >= 4, f"datapath +{dp}, cstp +{cstp}")
            else:
                self.check(f"{label}: pings outside the routes dropped on CSTP (cstp_drops_total)",
                           cstp >= 4, f"datapath +{dp}, cstp +{cstp}")
        finally:
            self.stop_client(c)

    def port_not_allowed(self):
        return self.not_in_routes("port_not_allowed")

    def tcp_connect(self, port, timeout=3):
        """'connected', 'refused' (an RST came back: the SYN got through) or 'timeout'."""
        with ci.InNetns(self.topo.cli):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect((ci.BEHIND_IP, port))
            return "connected"
        except ConnectionRefusedError:
            return "refused"
        except (socket.timeout, TimeoutError):
            return "timeout"
        except OSError as e:
            return f"{type(e).__name__}: {e}"
        finally:
            s.close()

    def send_udp(self, port, count=4):
        with ci.InNetns(self.topo.cli):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _ in range(count):
                s.sendto(b"restricted?", (ci.BEHIND_IP, port))
                time.sleep(0.05)
        finally:
            s.close()

    def dropped_as_port(self, label, before, what):
        """Checks that port_not_allowed grew on the channel in use since `before`."""
        time.sleep(0.3)
        after = self.port_not_allowed()
        if not self.check(f"{label}: /metrics has both port_not_allowed counters",
                          before is not None and after is not None and None not in before + after,
                          f"{before} {after}"):
            return
        dp, cstp = after[0] - before[0], after[1] - before[1]
        grew = dp if self.use_dtls else cstp
        where = "pipeline (datapath_drops_total)" if self.use_dtls else "CSTP (cstp_drops_total)"
        self.check(f"{label}: {what} counted as port_not_allowed in the {where}", grew >= 1,
                   f"datapath +{dp}, cstp +{cstp}")

    def ports_channel(self, label, negated):
        c = self.connected(label)
        if c is None:
            return
        try:
            ok, detail = self.ping(ci.BEHIND_IP)
            self.check(f"{label}: ping (icmp) answers", ok, detail)
            if not negated:
                ok, detail = self.bulk("U", nbytes=256 * 1024, timeout=30)
                self.check(f"{label}: upload to the allowed tcp({ci.BULK_PORT}) completes", ok, detail)
                before = self.port_not_allowed()
                got = self.tcp_connect(ci.BULK_PORT + 1)
                self.check(f"{label}: tcp({ci.BULK_PORT + 1}) not listed: connect times out", got == "timeout", got)
                self.dropped_as_port(label, before, f"SYNs to tcp({ci.BULK_PORT + 1})")
                before = self.port_not_allowed()
                self.send_udp(ci.BULK_PORT)
                self.dropped_as_port(label, before, f"datagrams to udp({ci.BULK_PORT})")
            else:
                before = self.port_not_allowed()
                got = self.tcp_connect(ci.BULK_PORT)
                self.check(f"{label}: negated tcp({ci.BULK_PORT}): connect times out", got == "timeout", got)
                self.dropped_as_port(label, before, f"SYNs to tcp({ci.BULK_PORT})")
                before = self.port_not_allowed()
                got = self.tcp_connect(ci.BULK_PORT + 1)
                after = self.port_not_allowed()
                self.check(f"{label}: any other port passes (tcp({ci.BULK_PORT + 1}) refused by the host)",
                           got == "refused", got)
                self.check(f"{label}: nothing counted for the other port",
                           before is not None and after is not None and before == after, f"{before} {after}")
        finally:
            self.stop_client(c)

    def ports(self):
        if not self.check("ports: bulk helper listening", self.start_bulk_helper()):
            return
        user_file = self.path(f"users/{ci.USER}")
        with open(user_file, "w") as f:
            f.write(f'restrict-user-to-ports = "tcp({ci.BULK_PORT}), icmp()"\n')
        for dtls in (True, False):
            self.use_dtls = dtls
            self.ports_channel("ports-" + ("dtls" if dtls else "cstp"), False)
        with open(user_file, "w") as f:
            f.write(f'restrict-user-to-ports = "!( tcp({ci.BULK_PORT}) )"\n')
        for dtls in (True, False):
            self.use_dtls = dtls
            self.ports_channel("ports-negated-" + ("dtls" if dtls else "cstp"), True)
        os.unlink(user_file)

    def restrict(self):
        os.makedirs(self.path("users"), exist_ok=True)
        with open(self.path(f"users/{ci.USER}"), "w") as f:
            f.write("restrict-user-to-routes = true\n")
        if not self.restart("restrict", f'method = "plain"\nconfig_per_user = "{self.path("users")}"'):
            return
        for dtls in (True, False):
            self.use_dtls = dtls
            self.channel("restricted-" + ("dtls" if dtls else "cstp"), True)
        os.unlink(self.path(f"users/{ci.USER}"))
        self.use_dtls = True
        self.channel("unrestricted-dtls", False)

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        try:
            self.restrict()
            if self.server is not None and self.server.poll() is None:
                self.ports()
        finally:
            self.stop_server()


def main():
    return ci.main_for(RestrictTest, __doc__)


if __name__ == "__main__":
    sys.exit(main())
