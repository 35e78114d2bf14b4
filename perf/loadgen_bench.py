#!/usr/bin/env python3
"""Scale benchmark of ocserv-modern with ocm-loadgen (issue 7). Reports figures; asserts nothing.

Usage (as root):  loadgen_bench.py [--sessions 10000] [--rate-sessions 2000] [--hold 60] [--keep]
                  [--scale-dtls --scale-procs 2] [--cycles 6 --cycle-sessions 2000] [--crypt-rounds N]
                  [--perf-record FILE] [--heaptrack-attach FILE] [--server-wrapper CMD]
                  SERVER OCMCTL LOADGEN

Topology and helpers from tests/interop/cstp_interop.py (namespaces it creates and deletes;
no packet leaves them). The server gets an ECDSA P-256 certificate (openssl, generated here),
min_tls_version = "1.3", plain auth (SHA-512 crypt, 5000 rounds unless --crypt-rounds), a /16
pool, max_clients = 0, and runs with the inherited RLIMIT_NOFILE, pinned to CPU 0 (with its
crypt thread pool); ocm-loadgen is pinned to CPU 1 and binds 8 source addresses.

0. (--cycles K) Leak or retention: K bursts of --cycle-sessions sessions (DTLS on) that log in
   and log out (BYE 0xB0); VmRSS and the ocmctl session count after each. RSS that grows cycle
   after cycle is a leak, RSS that stays up but flat is retention; --heaptrack-attach for proof.
1. Connect rate: --rate-sessions sessions, no rate limit, concurrency 128, DTLS on, hold 1 s.
   Figures: sessions/s over the ramp, latency percentiles per phase, and the server's CPU time per
   session (all threads, BYEs included), which other load on the VM does not distort.
   --perf-record FILE records the server meanwhile.
2. Scale: --sessions sessions held --hold s (CSTP only unless --scale-dtls) with 5 pinging
   sessions; --scale-procs P splits them over P ocm-loadgen processes (all on CPU 1) because one
   process here may not exceed 20000 fds and DTLS takes two per session. Server VmRSS before, 3 s
   and 15 s after all settled (what is left of a finished DTLS handshake may linger 10 s);
   per-session = (loaded - before) / N. While the load is up: `ocmctl show status` count, a real
   openconnect client logs in (CSTP) and pings the server's tunnel address.
--server-wrapper prefixes the server command (e.g. valgrind); VmRSS is then read from the server
process itself. --heaptrack-attach FILE attaches heaptrack once the server runs (a preloaded
heaptrack's thread would predate the server's capability drop, which refuses to start then).
Results go to stdout and to the JSON files in the temp dir (printed; kept with --keep).
"""

