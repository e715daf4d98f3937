#!/usr/bin/env bash
# Runs a short training loop of the seed CNN (test/reliability/helpers/train-steps.ts:
# 20 steps, batch 64, then save and load) under valgrind memcheck, with the
# regular addon build (build/Release/kindling.node; run `npm run build:native` first).
#
#   scripts/valgrind.sh [steps] [batch]
#
# node runs with --jitless: V8's JIT writes and patches machine code at run
# time, which memcheck can only follow with --smc-check=all at a large cost,
# and its generated code trips memcheck's uninitialised-value tracking on
# purpose (NaN-boxing, tagged values). Without the JIT the remaining reports
# inside node's own binary are V8/libuv internals, suppressed by
# scripts/valgrind-node.supp; nothing inside kindling.node, libopenblas or
# libstdc++ called from it is suppressed. Leaks are not checked: V8 keeps
# its heap until exit by design.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-20}
BATCH=${2:-64}
command -v valgrind >/dev/null || { echo "valgrind: not installed"; exit 2; }
[ -f build/Release/kindling.node ] || { echo "valgrind: build/Release/kindling.node missing; run npm run build:native"; exit 2; }
LOG=${VALGRIND_LOG:-/tmp/kindling-valgrind.log}
# OpenBLAS's own threads are fine under valgrind but slow; the native pool
# still runs with 2 threads so parallelFor's synchronisation is exercised.
export OPENBLAS_NUM_THREADS=1
# valgrind 3.19 decodes no AVX-512: OpenBLAS's SkylakeX kernels and the
# built-in GEMM's AVX-512 path would stop at SIGILL. Both step down to AVX2
# (lib/backend/native.ts leaves a user's OPENBLAS_CORETYPE alone).
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export KINDLING_SIMD=${KINDLING_SIMD:-avx2}
set +e
valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --track-origins=yes --trace-children=no \
  --suppressions=scripts/valgrind-node.supp --num-callers=30 --log-file="$LOG" \
  node --jitless --import ./test/reliability/helpers/register-ts.mjs test/reliability/helpers/train-steps.ts "$STEPS" "$BATCH"
rc=$?
set -e
grep -E "ERROR SUMMARY|suppressed:|Invalid|uninitialised|Mismatched" "$LOG" | sort | uniq -c | sort -rn | head -n 20
if [ $rc -eq 0 ]; then echo "valgrind: clean ($LOG)"; else echo "valgrind: FAILED with status $rc (log in $LOG)"; fi
exit $rc
