#!/usr/bin/env python3
"""Interop test: RADIUS authentication and accounting against a real freeradius.

Usage (as root):  radius_interop.py [--keep] SERVER_EXE

Same namespaces and helpers as cstp_interop.py. A private freeradius (`freeradius -X -d DIR`,
config written to the temp dir from a copy of Debian's, own site on 127.0.0.1:21812/21813
inside the server namespace) knows alice (Framed-IP-Address 192.168.100.77, Class
"OU=engineers;ops") and carol (no attributes). The server runs method = "radius" with
accounting and a 2 s interim interval. Checks, with the real openconnect client:
  - alice logs in, gets 192.168.100.77 and group engineers; carol gets a pool address;
  - a wrong password is "Login failed" (Access-Reject), no tunnel;
  - accounting in freeradius's detail file: one Start, Interim-Updates, one Stop (after the
    logout), all with one Acct-Session-Id across a cookie reconnect, and octet counts within
    10 % of the ping traffic sent through both connections.
Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root, no freeradius).
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402

RADIUS_PORT = 21812  # not 1812 (a system freeradius) nor 18120 (Debian's inner-tunnel site)
SECRET = "ocm-test-secret"
ALICE_IP = "192.168.100.77"
CAROL_PASSWORD = "carols-password"
PING_SIZE = 1200  # ICMP payload: IP packet = +28, CSTP frame = +8
PING_COUNT = 150


def write_freeradius(d, auth_port, users, secret):
    """A private copy of Debian's freeradius config: our own site (PAP users file, detail file
    for accounting) on 127.0.0.1, nothing of /etc written to."""
    shutil.copytree("/etc/freeradius/3.0", d, symlinks=True)
    for sub in ("sites-enabled",):
        for f in os.listdir(os.path.join(d, sub)):
            os.unlink(os.path.join(d, sub, f))
    # Modules the site does not use and that need more set-up (EAP certificates, external tools).
    for m in ("eap", "mschap", "ntlm_auth", "detail", "detail.log", "radutmp", "sradutmp", "unix",
              "dynamic_clients", "replicate", "soh", "exec", "echo", "linelog", "passwd"):
        p = os.path.join(d, "mods-enabled", m)
        if os.path.lexists(p):
            os.unlink(p)
    conf = os.path.join(d, "radiusd.conf")
    with open(conf) as f:
        text = f.read()
    text = re.sub(r"(?m)^raddbdir = .*$", f"raddbdir = {d}", text)
    text = re.sub(r"(?m)^logdir = .*$", f"logdir = {d}/log", text)
    text = re.sub(r"(?m)^run_dir = .*$", f"run_dir = {d}/run", text)
    text = re.sub(r"(?m)^\s*(user|group) = freerad$", "", text)
    with open(conf, "w") as f:
        f.write(text)
    os.makedirs(os.path.join(d, "log"), exist_ok=True)
    os.makedirs(os.path.join(d, "run"), exist_ok=True)
    with open(os.path.join(d, "clients.conf"), "w") as f:
        f.write(f"client ocm {{\n  ipaddr = 127.0.0.1\n  secret = {secret}\n}}\n")
    with open(os.path.join(d, "mods-enabled", "detail"), "w") as f:
        f.write("detail {\n  filename = ${logdir}/acct-detail\n  escape_filenames = no\n"
                "  permissions = 0600\n  header = \"%t\"\n}\n")
    with open(os.path.join(d, "mods-config", "files", "authorize"), "w") as f:
        f.write(users)
    with open(os.path.join(d, "sites-enabled", "ocm"), "w") as f:
        f.write(f"""server ocm {{
listen {{
  type = auth
  ipaddr = 127.0.0.1
  port = {auth_port}
}}
listen {{
  type = acct
  ipaddr = 127.0.0.1
  port = {auth_port + 1}
}}
authorize {{
  files
  pap
}}
authenticate {{
  Auth-Type PAP {{
    pap
  }}
}}
preacct {{
}}
accounting {{
  detail
}}
post-auth {{
}}
}}
""")



def parse_detail(path):
    """freeradius detail file -> list of dicts (one per Accounting-Request)."""
    records = []
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return records
    for block in text.split("\n\n"):
        rec = {}
        for line in block.splitlines():
            m = re.match(r"^\s+([A-Za-z0-9-]+) = (.*)$", line)
            if m:
                rec[m.group(1)] = m.group(2).strip().strip('"')
        if rec:
            records.append(rec)
    return records


def octets(rec, direction):
    return int(rec.get(f"Acct-{direction}-Octets", 0)) + (int(rec.get(f"Acct-{direction}-Gigawords", 0)) << 32)


class RadiusTest(ci.Test):
    def __init__(self, args):
        args.ocserv = False
        super().__init__(args)
        self.raddb = self.path("raddb")
        self.detail = os.path.join(self.raddb, "log", "acct-detail")
        self.sent = 0      # ping bytes client -> server (CSTP frames)
        self.received = 0  # server -> client

    def start_freeradius(self):
        users = (f'alice Cleartext-Password := "{ci.PASSWORD}"\n'
                 f'  Framed-IP-Address = {ALICE_IP},\n'
                 f'  Class = "OU=engineers;ops"\n\n'
                 f'carol Cleartext-Password := "{CAROL_PASSWORD}"\n')
        write_freeradius(self.raddb, RADIUS_PORT, users, SECRET)
        logf = open(self.path("freeradius.log"), "wb")
        p = subprocess.Popen(["ip", "netns", "exec", self.topo.srv, "freeradius", "-X", "-d", self.raddb],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.procs.append(p)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and p.poll() is None:
            cp = self.topo.ns(self.topo.srv, "ss", "-Hlun", f"sport = :{RADIUS_PORT}", check=False, timeout=10)
            if cp.stdout.strip():
                return self.check("freeradius listening on 127.0.0.1", True)
            time.sleep(0.2)
        self.tail(self.path("freeradius.log"), label="freeradius")
        return self.check("freeradius listening on 127.0.0.1", False, f"exit {p.poll()}")

    def write_config(self):
        self.config = self.path("radius.toml")
        with open(self.config, "w") as f:
            f.write(f"""# generated by tests/interop/radius_interop.py
