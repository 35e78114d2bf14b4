#!/usr/bin/env python3
"""Interop smoke test of ocm-loadgen (perf/loadgen) against ocserv-modern.

Usage (as root):  loadgen_interop.py [--keep] [--sessions N] SERVER_EXE OCMCTL_EXE LOADGEN_EXE

Same namespaces as cstp_interop.py (client ns 10.99.0.2/24 -- server ns 10.99.0.1/24); the
client namespace gets four more addresses (10.99.0.3-6) so that ocm-loadgen's --source range is
used. ocm-loadgen opens N sessions (default 200) through TLS, XML auth, CONNECT and DTLS
(PSK-NEGOTIATE), pings through 5 of them, keeps all alive with DPD/keepalive (server dpd 5 s,
keepalive 4 s) and logs out with BYE at the end. Checks: every session established and still up
at the end, zero failures of any cause, DPDs answered, echo replies received; while the load is
up `ocmctl show status` and /metrics count exactly N active sessions; after the BYEs both drop
to 0. Every wait is bounded; no packet leaves the namespaces. Exit 0 pass, 1 fail, 77 skip.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402

STATS_PORT = 9100
EXTRA_SOURCES = ["10.99.0.3", "10.99.0.4", "10.99.0.5", "10.99.0.6"]
TRAFFIC_SESSIONS = 5
HOLD = 20          # seconds ocm-loadgen holds the sessions after the last one settled
SETTLE_TIMEOUT = 120


class LoadgenTest(ci.Test):
    def __init__(self, args):
        args.ocserv = False
        super().__init__(args)
        self.sock = self.path("ocmctl.sock")

    def make_files(self):
        super().make_files()
        with open(self.config) as f:
            text = f.read()
        # The pool (/24) holds 253 clients; no client cap below that.
        text = text.replace("max_clients = 16", "max_clients = 0")
        with open(self.config, "w") as f:
            f.write(text)
        with open(self.config, "a") as f:
            f.write(f'control_socket = "{self.sock}"\nenable_prometheus = true\nstats_bind = "127.0.0.1"\n'
                    f'stats_port = {STATS_PORT}\n')
        with open(self.config) as f:
            text = f.read()
        # Debug logging of 200 logins would slow the server down for nothing.
        with open(self.config, "w") as f:
            f.write(text.replace('log_level = "debug"', 'log_level = "info"'))

    def ocmctl_status(self):
        cp = subprocess.run([self.args.ocmctl, "-s", self.sock, "-j", "show", "status"], capture_output=True,
                            text=True, timeout=15)
        try:
            return json.loads(cp.stdout)
        except ValueError:
            return None

    def metric(self, name):
        code = (f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{STATS_PORT}/metrics',"
                f"timeout=5).read().decode(),end='')")
        cp = self.topo.ns(self.topo.srv, "python3", "-c", code, check=False, timeout=20)
        for line in cp.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return float(parts[1])
        return None

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        for a in EXTRA_SOURCES:
            ci.run(["ip", "-n", self.topo.cli, "addr", "add", f"{a}/24", "dev", "vc"])
        if not self.start_server():
            return
        n = self.args.sessions
        report = self.path("loadgen.json")
        cmd = ["ip", "netns", "exec", self.topo.cli, self.args.loadgen, "--host", ci.SERVER_IP,
               "--port", str(ci.PORT), "--user", ci.USER, "--password", ci.PASSWORD, "--sessions", str(n),
               "--rate", "100", "--concurrency", "64", "--dtls", "on", "--traffic", str(TRAFFIC_SESSIONS),
               "--traffic-pps", "20", "--duration", str(HOLD), "--timeout", "20",
               "--source", f"{ci.CLIENT_IP}-{EXTRA_SOURCES[-1]}", "--servercert", self.pin, "--json", report]
        ci.log("running: " + " ".join(cmd))
        lg = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        self.procs.append(lg)
        settled = threading.Event()
        lines = []

        def reader():
            for line in lg.stderr:
                lines.append(line.rstrip("\n"))
                if "sessions settled" in line:
                    settled.set()
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        settled.wait(SETTLE_TIMEOUT)
        settle_line = next((l for l in lines if "sessions settled" in l), "")
        self.check(f"all {n} sessions settled within {SETTLE_TIMEOUT} s", settled.is_set(), settle_line)
        self.check(f"{n} established, 0 failed when settled",
                   f"{n} established, 0 failed" in settle_line, settle_line)
        if settled.is_set():
            time.sleep(2)
            status = self.ocmctl_status()
            self.check(f"ocmctl show status: {n} active sessions",
                       bool(status) and status.get("Active sessions") == n, str(status)[:300])
            active = self.metric("ocserv_modern_active_sessions")
            self.check(f"/metrics: ocserv_modern_active_sessions == {n}", active == n, str(active))
        try:
            rc = lg.wait(timeout=HOLD + 60)
        except subprocess.TimeoutExpired:
            lg.kill()
            rc = None
        t.join(timeout=5)
        for line in lines[-25:]:
            ci.log("  loadgen| " + line)
        self.check("ocm-loadgen exits 0", rc == 0, f"exit {rc}")
        try:
            with open(report) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            self.check("JSON report readable", False, str(e))
            return
        self.check("report: established at end == sessions", doc["established_end"] == n,
                   str(doc["established_end"]))
        self.check("report: no failures", doc["failed"] == 0 and doc["failures"] == {}, str(doc["failures"]))
        lat = doc["latency_us"]
        self.check("report: every phase measured for every session",
                   all(lat[p]["count"] == n for p in ("tcp", "tls", "auth", "connect", "dtls", "total")),
                   str({p: lat[p]["count"] for p in lat}))
        self.check("report: DTLS cipher is PSK", "PSK" in doc["dtls_cipher"], doc["dtls_cipher"])
        ka = doc["keepalive"]
        self.check("report: CSTP and DTLS DPD sent and answered",
                   ka["cstp_dpd_answered"] > 0 and ka["dtls_dpd_answered"] > 0 and
                   ka["cstp_dpd_sent"] - ka["cstp_dpd_answered"] <= n and
                   ka["dtls_dpd_sent"] - ka["dtls_dpd_answered"] <= n, str(ka))
        self.check("report: keepalives sent", ka["cstp_keepalive_sent"] > 0, str(ka))
        tr = doc["traffic"]
        self.check(f"report: {TRAFFIC_SESSIONS} traffic sessions got >= 90% of their echo replies",
                   len(tr) == TRAFFIC_SESSIONS and all(x["tx_packets"] > 50 and x["rx_packets"] >= 0.9 * x["tx_packets"]
                                                       for x in tr), str(tr)[:400])
        # BYE with 0xB0 ends the sessions on the server.
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline:
            status = self.ocmctl_status()
            if status and status.get("Active sessions") == 0:
                break
            time.sleep(0.5)
        self.check("after BYE: ocmctl show status counts 0 sessions",
                   bool(status) and status.get("Active sessions") == 0, str(status)[:300])
        self.check("server still alive", self.server_alive())
        self.shutdown_server()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server")
    ap.add_argument("ocmctl")
    ap.add_argument("loadgen")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--sessions", type=int, default=200)
    args = ap.parse_args()
    rc = ci.preflight(args.server, args.ocmctl, args.loadgen)
    if rc is not None:
        return rc
    return ci.run_test(LoadgenTest(args))


if __name__ == "__main__":
    sys.exit(main())
