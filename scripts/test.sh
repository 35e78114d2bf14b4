#!/usr/bin/env bash
# Installs dependencies, builds (warnings are errors) and runs every test suite: the unit tests
# and the interop test with the real openconnect client (the latter needs root; meson reports it
# as skipped otherwise). Extra arguments go to `meson test` (e.g. --suite unit).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-"$ROOT/build"}

"$ROOT/scripts/install-deps.sh"
BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh"
status=0
meson test -C "$BUILD_DIR" --print-errorlogs "$@" || status=$?
# One closing line in the plain "N passed, N failed" form, counted from meson's own log.
python3 - "$BUILD_DIR/meson-logs/testlog.json" <<'PY' || true
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
with open(sys.argv[1]) as log:
    for line in log:
        result = json.loads(line).get("result", "")
        if result in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif result == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $status
