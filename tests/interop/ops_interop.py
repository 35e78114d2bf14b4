#!/usr/bin/env python3
"""Operations interop test: ocmctl, /metrics, reload, disconnect with the real openconnect client.

Usage (as root):  ops_interop.py [--keep] SERVER_EXE OCMCTL_EXE

Reuses the namespaces, certificate, passwd file and client helpers of cstp_interop.py. The server
runs with its control socket in the test's temp dir and Prometheus on 127.0.0.1:9100 inside the
server namespace. Checks: `ocmctl -j show users` parses with json.loads and lists the client with
its addresses and byte counters; the other commands answer (valid JSON, exit codes); /metrics
parses as the text exposition format and counts the client's traffic; SIGHUP and `ocmctl reload`
keep the tunnel and report keys that need a restart; `show events` streams the disconnect that
`ocmctl disconnect user` causes, and the client exits with "Received server disconnect";
`ocmctl stop now` stops the server. Connect/disconnect scripts: the connect script's environment
(written to a file) has ocserv's variables with the right values, the disconnect script sees
STATS_*; a connect script that exits 1 or outlives script_timeout refuses the session (openconnect
fails cleanly, nothing stays attached, the server keeps serving); a client that leaves while its
script runs is handled. Exit status: 0 pass, 1 fail, 77 skipped (not root).
"""

import json
import os
import re
import signal
import subprocess
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402

STATS_PORT = 9100
SCRIPT_TIMEOUT = 2
# Connect/disconnect script: dumps its environment to DIR/<reason>-<ID>.env (atomically), then
# behaves as the flag files in DIR say: "refuse" -> exit 1, "hang" -> sleep past the timeout,
# "slow" -> take 1.5 s (less than SCRIPT_TIMEOUT) and succeed.
HOOK_SCRIPT = """#!/bin/sh
d=@DIR@
env > "$d/$REASON-$ID.env.tmp" && mv "$d/$REASON-$ID.env.tmp" "$d/$REASON-$ID.env"
[ "$REASON" = connect ] || exit 0
[ -e "$d/refuse" ] && exit 1
[ -e "$d/hang" ] && sleep 60
[ -e "$d/slow" ] && sleep 1.5
exit 0
"""
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse_exposition(text):
    """Strict enough text-format parser: returns ({sample: value}, {family: type}) or raises."""
    samples, types = {}, {}
    family = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if name in types:
                raise ValueError(f"family {name} announced twice")
            types[name] = kind
            family = name
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"not a sample line: {line!r}")
        name = m.group(1)
        if family is None or not (name == family or (types[family] == "histogram" and
                                                      name in (family + "_bucket", family + "_sum",
                                                               family + "_count"))):
            raise ValueError(f"sample {name} outside its family ({family})")
        value = m.group(3)
        samples[name + (m.group(2) or "")] = float("inf") if value == "+Inf" else float(value)
    return samples, types


