// Every way a user gets Kindling from its repository, each checked from an
// ES module, from CommonJS and from strict TypeScript (skipLibCheck off):
//  - a fresh clone after `npm install` (the package imports itself by name),
//  - `npm link` of that clone into an empty project,
//  - a `file:` dependency on that clone,
//  - a git dependency (git+file:// of a repository holding this working tree),
// and, with no prebuilt binary and no compiler or Python on PATH, the packed
// tarball's install fails with Kindling's own message.
//
// Slow (two native builds and several npm installs, minutes): not part of `npm test`.
// `npm run test:install` runs it (KINDLING_TEST_INSTALL=1), and .ci/run
// calls that. The tarball with the prebuilt binary is test/package/package.test.ts's.
// npm installs from its cache first (--prefer-offline); without the cache
// or the registry, the tests skip and say why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type SpawnOptions } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENABLED = process.env.KINDLING_TEST_INSTALL === '1';
if (!ENABLED) console.log('install paths: skipped in `npm test` (minutes: native builds); run `npm run test:install`');

// Asynchronous: a worker blocked in spawnSync for minutes misses vitest's RPC deadlines.
function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<{ code: number; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env, ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, out }));
  });
}

async function must(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${String(opts.cwd ?? '.')}) exited ${r.code}:\n${r.out.slice(-6000)}`);
  return r.out;
}

/** The npm CLI's JS entry, found from PATH like a shell would. */
function npmCli(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'npm');
    if (dir && existsSync(p)) return realpathSync(p);
  }
  throw new Error('install paths: npm is not on PATH');
}

// The environment of every command: this one without what an enclosing
// `npm run` set (npm reads npm_config_* as its own settings, and
// _PACOTE_NO_PREPARE_ marks a git dependency's preparation), and with npm's
// global prefix (where `npm link` writes) in the work folder.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$|_PACOTE_)/i.test(k)));
if (process.env.npm_config_registry) env.npm_config_registry = process.env.npm_config_registry;
env.npm_config_audit = 'false';
env.npm_config_fund = 'false';
env.npm_config_update_notifier = 'false';

const NET_ERROR = /\b(ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\b/;

let work = '';
let origin = '';
let clone = '';
let skipReason = '';

async function npm(args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  return must(process.execPath, [npmCli(), ...args], { cwd, env: { ...env, ...extraEnv } });
}

/** An npm install that needs packages: a network failure becomes a skip reason instead of a failure. */
async function npmInstall(args: string[], cwd: string): Promise<boolean> {
  const r = await run(process.execPath, [npmCli(), 'install', '--prefer-offline', ...args], { cwd });
  if (r.code === 0) return true;
  const net = r.out.match(NET_ERROR);
  if (net) {
    skipReason = `npm could not reach the registry and the cache lacks a package (${net[1]})`;
    console.warn(`install paths: skipped: ${skipReason}:\n${r.out.slice(-2000)}`);
    return false;
  }
  throw new Error(`npm install ${args.join(' ')} (in ${cwd}) exited ${r.code}:\n${r.out.slice(-6000)}`);
}

function emptyProject(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  return dir;
}

// Both import forms and both module systems share one instance; a matmul
// and a gradient check that the addon runs.
const ESM = `import torch from 'kindling';
import * as ns from 'kindling';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const cjs = createRequire(import.meta.url)('kindling');
const x = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
const w = ns.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
w.mul(w).sum().backward();
console.log(JSON.stringify({
  matmul: x.matmul(x).tolist(),
  grad: w.grad.tolist(),
  defaultIsRequire: torch === cjs,
  sameClass: ns.Tensor === torch.Tensor && ns.Tensor === cjs.Tensor,
  resolved: fileURLToPath(import.meta.resolve('kindling')),
}));
`;
const CJS = `const torch = require('kindling');
const w = torch.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
w.mul(w).sum().backward();
console.log(JSON.stringify({
  matmul: torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' }).matmul(torch.eye(2)).tolist(),
  grad: w.grad.tolist(),
  defaultIsRequire: torch.default === torch,
  resolved: require.resolve('kindling'),
}));
`;
// Typed use through the default import, the namespace import and
// `import = require`; an internal member must not type-check.
const TS_ESM = `import torch from 'kindling';
import * as ns from 'kindling';
import { nn, type Tensor } from 'kindling';
const x: torch.Tensor = torch.randn([4, 3]);
const model: nn.Module = new torch.nn.Linear(3, 2);
const opt = new ns.optim.SGD(model.parameters(), { lr: 0.1 });
const loss: Tensor = (model as ns.nn.Linear).forward(x).sum();
loss.backward();
opt.step();
const v: number = loss.item();
const shape: readonly number[] = x.shape;
// @ts-expect-error _storage is internal, stripped from the shipped types
void x._storage;
export { v, shape };
`;
const TS_CJS = `import torch = require('kindling');
import def from 'kindling';
const x: torch.Tensor = torch.zeros([2, 2]);
const y: def.Tensor = def.ones([2]);
const v: number = x.sum().item() + y.sum().item();
export = v;
`;

/** Runs the ES, CommonJS and TypeScript consumers in dir; returns where `kindling` resolved from each module system. */
async function useFrom(dir: string): Promise<{ esm: string; cjs: string }> {
  const check = join(dir, 'install-check');
  mkdirSync(check, { recursive: true });
  writeFileSync(join(check, 'use.mjs'), ESM);
  writeFileSync(join(check, 'use.cjs'), CJS);
  const esm = JSON.parse((await must(process.execPath, ['use.mjs'], { cwd: check })).trim().split('\n').pop()!) as Record<string, unknown>;
  expect(esm).toMatchObject({
    matmul: [
      [7, 10],
      [15, 22],
    ],
    grad: [2, 4, 6],
    defaultIsRequire: true,
    sameClass: true,
  });
  const cjs = JSON.parse((await must(process.execPath, ['use.cjs'], { cwd: check })).trim().split('\n').pop()!) as Record<string, unknown>;
  expect(cjs).toMatchObject({
    matmul: [
      [1, 2],
      [3, 4],
    ],
    grad: [2, 4, 6],
    defaultIsRequire: true,
  });

  writeFileSync(join(check, 'esm.mts'), TS_ESM);
  writeFileSync(join(check, 'cjs.cts'), TS_CJS);
  writeFileSync(
    join(check, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        esModuleInterop: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      files: ['esm.mts', 'cjs.cts'],
    }),
  );
  const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  const r = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: check });
  expect(r.out).toBe('');
  expect(r.code).toBe(0);
  return { esm: realpathSync(esm.resolved as string), cjs: realpathSync(cjs.resolved as string) };
}

describe.skipIf(!ENABLED)('install paths', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kindling-install-paths-'));
    // A repository holding this working tree as one commit: what a clone
    // or a git dependency of the tree under test gets.
    origin = join(work, 'origin');
    const files = (await must('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }))
      .split('\0')
      .filter((f) => f && existsSync(join(ROOT, f)));
    for (const f of files) cpSync(join(ROOT, f), join(origin, f));
    const git = (args: string[], cwd: string) =>
      must('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd });
    await git(['init', '-q'], origin);
    await git(['add', '-A'], origin);
    await git(['commit', '-q', '-m', 'the working tree'], origin);
    clone = join(work, 'clone');
    await git(['clone', '-q', origin, clone], work);
    await npmInstall([], clone);
  }, 30 * 60_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('a fresh clone after `npm install`', () => {
    it('builds what "exports" names, the types and the addon', ({ skip }) => {
      if (skipReason) skip();
      for (const f of [
        'dist/cjs/index.js',
        'dist/cjs/index.d.ts',
        'dist/esm/index.js',
        'dist/esm/index.d.ts',
        'build/Release/kindling.node',
      ]) {
        expect(existsSync(join(clone, f)), f).toBe(true);
      }
    });

    it(
      'imports itself by name from ESM, CommonJS and TypeScript',
      async ({ skip }) => {
        if (skipReason) skip();
        const where = await useFrom(clone);
        expect(where).toEqual({ esm: join(clone, 'dist/esm/index.js'), cjs: join(clone, 'dist/cjs/index.js') });
      },
      10 * 60_000,
    );

    it(
      'a second `npm install` leaves the CommonJS build alone',
      async ({ skip }) => {
        if (skipReason) skip();
        const out = await npm(['install', '--prefer-offline', '--foreground-scripts'], clone);
        expect(out).toContain('build-cjs: dist/cjs and dist/esm are up to date');
      },
      10 * 60_000,
    );

    it('the shipped types show no internal (_-prefixed) member', async ({ skip }) => {
      if (skipReason) skip();
      expect(await internalNames(join(clone, 'dist/cjs/index.d.ts'))).toEqual([]);
    }, 180_000);
  });

  it(
    '`npm link` of the clone',
    async ({ skip }) => {
      if (skipReason) skip();
      const prefix = join(work, 'global');
      const app = emptyProject('link');
      // Through the environment: --prefix on the command line would also move the project folder.
      await npm(['link'], clone, { npm_config_prefix: prefix });
      await npm(['link', 'kindling'], app, { npm_config_prefix: prefix });
      expect(await useFrom(app)).toEqual({ esm: join(clone, 'dist/esm/index.js'), cjs: join(clone, 'dist/cjs/index.js') });
    },
    10 * 60_000,
  );

  it(
    'a file: dependency on the clone',
    async ({ skip }) => {
      if (skipReason) skip();
      const app = emptyProject('file');
      await npm(['install', '--prefer-offline', `file:${relative(app, clone)}`], app);
      expect(await useFrom(app)).toEqual({ esm: join(clone, 'dist/esm/index.js'), cjs: join(clone, 'dist/cjs/index.js') });
    },
    10 * 60_000,
  );

  it(
    'a git dependency (git+file://): prepared, packed and built where it is installed',
    async ({ skip }) => {
      if (skipReason) skip();
      const app = emptyProject('git');
      if (!(await npmInstall([`git+file://${origin}`], app))) skip();
      const pkg = realpathSync(join(app, 'node_modules', 'kindling'));
      expect(pkg).toBe(join(realpathSync(app), 'node_modules', 'kindling'));
      expect(existsSync(join(pkg, 'build/Release/kindling.node'))).toBe(true);
      expect(existsSync(join(pkg, 'dist/esm/index.d.ts'))).toBe(true);
      expect(await useFrom(app)).toEqual({ esm: join(pkg, 'dist/esm/index.js'), cjs: join(pkg, 'dist/cjs/index.js') });
    },
    30 * 60_000,
  );

  it(
    'with no prebuilt binary and no toolchain, the install stops with what to do',
    async ({ skip }) => {
      if (skipReason) skip();
      await npm(['pack', '--pack-destination', work], clone);
      const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
      // Only node, npm and sh: no compiler, make or Python.
      const bin = join(work, 'bin');
      mkdirSync(bin);
      symlinkSync(process.execPath, join(bin, 'node'));
      writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli()}" "$@"\n`);
      chmodSync(join(bin, 'npm'), 0o755);
      symlinkSync(realpathSync('/bin/sh'), join(bin, 'sh'));
      const app = emptyProject('bare');
      const r = await run(join(bin, 'npm'), ['install', '--prefer-offline', join(work, tgz)], {
        cwd: app,
        env: { ...env, PATH: bin, CXX: '', PYTHON: '' },
      });
      if (NET_ERROR.test(r.out)) skip();
      expect(r.code).not.toBe(0);
      expect(r.out).toContain(`kindling: cannot install the native addon on ${process.platform}-${process.arch}`);
      expect(r.out).toMatch(/a prebuilt binary for .*: none in this package \(it has no prebuilds\/\)/);
      expect(r.out).toMatch(/a source build with node-gyp: not started, this machine lacks Python 3 \(python3\), a C\+\+17 compiler/);
      expect(r.out).toContain('npm rebuild kindling');
      expect(r.out).toContain('"Building from source"');
      if (process.platform === 'linux') expect(r.out).toMatch(/apt-get install -y build-essential python3|apk add|dnf install/);
      // npm's own node-gyp never ran: its "could not find Python" is not the message.
      expect(r.out).not.toMatch(/gyp ERR!/);
    },
    10 * 60_000,
  );
});

