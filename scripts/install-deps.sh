#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and run ocserv-modern.
# Idempotent: only missing packages are installed; `apt-get update` runs at most once, and only
# when something is missing. Must run as root (or via sudo) when anything is missing.
set -euo pipefail

BUILD_PKGS=(
  meson ninja-build pkg-config g++
  libuv1-dev libwolfssl-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libcrypt-dev libipsec-mb-dev
  libgnutls28-dev  # test peer: DTLS resumption exactly as openconnect (GnuTLS) does it
  dpdk-dev libdpdk-dev          # drivers/dpdk (dpdk-dev also ships dpdk-testpmd)
  libbpf-dev libxdp-dev clang llvm  # drivers/af_xdp and bpf/ (clang -target bpf)
  libpam0g-dev  # [auth] method = "pam": the system's PAM stack (lib/auth/src/pam.cpp)
  libradcli-dev  # [auth] method = "radius" and RADIUS accounting (lib/auth/src/radius.cpp)
  liblz4-dev  # oc-lz4 packet compression (lib/proto/src/compression.cpp), as openconnect/ocserv use it
  libldap-dev  # [auth] method = "ldap" (lib/auth/src/ldap.cpp)
  libclang-rt-14-dev  # ASan/UBSan/libFuzzer runtimes for the sanitizer build (only Recommended by clang)
)
TOOL_PKGS=(
  openssl iproute2 iputils-ping openconnect python3 procps util-linux iperf3
  freeradius  # tests/interop/radius_interop.py starts its own instance on 127.0.0.1
  slapd ldap-utils  # tests/interop/ldap_interop.py starts its own slapd on 127.0.0.1
)

missing=()
for pkg in "${BUILD_PKGS[@]}" "${TOOL_PKGS[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (sudo $0) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts (and enables) freeradius on install; only the interop test should run one, with
# its own config on its own ports, so the system service is stopped and disabled again.
if [[ " ${missing[*]} " == *" freeradius "* ]]; then
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now freeradius >/dev/null 2>&1 || true
  else
    service freeradius stop >/dev/null 2>&1 || true
    update-rc.d freeradius disable >/dev/null 2>&1 || true
  fi
fi
# The same for slapd (its debconf questions get their defaults: DEBIAN_FRONTEND above); the
# interop test runs its own slapd with its own config and database in a temp dir.
if [[ " ${missing[*]} " == *" slapd "* ]]; then
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now slapd >/dev/null 2>&1 || true
  else
    service slapd stop >/dev/null 2>&1 || true
    update-rc.d slapd disable >/dev/null 2>&1 || true
  fi
fi
echo "install-deps: done" >&2
