// Prints the BLAS the native build should link: "openblas" when its
// header and library are installed, else "none" (the built-in GEMM).
// KINDLING_BLAS=none forces the built-in GEMM.
const fs = require('fs');
if (process.env.KINDLING_BLAS === 'none') { console.log('none'); process.exit(0); }
if (process.platform === 'darwin') { console.log('accelerate'); process.exit(0); }
const headers = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'];
const libs = ['/usr/lib/x86_64-linux-gnu/libopenblas.so', '/usr/lib/libopenblas.so', '/usr/lib64/libopenblas.so'];
const ok = headers.some((p) => fs.existsSync(p)) && libs.some((p) => fs.existsSync(p));
console.log(ok && process.platform === 'linux' ? 'openblas' : 'none');
