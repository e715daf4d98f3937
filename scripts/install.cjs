#!/usr/bin/env node
// The package's install script. In order:
//  1. a binary that loads: build/Release (a source build already made here) or
//     the prebuilt one in prebuilds/ that node-gyp-build picks for this
//     platform, architecture and libc; nothing to do;
//  2. otherwise a source build with node-gyp, once Python 3, a C++ compiler
//     and make are found (node-gyp itself finds Visual Studio on Windows);
//  3. otherwise, or when the build fails, a message that says what was
//     tried, the command that installs the tools on this system and where
//     the source build is described, and exit status 1.
// `npm install --build-from-source` (or npm_config_build_from_source=true)
// skips step 1, as with node-gyp-build.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const DOCS = 'README.md, section "Building from source" (in node_modules/kindling/README.md once installed)';

function glibcVersion() {
  if (process.platform !== 'linux') return null;
  try {
    return process.report.getReport().header.glibcVersionRuntime ?? null;
  } catch {
    return null;
  }
}

function libc() {
  if (process.platform !== 'linux') return null;
  const glibc = glibcVersion();
  if (glibc) return `glibc ${glibc}`;
  // node-gyp-build calls a Linux without glibc musl as well (it checks /etc/alpine-release).
  return 'musl';
}

function platformLine() {
  const c = libc();
  const napi = process.versions.napi ? `, N-API ${process.versions.napi}` : '';
  return `${process.platform}-${process.arch}${c ? ` (${c})` : ''}, Node ${process.version}${napi}`;
}

/** An executable file of that name on PATH (with PATHEXT on Windows), or null. */
function which(name) {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT || '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = path.join(dir, name + ext);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        if (fs.statSync(p).isFile()) return p;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** The first word of a command given in an environment variable (CXX='ccache g++' names ccache). */
function commandOf(value) {
  const word = (value || '').trim().split(/\s+/)[0];
  if (!word) return null;
  return path.isAbsolute(word) ? (fs.existsSync(word) ? word : null) : which(word);
}

/** What a node-gyp build needs and lacks here, as a list of short descriptions (empty: all found). */
function missingTools() {
  const missing = [];
  const python =
    commandOf(process.env.npm_config_python) ||
    commandOf(process.env.PYTHON) ||
    which('python3') ||
    which('python') ||
    (process.platform === 'win32' ? which('py') : null);
  if (!python) missing.push('Python 3 (python3)');
  if (process.platform === 'win32') return missing; // node-gyp finds Visual Studio through its own search
  if (process.platform === 'darwin') {
    // /usr/bin/c++ and make exist on every Mac, as stubs until the command line tools are installed.
    const r = spawnSync('xcode-select', ['-p'], { stdio: 'ignore' });
    if (r.status !== 0) missing.push('the Xcode command line tools (C++ compiler and make)');
    return missing;
  }
  if (!(commandOf(process.env.CXX) || which('c++') || which('g++') || which('clang++')))
    missing.push('a C++17 compiler (c++, g++ or clang++)');
  const bsd = /bsd$/.test(process.platform);
  if (!(bsd ? which('gmake') : which('make'))) missing.push(bsd ? 'GNU make (gmake)' : 'make');
  return missing;
}

function osRelease() {
  try {
    const text = fs.readFileSync('/etc/os-release', 'utf8');
    const get = (k) => (text.match(new RegExp(`^${k}="?([^"\\n]*)"?`, 'm')) || [])[1] || '';
    return `${get('ID')} ${get('ID_LIKE')}`.toLowerCase().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** The commands that install a C++ toolchain and Python here, as lines "command  (where)". */
function toolchainCommands() {
  switch (process.platform) {
    case 'darwin':
      return ['xcode-select --install'];
    case 'win32':
      return [
        'winget install Microsoft.VisualStudio.2022.BuildTools --override "--passive --add Microsoft.VisualStudio.Workload.VCTools --includeRecommended"',
        'winget install Python.Python.3.12',
        '(or the Visual Studio Installer: Build Tools with "Desktop development with C++", and Python from python.org)',
      ];
    case 'freebsd':
    case 'openbsd':
      return ['pkg install python3 gmake'];
    case 'linux':
      break;
    default:
      return ['install Python 3, make and a C++17 compiler with the system package manager'];
  }
  const byDistro = [
    [['alpine'], 'apk add build-base python3', 'Alpine'],
    [['debian', 'ubuntu'], 'apt-get install -y build-essential python3', 'Debian, Ubuntu'],
    [['fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'amzn'], 'dnf install -y gcc-c++ make python3', 'Fedora, RHEL, Amazon Linux'],
    [['suse', 'opensuse', 'sles'], 'zypper install -y gcc-c++ make python3', 'openSUSE, SLES'],
    [['arch'], 'pacman -S --needed base-devel python', 'Arch'],
  ];
  const ids = osRelease();
  const mine = byDistro.find(([names]) => names.some((n) => ids.includes(n)));
  if (mine) return [mine[1]];
  return byDistro.map(([, cmd, where]) => `${cmd}   (${where})`);
}

/** The prebuilt binaries this package carries, as "linux-x64/kindling.glibc.node" lines. */
function prebuildsHere() {
  const dir = path.join(root, 'prebuilds');
  const out = [];
  for (const tuple of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const sub = path.join(dir, tuple);
    if (!fs.statSync(sub).isDirectory()) continue;
    for (const f of fs.readdirSync(sub)) if (f.endsWith('.node')) out.push(`${tuple}/${f}`);
  }
  return out;
}

function fail(tried) {
  const lines = [
    '',
    `kindling: cannot install the native addon on ${platformLine()}.`,
    'Tried:',
    ...tried.map((t) => `  - ${t}`),
    'Install a C++ toolchain and Python 3 with:',
    ...toolchainCommands().map((c) => `    ${c}`),
    'then run `npm rebuild kindling` (or `npm install` again).',
    `The source build (and linking OpenBLAS) is described in ${DOCS}.`,
    '',
  ];
  console.error(lines.join('\n'));
  process.exit(1);
}

function nodeGypCommand() {
  // The project's own node-gyp (a devDependency in a checkout), else the one
  // npm runs scripts with (npm sets npm_config_node_gyp), else PATH's.
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] })];
  } catch {
    // not installed here
  }
  const npmGyp = process.env.npm_config_node_gyp;
  if (npmGyp && fs.existsSync(npmGyp)) return [process.execPath, npmGyp];
  const onPath = which('node-gyp');
  return onPath ? [onPath] : null;
}

