// The documentation that ships: README.md, LICENSE and docs/ are in the npm
// package, and every relative link in README.md and docs/ names a file the
// package holds, so the docs read whole from node_modules/kindling and on
// the registry's page. The list is npm's own (`npm pack --dry-run --json`,
// which applies "files" and npm's always-included files); scripts are
// skipped, since only the list matters and the build does not touch docs/.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { headingAnchors, isExternal, linkTargets } from '../helpers/docs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function npmCli(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'npm');
    if (dir && existsSync(p)) return realpathSync(p);
  }
  throw new Error('docs package test: npm is not on PATH');
}

let shipped: Set<string>;
beforeAll(async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [npmCli(), 'pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
  shipped = new Set(pack.files.map((f) => f.path));
}, 120_000);

/** The shipped Markdown pages that the package's readers see: README.md and everything under docs/. */
const pages = (): string[] => [...shipped].filter((p) => p === 'README.md' || (p.startsWith('docs/') && p.endsWith('.md'))).sort();

describe('the documentation in the npm package', () => {
  it('ships README.md, LICENSE, the getting-started page and the API reference, and no typedoc site', () => {
    for (const p of ['README.md', 'LICENSE', 'docs/getting-started.md', 'docs/api/README.md', 'docs/api/torch.md', 'docs/api/nn.md']) {
      expect(shipped, `the package lacks ${p}`).toContain(p);
    }
    expect([...shipped].filter((p) => p.startsWith('docs/site/'))).toEqual([]);
  });

  it('LICENSE is the license package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license?: string };
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
  });

  it('every relative link in README.md and docs/ names a file in the package (and a heading there, for an anchor)', () => {
    const broken: string[] = [];
    for (const page of pages()) {
      const text = readFileSync(join(ROOT, page), 'utf8');
      for (const target of linkTargets(text)) {
        if (isExternal(target)) continue; // the next test refuses these
        const [path, anchor] = target.split('#', 2);
        const file = path === '' ? page : posix.normalize(posix.join(posix.dirname(page), decodeURI(path)));
        if (!shipped.has(file)) {
          broken.push(`${page}: ${target} (${file} is not in the package)`);
        } else if (anchor && file.endsWith('.md') && !headingAnchors(readFileSync(join(ROOT, file), 'utf8')).has(anchor)) {
          broken.push(`${page}: ${target} (${file} has no heading #${anchor})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('README.md and docs/ link to nothing outside the package', () => {
    const external = pages().flatMap((page) =>
      linkTargets(readFileSync(join(ROOT, page), 'utf8'))
        .filter(isExternal)
        .map((t) => `${page}: ${t}`),
    );
    expect(external).toEqual([]);
  });

  it('the pages have links to check (the reader finds them)', () => {
    const readme = linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(readme).toContain('docs/getting-started.md');
    expect(readme).toContain('docs/api/README.md');
    expect(linkTargets(readFileSync(join(ROOT, 'docs/getting-started.md'), 'utf8'))).toContain('api/README.md');
  });
});
