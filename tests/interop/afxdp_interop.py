#!/usr/bin/env python3
"""Interop test of the af_xdp driver with the real openconnect client (root only; 77 = skipped).

Topology and helpers are cstp_interop's (client ns --veth-- server ns --veth-- behind ns); the
server runs with `driver = "af_xdp"` on its client-facing veth `vs` (copy mode: veth has no
zero-copy, so zero_copy = "auto" must fall back). For native and then generic XDP:
  - the XDP program is attached to vs in that mode while the server runs;
  - login over TCP (the XDP program passes TLS to the kernel), DTLS established through the XSK;
  - ping and 8 MiB down- and uploads through the tunnel to the behind host, sha256 intact, DTLS
    not CSTP carrying them (client-side UDP/TCP counters, as in dtls_interop);
  - /metrics: driver_events_total{driver="af_xdp"} shows frames received and sent through the
    XSK and the XDP program's redirect counter, and no frames lost for want of a neighbour;
  - SIGTERM: the server exits and the XDP program is gone from vs.
Also: a server SIGKILLed with the program attached leaves it behind, and the next start replaces
it; a missing interface is refused with a clear message and a non-zero exit. Nothing leaves the
namespaces; every wait is bounded.
"""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402
import dtls_interop as di  # noqa: E402

MIB = 1024 * 1024
STATS_PORT = 9412
IFACE = "vs"  # the server's client-facing veth (cstp_interop.Topology)