function main() {
  const tried = [];
  const fromSource = process.env.npm_config_build_from_source === 'true';

  // A git dependency is prepared in a clone of its repository (`npm install`
  // there, then `prepare`), packed without build/, and installed again: that
  // second install builds the addon, so a build in the clone is thrown away.
  // pacote marks the clone's install with _PACOTE_NO_PREPARE_; INIT_CWD is
  // this package only when it is the project being installed, not a dependency.
  if (process.env._PACOTE_NO_PREPARE_ && process.env.INIT_CWD && path.resolve(process.env.INIT_CWD) === root) {
    console.log('kindling: preparing a git dependency; the addon is built where the package is installed');
    return;
  }

  if (!fromSource) {
    const have = prebuildsHere();
    try {
      const file = require('node-gyp-build').resolve(root);
      try {
        require(file);
        return; // loads: nothing to build
      } catch (e) {
        tried.push(`loading ${path.relative(root, file)}: ${String(e.message).split('\n')[0]}`);
      }
    } catch {
      tried.push(
        `a prebuilt binary for ${process.platform}-${process.arch}${libc() ? ` (${libc().split(' ')[0]})` : ''}: none in this package` +
          (have.length ? ` (it has ${have.join(', ')})` : ' (it has no prebuilds/)'),
      );
    }
  }

  const missing = missingTools();
  if (missing.length) {
    tried.push(`a source build with node-gyp: not started, this machine lacks ${missing.join(', ')}`);
    fail(tried);
  }
  const gyp = nodeGypCommand();
  if (!gyp) {
    tried.push('a source build with node-gyp: node-gyp was not found (npm gives install scripts its own)');
    fail(tried);
  }
  const args = ['rebuild'];
  if (!process.env.JOBS) args.push('--jobs=max');
  console.log(`kindling: building the native addon from source (${platformLine()}): node-gyp ${args.join(' ')}`);
  const r = spawnSync(gyp[0], [...gyp.slice(1), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status === 0) return;
  const how = r.error ? r.error.message : `exited with status ${r.status}`;
  tried.push(`a source build with node-gyp: ${how} (its output is above; the compiler must support C++17)`);
  fail(tried);
}

main();