class OpsTest(ci.Test):
    def __init__(self, args):
        args.ocserv = False
        super().__init__(args)
        self.sock = self.path("ocmctl.sock")
        self.events = None

    def make_files(self):
        super().make_files()
        self.hooks = self.path("hooks")
        os.makedirs(self.hooks)
        hook = self.path("hook.sh")
        with open(hook, "w") as f:
            f.write(HOOK_SCRIPT.replace("@DIR@", self.hooks))
        os.chmod(hook, 0o755)
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("[session]\n", f'[session]\nconnect_script = "{hook}"\n'
                                 f'disconnect_script = "{hook}"\nscript_timeout = {SCRIPT_TIMEOUT}\n', 1))
        with open(self.config, "a") as f:
            f.write(f'control_socket = "{self.sock}"\nenable_prometheus = true\nstats_bind = "127.0.0.1"\n'
                    f'stats_port = {STATS_PORT}\nper_user_metrics = true\n')

    def ocmctl(self, *words, json_out=False, timeout=15):
        cmd = [self.args.ocmctl, "-s", self.sock] + (["-j"] if json_out else []) + list(words)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def ocmctl_json(self, name, *words):
        cp = self.ocmctl(*words, json_out=True)
        try:
            doc = json.loads(cp.stdout)
        except ValueError as e:
            self.check(f"{name}: valid JSON", False, f"{e}: {cp.stdout[:300]!r} {cp.stderr[:200]!r}")
            return None
        self.check(f"{name}: exit 0 and valid JSON", cp.returncode == 0, f"exit {cp.returncode} {cp.stderr}")
        return doc

    def log_since_mark(self):
        with open(self.server_log, "rb") as f:
            f.seek(getattr(self, "log_mark", 0))
            return f.read().decode(errors="replace")

    def scrape(self):
        code = (f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{STATS_PORT}/metrics',"
                f"timeout=5).read().decode(),end='')")
        cp = self.topo.ns(self.topo.srv, "python3", "-c", code, check=False, timeout=20)
        return cp.returncode == 0, cp.stdout + cp.stderr

    def hook_env(self, reason, sid=None, timeout=10):
        """Waits for the env dump of a script run; returns the newest matching env dict or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            names = sorted((n for n in os.listdir(self.hooks) if n.startswith(reason + "-") and n.endswith(".env")
                            and (sid is None or n == f"{reason}-{sid}.env")),
                           key=lambda n: os.path.getmtime(os.path.join(self.hooks, n)))
            if names:
                return ci.Test.read_env(os.path.join(self.hooks, names[-1]))
            time.sleep(0.1)
        return None

    def check_connect_env(self, env, oc_env, sid):
        if not self.check("connect script ran with REASON=connect", env is not None and env.get("REASON") == "connect",
                          str(env)):
            return
        want = {"USERNAME": ci.USER, "DEVICE": self.server_tun, "IP_REAL": ci.CLIENT_IP,
                "IP_REAL_LOCAL": ci.SERVER_IP, "IP_LOCAL": ci.SERVER_TUN_IP,
                "IP_REMOTE": oc_env.get("INTERNAL_IP4_ADDRESS"), "ID": str(sid), "GROUPNAME": ""}
        for k, v in want.items():
            self.check(f"connect script env {k}={v}", env.get(k) == v, f"got {env.get(k)!r}")
        self.check("connect script env USER_AGENT is openconnect's",
                   "AnyConnect" in env.get("USER_AGENT", "") or "OpenConnect" in env.get("USER_AGENT", ""),
                   env.get("USER_AGENT"))
        host = socket.gethostname()
        self.check("connect script env HOSTNAME is the client's X-CSTP-Hostname",
                   env.get("HOSTNAME") == host or (len(host) >= 64 and env.get("HOSTNAME") == ""),
                   f"{env.get('HOSTNAME')!r} vs {host!r}")
        self.check("connect script env PATH is the minimal one", env.get("PATH", "").startswith("/usr/local/sbin:")
                   and "HOME" not in env, str(sorted(env)))
        self.check("connect script env has no STATS_*", not any(k.startswith("STATS_") for k in env))

    def refused_client(self, label, flag, expect_reason):
        """Starts a client while the hook refuses (flag file); the client must fail cleanly."""
        open(os.path.join(self.hooks, flag), "w").close()
        refusals_before = self.metric("ocserv_modern_connect_script_refusals_total")
        sessions_before = self.ocmctl_json(f"{label}: show sessions before", "show", "sessions", "all") or []
        self.mark_server_log()
        start = time.monotonic()
        c = self.start_client(label, ci.PASSWORD + "\n", extra=("-u", ci.USER, "--passwd-on-stdin"))
        rc = self.wait_exit(c, timeout=SCRIPT_TIMEOUT + 20)
        took = time.monotonic() - start
        os.unlink(os.path.join(self.hooks, flag))
        with open(c["log"], errors="replace") as f:
            oclog = f.read()
        logged = self.log_since_mark()
        self.check(f"{label}: openconnect fails without a tunnel (401, exit 2)",
                   rc == 2 and not os.path.exists(c["env_prefix"] + ".connect") and "401" in oclog,
                   f"exit {rc} after {took:.1f}s; {oclog[-300:]}")
        self.check(f"{label}: server logs the refusal ({expect_reason})",
                   "refused the session" in logged and expect_reason in logged, logged[-500:])
        users = self.ocmctl_json(f"{label}: show users", "show", "users")
        self.check(f"{label}: nothing attached after the refusal", users == [], str(users))
        sessions = self.ocmctl_json(f"{label}: show sessions", "show", "sessions", "all")
        self.check(f"{label}: refused session removed (cookie and lease)",
                   sessions is not None and len(sessions) == len(sessions_before), f"{sessions_before} -> {sessions}")
        self.check(f"{label}: refusal counted in /metrics",
                   self.metric("ocserv_modern_connect_script_refusals_total") == (refusals_before or 0) + 1)
        self.check(f"{label}: server alive", self.server_alive())
        return took

    def metric(self, name):
        ok, text = self.scrape()
        if not ok:
            return None
        try:
            return parse_exposition(text)[0].get(name)
        except ValueError:
            return None

    def script_steps(self):
        """After the main flow (no tunnel up): refusals, timeout, a client leaving mid-script, and
        a successful connect after all that."""
        self.refused_client("refuse", "refuse", "exit status 1")
        took = self.refused_client("timeout", "hang", "timed out")
        self.check("timeout: refused after about script_timeout", SCRIPT_TIMEOUT - 0.5 <= took <= SCRIPT_TIMEOUT + 10,
                   f"{took:.1f}s")

        # A client that goes away while its (slow) connect script runs.
        for n in os.listdir(self.hooks):
            os.unlink(os.path.join(self.hooks, n))
        open(os.path.join(self.hooks, "slow"), "w").close()
        log_offset = os.path.getsize(self.server_log)  # check() moves the shared mark
        c = self.start_client("leaver", ci.PASSWORD + "\n")
        env = self.hook_env("connect", timeout=20)
        c["proc"].kill()
        c["proc"].wait(timeout=10)
        self.check("leaver: connect script started", env is not None, "no connect env dump")
        deadline = time.monotonic() + 10
        logged = ""
        while time.monotonic() < deadline and "left while its connect script ran" not in logged:
            time.sleep(0.2)
            with open(self.server_log, "rb") as f:
                f.seek(log_offset)
                logged = f.read().decode(errors="replace")
        self.check("leaver: server notices the client left during the script",
                   "left while its connect script ran" in logged, logged[-400:])
        denv = self.hook_env("disconnect", sid=env.get("ID") if env else None, timeout=10)
        self.check("leaver: disconnect script pairs the successful connect script",
                   denv is not None and denv.get("STATS_BYTES_IN") == "0", str(denv))
        os.unlink(os.path.join(self.hooks, "slow"))
        users = self.ocmctl_json("leaver: show users", "show", "users")
        self.check("leaver: nothing attached", users == [], str(users))

        c = self.start_client("after", ci.PASSWORD + "\n")
        env = self.wait_connected(c)
        self.check("a client connects normally after refusals", env is not None, f"see {c['log']}")
        if env is not None:
            ok, summary = self.ping(ci.SERVER_TUN_IP, count=3)
            self.check("after refusals: ping through the tunnel", ok, summary)
        self.stop_client(c)

    def steps(self):
        st = os.stat(self.sock)
        self.check("control socket is mode 0600", (st.st_mode & 0o777) == 0o600, oct(st.st_mode))
        # After setup the server keeps only CAP_NET_ADMIN (12) and CAP_NET_RAW (13), in every set.
        caps = {}
        with open(f"/proc/{self.server.pid}/status") as f:
            for line in f:
                if line.startswith(("CapEff:", "CapPrm:", "CapBnd:", "CapInh:", "NoNewPrivs:")):
                    key, value = line.split(":", 1)
                    caps[key] = value.strip()
        want = (1 << 12) | (1 << 13)
        self.check("server dropped every capability but NET_ADMIN and NET_RAW after setup",
                   all(int(caps.get(k, "0"), 16) == want for k in ("CapEff", "CapPrm", "CapBnd"))
                   and caps.get("NoNewPrivs") == "1", str(caps))
        ok, detail = ci.caps_limited_to(self.server.pid, want)
        self.check("every server thread dropped them too", ok, detail)
        c = self.start_client("ops", ci.PASSWORD + "\n")
        env = self.wait_connected(c)
        if not self.check("client connected", env is not None, f"see {c['log']}"):
            return
        ok, summary = self.ping(ci.SERVER_TUN_IP, count=5)
        self.check("ping through the tunnel", ok, summary)

        users = self.ocmctl_json("show users", "show", "users")
        if users is not None:
            me = [u for u in users if u.get("Username") == ci.USER]
            detail = json.dumps(users)[:500]
            if self.check("show users lists the client", len(me) == 1, detail):
                u = me[0]
                self.check("user's Remote IP is the client", u.get("Remote IP") == ci.CLIENT_IP, detail)
                self.check("user's IPv4 is the leased address", u.get("IPv4") == env.get("INTERNAL_IP4_ADDRESS"),
                           f"{u.get('IPv4')} vs {env.get('INTERNAL_IP4_ADDRESS')}")
                self.check("user's byte counters count the pings",
                           isinstance(u.get("raw_rx"), int) and u["raw_rx"] >= 5 * 84 and u.get("raw_tx", 0) >= 5 * 84,
                           detail)
                for key in ("ID", "Groupname", "State", "vhost", "Device", "MTU", "P-t-P IPv4", "User-Agent",
                            "RX", "TX", "DPD", "KeepAlive", "Connected at", "raw_connected_at", "Session",
                            "TLS ciphersuite", "DTLS cipher"):
                    if key not in u:
                        self.check(f"show users has key {key!r}", False, detail)
                one = self.ocmctl_json("show id", "show", "id", str(u["ID"]))
                self.check("show id ID finds the user", bool(one) and one[0].get("Username") == ci.USER, str(one))
                self.sid = u["ID"]
                self.check_connect_env(self.hook_env("connect", sid=u["ID"]), env, u["ID"])
        named = self.ocmctl_json("show user", "show", "user", ci.USER)
        self.check("show user NAME finds the user", bool(named) and named[0].get("Username") == ci.USER, str(named))
        status = self.ocmctl_json("show status", "show", "status")
        self.check("show status counts one active session",
                   bool(status) and status.get("Active sessions") == 1 and status.get("raw_rx", 0) > 0, str(status))
        sessions = self.ocmctl_json("show sessions valid", "show", "sessions", "valid")
        self.check("show sessions valid lists the session", bool(sessions) and sessions[0].get("In use") is True,
                   str(sessions))
        bans = self.ocmctl_json("show ip bans", "show", "ip", "bans")
        self.check("show ip bans is an empty list", bans == [], str(bans))
        cp = self.ocmctl("unban", "ip", "10.1.1.1")
        self.check("unban ip of an address not in the ban list fails with exit 1",
                   cp.returncode == 1 and "not in the ban list" in cp.stderr,
                   f"exit {cp.returncode} {cp.stderr}")
        cp = self.ocmctl("show", "nonsense")
        self.check("unknown command exits 1", cp.returncode == 1, f"exit {cp.returncode}")
        cp = self.ocmctl("show", "user", "nobody")
        self.check("show user of an absent user exits 1", cp.returncode == 1, f"exit {cp.returncode}")
        cp = self.ocmctl("show", "users")
        self.check("text show users is a table with the user", cp.returncode == 0 and ci.USER in cp.stdout
                   and "vpn-ip" in cp.stdout, cp.stdout[:300])
        cp = subprocess.run([self.args.ocmctl, "-s", self.path("absent.sock"), "show", "status"],
                            capture_output=True, text=True, timeout=10)
        self.check("ocmctl without a server exits 3", cp.returncode == 3, f"exit {cp.returncode}")

        ok, text = self.scrape()
        if self.check("GET /metrics answers", ok, text[-300:]):
            try:
                samples, types = parse_exposition(text)
                self.check("/metrics parses", True)
            except ValueError as e:
                samples, types = {}, {}
                self.check("/metrics parses", False, str(e))
            self.check("metric: one active session", samples.get("ocserv_modern_active_sessions") == 1)
            self.check("metric: CSTP bytes counted",
                       samples.get('ocserv_modern_cstp_bytes_total{direction="rx"}', 0) >= 5 * 84 and
                       samples.get('ocserv_modern_cstp_bytes_total{direction="tx"}', 0) >= 5 * 84)
            self.check("metric: handshake histogram", samples.get("ocserv_modern_tls_handshake_duration_seconds_count",
                                                                  0) >= 1 and
                       types.get("ocserv_modern_tls_handshake_duration_seconds") == "histogram")
            self.check("metric: drops by reason",
                       'ocserv_modern_datapath_drops_total{reason="replay"}' in samples)
            self.check("metric: socket driver counters",
                       'ocserv_modern_driver_events_total{driver="socket",event="udp_send_failures"}' in samples
                       and 'ocserv_modern_driver_events_total{driver="socket",event="tun_gro_writes"}' in samples)
            self.check("metric: per-user series",
                       any(k.startswith("ocserv_modern_user_rx_bytes_total{") and f'username="{ci.USER}"' in k
                           for k in samples))
            counters = [k for k, t in types.items() if t == "counter"]
            self.check("every counter family ends in _total", all(k.endswith("_total") for k in counters), str(counters))

        # Reload: a new banner applies, a new TCP port needs a restart; the tunnel survives both.
        with open(self.config) as f:
            original = f.read()
        with open(self.config, "w") as f:
            f.write(original.replace("[server]\n", '[server]\nbanner = "reloaded"\n', 1)
                    .replace(f"tcp_port = {ci.PORT}", f"tcp_port = {ci.PORT + 1}"))
        self.mark_server_log()
        self.server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        logged = ""
        while time.monotonic() < deadline and "reload:" not in logged:
            time.sleep(0.2)
            logged = self.log_since_mark()
        self.check("SIGHUP reloads and names restart keys", "server.tcp_port" in logged and self.server_alive(),
                   logged[-400:])
        ok, summary = self.ping(ci.SERVER_TUN_IP, count=3)
        self.check("tunnel survives SIGHUP", ok and c["proc"].poll() is None, summary)
        cp = self.ocmctl("reload")
        self.check("ocmctl reload exits 0 and reports restart keys",
                   cp.returncode == 0 and "server.tcp_port" in cp.stdout, f"exit {cp.returncode} {cp.stdout} {cp.stderr}")
        with open(self.config, "w") as f:
            f.write(original.replace("[server]\n", "[server]\nbogus_key = 1\n", 1))
        cp = self.ocmctl("reload")
        self.check("reload with a broken config fails (exit 1), server keeps running",
                   cp.returncode == 1 and "bogus_key" in cp.stderr and self.server_alive(), cp.stderr)
        with open(self.config, "w") as f:
            f.write(original)

        # Events + disconnect.
        self.events = subprocess.Popen([self.args.ocmctl, "-s", self.sock, "-j", "show", "events"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(self.events)
        time.sleep(0.5)
        cp = self.ocmctl("disconnect", "user", ci.USER)
        self.check("disconnect user exits 0", cp.returncode == 0, f"exit {cp.returncode} {cp.stderr}")
        rc = self.wait_exit(c, timeout=20)
        with open(c["log"], errors="replace") as f:
            oclog = f.read()
        self.check("client exits after disconnect with status 1 and 'Received server disconnect'",
                   rc == 1 and "Received server disconnect" in oclog, f"exit {rc}; {oclog[-300:]}")
        time.sleep(0.5)
        self.events.terminate()
        out, _ = self.events.communicate(timeout=10)
        lines = out.splitlines()
        ok = bool(lines)  # ocmctl consumed the status line: every line is one JSON event
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                ok = False
        self.check("show events streams a JSON disconnect event for the user",
                   ok and any(e.get("Event") == "disconnect" and e.get("Username") == ci.USER for e in events),
                   out[:400])
        users = self.ocmctl_json("show users after disconnect", "show", "users")
        self.check("no users after disconnect", users == [], str(users))
        denv = self.hook_env("disconnect", sid=getattr(self, "sid", None))
        if self.check("disconnect script ran with REASON=disconnect",
                      denv is not None and denv.get("REASON") == "disconnect", str(denv)):
            self.check("disconnect script sees the tunnel's bytes and duration",
                       int(denv.get("STATS_BYTES_IN", "0")) >= 5 * 84 and int(denv.get("STATS_BYTES_OUT", "0")) >= 5 * 84
                       and int(denv.get("STATS_DURATION", "-1")) >= 1 and denv.get("USERNAME") == ci.USER,
                       {k: v for k, v in denv.items() if k.startswith("STATS_") or k == "USERNAME"})
        self.script_steps()

        cp = self.ocmctl("stop", "now")
        self.check("stop now exits 0", cp.returncode == 0, cp.stderr)
        try:
            rc = self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        self.check("server exits 0 after 'stop now'", rc == 0, f"exit {rc}")
        self.check("control socket removed at exit", not os.path.exists(self.sock))

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        if not self.start_server():
            return
        try:
            self.steps()
        except Exception as e:
            import traceback
            traceback.print_exc()
            self.check("ops steps completed without harness error", False, f"{type(e).__name__}: {e}")
        self.shutdown_server()


def main():
    return ci.main_for(OpsTest, __doc__, ocmctl=True)


if __name__ == "__main__":
    sys.exit(main())
