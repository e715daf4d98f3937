// Prints the BLAS the native build should link: "openblas" when its
// header and library are installed, else "none" (the built-in GEMM).
// KINDLING_BLAS=none forces the built-in GEMM.
//
// With --archive it prints the path of OpenBLAS's static archive (or
// nothing): binding.gyp links it instead of libopenblas.so when
// kindling_static_blas is 1, which is how the prebuilt binaries are made
// (scripts/prebuild.cjs), so that they need no OpenBLAS on the user's machine.
// KINDLING_STATIC_BLAS=1 makes a missing archive an error rather than a
// silently slower or unloadable build.
//
// --arch=ARCH (binding.gyp passes node-gyp's target_arch) picks the Debian
// multiarch folders: a cross build for arm64 on an x64 machine links the
// arm64 OpenBLAS (libopenblas-pthread-dev:arm64), not the machine's own.
// Without it, the running node's arch.
const fs = require('fs');

const archArg = process.argv.find((a) => a.startsWith('--arch='));
const arch = archArg ? archArg.slice('--arch='.length) : process.arch;
const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const triplet = MULTIARCH[arch] ?? MULTIARCH.x64;
// The folders without a triplet hold the machine's own libraries, so a
// cross build looks only in the target's multiarch folders.
const cross = arch !== process.arch;

const headers = [`/usr/include/${triplet}/cblas.h`, ...(cross ? [] : ['/usr/include/cblas.h', '/usr/include/openblas/cblas.h'])];
const libDirs = [`/usr/lib/${triplet}`, ...(cross ? [] : ['/usr/lib', '/usr/lib64'])];
const shared = libDirs.map((d) => `${d}/libopenblas.so`);
// Debian's libopenblas-dev alternatives point libopenblas.a at one of these.
const archives = [
  ...libDirs.map((d) => `${d}/libopenblas.a`),
  `/usr/lib/${triplet}/openblas-pthread/libopenblas.a`,
  `/usr/lib/${triplet}/openblas-openmp/libopenblas.a`,
];
const staticWanted = process.env.KINDLING_STATIC_BLAS === '1';
const forcedNone = process.env.KINDLING_BLAS === 'none';
const hasHeader = headers.some((p) => fs.existsSync(p));

if (process.argv.includes('--archive')) {
  const archive = process.platform === 'linux' && !forcedNone ? archives.find((p) => fs.existsSync(p)) : undefined;
  if (staticWanted && !(archive && hasHeader)) {
    console.error(
      "kindling: KINDLING_STATIC_BLAS=1 needs OpenBLAS's static library and cblas.h " +
        `(Debian/Ubuntu: apt-get install libopenblas-pthread-dev${cross ? ':' + arch : ''}); looked for ` +
        archives.join(', '),
    );
    process.exit(1);
  }
  console.log(archive ?? '');
  process.exit(0);
}

if (forcedNone) {
  console.log('none');
  process.exit(0);
}
if (process.platform === 'darwin') {
  console.log('accelerate');
  process.exit(0);
}
const lib = staticWanted ? archives.some((p) => fs.existsSync(p)) : shared.some((p) => fs.existsSync(p));
console.log(hasHeader && lib && process.platform === 'linux' ? 'openblas' : 'none');
