#!/usr/bin/env python3
"""Server CPU-seconds per GB moved through the VPN tunnel: ocserv-modern vs Debian's ocserv.

Usage (as root):
    tunnel_cpu_per_gb.py [options] OCSERV_MODERN_EXE
    tunnel_cpu_per_gb.py --only ocserv

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

[monitoring]
log_level = "info"
"""

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
        with open(self.path("ours.toml"), "w") as f:
            f.write(OURS_CONF.format(**fmt))
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

    def start_server(self, kind, label):
        logpath = self.path(f"server-{label}.log")
        if kind == "ours":
            cmd = [self.args.server, "-c", self.path("ours.toml")]
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
                return p, logpath
            time.sleep(0.2)
        why = f"exited with status {p.returncode}" if p.poll() is not None else "not listening after 20 s"
        self.tail(logpath, n=60, label=f"{kind} server log")
        raise BenchError(f"{kind} server failed to start ({shlex_join(cmd)}): {why}")

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

    def transfer(self, server_pid, client_pid, ifname, reverse):
        secs = self.args.time
        cmd = ["ip", "netns", "exec", self.topo.cli,
               *self.pinned("client", ["iperf3", "-c", ih.BEHIND_IP, "-p", str(IPERF_PORT), "-t", str(secs),
                                       "-J", "--connect-timeout", "5000", *(["-R"] if reverse else [])])]
        cnt0 = self.client_ns_counters(ifname)
        with open("/proc/loadavg") as f:
            loadavg = float(f.read().split()[0])
        snap0, host0, t0, own0 = proc_snapshot(), host_cpu(), time.monotonic(), os.times()
        thr0 = threads(tree(snap0, server_pid))
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 30)
        except subprocess.TimeoutExpired:
            raise BenchError(f"iperf3 did not finish within {secs + 30} s")
        snap1, host1, t1, own1 = proc_snapshot(), host_cpu(), time.monotonic(), os.times()
        thr1 = threads(tree(snap1, server_pid))
        cnt1 = self.client_ns_counters(ifname)
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
            "loadavg_1min_before": loadavg,
            "host_total_cpu_s": (host1[1] - host0[1]) / CLK_TCK,
            "wall_s": t1 - t0,
            "tun_packets": pkts,
            "udp_datagrams": udp,
            "dtls_fraction": (udp / pkts) if pkts else None,
            "tun_mtu": cnt1["mtu"],
        }

    # ---- one server + client configuration ------------------------------------------------

    def session(self, kind, mode, rep):
        label = f"{kind}-{mode}-{rep}"
        no_dtls = mode == "cstp"
        log(f"== {kind}, client {'--no-dtls' if no_dtls else 'default (DTLS if offered)'}"
            + (f", repetition {rep + 1}" if self.args.repeat > 1 else ""))
        server, slog = self.start_server(kind, label)
        try:
            self.measure_session(kind, mode, rep, label, no_dtls, server)
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

    def measure_session(self, kind, mode, rep, label, no_dtls, server):
        c = self.client = self.start_client(label, no_dtls)
        time.sleep(1)  # let DTLS (if any) and the MTU settle
        ok, detail = self.ping_behind()
        if not ok:
            raise BenchError(f"{kind}: no ping to {ih.BEHIND_IP} through the tunnel: {detail}")
        with open(c["log"], errors="replace") as f:
            oclog = f.read()
        tls = re.search(r"Connected to HTTPS on .*? with ciphersuite (\S+)", oclog)
        dtls = re.search(r"Established DTLS connection.*?Ciphersuite (\S+?)\.?$", oclog, re.M)
        info = {"server": kind, "mode": mode, "rep": rep,
                "tls_cipher": tls.group(1) if tls else None,
                "dtls_cipher": dtls.group(1) if dtls else None,
                "mtu": c["env"].get("INTERNAL_IP4_MTU")}
        self.sessions.append(info)
        log(f"   TLS {info['tls_cipher']}, DTLS {info['dtls_cipher'] or '-'}, MTU {info['mtu']}")
        for direction, reverse in (("up", False), ("down", True)):
            r = self.transfer(server.pid, c["proc"].pid, c["ifname"], reverse)
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
        kinds = ["ours", "ocserv"] if self.args.only is None else [self.args.only]
        for rep in range(self.args.repeat):
            for mode in modes:
                for kind in kinds:
                    self.session(kind, mode, rep)

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


