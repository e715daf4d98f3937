#!/usr/bin/env node
// Builds the prebuilt binary that ships in the npm tarball:
// prebuilds/<platform>-<arch>/kindling.<tags>.node, made by prebuildify
// (--napi --strip, and --tag-libc on Linux), which node-gyp-build then loads on users'
// machines so that `npm install kindling` needs no compiler.
//
// On Linux it links OpenBLAS and libstdc++ statically (KINDLING_STATIC_BLAS=1,
// see binding.gyp) with their symbols hidden, so the binary needs nothing
// beyond libc/libm/libgcc_s at run time (no libgfortran: the BLAS routines
// used pull in none of OpenBLAS's Fortran LAPACK), and checks that with ldd
// and by loading it. The glibc it needs is the build machine's (2.34 when
// built on Debian 12), so build on the oldest distribution to be supported.
//
// prebuildify runs `node-gyp rebuild`, which wipes ./build; other work
// (the dev build, tests) uses that folder, so the build runs in a copy of
// the sources in a temporary folder and only the result is copied back.
//
// Cross builds: --arch=arm64 on an x64 Linux machine builds
// prebuilds/linux-arm64/ with Debian's cross compiler (crossbuild-essential-arm64)
// against the arm64 OpenBLAS (libopenblas-pthread-dev:arm64, installed with
// `dpkg --add-architecture arm64`). ldd cannot read a foreign binary, so its
// dependencies are checked with readelf; it is loaded only when
// KINDLING_CROSS_NODE names a command that runs a node of that arch (for
// example `qemu-aarch64-static /tmp/node-arm64/bin/node`, as
// scripts/test-arm64.sh does).
//
// Usage: node scripts/prebuild.cjs [--arch=arm64] [--keep] (--keep leaves the temp folder).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const keep = process.argv.includes('--keep');
const archArg = process.argv.find((a) => a.startsWith('--arch='));
const arch = archArg ? archArg.slice('--arch='.length) : process.arch;
const cross = arch !== process.arch;
// Debian's cross toolchains by target; KINDLING_CROSS_PREFIX overrides.
const CROSS_PREFIX = { arm64: 'aarch64-linux-gnu-', x64: 'x86_64-linux-gnu-' };
// e_machine in the ELF header, to check what the compiler made.
const ELF_MACHINE = { x64: 62, arm64: 183 };
// The BLAS each platform's prebuild links (binding.gyp): OpenBLAS linked in
// on Linux, Apple's Accelerate on macOS, none on Windows (the built-in GEMM).
const EXPECTED_BLAS = { linux: 'openblas', darwin: 'accelerate', win32: 'builtin' };

// What a source build needs; the same list package.json's "files" ships.
const SOURCES = [
  'binding.gyp',
  'package.json',
  'native/binding',
  'native/common',
  'native/cpu',
  'native/cuda',
  'native/distributed',
  'scripts/detect-blas.cjs',
  'scripts/detect-gloo.cjs',
];

// Libraries the prebuilt Linux binary may depend on: present on every glibc
// system that runs Node itself.
const ALLOWED_LIBS = /^(linux-vdso|libc|libstdc\+\+|libm|libgcc_s|libpthread|libdl|ld-linux(-x86-64|-aarch64)?)\.so/;

class PrebuildError extends Error {}

