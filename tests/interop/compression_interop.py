#!/usr/bin/env python3
"""Interop test: tunnel compression (oc-lz4, lzs) on CSTP and DTLS with the real openconnect.

Usage (as root):  compression_interop.py [--keep] SERVER_EXE

Same namespaces and helpers as cstp_interop.py / dtls_interop.py (imported). Three servers:

  server [compression] enabled = true (default algorithms ["oc-lz4", "lzs"], min_size 256):
    a  default openconnect (-vv): the CONNECT reply has X-CSTP-Content-Encoding: oc-lz4 and
       X-DTLS-Content-Encoding: oc-lz4; over DTLS, ping -s 1300 -p 00 to the server's tunnel
       address works and openconnect logs "Received LZ4 compressed data packet"; 4 MiB of
       compressible text up and down to the behind host with equal sha256, over DTLS; /metrics
       shows the server decompressed and compressed DTLS records (datapath_events_total
       dtls_decompressed / dtls_compressed)
    c  openconnect --no-dtls: X-CSTP-Content-Encoding: oc-lz4 only; the same ping and transfers
       over CSTP, carried in fewer TCP bytes than the data (so really compressed), and
       cstp_compressed_packets_total rx and tx grow
    d  openconnect --compression=none: no Accept-Encoding sent, no Content-Encoding in the reply,
       traffic works and no compressed packet is counted
  server [compression] enabled = true, algorithms = ["lzs"], min_size = 64:
    b  default openconnect: both channels lzs, same checks as a ("Received LZS compressed ...")
  server without [compression] (the default: off):
    e  default openconnect offers compression, the reply has no Content-Encoding header, traffic
       works, nothing counted
Finally the openconnect logs must be free of framing/decompression complaints.
Run time ~1.5 min. Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root).
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402
import dtls_interop as di  # noqa: E402

log = ci.log
METRICS_PORT = 9119
MIB = 1024 * 1024
BULK_BYTES = 4 * MIB

# Server-side evidence, from /metrics: (family, label) of each counter this test reads.
COUNTERS = {
    "dtls_rx": ("datapath_events_total", 'event="dtls_decompressed"'),
    "dtls_tx": ("datapath_events_total", 'event="dtls_compressed"'),
    "cstp_rx": ("cstp_compressed_packets_total", 'direction="rx"'),
    "cstp_tx": ("cstp_compressed_packets_total", 'direction="tx"'),
    "dtls_bad": ("datapath_drops_total", 'reason="decompress_failed"'),
    "dtls_unsupported": ("datapath_drops_total", 'reason="compressed_unsupported"'),
    "cstp_bad": ("cstp_decompress_failures_total", None),
}


class CompressionTest(di.DtlsTest):
    def __init__(self, args):
        args.only = None
        super().__init__(args)
        self.compression = None  # body of [compression]; None = no section (compression off)

    def write_config(self, mode):
        super().write_config(mode)
        with open(self.config) as f:
            text = f.read()
        text = text.replace("[monitoring]\n", f'[monitoring]\nenable_prometheus = true\n'
                                              f'stats_bind = "127.0.0.1"\nstats_port = {METRICS_PORT}\n')
        if self.compression is not None:
            text += f"\n[compression]\n{self.compression}\n"
        with open(self.config, "w") as f:
            f.write(text)

    def config_checks(self):
        pass  # each server's config is checked by start_server (it refuses a bad one)

    # Every transfer of this test is compressible text; ping pads with zeros (-p 00).
    def bulk(self, mode, nbytes=ci.BULK_BYTES, timeout=60, compressible=True):
        return super().bulk(mode, nbytes=nbytes, timeout=timeout, compressible=compressible)

    def ping(self, dst, count=3, size=None, iface=None, deadline=15):
        cmd = ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", "-w", str(deadline), "-p", "00"]
        if size:
            cmd += ["-s", str(size), "-M", "do"]
        cp = self.topo.ns(self.topo.cli, *cmd, dst, check=False, timeout=deadline + 10)
        summary = " ".join(line for line in cp.stdout.splitlines() if "transmitted" in line)
        return cp.returncode == 0, summary or (cp.stdout + cp.stderr).strip()[-200:]

    # ---- evidence ---------------------------------------------------------------------------

    def counts(self):
        """The COUNTERS from the server's /metrics (read inside the server namespace), or None."""
        cp = self.topo.ns(self.topo.srv, sys.executable, "-c",
                          "import urllib.request,sys;"
                          f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{METRICS_PORT}/metrics',"
                          "timeout=5).read().decode())", check=False, timeout=15)
        if cp.returncode != 0:
            return None
        out = {}
        for key, (family, label) in COUNTERS.items():
            sel = re.escape(family) + (r"\{" + re.escape(label) + r"\}" if label else "")
            m = re.search(r"^ocserv_modern_" + sel + r" (\d+)$", cp.stdout, re.M)
            if m is None:
                return None
            out[key] = int(m.group(1))
        return out

    def request_headers(self, c):
        """The CONNECT request's header names as --dump-http-traffic shows them ('> Name: v')."""
        text = self.text(c)
        i = text.find("CONNECT /CSCOSSLC/tunnel")
        j = text.find("Got CONNECT response", i)
        return re.findall(r"^(?:\[[^\]]*\]\s*)?> ([A-Za-z0-9-]+):", text[i:j], re.M) if i >= 0 else []

    def transfer(self, label, mode, channel, compressed):
        """A compressible BULK_BYTES transfer with equal sha256, and which channel carried it:
        DTLS = about one UDP datagram per segment and next to nothing on the TCP connection;
        CSTP = no UDP, and (compressed) fewer TCP bytes than the data, else at least as many."""
        before = self.counters()
        ok, detail = self.bulk(mode, nbytes=BULK_BYTES)
        d = self.delta(before, self.counters())
        what = "upload" if mode == "U" else "download"
        self.check(f"{label}: {BULK_BYTES // MIB} MiB compressible {what}, sha256 equal", ok, detail)
        if not ok:
            return
        udp = d["udp_out"] if mode == "U" else d["udp_in"]
        tcp = d["tcp_out"] if mode == "U" else d["tcp_in"]
        ev = f"UDP datagrams {udp}, CSTP TCP bytes {tcp} for {BULK_BYTES} bytes of data"
        if channel == "dtls":
            self.check(f"{label}: the {what} went over DTLS", udp >= BULK_BYTES // 1400 and tcp < BULK_BYTES // 20, ev)
        elif compressed:
            self.check(f"{label}: the {what} went over CSTP, compressed (fewer TCP bytes than data)",
                       udp < 50 and 0 < tcp < BULK_BYTES // 2, ev)
        else:
            self.check(f"{label}: the {what} went over CSTP", udp < 50 and tcp >= BULK_BYTES, ev)

    # ---- cases ------------------------------------------------------------------------------

    def restart(self, label, compression):
        if self.server is not None:
            alive = self.server_alive()
            self.stop_server()
            self.check(f"server before '{label}' ran to the end", alive, f"exit {self.server.returncode}")
        self.compression = compression
        self.write_config("auto")
        self.server_log = self.path(f"server-{label}.log")
        log(f"=== server for {label}: [compression] {compression!r} ({self.server_log})")
        return self.start_server() and self.ensure_bulk_helper()

    def case(self, label, extra, algorithm, dtls, cstp_name, dtls_name):
        """One client: reply headers, a zero-padded ping and transfers both ways on the expected
        channel, and the server's counters. `algorithm` is openconnect's log name of the
        negotiated algorithm ('LZ4'/'LZS') or None for no compression at all."""
        c = self.connect(label, ("-v", *extra))  # -vv: openconnect's per-packet trace lines
        if c is None:
            return
        try:
            got_cstp = self.header(c, "X-CSTP-Content-Encoding")
            got_dtls = self.header(c, "X-DTLS-Content-Encoding")
            self.check(f"{label}: reply X-CSTP-Content-Encoding is {cstp_name or 'absent'}", got_cstp == cstp_name,
                       f"got {got_cstp!r}")
            self.check(f"{label}: reply X-DTLS-Content-Encoding is {dtls_name or 'absent'}", got_dtls == dtls_name,
                       f"got {got_dtls!r}")
            channel = "dtls" if dtls else "cstp"
            if dtls:
                ok = self.wait_log(c, di.RE_ESTABLISHED.pattern, 15)
                self.check(f"{label}: DTLS established", ok, ", ".join(self.established(c)))
                if algorithm:
                    self.check(f"{label}: openconnect: DTLS connection compression using {algorithm}",
                               f"DTLS connection compression using {algorithm}" in self.text(c))
            before = self.counts()
            self.check(f"{label}: /metrics has the compression counters", before is not None)
            if dtls or algorithm is None:
                self.ping_checked(label, ci.SERVER_TUN_IP, channel, count=5, size=1300)
            else:
                # Compressed CSTP: the zero padding shrinks, so the TCP connection carries less than
                # the pings' size; UDP carries nothing.
                c0 = self.counters()
                ok = self.ping_checked(label, ci.SERVER_TUN_IP, None, count=5, size=1300)
                d = self.delta(c0, self.counters())
                self.check(f"{label}: the pings went over CSTP, compressed", ok and d["udp_out"] == 0 and
                           0 < d["tcp_out"] < 5 * 1328 and 0 < d["tcp_in"] < 5 * 1328,
                           f"udp out/in {d['udp_out']}/{d['udp_in']}, tcp bytes out/in {d['tcp_out']}/{d['tcp_in']}")
            if algorithm:
                n = len(re.findall(rf"Received {algorithm} compressed data packet", self.text(c)))
                self.check(f"{label}: openconnect logs 'Received {algorithm} compressed data packet'", n >= 5,
                           f"x{n}")
            self.transfer(label, "U", channel, algorithm is not None)
            self.transfer(label, "D", channel, algorithm is not None)
            after = self.counts()
            if before is not None and after is not None:
                self.check_counts(label, algorithm, dtls, {k: after[k] - before[k] for k in after})
        finally:
            self.stop(c)
        return c

    def check_counts(self, label, algorithm, dtls, d):
        """The server's compression counters moved as the case expects (d: deltas)."""
        ev = ", ".join(f"{k} +{v}" for k, v in d.items())
        self.check(f"{label}: no malformed compressed packet on either channel",
                   d["dtls_bad"] == 0 and d["cstp_bad"] == 0 and d["dtls_unsupported"] == 0, ev)
        if algorithm is None:
            self.check(f"{label}: the server compressed and decompressed nothing",
                       d["dtls_rx"] == d["dtls_tx"] == d["cstp_rx"] == d["cstp_tx"] == 0, ev)
        elif dtls:
            # Each MiB is ~780 full segments; the ping adds 5 each way.
            self.check(f"{label}: server decompressed the client's DTLS records and compressed its own",
                       d["dtls_rx"] >= BULK_BYTES // 1400 and d["dtls_tx"] >= BULK_BYTES // 1400, ev)
        else:
            self.check(f"{label}: server decompressed the client's CSTP frames and compressed its own",
                       d["cstp_rx"] >= BULK_BYTES // 1400 and d["cstp_tx"] >= BULK_BYTES // 1400
                       and d["dtls_rx"] == d["dtls_tx"] == 0, ev)

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        try:
            if self.restart("lz4", "enabled = true"):
                self.run_steps([
                    lambda: self.case("a-default", (), "LZ4", True, "oc-lz4", "oc-lz4"),
                    lambda: self.case("c-no-dtls", ("--no-dtls",), "LZ4", False, "oc-lz4", None),
                    self.case_d_compression_none,
                ])
            if self.restart("lzs", 'enabled = true\nalgorithms = ["lzs"]\nmin_size = 64'):
                self.run_steps([lambda: self.case("b-lzs", (), "LZS", True, "lzs", "lzs")])
            if self.restart("off", None):
                self.run_steps([self.case_e_server_off])
            alive = self.server_alive()
            stopped = self.stop_server()
            self.check("last server ran to the end and exits on SIGTERM", alive and stopped is not None,
                       stopped or f"exit {self.server.returncode}")
        finally:
            self.stop_server()
        self.scan_client_logs()

    def case_d_compression_none(self):
        c = self.case("d-compression-none", ("--compression=none",), None, True, None, None)
        if c is not None:
            sent = self.request_headers(c)
            self.check("d-compression-none: CONNECT request without Accept-Encoding headers",
                       sent and not any(h.endswith("Accept-Encoding") for h in sent), ", ".join(sent))

    def case_e_server_off(self):
        c = self.case("e-server-off", (), None, True, None, None)
        if c is not None:
            sent = self.request_headers(c)
            self.check("e-server-off: the client did offer compression (X-CSTP/X-DTLS-Accept-Encoding)",
                       "X-CSTP-Accept-Encoding" in sent and "X-DTLS-Accept-Encoding" in sent, ", ".join(sent))


def main():
    return ci.main_for(CompressionTest, __doc__)


if __name__ == "__main__":
    sys.exit(main())
