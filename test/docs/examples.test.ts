// The documentation's programs, run against this checkout's sources: the
// `js` blocks of docs/getting-started.md must print its `text` blocks, and
// examples/package/ must run. Each imports 'kindling' as a user's code does;
// here that one import is pointed at lib/index.ts and the TypeScript sources
// run through the test loader hooks. test/package/ runs the same programs
// unchanged against the installed tarball.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { pageProgram } from '../helpers/docs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOOKS = join(ROOT, 'test', 'reliability', 'helpers', 'register-ts.mjs');

let work = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kindling-docs-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs a program that imports 'kindling' once, against the sources, in a fresh folder; its stdout. */
async function runAgainstSources(name: string, code: string): Promise<string> {
  const imports = code.match(/from 'kindling'/g) ?? [];
  expect(imports, `${name} should import 'kindling' exactly once`).toHaveLength(1);
  const dir = mkdtempSync(join(work, 'run-'));
  const file = join(dir, name);
  writeFileSync(file, code.replace("from 'kindling'", `from '${pathToFileURL(join(ROOT, 'lib', 'index.ts')).href}'`));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', pathToFileURL(HOOKS).href, file], {
    cwd: dir,
    timeout: 120_000,
  });
  return stdout;
}

describe('docs/getting-started.md', () => {
  const page = readFileSync(join(ROOT, 'docs', 'getting-started.md'), 'utf8');

  it('shows a program and what it prints', () => {
    const { code, expected } = pageProgram(page);
    expect(code).toMatch(/^import \* as torch from 'kindling';/);
    expect(expected.split('\n').length).toBeGreaterThan(10);
  });

  it('prints what the page says it prints', async () => {
    const { code, expected } = pageProgram(page);
    expect(await runAgainstSources('getting-started.mjs', code)).toBe(expected);
  }, 120_000);
});

describe('examples/package', () => {
  it('regression.mjs fits sin(x) and its checkpoint restores the same model', async () => {
    const out = await runAgainstSources('regression.mjs', readFileSync(join(ROOT, 'examples', 'package', 'regression.mjs'), 'utf8'));
    const m = out.match(/^final mse (\S+); checkpoint of epoch 100 restores the same predictions: (true|false)$/m);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(1e-3);
    expect(m![2]).toBe('true');
  }, 120_000);
});
