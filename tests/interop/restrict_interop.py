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
Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root).
"""

import argparse
import os
import re
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

    def not_in_routes(self):
        """(datapath, cstp) not_in_routes counters from /metrics, or None."""
        code = (f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{METRICS_PORT}/metrics',"
                f"timeout=5).read().decode(),end='')")
        cp = self.topo.ns(self.topo.srv, "python3", "-c", code, check=False, timeout=20)
        if cp.returncode != 0:
            return None
        out = []
        for family in ("datapath_drops_total", "cstp_drops_total"):
            m = re.search(rf'^ocserv_modern_{family}\{{reason="not_in_routes"\}} (\d+)', cp.stdout, re.M)
            out.append(int(m.group(1)) if m else None)
        return tuple(out)

    def wait_dtls(self, c, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Established DTLS connection" in self.oc_log(c):
                return True
            time.sleep(0.2)
        return False

    def channel(self, label, restricted):
        c = self.start_client(label, ci.PASSWORD + "\n")
        env = self.wait_connected(c)
        if not self.check(f"{label}: tunnel up", env is not None, self.oc_log(c)[-300:]):
            return
        try:
            if self.use_dtls:
                self.check(f"{label}: DTLS established", self.wait_dtls(c))
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
        finally:
            self.stop_server()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", help="path to the ocserv-modern binary")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with logs")
    args = ap.parse_args()
    rc = ci.preflight(args.server)
    if rc is not None:
        return rc
    return ci.run_test(RestrictTest(args))


if __name__ == "__main__":
    sys.exit(main())
