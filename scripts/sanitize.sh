#!/usr/bin/env bash
# Builds the addon and the native test runners with AddressSanitizer and
# UndefinedBehaviorSanitizer (CMakeLists.txt, KINDLING_SANITIZE=ON) into
# build-asan/, runs the native runners, then runs the vitest suite with
# node loading the sanitized addon. Clean means: every test passes and no
# sanitizer wrote a report.
#
#   scripts/sanitize.sh                  # native runners + test/ops test/nn test/autograd test/reliability
#   scripts/sanitize.sh test/io          # native runners + the given test paths
#   KD_SANITIZE_SKIP_NATIVE=1 scripts/sanitize.sh ...   # vitest only
#   KD_TSAN=1 scripts/sanitize.sh        # also the native runner under ThreadSanitizer
#
# How the sanitized addon gets loaded without touching lib/: node-gyp-build
# (lib/backend/native.ts) honours <PACKAGE NAME>_PREBUILD, so
# KINDLING_PREBUILD=build-asan/stage makes it load
# build-asan/stage/build/Release/kindling.node. gcc's libasan must come
# first in the process, hence LD_PRELOAD. Leak detection is off: V8 and
# node keep memory until exit by design.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build-asan
JOBS=${JOBS:-2}

LIBASAN=$(g++ -print-file-name=libasan.so)
[ -f "$LIBASAN" ] || { echo "sanitize: gcc's libasan.so not found (g++ -print-file-name=libasan.so gave $LIBASAN)"; exit 2; }

echo "== configure and build (ASan + UBSan) in $BUILD"
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DKINDLING_SANITIZE=ON >"$BUILD/configure.log" 2>&1 ||
  { cat "$BUILD/configure.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS" 2>&1 | grep -E "error|warning|Built target" || true
[ -f "$BUILD/kindling.node" ] || { echo "sanitize: the build did not produce $BUILD/kindling.node"; exit 1; }
mkdir -p "$BUILD/stage/build/Release"
cp "$BUILD/kindling.node" "$BUILD/stage/build/Release/kindling.node"
# node-gyp-build reads the package name from package.json in the root it is given.
echo '{ "name": "kindling" }' >"$BUILD/stage/package.json"

REPORTS=$BUILD/reports
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$REPORTS/asan:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"
status=0

if [ -z "${KD_SANITIZE_SKIP_NATIVE:-}" ]; then
  echo "== native runners"
  for t in kd_native_runner kd_test_elementwise kd_test_reduce_index_random; do
    if "$BUILD/$t" >"$REPORTS/$t.out" 2>&1; then echo "  $t: ok ($(tail -n 1 "$REPORTS/$t.out"))"
    else echo "  $t: FAILED"; tail -n 20 "$REPORTS/$t.out"; status=1; fi
  done
  if "$BUILD/kd_test_gemm" --no-bench >"$REPORTS/kd_test_gemm.out" 2>&1; then echo "  kd_test_gemm: ok ($(tail -n 1 "$REPORTS/kd_test_gemm.out"))"
  else echo "  kd_test_gemm: FAILED"; tail -n 20 "$REPORTS/kd_test_gemm.out"; status=1; fi
fi

if [ -n "${KD_TSAN:-}" ]; then
  echo "== native runner under ThreadSanitizer"
  cmake -S "$ROOT" -B "$ROOT/build-tsan" -DCMAKE_BUILD_TYPE=Release -DKINDLING_TSAN=ON >/dev/null
  cmake --build "$ROOT/build-tsan" -j "$JOBS" --target kd_native_runner 2>&1 | grep -E "error" || true
  if TSAN_OPTIONS="halt_on_error=0:log_path=$REPORTS/tsan" "$ROOT/build-tsan/kd_native_runner" >"$REPORTS/tsan.out" 2>&1; then
    echo "  kd_native_runner (tsan): ok ($(tail -n 1 "$REPORTS/tsan.out"))"
  else echo "  kd_native_runner (tsan): FAILED"; tail -n 20 "$REPORTS/tsan.out"; status=1; fi
fi

if [ $# -eq 0 ]; then set -- test/ops test/nn test/autograd test/reliability; fi
echo "== vitest with the sanitized addon: $*"
# The reliability suite's child processes inherit the environment, so they
# load the sanitized addon too. KD_SANITIZED tells slow tests to shrink.
if LD_PRELOAD="$LIBASAN" KINDLING_PREBUILD="$BUILD/stage" KD_SANITIZED=1 \
  npx vitest run --testTimeout 600000 --hookTimeout 600000 "$@" >"$REPORTS/vitest.out" 2>&1; then
  echo "  vitest: ok"
else
  echo "  vitest: FAILED"
  status=1
fi
grep -E "Test Files|Tests  " "$REPORTS/vitest.out" | sed 's/^/  /' || true

# ASan aborts on its first report and UBSan halts on its first, so a report
# also fails the run above; the files say where.
shopt -s nullglob
reports=("$REPORTS"/asan.* "$REPORTS"/ubsan.* "$REPORTS"/tsan.*)
if [ ${#reports[@]} -gt 0 ]; then
  echo "== sanitizer reports (${#reports[@]} files)"
  for r in "${reports[@]}"; do echo "--- $r"; head -n 40 "$r"; done
  status=1
else
  echo "== no ASan/UBSan reports"
fi
[ $status -eq 0 ] && echo "sanitize: clean" || echo "sanitize: FAILED (logs in $REPORTS)"
exit $status
