import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import * as F from '../../lib/nn/functional.js';
import { readFileSync } from 'node:fs';
import { buildInputs, expectTensor, resolveArgs, type Fixture } from '../helpers/fixtures.js';

// A max pool that records no graph skips the indices (native/cpu/nn.cc,
// Note [Max pooling without indices]); the fixture cases run with inputs
// that require grad, i.e. through the indices. Here the same PyTorch cases
// run under noGrad, and with plain inputs in grad mode, and must give the
// fixture's values.
const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_pool.json', import.meta.url), 'utf8')) as Fixture;
const cases = fx.cases.filter((c) => c.op === 'maxPool2d' && c.outputs !== undefined);

describe('maxPool2d without a graph matches PyTorch', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(5));
  for (const c of cases) {
    it(c.name, () => {
      const { refs } = buildInputs(c);
      const [x] = resolveArgs(c.args, refs) as torch.Tensor[];
      const { kernelSize, ...rest } = c.kwargs as { kernelSize: number | [number, number] };
      const noGrad = torch.noGrad(() => F.maxPool2d(x, kernelSize, rest));
      expect(noGrad.requiresGrad).toBe(false);
      expectTensor(noGrad, c.outputs![0], `${c.name} under noGrad`, [fx.tolerance]);
      const plain = F.maxPool2d(x.detach(), kernelSize, rest);
      expectTensor(plain, c.outputs![0], `${c.name} with an input that needs no grad`, [fx.tolerance]);
    });
  }

  it('gives the graph path values on LeNet-sized float32 and float64 batches', () => {
    torch.manualSeed(3);
    for (const [shape, dtype] of [
      [[64, 32, 28, 28], 'float32'],
      [[64, 64, 14, 14], 'float32'],
      [[4, 3, 10, 9], 'float64'],
    ] as const) {
      const x = torch.randn([...shape], { dtype });
      const fast = torch.noGrad(() => F.maxPool2d(x, 2));
      const viaGraph = F.maxPool2d(x.clone().requiresGrad_(), 2);
      expect(fast.toTypedArray()).toEqual(viaGraph.detach().toTypedArray());
    }
  });
});
