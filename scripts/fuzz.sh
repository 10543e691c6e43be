#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR/fuzz for SECONDS each, starting
# from the checked-in seeds in fuzz/corpus/<name>/ (copied to a scratch
# corpus so the checkout is not modified). Fails if any fuzzer finds a crash,
# leak or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-fuzz}"
seconds="${2:-30}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
found=0
for f in "$build"/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  found=1
  name=$(basename "$f")
  short=${name#fuzz_}
  mkdir -p "$work/$short"
  if [ -d "fuzz/corpus/$short" ]; then
    cp -r "fuzz/corpus/$short/." "$work/$short/"
  fi
  echo "-- $name (${seconds}s)"
  if ! "$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/" -print_final_stats=1 "$work/$short" \
        >"$work/$name.log" 2>&1; then
    echo "FUZZER FAILED: $name"
    tail -n 60 "$work/$name.log"
    mkdir -p fuzz-artifacts && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* fuzz-artifacts/ 2>/dev/null || true
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$work/$name.log" | tail -n 2
  fi
done
if [ "$found" = 0 ]; then
  echo "no fuzzers found in $build/fuzz" >&2
  exit 1
fi
exit $status
