// The shapes that take conv2d's direct path (native/cpu/nn.cc, Note [Direct
// convolution]: float32 on AVX-512, small weights) against PyTorch
// (test/fixtures/conv_direct.json, made by scripts/make_conv_direct_fixtures.py):
// forward outputs and the gradients of input, weight and bias. On a CPU
// without AVX-512 the same cases check the phase-plane GEMM path.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as F from '../../lib/nn/functional.js';
import { runCase, type Case, type OpTable, type ToleranceTable } from '../helpers/fixtures.js';

const fx = JSON.parse(readFileSync(new URL('../fixtures/conv_direct.json', import.meta.url), 'utf8')) as {
  tolerance: ToleranceTable;
  cases: Case[];
};

const table: OpTable = {
  conv2d: ([x, w, b], kw) => F.conv2d(x, w, b, kw),
  conv1d: ([x, w, b], kw) => F.conv1d(x, w, b, kw),
};

describe('conv2d and conv1d on the direct path match PyTorch', () => {
  it('has float32 cases of both ops', () => {
    console.log(`conv direct cases run at simd=${torch.config().simd}`);
    expect(new Set(fx.cases.map((c) => c.op))).toEqual(new Set(['conv2d', 'conv1d']));
    expect(fx.cases.every((c) => c.inputs.every((i) => i.dtype === 'float32'))).toBe(true);
  });
  for (const c of fx.cases) {
    it(c.name, () => {
      expect.hasAssertions();
      runCase(c, table, fx);
    });
  }
});
