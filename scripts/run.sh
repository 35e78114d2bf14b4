#!/usr/bin/env bash
# Installs dependencies, builds, creates the demo certificate/user on first run, then runs the
# server in the foreground (logs on stderr) with config/ocserv-modern.toml.
# Usage: sudo ./scripts/run.sh            (root is needed for the TUN device and port 443)
# Environment: BUILD_DIR (default ./build), OCM_CONFIG (config file), OCM_CONFIG_DIR (where
# demo-setup.sh writes the certificate, key and passwd; default /etc/ocserv-modern).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-"$ROOT/build"}
CONFIG=${OCM_CONFIG:-"$ROOT/config/ocserv-modern.toml"}

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: must run as root (the server creates a TUN device): sudo $0" >&2
  exit 1
fi

"$ROOT/scripts/install-deps.sh"
BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" app/ocserv-modern/ocserv-modern
"$ROOT/scripts/demo-setup.sh"

SERVER="$BUILD_DIR/app/ocserv-modern/ocserv-modern"
"$SERVER" -t -c "$CONFIG"
echo "run.sh: starting $SERVER -c $CONFIG" >&2
exec "$SERVER" -c "$CONFIG"