class AfXdpTest(di.DtlsTest):
    def __init__(self, args):
        args.only = None
        super().__init__(args)
        self.iface = IFACE
        self.xdp_mode = "auto"

    def write_config(self, mode="auto"):
        super().write_config(mode)
        with open(self.config) as f:
            text = f.read()
        text = text.replace('[datapath]\ndriver = "socket"\n',
                            f'[datapath]\ndriver = "af_xdp"\n\n[datapath.af_xdp]\ninterface = "{self.iface}"\n'
                            f'queues = 1\nxdp_mode = "{self.xdp_mode}"\nzero_copy = "auto"\nframes_per_queue = 4096\n')
        text = text.replace('[monitoring]\n', f'[monitoring]\nenable_prometheus = true\nstats_bind = "127.0.0.1"\n'
                                              f'stats_port = {STATS_PORT}\n')
        assert 'driver = "af_xdp"' in text
        with open(self.config, "w") as f:
            f.write(text)

    # ---- evidence -------------------------------------------------------------------------

    def xdp_on_iface(self):
        """'xdp' (native), 'xdpgeneric' or None, and the attached program's name."""
        out = self.topo.ns(self.topo.srv, "ip", "-d", "link", "show", "dev", IFACE, check=False, timeout=10).stdout
        mode = None
        for m in ("xdpgeneric", "xdp"):
            if re.search(rf"\b{m}\b", out) or re.search(rf"prog/{m}\b", out):
                mode = m
                break
        name = re.search(r"name (\S+)", out[out.find("prog/xdp"):]) if "prog/xdp" in out else None
        return mode, (name.group(1) if name else None)

    def metrics(self):
        """driver_events_total{driver="af_xdp"} samples as {event: value}."""
        code = (f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{STATS_PORT}/metrics',"
                f"timeout=5).read().decode())")
        cp = self.topo.ns(self.topo.srv, sys.executable, "-c", code, check=False, timeout=15)
        out = {}
        for line in cp.stdout.splitlines():
            m = re.match(r'^\w*driver_events_total\{driver="af_xdp",event="([a-z0-9_]+)"\}\s+(\d+)', line)
            if m:
                out[m.group(1)] = int(m.group(2))
        return out

    # ---- checks ---------------------------------------------------------------------------

    def check_missing_interface(self):
        self.iface = "ocm-nosuch0"
        self.write_config()
        self.iface = IFACE
        cp = self.topo.ns(self.topo.srv, self.args.server, "-c", self.config, check=False, timeout=30)
        text = (cp.stdout + cp.stderr).strip()
        self.check("missing interface: server refuses to start (non-zero exit)", cp.returncode != 0,
                   f"exit {cp.returncode}")
        self.check("missing interface: the message names it", "ocm-nosuch0" in text and "does not exist" in text,
                   text[-300:])

    def session(self, label, expect_mode):
        self.server_log = self.path(f"server-{label}.log")
        if not self.start_server():
            return
        with open(self.server_log, errors="replace") as f:
            start_text = f.read()
        mode, name = self.xdp_on_iface()
        self.check(f"{label}: XDP program attached to {IFACE} in {expect_mode} mode",
                   mode == expect_mode and name == "ocm_xdp_dtls", f"ip link: mode {mode}, program {name}")
        self.check(f"{label}: zero_copy = auto fell back to copy mode on veth",
                   re.search(r"af_xdp data plane: .* in copy mode", start_text) is not None,
                   next((line for line in start_text.splitlines() if "af_xdp data plane" in line), "no start line"))
        # af_xdp keeps CAP_BPF (39) for its counter map, on top of NET_ADMIN and NET_RAW.
        ok, detail = ci.caps_limited_to(self.server.pid, (1 << 12) | (1 << 13) | (1 << 39))
        self.check(f"{label}: every server thread keeps only NET_ADMIN, NET_RAW and BPF", ok, detail)
        if not self.ensure_bulk_helper():
            return
        m0 = self.metrics()
        c = self.connect(f"{label} client")
        if c is None:
            return
        est = self.wait_log(c, di.RE_ESTABLISHED.pattern, 15)
        self.check(f"{label}: DTLS established through the XSK", est, "; ".join(self.established(c))[-200:])
        self.ping_checked(label, ci.BEHIND_IP, "dtls", count=5)
        self.bulk_checked(label, "D", 8 * MIB, "dtls")
        self.bulk_checked(label, "U", 8 * MIB, "dtls")
        m1 = self.metrics()
        d = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1}
        self.check(f"{label}: /metrics exports the af_xdp counters", "xsk_rx_frames" in m1 and "xdp_redirected" in m1,
                   f"{len(m1)} af_xdp events")
        # 8 MiB each way at <= 1400 bytes per record: thousands of frames through the socket.
        want = 8 * MIB // 1400
        self.check(f"{label}: uploads came in through the XSK (xsk_rx_frames, xdp_redirected)",
                   d.get("xsk_rx_frames", 0) >= want and d.get("xdp_redirected", 0) >= want,
                   f"xsk_rx_frames +{d.get('xsk_rx_frames')}, xdp_redirected +{d.get('xdp_redirected')}")
        self.check(f"{label}: downloads left through the XSK TX ring (xsk_tx_frames)",
                   d.get("xsk_tx_frames", 0) >= want, f"xsk_tx_frames +{d.get('xsk_tx_frames')}")
        self.check(f"{label}: TLS and ARP were passed to the kernel by the XDP program",
                   m1.get("xdp_pass_not_udp", 0) > 0 or m1.get("xdp_pass_not_ip", 0) > 0,
                   f"xdp_pass_not_udp {m1.get('xdp_pass_not_udp')}, xdp_pass_not_ip {m1.get('xdp_pass_not_ip')}")
        self.check(f"{label}: no frame dropped for an unknown next hop or a full TX ring",
                   m1.get("tx_no_neighbor", 0) == 0 and m1.get("tx_frame_failed", 0) == 0,
                   f"tx_no_neighbor {m1.get('tx_no_neighbor')}, tx_frame_failed {m1.get('tx_frame_failed')}, "
                   f"xsk_tx_ring_full {m1.get('xsk_tx_ring_full')}")
        self.stop(c)
        self.stop_server()
        self.check(f"{label}: server exited 0 on SIGTERM", self.server.returncode == 0, f"exit {self.server.returncode}")
        mode, name = self.xdp_on_iface()
        self.check(f"{label}: XDP program removed from {IFACE} on shutdown", mode is None, f"still {mode} {name}")

    def check_crash_recovery(self):
        self.server_log = self.path("server-crash.log")
        if not self.start_server():
            return
        self.server.send_signal(signal.SIGKILL)
        self.server.wait(timeout=10)
        mode, name = self.xdp_on_iface()
        self.check("crash: SIGKILLed server leaves its XDP program behind", name == "ocm_xdp_dtls", f"{mode} {name}")
        self.server_log = self.path("server-restart.log")
        if not self.start_server():
            return
        with open(self.server_log, errors="replace") as f:
            text = f.read()
        self.check("crash: the next start replaces the stale program", "removing a stale" in text,
                   next((line for line in text.splitlines() if "af_xdp" in line), "no af_xdp line"))
        c = self.connect("after-crash client")
        if c is not None:
            self.ping_checked("after crash", ci.BEHIND_IP, "dtls", count=3)
            self.stop(c)
        self.stop_server()
        mode, name = self.xdp_on_iface()
        self.check("crash: program removed again on SIGTERM", mode is None, f"still {mode} {name}")

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        self.check_missing_interface()
        for mode, want in (("native", "xdp"), ("generic", "xdpgeneric")):
            self.xdp_mode = mode
            self.write_config()
            log(f"=== xdp_mode = {mode}")
            self.session(f"af_xdp {mode}", want)
        self.xdp_mode = "auto"
        self.write_config()
        log("=== crash recovery")
        self.check_crash_recovery()
        self.scan_client_logs()


def log(msg):
    ci.log(msg)


def main():
    return ci.main_for(AfXdpTest, __doc__)


if __name__ == "__main__":
    sys.exit(main())
