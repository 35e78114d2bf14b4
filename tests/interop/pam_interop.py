#!/usr/bin/env python3
"""Interop test: [auth] method = "pam" with the real openconnect client and the real pam_unix.

Usage (as root):  pam_interop.py [--keep] SERVER_EXE

Same namespaces and helpers as cstp_interop.py / auth_interop.py. The test creates
  - a PAM service /etc/pam.d/ocm-test-<pid> ("auth required pam_unix.so",
    "account required pam_unix.so"),
  - a system user ocmtest<pid> (useradd -M -s /usr/sbin/nologin, password set with chpasswd),
runs the server with method = "pam" and that service, and checks with openconnect:
  right password -> tunnel up and ping through it, group = the user's primary group;
  wrong password -> "Login failed"; unknown user -> login failed.
The user and the PAM file are ALWAYS removed (finally, with bounded timeouts), even on failure.
Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root, no useradd).
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402
import auth_interop as ai  # noqa: E402

PAM_PASSWORD = "pam-Secret-42"


class PamTest(ai.AuthTest):
    def __init__(self, args):
        super().__init__(args)
        self.service = f"ocm-test-{self.pid}"
        self.pam_file = f"/etc/pam.d/{self.service}"
        self.user = f"ocmtest{self.pid}"
        self.user_created = False

    def create_system_user(self):
        with open(self.pam_file, "w") as f:
            f.write("# created by tests/interop/pam_interop.py; removed when the test ends\n"
                    "auth required pam_unix.so\naccount required pam_unix.so\n")
        ci.run(["useradd", "-M", "-s", "/usr/sbin/nologin", self.user], timeout=20)
        self.user_created = True
        ci.run(["chpasswd"], input_data=f"{self.user}:{PAM_PASSWORD}\n", timeout=20)

    def remove_system_user(self):
        # Bounded and independent: one failing must not keep the other from running.
        if self.user_created:
            try:
                cp = ci.run(["userdel", self.user], check=False, timeout=20)
                if cp.returncode == 0:
                    self.user_created = False
                else:
                    ci.log(f"WARNING: userdel {self.user} failed: {(cp.stdout + cp.stderr).strip()}")
            except subprocess.TimeoutExpired:
                ci.log(f"WARNING: userdel {self.user} timed out")
        try:
            os.unlink(self.pam_file)
        except FileNotFoundError:
            pass

    def primary_group(self):
        return ci.run(["id", "-gn", self.user], timeout=10).stdout.strip()

    def login_failed(self, name, c):
        rc = self.wait_exit(c, 40)
        connected = os.path.exists(c["env_prefix"] + ".connect")
        log = self.oc_log(c)
        self.check(name, rc not in (0, None) and not connected and "Login failed" in log,
                   f"exit {rc}, connected {connected}, client: {log[-250:]!r}")

    def pam(self):
        if not self.restart("pam", f'method = "pam"\npam_service = "{self.service}"'):
            return
        c = self.start_client("pam-right", PAM_PASSWORD + "\n", ("-u", self.user, "--passwd-on-stdin"))
        env = self.wait_connected(c, timeout=40)
        self.check("pam: right password brings the tunnel up", env is not None, self.oc_log(c)[-300:])
        if env is not None:
            ok, detail = self.ping(ci.SERVER_TUN_IP)
            self.check("pam: traffic flows", ok, detail)
            group = self.primary_group()
            self.check("pam: group is the user's primary group",
                       f"user '{self.user}' authenticated in group {group}" in self.server_log_text(), group)
            self.stop_client(c)
        c = self.start_client("pam-wrong", "not-the-password\n", ("-u", self.user, "--passwd-on-stdin"))
        self.login_failed("pam: wrong password -> Login failed", c)
        c = self.start_client("pam-unknown", PAM_PASSWORD + "\n",
                              ("-u", f"nosuch{self.pid}", "--passwd-on-stdin"))
        self.login_failed("pam: unknown user -> Login failed", c)
        self.check("pam: nobody else authenticated",
                   f"user 'nosuch{self.pid}' authenticated" not in self.server_log_text())

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        try:
            self.create_system_user()
            self.topo.setup()
            self.pam()
        finally:
            self.stop_server()
            self.remove_system_user()
        cp = ci.run(["id", self.user], check=False, timeout=10)
        self.check("cleanup: test user removed", cp.returncode != 0)
        self.check("cleanup: PAM service file removed", not os.path.exists(self.pam_file))

    def cleanup(self):
        self.remove_system_user()  # again, in case run() never reached its finally
        super().cleanup()


def main():
    def missing_tools():
        missing = [t for t in ("useradd", "userdel", "chpasswd") if shutil.which(t) is None]
        if missing:
            return f"missing {' '.join(missing)}"
        return None if os.path.isdir("/etc/pam.d") else "no /etc/pam.d"

    return ci.main_for(PamTest, __doc__, skip=missing_tools)


if __name__ == "__main__":
    sys.exit(main())
