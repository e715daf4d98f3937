// scripts/install.cjs's message where it can neither load a binary nor
// build one, on a musl Linux (Alpine, or another musl distribution). The
// script runs in a child node with a PATH holding no tools, as a build from
// source (so the checkout's own build is not loaded), and with a preload
// that makes this machine look like musl: no glibc in process.report, and
// the /etc/os-release the case gives.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'kindling-install-script-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function installOnMusl(osRelease: string | null): { status: number | null; stderr: string } {
  const preload = join(work, `musl-${osRelease === null ? 'none' : 'alpine'}.cjs`);
  writeFileSync(
    preload,
    [
      "const fs = require('fs');",
      'const read = fs.readFileSync;',
      `const osRelease = ${JSON.stringify(osRelease)};`,
      'fs.readFileSync = function (p, ...rest) {',
      "  if (p === '/etc/os-release') {",
      "    if (osRelease === null) throw Object.assign(new Error('ENOENT: /etc/os-release'), { code: 'ENOENT' });",
      '    return osRelease;',
      '  }',
      '  return read.call(this, p, ...rest);',
      '};',
      // musl's node reports no glibc version.
      'process.report.getReport = () => ({ header: {} });',
    ].join('\n'),
  );
  const emptyBin = mkdtempSync(join(work, 'bin-'));
  const r = spawnSync(process.execPath, ['-r', preload, join(ROOT, 'scripts', 'install.cjs')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: emptyBin, npm_config_build_from_source: 'true', CXX: '', PYTHON: '', npm_config_python: '' },
  });
  return { status: r.status, stderr: r.stderr };
}

describe.runIf(process.platform === 'linux')('scripts/install.cjs on musl without a toolchain', () => {
  it("on Alpine, names musl and gives Alpine's command alone", () => {
    const r = installOnMusl('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.0\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`kindling: cannot install the native addon on linux-${process.arch} (musl)`);
    expect(r.stderr).toMatch(/lacks Python 3 \(python3\), a C\+\+17 compiler .*, make/);
    expect(r.stderr).toMatch(/Install a C\+\+ toolchain and Python 3 with:\n {4}apk add build-base python3\nthen run/);
  });

  it("on a musl system that names no known distribution, lists every distribution's command, Alpine's first", () => {
    const r = installOnMusl(null);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`linux-${process.arch} (musl)`);
    const commands = r.stderr.split('Install a C++ toolchain and Python 3 with:\n')[1].split('\nthen run')[0].split('\n');
    expect(commands[0]).toBe('    apk add build-base python3   (Alpine)');
    expect(commands.length).toBeGreaterThan(1);
    expect(commands.join('\n')).toContain('apt-get install -y build-essential python3   (Debian, Ubuntu)');
  });
});
