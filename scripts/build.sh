#!/usr/bin/env bash
# Configures (once) and compiles ocserv-modern into $BUILD_DIR (default: ./build), with
# warnings as errors. Arguments are build targets (default: everything), e.g.
#   scripts/build.sh app/ocserv-modern/ocserv-modern
# MESON_SETUP_ARGS (word-split) is passed to `meson setup` when the build dir is created.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-"$ROOT/build"}
read -r -a setup_args <<<"${MESON_SETUP_ARGS:-}"

cd "$ROOT"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  wipe=()
  # A previous setup that failed half-way leaves coredata behind: start over.
  [[ -f "$BUILD_DIR/meson-private/coredata.dat" ]] && wipe=(--wipe)
  meson setup "${wipe[@]}" "$BUILD_DIR" -Dwerror=true "${setup_args[@]}"
else
  # An existing build dir is kept, but warnings must be errors here too (no-op when already on).
  meson configure "$BUILD_DIR" -Dwerror=true >/dev/null
fi
meson compile -C "$BUILD_DIR" "$@"