// Throws rather than exits, so the temporary folder is still removed.
function die(msg) {
  throw new PrebuildError(msg);
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) die(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed with exit code ${r.status}`);
}

function copy(src, dst) {
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.cpSync(src, dst, { recursive: true });
}

const env = { ...process.env };
if (process.platform === 'linux') env.KINDLING_STATIC_BLAS = '1';
// The torch.distributed module is never prebuilt: Gloo's C++ API has no
// stable ABI, so it is compiled where libgloo-dev is installed.
env.KINDLING_GLOO = '0';
// The libc tag (glibc or musl) only where there is a choice: Linux.
const prebuildifyArgs = ['--napi', '--strip', ...(process.platform === 'linux' ? ['--tag-libc'] : [])];
let crossPrefix = '';
if (cross) {
  crossPrefix = env.KINDLING_CROSS_PREFIX ?? CROSS_PREFIX[arch] ?? '';
  if (process.platform !== 'linux' || !crossPrefix) {
    console.error(`prebuild: cross builds for ${arch} are set up for Linux hosts only (arm64 and x64 targets)`);
    process.exit(1);
  }
  const cxx = spawnSync(`${crossPrefix}g++`, ['--version'], { encoding: 'utf8' });
  if (cxx.status !== 0) {
    console.error(
      `prebuild: ${crossPrefix}g++ not found; a cross build for ${arch} needs it ` +
        `(Debian/Ubuntu: apt-get install crossbuild-essential-${arch})`,
    );
    process.exit(1);
  }
  // node-gyp's Makefile takes the target toolchain from these; --arch makes
  // it configure for the target (binding.gyp's target_arch).
  Object.assign(env, { CC: `${crossPrefix}gcc`, CXX: `${crossPrefix}g++`, LINK: `${crossPrefix}g++`, AR: `${crossPrefix}ar` });
  prebuildifyArgs.push(`--arch=${arch}`, `--strip-bin=${crossPrefix}strip`);
}
// Use the headers next to the running node when they are there (distribution
// packages and the official tarballs ship them) instead of downloading them.
const localHeaders = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
if (!env.npm_config_nodedir && fs.existsSync(path.join(localHeaders, 'node_api.h'))) {
  env.npm_config_nodedir = path.dirname(path.dirname(localHeaders));
}

// prebuildify runs node-gyp without -j; node-gyp reads the job count from npm config.
if (!env.npm_config_jobs && !env.JOBS) env.npm_config_jobs = 'max';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kindling-prebuild-'));
try {
  for (const f of SOURCES) copy(path.join(root, f), path.join(work, f));
  // node-addon-api's include dir and node-gyp come from the checkout.
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'junction');

  const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
  if (!fs.existsSync(prebuildify)) die('prebuildify is not installed; run npm install first');
  run(process.execPath, [prebuildify, ...prebuildifyArgs, '--cwd', work, '--out', work], { env });

  const tuple = `${process.platform}-${arch}`;
  const built = path.join(work, 'prebuilds', tuple);
  const files = fs.existsSync(built) ? fs.readdirSync(built).filter((f) => f.endsWith('.node')) : [];
  if (files.length !== 1) die(`expected one .node in ${built}, found ${files.length}`);
  const binary = path.join(built, files[0]);

  if (cross) verifyCross(binary);
  else verify(binary);

  const dest = path.join(root, 'prebuilds', tuple);
  fs.mkdirSync(dest, { recursive: true });
  // Drop binaries of older tag spellings so node-gyp-build has one choice.
  for (const f of fs.readdirSync(dest)) if (f.endsWith('.node')) fs.rmSync(path.join(dest, f));
  fs.copyFileSync(binary, path.join(dest, files[0]));
  const size = fs.statSync(path.join(dest, files[0])).size;
  console.log(`prebuild: wrote prebuilds/${tuple}/${files[0]} (${(size / 1048576).toFixed(1)} MB)`);
} catch (e) {
  if (!(e instanceof PrebuildError)) throw e;
  console.error(`prebuild: ${e.message}`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`prebuild: kept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
}

