// Under noGrad, nn.Sequential runs a plain Conv2d and the plain ReLU after it
// as one convolution kernel that writes the relu of its result (Note
// [Conv-ReLU fusion], lib/ops/nn.ts). What must hold: the very values of the
// two layers run one by one, on every path the native convolution takes
// (direct for small float maps, phase planes for strided ones, im2col + GEMM
// for the rest and for float64), NaN passing through as in relu; and no
// fusion where the ReLU could be seen (hooks), where a graph is built, or
// where the layers are not exactly those two.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/index.js';

const bits = (t: Tensor) => Array.from(new Uint32Array((t.contiguous().toTypedArray() as Float32Array).slice().buffer));

/** The Sequential's output under noGrad, each layer's outputs called one by one, and how many ReLU forwards ran. */
function compare(seq: nn.Sequential, x: Tensor): { fused: Tensor; plain: Tensor; reluCalls: number } {
  const spy = vi.spyOn(nn.ReLU.prototype, 'forward');
  const fused = torch.noGrad(() => seq(x) as Tensor);
  const reluCalls = spy.mock.calls.length;
  spy.mockRestore();
  const plain = torch.noGrad(() => {
    let y: Tensor = x;
    for (const m of seq.children()) y = m(y) as Tensor;
    return y;
  });
  return { fused, plain, reluCalls };
}

afterEach(() => vi.restoreAllMocks());

describe('Conv2d then ReLU in an nn.Sequential under noGrad', () => {
  it('gives the layers values bit for bit on each convolution path, and runs no ReLU forward', () => {
    torch.manualSeed(0);
    const nets: [string, nn.Sequential, Tensor][] = [
      // the seed CNN's strided convolutions (direct path on AVX-512, else phase planes)
      [
        'strided',
        new nn.Sequential(
          new nn.Conv2d(1, 16, 3, { stride: 2, padding: 1 }),
          new nn.ReLU(),
          new nn.Conv2d(16, 16, 3, { stride: 2, padding: 1 }),
          new nn.ReLU(),
        ),
        torch.randn([8, 1, 28, 28]),
      ],
      // LeNet's (stride 1, 32 -> 64 channels), no bias on the second
      [
        'lenet',
        new nn.Sequential(
          new nn.Conv2d(1, 32, 3, { padding: 1 }),
          new nn.ReLU(),
          new nn.Conv2d(32, 64, 3, { padding: 1, bias: false }),
          new nn.ReLU(),
        ),
        torch.randn([4, 1, 14, 14]),
      ],
      // a large map: one image at a time through im2col + GEMM; a pointwise one
      [
        'large',
        new nn.Sequential(new nn.Conv2d(3, 8, 5, { padding: 2 }), new nn.ReLU(), new nn.Conv2d(8, 4, 1), new nn.ReLU()),
        torch.randn([2, 3, 64, 64]),
      ],
      [
        'float64',
        new nn.Sequential(
          new nn.Conv2d(2, 4, 3, { dtype: 'float64' }),
          new nn.ReLU(),
          new nn.Conv2d(4, 4, 3, { stride: 2, dtype: 'float64' }),
          new nn.ReLU(),
        ),
        torch.randn([3, 2, 12, 12], { dtype: 'float64' }),
      ],
    ];
    for (const [name, net, x] of nets) {
      const { fused, plain, reluCalls } = compare(net, x);
      expect(reluCalls, name).toBe(0);
      expect(fused.shape, name).toEqual(plain.shape);
      if (fused.dtype === 'float64')
        expect(Array.from(fused.toTypedArray() as Float64Array), name).toEqual(Array.from(plain.toTypedArray() as Float64Array));
      else expect(bits(fused), name).toEqual(bits(plain));
      expect((fused.min().item() as number) >= 0, name).toBe(true);
    }
  });

  it('lets NaN through, as relu does', () => {
    torch.manualSeed(1);
    const net = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU());
    const data = new Float32Array(128).map(() => Math.random() - 0.5);
    data[0] = NaN;
    const xn = torch.fromTypedArray(data, [2, 1, 8, 8]);
    const { fused, plain, reluCalls } = compare(net, xn);
    expect(reluCalls).toBe(0);
    expect(fused.isnan().sum().item()).toBeGreaterThan(0);
    expect(bits(fused)).toEqual(bits(plain));
  });

  it('runs the ReLU itself where a graph is built, a hook watches, or the layers are others', () => {
    torch.manualSeed(2);
    const x = torch.randn([2, 1, 8, 8]);
    const net = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.ReLU());
    const spy = vi.spyOn(nn.ReLU.prototype, 'forward');
    net(x);
    expect(spy).toHaveBeenCalledTimes(1);
    // A forward hook on the ReLU must see its input and output.
    const seen: Tensor[] = [];
    const h = net.get(1).registerForwardHook((_m, inputs) => void seen.push(inputs[0] as Tensor));
    const y = torch.noGrad(() => net(x) as Tensor);
    expect(spy).toHaveBeenCalledTimes(2);
    expect((seen[0].min().item() as number) < 0).toBe(true);
    expect(y.min().item()).toBe(0);
    h.remove();
    // A subclass of ReLU, or a LeakyReLU, is not fused.
    class MyReLU extends nn.ReLU {}
    torch.noGrad(() => new nn.Sequential(new nn.Conv2d(1, 4, 3), new MyReLU())(x));
    expect(spy).toHaveBeenCalledTimes(3);
    // The ReLU not right after the convolution stays a layer of its own.
    torch.noGrad(() => new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.Identity(), new nn.ReLU())(x));
    expect(spy).toHaveBeenCalledTimes(4);
  });
});
