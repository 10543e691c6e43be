#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. install missing packages, build with -Werror, run every ctest suite;
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the multi-threaded suites (worker pool, batches, threshold batches,
#      private-join group operations) built with ThreadSanitizer;
#   4. every libFuzzer target for a bounded time (VEIL_FUZZ_SECONDS, default 30).
# Set VEIL_SKIP_ASAN=1, VEIL_SKIP_TSAN=1 or VEIL_SKIP_FUZZ=1 to leave a stage
# out locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

bash scripts/deps.sh

echo "== build and test (RelWithDebInfo, -Werror)"
bash scripts/build.sh build
(cd build && ctest -j"$jobs" --output-on-failure 2>&1 | tee ctest.log)

if [ "${VEIL_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build and test under ASan + UBSan"
  bash scripts/build.sh build-asan -DVEIL_SANITIZE=ON
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest -j"$jobs" --output-on-failure)
fi

if [ "${VEIL_SKIP_TSAN:-0}" != 1 ]; then
  echo "== the multi-threaded suites under ThreadSanitizer"
  tsan_tests="test_workers test_batch test_psi test_threshold test_paillier_mb"
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVEIL_WERROR=ON -DVEIL_TSAN=ON >/dev/null
  # shellcheck disable=SC2086
  cmake --build build-tsan -j"$jobs" --target $tsan_tests
  # die_after_fork=0: test_workers checks the pool in a forked child.
  (cd build-tsan && TSAN_OPTIONS=die_after_fork=0:halt_on_error=1 \
     ctest -j"$jobs" --output-on-failure -R "^($(echo $tsan_tests | tr ' ' '|'))\$")
fi

if [ "${VEIL_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz every parser for ${VEIL_FUZZ_SECONDS:-30} s each"
  CC=clang bash scripts/build.sh build-fuzz -DVEIL_FUZZ=ON -DVEIL_BUILD_TESTS=OFF
  bash scripts/fuzz.sh build-fuzz "${VEIL_FUZZ_SECONDS:-30}"
fi

# Repeat the plain suite's verdict last, so the closing lines are ctest's.
echo "== summary (plain build; the ASan+UBSan, TSan and fuzz stages passed too)"
grep -E "tests passed|tests failed|Total Test time" "$root/build/ctest.log"
