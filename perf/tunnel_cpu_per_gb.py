#!/usr/bin/env python3
"""Server CPU-seconds per GB moved through the VPN tunnel: ocserv-modern (socket and af_xdp
drivers) vs Debian's ocserv.

Usage (as root):
    tunnel_cpu_per_gb.py [options] OCSERV_MODERN_EXE
    tunnel_cpu_per_gb.py --only ocserv
    tunnel_cpu_per_gb.py --drivers socket OCSERV_MODERN_EXE          # ours with the socket driver only
    tunnel_cpu_per_gb.py --xdp-modes native OCSERV_MODERN_EXE        # af_xdp in native XDP mode only

The real `openconnect` client connects to each server in turn, in the same topology, and
iperf3 pushes TCP through the tunnel for -t seconds client->server ("up") and then
server->client ("down", iperf3 -R). For each transfer the script records the bytes iperf3
delivered and the CPU time (utime+stime+cutime+cstime from /proc/PID/stat, summed over the
server's whole process tree: for ocserv that is main + sec-mod + the per-user worker) spent
during the transfer, and prints CPU-s/GB (GB = 1e9 bytes of TCP payload) per server, the
client's (openconnect's) CPU-s/GB and the ratio ours/ocserv. Target: ours <= 1/10 of ocserv.

Topology (network namespaces this script creates and always deletes; helpers come from
tests/interop/cstp_interop.py):

    client ns  10.99.0.2 --veth-- 10.99.0.1  server ns  10.55.0.1 --veth-- 10.55.0.2  behind ns
    openconnect, iperf3 -c                   VPN server, ip_forward=1              iperf3 -s
                                             pool 192.168.100.0/24

The server pushes the split route 10.55.0.0/24, so iperf3 traffic crosses the tunnel and is
forwarded by the server between its TUN and the behind veth. Nothing leaves the namespaces.

--drivers (default "socket,af_xdp"): ours runs once per driver. af_xdp uses the topology and
keys of tests/interop/afxdp_interop.py: the XDP program on the server's client-facing veth `vs`,
one queue, zero_copy = "auto" (veth is copy-only), once per --xdp-modes entry (default native and
"generic"). The mode actually attached is checked with `ip -d link` before the
transfers. Ours also exports /metrics in the server ns: the data-plane and driver counters
(xsk_rx_frames, xsk_tx_frames, udp_gso_sends, tun_gro_writes, ...) are sampled around each
transfer and reported per GB, with the server threads' context switches (wakeups).

Kernel softirq time: without CONFIG_IRQ_TIME_ACCOUNTING the kernel charges softirq work that
runs on return from a syscall/irq to whichever task was running (usually the sender of the
packet, so often the server itself), and only what is deferred to ksoftirqd/N is separate.
ksoftirqd and the other kernel threads are host-wide, not per namespace: their CPU during each
transfer is reported in separate columns (an upper bound on the part that belongs to the
server's side), never added to the server's figure.

--mode: "dtls" (default) runs openconnect with its default options, so it uses DTLS when the
server offers it; "cstp" adds --no-dtls (TLS only, apples to apples); "both" runs both. The
channel column is what was actually used, measured from the client ns' UDP datagram counters
against the tun packet count (and the "Established DTLS connection" log line).

Exit status: 0 measured (whether or not the target is met, unless --max-ratio is given),
1 a server/client/iperf3 failed (its log is printed), 2 --max-ratio exceeded, 77 not root.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
import cstp_interop as ih  # noqa: E402  (namespaces, run(), the client script, addresses)
import afxdp_interop as ax  # noqa: E402  (the af_xdp interface, /metrics port, `ip -d link` check)

SKIP = 77
IPERF_PORT = 5201
CLK_TCK = os.sysconf("SC_CLK_TCK")
CONNECT_TIMEOUT = 45   # > openconnect's 12 s DTLS handshake timeout, in case DTLS is offered but broken
TARGET_RATIO = 0.10
OCSERV_DEFAULT = "/usr/sbin/ocserv"

log = ih.log


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# CPU accounting


def read_stat(path):
    """(ppid, comm, utime, stime, cutime, cstime) in ticks from a /proc/.../stat file, or None."""
    try:
        with open(path) as f:
            data = f.read()
    except OSError:
        return None
    lp, rp = data.find("("), data.rfind(")")
    f = data[rp + 2:].split()
    # f[0] is field 3 (state): ppid = field 4, utime..cstime = fields 14..17
    return (int(f[1]), data[lp + 1:rp], int(f[11]), int(f[12]), int(f[13]), int(f[14]))


def proc_snapshot():
    """{pid: stat tuple} for every process. A process's utime/stime cover all its threads, and
    cutime/cstime the children it has reaped, so a child that exits inside the measurement
    window is not lost."""
    snap = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(f"/proc/{d}/stat")
            if st:
                snap[int(d)] = st
    return snap


def tree(snap, root):
    """{pid: (comm, user_ticks, sys_ticks)} for root and all its descendants (user/sys include
    reaped children)."""
    children = {}
    for pid, st in snap.items():
        children.setdefault(st[0], []).append(pid)
    out = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in snap and pid not in out:
            st = snap[pid]
            out[pid] = (st[1], st[2] + st[4], st[3] + st[5])
            todo.extend(children.get(pid, []))
    return out


def threads(pids):
    """{tid: (comm, user_ticks, sys_ticks)} for the threads of the given processes."""
    out = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            st = read_stat(f"/proc/{pid}/task/{tid}/stat")
            if st:
                out[int(tid)] = (st[1], st[2], st[3])
    return out


def tree_delta(before, after):
    """CPU seconds used between two tree() (or threads()) results: total, and per process as
    {"comm[pid]": {"user": s, "sys": s}}."""
    per = {}
    for pid in set(before) | set(after):
        comm = (after.get(pid) or before.get(pid))[0]
        b = before.get(pid, (comm, 0, 0))
        a = after.get(pid, (comm, 0, 0))
        per[f"{comm}[{pid}]"] = {"user": (a[1] - b[1]) / CLK_TCK, "sys": (a[2] - b[2]) / CLK_TCK}
    return sum(v["user"] + v["sys"] for v in per.values()), per


def kthread_cpu(before, after):
    """(ksoftirqd, all kernel threads) CPU seconds between two proc_snapshot()s. Kernel threads
    are the children of kthreadd (pid 2); they are host-wide, not per network namespace."""
    def delta(pred):
        pids = {pid for pid, st in after.items() if st[0] == 2 and pred(st[1])}
        b = sum(before[p][2] + before[p][3] for p in pids if p in before)
        a = sum(after[p][2] + after[p][3] for p in pids)
        return (a - b) / CLK_TCK
    return delta(lambda c: c.startswith("ksoftirqd/")), delta(lambda c: True)


def ctx_switches(pids):
    """(voluntary, involuntary) context switches summed over the threads of the given
    processes: voluntary ones are mostly the loop thread sleeping in epoll (a wakeup each)."""
    vol = invol = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            vol += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches:"):
                            invol += int(line.split()[1])
            except OSError:
                continue
    return vol, invol


def host_cpu():
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    total = sum(vals[:8])
    return total - idle, total


# --------------------------------------------------------------------------------------------
# The benchmark


OURS_CONF = """# generated by perf/tunnel_cpu_per_gb.py
[server]
bind = "{server_ip}"
tcp_port = {port}
dtls_port = {port}

