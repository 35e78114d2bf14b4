#!/usr/bin/env python3
"""Interop test: certificate auth, TOTP second factor and groups with the real openconnect.

Usage (as root):  auth_interop.py [--keep] SERVER_EXE

Same namespaces and helpers as cstp_interop.py. The server is restarted with three configs:
  1. method = "certificate" (CA, CRL, cert_group_oid = OU): openconnect --certificate/--sslkey
     with CN=alice OU=engineers logs in without any form and passes traffic, in group
     "engineers"; a revoked certificate (in the CRL), a certificate from another CA and no
     certificate at all are refused.
  2. method = "plain" + otp_file (HOTP/T30): --token-mode=totp --token-secret=0x... logs in;
     a code fed on stdin (second line) works once and is refused when reused; a wrong code
     is refused.
  3. select_groups + config_per_group/config_per_user: --authgroup picks the group (by label),
     the group's routes reach the client (CISCO_SPLIT_INC), a group the user is not in and an
     unknown group are refused, a user file sets routes and explicit-ipv4.
Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root).
"""

import hashlib
import hmac
import os
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402

SERVER_IP = ci.SERVER_IP
PORT = ci.PORT
OTP_SECRET = "3132333435363738393031323334353637383930"
BOB_PASSWORD = "bobs-secret"
ENG_ROUTE = "10.77.0.0"
OPS_ROUTE = "10.88.0.0"
BOB_ROUTE = "10.66.0.0"
BOB_ADDRESS = "192.168.100.200"