/**
 * Public names starting with `_` that a user of the types at `entry` reaches: members of the namespace, of
 * plain-object namespaces (torch.utils.data), and of every class in them (static and instance side).
 */
async function internalNames(entry: string): Promise<string[]> {
  // Loaded here: `npm test` skips this file, and the compiler takes seconds to load.
  const ts = (await import('typescript')).default;
  const program = ts.createProgram([entry], {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const found = new Set<string>();
  const seen = new Set<TS.Type>();
  const hidden = ts.ModifierFlags.Private | ts.ModifierFlags.Protected;
  const members = (path: string, type: TS.Type) => {
    for (const p of checker.getPropertiesOfType(type)) {
      const decl = p.valueDeclaration ?? p.declarations?.[0];
      if (decl && ts.getCombinedModifierFlags(decl) & hidden) continue;
      if (/^_[^_]/.test(p.getName())) found.add(`${path}.${p.getName()}`);
    }
  };
  const visit = (path: string, type: TS.Type): void => {
    if (seen.has(type)) return;
    seen.add(type);
    members(path, type);
    for (const sig of type.getConstructSignatures()) members(`${path}#`, sig.getReturnType());
    const namespace = ((type.getSymbol()?.flags ?? 0) & ts.SymbolFlags.ValueModule) !== 0;
    const objectLiteral = type.flags & ts.TypeFlags.Object && (type as TS.ObjectType).objectFlags & ts.ObjectFlags.ObjectLiteral;
    if (!namespace && !objectLiteral) return;
    for (const p of checker.getPropertiesOfType(type)) visit(`${path}.${p.getName()}`, checker.getTypeOfSymbol(p));
  };
  visit('torch', checker.getTypeOfSymbol(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!));
  return [...found].sort();
}