import argparse
import base64
import json
import os
import shlex
import signal
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
        self._server_pid = None

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
        if self.args.crypt_rounds:
            # The operator's hash sets the login cost (crypt runs once per login); the default
            # `openssl passwd -6` / ocpasswd hash has 5000 rounds.
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt
            salt = base64.b64encode(os.urandom(12)).decode().replace("+", ".")
            h = crypt.crypt(ci.PASSWORD, f"$6$rounds={self.args.crypt_rounds}${salt}$")
            with open(self.path("passwd"), "w") as f:
                f.write(f"{ci.USER}:*:{h}\n")

    def start_server(self):
        # The server does not raise RLIMIT_NOFILE itself (the systemd unit's LimitNOFILE does);
        # it inherits ours, which must exceed the session count (checked in main()).
        cmd = [*shlex.split(self.args.server_wrapper), self.args.server, "-c", self.config]
        logf = open(self.server_log, "wb")
        self.server = subprocess.Popen(["ip", "netns", "exec", self.topo.srv, "taskset", "-c", "0", *cmd],
                                       stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
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
        # ip netns exec and taskset exec: without a wrapper the Popen pid is the server's. A wrapper
        # (heaptrack) runs it as a descendant: the first process whose executable is the server.
        if self._server_pid is not None:
            return self._server_pid
        want = os.path.realpath(self.args.server)
        todo = [self.server.pid]
        while todo:
            pid = todo.pop(0)
            try:
                if os.path.realpath(f"/proc/{pid}/exe") == want:
                    self._server_pid = pid
                    return pid
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                continue
        return self.server.pid

    def stop_server(self):
        """SIGTERM to the server itself (a wrapper must see it exit normally to write its data)."""
        pid = self.server_pid()
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            ci.log("server did not stop within 120 s")
        if getattr(self, "heaptrack", None) is not None:
            try:
                self.heaptrack.wait(timeout=300)
            except subprocess.TimeoutExpired:
                ci.log("heaptrack did not finish within 300 s")

    def rss_kb(self):
        with open(f"/proc/{self.server_pid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def mem_kb(self):
        """VmRSS and RssAnon (heap + stacks; no file pages) of the server, kB."""
        out = {}
        with open(f"/proc/{self.server_pid()}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "RssAnon:")):
                    out[line.split(":")[0]] = int(line.split()[1])
        return out

    @staticmethod
    def cpu_s(pid):
        """utime + stime of a process (all its threads), seconds; None when it is gone."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def status(self):
        cp = subprocess.run([self.args.ocmctl, "-s", self.sock, "-j", "show", "status"], capture_output=True,
                            text=True, timeout=30)
        try:
            return json.loads(cp.stdout)
        except ValueError:
            return None

    def loadgen(self, name, sessions, extra, on_settled=None, timeout=900):
        procs = self.loadgen_many(name, [sessions], extra, on_settled, timeout)
        return procs[0]

    def loadgen_many(self, name, counts, extra, on_settled=None, timeout=900):
        """Runs one ocm-loadgen per entry of counts, concurrently (all on CPU 1); on_settled runs once
        every process has settled. Returns [(exit status, report)] in order."""
        runs = []
        for i, sessions in enumerate(counts):
            runs.append(self._start_loadgen(f"{name}{i}" if len(counts) > 1 else name, sessions, extra))
        if on_settled is not None:
            # Settled = every process said so; one that exits first (failure) ends the wait.
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if all(r["settled"].is_set() for r in runs):
                    on_settled()
                    break
                if any(r["p"].poll() is not None and not r["settled"].is_set() for r in runs):
                    break
                time.sleep(0.2)
        out = []
        for r in runs:
            out.append(self._finish_loadgen(r, timeout))
        self.last_loadgen_cpu_s = [r.get("cpu_s") for r in runs]
        return out

    def _start_loadgen(self, name, sessions, extra):
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
        return {"p": p, "t": t, "lines": lines, "settled": settled, "report": report}

    def _finish_loadgen(self, r, timeout):
        p, t, lines, report = r["p"], r["t"], r["lines"], r["report"]
        # ip netns exec and taskset exec: p.pid is ocm-loadgen. Its CPU time is sampled until it
        # exits (afterwards /proc no longer has it).
        deadline = time.monotonic() + timeout
        cpu = None
        while p.poll() is None and time.monotonic() < deadline:
            cpu = self.cpu_s(p.pid) or cpu
            time.sleep(0.2)
        r["cpu_s"] = cpu
        try:
            rc = p.wait(timeout=max(1.0, deadline - time.monotonic()))
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

    def cycles(self):
        """Leak or retention: the same login/logout burst K times; RSS after each."""
        out = []
        for i in range(self.args.cycles):
            rc, doc = self.loadgen(f"cycle{i}", self.args.cycle_sessions,
                                   ["--concurrency", "128", "--dtls", "on", "--duration", "1", "--quiet"])
            time.sleep(3)  # BYEs processed, close grace periods over
            mem = self.mem_kb()
            st = self.status()
            row = {"exit": rc, "established": (doc or {}).get("established_peak"), "failed": (doc or {}).get("failed"),
                   "rss_kb": mem.get("VmRSS"), "rss_anon_kb": mem.get("RssAnon"),
                   "active_sessions_after": st.get("Active sessions") if st else None}
            out.append(row)
            ci.log(f"cycle {i + 1}/{self.args.cycles}: {row}")
        self.results["cycles"] = out

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
        time.sleep(3 if self.args.server_wrapper else 1)
        if self.args.heaptrack_attach:
            # Attached after start-up: a preloaded heaptrack starts a thread before the server's
            # capability drop, which the server then refuses to run with.
            self.heaptrack = subprocess.Popen(["heaptrack", "-o", self.args.heaptrack_attach, "-p",
                                               str(self.server_pid())], stdin=subprocess.DEVNULL,
                                              stdout=open(self.path("heaptrack.log"), "wb"), stderr=subprocess.STDOUT)
            time.sleep(10)
        mem0 = self.mem_kb()
        rss0 = mem0.get("VmRSS")
        self.results["rss_idle_kb"] = rss0
        self.results["rss_anon_idle_kb"] = mem0.get("RssAnon")
        self.results["load_average"] = os.getloadavg()
        ci.log(f"server VmRSS idle: {rss0} kB (anon {mem0.get('RssAnon')} kB), load average {os.getloadavg()}")

        if self.args.cycles > 0:
            self.cycles()

        if self.args.rate_sessions > 0:
            self.rate()

        if self.args.sessions > 0:
            self.scale()
        self.passed += 1
        out = self.path("bench-results.json")
        with open(out, "w") as f:
            json.dump(self.results, f, indent=1)
        summary = {k: v for k, v in self.results.items() if k not in ("rate", "scale")}
        for k in ("rate", "scale"):
            if k not in self.results:
                continue
            for i, run in enumerate(self.results.get(k) if isinstance(self.results.get(k), list)
                                    else [self.results.get(k)]):
                d = (run or {}).get("report") or {}
                name = k if k == "rate" or self.args.scale_procs == 1 else f"{k}{i}"
                summary[name] = {x: d.get(x) for x in ("sessions", "established_peak", "established_end", "failed",
                                                        "failures", "ramp_us", "connect_rate_milli_per_s",
                                                        "tls_version", "dtls_cipher")}
                summary[name]["latency_us"] = d.get("latency_us")
                summary[name]["exit"] = (run or {}).get("exit")
        print(json.dumps(summary, indent=1), flush=True)
        ci.log(f"full results: {out}")
        self.stop_server()

    def rate(self):
        """Connect storm: server CPU per new session is the figure that survives a shared VM."""
        perf = None
        if self.args.perf_record:
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-p", str(self.server_pid()),
                                     "-o", self.args.perf_record], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        cpu0 = self.cpu_s(self.server_pid())
        t0 = time.monotonic()
        runs = self.loadgen_many("rate", [self.args.rate_sessions],
                                 ["--concurrency", "128", "--dtls", "on", "--duration", "1"])
        wall = time.monotonic() - t0
        cpu1 = self.cpu_s(self.server_pid())
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=120)
        rc, doc = runs[0]
        self.results["rate"] = {"exit": rc, "report": doc}
        self.results["rate_loadgen_cpu_s"] = self.last_loadgen_cpu_s[0]
        n = (doc or {}).get("established_peak") or self.args.rate_sessions
        if cpu0 is not None and cpu1 is not None:
            # Includes the BYEs and closes at the end: a whole session life, not only its login.
            self.results["rate_server_cpu_s"] = round(cpu1 - cpu0, 2)
            self.results["rate_server_cpu_us_per_session"] = round((cpu1 - cpu0) * 1e6 / max(1, n))
        self.results["rate_wall_s"] = round(wall, 2)
        self.results["rate_load_average"] = os.getloadavg()
        ci.log(f"rate phase: server CPU {self.results.get('rate_server_cpu_s')} s for {n} sessions "
               f"({self.results.get('rate_server_cpu_us_per_session')} us each), load {os.getloadavg()}")
        time.sleep(3)
        self.results["rss_after_rate_run_kb"] = self.rss_kb()

    def scale(self):
        def while_up():
            settled_at = time.monotonic()
            time.sleep(3)
            st = self.status()
            mem = self.mem_kb()
            self.results["rss_loaded_kb"] = mem.get("VmRSS")
            self.results["rss_anon_loaded_kb"] = mem.get("RssAnon")
            self.results["status_active_sessions"] = st.get("Active sessions") if st else None
            self.results["load_average_loaded"] = os.getloadavg()
            ci.log(f"all settled: VmRSS {mem.get('VmRSS')} kB (anon {mem.get('RssAnon')} kB), "
                   f"ocmctl active sessions {self.results['status_active_sessions']}")
            self.openconnect_check()
            # Idle for real: finished DTLS handshakes are dropped once the client uses the keys
            # or after a linger (lib/ctrl dtls_handshake.hpp, 10 s); measure again after it.
            time.sleep(max(0.0, settled_at + 15 - time.monotonic()))
            mem = self.mem_kb()
            self.results["rss_idle_loaded_kb"] = mem.get("VmRSS")
            self.results["rss_anon_idle_loaded_kb"] = mem.get("RssAnon")
            ci.log(f"15 s after settling: VmRSS {mem.get('VmRSS')} kB (anon {mem.get('RssAnon')} kB)")

        mem = self.mem_kb()
        rss_before = mem.get("VmRSS")
        self.results["rss_before_scale_kb"] = rss_before
        self.results["rss_anon_before_scale_kb"] = mem.get("RssAnon")
        procs = self.args.scale_procs
        counts = [self.args.sessions // procs + (1 if i < self.args.sessions % procs else 0) for i in range(procs)]
        runs = self.loadgen_many("scale", counts,
                                 ["--concurrency", str(max(1, 128 // procs)), "--dtls",
                                  "on" if self.args.scale_dtls else "off", "--duration", str(self.args.hold),
                                  "--traffic", "5", "--traffic-pps", "10", "--quiet"], on_settled=while_up)
        self.results["scale"] = [{"exit": rc, "report": doc} for rc, doc in runs] if procs > 1 else \
            {"exit": runs[0][0], "report": runs[0][1]}
        if self.results.get("rss_loaded_kb") and rss_before:
            self.results["rss_per_session_bytes"] = (self.results["rss_loaded_kb"] - rss_before) * 1024 // \
                max(1, self.args.sessions)
            self.results["rss_anon_per_session_bytes"] = \
                (self.results["rss_anon_loaded_kb"] - self.results["rss_anon_before_scale_kb"]) * 1024 // \
                max(1, self.args.sessions)
        if self.results.get("rss_idle_loaded_kb") and rss_before:
            self.results["rss_idle_per_session_bytes"] = \
                (self.results["rss_idle_loaded_kb"] - rss_before) * 1024 // max(1, self.args.sessions)
        time.sleep(3)
        mem = self.mem_kb()
        self.results["rss_after_scale_kb"] = mem.get("VmRSS")
        st = self.status()
        self.results["active_sessions_after_scale"] = st.get("Active sessions") if st else None


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
    ap.add_argument("--scale-procs", type=int, default=1,
                    help="ocm-loadgen processes sharing --sessions (each under its own open-file cap)")
    ap.add_argument("--cycles", type=int, default=0, help="login/logout bursts before the other phases")
    ap.add_argument("--cycle-sessions", type=int, default=2000)
    ap.add_argument("--server-wrapper", default="", help='prefix for the server command, e.g. "heaptrack -o F"')
    ap.add_argument("--heaptrack-attach", default="", metavar="FILE",
                    help="attach heaptrack to the running server (after its capability drop), output FILE")
    ap.add_argument("--crypt-rounds", type=int, default=0,
                    help="SHA-512 crypt rounds of the user's hash (default: openssl passwd -6, 5000)")
    ap.add_argument("--perf-record", default="", metavar="FILE",
                    help="perf record -g the server during the connect-rate phase, output FILE")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The server needs one fd per session (DTLS shares one UDP socket); each ocm-loadgen one per
    # session, two with DTLS (it raises its own soft limit up to this hard limit).
    per_loadgen = -(-args.sessions // max(1, args.scale_procs)) * (2 if args.scale_dtls else 1) + 256
    need = max(args.sessions + 256, per_loadgen, args.cycle_sessions * 2 + 256 if args.cycles else 0)
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
