#!/usr/bin/env python3
"""Interop test: [auth] method = "ldap" with the real openconnect client and a real slapd.

Usage (as root):  ldap_interop.py [--keep] SERVER_EXE

Same namespaces and helpers as cstp_interop.py / auth_interop.py. The test starts its own
slapd inside the server namespace on 127.0.0.1 (a cn=config loaded with `slapadd -n0 -F DIR`,
an mdb database for dc=ocm,dc=test, everything in the temp dir), loads with ldapadd:
  ou=people: user1 and user2 ({SSHA} passwords from slappasswd) and a service account,
  ou=groups: cn=engineers (groupOfNames, member user1), cn=ops (posixGroup, memberUid user2),
and runs the server twice, checking with openconnect:
  1. direct bind (bind_dn = "uid=%u,ou=people,..."), groups from both kinds of group entry:
     user1 -> tunnel up, ping through it, group engineers, whose per-group file's route
     reaches the client (CISCO_SPLIT_INC); user2 -> group ops and its route;
     wrong password, unknown user and an EMPTY password (LDAP's "unauthenticated bind", which
     slapd accepts) -> "Login failed";
  2. search then bind (base_dn + user_filter as a service account): user1 logs in with its
     group; wrong password, unknown user, "*" as user name (filter injection) and an empty
     password fail.
slapd is ALWAYS killed and its directory removed (finally, bounded waits), even on failure.
Exit status: 0 all checks passed, 1 a check failed, 77 skipped (not root, no slapd/ldap-utils).
"""

import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstp_interop as ci  # noqa: E402
import auth_interop as ai  # noqa: E402

SUFFIX = "dc=ocm,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-Secret-1"
SERVICE_DN = f"cn=ocserv,{SUFFIX}"
SERVICE_PASSWORD = "service-Secret-2"
USERS = {"user1": "ldap-Secret-11", "user2": "ldap-Secret-22"}
ENG_ROUTE = "10.77.0.0"
OPS_ROUTE = "10.88.0.0"
SLAPD = "/usr/sbin/slapd"
TOOLS = ("slapadd", "slappasswd", "ldapadd", "ldapsearch", "ldapwhoami")


def tool(name):
    """slapadd and slappasswd live in /usr/sbin, which a test's PATH may lack."""
    return shutil.which(name) or f"/usr/sbin/{name}"


