#!/usr/bin/env python3
"""Interop test: ocserv-modern against the real openconnect client (CSTP over TLS, no DTLS).

Usage (as root):  cstp_interop.py [--keep] [--ocserv] SERVER_EXE

Everything happens inside three network namespaces this test creates and always deletes:

    client ns  10.99.0.2/24 --veth-- 10.99.0.1/24  server ns  10.55.0.1/24 --veth-- 10.55.0.2/24  behind ns
    (openconnect, tun)                             (server, its TUN,                  (route to the
                                                    ip_forward=1)                      pool via .1)

The server hands out 192.168.100.0/24 (its TUN is 192.168.100.1) and pushes the split route
10.55.0.0/24, so the client reaches the "behind" host through the tunnel. No packet leaves these
namespaces; every wait is bounded. Exit status: 0 all checks passed, 1 a check failed, 77 skipped
(not root). --ocserv runs the same harness against Debian's /usr/sbin/ocserv (to validate the
harness itself; some negative checks legitimately differ there). --keep keeps the temp dir.
"""

import argparse
import base64
import ctypes
import hashlib
import ipaddress
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77

SERVER_IP = "10.99.0.1"
CLIENT_IP = "10.99.0.2"
BEHIND_GW = "10.55.0.1"
BEHIND_IP = "10.55.0.2"
BEHIND_NET = "10.55.0.0/24"
POOL = ipaddress.ip_network("192.168.100.0/24")
SERVER_TUN_IP = "192.168.100.1"
PORT = 4443
BULK_PORT = 5001
BULK_BYTES = 8 * 1024 * 1024

USER = "alice"
PASSWORD = "secret123"

HANDSHAKE_TIMEOUT = 3
REQUEST_TIMEOUT = 3
AUTH_TIMEOUT = 10
DPD = 5          # short, so that DPD/keepalive frames really flow during the test
KEEPALIVE = 4

UA = "Open AnyConnect VPN Agent v9.01-3"

CLONE_NEWNET = 0x40000000


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------------------------
# Processes and namespaces


def run(cmd, timeout=20, check=True, input_data=None):
    """Runs a command with a timeout; returns CompletedProcess (text)."""
    cp = subprocess.run(cmd, input=input_data, capture_output=True, text=True, timeout=timeout)
    if check and cp.returncode != 0:
        raise RuntimeError(f"command failed ({cp.returncode}): {shlex.join(cmd)}\n{cp.stdout}{cp.stderr}")
    return cp


_libc = ctypes.CDLL(None, use_errno=True)


class InNetns:
    """Moves the calling (main) thread into a named netns and back; sockets created inside keep
    that namespace for their whole life."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.orig = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns({self.name}): {os.strerror(err)}")
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        try:
            if _libc.setns(self.orig, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns(back): {os.strerror(err)}")
        finally:
            os.close(self.orig)
        return False


class Topology:
    def __init__(self, tag):
        self.srv = f"ocm-{tag}-srv"
        self.cli = f"ocm-{tag}-cli"
        self.bhd = f"ocm-{tag}-bhd"
        self.created = []

    def ns(self, name, *cmd, timeout=20, check=True, input_data=None):
        return run(["ip", "netns", "exec", name, *cmd], timeout=timeout, check=check, input_data=input_data)

    def setup(self):
        for n in (self.srv, self.cli, self.bhd):
            run(["ip", "netns", "add", n])
            self.created.append(n)
            run(["ip", "-n", n, "link", "set", "lo", "up"])
        # veth pairs are created directly inside the namespaces: the host netns is never touched.
        run(["ip", "-n", self.srv, "link", "add", "vs", "type", "veth", "peer", "name", "vc", "netns", self.cli])
        run(["ip", "-n", self.srv, "link", "add", "vb", "type", "veth", "peer", "name", "vh", "netns", self.bhd])
        run(["ip", "-n", self.srv, "addr", "add", f"{SERVER_IP}/24", "dev", "vs"])
        run(["ip", "-n", self.srv, "addr", "add", f"{BEHIND_GW}/24", "dev", "vb"])
        run(["ip", "-n", self.srv, "link", "set", "vs", "up"])
        run(["ip", "-n", self.srv, "link", "set", "vb", "up"])
        run(["ip", "-n", self.cli, "addr", "add", f"{CLIENT_IP}/24", "dev", "vc"])
        run(["ip", "-n", self.cli, "link", "set", "vc", "up"])
        run(["ip", "-n", self.bhd, "addr", "add", f"{BEHIND_IP}/24", "dev", "vh"])
        run(["ip", "-n", self.bhd, "link", "set", "vh", "up"])
        run(["ip", "-n", self.bhd, "route", "add", str(POOL), "via", BEHIND_GW])
        self.ns(self.srv, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for n in (self.srv, self.cli, self.bhd):
            self.ns(n, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")

    def teardown(self):
        for n in reversed(self.created):
            try:
                cp = run(["ip", "netns", "pids", n], timeout=10, check=False)
                for pid in cp.stdout.split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    if not run(["ip", "netns", "pids", n], timeout=10, check=False).stdout.split():
                        break
                    time.sleep(0.1)
                run(["ip", "netns", "del", n], timeout=10, check=False)
            except Exception as e:  # keep tearing down the others
                log(f"teardown {n}: {e}")
        self.created.clear()


def thread_capabilities(pid):
    """{tid: {"CapEff": int, "CapPrm": int, "CapBnd": int, "NoNewPrivs": str}} for every thread of
    pid: capabilities are per thread, so a thread started before the drop could keep root."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        caps = {}
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("CapEff", "CapPrm", "CapBnd"):
                        caps[key] = int(value.strip(), 16)
                    elif key in ("NoNewPrivs", "Name"):
                        caps[key] = value.strip()
        except OSError:
            continue
        out[tid] = caps
    return out


def caps_limited_to(pid, allowed):
    """(ok, detail): every thread holds at most `allowed` in CapEff/CapPrm/CapBnd, with no_new_privs."""
    threads = thread_capabilities(pid)
    bad = {tid: c for tid, c in threads.items()
           if any(c.get(k, 0) & ~allowed for k in ("CapEff", "CapPrm", "CapBnd")) or c.get("NoNewPrivs") != "1"}
    names = sorted({c.get("Name", "?") for c in threads.values()})
    detail = f"{len(threads)} threads ({', '.join(names)})"
    if bad:
        detail += "; still privileged: " + "; ".join(
            f"{c.get('Name')}[{tid}] eff={c.get('CapEff', 0):x} bnd={c.get('CapBnd', 0):x} nnp={c.get('NoNewPrivs')}"
            for tid, c in list(bad.items())[:4])
    return bool(threads) and not bad, detail


