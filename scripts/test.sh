#!/usr/bin/env bash
# Installs dependencies, builds (warnings are errors) and runs every test suite: the unit tests
# and the interop test with the real openconnect client (the latter needs root; meson reports it
# as skipped otherwise). Extra arguments go to `meson test` (e.g. --suite unit).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-"$ROOT/build"}

"$ROOT/scripts/install-deps.sh"
BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh"
exec meson test -C "$BUILD_DIR" --print-errorlogs "$@"