def aggregate(rows):
    b = sum(r["bytes"] for r in rows)
    gb = b / 1e9
    s = sum(r["server_cpu_s"] for r in rows)
    c = sum(r["client_cpu_s"] for r in rows)
    h = sum(r["host_busy_cpu_s"] for r in rows)
    other = sum(r["other_cpu_s"] for r in rows)
    cap = sum(r["host_total_cpu_s"] for r in rows)
    secs = sum(r["seconds"] for r in rows)
    per_run = [r["server_cpu_s"] / (r["bytes"] / 1e9) for r in rows if r["bytes"]]
    channels = sorted({r["channel"] for r in rows})
    mtus = sorted({str(r["tun_mtu"]) for r in rows})
    su = sum(sum(v["user"] for v in r["server_cpu_by_process"].values()) for r in rows)
    return {"gb": gb, "server_cpu_s": s, "client_cpu_s": c, "host_busy_cpu_s": h,
            "server_cpu_s_per_gb": s / gb if gb else None, "client_cpu_s_per_gb": c / gb if gb else None,
            "host_cpu_s_per_gb": h / gb if gb else None,
            "other_load_pct": 100.0 * other / cap if cap else None, "mbit_s": b * 8 / secs / 1e6 if secs else None,
            "server_cpu_s_per_gb_min": min(per_run) if per_run else None,
            "server_cpu_s_per_gb_max": max(per_run) if per_run else None,
            "server_user_s": su, "server_sys_s": s - su,
            "channel": "/".join(channels), "tun_mtu": "/".join(mtus), "n": len(rows)}


