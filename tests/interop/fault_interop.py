#!/usr/bin/env python3
"""Fault interop test: ocserv-modern keeps real openconnect clients working through faults.

Usage (as root):  fault_interop.py [--keep] [--only F1,F2,...] SERVER_EXE OCMCTL_EXE

Same namespaces and helpers as dtls_interop.py (client ns 10.99.0.2 -- server ns 10.99.0.1 --
behind ns 10.55.0.2). Faults, each while a client is tunnelling:
  F1 NAT rebinding: the client reaches the server through a UDP/TCP relay in its own namespace
     (openconnect -> 127.0.0.1:4443 -> relay -> 10.99.0.1:4443); the relay swaps its upstream UDP
     socket, so the server sees the DTLS flow come from a new source port, as after a NAT
     mapping change. DTLS must carry on without a new handshake and without falling back to CSTP.
  F2 SIGHUP reload five times under back-to-back downloads over DTLS: all intact, same session,
     no reconnect.
  F3 UDP blocked in both directions under back-to-back downloads: they go on intact over CSTP;
     DTLS comes back after UDP is unblocked (within 80 s: openconnect's retry period is 60 s).
  F4 floods during a transfer: ~1000 garbage datagrams at the DTLS port, 300 TCP connections
     that never start TLS, and 2000 spoofed SYNs from addresses that never answer (half-open).
     The established session's transfer and pings are intact, a new client still logs in, and
     the idle connections are closed by handshake_timeout.
  F5 client killed with SIGKILL: the tunnel is closed after DPD (3 x dpd), then the cookie
     session expires after cookie_timeout and its address goes back to the pool (ocmctl shows
     neither; a new login is handed the same predictable address).
  F6 server killed with SIGKILL and restarted (crash), then stopped with SIGTERM and restarted:
     openconnect notices each time within bounded time and exits cleanly (sessions do not
     survive a restart; their cookies are refused with 401); a supervisor's relaunch, as
     NetworkManager does, logs in again and pings.
No packet leaves the namespaces (the spoofed sources are unassigned addresses of the client
subnet, so the server's SYN-ACKs die in its neighbour table). Every wait is bounded; namespaces
are always deleted. Exit status: 0 all passed, 1 a check failed, 77 skipped (not root).
"""

import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402
import dtls_interop as di  # noqa: E402

log = ci.log
SERVER_IP = ci.SERVER_IP
CLIENT_IP = ci.CLIENT_IP
BEHIND_IP = ci.BEHIND_IP
PORT = ci.PORT
MIB = 1024 * 1024
COOKIE_TIMEOUT = 5
HANDSHAKE_TIMEOUT = 5

# A relay in the client namespace: TCP and UDP on 127.0.0.1:PORT forwarded to the server. SIGUSR1
# replaces the upstream UDP socket (new source port); the new port is printed.
RELAY = r'''
import os, select, signal, socket, sys, threading
listen, server, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
lst = socket.socket(); lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind((listen, port)); lst.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind((listen, port))
state = {"up": None, "client": None, "rebind": False}
def new_up():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((server, port))
    print("upstream port", s.getsockname()[1], flush=True)
    return s
state["up"] = new_up()
signal.signal(signal.SIGUSR1, lambda *a: state.__setitem__("rebind", True))
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def tcp_loop():
    while True:
        c, _ = lst.accept()
        u = socket.create_connection((server, port))
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()
threading.Thread(target=tcp_loop, daemon=True).start()
while True:
    if state["rebind"]:
        state["rebind"] = False
        old, state["up"] = state["up"], new_up(); old.close()
    try:
        r, _, _ = select.select([udp, state["up"]], [], [], 0.2)
    except InterruptedError:
        continue
    for s in r:
        try:
            if s is udp:
                d, state["client"] = udp.recvfrom(65536); state["up"].send(d)
            elif state["client"] is not None:
                udp.sendto(s.recv(65536), state["client"])
        except OSError:
            pass
'''


