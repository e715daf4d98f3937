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
const fs = require('fs');

const headers = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'];
const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib', '/usr/lib64'];
const shared = libDirs.map((d) => `${d}/libopenblas.so`);
// Debian's libopenblas-dev alternatives point libopenblas.a at one of these.
const archives = [
  ...libDirs.map((d) => `${d}/libopenblas.a`),
  '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a',
  '/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.a',
];
const staticWanted = process.env.KINDLING_STATIC_BLAS === '1';
const forcedNone = process.env.KINDLING_BLAS === 'none';
const hasHeader = headers.some((p) => fs.existsSync(p));

if (process.argv.includes('--archive')) {
  const archive = process.platform === 'linux' && !forcedNone ? archives.find((p) => fs.existsSync(p)) : undefined;
  if (staticWanted && !(archive && hasHeader)) {
    console.error(
      "kindling: KINDLING_STATIC_BLAS=1 needs OpenBLAS's static library and cblas.h " +
        '(Debian/Ubuntu: apt-get install libopenblas-pthread-dev); looked for ' +
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