[server]
bind = "{ci.SERVER_IP}"
tcp_port = {ci.PORT}
dtls_port = {ci.PORT}
auth_timeout = 30

[crypto]
cert_file = "{self.path('cert.pem')}"
key_file = "{self.path('key.pem')}"

[auth]
method = "radius"

[auth.radius]
servers = ["127.0.0.1:{RADIUS_PORT}"]
secret = "{SECRET}"
nas_identifier = "ocm-interop"
timeout = 2
retries = 1
accounting = true
acct_interim_interval = 2

[network]
device = "{self.server_tun}"
ipv4_network = "{ci.POOL}"
routes = ["{ci.BEHIND_NET}"]

[session]
cookie_timeout = 60

[monitoring]
log_level = "debug"
control_socket = ""
""")
        cp = ci.run([self.args.server, "-t", "-c", self.config], check=False, timeout=20)
        return self.check("config with [auth.radius] accepted by -t", cp.returncode == 0,
                          (cp.stdout + cp.stderr).strip()[-300:])

    def server_log_text(self):
        with open(self.server_log, errors="replace") as f:
            return f.read()

    def traffic(self, label):
        cp = self.topo.ns(self.topo.cli, "ping", "-n", "-q", "-c", str(PING_COUNT), "-i", "0.01", "-W", "2",
                          "-s", str(PING_SIZE), ci.SERVER_TUN_IP, check=False, timeout=60)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", cp.stdout)
        ok = m is not None and int(m.group(2)) > PING_COUNT * 0.9
        self.check(f"{label}: ping through the tunnel", ok, m.group(0) if m else cp.stdout[-200:])
        if m:
            frame = PING_SIZE + 28 + 8
            self.sent += int(m.group(1)) * frame
            self.received += int(m.group(2)) * frame

    def logins(self):
        c = self.start_client("alice", ci.PASSWORD + "\n")
        env = self.wait_connected(c)
        self.check("accept: alice logs in through RADIUS", env is not None, self.tail_text(c))
        if env is not None:
            self.check("accept: Framed-IP-Address is the tunnel address",
                       env.get("INTERNAL_IP4_ADDRESS") == ALICE_IP, str(env.get("INTERNAL_IP4_ADDRESS")))
            self.check("accept: Class OU=engineers;ops -> group engineers",
                       "user 'alice' authenticated in group engineers" in self.server_log_text())
            self.stop_client(c)
        c = self.start_client("carol", CAROL_PASSWORD + "\n", ("-u", "carol", "--passwd-on-stdin"))
        env = self.wait_connected(c)
        addr = env.get("INTERNAL_IP4_ADDRESS") if env else None
        self.check("accept: carol (no Framed-IP-Address) gets a pool address",
                   addr is not None and addr != ALICE_IP and addr.startswith("192.168.100."), str(addr))
        if env is not None:
            self.stop_client(c)
        c = self.start_client("wrong", "not-the-password\n")
        rc = self.wait_exit(c, 30)
        with open(c["log"], errors="replace") as f:
            out = f.read()
        self.check("reject: wrong password -> Login failed, no tunnel",
                   rc not in (0, None) and not os.path.exists(c["env_prefix"] + ".connect")
                   and "Login failed" in out and "login failed for user 'alice'" in self.server_log_text(),
                   f"exit {rc}")
        self.check("reject: not logged as a RADIUS error (it was a real Access-Reject)",
                   "RADIUS check for user 'alice' failed" not in self.server_log_text())

    def tail_text(self, c):
        with open(c["log"], errors="replace") as f:
            return f.read()[-300:]

    def accounting(self):
        start_records = len(parse_detail(self.detail))
        cmd = ["ip", "netns", "exec", self.topo.cli, "openconnect", "--protocol=anyconnect", "--servercert", self.pin,
               "--non-inter", "-u", ci.USER, "--passwd-on-stdin", "--authenticate",
               f"https://{ci.SERVER_IP}:{ci.PORT}/"]
        cp = subprocess.run(cmd, input=ci.PASSWORD + "\n", capture_output=True, text=True, timeout=30)
        cookie = None
        for line in cp.stdout.splitlines():
            if line.startswith("COOKIE="):
                cookie = shlex.split(line[len("COOKIE="):])[0]
        if not self.check("acct: --authenticate gives a cookie", bool(cookie), cp.stderr[-300:]):
            return
        c1 = self.connect_client_checked("acct1", cookie + "\n", extra=("--cookie-on-stdin",))
        if not c1:
            return
        self.traffic("acct1")
        time.sleep(3)  # > acct_interim_interval: at least one Interim-Update while up
        self.stop_client(c1, signal.SIGHUP)  # detach: the session (and its accounting) goes on
        time.sleep(1.5)
        mid = parse_detail(self.detail)[start_records:]
        self.check("acct: no Stop after a detach (the cookie session lives on)",
                   not any(r.get("Acct-Status-Type") == "Stop" for r in mid),
                   str([r.get("Acct-Status-Type") for r in mid]))
        c2 = self.connect_client_checked("acct2", cookie + "\n", extra=("--cookie-on-stdin",))
        if not c2:
            return
        self.traffic("acct2")
        self.stop_client(c2, signal.SIGINT)  # logout: the session ends, Stop follows
        deadline = time.monotonic() + 10
        records = []
        while time.monotonic() < deadline:
            records = parse_detail(self.detail)[start_records:]
            if any(r.get("Acct-Status-Type") == "Stop" for r in records):
                break
            time.sleep(0.3)
        kinds = [r.get("Acct-Status-Type") for r in records]
        self.check("acct: one Start, Interim-Updates, one Stop", kinds.count("Start") == 1
                   and kinds.count("Stop") == 1 and kinds.count("Interim-Update") >= 1, str(kinds))
        ids = {r.get("Acct-Session-Id") for r in records}
        self.check("acct: one Acct-Session-Id across the cookie reconnect", len(ids) == 1 and None not in ids,
                   str(ids))
        stop = next((r for r in records if r.get("Acct-Status-Type") == "Stop"), None)
        if stop is None:
            return
        self.check("acct: Stop names user, Framed-IP-Address, NAS-Identifier",
                   stop.get("User-Name") == ci.USER and stop.get("Framed-IP-Address") == ALICE_IP
                   and stop.get("NAS-Identifier") == "ocm-interop", str(stop))
        self.check("acct: Stop's Acct-Terminate-Cause is User-Request",
                   stop.get("Acct-Terminate-Cause") == "User-Request", str(stop.get("Acct-Terminate-Cause")))
        got_in, got_out = octets(stop, "Input"), octets(stop, "Output")
        for name, got, want in (("Input", got_in, self.sent), ("Output", got_out, self.received)):
            self.check(f"acct: Acct-{name}-Octets within 10 % of the traffic of both connections",
                       want > 0 and abs(got - want) <= want * 0.10, f"got {got}, ping traffic {want}")
        interims = [r for r in records if r.get("Acct-Status-Type") == "Interim-Update"]
        self.check("acct: Interim-Update octets never exceed the Stop's",
                   all(octets(r, "Input") <= got_in and octets(r, "Output") <= got_out for r in interims))

    def shutdown_stops(self):
        """A server shutdown ends every session: each started accounting session gets its Stop."""
        start_records = len(parse_detail(self.detail))
        c = self.connect_client_checked("acct-shutdown", ci.PASSWORD + "\n")
        if not c:
            return
        self.traffic("acct-shutdown")
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.check("acct: server exits after SIGTERM", False)
            return
        records = parse_detail(self.detail)[start_records:]
        kinds = [r.get("Acct-Status-Type") for r in records]
        stop = next((r for r in records if r.get("Acct-Status-Type") == "Stop"), None)
        self.check("acct: shutdown sends the Stop before the server exits",
                   kinds.count("Start") == 1 and kinds.count("Stop") == 1, str(kinds))
        self.check("acct: shutdown Stop's Acct-Terminate-Cause is NAS-Request",
                   stop is not None and stop.get("Acct-Terminate-Cause") == "NAS-Request",
                   str(stop.get("Acct-Terminate-Cause") if stop else None))
        self.wait_exit(c, 15)

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        if not self.start_freeradius() or not self.write_config():
            return
        self.mark_server_log()
        if not self.start_server():
            return
        self.run_steps((self.logins, self.accounting, self.shutdown_stops), need_server=False)
        if self.failed:
            self.tail(self.path("freeradius.log"), n=80, label="freeradius")


def main():
    def no_freeradius():
        if shutil.which("freeradius") is None and not os.path.exists("/usr/sbin/freeradius"):
            return "freeradius is not installed (scripts/install-deps.sh installs it)"
        return None

    return ci.main_for(RadiusTest, __doc__, skip=no_freeradius)


if __name__ == "__main__":
    sys.exit(main())
