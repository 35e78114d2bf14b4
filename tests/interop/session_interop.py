#!/usr/bin/env python3
"""Interop test: session lifetime features with the real openconnect client.

Usage (as root):  session_interop.py [--keep] SERVER_EXE OCMCTL_EXE

Same namespaces and helpers as cstp_interop.py / limits_interop.py. The server is restarted with:
  1. rekey_method = "ssl", rekey_time = 12, client on CSTP only (--no-dtls): the reply announces
     X-CSTP-Rekey-Time 12 / method ssl and X-DTLS-Rekey-Time 22; openconnect renews the TLS keys
     in place ("CSTP rekey due", a TLS 1.3 KeyUpdate) at least twice while a ping runs and a
     rate-limited download spans the rekeys: no ping lost beyond one, the download arrives whole
     (sha256), the client never reconnects.
  2. rekey_method = "new-tunnel", rekey_time = 12: every rekey is a new TLS connection and a new
     CONNECT with the cookie; the same IP comes back, DTLS is re-established each time, the ping
     and the download survive (at most a few pings lost while the tunnel is rebuilt).
  3. persistent_cookies = true: a cookie still works after the user's logout (SIGINT, BYE),
     and X-CSTP-Session-Timeout announces session_timeout.
  4. deny_roaming = true: the cookie is refused (401) from another address of the client and
     accepted from the address that logged in; /metrics counts the refusal.
About 100 s. Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root).
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402
import limits_interop as li  # noqa: E402

REKEY = 12
OTHER_IP = li.EXEMPT_IP  # a second address of the client namespace
SLOW_RATE = 400_000      # bytes/s: the download below lasts ~20 s, across rekeys
SLOW_BYTES = 8 * 1024 * 1024


class SessionTest(li.LimitsTest):
    def reply_header(self, c, name):
        """Values of a 200 CONNECTED header as openconnect -v logged them (every CONNECT)."""
        return re.findall(rf"^(?:\[[^\]]*\] )?{re.escape(name)}: (\S+)", self.oc_log(c), re.M)

    def ping_in_background(self, count, interval=0.2):
        cmd = ["ip", "netns", "exec", self.topo.cli, "ping", "-n", "-q", "-c", str(count), "-i", str(interval),
               "-W", "1", ci.SERVER_TUN_IP]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @staticmethod
    def ping_result(p, timeout):
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate(timeout=10)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

    def rekey(self, method, max_lost, extra=()):
        if not self.restart(f"rekey-{method}", "max_ban_score = 0",
                            f'rekey_time = {REKEY}\nrekey_method = "{method}"\n'
                            f"rx_rate_limit = {SLOW_RATE}\ntx_rate_limit = {SLOW_RATE}"):
            return
        if not self.start_bulk_helper():
            self.check("bulk helper listening", False)
            return
        c = self.connect_client_checked(f"rekey-{method}", ci.PASSWORD + "\n",
                                        extra=("-u", ci.USER, "--passwd-on-stdin", *extra))
        if c is None:
            return
        ip = c["env"].get("INTERNAL_IP4_ADDRESS")
        want = "ssl" if method == "ssl" else "new-tunnel"
        self.check(f"{method}: reply announces rekey time and method",
                   self.reply_header(c, "X-CSTP-Rekey-Time")[:1] == [str(REKEY)] and
                   self.reply_header(c, "X-CSTP-Rekey-Method")[:1] == [want] and
                   self.reply_header(c, "X-DTLS-Rekey-Time")[:1] == ([] if "--no-dtls" in extra else [str(REKEY + 10)]),
                   f"time {self.reply_header(c, 'X-CSTP-Rekey-Time')} method "
                   f"{self.reply_header(c, 'X-CSTP-Rekey-Method')} dtls {self.reply_header(c, 'X-DTLS-Rekey-Time')}")
        pinger = self.ping_in_background(150)  # 30 s: two rekeys and a half
        result = {}
        t = threading.Thread(target=lambda: result.update(bulk=self.bulk("D", SLOW_BYTES, timeout=60)))
        t.start()
        sent, got = self.ping_result(pinger, 45)
        t.join(70)
        text = self.oc_log(c)
        rekeys = text.count("CSTP rekey due")
        self.check(f"{method}: openconnect rekeyed at least twice", rekeys >= 2, f"{rekeys} rekeys")
        self.check(f"{method}: ping across the rekeys lost at most {max_lost}", sent >= 100 and sent - got <= max_lost,
                   f"{got}/{sent} answered")
        ok, detail = result.get("bulk", (False, "no result"))
        self.check(f"{method}: rate-limited download across the rekeys arrives whole", ok, detail)
        self.check(f"{method}: client still connected", c["proc"].poll() is None, f"exit {c['proc'].poll()}")
        dtls_ups = text.count("Established DTLS connection")
        connects = len(self.reply_header(c, "X-CSTP-Address"))
        if method == "ssl":
            self.check("ssl: keys renewed in place (no failed rehandshake, no new CONNECT)",
                       "Rehandshake failed" not in text and connects == 1,
                       f"{connects} CONNECT replies; {[l for l in text.splitlines() if 'ehandshake' in l][-2:]}")
        else:
            ips = set(self.reply_header(c, "X-CSTP-Address"))
            self.check("new-tunnel: every rekey is a new CONNECT with the same IP",
                       connects >= rekeys + 1 and ips == {ip}, f"{connects} CONNECTs, addresses {ips}, lease {ip}")
            self.check("new-tunnel: DTLS re-established after each new tunnel", dtls_ups >= rekeys + 1,
                       f"{dtls_ups} DTLS connections for {rekeys} rekeys")
        self.stop_client(c)

    def rekey_ssl(self):
        # CSTP only, so that the ping and the download ride the TLS connection whose keys change
        # under them.
        self.rekey("ssl", 1, ("--no-dtls",))

    def rekey_new_tunnel(self):
        # With DTLS, which must come back after every reconnect; a few pings may fall in the gap.
        self.rekey("new-tunnel", 6)

    def connect_status_from(self, src_ip, cookie):
        """Status line of a raw CONNECT with `cookie` from src_ip (socket closed after)."""
        with ci.InNetns(self.topo.cli):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(10)
            s.bind((src_ip, 0))
            s.connect((li.SERVER_IP, li.PORT))
            t = ci.client_ctx().wrap_socket(s)
            hdrs = [f"Cookie: webvpn={cookie}", "X-CSTP-Version: 1", "X-CSTP-Base-MTU: 1500",
                    "X-CSTP-Address-Type: IPv4"]
            t.sendall(ci.http_request("CONNECT", "/CSCOSSLC/tunnel", hdrs))
            resp, _ = ci.read_response(t, 10, has_body=False)
            t.close()
            return resp.status_line()
        except (OSError, ci.ConnClosed, ValueError) as e:
            return f"{type(e).__name__}: {e}"
        finally:
            s.close()

    def authenticate(self, label):
        """openconnect --authenticate; returns the COOKIE value or None."""
        cmd = ["ip", "netns", "exec", self.topo.cli, "openconnect", "--protocol=anyconnect",
               "--servercert", self.pin, "--non-inter", "-u", ci.USER, "--passwd-on-stdin", "--authenticate",
               f"https://{li.SERVER_IP}:{li.PORT}/"]
        cp = subprocess.run(cmd, input=ci.PASSWORD + "\n", capture_output=True, text=True, timeout=30)
        for line in cp.stdout.splitlines():
            if line.startswith("COOKIE=") and len(line) > len("COOKIE="):
                return shlex.split(line[len("COOKIE="):])[0]
        self.check(f"{label}: --authenticate prints COOKIE", False, (cp.stdout + cp.stderr)[-300:])
        return None

    def persistent_cookies(self):
        if not self.restart("persistent", "max_ban_score = 0", "persistent_cookies = true\nsession_timeout = 600"):
            return
        cookie = self.authenticate("persistent")
        if cookie is None:
            return
        c1 = self.connect_client_checked("persistent1", cookie + "\n", extra=("--cookie-on-stdin",))
        if c1 is None:
            return
        self.check("X-CSTP-Session-Timeout announces session_timeout",
                   self.reply_header(c1, "X-CSTP-Session-Timeout")[:1] == ["600"] and
                   self.reply_header(c1, "X-CSTP-Session-Timeout-Remaining")[:1] not in ([], ["0"]),
                   f"{self.reply_header(c1, 'X-CSTP-Session-Timeout')} "
                   f"{self.reply_header(c1, 'X-CSTP-Session-Timeout-Remaining')}")
        ip1 = c1["env"].get("INTERNAL_IP4_ADDRESS")
        rc = self.stop_client(c1, signal.SIGINT)
        self.check("persistent: SIGINT (logout, BYE) -> exit 0", rc == 0, f"exit {rc}")
        time.sleep(0.5)
        c2 = self.connect_client_checked("persistent2", cookie + "\n", extra=("--cookie-on-stdin",))
        if c2 is None:
            return
        self.check("persistent: the cookie still works after the logout, same IP",
                   c2["env"].get("INTERNAL_IP4_ADDRESS") == ip1, f"{ip1} -> {c2['env'].get('INTERNAL_IP4_ADDRESS')}")
        ok, detail = self.ping(ci.SERVER_TUN_IP)
        self.check("persistent: ping after coming back", ok, detail)
        self.stop_client(c2)

    def deny_roaming(self):
        if not self.restart("roaming", "max_ban_score = 0", "deny_roaming = true"):
            return
        ci.run(["ip", "-n", self.topo.cli, "addr", "add", f"{OTHER_IP}/24", "dev", "vc"], check=False)
        cookie = self.authenticate("roaming")
        if cookie is None:
            return
        webvpn = re.search(r"webvpn=([^;]+)", cookie)
        webvpn = webvpn.group(1) if webvpn else ""
        before = self.metrics().get("ocserv_modern_roaming_refusals_total", 0)
        line = self.connect_status_from(OTHER_IP, webvpn)
        self.check("deny_roaming: cookie from another address -> 401", line.startswith("HTTP/1.1 401"), line)
        self.check("deny_roaming: refusal counted in /metrics",
                   self.metrics().get("ocserv_modern_roaming_refusals_total", 0) == before + 1)
        line = self.connect_status_from(ci.CLIENT_IP, webvpn)
        self.check("deny_roaming: cookie from the login address -> 200", line.startswith("HTTP/1.1 200"), line)

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.topo.setup()
        self.run_steps((self.rekey_ssl, self.rekey_new_tunnel, self.persistent_cookies, self.deny_roaming),
                       need_server=False)
        self.stop_server()


def main():
    return ci.main_for(SessionTest, __doc__, ocmctl=True)


if __name__ == "__main__":
    sys.exit(main())