def tcp_syn(src, sport, dst, dport, seq):
    """An IPv4 TCP SYN with valid checksums (IP_HDRINCL raw socket)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", ci.ip_checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.randrange(65536), 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", ci.ip_checksum(ip)) + ip[12:]
    return ip + tcp


class FaultTest(di.DtlsTest):
    def __init__(self, args):
        super().__init__(args)
        self.sock = self.path("ocmctl.sock")
        self.target = f"{SERVER_IP}:{PORT}"

    def write_config(self, mode):
        super().write_config(mode)
        with open(self.config) as f:
            text = f.read()
        text = text.replace("cookie_timeout = 60", f"cookie_timeout = {COOKIE_TIMEOUT}\npredictable_ips = true")
        text = text.replace("handshake_timeout = 5", f"handshake_timeout = {HANDSHAKE_TIMEOUT}")
        text = text.replace("max_clients = 16", "max_clients = 0")
        with open(self.config, "w") as f:
            f.write(text + f'control_socket = "{self.sock}"\n')

    def oc_cmd(self, ifname, extra):
        cmd = super().oc_cmd(ifname, extra)
        cmd[-1] = f"https://{self.target}/"
        return cmd

    def ocmctl_json(self, *words):
        cp = subprocess.run([self.args.ocmctl, "-s", self.sock, "-j", *words], capture_output=True, text=True,
                            timeout=15)
        try:
            return json.loads(cp.stdout)
        except ValueError:
            return None

    def users(self):
        doc = self.ocmctl_json("show", "users")
        return doc if isinstance(doc, list) else []

    def sessions(self):
        doc = self.ocmctl_json("show", "sessions", "all")
        return doc if isinstance(doc, list) else []

    def wait_until(self, predicate, timeout, step=0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(step)
        return predicate()

    def dtls_up(self, c, label, count=1):
        ok = self.wait_log(c, di.RE_ESTABLISHED.pattern, 20, count)
        self.check(f"{label}: DTLS established", ok)
        return ok

    class TrafficLoop:
        """Back-to-back 4 MiB downloads in a thread until stop(): whenever a fault is injected,
        one transfer is in flight, however fast the machine is."""

        def __init__(self, test):
            self.test = test
            self.results = []
            self.stopping = threading.Event()
            self.thread = threading.Thread(target=self.work, daemon=True)
            self.thread.start()

        def work(self):
            while not self.stopping.is_set():
                self.results.append(self.test.bulk("D", nbytes=4 * MIB, timeout=90))

        def wait_results(self, n, timeout):
            deadline = time.monotonic() + timeout
            while len(self.results) < n and time.monotonic() < deadline and self.thread.is_alive():
                time.sleep(0.05)

        def stop(self, timeout=100):
            self.stopping.set()
            self.thread.join(timeout)
            bad = [d for ok, d in self.results if not ok]
            return len(self.results), bad

    def traffic_checked(self, label, loop, what):
        n, bad = loop.stop()
        self.check(f"{label}: {n} back-to-back 4 MiB downloads {what} all intact", n >= 2 and not bad and
                   not loop.thread.is_alive(), "; ".join(bad[:3]) or f"{n} transfers")

    # ---- F1: NAT rebinding ------------------------------------------------------------------

    def f1_nat_rebinding(self):
        L = "F1-rebind"
        relay_py = self.path("relay.py")
        with open(relay_py, "w") as f:
            f.write(RELAY)
        relay_log = self.path("relay.log")
        relay = subprocess.Popen(["ip", "netns", "exec", self.topo.cli, sys.executable, "-u", relay_py, "127.0.0.1",
                                  SERVER_IP, str(PORT)], stdin=subprocess.DEVNULL, stdout=open(relay_log, "wb"),
                                 stderr=subprocess.STDOUT)
        self.procs.append(relay)
        ports = lambda: re.findall(r"upstream port (\d+)", open(relay_log, errors="replace").read())  # noqa: E731
        if not self.check(f"{L}: relay started", self.wait_until(ports, 10) != []):
            return
        self.target = f"127.0.0.1:{PORT}"
        try:
            c = self.connect(L, ("-v",))
            if not c or not self.dtls_up(c, L):
                return
            self.ping_checked(L, BEHIND_IP, "dtls", count=5)
            for i in range(3):
                relay.send_signal(signal.SIGUSR1)
                n = len(ports())
                moved = self.wait_until(lambda: len(ports()) > n, 5)
                self.check(f"{L}: relay moved to a new source port ({i + 1})", moved, f"ports {ports()}")
                self.ping_checked(f"{L} after rebind {i + 1}", BEHIND_IP, "dtls", count=5)
            self.bulk_checked(L, "D", 4 * MIB, "dtls", c)
            self.check(f"{L}: no new DTLS handshake (the session followed the port)", len(self.established(c)) == 1,
                       f"{len(self.established(c))} handshakes")
            text = self.text(c)
            self.check(f"{L}: openconnect never declared DTLS dead", "DTLS Dead Peer Detection detected dead peer"
                       not in text and "DTLS dead" not in text)
            with open(self.server_log, errors="replace") as f:
                roamed = f.read().count("DTLS peer moved (roaming)")
            self.check(f"{L}: the server logged the peer moves", roamed >= 3, f"{roamed} moves logged")
            self.stop(c)
        finally:
            self.target = f"{SERVER_IP}:{PORT}"
            relay.kill()
            relay.wait(timeout=10)

    # ---- F2: reload under traffic -----------------------------------------------------------

    def f2_reload_under_traffic(self):
        L = "F2-reload"
        c = self.connect(L, ("-v",))
        if not c or not self.dtls_up(c, L):
            return
        before = self.users()
        loop = self.TrafficLoop(self)
        loop.wait_results(1, 30)
        for _ in range(5):
            self.server.send_signal(signal.SIGHUP)
            time.sleep(0.3)
        loop.wait_results(len(loop.results) + 1, 30)
        self.traffic_checked(L, loop, "across five reloads")
        after = self.users()
        self.check(f"{L}: the same session is still up",
                   len(before) == 1 and len(after) == 1 and before[0].get("ID") == after[0].get("ID"),
                   f"before {[u.get('ID') for u in before]}, after {[u.get('ID') for u in after]}")
        with open(self.server_log, errors="replace") as f:
            reloads = len(re.findall(r"reload", f.read(), re.I))
        self.check(f"{L}: the server logged the reloads", reloads >= 5, f"{reloads} lines")
        self.check(f"{L}: openconnect did not reconnect", self.text(c).count("Connected as ") <= 1 and
                   len(self.established(c)) == 1)
        self.ping_checked(L, BEHIND_IP, "dtls", count=3)
        self.stop(c)

    # ---- F3: UDP blocked mid-transfer ---------------------------------------------------------

    def f3_udp_blocked_mid_transfer(self):
        L = "F3-udp-block"
        c = self.connect(L, ("-v",))
        if not c or not self.dtls_up(c, L):
            return
        loop = self.TrafficLoop(self)
        loop.wait_results(1, 30)
        self.block_udp("cli")
        self.block_udp("srv")
        # The transfer in flight stalls until openconnect declares DTLS dead (~2 x dpd) and moves
        # to CSTP. Unblocking a few seconds later keeps the outage inside openconnect's DTLS
        # reconnect window (dtls_interop covers longer outages); transfers continue throughout.
        dead = self.wait_log(c, r"DTLS Dead Peer Detection detected dead peer", 4 * di.DPD + 10)
        self.check(f"{L}: openconnect declared DTLS dead", dead)
        # Traffic must go on over CSTP while UDP is dead: a ping now crosses the tunnel both ways
        # on TCP (the client sends on CSTP once DTLS is dead, and DATA arriving on CSTP moves
        # the server's downstream to CSTP at once). The stalled download itself resumes at its
        # next TCP retransmission, whose backoff timer is the sender's; it is checked at the
        # end (every transfer complete and intact).
        self.ping_checked(f"{L} (UDP blocked)", BEHIND_IP, "cstp", count=3)
        self.unblock_udp("cli")
        self.unblock_udp("srv")
        # openconnect retries within its 12 s handshake window, else after its 60 s period.
        t_unblock = time.monotonic()
        back = self.wait_log(c, di.RE_ESTABLISHED.pattern, 80, 2)
        self.check(f"{L}: DTLS re-established after UDP returned", back,
                   f"after {time.monotonic() - t_unblock:.1f} s")
        loop.wait_results(len(loop.results) + 1, 30)
        self.traffic_checked(L, loop, "before, during and after the UDP outage")
        if back:
            self.ping_checked(L + " after unblock", BEHIND_IP, "dtls", count=5)
        self.stop(c)

    # ---- F4: floods ---------------------------------------------------------------------------

    def syn_flood(self, count):
        with ci.InNetns(self.topo.cli):
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        sent = 0
        try:
            for i in range(count):
                src = f"10.99.0.{100 + i % 100}"   # unassigned: nobody answers the SYN-ACKs
                raw.sendto(tcp_syn(src, 1024 + i, SERVER_IP, PORT, random.randrange(1 << 32)), (SERVER_IP, 0))
                sent += 1
        finally:
            raw.close()
        return sent

    def f4_floods(self):
        L = "F4-flood"
        c = self.connect(L, ("-v",))
        if not c or not self.dtls_up(c, L):
            return
        base = self.server_connections()
        loop = self.TrafficLoop(self)
        loop.wait_results(1, 30)
        idle = []
        for _ in range(300):
            try:
                idle.append(self.tcp(timeout=3))
            except OSError:
                break
        self.check(f"{L}: 300 idle TCP connections opened", len(idle) == 300, f"{len(idle)} opened")
        garbage = self.send_garbage()
        syns = self.syn_flood(2000)
        loop.wait_results(len(loop.results) + 1, 30)
        self.traffic_checked(L, loop, f"during {garbage} garbage datagrams, {len(idle)} idle connections and "
                                      f"{syns} spoofed SYNs")
        self.ping_checked(L + " during the flood", BEHIND_IP, "dtls", count=5)
        c2 = self.connect(L + "-new")
        if c2:
            self.ping_checked(L + " new client", BEHIND_IP, None, count=3)
            self.stop(c2)
        closed = self.wait_until(lambda: self.server_connections() <= base + 1, HANDSHAKE_TIMEOUT + 10)
        self.check(f"{L}: the idle connections were closed by handshake_timeout", closed,
                   f"{self.server_connections()} established on the server (tunnel: {base})")
        for s in idle:
            s.close()
        self.check(f"{L}: the tunnel is still on DTLS without a new handshake", len(self.established(c)) == 1)
        self.stop(c)

    def send_garbage(self):
        """dtls_interop's ~1000 garbage datagrams (a random 32-byte id stands in for the live
        session's), each from a fresh socket; returns how many were sent."""
        sent = 0
        with ci.InNetns(self.topo.cli):
            for _kind, payload in self.garbage_datagrams(os.urandom(32)):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    s.sendto(payload, (SERVER_IP, PORT))
                    sent += 1
                except OSError:
                    pass   # oversized datagrams may be refused locally (EMSGSIZE)
                finally:
                    s.close()
        return sent

    def server_connections(self):
        cp = self.topo.ns(self.topo.srv, "ss", "-Htn", "state", "established", f"sport = :{PORT}", check=False,
                          timeout=10)
        return len(cp.stdout.splitlines())

    # ---- F5: client killed --------------------------------------------------------------------

    def f5_client_killed(self):
        L = "F5-kill"
        c = self.connect(L, ("-v",))
        if not c or not self.dtls_up(c, L):
            return
        ip = (c.get("env") or {}).get("INTERNAL_IP4_ADDRESS")
        self.check(f"{L}: ocmctl lists the user", len(self.users()) == 1)
        self.check(f"{L}: ocmctl lists the cookie session with its address",
                   [x.get("IPv4") for x in self.sessions()] == [ip], json.dumps(self.sessions())[:300])
        # A killed process's kernel still sends FIN; a client whose machine vanished does not.
        # Everything to the server goes into the dead veth first, so only DPD can notice.
        self.block_udp("cli")
        ci.run(["ip", "-n", self.topo.cli, "rule", "add", "to", SERVER_IP, "lookup", di.BLOCK_TABLE, "pref", "99"])
        try:
            self.stop_client(c, signal.SIGKILL)
            t0 = time.monotonic()
            gone = self.wait_until(lambda: not self.users(), 3 * di.DPD + 15)
            secs = time.monotonic() - t0
            self.check(f"{L}: tunnel closed by DPD ({secs:.1f} s after the kill; 3 x dpd = {3 * di.DPD} s)",
                       gone and secs >= 2 * di.DPD, f"users: {self.users()}")
        finally:
            ci.run(["ip", "-n", self.topo.cli, "rule", "del", "pref", "99"], check=False)
            self.unblock_udp("cli")
        freed = self.wait_until(lambda: not [s for s in self.sessions() if s.get("IPv4")], COOKIE_TIMEOUT + 10)
        self.check(f"{L}: the cookie session expired and released its address", freed,
                   json.dumps(self.sessions())[:300])
        c2 = self.connect(L + "-again")
        if c2:
            self.check(f"{L}: a new login gets the same predictable address",
                       (c2.get("env") or {}).get("INTERNAL_IP4_ADDRESS") == ip,
                       f"{(c2.get('env') or {}).get('INTERNAL_IP4_ADDRESS')} vs {ip}")
            self.stop(c2)

    # ---- F6: server restarts ------------------------------------------------------------------

    def f6_server_restarts(self):
        for how in ("SIGKILL", "SIGTERM"):
            L = f"F6-{how}"
            c = self.connect(L, ("-v",))
            if not c or not self.dtls_up(c, L):
                return
            self.server.send_signal(getattr(signal, how))
            self.server.wait(timeout=15)
            if not self.start_server():
                return
            rc = self.wait_exit(c, timeout=60)
            text = self.text(c)
            self.check(f"{L}: openconnect gave up cleanly after the restart", rc is not None and rc != 0,
                       f"exit {rc}")
            self.check(f"{L}: its old cookie was refused (sessions do not survive a restart)",
                       how == "SIGTERM" or re.search(r"401|Cookie is no longer valid|Session terminated", text),
                       text.strip().splitlines()[-1][-200:] if text.strip() else "")
            c2 = self.connect(L + "-relaunch")
            if c2:
                self.ping_checked(L + " after relaunch", BEHIND_IP, None, count=3)
                self.stop(c2)

    def scan_client_logs(self):
        # After a server restart openconnect's cookie reconnect is refused on purpose (F6); its
        # "inappropriate ... 401" line is the expected outcome there, not a protocol complaint.
        for name in os.listdir(self.tmp):
            if name.startswith("oc-F6-") and name.endswith(".log") and "-relaunch" not in name:
                path = self.path(name)
                with open(path, errors="replace") as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(text.replace("Got inappropriate HTTP CONNECT response: HTTP/1.1 401",
                                         "(expected after restart) HTTP CONNECT response: HTTP/1.1 401"))
        super().scan_client_logs()

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.config_checks()
        self.topo.setup()
        if not self.ensure_bulk_helper():
            return
        self.server_log = self.path("server.log")
        if not self.start_server():
            return
        steps = [("F1", self.f1_nat_rebinding), ("F2", self.f2_reload_under_traffic),
                 ("F3", self.f3_udp_blocked_mid_transfer), ("F4", self.f4_floods), ("F5", self.f5_client_killed),
                 ("F6", self.f6_server_restarts)]
        self.run_steps(fn for key, fn in steps if not self.only or key in self.only)
        self.check("server still running at the end", self.server_alive())
        self.stop_server()
        self.scan_client_logs()


def main():
    return ci.main_for(FaultTest, __doc__, ocmctl=True, add_args=lambda ap: ap.add_argument(
        "--only", type=lambda s: set(s.split(",")), default=None, help="subset: F1,...,F6"))


if __name__ == "__main__":
    sys.exit(main())