def report(bench, args):
    rows = bench.rows
    modes = [m for m in ("cstp", "dtls") if any(r["mode"] == m for r in rows)]
    kinds = [k for k in ("ours", "ocserv") if any(r["server"] == k for r in rows)]
    table = []
    for mode in modes:
        for kind in kinds:
            for direction in ("up", "down", "both"):
                sel = [r for r in rows if r["mode"] == mode and r["server"] == kind
                       and (direction == "both" or r["direction"] == direction)]
                if sel:
                    table.append({"server": kind, "mode": mode, "direction": direction, **aggregate(sel)})
    ratios = []
    for mode in modes:
        for direction in ("up", "down", "both"):
            a = [t for t in table if t["mode"] == mode and t["server"] == "ours" and t["direction"] == direction]
            o = [t for t in table if t["mode"] == mode and t["server"] == "ocserv" and t["direction"] == direction]
            if a and o and a[0]["server_cpu_s_per_gb"] and o[0]["server_cpu_s_per_gb"]:
                ratios.append({"mode": mode, "direction": direction,
                               "ours_cpu_s_per_gb": a[0]["server_cpu_s_per_gb"],
                               "ocserv_cpu_s_per_gb": o[0]["server_cpu_s_per_gb"],
                               "ratio": a[0]["server_cpu_s_per_gb"] / o[0]["server_cpu_s_per_gb"],
                               "channels": f"{a[0]['channel']} vs {o[0]['channel']}"})

    cores = os.cpu_count()
    log("")
    log(f"Server CPU-seconds per GB through the tunnel (iperf3 TCP, {args.time} s per direction"
        + (f", {args.repeat} repetitions summed" if args.repeat > 1 else "") + ")")
    log(f"Host: {cores} CPU cores shared by the VPN server, openconnect, both iperf3 ends and the kernel"
        + (" (--pin: server on CPU 1, the rest on CPU 0)" if args.pin else " (unpinned)")
        + "; throughput is CPU-bound, so Mbit/s is only indicative.")
    log("mode: cstp = openconnect --no-dtls; dtls = openconnect defaults (DTLS if the server offers it).")
    log("up = client->server (iperf3), down = server->client (iperf3 -R); GB = 1e9 bytes of TCP payload.")
    ita = irq_time_accounting()
    if ita is False:
        log("Kernel without CONFIG_IRQ_TIME_ACCOUNTING: softirq network work (veth/TUN delivery into the")
        log("peer namespace, forwarding, the peer's TCP receive) is charged as sys time to the task that")
        log("sent the packet, so each server's sys time includes part of the kernel path around it.")
    log("other load = share of the host's CPU time used by anything but the VPN server, openconnect and")
    log("iperf3 during the transfer (kernel threads, unrelated processes); high values mean noisy figures.")
    log("")
    hdr = (f"{'server':7s} {'mode':4s} {'dir':4s} {'channel':9s} {'MTU':>4s} {'GB':>6s} {'srv CPU-s':>9s} "
           f"{'(usr/sys)':>11s} {'srv CPU-s/GB':>12s} {'cli CPU-s/GB':>12s} {'Mbit/s':>7s} {'other load':>10s}")
    log(hdr)
    log("-" * len(hdr))
    for t in table:
        spread = ""
        if t["n"] > 1 and t["direction"] != "both":
            spread = f"  (runs {t['server_cpu_s_per_gb_min']:.2f}..{t['server_cpu_s_per_gb_max']:.2f})"
        us = f"{t['server_user_s']:.1f}/{t['server_sys_s']:.1f}"
        log(f"{t['server']:7s} {t['mode']:4s} {t['direction']:4s} {t['channel']:9s} {t['tun_mtu']:>4s} {t['gb']:6.2f} "
            f"{t['server_cpu_s']:9.2f} {us:>11s} {t['server_cpu_s_per_gb']:12.3f} {t['client_cpu_s_per_gb']:12.3f} "
            f"{t['mbit_s']:7.0f} {t['other_load_pct']:9.0f}%{spread}")
    for s in bench.sessions:
        if s["rep"] == 0:
            log(f"  {s['server']:7s} {s['mode']:4s}: TLS {s['tls_cipher']}, DTLS {s['dtls_cipher'] or '-'}")
    first = [r for r in rows if r["rep"] == 0]
    if first:
        log("  server CPU-s (user+sys) by process (ocserv) / thread (ours), first repetition:")
        for r in first:
            by = r["server_cpu_by_thread"] if r["server"] == "ours" else r["server_cpu_by_process"]
            parts = ", ".join(f"{k} {v['user']:.2f}+{v['sys']:.2f}" for k, v in sorted(by.items())
                              if v["user"] or v["sys"])
            log(f"    {r['server']:6s} {r['mode']:4s} {r['direction']:4s}: {parts or '-'}")
    if ratios:
        log("")
        log(f"Ratio ours/ocserv (server CPU-s per GB; target <= {TARGET_RATIO:.2f}):")
        for q in ratios:
            flag = "met" if q["ratio"] <= TARGET_RATIO else "NOT met"
            diff = "" if q["channels"].split(" vs ")[0] == q["channels"].split(" vs ")[1] \
                else f"  [channels differ: {q['channels']}]"
            log(f"  {q['mode']:4s} {q['direction']:4s}: {q['ours_cpu_s_per_gb']:.3f} / {q['ocserv_cpu_s_per_gb']:.3f}"
                f" = {q['ratio']:.3f}  ({flag}){diff}")
    if args.json:
        out = {
            "meta": {
                "time_s": args.time, "repeat": args.repeat, "mode": args.mode, "pin": args.pin, "cpu_cores": cores,
                "kernel": platform.release(), "irq_time_accounting": irq_time_accounting(), "target_ratio": TARGET_RATIO,
                "ours": args.server, "ocserv": args.ocserv_bin if args.only != "ours" else None,
                "versions": versions(args),
                "note": "all processes share the host's CPU cores; CPU = utime+stime+cutime+cstime of the "
                        "server's process tree during each iperf3 run; kernel softirq work is charged to "
                        "whichever task happens to run",
            },
            "sessions": bench.sessions, "runs": rows, "summary": table, "ratios": ratios,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        log(f"wrote {args.json}")
    return ratios


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", nargs="?", help="path to the ocserv-modern binary (not needed with --only ocserv)")
    ap.add_argument("-t", "--time", type=int, default=10, help="iperf3 seconds per direction (default 10)")
    ap.add_argument("--mode", choices=("cstp", "dtls", "both"), default="dtls",
                    help="cstp: openconnect --no-dtls; dtls (default): openconnect defaults, DTLS if offered; "
                         "both: one of each")
    ap.add_argument("--no-dtls", action="store_true", help="same as --mode cstp")
    ap.add_argument("--only", choices=("ours", "ocserv"), help="benchmark only this server")
    ap.add_argument("--ocserv-bin", default=OCSERV_DEFAULT, help=f"ocserv binary (default {OCSERV_DEFAULT})")
    ap.add_argument("--repeat", type=int, default=1, help="repetitions of the whole sequence (summed)")
    ap.add_argument("--pin", action="store_true", help="pin the VPN server to CPU 1 and the rest to CPU 0")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--max-ratio", type=float, metavar="R",
                    help="exit 2 if any ours/ocserv ratio (same channel on both sides) is above R")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with configs and logs")
    args = ap.parse_args()
    if args.no_dtls:
        if args.mode not in ("dtls", "cstp"):
            ap.error("--no-dtls conflicts with --mode both")
        args.mode = "cstp"
    if args.time < 1 or args.repeat < 1:
        ap.error("-t and --repeat must be >= 1")

    if os.geteuid() != 0:
        log("SKIP: needs root (network namespaces, TUN devices)")
        return SKIP
    tools = ["ip", "openconnect", "openssl", "ping", "ss", "iperf3"] + (["taskset"] if args.pin else [])
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
    if args.pin and (os.cpu_count() or 1) < 2:
        log("FAIL: --pin needs 2 CPUs")
        return 1

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

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