def totp(secret_hex, step):
    mac = hmac.new(bytes.fromhex(secret_hex), struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000
    return f"{value:06d}"


class AuthTest(ci.Test):
    def __init__(self, args):
        args.ocserv = False
        super().__init__(args)

    # ---- files ------------------------------------------------------------------------------

    def openssl(self, *args, input_data=None):
        return ci.run(["openssl", *args], input_data=input_data)

    def make_pki(self):
        """CA + CRL with openssl ca; alice (CN=alice, OU=engineers), bob (revoked), and an alice
        certificate signed by a CA the server does not trust."""
        d = self.path("pki")
        os.makedirs(d)
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "crlnumber"), "w") as f:
            f.write("01\n")
        cnf = os.path.join(d, "ca.cnf")
        with open(cnf, "w") as f:
            f.write(f"""[ca]
default_ca = test_ca
[test_ca]
dir = {d}
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 2
default_crl_days = 2
policy = anything
[anything]
commonName = supplied
organizationalUnitName = optional
""")
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self.openssl("req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-days", "2",
                     "-subj", "/CN=ocm test client CA")
        self.openssl("req", "-x509", *ec, "-keyout", f"{d}/evil-ca.key", "-out", f"{d}/evil-ca.pem", "-days", "2",
                     "-subj", "/CN=untrusted CA")
        for name, subj in (("alice", "/CN=alice/OU=engineers"), ("bob", "/CN=bob/OU=sales")):
            self.openssl("req", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", subj)
            self.openssl("ca", "-batch", "-config", cnf, "-in", f"{d}/{name}.csr", "-out", f"{d}/{name}.pem",
                         "-notext")
        self.openssl("ca", "-config", cnf, "-revoke", f"{d}/bob.pem")
        self.openssl("ca", "-config", cnf, "-gencrl", "-out", f"{d}/crl.pem")
        self.openssl("req", *ec, "-keyout", f"{d}/evil.key", "-out", f"{d}/evil.csr", "-subj", "/CN=alice/OU=engineers")
        self.openssl("x509", "-req", "-in", f"{d}/evil.csr", "-CA", f"{d}/evil-ca.pem", "-CAkey", f"{d}/evil-ca.key",
                     "-CAcreateserial", "-days", "2", "-out", f"{d}/evil.pem")
        self.pki = d

    def make_auth_files(self):
        self.make_files()
        self.make_pki()
        h_alice = ci.run(["openssl", "passwd", "-6", "-stdin"], input_data=ci.PASSWORD + "\n").stdout.strip()
        h_bob = ci.run(["openssl", "passwd", "-6", "-stdin"], input_data=BOB_PASSWORD + "\n").stdout.strip()
        with open(self.path("passwd"), "w") as f:
            f.write(f"alice:engineers,ops:{h_alice}\nbob:*:{h_bob}\n")
        with open(self.path("users.oath"), "w") as f:
            f.write(f"HOTP/T30 alice - {OTP_SECRET}\n")
        for sub in ("groups", "users"):
            os.makedirs(self.path(sub))
        with open(self.path("groups/engineers"), "w") as f:
            f.write(f"# engineers\nroute = {ENG_ROUTE}/255.255.0.0\nsplit-dns = eng.example.com\n")
        with open(self.path("groups/ops"), "w") as f:
            f.write(f"route = {OPS_ROUTE}/16\nidle-timeout = 600\n")
        with open(self.path("users/bob"), "w") as f:
            f.write(f"route = {BOB_ROUTE}/16\nexplicit-ipv4 = {BOB_ADDRESS}\nrx-data-per-sec = 5000000\n")

    def write_config(self, name, auth):
        self.config = self.path(f"auth-{name}.toml")
        with open(self.config, "w") as f:
            f.write(f"""# generated by tests/interop/auth_interop.py
[server]
bind = "{SERVER_IP}"
tcp_port = {PORT}
dtls_port = {PORT}
auth_timeout = 30

[crypto]
cert_file = "{self.path('cert.pem')}"
key_file = "{self.path('key.pem')}"

[auth]
passwd_file = "{self.path('passwd')}"
{auth}

[network]
device = "{self.server_tun}"
ipv4_network = "{ci.POOL}"
routes = ["{ci.BEHIND_NET}"]
dns_servers = ["{ci.SERVER_TUN_IP}"]

[session]
cookie_timeout = 60

[monitoring]
log_level = "debug"
control_socket = ""
""")

    def restart(self, name, auth):
        self.stop_server()
        self.write_config(name, auth)
        cp = ci.run([self.args.server, "-t", "-c", self.config], check=False, timeout=20)
        self.check(f"{name}: config accepted by -t", cp.returncode == 0, (cp.stdout + cp.stderr).strip()[-300:])
        self.mark_server_log()
        return self.start_server()

    def stop_server(self):
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=5)
        self.server = None

    def server_log_text(self):
        with open(self.server_log, errors="replace") as f:
            return f.read()

    def oc_log(self, c):
        with open(c["log"], errors="replace") as f:
            return f.read()

    def refused(self, name, c, server_says):
        rc = self.wait_exit(c, 30)
        connected = os.path.exists(c["env_prefix"] + ".connect")
        log = self.server_log_text()
        self.check(name, rc not in (0, None) and not connected and server_says in log,
                   f"exit {rc}, connected {connected}, server log has {server_says!r}: {server_says in log}; "
                   f"client: {self.oc_log(c)[-250:]!r}")

    def split_includes(self, env):
        return {v for k, v in env.items() if k.startswith("CISCO_SPLIT_INC_") and k.endswith("_ADDR")}

    # ---- 1. certificates --------------------------------------------------------------------

    def certificates(self):
        p = self.pki
        if not self.restart("cert", f'method = "certificate"\nca_file = "{p}/ca.pem"\ncrl_file = "{p}/crl.pem"\n'
                                    'cert_user_oid = "2.5.4.3"\ncert_group_oid = "2.5.4.11"'):
            return
        c = self.start_client("cert-alice", "", ("--certificate", f"{p}/alice.pem", "--sslkey", f"{p}/alice.key"))
        env = self.wait_connected(c)
        self.check("certificate: alice logs in with no form", env is not None, self.oc_log(c)[-300:])
        if env is not None:
            log = self.oc_log(c)
            self.check("certificate: no username/password prompt was shown",
                       "Username:" not in log and "Password:" not in log, log[-300:])
            ok, detail = self.ping(ci.SERVER_TUN_IP)
            self.check("certificate: traffic flows", ok, detail)
            self.check("certificate: user and group taken from CN and OU",
                       "user 'alice' authenticated in group engineers" in self.server_log_text())
            self.stop_client(c)
        c = self.start_client("cert-revoked", "", ("--certificate", f"{p}/bob.pem", "--sslkey", f"{p}/bob.key"))
        self.refused("certificate: revoked certificate (CRL) refused", c, "TLS handshake failed")
        c = self.start_client("cert-untrusted", "",
                              ("--certificate", f"{p}/evil.pem", "--sslkey", f"{p}/evil.key"))
        self.refused("certificate: certificate from an untrusted CA refused", c, "TLS handshake failed")
        self.check("certificate: bob never authenticated", "user 'bob' authenticated" not in self.server_log_text())
        c = self.start_client("cert-none", "", ())
        self.refused("certificate: no certificate refused with a clear reason", c,
                     "certificate login refused: no client certificate")

    # ---- 2. TOTP -------------------------------------------------------------------------------

    def otp(self):
        if not self.restart("otp", f'method = "plain"\notp_file = "{self.path("users.oath")}"'):
            return
        c = self.start_client("totp-token", ci.PASSWORD + "\n",
                              ("-u", ci.USER, "--passwd-on-stdin", "--token-mode=totp",
                               f"--token-secret=0x{OTP_SECRET}"))
        env = self.wait_connected(c)
        self.check("totp: password + openconnect's own TOTP code log in", env is not None, self.oc_log(c)[-300:])
        if env is not None:
            self.check("totp: the client was asked for the second factor",
                       "secondary_password" in self.oc_log(c) or "OTP" in self.oc_log(c))
            self.stop_client(c)
        # The next time step is inside the ±1 window and newer than whatever the token used.
        code = totp(OTP_SECRET, int(time.time()) // 30 + 1)
        c = self.start_client("totp-stdin", f"{ci.PASSWORD}\n{code}\n")
        env = self.wait_connected(c)
        self.check("totp: code typed as the second answer logs in", env is not None, self.oc_log(c)[-300:])
        if env is not None:
            self.stop_client(c)
        c = self.start_client("totp-reuse", f"{ci.PASSWORD}\n{code}\n")
        self.refused("totp: the same code again is refused", c, "code already used")
        wrong = totp(OTP_SECRET, int(time.time()) // 30 + 7)
        c = self.start_client("totp-wrong", f"{ci.PASSWORD}\n{wrong}\n")
        self.refused("totp: a wrong code is refused", c, "wrong code")
        c = self.start_client("totp-no-code", f"{ci.PASSWORD}\n")
        rc = self.wait_exit(c, 30)
        self.check("totp: the password alone does not log in",
                   rc not in (0, None) and not os.path.exists(c["env_prefix"] + ".connect"), f"exit {rc}")

    # ---- 3. groups and per-user/group config ---------------------------------------------------

    def groups(self):
        if not self.restart("groups", 'method = "plain"\n'
                                      'select_groups = ["engineers[Engineering]", "ops", "sales"]\n'
                                      'default_select_group = "DEFAULT"\n'
                                      f'config_per_group = "{self.path("groups")}"\n'
                                      f'config_per_user = "{self.path("users")}"'):
            return
        for label, group, route in (("Engineering", "engineers", ENG_ROUTE), ("ops", "ops", OPS_ROUTE)):
            c = self.start_client(f"group-{group}", ci.PASSWORD + "\n",
                                  ("-u", ci.USER, "--passwd-on-stdin", f"--authgroup={label}"))
            env = self.wait_connected(c)
            self.check(f"groups: --authgroup={label} logs in", env is not None, self.oc_log(c)[-300:])
            if env is None:
                continue
            inc = self.split_includes(env)
            self.check(f"groups: group {group}'s route reaches the client (CISCO_SPLIT_INC)",
                       route in inc and ci.BEHIND_NET.split("/")[0] not in inc, str(sorted(inc)))
            self.check(f"groups: server put alice in group {group}",
                       f"user 'alice' authenticated in group {group}" in self.server_log_text())
            if group == "engineers":
                self.check("groups: group split-dns reaches the client",
                           "eng.example.com" in env.get("CISCO_SPLIT_DNS", ""), env.get("CISCO_SPLIT_DNS", ""))
                ok, detail = self.ping(ci.SERVER_TUN_IP)
                self.check("groups: traffic flows", ok, detail)
            self.stop_client(c)
        c = self.start_client("group-not-member", ci.PASSWORD + "\n",
                              ("-u", ci.USER, "--passwd-on-stdin", "--authgroup=sales"))
        self.refused("groups: a group alice is not in is refused", c, "not a member of group 'sales'")
        # Unknown group: openconnect refuses unknown labels itself, so a raw XML POST.
        req = ci.http_request("POST", "/", ci.XML_HEADERS,
                              ci.xml_body("init", "<group-select>nosuch</group-select>"))
        resp = self.simple_request(req)
        self.check("groups: unknown group refused with 401", resp.status == 401, resp.status_line())
        self.check("groups: server logs the unknown group", "unknown group selected" in self.server_log_text())
        # Default option and no group: alice's first passwd group; bob's own file.
        c = self.start_client("group-default", ci.PASSWORD + "\n",
                              ("-u", ci.USER, "--passwd-on-stdin", "--authgroup=DEFAULT"))
        env = self.wait_connected(c)
        self.check("groups: DEFAULT option gives the first passwd group (engineers)",
                   env is not None and ENG_ROUTE in self.split_includes(env), self.oc_log(c)[-300:])
        if env is not None:
            self.stop_client(c)
        # With a dropdown openconnect --non-inter needs a choice; bob (no groups) takes DEFAULT.
        bob = ("-u", "bob", "--passwd-on-stdin", "--authgroup=DEFAULT")
        c = self.start_client("user-bob", BOB_PASSWORD + "\n", bob)
        env = self.wait_connected(c)
        self.check("per-user: bob's file gives his routes and explicit-ipv4",
                   env is not None and BOB_ROUTE in self.split_includes(env)
                   and env.get("INTERNAL_IP4_ADDRESS") == BOB_ADDRESS,
                   f"{sorted(self.split_includes(env)) if env else None} {env.get('INTERNAL_IP4_ADDRESS') if env else ''}")
        if env is not None:
            self.stop_client(c)
        # A broken per-user file refuses the tunnel and names file:line:key.
        with open(self.path("users/bob"), "w") as f:
            f.write("route = 10.66.0.0/16\niroute = 10.77.0.0/16\n")
        c = self.start_client("user-bob-broken", BOB_PASSWORD + "\n", bob)
        self.refused("per-user: a file with an unsupported key refuses the tunnel, naming file:line:key", c,
                     f"{self.path('users/bob')}:2: iroute:")

    def run(self):
        ci.remove_stale_namespaces()
        self.make_auth_files()
        self.topo.setup()
        self.run_steps((self.certificates, self.otp, self.groups), need_server=False)
        self.stop_server()


def main():
    return ci.main_for(AuthTest, __doc__)


if __name__ == "__main__":
    sys.exit(main())