def remove_stale_namespaces():
    """Deletes namespaces left behind by an earlier run of this test that was SIGKILLed."""
    cp = run(["ip", "netns", "list"], check=False, timeout=10)
    for line in cp.stdout.splitlines():
        m = re.match(r"^(ocm-(\d+)-(srv|cli|bhd))\b", line)
        if not m:
            continue
        pid = int(m.group(2))
        if pid == os.getpid() or os.path.exists(f"/proc/{pid}"):
            continue
        name = m.group(1)
        for p in run(["ip", "netns", "pids", name], check=False, timeout=10).stdout.split():
            try:
                os.kill(int(p), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "del", name], check=False, timeout=10)
        log(f"removed stale namespace {name}")


# --------------------------------------------------------------------------------------------
# Raw TLS / HTTP helpers for the bad-input checks


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ConnClosed(Exception):
    pass


def recv_some(sock, deadline):
    """One recv bounded by the deadline. Returns b'' on orderly close; raises ConnClosed on
    reset/TLS EOF; socket.timeout if the deadline passes."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise socket.timeout("deadline")
    sock.settimeout(remaining)
    try:
        return sock.recv(65536)
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError, BrokenPipeError):
        return b""
    except ssl.SSLError as e:
        raise ConnClosed(f"TLS error: {e}")


def wait_closed(sock, timeout):
    """Reads (discarding) until the peer closes. Returns elapsed seconds, or None if still open."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        try:
            data = recv_some(sock, deadline)
        except socket.timeout:
            return None
        except (ConnClosed, OSError):
            return time.monotonic() - start
        if not data:
            return time.monotonic() - start


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self.version = version

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def status_line(self):
        return f"{self.version} {self.status} {self.reason}"


def read_response(sock, timeout=10, buf=b"", has_body=True):
    """Reads one HTTP response. Returns (Response, leftover bytes)."""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        if len(buf) > 65536:
            raise ValueError("response header too large")
        data = recv_some(sock, deadline)
        if not data:
            raise ConnClosed(f"closed before a full response header (got {buf[:200]!r})")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
    if not m:
        raise ValueError(f"bad status line {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
    resp = Response(int(m.group(2)), m.group(3), headers, b"", m.group(1))
    if has_body:
        cl = resp.header("Content-Length")
        n = int(cl) if cl and cl.isdigit() else 0
        while len(rest) < n:
            data = recv_some(sock, deadline)
            if not data:
                raise ConnClosed("closed inside the response body")
            rest += data
        resp.body, rest = rest[:n], rest[n:]
    return resp, rest


def http_request(method, path, headers=(), body=b""):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {SERVER_IP}:{PORT}", f"User-Agent: {UA}"]
    lines += list(headers)
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def xml_body(kind, inner=""):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<config-auth client="vpn" type="{kind}" aggregate-auth-version="2">'
        '<version who="vpn">v9.01-3</version><device-id>linux-64</device-id>'
        f"{inner}</config-auth>"
    ).encode()


XML_HEADERS = [
    "Accept: */*",
    "Accept-Encoding: identity",
    "X-Transcend-Version: 1",
    "X-Aggregate-Auth: 1",
    "X-Support-HTTP-Auth: true",
    "Content-Type: application/xml; charset=utf-8",
]


def cstp_frame(ptype, payload=b""):
    return b"STF\x01" + struct.pack("!HBB", len(payload), ptype, 0) + payload


def ip_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def icmp_echo(src, dst, ident, seq, payload):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", ip_checksum(icmp)) + icmp[4:]
    total = 20 + len(icmp)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0x4000, 64, 1, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", ip_checksum(hdr)) + hdr[12:]
    return hdr + icmp


class CstpReader:
    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = buf

    def frame(self, deadline):
        """Returns (type, payload) or None on close; raises socket.timeout at the deadline."""
        while True:
            if len(self.buf) >= 8:
                if self.buf[:4] != b"STF\x01":
                    raise ValueError(f"bad CSTP magic from server: {self.buf[:8]!r}")
                (n,) = struct.unpack("!H", self.buf[4:6])
                if len(self.buf) >= 8 + n:
                    t = self.buf[6]
                    payload = self.buf[8:8 + n]
                    self.buf = self.buf[8 + n:]
                    return t, payload
            data = recv_some(self.sock, deadline)
            if not data:
                return None
            self.buf += data


# --------------------------------------------------------------------------------------------
# The test


VPN_SCRIPT = """#!/bin/sh
# openconnect --script: records the environment, configures only the tun (no DNS, no default
# route). Always exits 0.
out="${OCM_ENV_PREFIX:-/tmp/ocm-env}.$reason"
case "$reason" in
  connect|reconnect)
    ip link set dev "$TUNDEV" up mtu "$INTERNAL_IP4_MTU" || true
    ip addr add "$INTERNAL_IP4_ADDRESS/32" peer @PEER@ dev "$TUNDEV" 2>/dev/null || true
    i=0
    while [ "$i" -lt "${CISCO_SPLIT_INC:-0}" ]; do
      eval a=\\$CISCO_SPLIT_INC_${i}_ADDR
      eval m=\\$CISCO_SPLIT_INC_${i}_MASKLEN
      ip route replace "$a/$m" dev "$TUNDEV" || true
      i=$((i + 1))
    done
    # IPv6 only when the server leased an address (ipv6_network); "addr/len" as announced.
    if [ -n "$INTERNAL_IP6_NETMASK" ]; then
      ip -6 addr add "$INTERNAL_IP6_NETMASK" dev "$TUNDEV" nodad 2>/dev/null || true
      i=0
      while [ "$i" -lt "${CISCO_IPV6_SPLIT_INC:-0}" ]; do
        eval a=\\$CISCO_IPV6_SPLIT_INC_${i}_ADDR
        eval m=\\$CISCO_IPV6_SPLIT_INC_${i}_MASKLEN
        ip -6 route replace "$a/$m" dev "$TUNDEV" || true
        i=$((i + 1))
      done
    fi
    ;;
esac
env > "$out.tmp" && mv "$out.tmp" "$out"
exit 0
"""

BULK_HELPER = r"""
import hashlib, os, signal, socket, struct, sys
signal.alarm(int(sys.argv[3]))
def recvn(c, n):
    b = bytearray()
    while len(b) < n:
        d = c.recv(min(65536, n - len(b)))
        if not d:
            raise EOFError("short read")
        b += d
    return bytes(b)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(4)
while True:
    c, _ = srv.accept()
    c.settimeout(60)
    try:
        mode = recvn(c, 1)
        (n,) = struct.unpack("!Q", recvn(c, 8))
        if mode == b"U":
            h = hashlib.sha256()
            left = n
            while left:
                d = c.recv(min(65536, left))
                if not d:
                    raise EOFError("short upload")
                h.update(d)
                left -= len(d)
            c.sendall(h.hexdigest().encode())
        elif mode in (b"D", b"Z"):
            # Z: compressible text (compression_interop.py), D: random bytes.
            data = os.urandom(n) if mode == b"D" else b"".join(
                b"%09d the quick brown fox jumps over the lazy dog\n" % i for i in range(n // 54 + 1))[:n]
            c.sendall(hashlib.sha256(data).hexdigest().encode() + data)
    except Exception as e:
        print("bulk helper:", e, file=sys.stderr, flush=True)
    finally:
        c.close()
"""


