#!/usr/bin/env bash
# Installs dependencies, builds (warnings are errors) and runs every test suite, twice:
#  1. gcc in $BUILD_DIR (default ./build): unit tests and the interop tests with the real
#     openconnect client (the latter need root; meson reports them as skipped otherwise);
#  2. clang with ASan+UBSan and the libFuzzer targets in $SAN_BUILD_DIR (default ./build-san):
#     the same unit and interop tests plus a short run of every fuzz target (suite 'fuzz').
#     Any sanitizer report fails the run. OCM_SKIP_SANITIZE=1 skips this phase for quick local
#     runs; CI (.ci/run) always runs it.
# Extra arguments go to both `meson test` calls (e.g. --suite unit). BUILD_JOBS limits compile
# parallelism (default: ninja's choice).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-"$ROOT/build"}
SAN_BUILD_DIR=${SAN_BUILD_DIR:-"$ROOT/build-san"}
jobs=(-j "${BUILD_JOBS:-0}")

"$ROOT/scripts/install-deps.sh"
status=0
# Failures that meson's test logs cannot show (a build that failed, sanitizer reports from
# processes no test looked at); added to the summary line.
extra_failed=0
BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" "${jobs[@]}"
# A log left by an earlier run must not be counted if this one never writes its own.
rm -f "$BUILD_DIR/meson-logs/testlog.json"
meson test -C "$BUILD_DIR" --print-errorlogs "$@" || status=$?
logs=("$BUILD_DIR/meson-logs/testlog.json")

if [[ "${OCM_SKIP_SANITIZE:-0}" != 1 ]]; then
  # halt_on_error: UBSan otherwise only prints and the test still passes. detect_leaks is ASan's
  # default on Linux, spelled out because a leak must fail the run. The suppressions files name
  # each system-library report we do not own, with the reason. Reports also go to files
  # (log_path): the interop tests keep the server's stderr in a temporary log, so a report from
  # the server (a leak at exit, say) would otherwise pass unseen.
  reports="$SAN_BUILD_DIR/sanitizer-reports"
  rm -rf "$reports"
  mkdir -p "$reports"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$reports/asan"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$ROOT/tests/sanitizers/ubsan.supp:log_path=$reports/ubsan"
  export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
  if CC=clang CXX=clang++ BUILD_DIR="$SAN_BUILD_DIR" \
    MESON_SETUP_ARGS="-Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true" \
    "$ROOT/scripts/build.sh" "${jobs[@]}"; then
    rm -f "$SAN_BUILD_DIR/meson-logs/testlog.json"
    meson test -C "$SAN_BUILD_DIR" --print-errorlogs "$@" || status=$?
    logs+=("$SAN_BUILD_DIR/meson-logs/testlog.json")
  else
    echo "test.sh: the sanitizer build failed; its tests did not run" >&2
    status=1
    extra_failed=$((extra_failed + 1))
  fi
  if compgen -G "$reports/*" >/dev/null; then
    echo "sanitizer reports:" >&2
    cat "$reports"/* >&2
    status=1
    extra_failed=$((extra_failed + 1))
  fi
fi

# One closing line in the plain "N passed, N failed" form, counted from meson's own logs of
# both builds.
python3 - "$extra_failed" "${logs[@]}" <<'PY' || true
import json, sys
counts = {"passed": 0, "failed": int(sys.argv[1]), "skipped": 0}
for path in sys.argv[2:]:
    try:
        log = open(path)
    except OSError:
        continue
    with log:
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
