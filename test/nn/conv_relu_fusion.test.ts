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

// A plain 2x2 MaxPool2d after the ReLU joins the kernel on the CPU (Note
// [Conv-ReLU-pool fusion], native/cpu/nn.cc): the kernel writes only the
// pooled maps. Values must be the three layers' bit for bit: relu, then
// PyTorch's max rule (first maximum kept, NaN wins), odd maps dropping their
// last row and column.
describe('Conv2d, ReLU and a 2x2 MaxPool2d in an nn.Sequential under noGrad', () => {
  const pooled = (conv: nn.Conv2d, pool: nn.Module = new nn.MaxPool2d(2)) => new nn.Sequential(conv, new nn.ReLU(), pool, new nn.Flatten());

  /** Like compare, counting MaxPool2d forwards as well. */
  function comparePooled(seq: nn.Sequential, x: Tensor) {
    const pool = vi.spyOn(nn.MaxPool2d.prototype, 'forward');
    const r = compare(seq, x);
    const poolCalls = pool.mock.calls.length - 1; // the layer-by-layer run calls it once
    pool.mockRestore();
    return { ...r, poolCalls };
  }

  it('gives the layers values bit for bit on each convolution path, and runs no ReLU or pool forward', () => {
    torch.manualSeed(3);
    const cases: [string, nn.Sequential, Tensor][] = [
      // direct path (small weights): LeNet's first layer, and an odd map
      ['direct', pooled(new nn.Conv2d(1, 32, 3, { padding: 1 })), torch.randn([5, 1, 28, 28])],
      ['direct odd map', pooled(new nn.Conv2d(3, 16, 3)), torch.randn([3, 3, 17, 15])],
      // output channels in lanes: LeNet's second layer, 48 channels on an odd map, no bias
      ['lanes', pooled(new nn.Conv2d(32, 64, 3, { padding: 1 })), torch.randn([3, 32, 14, 14])],
      ['lanes odd map', pooled(new nn.Conv2d(20, 48, 3, { bias: false })), torch.randn([2, 20, 11, 9])],
      // the other paths: im2col + GEMM on a large map, strided phase planes, float64
      ['large', pooled(new nn.Conv2d(3, 8, 5, { padding: 2 })), torch.randn([2, 3, 64, 64])],
      ['phase planes', pooled(new nn.Conv2d(16, 24, 3, { stride: 2, padding: 1 })), torch.randn([2, 16, 20, 20])],
      ['float64', pooled(new nn.Conv2d(2, 4, 3, { dtype: 'float64' })), torch.randn([3, 2, 12, 13], { dtype: 'float64' })],
    ];
    for (const [name, net, x] of cases) {
      const { fused, plain, reluCalls, poolCalls } = comparePooled(net, x);
      expect(reluCalls, name).toBe(0);
      expect(poolCalls, name).toBe(0);
      expect(fused.shape, name).toEqual(plain.shape);
      if (fused.dtype === 'float64')
        expect(Array.from(fused.toTypedArray() as Float64Array), name).toEqual(Array.from(plain.toTypedArray() as Float64Array));
      else expect(bits(fused), name).toEqual(bits(plain));
    }
  });

  it('lets NaN through the pool, as the layers do', () => {
    for (const oc of [4, 32]) {
      torch.manualSeed(4);
      const net = pooled(new nn.Conv2d(1, oc, 1));
      const data = new Float32Array(2 * 36).map(() => Math.random() - 0.5);
      data[7] = NaN;
      data[40] = NaN;
      const { fused, plain, poolCalls } = comparePooled(net, torch.fromTypedArray(data, [2, 1, 6, 6]));
      expect(poolCalls).toBe(0);
      expect(fused.isnan().sum().item()).toBe(2 * oc);
      expect(bits(fused)).toEqual(bits(plain));
    }
    // 3x3 kernels, whose pooling happens inside the direct (1 -> 4
    // channels) and lanes (4 -> 16) kernels: a NaN reaches several taps
    // of a window, ahead of and behind finite ones.
    for (const [c, oc] of [
      [1, 4],
      [4, 16],
    ]) {
      torch.manualSeed(6);
      const net = pooled(new nn.Conv2d(c, oc, 3, { padding: 1 }));
      const data = new Float32Array(2 * c * 64).map(() => Math.random() - 0.5);
      for (const i of [9, 30, 64 * c + 45]) data[i] = NaN;
      const { fused, plain, poolCalls } = comparePooled(net, torch.fromTypedArray(data, [2, c, 8, 8]));
      expect(poolCalls).toBe(0);
      expect(fused.isnan().sum().item()).toBeGreaterThan(0);
      expect(bits(fused)).toEqual(bits(plain));
    }
  });

  it('runs the pool itself when it is another pool, a hook watches it, a graph is built or the map is too small', () => {
    torch.manualSeed(5);
    const x = torch.randn([2, 4, 9, 9]);
    const spy = vi.spyOn(nn.MaxPool2d.prototype, 'forward');
    const others = [
      new nn.MaxPool2d(3),
      new nn.MaxPool2d(2, { stride: 1 }),
      new nn.MaxPool2d(2, { padding: 1 }),
      new nn.MaxPool2d(2, { ceilMode: true }),
      new nn.MaxPool2d(2, { dilation: 2 }),
    ];
    for (const [i, pool] of others.entries()) {
      const net = pooled(new nn.Conv2d(4, 32, 3), pool);
      const { fused, plain } = compare(net, x);
      expect(spy).toHaveBeenCalledTimes(2 * (i + 1));
      expect(bits(fused)).toEqual(bits(plain));
    }
    const net = pooled(new nn.Conv2d(4, 32, 3));
    const h = net.get(2).registerForwardHook(() => undefined);
    torch.noGrad(() => net(x));
    expect(spy).toHaveBeenCalledTimes(11);
    const yHooked = net(x) as Tensor; // grad mode, hooked: a graph through all three layers
    expect(spy).toHaveBeenCalledTimes(12);
    expect(yHooked.requiresGrad).toBe(true);
    h.remove();
    // A 1-pixel-high map: MaxPool2d's own error, as without the fusion.
    const tiny = pooled(new nn.Conv2d(4, 32, [9, 1]));
    const plainError = (() => {
      try {
        torch.noGrad(() => new nn.MaxPool2d(2)(torch.zeros([2, 32, 1, 9])));
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    })();
    expect(() => torch.noGrad(() => tiny(x))).toThrow(plainError);
  });
});

// With grad mode on, the three layers run as one op on the CPU (Note
// [Conv-ReLU-pool in grad mode], lib/ops/nn.ts): its forward keeps the
// pooled values and one byte per value for the backward, which expands the
// gradient into the convolution's map in one pass. Values and gradients
// must be the three layers' bit for bit, NaN included; higher derivatives
// must exist; nothing it saves may stand in the way of an in-place op on
// its output (the pool saves no output in PyTorch).
describe('Conv2d, ReLU and a 2x2 MaxPool2d in an nn.Sequential with grad mode on', () => {
  const triple = (conv: nn.Conv2d) => new nn.Sequential(conv, new nn.ReLU(), new nn.MaxPool2d(2));
  /** torch.autograd.grad's results, each required to be there. */
  const gradsOf = (ys: Tensor[], xs: Tensor[], opts: Parameters<typeof torch.autograd.grad>[2] = {}): Tensor[] =>
    torch.autograd.grad(ys, xs, opts).map((t) => {
      expect(t).not.toBeNull();
      return t as Tensor;
    });
  const conv0 = (seq: nn.Sequential) => seq.get(0) as nn.Conv2d;
  /** seq's layers called one by one, as no Sequential fuses them. */
  const layerByLayer = (seq: nn.Sequential, x: Tensor): Tensor => {
    let z = x;
    for (const m of seq.children()) z = m(z) as Tensor;
    return z;
  };

  /** Output and gradients (input, weight, bias) of seq, and of its layers one by one, for one output gradient. */
  function both(seq: nn.Sequential, x: Tensor) {
    const conv = conv0(seq);
    const wrt = [x, conv.weight, ...(conv.bias ? [conv.bias] : [])];
    const relu = vi.spyOn(nn.ReLU.prototype, 'forward');
    const pool = vi.spyOn(nn.MaxPool2d.prototype, 'forward');
    const y = seq(x) as Tensor;
    const layerCalls = relu.mock.calls.length + pool.mock.calls.length;
    relu.mockRestore();
    pool.mockRestore();
    const gy = torch.randn(y.shape, { dtype: y.dtype });
    const fused = [y, ...gradsOf([y], wrt, { gradOutputs: [gy] })];
    const z = layerByLayer(seq, x);
    const plain = [z, ...gradsOf([z], wrt, { gradOutputs: [gy] })];
    return { y, fused, plain, layerCalls };
  }

  const same = (a: Tensor, b: Tensor, what: string) => {
    expect(a.shape, what).toEqual(b.shape);
    if (a.dtype === 'float64')
      expect(Array.from(a.contiguous().toTypedArray() as Float64Array), what).toEqual(
        Array.from(b.contiguous().toTypedArray() as Float64Array),
      );
    else expect(bits(a), what).toEqual(bits(b));
  };

  it('gives the layers values and gradients bit for bit on each convolution path, as one node', () => {
    torch.manualSeed(7);
    const cases: [string, nn.Sequential, Tensor][] = [
      ['direct', triple(new nn.Conv2d(1, 32, 3, { padding: 1 })), torch.randn([5, 1, 28, 28])],
      ['direct odd map', triple(new nn.Conv2d(3, 16, 3)), torch.randn([3, 3, 17, 15])],
      ['lanes', triple(new nn.Conv2d(32, 64, 3, { padding: 1 })), torch.randn([3, 32, 14, 14])],
      ['lanes odd map', triple(new nn.Conv2d(16, 32, 3)), torch.randn([3, 16, 11, 9])],
      ['odd map, 20 channels', triple(new nn.Conv2d(20, 20, 3, { bias: false })), torch.randn([2, 20, 11, 9])],
      ['large', triple(new nn.Conv2d(3, 8, 5, { padding: 2 })), torch.randn([2, 3, 64, 64])],
      ['strided', triple(new nn.Conv2d(16, 24, 3, { stride: 2, padding: 1 })), torch.randn([2, 16, 20, 20])],
      ['float64', triple(new nn.Conv2d(2, 4, 3, { dtype: 'float64' })), torch.randn([3, 2, 12, 13], { dtype: 'float64' })],
    ];
    for (const [name, seq, x0] of cases) {
      const x = x0.requiresGrad_(true);
      const { y, fused, plain, layerCalls } = both(seq, x);
      expect(y.gradFn?.name, name).toBe('ConvolutionReluMaxPool2DBackward0');
      expect(layerCalls, name).toBe(0);
      ['output', 'input grad', 'weight grad', 'bias grad']
        .slice(0, fused.length)
        .forEach((what, i) => same(fused[i], plain[i], `${name}: ${what}`));
    }
  });

  it('gives the layers gradients when only some of input, weight and bias need one', () => {
    torch.manualSeed(12);
    const shapes: [string, () => nn.Conv2d, number[]][] = [
      ['direct', () => new nn.Conv2d(3, 16, 3, { padding: 1 }), [2, 3, 12, 12]],
      ['lanes', () => new nn.Conv2d(16, 32, 3, { padding: 1 }), [2, 16, 10, 10]],
    ];
    for (const [name, make, xShape] of shapes) {
      for (const [needX, needW, needB] of [
        [false, true, true],
        [true, false, true],
        [true, false, false],
        [false, false, true],
      ]) {
        const what = `${name}, input ${needX}, weight ${needW}, bias ${needB}`;
        const conv = make();
        conv.weight.requiresGrad_(needW);
        conv.bias!.requiresGrad_(needB);
        const x = torch.randn(xShape).requiresGrad_(needX);
        const wrt = [x, conv.weight, conv.bias!].filter((t) => t.requiresGrad);
        const seq = triple(conv);
        const y = seq(x) as Tensor;
        expect(y.gradFn?.name, what).toBe('ConvolutionReluMaxPool2DBackward0');
        const gy = torch.randn(y.shape);
        const fused = gradsOf([y], wrt, { gradOutputs: [gy] });
        const z = layerByLayer(seq, x);
        const plain = gradsOf([z], wrt, { gradOutputs: [gy] });
        fused.forEach((t, i) => same(t, plain[i], `${what}: gradient ${i}`));
      }
    }
  });

  it('passes no gradient through a NaN, as the ReLU does, and the same NaNs forward', () => {
    torch.manualSeed(8);
    for (const [c, oc] of [
      [1, 4],
      [4, 16],
    ]) {
      const data = new Float32Array(2 * c * 64).map(() => Math.random() - 0.5);
      for (const i of [9, 30, 64 * c + 45]) data[i] = NaN;
      const x = torch.fromTypedArray(data, [2, c, 8, 8]).requiresGrad_(true);
      const { y, fused, plain } = both(triple(new nn.Conv2d(c, oc, 3, { padding: 1 })), x);
      expect(y.gradFn?.name).toBe('ConvolutionReluMaxPool2DBackward0');
      expect(fused[0].isnan().sum().item()).toBeGreaterThan(0);
      fused.forEach((t, i) => same(t, plain[i], `${c} -> ${oc}: result ${i}`));
    }
  });

  it("has second derivatives, the layers' own", () => {
    torch.manualSeed(9);
    const seq = triple(new nn.Conv2d(2, 3, 3, { padding: 1, dtype: 'float64' }));
    const x = torch.randn([2, 2, 7, 6], { dtype: 'float64', requiresGrad: true });
    const f = (t: Tensor) => seq(t) as Tensor;
    expect(torch.autograd.gradcheck(f, [x])).toBe(true);
    expect(torch.autograd.gradgradcheck(f, [x])).toBe(true);
    const w = conv0(seq).weight;
    const second = (y: Tensor) => {
      const [gx] = gradsOf([y.pow(2).sum()], [x], { createGraph: true });
      return gradsOf([gx.pow(2).sum()], [w])[0];
    };
    const fusedY = seq(x) as Tensor;
    expect(fusedY.gradFn?.name).toBe('ConvolutionReluMaxPool2DBackward0');
    const z = layerByLayer(seq, x);
    same(second(fusedY), second(z), 'second derivative');
  });

  it('lets its output be changed in place before the backward, as the layers do', () => {
    torch.manualSeed(10);
    const seq = triple(new nn.Conv2d(4, 16, 3, { padding: 1 }));
    const x = torch.randn([2, 4, 10, 10], { requiresGrad: true });
    const run = (y: Tensor) => {
      y.mul_(3);
      return gradsOf([y.sum()], [x])[0];
    };
    const fusedY = seq(x) as Tensor;
    expect(fusedY.gradFn?.name).toBe('ConvolutionReluMaxPool2DBackward0');
    const z = layerByLayer(seq, x);
    same(run(fusedY), run(z), 'input grad');
  });

  it('runs the layers themselves where a hook watches one, or the ReLU has no pool after it', () => {
    torch.manualSeed(11);
    const x = torch.randn([2, 1, 8, 8], { requiresGrad: true });
    const seq = triple(new nn.Conv2d(1, 4, 3));
    const h = seq.get(1).registerForwardHook(() => undefined);
    expect((seq(x) as Tensor).gradFn?.name).toBe('MaxPool2DWithIndicesBackward0');
    h.remove();
    expect((seq(x) as Tensor).gradFn?.name).toBe('ConvolutionReluMaxPool2DBackward0');
    const noPool = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.ReLU());
    expect((noPool(x) as Tensor).gradFn?.name).toBe('ReluBackward0');
  });
});