class Test:
    def __init__(self, args):
        self.args = args
        self.pid = os.getpid()
        self.topo = Topology(self.pid)
        self.tmp = tempfile.mkdtemp(prefix="ocm-interop-")
        self.procs = []
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.server = None
        self.server_log = os.path.join(self.tmp, "server.log")
        self.server_tun = f"ocms{self.pid}"[:15]
        self.client_seq = 0

    # ---- reporting ------------------------------------------------------------------------

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            log(f"PASS: {name}" + (f" ({detail})" if detail else ""))
        else:
            self.failed += 1
            self.failures.append(name)
            log(f"FAIL: {name}" + (f": {detail}" if detail else ""))
            self.server_log_since_mark()
        self.mark_server_log()
        return ok

    def mark_server_log(self):
        try:
            self.log_mark = os.path.getsize(self.server_log)
        except OSError:
            self.log_mark = 0

    def server_log_since_mark(self, max_lines=25):
        """Prints the server log lines written since the previous check (the relevant ones)."""
        try:
            with open(self.server_log, "rb") as f:
                f.seek(getattr(self, "log_mark", 0))
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return
        if not lines:
            log("    (no new server log lines)")
            return
        if len(lines) > max_lines:
            log(f"    ... {len(lines) - max_lines} earlier server log lines omitted")
        for line in lines[-max_lines:]:
            log("    server| " + line)

    def tail(self, path, n=40, label=None):
        try:
            with open(path, errors="replace") as f:
                lines = f.readlines()
        except OSError:
            return
        log(f"---- last {min(n, len(lines))} lines of {label or path} ----")
        for line in lines[-n:]:
            log("  | " + line.rstrip("\n"))
        log("----")

    # ---- files ----------------------------------------------------------------------------

    def run_steps(self, steps, need_server=True):
        """Runs each step (a bound method), timing it; a harness exception fails that step only.
        With need_server, stops early once the server has died."""
        for step in steps:
            if need_server and not self.server_alive():
                self.check(f"server alive before {step.__name__}", False, f"exit {self.server.returncode}")
                break
            self.failed_in_step = False
            t0 = time.monotonic()
            log(f"== {step.__name__}")
            try:
                step()
            except Exception as e:
                import traceback
                traceback.print_exc()
                self.check(f"{step.__name__} completed without harness error", False, f"{type(e).__name__}: {e}")
            log(f"   ({step.__name__}: {time.monotonic() - t0:.1f} s)")

    def path(self, name):
        return os.path.join(self.tmp, name)

    def make_files(self):
        cert, key = self.path("cert.pem"), self.path("key.pem")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-sha256",
             "-subj", "/CN=ocserv-modern-interop", "-addext", f"subjectAltName=IP:{SERVER_IP}"])
        spki = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], capture_output=True,
                              check=True, timeout=20).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=spki, capture_output=True,
                             check=True, timeout=20).stdout
        self.pin = "pin-sha256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
        h = run(["openssl", "passwd", "-6", "-stdin"], input_data=PASSWORD + "\n").stdout.strip()
        passwd = self.path("passwd")
        with open(passwd, "w") as f:
            f.write(f"{USER}:*:{h}\n")
        script = self.path("vpnscript.sh")
        with open(script, "w") as f:
            f.write(VPN_SCRIPT.replace("@PEER@", SERVER_TUN_IP))
        os.chmod(script, 0o755)
        with open(self.path("bulk_helper.py"), "w") as f:
            f.write(BULK_HELPER)
        if self.args.ocserv:
            self.config = self.path("ocserv.conf")
            with open(self.config, "w") as f:
                f.write(f"""auth = "plain[passwd={passwd}]"
listen-host = {SERVER_IP}
tcp-port = {PORT}
udp-port = {PORT}
socket-file = {self.path('ocserv.sock')}
pid-file = {self.path('ocserv.pid')}
server-cert = {cert}
server-key = {key}
isolate-workers = false
use-occtl = false
device = {self.server_tun[:10]}
ipv4-network = 192.168.100.0/24
route = {BEHIND_NET}
dns = {SERVER_TUN_IP}
predictable-ips = true
cookie-timeout = 60
max-ban-score = 0
auth-timeout = {AUTH_TIMEOUT}
keepalive = {KEEPALIVE}
dpd = {DPD}
mobile-dpd = {DPD}
try-mtu-discovery = false
max-clients = 16
max-same-clients = 0
mtu = 1400
""")
        else:
            self.config = self.path("ocserv-modern.toml")
            with open(self.config, "w") as f:
                f.write(f"""# generated by tests/interop/cstp_interop.py
[server]
bind = "{SERVER_IP}"
tcp_port = {PORT}
dtls_port = {PORT}
handshake_timeout = {HANDSHAKE_TIMEOUT}
request_timeout = {REQUEST_TIMEOUT}
auth_timeout = {AUTH_TIMEOUT}

[crypto]
cert_file = "{cert}"
key_file = "{key}"

[auth]
method = "plain"
passwd_file = "{passwd}"

[network]
device = "{self.server_tun}"
ipv4_network = "{POOL}"
routes = ["{BEHIND_NET}"]
dns_servers = ["{SERVER_TUN_IP}"]
mtu = 1400

[security]
max_ban_score = 0

[session]
max_clients = 16
max_same_clients = 0
cookie_timeout = 60
dpd = {DPD}
keepalive = {KEEPALIVE}

[datapath]
driver = "socket"

[monitoring]
log_level = "debug"
""")

    # ---- server ---------------------------------------------------------------------------

    def config_checks(self):
        if self.args.ocserv:
            return
        cp = run([self.args.server, "-t", "-c", self.config], check=False, timeout=20)
        self.check("config_check_valid", cp.returncode == 0,
                   f"exit {cp.returncode}: {(cp.stdout + cp.stderr).strip()[-500:]}")
        bad = self.path("bad.toml")
        with open(bad, "w") as f:
            f.write('[server]\ntcp_port = "not a number"\n[network]\nipv4_network = "300.1.2.3/99"\n')
        cp = run([self.args.server, "-t", "-c", bad], check=False, timeout=20)
        self.check("config_check_invalid_rejected", cp.returncode == 1,
                   f"exit {cp.returncode}: {(cp.stdout + cp.stderr).strip()[-300:]}")

    def start_server(self):
        logf = open(self.server_log, "wb")
        if self.args.ocserv:
            cmd = [self.args.server, "-f", "-d", "1", "-c", self.config]
        else:
            cmd = [self.args.server, "-c", self.config]
        self.server = subprocess.Popen(["ip", "netns", "exec", self.topo.srv, *cmd], stdin=subprocess.DEVNULL,
                                       stdout=logf, stderr=subprocess.STDOUT)
        self.procs.append(self.server)
        logf.close()
        deadline = time.monotonic() + 20
        listening = False
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                break
            cp = self.topo.ns(self.topo.srv, "ss", "-Hltn", f"sport = :{PORT}", check=False, timeout=10)
            if cp.stdout.strip():
                listening = True
                break
            time.sleep(0.2)
        ok = self.check("server_listening", listening,
                        f"server exited with {self.server.returncode}" if self.server.poll() is not None
                        else ("" if listening else "not listening after 20 s"))
        if not ok:
            return False
        if not self.args.ocserv:
            cp = self.topo.ns(self.topo.srv, "ip", "-4", "-o", "addr", "show", "dev", self.server_tun,
                              check=False, timeout=10)
            link = self.topo.ns(self.topo.srv, "ip", "-o", "link", "show", "dev", self.server_tun,
                                check=False, timeout=10).stdout
            self.check("server_tun_configured",
                       f"{SERVER_TUN_IP}/24" in cp.stdout and ("UP" in link.split(">")[0]),
                       (cp.stdout + link).strip() or f"no device {self.server_tun}")
        return True

    def server_alive(self):
        return self.server is not None and self.server.poll() is None

    # ---- openconnect ----------------------------------------------------------------------

    def oc_cmd(self, ifname, extra):
        return ["ip", "netns", "exec", self.topo.cli, "openconnect", "--protocol=anyconnect",
                "--servercert", self.pin, "--non-inter", "--no-dtls", "--interface", ifname,
                "--script", self.path("vpnscript.sh"), "--reconnect-timeout", "10",
                "-v", "--dump-http-traffic", "--timestamp", *extra, f"https://{SERVER_IP}:{PORT}/"]

    def start_client(self, label, stdin_text, extra=("-u", USER, "--passwd-on-stdin")):
        self.client_seq += 1
        ifname = f"ocm{self.pid}{chr(ord('a') + self.client_seq - 1)}"[:15]
        prefix = self.path(f"env-{label}")
        logpath = self.path(f"oc-{label}.log")
        logf = open(logpath, "wb")
        env = dict(os.environ, OCM_ENV_PREFIX=prefix)
        p = subprocess.Popen(self.oc_cmd(ifname, list(extra)), stdin=subprocess.PIPE, stdout=logf,
                             stderr=subprocess.STDOUT, env=env)
        logf.close()
        self.procs.append(p)
        try:
            p.stdin.write(stdin_text.encode())
            p.stdin.close()
        except BrokenPipeError:
            pass
        return {"proc": p, "ifname": ifname, "env_prefix": prefix, "log": logpath, "label": label}

    def wait_connected(self, c, timeout=30):
        """Waits for the script's reason=connect env dump. Returns the env dict or None."""
        path = c["env_prefix"] + ".connect"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(path):
                return self.read_env(path)
            if c["proc"].poll() is not None:
                return None
            time.sleep(0.1)
        return None

    @staticmethod
    def read_env(path):
        """Parses `env` output. CISCO_CSTP_OPTIONS spans several lines (one X-CSTP-* header
        each): lines that do not start a new NAME= are appended to the previous value."""
        env = {}
        last = None
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
                if m:
                    last = m.group(1)
                    env[last] = m.group(2)
                elif last is not None:
                    env[last] += "\n" + line
        return env

    def stop_client(self, c, sig=signal.SIGINT, timeout=15):
        p = c["proc"]
        if p.poll() is None:
            p.send_signal(sig)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
            return None

    def wait_exit(self, c, timeout=30):
        try:
            return c["proc"].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            c["proc"].kill()
            c["proc"].wait(timeout=10)
            return None

    def ping(self, dst, count=3, size=None):
        cmd = ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", "-w", "15"]
        if size:
            cmd += ["-s", str(size)]
        cp = self.topo.ns(self.topo.cli, *cmd, dst, check=False, timeout=25)
        summary = " ".join(line for line in cp.stdout.splitlines() if "transmitted" in line)
        return cp.returncode == 0, summary or (cp.stdout + cp.stderr).strip()[-200:]

    def iface_exists(self, ifname):
        cp = self.topo.ns(self.topo.cli, "ip", "link", "show", "dev", ifname, check=False, timeout=10)
        return cp.returncode == 0

    def connect_client_checked(self, label, stdin_text, extra=("-u", USER, "--passwd-on-stdin")):
        c = self.start_client(label, stdin_text, extra)
        env = self.wait_connected(c)
        if env is not None:
            detail = f"{env.get('INTERNAL_IP4_ADDRESS')} on {c['ifname']}"
        elif c["proc"].poll() is not None:
            detail = f"openconnect exited with {c['proc'].poll()}"
        else:
            detail = "no connect within 30 s"
        ok = self.check(f"{label}: openconnect connects", env is not None, detail)
        if not ok:
            self.tail(c["log"], label=f"openconnect {label}")
            self.tail(self.server_log, label="server log")
        c["env"] = env
        return c if ok else None

    # ---- bulk traffic ---------------------------------------------------------------------

    def start_bulk_helper(self):
        p = subprocess.Popen(["ip", "netns", "exec", self.topo.bhd, sys.executable, self.path("bulk_helper.py"),
                              BEHIND_IP, str(BULK_PORT), "500"], stdin=subprocess.DEVNULL,
                             stdout=open(self.path("bulk.log"), "wb"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None:
            cp = self.topo.ns(self.topo.bhd, "ss", "-Hltn", f"sport = :{BULK_PORT}", check=False, timeout=10)
            if cp.stdout.strip():
                return True
            time.sleep(0.1)
        return False

    def bulk(self, mode, nbytes=BULK_BYTES, timeout=60, compressible=False):
        """Upload ('U') or download ('D') nbytes through the tunnel; returns (ok, detail). Random
        bytes, or with `compressible` lines of text (for the compression test)."""
        deadline = time.monotonic() + timeout
        start = time.monotonic()
        with InNetns(self.topo.cli):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(15)
            s.connect((BEHIND_IP, BULK_PORT))
            s.settimeout(30)
            wire_mode = "Z" if compressible and mode == "D" else mode
            s.sendall(wire_mode.encode() + struct.pack("!Q", nbytes))
            if mode == "U":
                data = os.urandom(nbytes) if not compressible else b"".join(
                    b"%09d the quick brown fox jumps over the lazy dog\n" % i for i in range(nbytes // 54 + 1))[:nbytes]
                view = memoryview(data)
                for off in range(0, nbytes, 65536):
                    if time.monotonic() > deadline:
                        return False, "timeout while sending"
                    s.sendall(view[off:off + 65536])
                want = hashlib.sha256(data).hexdigest()
                got = b""
                while len(got) < 64:
                    d = recv_some(s, deadline)
                    if not d:
                        break
                    got += d
                got = got.decode(errors="replace")
            else:
                buf = b""
                h = hashlib.sha256()
                total = 0
                want = None
                while True:
                    d = recv_some(s, deadline)
                    if not d:
                        break
                    if want is None:
                        buf += d
                        if len(buf) < 64:
                            continue
                        want, d = buf[:64].decode(errors="replace"), buf[64:]
                    h.update(d)
                    total += len(d)
                got = h.hexdigest()
                if total != nbytes:
                    return False, f"received {total} of {nbytes} bytes"
            secs = time.monotonic() - start
            rate = nbytes / secs / 1e6 * 8
            return got == want, f"{nbytes} bytes in {secs:.2f} s ({rate:.0f} Mbit/s), sha256 {'match' if got == want else f'MISMATCH {got} != {want}'}"
        except (OSError, ConnClosed) as e:
            return False, f"{type(e).__name__}: {e}"
        finally:
            s.close()

    # ---- raw TLS probes -------------------------------------------------------------------

    def tcp(self, timeout=5):
        with InNetns(self.topo.cli):
            return socket.create_connection((SERVER_IP, PORT), timeout=timeout)

    def tls(self, timeout=10):
        raw = self.tcp(timeout)
        raw.settimeout(timeout)
        return client_ctx().wrap_socket(raw)

    def probe(self, name, fn):
        try:
            fn(name)
        except Exception as e:
            self.check(name, False, f"{type(e).__name__}: {e}")

    def probe_garbage(self, name):
        s = self.tcp()
        try:
            # Deterministic: plain HTTP on the TLS port, then every byte value (twice).
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 2)
            t = wait_closed(s, HANDSHAKE_TIMEOUT + 7)
            self.check(name, t is not None, f"closed after {t:.1f} s" if t is not None else "still open")
        finally:
            s.close()

    def client_hello(self):
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = client_ctx().wrap_bio(inc, out)
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return out.read()

    def probe_truncated_hello_close(self, name):
        hello = self.client_hello()
        s = self.tcp()
        s.sendall(hello[: len(hello) // 2])
        s.close()
        time.sleep(0.3)
        self.check(name, self.server_alive(), f"sent {len(hello) // 2} of {len(hello)} bytes, then closed")

    def probe_truncated_hello_stall(self, name):
        hello = self.client_hello()
        s = self.tcp()
        try:
            s.sendall(hello[: len(hello) // 2])
            t = wait_closed(s, HANDSHAKE_TIMEOUT + 7)
            self.check(name, t is not None,
                       f"closed after {t:.1f} s (handshake_timeout {HANDSHAKE_TIMEOUT})" if t is not None
                       else f"still open after {HANDSHAKE_TIMEOUT + 7} s")
        finally:
            s.close()

    def probe_tcp_silent(self, name):
        s = self.tcp()
        try:
            t = wait_closed(s, HANDSHAKE_TIMEOUT + 7)
            self.check(name, t is not None,
                       f"closed after {t:.1f} s (handshake_timeout {HANDSHAKE_TIMEOUT})" if t is not None
                       else f"still open after {HANDSHAKE_TIMEOUT + 7} s")
        finally:
            s.close()

    def probe_slowloris(self, name):
        s = self.tls()
        try:
            start = time.monotonic()
            limit = REQUEST_TIMEOUT + 9
            s.sendall(b"POST /auth HTTP/1.1\r\nHost: x\r\n")
            closed_at = None
            i = 0
            while time.monotonic() - start < limit:
                try:
                    s.sendall(f"X-Slow-{i}: a\r\n".encode())
                except (OSError, ssl.SSLError):
                    closed_at = time.monotonic() - start
                    break
                i += 1
                t = wait_closed(s, 0.5)
                if t is not None:
                    closed_at = time.monotonic() - start
                    break
            self.check(name, closed_at is not None,
                       f"closed after {closed_at:.1f} s (request_timeout {REQUEST_TIMEOUT}, {i} trickled lines)"
                       if closed_at is not None else f"still open after {limit} s of trickling")
        finally:
            s.close()

    def probe_idle_tls(self, name):
        s = self.tls()
        try:
            t = wait_closed(s, AUTH_TIMEOUT + 8)
            self.check(name, t is not None,
                       f"closed after {t:.1f} s (auth_timeout {AUTH_TIMEOUT})" if t is not None
                       else f"still open after {AUTH_TIMEOUT + 8} s")
        finally:
            s.close()

    def simple_request(self, req, timeout=10):
        s = self.tls()
        try:
            try:
                s.sendall(req)
            except (OSError, ssl.SSLError):
                pass  # the server may answer and close before reading everything
            resp, _ = read_response(s, timeout)
            return resp
        finally:
            s.close()

    def probe_status(self, name, req, accept):
        resp = self.simple_request(req)
        self.check(name, resp.status in accept, f"got '{resp.status_line()}', want {sorted(accept)}")

    def probe_malformed_xml(self, name):
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="init"><<<&&&' \
               b'<username>\x00\xff</password></group-select><auth'
        resp = self.simple_request(http_request("POST", "/", XML_HEADERS, body))
        text = resp.body.decode(errors="replace")
        ok = (400 <= resp.status < 500) or (resp.status == 200 and "<form" in text)
        self.check(name, ok and self.server_alive(), f"got '{resp.status_line()}'")

    def probe_connect_status(self, name, cookie, want_line):
        hdrs = [f"Cookie: webvpn={cookie}"] if cookie is not None else []
        hdrs += ["X-CSTP-Version: 1", "X-CSTP-Base-MTU: 1500", "X-CSTP-Address-Type: IPv4"]
        s = self.tls()
        try:
            s.sendall(http_request("CONNECT", "/CSCOSSLC/tunnel", hdrs))
            resp, _ = read_response(s, 10, has_body=False)
            line = resp.status_line()
            self.check(name, line.startswith(want_line), f"got '{line}', want '{want_line}'")
        finally:
            s.close()

    def raw_login(self, s):
        """XML login with the raw TLS socket; returns the webvpn cookie value."""
        cookies = {}

        def cookie_hdr():
            return [f"Cookie: {'; '.join(f'{k}={v}' for k, v in cookies.items())}"] if cookies else []

        def absorb(resp):
            for sc in resp.all("Set-Cookie"):
                kv = sc.split(";", 1)[0]
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    if v:
                        cookies[k.strip()] = v.strip()
                    else:
                        cookies.pop(k.strip(), None)

        path = "/"
        body = xml_body("init", f"<group-access>https://{SERVER_IP}:{PORT}/</group-access>")
        for _ in range(6):
            s.sendall(http_request("POST", path, XML_HEADERS + cookie_hdr(), body))
            resp, rest = read_response(s, 10)
            if rest:
                raise ValueError(f"unexpected bytes after the response: {rest[:50]!r}")
            absorb(resp)
            text = resp.body.decode(errors="replace")
            if resp.status != 200:
                raise ValueError(f"login step got '{resp.status_line()}'")
            if re.search(r'<auth\s+id="success"', text):
                if "webvpn" not in cookies:
                    raise ValueError("success without a webvpn cookie")
                return cookies["webvpn"]
            m = re.search(r'<form[^>]*action="([^"]*)"', text)
            path = m.group(1) if m and m.group(1) else "/"
            fields = re.findall(r'<input[^>]*name="([^"]+)"', text)
            inner = ""
            for f in fields:
                if f == "username":
                    inner += f"<username>{USER}</username>"
                elif "password" in f:
                    inner += f"<{f}>{PASSWORD}</{f}>"
            if not inner:
                raise ValueError(f"form without known inputs: {text[:300]!r}")
            body = xml_body("auth-reply", f"<auth>{inner}</auth>")
        raise ValueError("login did not finish in 6 steps")

    def raw_tunnel(self):
        """Logs in and opens a CSTP tunnel; returns (sock, reader, response)."""
        s = self.tls()
        cookie = self.raw_login(s)
        hdrs = [f"Cookie: webvpn={cookie}", "X-CSTP-Version: 1", "X-CSTP-Hostname: rawclient",
                "X-CSTP-Base-MTU: 1500", "X-CSTP-MTU: 1390", "X-CSTP-Address-Type: IPv4"]
        s.sendall(http_request("CONNECT", "/CSCOSSLC/tunnel", hdrs))
        resp, rest = read_response(s, 10, has_body=False)
        return s, CstpReader(s, rest), resp

    def raw_session_checks(self, other):
        """Raw TLS client: login, CONNECT, DPD and ICMP echo over CSTP, then a malformed frame;
        the server must close only that connection (the openconnect session `other` survives)."""
        s, reader, resp = self.raw_tunnel()
        try:
            ok = self.check("raw: login + CONNECT -> 200", resp.status_line().startswith("HTTP/1.1 200 "),
                            f"got '{resp.status_line()}'")
            if not ok:
                return
            addr = resp.header("X-CSTP-Address")
            self.check("raw: X-CSTP-Address in pool", addr is not None and ipaddress.ip_address(addr) in POOL,
                       f"X-CSTP-Address: {addr}")
            mtu = resp.header("X-CSTP-MTU")
            self.check("raw: X-CSTP-MTU present", bool(mtu and mtu.isdigit() and int(mtu) > 0), f"X-CSTP-MTU: {mtu}")
            if other and other.get("env"):
                oaddr = other["env"].get("INTERNAL_IP4_ADDRESS")
                self.check("raw: concurrent sessions get distinct addresses", addr != oaddr,
                           f"raw {addr}, openconnect {oaddr}")
            # DPD request -> response with the same payload.
            s.sendall(cstp_frame(3, b"ping-dpd"))
            deadline = time.monotonic() + 10
            got = None
            while time.monotonic() < deadline:
                fr = reader.frame(deadline)
                if fr is None:
                    break
                if fr[0] == 4:
                    got = fr
                    break
            self.check("raw: CSTP DPD-REQ answered with DPD-RESP",
                       got is not None and got[1] in (b"ping-dpd", b""),
                       f"payload {got[1]!r}" if got else "no DPD-RESP within 10 s")
            # ICMP echo to the server's TUN address through the tunnel.
            if addr:
                ident = secrets.randbelow(65535) + 1
                s.sendall(cstp_frame(0, icmp_echo(addr, SERVER_TUN_IP, ident, 1, b"ocm-raw-echo" * 4)))
                deadline = time.monotonic() + 10
                reply = False
                while time.monotonic() < deadline:
                    fr = reader.frame(deadline)
                    if fr is None:
                        break
                    t, pl = fr
                    if t == 3:
                        s.sendall(cstp_frame(4, pl))
                    if t == 0 and len(pl) >= 28 and pl[9] == 1 and pl[20] == 0 and \
                            struct.unpack("!H", pl[24:26])[0] == ident:
                        reply = True
                        break
                self.check("raw: ICMP echo through CSTP DATA frames", reply,
                           "" if reply else "no echo reply within 10 s")
            # Malformed frame: wrong magic. Only this connection may be closed.
            s.sendall(b"XTF\x01" + struct.pack("!HBB", 4, 0, 0) + b"junk")
            t = wait_closed(s, 10)
            self.check("raw: malformed CSTP frame closes the connection", t is not None,
                       f"closed after {t:.1f} s" if t is not None else "still open after 10 s")
        finally:
            s.close()
        time.sleep(0.5)
        self.check("raw: server alive after malformed frame", self.server_alive())
        if other:
            alive = other["proc"].poll() is None
            ok, detail = self.ping(SERVER_TUN_IP) if alive else (False, "openconnect exited")
            self.check("raw: other openconnect session unaffected (ping)", alive and ok, detail)

    # ---- scenario -------------------------------------------------------------------------

    def happy_path(self):
        c = self.connect_client_checked("main", PASSWORD + "\n")
        if not c:
            return
        env = c["env"]
        addr = env.get("INTERNAL_IP4_ADDRESS", "")
        try:
            in_pool = ipaddress.ip_address(addr) in POOL and addr != SERVER_TUN_IP
        except ValueError:
            in_pool = False
        self.check("main: INTERNAL_IP4_ADDRESS in 192.168.100.0/24", in_pool, f"INTERNAL_IP4_ADDRESS={addr!r}")
        cp = self.topo.ns(self.topo.cli, "ip", "-4", "-o", "addr", "show", "dev", c["ifname"], check=False)
        self.check("main: tun has the assigned address", f"inet {addr}" in cp.stdout and bool(addr),
                   cp.stdout.strip() or cp.stderr.strip())
        self.check("main: INTERNAL_IP4_NETMASK is the pool netmask",
                   env.get("INTERNAL_IP4_NETMASK") == "255.255.255.0",
                   f"INTERNAL_IP4_NETMASK={env.get('INTERNAL_IP4_NETMASK')!r}")
        mtu = env.get("INTERNAL_IP4_MTU", "")
        self.check("main: INTERNAL_IP4_MTU sane (576..1400)", mtu.isdigit() and 576 <= int(mtu) <= 1400,
                   f"INTERNAL_IP4_MTU={mtu!r}")
        self.first_ip = addr
        self.check("main: INTERNAL_IP4_DNS = configured dns_servers", env.get("INTERNAL_IP4_DNS") == SERVER_TUN_IP,
                   f"INTERNAL_IP4_DNS={env.get('INTERNAL_IP4_DNS')!r}")
        opts = dict(line.split("=", 1) for line in env.get("CISCO_CSTP_OPTIONS", "").split("\n") if "=" in line)
        self.check("main: X-CSTP-DPD / X-CSTP-Keepalive = configured dpd / keepalive",
                   opts.get("X-CSTP-DPD") == str(DPD) and opts.get("X-CSTP-Keepalive") == str(KEEPALIVE),
                   f"X-CSTP-DPD={opts.get('X-CSTP-DPD')!r} X-CSTP-Keepalive={opts.get('X-CSTP-Keepalive')!r}")
        splits = [(env.get(f"CISCO_SPLIT_INC_{i}_ADDR"), env.get(f"CISCO_SPLIT_INC_{i}_MASKLEN"))
                  for i in range(int(env.get("CISCO_SPLIT_INC", "0") or 0))]
        self.check("main: split-include routes = 10.55.0.0/24", splits == [("10.55.0.0", "24")],
                   f"CISCO_SPLIT_INC={env.get('CISCO_SPLIT_INC')!r} {splits}")
        ok, detail = self.ping(SERVER_TUN_IP)
        self.check("main: ping server tun 192.168.100.1", ok, detail)
        ok, detail = self.ping(SERVER_TUN_IP, count=3, size=1300)
        self.check("main: ping server tun with 1300-byte payload", ok, detail)
        ok, detail = self.ping(BEHIND_IP)
        self.check("main: ping behind host 10.55.0.2 through the tunnel", ok, detail)
        if self.start_bulk_helper():
            ok, detail = self.bulk("U")
            self.check("main: 8 MiB upload through the tunnel, sha256 equal", ok, detail)
            ok, detail = self.bulk("D")
            self.check("main: 8 MiB download through the tunnel, sha256 equal", ok, detail)
        else:
            self.check("main: bulk helper listening in behind ns", False)
            self.tail(self.path("bulk.log"), label="bulk helper")
        rc = self.stop_client(c, signal.SIGINT)
        self.check("main: SIGINT -> openconnect exits 0", rc == 0, f"exit {rc}")
        if self.failed:
            self.tail(c["log"], label="openconnect main")

    def wrong_password(self):
        c = self.start_client("wrongpw", "wrongpassword\n")
        rc = self.wait_exit(c, 30)
        with open(c["log"], errors="replace") as f:
            out = f.read()
        connected = os.path.exists(c["env_prefix"] + ".connect")
        self.check("wrongpw: openconnect exits 1", rc == 1, f"exit {rc}")
        self.check("wrongpw: no tunnel", not connected and not self.iface_exists(c["ifname"]))
        self.check("wrongpw: server said 'Login failed.'", "Login failed" in out,
                   "" if "Login failed" in out else "message not in client log")
        if rc != 1:
            self.tail(c["log"], label="openconnect wrongpw")

    def cookie_flow(self):
        logpath = self.path("oc-authenticate.log")
        cmd = ["ip", "netns", "exec", self.topo.cli, "openconnect", "--protocol=anyconnect",
               "--servercert", self.pin, "--non-inter", "-u", USER, "--passwd-on-stdin", "--authenticate",
               f"https://{SERVER_IP}:{PORT}/"]
        try:
            cp = subprocess.run(cmd, input=PASSWORD + "\n", capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.check("cookie: --authenticate prints COOKIE", False, "timeout")
            return
        with open(logpath, "w") as f:
            f.write(cp.stdout + cp.stderr)
        cookie = None
        for line in cp.stdout.splitlines():
            if line.startswith("COOKIE="):
                cookie = shlex.split(line[len("COOKIE="):])[0] if line[len("COOKIE="):] else ""
        ok = self.check("cookie: --authenticate exits 0 and prints COOKIE", cp.returncode == 0 and bool(cookie),
                        f"exit {cp.returncode}, cookie {'present' if cookie else 'missing'}")
        if not ok:
            self.tail(logpath, label="openconnect --authenticate")
            return
        # openconnect also puts its own openconnect_strapkey=... into COOKIE.
        self.check("cookie: COOKIE holds webvpn=<44 base64 chars>",
                   re.search(r"(?:^|;\s*)webvpn=[A-Za-z0-9+/]{43}=(?:;|$)", cookie) is not None,
                   "" if "webvpn=" in cookie else "no webvpn= in COOKIE")
        c1 = self.connect_client_checked("cookie1", cookie + "\n", extra=("--cookie-on-stdin",))
        if not c1:
            return
        ip1 = c1["env"].get("INTERNAL_IP4_ADDRESS")
        ok, detail = self.ping(SERVER_TUN_IP)
        self.check("cookie1: ping through the tunnel", ok, detail)
        rc = self.stop_client(c1, signal.SIGHUP)
        self.check("cookie1: SIGHUP (detach) -> exit 0", rc == 0, f"exit {rc}")
        c2 = self.connect_client_checked("cookie2", cookie + "\n", extra=("--cookie-on-stdin",))
        if not c2:
            return
        ip2 = c2["env"].get("INTERNAL_IP4_ADDRESS")
        self.check("cookie2: reconnect with the same cookie gets the same IP", ip1 == ip2 and ip1 is not None,
                   f"{ip1} -> {ip2}")
        ok, detail = self.ping(SERVER_TUN_IP)
        self.check("cookie2: ping through the tunnel", ok, detail)
        rc = self.stop_client(c2, signal.SIGINT)
        self.check("cookie2: SIGINT (logout, BYE) -> exit 0", rc == 0, f"exit {rc}")
        time.sleep(0.5)
        c3 = self.start_client("cookie3", cookie + "\n", extra=("--cookie-on-stdin",))
        rc = self.wait_exit(c3, 30)
        with open(c3["log"], errors="replace") as f:
            out = f.read()
        self.check("cookie3: reuse after logout -> exit 2 (cookie rejected)", rc == 2, f"exit {rc}")
        self.check("cookie3: server answered '401 Cookie is not acceptable'",
                   "HTTP/1.1 401 Cookie is not acceptable" in out)
        self.check("cookie3: no tunnel", not os.path.exists(c3["env_prefix"] + ".connect"))
        if rc != 2:
            self.tail(c3["log"], label="openconnect cookie3")

    def bad_inputs(self):
        other = self.connect_client_checked("bystander", PASSWORD + "\n")
        self.probe("bad: garbage instead of TLS -> closed", self.probe_garbage)
        self.probe("bad: truncated ClientHello then close", self.probe_truncated_hello_close)
        self.probe("bad: truncated ClientHello then stall -> closed (handshake_timeout)",
                   self.probe_truncated_hello_stall)
        self.probe("bad: silent TCP connection -> closed (handshake_timeout)", self.probe_tcp_silent)
        self.probe("bad: slow-loris request -> closed (request_timeout)", self.probe_slowloris)
        self.probe("bad: idle TLS connection -> closed (auth_timeout)", self.probe_idle_tls)
        self.probe("bad: unknown method -> 404/405/501",
                   lambda n: self.probe_status(n, http_request("BREW", "/", []), {404, 405, 501}))
        self.probe("bad: unknown path -> 404",
                   lambda n: self.probe_status(n, http_request("GET", "/no/such/path", []), {404}))
        self.probe("bad: oversized header -> 431",
                   lambda n: self.probe_status(n, http_request("GET", "/", ["X-Big: " + "A" * 20000]), {431}))
        self.probe("bad: oversized body -> 413",
                   lambda n: self.probe_status(
                       n, f"POST /auth HTTP/1.1\r\nHost: {SERVER_IP}\r\nContent-Type: application/xml\r\n"
                          f"Content-Length: 10000000\r\n\r\n".encode() + b"<" * 1000, {413}))
        self.probe("bad: malformed request line -> 400",
                   lambda n: self.probe_status(n, b"THIS IS NOT HTTP\r\n\r\n", {400}))
        self.probe("bad: malformed XML body -> 4xx or a form", self.probe_malformed_xml)
        self.probe("bad: CONNECT without cookie -> 503",
                   lambda n: self.probe_connect_status(n, None, "HTTP/1.1 503 Service Unavailable"))
        bogus = base64.b64encode(os.urandom(32)).decode()
        self.probe("bad: CONNECT with unknown well-formed cookie -> 401",
                   lambda n: self.probe_connect_status(n, bogus, "HTTP/1.1 401 Cookie is not acceptable"))
        self.probe("bad: raw CSTP session", lambda n: self.raw_session_checks(other))
        self.check("bad: server process alive after all bad inputs", self.server_alive(),
                   "" if self.server_alive() else f"exit {self.server.returncode}")
        if other:
            with open(other["log"], errors="replace") as f:
                out = f.read()
            self.check("bystander: DPD answered during the bad-input phase ('Got CSTP DPD response')",
                       "Got CSTP DPD response" in out,
                       f"{out.count('Send CSTP DPD')} DPD sent, {out.count('Got CSTP DPD response')} answered")
            rc = self.stop_client(other, signal.SIGINT)
            self.check("bystander: SIGINT -> exit 0", rc == 0, f"exit {rc}")

    def final_client(self):
        c = self.connect_client_checked("final", PASSWORD + "\n")
        if c:
            ip = c["env"].get("INTERNAL_IP4_ADDRESS")
            self.check("final: same address as the first login (predictable_ips)",
                       ip == getattr(self, "first_ip", None), f"{getattr(self, 'first_ip', None)} -> {ip}")
            ok, detail = self.ping(SERVER_TUN_IP)
            self.check("final: ping server tun", ok, detail)
            ok, detail = self.ping(BEHIND_IP)
            self.check("final: ping behind host", ok, detail)
            rc = self.stop_client(c, signal.SIGINT)
            self.check("final: SIGINT -> exit 0", rc == 0, f"exit {rc}")

    def shutdown_server(self):
        if not self.server_alive():
            return
        self.server.send_signal(signal.SIGTERM)
        try:
            rc = self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        self.check("server exits on SIGTERM within 10 s", rc is not None, f"exit {rc}")

    def run(self):
        remove_stale_namespaces()
        self.make_files()
        self.config_checks()
        self.topo.setup()
        if not self.start_server():
            return
        steps = [self.happy_path, self.wrong_password, self.cookie_flow, self.bad_inputs, self.final_client]
        for step in steps:
            if not self.server_alive():
                self.check(f"server alive before {step.__name__}", False, f"exit {self.server.returncode}")
                break
            try:
                step()
            except Exception as e:
                import traceback
                traceback.print_exc()
                self.check(f"{step.__name__} completed without harness error", False, f"{type(e).__name__}: {e}")
        self.scan_client_logs()
        self.shutdown_server()

    def scan_client_logs(self):
        """openconnect complains about bad framing in its log; none of that is acceptable."""
        bad = re.compile(r"Unexpected packet|Unknown packet|Short packet|Bad packet|"
                         r"Failed to decompress|Got inappropriate HTTP CONNECT response: HTTP/1.1 (?!401)")
        hits = []
        for name in sorted(os.listdir(self.tmp)):
            if name.startswith("oc-") and name.endswith(".log"):
                with open(self.path(name), errors="replace") as f:
                    for line in f:
                        if bad.search(line):
                            hits.append(f"{name}: {line.strip()}")
        self.check("openconnect logs free of framing/protocol complaints", not hits, "; ".join(hits[:5]))

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.terminate()
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    try:
                        p.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
                except ProcessLookupError:
                    pass
        self.topo.teardown()
        if self.args.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def preflight(*executables):
    """Checks what every interop test needs; returns an exit code to stop with, or None."""
    if os.geteuid() != 0:
        log("SKIP: the interop test needs root (network namespaces, TUN devices)")
        return SKIP
    missing = [t for t in ("ip", "openconnect", "openssl", "ping", "ss") if shutil.which(t) is None]
    if missing:
        log(f"FAIL: missing tools: {' '.join(missing)} (run scripts/install-deps.sh)")
        return 1
    for exe in executables:
        if not os.access(exe, os.X_OK):
            log(f"FAIL: {exe} not found or not executable")
            return 1
    if not os.path.exists("/dev/net/tun"):
        log("FAIL: /dev/net/tun missing")
        return 1
    return None


def main_for(test_class, doc, ocmctl=False, add_args=None, skip=None):
    """The command line every interop test takes (SERVER_EXE [OCMCTL_EXE] [--keep] plus its own
    options from add_args(parser)), the shared preflight, then skip() (a reason to exit 77, or
    None), then the test. Returns the exit status."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", help="path to the ocserv-modern binary")
    if ocmctl:
        ap.add_argument("ocmctl", help="path to the ocmctl binary")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with logs")
    if add_args is not None:
        add_args(ap)
    args = ap.parse_args()
    rc = preflight(args.server, *([args.ocmctl] if ocmctl else []))
    if rc is not None:
        return rc
    reason = skip() if skip is not None else None
    if reason:
        log(f"SKIP: {reason}")
        return SKIP
    return run_test(test_class(args))


def run_test(t):
    """Runs a Test (or subclass) to the end, always tearing down; prints the closing counts."""
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    start = time.monotonic()
    try:
        t.run()
    except SystemExit:
        log("interrupted")
        t.failed += 1
    except Exception as e:
        import traceback
        traceback.print_exc()
        t.check("harness", False, f"{type(e).__name__}: {e}")
    finally:
        # From here on, signals must not interrupt the teardown.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if t.failed:
            t.tail(t.server_log, n=60, label="server log")
        t.cleanup()
    log(f"{t.passed} passed, {t.failed} failed ({time.monotonic() - start:.0f} s)")
    if t.failures:
        log("failed checks: " + "; ".join(t.failures))
    return 1 if t.failed or not t.passed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", help="path to the ocserv-modern binary (or ocserv with --ocserv)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with logs")
    ap.add_argument("--ocserv", action="store_true", help="run against Debian's ocserv (harness check)")
    args = ap.parse_args()

    rc = preflight(args.server)
    if rc is not None:
        return rc
    return run_test(Test(args))


if __name__ == "__main__":
    sys.exit(main())