[crypto]
cert_file = "{cert}"
key_file = "{key}"

[auth]
method = "plain"
passwd_file = "{passwd}"

[network]
device = "ocmbench"
ipv4_network = "{pool}"
routes = ["{behind_net}"]
# a cap only: the tunnel MTU is then computed from the client's base MTU, as ocserv does
mtu = 1500

[session]
cookie_timeout = 60

[datapath]
{datapath}
[monitoring]
log_level = "info"
# /metrics in the server ns, sampled before and after each transfer (not during it)
enable_prometheus = true
stats_bind = "127.0.0.1"
stats_port = {stats_port}
"""

# The af_xdp keys as tests/interop/afxdp_interop.py sets them: one queue on the client-facing
# veth, copy mode (zero_copy = auto falls back on veth), the mode under test.
AF_XDP_DATAPATH = """driver = "af_xdp"

[datapath.af_xdp]
interface = "{iface}"
queues = 1
xdp_mode = "{xdp_mode}"
zero_copy = "auto"
frames_per_queue = 4096
"""

# `ip -d link` names for the attached XDP mode (afxdp_interop.AfXdpTest.xdp_on_iface)
XDP_LINK_MODE = {"native": "xdp", "generic": "xdpgeneric"}

OCSERV_CONF = """# generated by perf/tunnel_cpu_per_gb.py
auth = "plain[passwd={passwd}]"
listen-host = {server_ip}
tcp-port = {port}
udp-port = {port}
socket-file = {tmp}/ocserv.sock
pid-file = {tmp}/ocserv.pid
server-cert = {cert}
server-key = {key}
isolate-workers = false
use-occtl = false
device = vpns
ipv4-network = {pool}
route = {behind_net}
predictable-ips = true
cookie-timeout = 60
max-ban-score = 0
keepalive = 32400
dpd = 90
mobile-dpd = 90
try-mtu-discovery = false
compression = false
max-clients = 16
max-same-clients = 0
# no `mtu`: ocserv derives the tunnel MTU from the client's base MTU (1500 on the veth)
"""


class Bench:
    def __init__(self, args):
        self.args = args
        self.pid = os.getpid()
        self.topo = ih.Topology(self.pid)
        self.tmp = tempfile.mkdtemp(prefix="ocm-bench-")
        self.procs = []
        self.seq = 0
        self.rows = []
        self.sessions = []
        self.client = None
        self.variants = make_variants(args)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def tail(self, path, n=40, label=None):
        try:
            with open(path, errors="replace") as f:
                lines = f.readlines()
        except OSError:
            log(f"(no {label or path})")
            return
        log(f"---- last {min(n, len(lines))} lines of {label or path} ----")
        for line in lines[-n:]:
            log("  | " + line.rstrip("\n"))
        log("----")

    def pinned(self, which, cmd):
        """--pin: the VPN server on CPU 1, everything else (openconnect, iperf3) on CPU 0."""
        if not self.args.pin:
            return cmd
        return ["taskset", "-c", "1" if which == "server" else "0", *cmd]

    # ---- files ----------------------------------------------------------------------------

    def make_files(self):
        import base64
        import hashlib
        cert, key = self.path("cert.pem"), self.path("key.pem")
        ih.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-sha256",
                "-subj", "/CN=ocserv-modern-bench", "-addext", f"subjectAltName=IP:{ih.SERVER_IP}"])
        spki = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], capture_output=True,
                              check=True, timeout=20).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=spki, capture_output=True,
                             check=True, timeout=20).stdout
        self.pin = "pin-sha256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
        h = ih.run(["openssl", "passwd", "-6", "-stdin"], input_data=ih.PASSWORD + "\n").stdout.strip()
        passwd = self.path("passwd")
        with open(passwd, "w") as f:
            f.write(f"{ih.USER}:*:{h}\n")
        with open(self.path("vpnscript.sh"), "w") as f:
            f.write(ih.VPN_SCRIPT.replace("@PEER@", ih.SERVER_TUN_IP))
        os.chmod(self.path("vpnscript.sh"), 0o755)
        fmt = dict(server_ip=ih.SERVER_IP, port=ih.PORT, cert=cert, key=key, passwd=passwd, pool=ih.POOL,
                   behind_net=ih.BEHIND_NET, tmp=self.tmp)
        for v in self.variants:
            if v["kind"] != "ours":
                continue
            if v["driver"] == "socket":
                dp = 'driver = "socket"\n'
            else:
                dp = AF_XDP_DATAPATH.format(iface=ax.IFACE, xdp_mode=v["xdp_mode"])
            with open(self.path(v["config"]), "w") as f:
                f.write(OURS_CONF.format(datapath=dp, stats_port=ax.STATS_PORT, **fmt))
        with open(self.path("ocserv.conf"), "w") as f:
            f.write(OCSERV_CONF.format(**fmt))

    # ---- iperf3 server (behind ns, whole run) ---------------------------------------------

    def start_iperf_server(self):
        logf = open(self.path("iperf3-server.log"), "wb")
        # --idle-timeout bounds its life should this script be SIGKILLed before the teardown.
        p = subprocess.Popen(["ip", "netns", "exec", self.topo.bhd,
                              *self.pinned("client", ["iperf3", "-s", "-B", ih.BEHIND_IP, "-p", str(IPERF_PORT),
                                                      "--idle-timeout", "900"])],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.procs.append(p)
        self.iperf_server = p
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None:
            cp = self.topo.ns(self.topo.bhd, "ss", "-Hltn", f"sport = :{IPERF_PORT}", check=False, timeout=10)
            if cp.stdout.strip():
                return
            time.sleep(0.1)
        self.tail(self.path("iperf3-server.log"), label="iperf3 server log")
        raise BenchError("iperf3 server did not start in the behind namespace")

    # ---- VPN server -----------------------------------------------------------------------

    def start_server(self, variant, label):
        kind = variant["kind"]
        logpath = self.path(f"server-{label}.log")
        if kind == "ours":
            cmd = [self.args.server, "-c", self.path(variant["config"])]
        else:
            cmd = [self.args.ocserv_bin, "-f", "-d", "1", "-c", self.path("ocserv.conf")]
        logf = open(logpath, "wb")
        p = subprocess.Popen(["ip", "netns", "exec", self.topo.srv, *self.pinned("server", cmd)],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.procs.append(p)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and p.poll() is None:
            cp = self.topo.ns(self.topo.srv, "ss", "-Hltn", f"sport = :{ih.PORT}", check=False, timeout=10)
            if cp.stdout.strip():
                if variant.get("driver") == "af_xdp":
                    self.check_xdp_attached(variant, p, logpath)
                return p, logpath
            time.sleep(0.2)
        why = f"exited with status {p.returncode}" if p.poll() is not None else "not listening after 20 s"
        self.tail(logpath, n=60, label=f"{kind} server log")
        raise BenchError(f"{kind} server failed to start ({shlex_join(cmd)}): {why}")

    def check_xdp_attached(self, variant, p, logpath):
        """The XDP program must be on the veth in the mode under test, and the XSK in copy mode:
        otherwise the figures would be for something else."""
        mode, name = ax.AfXdpTest.xdp_on_iface(self)  # uses only self.topo
        want = XDP_LINK_MODE[variant["xdp_mode"]]
        with open(logpath, errors="replace") as f:
            line = next((x.strip() for x in f if "af_xdp data plane:" in x), "")
        variant["start_line"] = line[line.find("af_xdp data plane:"):]
        if mode != want or name != "ocm_xdp_dtls":
            self.stop_server(p)
            self.tail(logpath, n=60, label="ours (af_xdp) server log")
            raise BenchError(f"af_xdp: expected program ocm_xdp_dtls in {want} mode on {ax.IFACE}, "
                             f"ip link shows {mode} {name}")

    def metrics(self):
        """{(family, labels): value} from ours' /metrics in the server ns (data plane and driver
        counters only), or {} if it cannot be read. Called outside the measured window."""
        code = (f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{ax.STATS_PORT}/metrics',"
                f"timeout=5).read().decode())")
        cp = self.topo.ns(self.topo.srv, sys.executable, "-c", code, check=False, timeout=15)
        out = {}
        for line in cp.stdout.splitlines():
            m = re.match(r'^\w*?(driver_events_total|datapath_packets_total|datapath_bytes_total|'
                         r'datapath_drops_total|datapath_events_total)\{([^}]*)\}\s+(\d+)', line)
            if m:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
                if m.group(1) == "driver_events_total":
                    key = "drv:" + labels.get("event", "?")
                elif m.group(1) in ("datapath_packets_total", "datapath_bytes_total"):
                    key = ("pkts:" if "packets" in m.group(1) else "bytes:") + \
                        f"{labels.get('port')}_{labels.get('direction')}"
                elif m.group(1) == "datapath_drops_total":
                    key = "drop:" + labels.get("reason", "?")
                else:
                    key = "ev:" + labels.get("event", "?")
                out[key] = int(m.group(3))
        return out

    def stop_server(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        # ocserv's sec-mod / workers must be gone before the next server binds the same port.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = ih.run(["ip", "netns", "pids", self.topo.srv], check=False, timeout=10).stdout.split()
            if not pids:
                return
            if time.monotonic() > deadline - 5:
                for q in pids:
                    try:
                        os.kill(int(q), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
            time.sleep(0.2)

    # ---- openconnect ----------------------------------------------------------------------

    def start_client(self, label, no_dtls):
        self.seq += 1
        ifname = f"ocb{self.pid % 100000}{self.seq}"[:15]
        prefix = self.path(f"env-{label}")
        logpath = self.path(f"oc-{label}.log")
        cmd = ["openconnect", "--protocol=anyconnect", "--servercert", self.pin, "--non-inter",
               "-u", ih.USER, "--passwd-on-stdin", "--interface", ifname, "--script", self.path("vpnscript.sh"),
               "--reconnect-timeout", "10", "-v", "--timestamp"]
        if no_dtls:
            cmd.append("--no-dtls")
        cmd.append(f"https://{ih.SERVER_IP}:{ih.PORT}/")
        logf = open(logpath, "wb")
        p = subprocess.Popen(["ip", "netns", "exec", self.topo.cli, *self.pinned("client", cmd)],
                             stdin=subprocess.PIPE, stdout=logf, stderr=subprocess.STDOUT,
                             env=dict(os.environ, OCM_ENV_PREFIX=prefix))
        logf.close()
        self.procs.append(p)
        try:
            p.stdin.write((ih.PASSWORD + "\n").encode())
            p.stdin.close()
        except BrokenPipeError:
            pass
        c = {"proc": p, "ifname": ifname, "log": logpath, "env_prefix": prefix}
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            if os.path.exists(prefix + ".connect"):
                c["env"] = ih.Test.read_env(prefix + ".connect")
                return c
            if p.poll() is not None:
                break
            time.sleep(0.1)
        raise BenchError(f"openconnect did not connect ({label}): "
                         + (f"exit {p.returncode}" if p.poll() is not None else f"no tunnel after {CONNECT_TIMEOUT} s"))

    def stop_client(self, c):
        p = c["proc"]
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)

    def client_ns_counters(self, ifname):
        snmp = self.topo.ns(self.topo.cli, "cat", "/proc/net/snmp", timeout=10).stdout
        udp = [line.split() for line in snmp.splitlines() if line.startswith("Udp:")]
        u = dict(zip(udp[0][1:], (int(x) for x in udp[1][1:])))
        cp = ih.run(["ip", "-n", self.topo.cli, "-s", "-j", "link", "show", "dev", ifname], check=False, timeout=10)
        if cp.returncode != 0:
            raise BenchError(f"client tun {ifname} is gone (openconnect "
                             + (f"exited {self.client['proc'].returncode})" if self.client and
                                self.client["proc"].poll() is not None else "still running: reconnecting?)"))
        link = json.loads(cp.stdout)[0]
        st = link.get("stats64") or link.get("stats")
        return {"udp": u["InDatagrams"] + u["OutDatagrams"],
                "tun_pkts": st["rx"]["packets"] + st["tx"]["packets"],
                "mtu": link.get("mtu")}

    def ping_behind(self):
        cp = self.topo.ns(self.topo.cli, "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "2", "-w", "10",
                          ih.BEHIND_IP, check=False, timeout=20)
        return cp.returncode == 0, (cp.stdout + cp.stderr).strip()[-300:]

    # ---- one transfer ---------------------------------------------------------------------

    def start_perf(self, pids, label):
        """--perf DIR: `perf record -g` on the server's processes during the transfer (a
        diagnostic: perf's own overhead then inflates every figure of that run)."""
        if not self.args.perf:
            return None
        data = os.path.join(self.args.perf, f"{label}.data")
        logf = open(os.path.join(self.args.perf, f"{label}.log"), "wb")
        p = subprocess.Popen(["perf", "record", "-q", "-g", "-F", "1999", "-o", data,
                              "-p", ",".join(str(x) for x in sorted(pids))],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.procs.append(p)
        # and the server's system calls by number (one tracepoint, counted in the kernel)
        st = subprocess.Popen(["perf", "stat", "-x", ",", "-o", data[:-5] + ".syscalls",
                               "-e", "raw_syscalls:sys_enter,context-switches", "-p", ",".join(str(x) for x in sorted(pids))],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(st)
        time.sleep(0.5)  # perf attaches before the transfer starts
        return p, st, data

    def stop_perf(self, prof):
        if prof is None:
            return
        p, st, data = prof
        for q in (p, st):
            if q.poll() is None:
                q.send_signal(signal.SIGINT)
                try:
                    q.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    q.kill()
                    q.wait(timeout=10)
        with open(data[:-5] + ".txt", "w") as out:
            subprocess.run(["perf", "report", "-i", data, "--stdio", "-n", "--no-children", "--percent-limit", "0.3",
                            "--sort", "dso,sym", "-g", "none"], stdout=out, stderr=subprocess.DEVNULL,
                           timeout=120, check=False)

    def transfer(self, server_pid, client_pid, ifname, reverse, ours, label=""):
        secs = self.args.time
        m0 = self.metrics() if ours else {}
        cmd = ["ip", "netns", "exec", self.topo.cli,
               *self.pinned("client", ["iperf3", "-c", ih.BEHIND_IP, "-p", str(IPERF_PORT), "-t", str(secs),
                                       "-J", "--connect-timeout", "5000", *(["-R"] if reverse else [])])]
        cnt0 = self.client_ns_counters(ifname)
        with open("/proc/loadavg") as f:
            loadavg = float(f.read().split()[0])
        snap0, host0, t0, own0 = proc_snapshot(), host_cpu(), time.monotonic(), os.times()
        thr0 = threads(tree(snap0, server_pid))
        cs0 = ctx_switches(tree(snap0, server_pid))
        prof = self.start_perf(tree(snap0, server_pid), label)
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 30)
        except subprocess.TimeoutExpired:
            raise BenchError(f"iperf3 did not finish within {secs + 30} s")
        finally:
            self.stop_perf(prof)
        snap1, host1, t1, own1 = proc_snapshot(), host_cpu(), time.monotonic(), os.times()
        thr1 = threads(tree(snap1, server_pid))
        cs1 = ctx_switches(tree(snap1, server_pid))
        cnt1 = self.client_ns_counters(ifname)
        m1 = self.metrics() if ours else {}
        try:
            res = json.loads(cp.stdout)
        except ValueError:
            res = {"error": f"no JSON (exit {cp.returncode}): {(cp.stdout + cp.stderr)[-500:]}"}
        if cp.returncode != 0 or "error" in res:
            raise BenchError(f"iperf3 failed: {res.get('error')}")
        recv = res["end"]["sum_received"]
        srv_cpu, srv_per = tree_delta(tree(snap0, server_pid), tree(snap1, server_pid))
        cli_cpu, _ = tree_delta(tree(snap0, client_pid), tree(snap1, client_pid))
        ips = self.iperf_server.pid
        iperf_cpu = tree_delta(tree(snap0, ips), tree(snap1, ips))[0]
        # the iperf3 client is our child, reaped by subprocess.run: it shows up in our cutime/cstime
        iperf_cpu += (own1.children_user - own0.children_user) + (own1.children_system - own0.children_system)
        host_busy = (host1[0] - host0[0]) / CLK_TCK
        ksoftirqd, kthreads = kthread_cpu(snap0, snap1)
        udp = cnt1["udp"] - cnt0["udp"]
        pkts = cnt1["tun_pkts"] - cnt0["tun_pkts"]
        return {
            "bytes": recv["bytes"],
            "seconds": recv["seconds"],
            "mbit_s": recv["bits_per_second"] / 1e6,
            "retransmits": res["end"].get("sum_sent", {}).get("retransmits"),
            "server_cpu_s": srv_cpu,
            "server_cpu_by_process": srv_per,
            "server_cpu_by_thread": tree_delta(thr0, thr1)[1],
            "client_cpu_s": cli_cpu,
            "iperf3_cpu_s": iperf_cpu,
            "host_busy_cpu_s": host_busy,
            # everything else that ran meanwhile: kernel threads (ksoftirqd, kworkers), this
            # script, and any unrelated load on the machine (e.g. other people's compilers)
            "other_cpu_s": max(0.0, host_busy - srv_cpu - cli_cpu - iperf_cpu),
            # host-wide kernel threads (not per namespace): ksoftirqd/N runs the softirq work
            # the kernel deferred, for all three namespaces and anything else on the host
            "ksoftirqd_cpu_s": ksoftirqd,
            "kthreads_cpu_s": kthreads,
            "server_ctx_switches": {"voluntary": cs1[0] - cs0[0], "involuntary": cs1[1] - cs0[1]},
            # ours only: data-plane and driver counters (/metrics) across the transfer
            "counters": {k: m1[k] - m0.get(k, 0) for k in sorted(m1) if m1[k] - m0.get(k, 0)},            "loadavg_1min_before": loadavg,
            "host_total_cpu_s": (host1[1] - host0[1]) / CLK_TCK,
            "wall_s": t1 - t0,
            "tun_packets": pkts,
            "udp_datagrams": udp,
            "dtls_fraction": (udp / pkts) if pkts else None,
            "tun_mtu": cnt1["mtu"],
        }

    # ---- one server + client configuration ------------------------------------------------

    def session(self, variant, mode, rep):
        kind = variant["kind"]
        label = f"{variant['name']}-{mode}-{rep}"
        no_dtls = mode == "cstp"
        log(f"== {variant['name']}, client {'--no-dtls' if no_dtls else 'default (DTLS if offered)'}"
            + (f", repetition {rep + 1}" if self.args.repeat > 1 else ""))
        server, slog = self.start_server(variant, label)
        try:
            self.measure_session(variant, mode, rep, label, no_dtls, server)
        except Exception as e:
            self.tail(self.path(f"oc-{label}.log"), label="openconnect log")
            self.tail(slog, label=f"{kind} server log")
            if isinstance(e, BenchError):
                raise
            raise BenchError(f"{kind}/{mode}: {type(e).__name__}: {e}") from e
        finally:
            if self.client:
                self.stop_client(self.client)
                self.client = None
            self.stop_server(server)

    def measure_session(self, variant, mode, rep, label, no_dtls, server):
        kind = variant["kind"]
        c = self.client = self.start_client(label, no_dtls)
        time.sleep(1)  # let DTLS (if any) and the MTU settle
        ok, detail = self.ping_behind()
        if not ok:
            raise BenchError(f"{kind}: no ping to {ih.BEHIND_IP} through the tunnel: {detail}")
        with open(c["log"], errors="replace") as f:
            oclog = f.read()
        tls = re.search(r"Connected to HTTPS on .*? with ciphersuite (\S+)", oclog)
        dtls = re.search(r"Established DTLS connection.*?Ciphersuite (\S+?)\.?$", oclog, re.M)
        info = {"server": kind, "variant": variant["name"], "driver": variant["driver"],
                "xdp_mode": variant.get("xdp_mode"), "mode": mode, "rep": rep,
                "tls_cipher": tls.group(1) if tls else None,
                "dtls_cipher": dtls.group(1) if dtls else None,
                "mtu": c["env"].get("INTERNAL_IP4_MTU")}
        self.sessions.append(info)
        log(f"   TLS {info['tls_cipher']}, DTLS {info['dtls_cipher'] or '-'}, MTU {info['mtu']}")
        for direction, reverse in (("up", False), ("down", True)):
            r = self.transfer(server.pid, c["proc"].pid, c["ifname"], reverse, kind == "ours",
                              f"{label}-{direction}")
            frac = r["dtls_fraction"]
            if frac is None:
                channel = "?"
            elif frac >= 0.9:
                channel = "DTLS"
            elif frac <= 0.1:
                channel = "CSTP"
            else:
                channel = f"mixed({frac * 100:.0f}%DTLS)"
            if channel == "DTLS" and not dtls:
                channel += "?"  # UDP flowed but the log never said DTLS was established
            r.update(info)
            r.update({"direction": direction, "channel": channel})
            self.rows.append(r)
            gb = r["bytes"] / 1e9
            log(f"   {direction:4s} {channel:5s} {gb:6.3f} GB  server {r['server_cpu_s']:6.2f} CPU-s "
                f"({r['server_cpu_s'] / gb:5.2f}/GB)  client {r['client_cpu_s'] / gb:5.2f}/GB  "
                f"{r['mbit_s']:7.0f} Mbit/s")
            time.sleep(1)
        if c["proc"].poll() is not None:
            raise BenchError(f"openconnect exited during the transfers (exit {c['proc'].returncode})")
        if server.poll() is not None:
            raise BenchError(f"{kind} server exited during the transfers (exit {server.returncode})")

    # ---- main -----------------------------------------------------------------------------

    def run(self):
        ih.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        self.start_iperf_server()
        modes = ["cstp", "dtls"] if self.args.mode == "both" else [self.args.mode]
        for rep in range(self.args.repeat):
            for mode in modes:
                for variant in self.variants:
                    self.session(variant, mode, rep)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(timeout=5)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    pass
        self.topo.teardown()
        if self.args.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def shlex_join(cmd):
    import shlex
    return shlex.join(cmd)


# --------------------------------------------------------------------------------------------
# Report


def make_variants(args):
    """The server configurations one repetition runs, in order: ours once per driver (af_xdp
    once per XDP mode), then ocserv."""
    out = []
    if args.only != "ocserv":
        for d in args.drivers:
            if d == "socket":
                out.append({"name": "socket", "kind": "ours", "driver": "socket", "config": "ours.toml"})
            else:
                for m in args.xdp_modes:
                    out.append({"name": f"af_xdp-{m}", "kind": "ours", "driver": "af_xdp", "xdp_mode": m,
                                "config": f"ours-af_xdp-{m}.toml"})
    if args.only != "ours":
        out.append({"name": "ocserv", "kind": "ocserv", "driver": None})
    return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def aggregate(rows):
    b = sum(r["bytes"] for r in rows)
    gb = b / 1e9
    s = sum(r["server_cpu_s"] for r in rows)
    c = sum(r["client_cpu_s"] for r in rows)
    h = sum(r["host_busy_cpu_s"] for r in rows)
    other = sum(r["other_cpu_s"] for r in rows)
    cap = sum(r["host_total_cpu_s"] for r in rows)
    secs = sum(r["seconds"] for r in rows)
    ksi = sum(r.get("ksoftirqd_cpu_s", 0.0) for r in rows)
    kth = sum(r.get("kthreads_cpu_s", 0.0) for r in rows)
    # per repetition (for "both": that repetition's up and down together)
    by_rep = {}
    for r in rows:
        acc = by_rep.setdefault(r["rep"], [0.0, 0])
        acc[0] += r["server_cpu_s"]
        acc[1] += r["bytes"]
    per_run = [cpu / (b / 1e9) for cpu, b in by_rep.values() if b]
    channels = sorted({r["channel"] for r in rows})
    mtus = sorted({str(r["tun_mtu"]) for r in rows})
    su = sum(sum(v["user"] for v in r["server_cpu_by_process"].values()) for r in rows)
    vol = sum(r.get("server_ctx_switches", {}).get("voluntary", 0) for r in rows)
    counters = {}
    for r in rows:
        for k, v in r.get("counters", {}).items():
            counters[k] = counters.get(k, 0) + v
    return {"gb": gb, "server_cpu_s": s, "client_cpu_s": c, "host_busy_cpu_s": h,
            "server_cpu_s_per_gb": s / gb if gb else None, "client_cpu_s_per_gb": c / gb if gb else None,
            "server_cpu_s_per_gb_median": median(per_run),
            "host_cpu_s_per_gb": h / gb if gb else None,
            "ksoftirqd_cpu_s_per_gb": ksi / gb if gb else None,
            "kthreads_cpu_s_per_gb": kth / gb if gb else None,
            "server_wakeups_per_gb": vol / gb if gb else None,
            "counters_per_gb": {k: v / gb for k, v in counters.items()} if gb else {},
            "other_load_pct": 100.0 * other / cap if cap else None, "mbit_s": b * 8 / secs / 1e6 if secs else None,
            "server_cpu_s_per_gb_min": min(per_run) if per_run else None,
            "server_cpu_s_per_gb_max": max(per_run) if per_run else None,
            "server_user_s": su, "server_sys_s": s - su,
            "loadavg_1min_median": median([r["loadavg_1min_before"] for r in rows]),
            "channel": "/".join(channels), "tun_mtu": "/".join(mtus), "n": len(rows)}


def ratio_entry(mode, direction, a, o, name_a, name_o):
    return {"mode": mode, "direction": direction, "variant": a["variant"], "baseline": o["variant"],
            f"{name_a}_cpu_s_per_gb": a["server_cpu_s_per_gb"],
            f"{name_o}_cpu_s_per_gb": o["server_cpu_s_per_gb"],
            "ratio": a["server_cpu_s_per_gb"] / o["server_cpu_s_per_gb"],
            "median_ratio": (a["server_cpu_s_per_gb_median"] / o["server_cpu_s_per_gb_median"]
                             if a["server_cpu_s_per_gb_median"] and o["server_cpu_s_per_gb_median"] else None),
            "channels": f"{a['channel']} vs {o['channel']}"}


# driver counters worth a line in the text report (all of them are in the JSON)
KEY_COUNTERS = ("pkts:udp_rx", "pkts:udp_tx", "pkts:tun_rx", "pkts:tun_tx", "drv:xsk_rx_frames", "drv:xsk_tx_frames",
                "drv:xsk_tx_ring_full", "drv:xsk_fill_starved", "drv:xsk_kernel_rx_dropped",
                "drv:xsk_kernel_rx_ring_full", "drv:xsk_kernel_rx_fill_ring_empty", "drv:pool_exhausted",
                "drv:udp_gso_sends", "drv:udp_gso_records", "drv:tun_gro_writes", "drv:tun_gro_packets",
                "drv:tun_gso_frames", "drv:tun_gso_segments")


def report(bench, args):
    rows = bench.rows
    modes = [m for m in ("cstp", "dtls") if any(r["mode"] == m for r in rows)]
    names = [v["name"] for v in bench.variants if any(r["variant"] == v["name"] for r in rows)]
    table = []
    for mode in modes:
        for name in names:
            for direction in ("up", "down", "both"):
                sel = [r for r in rows if r["mode"] == mode and r["variant"] == name
                       and (direction == "both" or r["direction"] == direction)]
                if sel:
                    table.append({"server": sel[0]["server"], "variant": name, "driver": sel[0]["driver"],
                                  "mode": mode, "direction": direction, **aggregate(sel)})

    def find(mode, name, direction):
        t = [t for t in table if t["mode"] == mode and t["variant"] == name and t["direction"] == direction]
        return t[0] if t and t[0]["server_cpu_s_per_gb"] else None

    ratios, driver_ratios = [], []
    for mode in modes:
        for direction in ("up", "down", "both"):
            o = find(mode, "ocserv", direction)
            s = find(mode, "socket", direction)
            for name in names:
                a = find(mode, name, direction)
                if a is None or a["server"] != "ours":
                    continue
                if o is not None:
                    ratios.append(ratio_entry(mode, direction, a, o, "ours", "ocserv"))
                if s is not None and a["driver"] == "af_xdp":
                    driver_ratios.append(ratio_entry(mode, direction, a, s, "af_xdp", "socket"))

    cores = os.cpu_count()
    loads = [r["loadavg_1min_before"] for r in rows]
    log("")
    log(f"Server CPU-seconds per GB through the tunnel (iperf3 TCP, {args.time} s per direction"
        + (f", {args.repeat} repetitions: CPU-s/GB = sum of CPU / sum of GB, median = median of the"
           f" per-repetition figures" if args.repeat > 1 else "") + ")")
    log(f"Host: {cores} CPU cores shared by the VPN server, openconnect, both iperf3 ends and the kernel"
        + (" (--pin: server on CPU 1, the rest on CPU 0)" if args.pin else " (unpinned)")
        + "; throughput is CPU-bound, so Mbit/s is only indicative.")
    if loads:
        log(f"1-min load average before each transfer: min {min(loads):.2f}, median {median(loads):.2f}, "
            f"max {max(loads):.2f} ({len(loads)} transfers; includes this benchmark's own processes)")
    log("mode: cstp = openconnect --no-dtls; dtls = openconnect defaults (DTLS if the server offers it).")
    log("up = client->server (iperf3), down = server->client (iperf3 -R); GB = 1e9 bytes of TCP payload.")
    ita = irq_time_accounting()
    if ita is False:
        log("Kernel without CONFIG_IRQ_TIME_ACCOUNTING: softirq network work (veth/TUN delivery into the")
        log("peer namespace, forwarding, the peer's TCP receive) is charged as sys time to the task that")
        log("sent the packet, so each server's sys time includes part of the kernel path around it.")
    log("ksirq/GB, kthr/GB: CPU of ksoftirqd/N and of all kernel threads during the transfer, host-wide")
    log("(all namespaces and anything else running), per GB; NOT included in srv CPU-s/GB.")
    log("other load = share of the host's CPU time used by anything but the VPN server, openconnect and")
    log("iperf3 during the transfer (kernel threads, unrelated processes); high values mean noisy figures.")
    log("")
    hdr = (f"{'server':19s} {'mode':4s} {'dir':4s} {'channel':9s} {'MTU':>4s} {'GB':>6s} {'srv CPU-s':>9s} "
           f"{'(usr/sys)':>11s} {'srv CPU-s/GB':>12s} {'median':>6s} {'ksirq/GB':>8s} {'kthr/GB':>7s} "
           f"{'cli CPU-s/GB':>12s} {'Mbit/s':>7s} {'other load':>10s}")
    log(hdr)
    log("-" * len(hdr))
    for t in table:
        spread = ""
        if t["n"] > 1 and t["direction"] != "both":
            spread = f"  (runs {t['server_cpu_s_per_gb_min']:.2f}..{t['server_cpu_s_per_gb_max']:.2f})"
        us = f"{t['server_user_s']:.1f}/{t['server_sys_s']:.1f}"
        label = t["variant"] if t["server"] == "ocserv" else f"ours/{t['variant']}"
        log(f"{label:19s} {t['mode']:4s} {t['direction']:4s} {t['channel']:9s} {t['tun_mtu']:>4s} {t['gb']:6.2f} "
            f"{t['server_cpu_s']:9.2f} {us:>11s} {t['server_cpu_s_per_gb']:12.3f} "
            f"{t['server_cpu_s_per_gb_median']:6.3f} {t['ksoftirqd_cpu_s_per_gb']:8.3f} "
            f"{t['kthreads_cpu_s_per_gb']:7.3f} {t['client_cpu_s_per_gb']:12.3f} "
            f"{t['mbit_s']:7.0f} {t['other_load_pct']:9.0f}%{spread}")
    for s in bench.sessions:
        if s["rep"] == 0:
            log(f"  {s['variant']:15s} {s['mode']:4s}: TLS {s['tls_cipher']}, DTLS {s['dtls_cipher'] or '-'}")
    for v in bench.variants:
        if v.get("start_line"):
            log(f"  {v['name']:15s} {v['start_line']}")
    first = [r for r in rows if r["rep"] == 0]
    if first:
        log("  server CPU-s (user+sys) by process (ocserv) / thread (ours), first repetition:")
        for r in first:
            by = r["server_cpu_by_thread"] if r["server"] == "ours" else r["server_cpu_by_process"]
            parts = ", ".join(f"{k} {v['user']:.2f}+{v['sys']:.2f}" for k, v in sorted(by.items())
                              if v["user"] or v["sys"])
            log(f"    {r['variant']:15s} {r['mode']:4s} {r['direction']:4s}: {parts or '-'}")
        log("  per GB, all repetitions: server wakeups (voluntary context switches) and ours' counters:")
        for t in table:
            if t["direction"] == "both":
                continue
            cpg = t["counters_per_gb"]
            parts = ", ".join(f"{k.split(':', 1)[1]} {cpg[k]:.0f}" for k in KEY_COUNTERS if cpg.get(k))
            log(f"    {t['variant']:15s} {t['mode']:4s} {t['direction']:4s}: wakeups {t['server_wakeups_per_gb']:.0f}"
                + (f"; {parts}" if parts else ""))
    if ratios:
        log("")
        log(f"Ratio ours/ocserv (server CPU-s per GB, sum-based [median-based]; target <= {TARGET_RATIO:.2f}):")
        for q in ratios:
            flag = "met" if q["ratio"] <= TARGET_RATIO else "NOT met"
            diff = "" if q["channels"].split(" vs ")[0] == q["channels"].split(" vs ")[1] \
                else f"  [channels differ: {q['channels']}]"
            med = f" [{q['median_ratio']:.3f}]" if q["median_ratio"] is not None else ""
            log(f"  {q['variant']:15s} {q['mode']:4s} {q['direction']:4s}: {q['ours_cpu_s_per_gb']:.3f} / "
                f"{q['ocserv_cpu_s_per_gb']:.3f} = {q['ratio']:.3f}{med}  ({flag}){diff}")
    if driver_ratios:
        log("")
        log("Ratio af_xdp/socket (server CPU-s per GB, sum-based [median-based]; < 1 = af_xdp cheaper):")
        for q in driver_ratios:
            med = f" [{q['median_ratio']:.3f}]" if q["median_ratio"] is not None else ""
            log(f"  {q['variant']:15s} {q['mode']:4s} {q['direction']:4s}: {q['af_xdp_cpu_s_per_gb']:.3f} / "
                f"{q['socket_cpu_s_per_gb']:.3f} = {q['ratio']:.3f}{med}")
    if args.json:
        out = {
            "meta": {
                "time_s": args.time, "repeat": args.repeat, "mode": args.mode, "pin": args.pin, "cpu_cores": cores,
                "drivers": args.drivers, "xdp_modes": args.xdp_modes, "perf_record": bool(args.perf),
                "variants": bench.variants,
                "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "host": platform.node(),
                "cpu_model": cpu_model(),
                "loadavg_1min_before_transfers": {"min": min(loads), "median": median(loads), "max": max(loads)}
                if loads else None,
                "kernel": platform.release(), "irq_time_accounting": irq_time_accounting(), "target_ratio": TARGET_RATIO,
                "ours": args.server, "ocserv": args.ocserv_bin if args.only != "ours" else None,
                "versions": versions(args),
                "note": "all processes share the host's CPU cores; CPU = utime+stime+cutime+cstime of the "
                        "server's process tree during each iperf3 run; kernel softirq work is charged to "
                        "whichever task happens to run; ksoftirqd_cpu_s / kthreads_cpu_s are host-wide and "
                        "not included in server_cpu_s",
            },
            "sessions": bench.sessions, "runs": rows, "summary": table, "ratios": ratios,
            "driver_ratios": driver_ratios,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        log(f"wrote {args.json}")
    return ratios


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def irq_time_accounting():
    """True/False from the running kernel's config when readable, else None. Without
    CONFIG_IRQ_TIME_ACCOUNTING, softirq work is charged to whichever task is running."""
    import gzip
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            for line in f:
                if line.startswith("CONFIG_IRQ_TIME_ACCOUNTING=y"):
                    return True
        return False
    except OSError:
        return None


def versions(args):
    def first(cmd):
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (cp.stdout + cp.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return None
    v = {"openconnect": first(["openconnect", "--version"]), "iperf3": first(["iperf3", "--version"])}
    if args.only != "ocserv":
        v["ours"] = first([args.server, "--version"])
    if args.only != "ours":
        v["ocserv"] = first([args.ocserv_bin, "--version"])
    return v


def wait_for_load(limit, max_s):
    """Polls /proc/loadavg every 30 s until the 1-min figure is below limit, at most max_s."""
    deadline = time.monotonic() + max_s
    while True:
        with open("/proc/loadavg") as f:
            load = float(f.read().split()[0])
        if load < limit:
            log(f"load average {load:.2f} < {limit}: starting")
            return
        if time.monotonic() + 30 > deadline:
            log(f"load average {load:.2f} still >= {limit} after {max_s} s: measuring anyway")
            return
        log(f"load average {load:.2f} >= {limit}: waiting 30 s")
        time.sleep(30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", nargs="?", help="path to the ocserv-modern binary (not needed with --only ocserv)")
    ap.add_argument("-t", "--time", type=int, default=10, help="iperf3 seconds per direction (default 10)")
    ap.add_argument("--mode", choices=("cstp", "dtls", "both"), default="dtls",
                    help="cstp: openconnect --no-dtls; dtls (default): openconnect defaults, DTLS if offered; "
                         "both: one of each")
    ap.add_argument("--no-dtls", action="store_true", help="same as --mode cstp")
    ap.add_argument("--only", choices=("ours", "ocserv"), help="benchmark only this server")
    ap.add_argument("--drivers", default="socket,af_xdp",
                    help="ours' data-plane drivers to measure, comma-separated (default socket,af_xdp)")
    ap.add_argument("--xdp-modes", default="native,generic",
                    help="af_xdp: XDP attach modes to measure, comma-separated (default native,generic)")
    ap.add_argument("--wait-load", type=float, metavar="L",
                    help="before starting, wait until the 1-min load average is below L (polled every 30 s)")
    ap.add_argument("--wait-max", type=int, default=1200, metavar="S",
                    help="give up waiting for --wait-load after S seconds and measure anyway (default 1200)")
    ap.add_argument("--ocserv-bin", default=OCSERV_DEFAULT, help=f"ocserv binary (default {OCSERV_DEFAULT})")
    ap.add_argument("--repeat", type=int, default=1, help="repetitions of the whole sequence (summed)")
    ap.add_argument("--pin", action="store_true", help="pin the VPN server to CPU 1 and the rest to CPU 0")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--max-ratio", type=float, metavar="R",
                    help="exit 2 if any ours/ocserv ratio (same channel on both sides) is above R")
    ap.add_argument("--perf", metavar="DIR",
                    help="diagnostic: perf record -g the server during each transfer into DIR (LABEL.data, "
                         "LABEL.txt = perf report by dso,symbol, LABEL.syscalls = perf stat of system calls "
                         "and context switches); perf's overhead inflates the figures")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with configs and logs")
    args = ap.parse_args()
    if args.no_dtls:
        if args.mode not in ("dtls", "cstp"):
            ap.error("--no-dtls conflicts with --mode both")
        args.mode = "cstp"
    if args.time < 1 or args.repeat < 1:
        ap.error("-t and --repeat must be >= 1")
    args.drivers = [d.strip() for d in args.drivers.split(",") if d.strip()]
    args.xdp_modes = [m.strip() for m in args.xdp_modes.split(",") if m.strip()]
    if not args.drivers or any(d not in ("socket", "af_xdp") for d in args.drivers) or \
            len(set(args.drivers)) != len(args.drivers):
        ap.error("--drivers: a comma-separated list of socket, af_xdp")
    if not args.xdp_modes or any(m not in XDP_LINK_MODE for m in args.xdp_modes) or \
            len(set(args.xdp_modes)) != len(args.xdp_modes):
        ap.error("--xdp-modes: a comma-separated list of native, generic")

    if os.geteuid() != 0:
        log("SKIP: needs root (network namespaces, TUN devices)")
        return SKIP
    tools = ["ip", "openconnect", "openssl", "ping", "ss", "iperf3"] + (["taskset"] if args.pin else []) \
        + (["perf"] if args.perf else [])
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        log(f"FAIL: missing tools: {' '.join(missing)} (run scripts/install-deps.sh)")
        return 1
    if args.only != "ocserv":
        if not args.server or not os.access(args.server, os.X_OK):
            log(f"FAIL: ocserv-modern binary {args.server!r} not given or not executable")
            return 1
        args.server = os.path.abspath(args.server)
    if args.only != "ours" and not os.access(args.ocserv_bin, os.X_OK):
        log(f"FAIL: {args.ocserv_bin} not found (apt-get install ocserv), or use --only ours")
        return 1
    if args.perf:
        os.makedirs(args.perf, exist_ok=True)
    if args.pin and (os.cpu_count() or 1) < 2:
        log("FAIL: --pin needs 2 CPUs")
        return 1

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    if args.wait_load is not None:
        wait_for_load(args.wait_load, args.wait_max)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    b = Bench(args)
    rc = 0
    try:
        b.run()
    except BenchError as e:
        log(f"FAIL: {e}")
        rc = 1
    except SystemExit:
        log("interrupted")
        rc = 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        b.cleanup()
    if rc == 0:
        ratios = report(b, args)
        if args.max_ratio is not None:
            bad = [q for q in ratios if q["channels"].split(" vs ")[0] == q["channels"].split(" vs ")[1]
                   and q["ratio"] > args.max_ratio]
            if bad:
                log(f"FAIL: ratio above {args.max_ratio}: "
                    + ", ".join(f"{q['mode']}/{q['direction']} {q['ratio']:.3f}" for q in bad))
                rc = 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