function verify(binary) {
  if (process.platform === 'linux') {
    const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' });
    if (ldd.status !== 0) die(`ldd ${binary} failed: ${ldd.stderr}`);
    console.log(`prebuild: ldd ${path.basename(binary)}\n${ldd.stdout.trimEnd()}`);
    const deps = ldd.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0])
      .filter(Boolean)
      .map((l) => path.basename(l));
    const extra = deps.filter((d) => !ALLOWED_LIBS.test(d) && d !== 'statically');
    if (extra.length)
      die(`the binary depends on ${extra.join(', ')}; a prebuilt binary may only need libc, libm, libgcc_s (and libstdc++)`);
  }
  // Load it in a fresh process (as node-gyp-build will) so a missing symbol
  // fails here rather than on a user's machine.
  const probe = [
    'const a = require(process.argv[1]);',
    'const c = a.config();',
    'if (typeof a.matmul !== "function") throw new Error("no matmul export");',
    'console.log(JSON.stringify(c));',
  ].join('\n');
  // lib/backend/native.ts names OpenBLAS's core type in the environment
  // before loading the addon (Note [OpenBLAS core type]); the linked-in
  // OpenBLAS must still read it when the .node loads: naming the Haswell
  // core here must show up as the core OpenBLAS reports.
  const probeEnv = { ...env };
  let avx2 = false;
  if (process.platform === 'linux' && process.arch === 'x64') {
    const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
    avx2 = /\bavx2\b/.test(flags) && /\bfma\b/.test(flags);
    if (avx2) probeEnv.OPENBLAS_CORETYPE = 'Haswell';
  }
  const r = spawnSync(process.execPath, ['-e', probe, binary], { encoding: 'utf8', env: probeEnv });
  if (r.status !== 0) die(`the built binary does not load:\n${r.stderr}`);
  const config = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(`prebuild: loads; config() = ${JSON.stringify(config)}${avx2 ? ' with OPENBLAS_CORETYPE=Haswell' : ''}`);
  const blas = EXPECTED_BLAS[process.platform];
  if (blas && config.blas !== blas) die(`expected the ${process.platform} prebuild's GEMM to be ${blas}, it reports blas=${config.blas}`);
  if (avx2 && blas === 'openblas' && !/haswell/i.test(config.blasCore ?? ''))
    die(`OPENBLAS_CORETYPE=Haswell did not reach the linked-in OpenBLAS (it reports core ${JSON.stringify(config.blasCore)})`);
  if (arch === 'arm64' && config.simd !== 'neon') die(`expected the arm64 build's GEMM to use NEON, it reports simd=${config.simd}`);
}

// A binary for another arch: its ELF header and dynamic section are read
// instead of running ldd, and it is loaded only by a node of its own arch.
function verifyCross(binary) {
  const header = fs.readFileSync(binary).subarray(0, 20);
  const machine = header.readUInt16LE(18);
  if (header.toString('latin1', 1, 4) !== 'ELF' || machine !== ELF_MACHINE[arch]) {
    die(`${binary} is not an ELF binary for ${arch} (e_machine ${machine})`);
  }
  const readelf = spawnSync(`${crossPrefix}readelf`, ['-d', binary], { encoding: 'utf8' });
  if (readelf.status !== 0) die(`${crossPrefix}readelf -d ${binary} failed: ${readelf.stderr}`);
  const deps = [...readelf.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  console.log(`prebuild: ${path.basename(binary)} needs ${deps.join(', ')}`);
  const extra = deps.filter((d) => !ALLOWED_LIBS.test(d));
  if (extra.length) die(`the binary depends on ${extra.join(', ')}; a prebuilt binary may only need libc, libm, libgcc_s (and libstdc++)`);
  const runner = (env.KINDLING_CROSS_NODE ?? '').trim().split(/\s+/).filter(Boolean);
  if (runner.length === 0) {
    console.log(`prebuild: not loaded (set KINDLING_CROSS_NODE to a command that runs an ${arch} node to check that)`);
    return;
  }
  const probe = ['const c = require(process.argv[1]).config();', 'console.log(JSON.stringify(c));'].join('\n');
  const r = spawnSync(runner[0], [...runner.slice(1), '-e', probe, binary], { encoding: 'utf8', env });
  if (r.status !== 0) die(`the built binary does not load under ${runner.join(' ')}:\n${r.stderr}`);
  const config = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(`prebuild: loads under ${runner.join(' ')}; config() = ${JSON.stringify(config)}`);
  if (config.blas !== 'openblas') die(`expected the Linux prebuild to use OpenBLAS, it reports blas=${config.blas}`);
  if (arch === 'arm64' && config.simd !== 'neon') die(`expected the arm64 build's GEMM to use NEON, it reports simd=${config.simd}`);
}
