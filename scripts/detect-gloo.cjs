// Prints 1 when Gloo's headers and shared library are installed (Debian/
// Ubuntu: apt-get install libgloo-dev), else 0: binding.gyp then builds
// the torch.distributed module (build/Release/kindling_dist.node) beside
// the main addon, which never links Gloo. KINDLING_GLOO=0 skips it.
//
// Gloo's C++ API has no stable ABI, so the module is always compiled
// against the headers found here, never shipped prebuilt.
const fs = require('fs');

const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const triplet = MULTIARCH[process.arch] ?? MULTIARCH.x64;
const includeDirs = ['/usr/include', '/usr/local/include'];
const libDirs = [`/usr/lib/${triplet}`, '/usr/lib', '/usr/local/lib', '/usr/lib64'];

function found() {
  if (process.env.KINDLING_GLOO === '0' || process.platform !== 'linux') return false;
  const header = includeDirs.some((d) => fs.existsSync(`${d}/gloo/allreduce.h`));
  const lib = libDirs.some((d) => fs.existsSync(`${d}/libgloo.so`));
  return header && lib;
}

console.log(found() ? 1 : 0);
