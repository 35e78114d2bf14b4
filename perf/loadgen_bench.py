#!/usr/bin/env python3
"""Scale benchmark of ocserv-modern with ocm-loadgen (issue 7). Reports figures; asserts nothing.

Usage (as root):  loadgen_bench.py [--sessions 10000] [--rate-sessions 2000] [--keep] SERVER OCMCTL LOADGEN

Topology and helpers from tests/interop/cstp_interop.py (namespaces it creates and deletes;
no packet leaves them). The server gets an ECDSA P-256 certificate (openssl, generated here),
min_tls_version = "1.3", plain auth (SHA-512 crypt), a /16 pool, max_clients = 0, and runs with
the inherited RLIMIT_NOFILE, pinned to CPU 0; ocm-loadgen is pinned to CPU 1 and binds 8
source addresses.

1. Connect rate: --rate-sessions sessions, no rate limit, concurrency 128, DTLS on, hold 1 s.
   Figures: sessions/s over the ramp, latency percentiles per phase.
2. Scale: --sessions sessions held --hold s (CSTP only unless --scale-dtls: a process here may not
   exceed 20000 fds and DTLS takes a UDP socket per session) with 5 pinging sessions. Server VmRSS before
   (idle, after start) and while all sessions are up; per-session = (after - before) / N.
   While the load is up: `ocmctl show status` count, and a real openconnect client logs in
   (CSTP) and pings the server's tunnel address.
Results go to stdout and to the JSON files in the temp dir (printed; kept with --keep).
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "interop"))
import cstp_interop as ci  # noqa: E402

POOL = "172.20.0.0/16"
POOL_GW = "172.20.0.1"
SOURCES = [f"10.99.0.{i}" for i in range(2, 10)]


class Bench(ci.Test):
    def __init__(self, args):
        args.ocserv = False
        super().__init__(args)
        self.sock = self.path("ocmctl.sock")
        self.results = {}

    def make_files(self):
        super().make_files()  # ECDSA P-256 certificate, passwd with a SHA-512 crypt hash
        with open(self.config) as f:
            text = f.read()
        text = (text.replace("max_clients = 16", "max_clients = 0")
                .replace(f'ipv4_network = "{ci.POOL}"', f'ipv4_network = "{POOL}"')
                .replace(f'dns_servers = ["{ci.SERVER_TUN_IP}"]', f'dns_servers = ["{POOL_GW}"]')
                .replace("[crypto]\n", '[crypto]\nmin_tls_version = "1.3"\n')
                .replace(f"dpd = {ci.DPD}", "dpd = 60").replace(f"keepalive = {ci.KEEPALIVE}", "keepalive = 30")
                .replace("handshake_timeout = 3", "handshake_timeout = 30")
                .replace("request_timeout = 3", "request_timeout = 30")
                .replace("auth_timeout = 10", "auth_timeout = 60")
                .replace('log_level = "debug"', 'log_level = "warning"'))
        with open(self.config, "w") as f:
            f.write(text + f'control_socket = "{self.sock}"\n')

    def start_server(self):
        # The server does not raise RLIMIT_NOFILE itself (the systemd unit's LimitNOFILE does);
        # it inherits ours, which must exceed the session count (checked in main()).
        cmd = [self.args.server, "-c", self.config]
        logf = open(self.server_log, "wb")
        self.server = subprocess.Popen(["ip", "netns", "exec", self.topo.srv, "taskset", "-c", "0", *cmd], stdin=subprocess.DEVNULL, stdout=logf,
                                       stderr=subprocess.STDOUT)
        self.procs.append(self.server)
        logf.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            cp = self.topo.ns(self.topo.srv, "ss", "-Hltn", f"sport = :{ci.PORT}", check=False, timeout=10)
            if cp.stdout.strip():
                return True
            if self.server.poll() is not None:
                break
            time.sleep(0.2)
        ci.log("server did not start")
        return False

    def server_pid(self):
        # ip netns exec + prlimit + taskset all exec: the Popen pid is the server's.
        return self.server.pid

    def rss_kb(self):
        with open(f"/proc/{self.server_pid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def status(self):
        cp = subprocess.run([self.args.ocmctl, "-s", self.sock, "-j", "show", "status"], capture_output=True,
                            text=True, timeout=30)
        try:
            return json.loads(cp.stdout)
        except ValueError:
            return None

    def loadgen(self, name, sessions, extra, on_settled=None, timeout=900):
        report = self.path(f"{name}.json")
        cmd = ["ip", "netns", "exec", self.topo.cli, "taskset", "-c", "1", self.args.loadgen,
               "--host", ci.SERVER_IP, "--port", str(ci.PORT), "--user", ci.USER, "--password", ci.PASSWORD,
               "--sessions", str(sessions), "--source", f"{SOURCES[0]}-{SOURCES[-1]}", "--servercert", self.pin,
               "--json", report, "--timeout", "60", *extra]
        ci.log("running: " + " ".join(cmd))
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        lines = []
        settled = threading.Event()

        def reader():
            for line in p.stderr:
                lines.append(line.rstrip("\n"))
                if "sessions settled" in line:
                    settled.set()
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        if on_settled is not None and settled.wait(timeout):
            on_settled()
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = None
        t.join(timeout=5)
        for line in lines:
            if not line.startswith("ocm-loadgen: t="):
                ci.log("  loadgen| " + line)
        try:
            with open(report) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            doc = None
        return rc, doc

    def openconnect_check(self):
        c = self.start_client("under-load", ci.PASSWORD + "\n")
        t0 = time.monotonic()
        env = self.wait_connected(c, timeout=60)
        login_s = time.monotonic() - t0
        ok, summary = self.ping(POOL_GW, count=5) if env else (False, "not connected")
        self.stop_client(c)
        self.results["openconnect_under_load"] = {"connected": env is not None, "login_s": round(login_s, 2),
                                                  "ping_ok": ok, "ping": summary}
        ci.log(f"openconnect under load: connected={env is not None} in {login_s:.1f} s, ping ok={ok} {summary}")

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        for a in SOURCES[1:]:
            ci.run(["ip", "-n", self.topo.cli, "addr", "add", f"{a}/24", "dev", "vc"])
        # The script given to openconnect peers with the pool's gateway.
        with open(self.path("vpnscript.sh")) as f:
            script = f.read().replace(ci.SERVER_TUN_IP, POOL_GW)
        with open(self.path("vpnscript.sh"), "w") as f:
            f.write(script)
        if not self.start_server():
            self.failed += 1
            return
        time.sleep(1)
        rss0 = self.rss_kb()
        self.results["rss_idle_kb"] = rss0
        ci.log(f"server VmRSS idle: {rss0} kB")

        if self.args.rate_sessions > 0:
            rc, doc = self.loadgen("rate", self.args.rate_sessions,
                                   ["--concurrency", "128", "--dtls", "on", "--duration", "1"])
            self.results["rate"] = {"exit": rc, "report": doc}
            time.sleep(3)
            self.results["rss_after_rate_run_kb"] = self.rss_kb()

        def while_up():
            time.sleep(3)
            st = self.status()
            rss = self.rss_kb()
            self.results["rss_loaded_kb"] = rss
            self.results["status_active_sessions"] = st.get("Active sessions") if st else None
            ci.log(f"all settled: VmRSS {rss} kB, ocmctl active sessions {self.results['status_active_sessions']}")
            self.openconnect_check()

        rss_before = self.rss_kb()
        self.results["rss_before_scale_kb"] = rss_before
        rc, doc = self.loadgen("scale", self.args.sessions,
                               ["--concurrency", "128", "--dtls", "on" if self.args.scale_dtls else "off", "--duration", str(self.args.hold),
                                "--traffic", "5", "--traffic-pps", "10", "--quiet"], on_settled=while_up)
        self.results["scale"] = {"exit": rc, "report": doc}
        if self.results.get("rss_loaded_kb") and rss_before:
            self.results["rss_per_session_bytes"] = (self.results["rss_loaded_kb"] - rss_before) * 1024 // \
                max(1, self.args.sessions)
        self.passed += 1
        out = self.path("bench-results.json")
        with open(out, "w") as f:
            json.dump(self.results, f, indent=1)
        summary = {k: v for k, v in self.results.items() if k not in ("rate", "scale")}
        for k in ("rate", "scale"):
            d = (self.results.get(k) or {}).get("report") or {}
            summary[k] = {x: d.get(x) for x in ("sessions", "established_peak", "established_end", "failed",
                                                 "failures", "ramp_us", "connect_rate_milli_per_s",
                                                 "tls_version", "dtls_cipher")}
            summary[k]["latency_us"] = d.get("latency_us")
            summary[k]["exit"] = (self.results.get(k) or {}).get("exit")
        print(json.dumps(summary, indent=1), flush=True)
        ci.log(f"full results: {out}")
        self.server.terminate()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server")
    ap.add_argument("ocmctl")
    ap.add_argument("loadgen")
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--rate-sessions", type=int, default=2000)
    ap.add_argument("--hold", type=int, default=60)
    ap.add_argument("--scale-dtls", action="store_true",
                    help="DTLS in the scale phase too (ocm-loadgen then needs 2 fds per session)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.sessions * (2 if args.scale_dtls else 1) + 64
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
        except (ValueError, OSError):
            ci.log(f"RLIMIT_NOFILE hard limit {hard} < {need} needed and cannot be raised here")
            return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(need, hard)) if hard != resource.RLIM_INFINITY else need,
                                                hard))
    rc = ci.preflight(args.server, args.ocmctl, args.loadgen)
    if rc is not None:
        return rc
    return ci.run_test(Bench(args))


if __name__ == "__main__":
    sys.exit(main())