class LdapTest(ai.AuthTest):
    def __init__(self, args):
        super().__init__(args)
        self.slapd_dir = self.path("slapd")
        self.slapd = None
        self.ldap_port = None

    # ---- slapd --------------------------------------------------------------------------------

    def ssha(self, password):
        return ci.run([tool("slappasswd"), "-h", "{SSHA}", "-s", password], timeout=10).stdout.strip()

    def free_port(self):
        """A port nobody uses on 127.0.0.1 in the server namespace (where slapd listens)."""
        with ci.InNetns(self.topo.srv):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", 0))
                return s.getsockname()[1]
            finally:
                s.close()

    def ldap_uri(self):
        return f"ldap://127.0.0.1:{self.ldap_port}"

    def write_slapd_config(self):
        d = self.slapd_dir
        conf = os.path.join(d, "slapd.d")
        db = os.path.join(d, "db")
        for sub in (conf, db):
            os.makedirs(sub)
        schemas = "".join(f"include: file:///etc/ldap/schema/{s}.ldif\n"
                          for s in ("core", "cosine", "nis", "inetorgperson"))
        ldif = os.path.join(d, "config.ldif")
        with open(ldif, "w") as f:
            f.write(f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {d}/slapd.pid
olcArgsFile: {d}/slapd.args
olcAllows: bind_anon_dn

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {self.ssha(ADMIN_PASSWORD)}
olcDbDirectory: {db}
olcDbMaxSize: 16777216
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by users read by * none
""")
        # As on a real server, anonymous clients may bind and nothing else: the search-then-bind
        # run therefore needs its service account, and groups are read as the logged-in user.
        # bind_anon_dn: slapd accepts an "unauthenticated bind" (a DN, no password) as anonymous,
        # as many directories do; the empty-password checks show the server does not fall for it.
        ci.run([tool("slapadd"), "-n0", "-F", conf, "-l", ldif], timeout=30)
        return conf

    def write_directory(self):
        people, groups = f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"
        entries = [f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: ocm
o: ocserv-modern test
""", f"""dn: {people}
objectClass: organizationalUnit
ou: people
""", f"""dn: {groups}
objectClass: organizationalUnit
ou: groups
""", f"""dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: ocserv
userPassword: {self.ssha(SERVICE_PASSWORD)}
"""]
        for i, (user, password) in enumerate(sorted(USERS.items())):
            entries.append(f"""dn: uid={user},{people}
objectClass: inetOrgPerson
objectClass: posixAccount
uid: {user}
cn: Test {user}
sn: {user}
uidNumber: {6001 + i}
gidNumber: 6000
homeDirectory: /nonexistent
userPassword: {self.ssha(password)}
""")
        entries.append(f"""dn: cn=engineers,{groups}
objectClass: groupOfNames
cn: engineers
member: uid=user1,{people}
""")
        entries.append(f"""dn: cn=ops,{groups}
objectClass: posixGroup
cn: ops
gidNumber: 6002
memberUid: user2
""")
        path = os.path.join(self.slapd_dir, "directory.ldif")
        with open(path, "w") as f:
            f.write("\n".join(entries))
        return path

    def start_slapd(self):
        os.makedirs(self.slapd_dir)
        conf = self.write_slapd_config()
        self.ldap_port = self.free_port()
        logf = open(os.path.join(self.slapd_dir, "slapd.log"), "wb")
        # -d 0: stay in the foreground (no daemon to lose track of), log to our file.
        self.slapd = subprocess.Popen(["ip", "netns", "exec", self.topo.srv, SLAPD, "-d", "0",
                                       "-h", f"{self.ldap_uri()}/", "-F", conf],
                                      stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + 10
        up = False
        while time.monotonic() < deadline and self.slapd.poll() is None:
            cp = self.topo.ns(self.topo.srv, tool("ldapsearch"), "-x", "-H", self.ldap_uri(), "-o", "nettimeout=2",
                              "-s", "base", "-b", "", "namingContexts", check=False, timeout=10)
            if cp.returncode == 0:
                up = True
                break
            time.sleep(0.2)
        if not self.check("slapd answers on 127.0.0.1 in the server namespace", up,
                          f"slapd exit {self.slapd.poll()}"):
            self.tail(os.path.join(self.slapd_dir, "slapd.log"), n=30, label="slapd log")
            return False
        cp = self.topo.ns(self.topo.srv, tool("ldapadd"), "-x", "-H", self.ldap_uri(), "-D", ADMIN_DN,
                          "-w", ADMIN_PASSWORD, "-f", self.write_directory(), check=False, timeout=30)
        if not self.check("directory loaded with ldapadd", cp.returncode == 0, (cp.stdout + cp.stderr).strip()[-300:]):
            return False
        # The bypass exists at this slapd: a DN with an empty password binds (as anonymous).
        cp = self.topo.ns(self.topo.srv, tool("ldapwhoami"), "-x", "-H", self.ldap_uri(),
                          "-D", f"uid=user1,ou=people,{SUFFIX}", "-w", "", check=False, timeout=10)
        self.check("slapd accepts an unauthenticated bind (DN + empty password)", cp.returncode == 0,
                   (cp.stdout + cp.stderr).strip()[-200:])
        return True

    def stop_slapd(self):
        """Bounded: SIGTERM, 10 s, then SIGKILL; the directory goes with the temp dir."""
        if self.slapd is not None and self.slapd.poll() is None:
            self.slapd.terminate()
            try:
                self.slapd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.slapd.kill()
                try:
                    self.slapd.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    ci.log("WARNING: slapd did not exit after SIGKILL")
        shutil.rmtree(self.slapd_dir, ignore_errors=True)

    # ---- the server's side ----------------------------------------------------------------------

    def make_group_files(self):
        os.makedirs(self.path("groups"))
        with open(self.path("groups/engineers"), "w") as f:
            f.write(f"route = {ENG_ROUTE}/255.255.0.0\n")
        with open(self.path("groups/ops"), "w") as f:
            f.write(f"route = {OPS_ROUTE}/16\n")

    def restart_ldap(self, name, ldap_keys):
        auth = (f'method = "ldap"\nconfig_per_group = "{self.path("groups")}"\n\n[auth.ldap]\n'
                f'uri = "{self.ldap_uri()}"\ntimeout = 3\n'
                f'group_base_dn = "ou=groups,{SUFFIX}"\n{ldap_keys}')
        if not self.restart(name, auth):
            return False
        return self.check(f"{name}: startup log names the LDAP server",
                          f"passwords are checked by LDAP server {self.ldap_uri()}" in self.server_log_text())

    def login(self, label, user, password):
        return self.start_client(label, password + "\n", ("-u", user, "--passwd-on-stdin"))

    def login_failed(self, name, c, server_says=None):
        rc = self.wait_exit(c, 40)
        connected = os.path.exists(c["env_prefix"] + ".connect")
        log = self.oc_log(c)
        server_ok = server_says is None or server_says in self.server_log_text()
        self.check(name, rc not in (0, None) and not connected and "Login failed" in log and server_ok,
                   f"exit {rc}, connected {connected}, server log has {server_says!r}: {server_ok}; "
                   f"client: {log[-250:]!r}")

    def logs_in_with_group(self, mode, user, group, route, ping=False):
        c = self.login(f"{mode}-{user}", user, USERS[user])
        env = self.wait_connected(c, timeout=40)
        if not self.check(f"{mode}: {user} logs in", env is not None, self.oc_log(c)[-300:]):
            return
        if ping:
            ok, detail = self.ping(ci.SERVER_TUN_IP)
            self.check(f"{mode}: traffic flows", ok, detail)
        self.check(f"{mode}: {user} is in LDAP group {group}",
                   f"user '{user}' authenticated in group {group}" in self.server_log_text())
        inc = self.split_includes(env)
        self.check(f"{mode}: group {group}'s per-group route reaches the client (CISCO_SPLIT_INC)",
                   route in inc, str(sorted(inc)))
        self.stop_client(c)

    def refusals(self, mode):
        self.login_failed(f"{mode}: wrong password -> Login failed",
                          self.login(f"{mode}-wrong", "user1", "not-the-password"), "Invalid credentials")
        self.login_failed(f"{mode}: unknown user -> Login failed",
                          self.login(f"{mode}-unknown", f"nosuch{self.pid}", USERS["user1"]),
                          "no entry under" if mode == "search" else "Invalid credentials")
        # The classic bypass: slapd answers a bind with a DN and no password with success.
        self.login_failed(f"{mode}: EMPTY password -> Login failed (no unauthenticated bind)",
                          self.login(f"{mode}-empty", "user1", ""), "empty password refused")
        text = self.server_log_text()
        self.check(f"{mode}: nobody else authenticated",
                   text.count("user 'user1' authenticated") == self.user1_logins
                   and f"user 'nosuch{self.pid}' authenticated" not in text)

    def direct_bind(self):
        if not self.restart_ldap("direct", f'bind_dn = "uid=%u,ou=people,{SUFFIX}"\n'):
            return
        self.user1_logins = 0
        self.logs_in_with_group("direct", "user1", "engineers", ENG_ROUTE, ping=True)
        self.user1_logins = 1
        self.logs_in_with_group("direct", "user2", "ops", OPS_ROUTE)
        self.refusals("direct")

    def search_then_bind(self):
        pw_file = self.path("ldap-service-password")
        with open(os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(SERVICE_PASSWORD + "\n")
        if not self.restart_ldap("search", f'base_dn = "ou=people,{SUFFIX}"\nuser_filter = "(uid=%u)"\n'
                                           f'search_bind_dn = "{SERVICE_DN}"\n'
                                           f'search_bind_password_file = "{pw_file}"\n'):
            return
        self.user1_logins = 0
        self.logs_in_with_group("search", "user1", "engineers", ENG_ROUTE)
        self.user1_logins = 1
        self.check("search: the user's DN was found by the service account's search",
                   f"LDAP: bound as uid=user1,ou=people,{SUFFIX}" in self.server_log_text())
        self.refusals("search")
        # "*" unescaped would make (uid=*), matching both users ("more than one entry").
        self.login_failed("search: '*' as user name matches nobody (filter escaping)",
                          self.login("search-star", "*", USERS["user1"]), "no entry under")

    def run(self):
        ci.remove_stale_namespaces()
        self.make_files()
        self.make_group_files()
        try:
            self.topo.setup()
            if self.start_slapd():
                self.run_steps((self.direct_bind, self.search_then_bind), need_server=False)
        finally:
            self.stop_server()
            self.stop_slapd()
        self.check("cleanup: slapd stopped", self.slapd is None or self.slapd.poll() is not None)
        self.check("cleanup: slapd directory removed", not os.path.exists(self.slapd_dir))

    def cleanup(self):
        self.stop_slapd()  # again, in case run() never reached its finally
        super().cleanup()


def main():
    def missing_tools():
        missing = [t for t in TOOLS if not os.access(tool(t), os.X_OK)]
        if not os.access(SLAPD, os.X_OK) or missing:
            return f"slapd or ldap-utils missing ({' '.join(missing) or SLAPD})"
        return None

    return ci.main_for(LdapTest, __doc__, skip=missing_tools)


if __name__ == "__main__":
    sys.exit(main())
