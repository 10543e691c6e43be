#!/bin/sh
# Builds veil-bench (the project's default RelWithDebInfo build, tests off)
# in build-bench/ and runs it; all arguments are passed to veil-bench, e.g.
#   scripts/bench.sh --quick --csv bench.csv --json bench.json
# Set VEIL_BENCH_BUILD to use another build directory.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VEIL_BENCH_BUILD:-$root/build-bench}
cmake -S "$root" -B "$build" -DVEIL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target veil-bench -j"$(nproc)" >/dev/null
exec "$build/benchmarks/veil-bench" "$@"
