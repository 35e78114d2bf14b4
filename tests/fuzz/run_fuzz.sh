#!/usr/bin/env bash
# Short libFuzzer run for the test suite: FUZZER CORPUS_DIR SECONDS ARTIFACT_DIR.
# The corpus is copied to a temporary directory so that inputs libFuzzer adds never land in the
# repository; a crash, leak, sanitizer report or failed invariant makes the fuzzer (and so this
# test) fail, and the reproducer is kept in ARTIFACT_DIR.
set -euo pipefail
fuzzer=$1
corpus=$2
seconds=$3
artifacts=$4/

work=$(mktemp -d "${TMPDIR:-/tmp}/ocm-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp -r "$corpus"/. "$work/corpus/"
mkdir -p "$artifacts"
# -timeout: one input taking 10 s is a hang worth reporting; -rss_limit_mb bounds a leak or a
# blow-up well below what the shared machine has.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts" "$work/corpus"
