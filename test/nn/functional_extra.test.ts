// nn.functional beyond the PyTorch fixtures: graph node names, error
// messages, dropout, batch-norm running statistics, the chunked and threaded
// kernel paths against simpler computations, higher-order gradients
// (createGraph) by gradcheck, and direct misuse of the native bindings.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as F from '../../lib/nn/functional.js';
import { native } from '../../lib/backend/native.js';
import { Tensor } from '../../lib/tensor.js';

const f64 = (shape: number[]): Tensor => torch.randn(shape, { dtype: 'float64' });
const leaf = (t: Tensor): Tensor => t.requiresGrad_(true);

/** max |a - b| <= atol + rtol * max |b|. */
function expectClose(a: Tensor, b: Tensor, rtol = 1e-5, atol = 1e-6): void {
  expect(a.shape).toEqual(b.shape);
  const x = Array.from(a.toTypedArray() as Float32Array);
  const y = Array.from(b.toTypedArray() as Float32Array);
  let scale = 0,
    worst = 0;
  for (let i = 0; i < y.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]));
    worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  expect(worst).toBeLessThanOrEqual(atol + rtol * scale);
}

describe('graph nodes are named as in PyTorch', () => {
  torch.manualSeed(3);
  const x = leaf(torch.randn([2, 3, 6, 6]));
  const logits = leaf(torch.randn([4, 5]));
  const t = torch.tensor([0, 1, 4, 2]);
  const cases: [string, () => Tensor, string][] = [
    ['conv2d', () => F.conv2d(x, torch.randn([2, 3, 3, 3])), 'ConvolutionBackward0'],
    ['maxPool2d', () => F.maxPool2d(x, 2), 'MaxPool2DWithIndicesBackward0'],
    ['avgPool2d', () => F.avgPool2d(x, 2), 'AvgPool2DBackward0'],
    ['adaptiveAvgPool2d', () => F.adaptiveAvgPool2d(x, [2, 3]), 'AdaptiveAvgPool2DBackward0'],
    ['batchNorm', () => F.batchNorm(x, null, null, { training: true }), 'NativeBatchNormBackward0'],
    ['layerNorm', () => F.layerNorm(logits, [5]), 'NativeLayerNormBackward0'],
    ['crossEntropy', () => F.crossEntropy(logits, t), 'NllLossBackward0'],
    ['crossEntropy with labelSmoothing', () => F.crossEntropy(logits, t, { labelSmoothing: 0.1 }), 'AddBackward0'],
    ['nllLoss', () => F.nllLoss(logits.logSoftmax(1), t), 'NllLossBackward0'],
    ['mseLoss', () => F.mseLoss(logits, torch.zeros([4, 5])), 'MseLossBackward0'],
    ['l1Loss', () => F.l1Loss(logits, torch.zeros([4, 5])), 'MeanBackward0'],
    ['binaryCrossEntropy', () => F.binaryCrossEntropy(logits.sigmoid(), torch.rand([4, 5])), 'BinaryCrossEntropyBackward0'],
    [
      'binaryCrossEntropyWithLogits',
      () => F.binaryCrossEntropyWithLogits(logits, torch.rand([4, 5])),
      'BinaryCrossEntropyWithLogitsBackward0',
    ],
    ['leakyRelu', () => F.leakyRelu(logits), 'LeakyReluBackward0'],
    ['embedding', () => F.embedding(torch.tensor([0, 3, 1]), logits), 'EmbeddingBackward0'],
    ['dropout', () => F.dropout(logits, 0.5, true), 'MulBackward0'],
    ['gelu', () => F.gelu(logits), 'GeluBackward0'],
    // linear as 1.13 runs it: addmm for 2-D input with a bias, addmm over the rows of contiguous 3-D input
    // (then a view), a matmul and an add for the rest.
    ['linear 2-D', () => F.linear(logits, torch.randn([3, 5]), torch.randn([3])), 'AddmmBackward0'],
    ['linear 2-D without bias', () => F.linear(logits, torch.randn([3, 5])), 'MmBackward0'],
    ['linear 3-D', () => F.linear(logits.view([2, 2, 5]), torch.randn([3, 5]), torch.randn([3])), 'ViewBackward0'],
    ['linear 1-D', () => F.linear(logits.select(0, 1), torch.randn([3, 5]), torch.randn([3])), 'AddBackward0'],
    ['linear 4-D', () => F.linear(logits.view([1, 2, 2, 5]), torch.randn([3, 5]), torch.randn([3])), 'AddBackward0'],
  ];
  for (const [name, run, node] of cases) {
    it(`${name} -> ${node}`, () => {
      expect(run().gradFn?.name).toBe(node);
    });
  }
  it("linear's AddmmBackward0 has PyTorch's edges: bias, input, weight.t() (TBackward0)", () => {
    const w = leaf(torch.randn([3, 5])),
      b = leaf(torch.randn([3]));
    const next = (y: Tensor) => y.gradFn!.next.map((n) => n?.name ?? null);
    expect(next(F.linear(torch.randn([4, 5]), w, b))).toEqual(['AccumulateGrad', null, 'TBackward0']);
    expect(next(F.linear(logits, w, b))).toEqual(['AccumulateGrad', 'AccumulateGrad', 'TBackward0']);
    const y3 = F.linear(logits.view([2, 2, 5]), w, b);
    expect(next(y3)).toEqual(['AddmmBackward0']);
    expect(y3.shape).toEqual([2, 2, 3]);
  });
});

describe('errors name the op and the offending values', () => {
  const x4 = torch.randn([1, 4, 5, 5]);
  it('crossEntropy: out-of-range target', () => {
    expect(() => F.crossEntropy(torch.randn([2, 10]), torch.tensor([3, 12]))).toThrow(
      'crossEntropy: target 12 is out of bounds for 10 classes',
    );
    expect(() =>
      F.crossEntropy(
        torch.randn([2, 10, 3]),
        torch.tensor([
          [0, 1, 2],
          [3, -1, 0],
        ]),
      ),
    ).toThrow('crossEntropy: target -1 is out of bounds for 10 classes');
  });
  it('nllLoss: out-of-range target', () => {
    expect(() => F.nllLoss(torch.randn([2, 4]), torch.tensor([4, 0]))).toThrow('nllLoss: target 4 is out of bounds for 4 classes');
  });
  it('crossEntropy: bad options and targets', () => {
    const x = torch.randn([3, 4]);
    const t = torch.tensor([0, 1, 2]);
    expect(() => F.crossEntropy(x, t, { reduction: 'avg' as never })).toThrow(TypeError);
    expect(() => F.crossEntropy(x, t, { labelSmoothing: 1.5 })).toThrow(/labelSmoothing must be between 0.0 and 1.0/);
    expect(() => F.crossEntropy(x, torch.tensor([0, 1]))).toThrow(
      'crossEntropy: expected target of shape [3] for input of shape [3, 4], got [2]',
    );
    expect(() => F.crossEntropy(x, torch.rand([3, 5]))).toThrow(/probability target must have the input's shape \[3, 4\]/);
    expect(() => F.crossEntropy(x, t, { weight: torch.ones([5]) })).toThrow(/weight to be a 1-D tensor of size 4/);
    expect(() => F.crossEntropy(torch.tensor([[1, 2]]), torch.tensor([0]))).toThrow(TypeError);
  });
  it('conv2d: shapes, channels and options', () => {
    expect(() => F.conv2d(torch.randn([3, 4]), torch.randn([2, 3, 3, 3]))).toThrow(
      'conv2d: expected input of shape [N, C, H, W] (or unbatched [C, H, W]), got [3, 4]',
    );
    expect(() => F.conv2d(x4, torch.randn([2, 3, 3, 3]))).toThrow(/expected input \[1, 4, 5, 5\] to have 3 channels, but got 4 channels/);
    expect(() => F.conv2d(x4, torch.randn([3, 2, 3, 3]), null, { groups: 2 })).toThrow(/divisible by 2 at dimension 0/);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 7, 7]))).toThrow(/Kernel size can't be greater than actual input size/);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3]), torch.randn([3]))).toThrow('conv2d: expected bias of shape [2], got [3]');
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3], { dtype: 'float64' }))).toThrow(TypeError);
    expect(() => F.conv2d(x4.long(), torch.randn([2, 4, 3, 3]).long())).toThrow(/float32 or float64/);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3]), null, { stride: 0 })).toThrow(RangeError);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3]), null, { padding: -1 })).toThrow(RangeError);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3]), null, { stride: [1, 2, 3] })).toThrow(TypeError);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3]), null, { groups: 0 })).toThrow(RangeError);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3]), null, { padding: 'full' as never })).toThrow(TypeError);
    // PyTorch's signature: the fourth positional value is the stride; a value that is no size is a TypeError.
    expect(F.conv2d(x4, torch.randn([2, 4, 3, 3]), null, 3).shape).toEqual([1, 2, 1, 1]);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3]), null, new Map() as never)).toThrow(/^conv2d: stride must be an integer or a pair/);
    expect(() => F.conv2d(x4, torch.randn([2, 4, 3, 3]), null, { padding: 'same', stride: 2 })).toThrow(/not supported for strided/);
  });
  it('pooling', () => {
    expect(() => F.maxPool2d(x4, 3, { padding: 2 })).toThrow(
      'maxPool2d: pad should be at most half of kernel size, but got pad=2 and kernel_size=3',
    );
    expect(() => F.maxPool2d(x4, 6)).toThrow(/maxPool2d: given input size \(4x5x5\), calculated output size \(4x0x0\) is too small/);
    expect(() => F.avgPool2d(x4, 2, { divisorOverride: 0 })).toThrow(RangeError);
    expect(() => F.adaptiveAvgPool2d(x4, [0, 2])).toThrow(RangeError);
    expect(() => F.maxPool2d(torch.randn([5, 5]), 2)).toThrow(/expected input of shape \[N, C, H, W\]/);
  });
  it('batchNorm', () => {
    expect(() => F.batchNorm(torch.randn([1, 3]), torch.zeros([3]), torch.ones([3]), { training: true })).toThrow(
      'batchNorm: expected more than 1 value per channel when training, got input of shape [1, 3]',
    );
    expect(() => F.batchNorm(torch.randn([4, 3]), null, null)).toThrow(/must be given in evaluation mode/);
    expect(() => F.batchNorm(torch.randn([4, 3]), torch.zeros([4]), torch.ones([4]))).toThrow(
      'batchNorm: runningMean should contain 3 elements not 4 (input [4, 3])',
    );
  });
  it('other functions', () => {
    expect(() => F.binaryCrossEntropy(torch.tensor([0.5, 1.5]), torch.tensor([0, 1]).float())).toThrow(/between 0 and 1/);
    expect(() => F.binaryCrossEntropy(torch.rand([3, 1]), torch.rand([3]))).toThrow(
      'binaryCrossEntropy: target shape [3] must be the same as the input shape [3, 1]',
    );
    expect(() => F.embedding(torch.tensor([1, 10]), torch.randn([10, 4]))).toThrow('embedding: index 10 is out of range for 10 embeddings');
    expect(() => F.embedding(torch.tensor([1.5]), torch.randn([10, 4]))).toThrow(TypeError);
    expect(() => F.oneHot(torch.tensor([0.5]), 3)).toThrow(TypeError);
    expect(() => F.oneHot(torch.tensor([0, 3]), 3)).toThrow(/smaller than numClasses \(3\)/);
    expect(() => F.dropout(torch.randn([3]), 1.5)).toThrow('dropout: probability has to be between 0 and 1, but got 1.5');
    expect(() => F.layerNorm(torch.randn([2, 3]), [4])).toThrow(/expected input with shape \[\*, 4\], but got input of shape \[2, 3\]/);
    expect(() => F.linear(torch.randn([2, 3]), torch.randn([4, 5]))).toThrow(
      'linear: input [2, 3] and weight [4, 5] do not fit (in_features 3 != 5)',
    );
    expect(() => F.mseLoss(torch.randn([2, 3]), torch.randn([4, 3]))).toThrow(/mseLoss: shapes \[2, 3\] and \[4, 3\] cannot be broadcast/);
    expect(() => F.relu(3 as never)).toThrow(TypeError);
  });
});

describe('direct misuse of the native bindings throws instead of crashing', () => {
  it('conv2d with a wrong output shape', () => {
    const x = torch.randn([1, 2, 4, 4]),
      w = torch.randn([3, 2, 3, 3]),
      out = torch.zeros([1, 2, 2, 2]);
    expect(() => native.conv2d(x._ref(), w._ref(), null, [1, 1, 0, 0, 1, 1, 1], out._ref())).toThrow(/conv2d/);
    expect(() => native.conv2d(x._ref(), w._ref(), null, [0, 1, 0, 0, 1, 1, 1], torch.zeros([1, 3, 2, 2])._ref())).toThrow(/stride/);
  });
  it('maxPool2dBackward with an index outside its plane', () => {
    const gy = torch.ones([1, 1, 1]),
      idx = torch.tensor([[[99]]]),
      gx = torch.zeros([1, 2, 2]);
    expect(() => native.maxPool2dBackward(gy._ref(), idx._ref(), gx._ref())).toThrow(/index 99 is out of range/);
  });
  it('batchNorm with a per-channel tensor of the wrong size', () => {
    const x = torch.randn([4, 3, 1]),
      out = torch.zeros([4, 3, 1]),
      c = torch.zeros([3]);
    expect(() =>
      native.batchNorm(x._ref(), torch.ones([2])._ref(), null, null, null, true, 0.1, 1e-5, out._ref(), c._ref(), c._ref()),
    ).toThrow(/batchNorm/);
  });
  it('layerNorm and its backward with a weight or gradient of the wrong size', () => {
    const x = torch.randn([4, 3]),
      out = torch.zeros([4, 3]),
      m = torch.zeros([4]);
    expect(() => native.layerNorm(x._ref(), torch.ones([2])._ref(), null, 1e-5, out._ref(), m._ref(), m._ref())).toThrow(/layerNorm/);
    expect(() => native.layerNorm(x._ref(), null, null, 1e-5, out._ref(), torch.zeros([3])._ref(), m._ref())).toThrow(/saved mean/);
    expect(() => native.layerNormBackward(torch.ones([3, 3])._ref(), x._ref(), null, m._ref(), m._ref(), out._ref(), null, null)).toThrow(
      /layerNormBackward: grad output/,
    );
  });
  it('nllLoss with a float target', () => {
    const x = torch.randn([2, 3, 1]),
      t = torch.zeros([2, 1]),
      tw = torch.zeros([]);
    expect(() => native.nllLoss(x._ref(), t._ref(), null, -100, 0, 1, true, torch.zeros([])._ref(), null, tw._ref())).toThrow(/int64/);
  });
});

describe('dropout', () => {
  it('is the identity when not training or p = 0', () => {
    const x = torch.randn([4, 5]);
    expect(F.dropout(x, 0.5, false)).toBe(x);
    expect(F.dropout(x, 0, true)).toBe(x);
  });
  it('p = 1 zeroes everything, and the gradient', () => {
    const x = leaf(torch.randn([3, 4]));
    const y = F.dropout(x, 1);
    expect(y.abs().sum().item()).toBe(0);
    y.sum().backward();
    expect(x.grad!.abs().sum().item()).toBe(0);
  });
  it('drops about p of the elements and scales the rest by 1/(1-p)', () => {
    torch.manualSeed(11);
    const x = leaf(torch.ones([200, 500]));
    const y = F.dropout(x, 0.3);
    const kept = y.ne(0).float().mean().item();
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.01);
    const values = new Set(Array.from(y.toTypedArray() as Float32Array));
    expect([...values].sort()).toEqual([0, Math.fround(1 / 0.7)].sort());
    y.sum().backward();
    expect(x.grad!.equal(y)).toBe(true);
  });
  it('is reproducible under torch.manualSeed', () => {
    const x = torch.randn([50, 50]);
    torch.manualSeed(42);
    const a = F.dropout(x, 0.5);
    torch.manualSeed(42);
    const b = F.dropout(x, 0.5);
    expect(a.equal(b)).toBe(true);
    expect(a.equal(F.dropout(x, 0.5))).toBe(false);
  });
  it('rejects integer input', () => {
    expect(() => F.dropout(torch.tensor([1, 2, 3]), 0.5)).toThrow(TypeError);
  });
});

describe('batchNorm running statistics', () => {
  it('evaluation leaves them alone', () => {
    const rm = torch.randn([3]),
      rv = torch.rand([3]).add(0.5);
    const rm0 = rm.clone(),
      rv0 = rv.clone();
    F.batchNorm(torch.randn([4, 3, 2, 2]), rm, rv);
    expect(rm.equal(rm0) && rv.equal(rv0)).toBe(true);
  });
  it('momentum 1 takes the batch mean and unbiased variance', () => {
    const x = torch.randn([5, 3, 4], { dtype: 'float64' });
    const rm = torch.zeros([3], { dtype: 'float64' }),
      rv = torch.zeros([3], { dtype: 'float64' });
    F.batchNorm(x, rm, rv, { training: true, momentum: 1 });
    expectClose(rm, x.mean([0, 2]), 1e-12, 1e-12);
    expectClose(rv, x.var([0, 2]), 1e-12, 1e-12);
  });
  it('updates non-contiguous and other-dtype buffers in place', () => {
    const x = torch.randn([6, 3]);
    const base = torch.zeros([6]);
    const rmView = base.index('::2');
    const rv64 = torch.ones([3], { dtype: 'float64' });
    const rm = torch.zeros([3]),
      rv = torch.ones([3]);
    F.batchNorm(x, rm, rv, { training: true, momentum: 0.25 });
    F.batchNorm(x, rmView, rv64, { training: true, momentum: 0.25 });
    expectClose(rmView, rm);
    expectClose(rv64.float(), rv);
    expect(base.index('1::2').abs().sum().item()).toBe(0);
  });
  it('an in-place update of a saved input is caught at backward', () => {
    const x = leaf(torch.randn([4, 3]));
    const h = x.mul(2);
    const y = F.batchNorm(h, null, null, { training: true });
    h.add_(1);
    expect(() => y.sum().backward()).toThrow(/modified by an inplace operation/);
  });
});

describe('crossEntropy edge cases', () => {
  it('all targets ignored: mean is NaN as in PyTorch, sum is 0, gradient 0', () => {
    const x = leaf(torch.randn([3, 4]));
    const t = torch.tensor([-100, -100, -100]);
    expect(Number.isNaN(F.crossEntropy(x, t).item())).toBe(true);
    const s = F.crossEntropy(x, t, { reduction: 'sum' });
    expect(s.item()).toBe(0);
    s.backward();
    expect(x.grad!.abs().sum().item()).toBe(0);
  });
  it('matches logSoftmax + gather on a batch large enough to thread', () => {
    torch.manualSeed(5);
    const x = leaf(torch.randn([6000, 10], { dtype: 'float64' }));
    const t = torch.randint(0, 10, [6000]);
    const loss = F.crossEntropy(x, t);
    const ref = x.logSoftmax(1).gather(1, t.unsqueeze(1)).mean().neg();
    expectClose(loss, ref, 1e-12, 1e-12);
    const [g1] = torch.autograd.grad(loss, [x]);
    const [g2] = torch.autograd.grad(ref, [x]);
    expectClose(g1!, g2!, 1e-10, 1e-14);
  });
});

describe('chunked and threaded kernels agree with simpler computations', () => {
  // Batches are processed in chunks of images (Note [Column chunks] in
  // native/cpu/nn.cc); a batch of one takes the one-image path, so
  // per-image results check the chunked ones.
  const chunked: [string, number[], number[], { padding?: number; stride?: number }][] = [
    ['chunks capped by the buffer budget (7 + 7 + 6 images)', [20, 64, 32, 32], [1, 64, 3, 3], { padding: 1 }],
    ['many small chunks (10 x 6 images)', [60, 4, 64, 64], [5, 4, 3, 3], { padding: 1 }],
    ['strided, one chunk of small maps', [30, 3, 10, 10], [4, 3, 3, 3], { stride: 2 }],
  ];
  for (const [name, xs, ws, opts] of chunked) {
    it(`conv2d ${name} equals per-image convolution`, () => {
      torch.manualSeed(9);
      const x = leaf(torch.randn(xs)),
        w = leaf(torch.randn(ws)),
        b = leaf(torch.randn([ws[0]]));
      const y = F.conv2d(x, w, b, opts);
      const g = torch.randn(y.shape);
      y.backward(g);
      const gwSum = torch.zeros(ws, { dtype: 'float64' });
      for (let i = 0; i < xs[0]; i++) {
        const xi = leaf(x.detach().narrow(0, i, 1).clone());
        const wi = leaf(w.detach().clone());
        const yi = F.conv2d(xi, wi, b.detach(), opts);
        expectClose(y.detach().narrow(0, i, 1), yi, 1e-5, 1e-5);
        yi.backward(g.narrow(0, i, 1));
        expectClose(x.grad!.narrow(0, i, 1), xi.grad!, 1e-5, 1e-5);
        gwSum.add_(wi.grad!.double());
      }
      expectClose(w.grad!.double(), gwSum, 1e-4, 1e-4);
      expectClose(b.grad!.double(), g.double().sum([0, 2, 3]), 1e-5, 1e-4);
    });
  }
  // Pointwise convolutions as matmuls: [70, 256, 2, 2] unfolds many images
  // per chunk; [3, 64, 32, 32] reads each image in place (also with groups).
  const pointwise: [number[], number[], number][] = [
    [[70, 256, 2, 2], [256, 256, 1, 1], 1],
    [[3, 64, 32, 32], [64, 64, 1, 1], 1],
    [[3, 64, 32, 32], [128, 32, 1, 1], 2],
  ];
  for (const [xs, ws, groups] of pointwise) {
    it(`pointwise conv2d ${JSON.stringify(xs)} x ${JSON.stringify(ws)} groups=${groups} equals matmul`, () => {
      torch.manualSeed(10);
      const [N, C, H, W] = xs,
        OC = ws[0],
        G = groups,
        P = H * W;
      const x = leaf(torch.randn(xs)),
        w = leaf(torch.randn(ws)),
        b = leaf(torch.randn([OC]));
      const y = F.conv2d(x, w, b, { groups });
      // Per group g: y[n, g] = w_g [OC/G, C/G] @ x[n, g] [C/G, P]
      const xg = x.detach().reshape([N, G, C / G, P]);
      const wg = w.detach().reshape([G, OC / G, C / G]);
      const ref = wg
        .matmul(xg)
        .reshape([N, OC, H, W])
        .add(b.detach().reshape([1, OC, 1, 1]));
      expectClose(y, ref, 1e-5, 1e-5);
      const g = torch.randn(y.shape);
      y.backward(g);
      const gg = g.reshape([N, G, OC / G, P]);
      const gwRef = gg.matmul(xg.transpose(2, 3)).sum(0).reshape(ws);
      expectClose(w.grad!, gwRef, 1e-4, 1e-4);
      const gxRef = wg.transpose(1, 2).matmul(gg).reshape(xs);
      expectClose(x.grad!, gxRef, 1e-5, 1e-5);
    });
  }
  it('pooling over many planes equals reshape + reduce', () => {
    const x = torch.randn([16, 64, 16, 16]);
    const blocks = x.reshape([16, 64, 8, 2, 8, 2]);
    expectClose(F.maxPool2d(x, 2), blocks.amax([3, 5]), 0, 0);
    expectClose(F.avgPool2d(x, 2), blocks.mean([3, 5]), 1e-6, 1e-7);
    expectClose(F.adaptiveAvgPool2d(x, 8), blocks.mean([3, 5]), 1e-6, 1e-7);
  });
  it('batchNorm over many channels equals the composite formula', () => {
    const x = leaf(torch.randn([16, 64, 16, 16], { dtype: 'float64' }));
    const w = leaf(torch.randn([64], { dtype: 'float64' })),
      b = leaf(torch.randn([64], { dtype: 'float64' }));
    const y = F.batchNorm(x, null, null, { weight: w, bias: b, training: true });
    const mean = x.mean([0, 2, 3], { keepdim: true });
    const variance = x.var([0, 2, 3], { unbiased: false, keepdim: true });
    const ref = x
      .sub(mean)
      .div(variance.add(1e-5).sqrt())
      .mul(w.reshape([1, 64, 1, 1]))
      .add(b.reshape([1, 64, 1, 1]));
    expectClose(y, ref, 1e-10, 1e-12);
    const g = torch.randn([16, 64, 16, 16], { dtype: 'float64' });
    const got = torch.autograd.grad(y, [x, w, b], { gradOutputs: g });
    const want = torch.autograd.grad(ref, [x, w, b], { gradOutputs: g });
    for (let i = 0; i < 3; i++) expectClose(got[i]!, want[i]!, 1e-9, 1e-12);
  });
});

/** gradcheck of x -> d<out(x), v>/dx: the second derivatives createGraph gives. */
function gradOf(f: (...xs: Tensor[]) => Tensor, wrt: number[], outIndex = 0) {
  // gradcheck evaluates f under noGrad for its finite differences; the
  // gradient itself still needs a graph.
  return (...xs: Tensor[]): Tensor =>
    torch.enableGrad(() => {
      const v = xs[xs.length - 1];
      const out = f(...xs.slice(0, -1));
      const gs = torch.autograd.grad(
        out,
        wrt.map((i) => xs[i]),
        { gradOutputs: v, createGraph: true, allowUnused: true },
      );
      return gs[outIndex]!;
    });
}

describe('higher-order gradients (createGraph) pass gradcheck', () => {
  torch.manualSeed(21);
  it('conv2d: d(grad input) and d(grad weight)', () => {
    const opts = { stride: 2, padding: 1, groups: 2 };
    const x = leaf(f64([1, 2, 5, 5])),
      w = leaf(f64([4, 1, 3, 3])),
      v = leaf(f64([1, 4, 3, 3]));
    const conv = (a: Tensor, b: Tensor) => F.conv2d(a, b, null, opts);
    expect(torch.autograd.gradcheck(gradOf(conv, [0, 1], 0), [x, w, v])).toBe(true);
    expect(torch.autograd.gradcheck(gradOf(conv, [0, 1], 1), [x, w, v])).toBe(true);
  });
  it('conv2d 1x1 with bias', () => {
    const x = leaf(f64([2, 2, 2, 2])),
      w = leaf(f64([3, 2, 1, 1])),
      bias = leaf(f64([3])),
      v = leaf(f64([2, 3, 2, 2]));
    const conv = (a: Tensor, b: Tensor, c: Tensor) => F.conv2d(a, b, c);
    for (let k = 0; k < 3; k++) expect(torch.autograd.gradcheck(gradOf(conv, [0, 1, 2], k), [x, w, bias, v])).toBe(true);
  });
  it('pooling', () => {
    const x = leaf(torch.arange(36, { dtype: 'float64' }).mul(0.37).sin().reshape([1, 1, 6, 6]));
    expect(
      torch.autograd.gradcheck(
        gradOf((a) => F.maxPool2d(a, 3, { stride: 2, padding: 1 }), [0]),
        [x, leaf(f64([1, 1, 3, 3]))],
      ),
    ).toBe(true);
    expect(
      torch.autograd.gradcheck(
        gradOf((a) => F.avgPool2d(a, 3, { stride: 2, padding: 1 }), [0]),
        [x, leaf(f64([1, 1, 3, 3]))],
      ),
    ).toBe(true);
    expect(
      torch.autograd.gradcheck(
        gradOf((a) => F.adaptiveAvgPool2d(a, [4, 3]), [0]),
        [x, leaf(f64([1, 1, 4, 3]))],
      ),
    ).toBe(true);
  });
  it('batchNorm in training and evaluation', () => {
    const x = leaf(f64([3, 2, 2])),
      w = leaf(f64([2])),
      b = leaf(f64([2])),
      v = leaf(f64([3, 2, 2]));
    const train = (a: Tensor, ww: Tensor, bb: Tensor) => F.batchNorm(a, null, null, { weight: ww, bias: bb, training: true });
    for (let k = 0; k < 3; k++) expect(torch.autograd.gradcheck(gradOf(train, [0, 1, 2], k), [x, w, b, v])).toBe(true);
    const rm = f64([2]),
      rv = torch.rand([2], { dtype: 'float64' }).add(0.5);
    const evalFn = (a: Tensor, ww: Tensor, bb: Tensor) => F.batchNorm(a, rm, rv, { weight: ww, bias: bb });
    for (let k = 0; k < 2; k++) expect(torch.autograd.gradcheck(gradOf(evalFn, [0, 1, 2], k), [x, w, b, v])).toBe(true);
  });
  it('crossEntropy with weight, ignoreIndex and labelSmoothing; nllLoss', () => {
    const x = leaf(f64([4, 3, 2]));
    const t = torch.tensor([
      [0, 2],
      [1, -100],
      [2, 2],
      [0, 1],
    ]);
    const w = torch.rand([3], { dtype: 'float64' }).add(0.5);
    const mean = (a: Tensor) => F.crossEntropy(a, t, { weight: w, labelSmoothing: 0.2 });
    expect(torch.autograd.gradcheck(gradOf(mean, [0]), [x, leaf(f64([]))])).toBe(true);
    const none = (a: Tensor) => F.crossEntropy(a, t, { weight: w, labelSmoothing: 0.2, reduction: 'none' });
    expect(torch.autograd.gradcheck(gradOf(none, [0]), [x, leaf(f64([4, 2]))])).toBe(true);
    const nll = (a: Tensor) => F.nllLoss(a, t, { weight: w, reduction: 'sum' });
    expect(torch.autograd.gradcheck(gradOf(nll, [0]), [x, leaf(f64([]))])).toBe(true);
  });
  it('embedding, binary cross entropy and mse', () => {
    const w = leaf(f64([5, 2]));
    const idx = torch.tensor([
      [1, 2],
      [2, 4],
    ]);
    expect(
      torch.autograd.gradcheck(
        gradOf((a) => F.embedding(idx, a, { paddingIdx: 4 }), [0]),
        [w, leaf(f64([2, 2, 2]))],
      ),
    ).toBe(true);
    const p = leaf(torch.rand([3, 2], { dtype: 'float64' }).mul(0.8).add(0.1));
    const y = leaf(torch.rand([3, 2], { dtype: 'float64' }));
    const bce = (a: Tensor, b: Tensor) => F.binaryCrossEntropy(a, b);
    expect(torch.autograd.gradcheck(gradOf(bce, [0, 1], 0), [p, y, leaf(f64([]))])).toBe(true);
    const logits = leaf(f64([3, 2]));
    const pw = torch.rand([2], { dtype: 'float64' }).add(0.5);
    const bcel = (a: Tensor, b: Tensor) => F.binaryCrossEntropyWithLogits(a, b, { posWeight: pw, reduction: 'sum' });
    for (let k = 0; k < 2; k++) expect(torch.autograd.gradcheck(gradOf(bcel, [0, 1], k), [logits, y, leaf(f64([]))])).toBe(true);
    const mse = (a: Tensor, b: Tensor) => F.mseLoss(a, b);
    expect(torch.autograd.gradcheck(gradOf(mse, [0, 1], 0), [logits, y, leaf(f64([]))])).toBe(true);
  });
});

describe('layerNorm: the fused kernel equals the composite of ops', () => {
  // Many rows (split over the threads), rows longer than the kernel's 8
  // summing lanes and its 64-column blocks, with remainders of both.
  for (const dtype of ['float64', 'float32'] as const) {
    it(`${dtype}: forward and the gradients of input, weight and bias`, () => {
      torch.manualSeed(12);
      const tol = dtype === 'float64' ? [1e-10, 1e-12] : [1e-4, 1e-5];
      const x = leaf(torch.randn([24, 33, 100], { dtype }).mul(3).add(1).detach());
      const w = leaf(torch.randn([100], { dtype })),
        b = leaf(torch.randn([100], { dtype }));
      const y = F.layerNorm(x, [100], { weight: w, bias: b });
      const mean = x.mean(-1, { keepdim: true });
      const variance = x.var(-1, { unbiased: false, keepdim: true });
      const ref = x.sub(mean).div(variance.add(1e-5).sqrt()).mul(w).add(b);
      expectClose(y, ref, tol[0], tol[1]);
      const g = torch.randn([24, 33, 100], { dtype });
      const got = torch.autograd.grad(y, [x, w, b], { gradOutputs: g });
      const want = torch.autograd.grad(ref, [x, w, b], { gradOutputs: g });
      for (let i = 0; i < 3; i++) expectClose(got[i]!, want[i]!, tol[0], tol[1]);
    });
  }
});

describe('a first-order backward runs the fused native kernel, createGraph the differentiable one (Note [nn backward])', () => {
  /** How often each named native kernel ran during f. */
  function calls(names: string[], f: () => void): Record<string, number> {
    const n: Record<string, number> = {};
    const table = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    const saved = names.map((k) => table[k]);
    names.forEach((k, i) => {
      n[k] = 0;
      table[k] = (...a: unknown[]) => {
        n[k]++;
        return saved[i](...a);
      };
    });
    try {
      f();
    } finally {
      names.forEach((k, i) => (table[k] = saved[i]));
    }
    return n;
  }
  const firstOrder = (y: Tensor, wrt: Tensor[]) => () => void torch.autograd.grad(y.sum(), wrt, { retainGraph: true });
  const createGraph = (y: Tensor, wrt: Tensor[]) => () => void torch.autograd.grad(y.sum(), wrt, { retainGraph: true, createGraph: true });
  it('conv2d: one fused call for input, weight and bias; two under createGraph', () => {
    const x = leaf(torch.randn([2, 3, 5, 5])),
      w = leaf(torch.randn([4, 3, 3, 3])),
      b = leaf(torch.randn([4]));
    const y = F.conv2d(x, w, b, { padding: 1 });
    expect(calls(['conv2dBackward'], firstOrder(y, [x, w, b]))).toEqual({ conv2dBackward: 1 });
    expect(calls(['conv2dBackward'], createGraph(y, [x, w, b]))).toEqual({ conv2dBackward: 2 });
  });
  it('batchNorm and crossEntropy: the fused kernel first-order, composites under createGraph', () => {
    const x = leaf(torch.randn([4, 3, 2])),
      w = leaf(torch.ones([3])),
      b = leaf(torch.zeros([3]));
    const bn = F.batchNorm(x, null, null, { weight: w, bias: b, training: true });
    expect(calls(['batchNormBackward'], firstOrder(bn, [x, w, b]))).toEqual({ batchNormBackward: 1 });
    expect(calls(['batchNormBackward'], createGraph(bn, [x, w, b]))).toEqual({ batchNormBackward: 0 });
    const logits = leaf(torch.randn([5, 4]));
    for (const ls of [0, 0.1]) {
      const ce = F.crossEntropy(logits, torch.tensor([0, 3, 1, 1, 2]), { labelSmoothing: ls });
      expect(calls(['nllLossBackward'], firstOrder(ce, [logits]))).toEqual({ nllLossBackward: 1 });
      expect(calls(['nllLossBackward'], createGraph(ce, [logits]))).toEqual({ nllLossBackward: 0 });
    }
  });
  it('layerNorm: the fused kernel first-order, composites under createGraph', () => {
    const x = leaf(torch.randn([4, 3, 5])),
      w = leaf(torch.randn([3, 5])),
      b = leaf(torch.randn([3, 5]));
    const y = F.layerNorm(x, [3, 5], { weight: w, bias: b });
    expect(calls(['layerNormBackward'], firstOrder(y, [x, w, b]))).toEqual({ layerNormBackward: 1 });
    expect(calls(['layerNormBackward'], createGraph(y, [x, w, b]))).toEqual({ layerNormBackward: 0 });
  });
  it('pooling: the native backward kernel once', () => {
    const x = leaf(torch.randn([1, 2, 6, 6]));
    expect(calls(['avgPool2dBackward'], firstOrder(F.avgPool2d(x, 2), [x]))).toEqual({ avgPool2dBackward: 1 });
    expect(calls(['adaptiveAvgPool2dBackward'], firstOrder(F.adaptiveAvgPool2d(x, [2, 3]), [x]))).toEqual({ adaptiveAvgPool2dBackward: 1 });
    expect(calls(['maxPool2dBackward'], firstOrder(F.maxPool2d(x, 2), [x]))).toEqual({ maxPool2dBackward: 1 });
  });
});

describe('maxPool2dWithIndices', () => {
  it('gives the flat in-plane index of each maximum, also without grad', () => {
    const x = torch.tensor([
      [
        [
          [1, 5, 2, 0],
          [3, 4, 9, 8],
          [0, 0, 1, 1],
          [7, 0, 2, 6],
        ],
      ],
    ]);
    const r = torch.noGrad(() => F.maxPool2dWithIndices(x.float(), 2));
    expect(r.values.tolist()).toEqual([
      [
        [
          [5, 9],
          [7, 6],
        ],
      ],
    ]);
    expect(r.indices.tolist()).toEqual([
      [
        [
          [1, 6],
          [12, 15],
        ],
      ],
    ]);
    expect(r.indices.dtype).toBe('int64');
    const viaOption = F.maxPool2d(x.float(), 2, { returnIndices: true });
    expect(viaOption.indices.tolist()).toEqual(r.indices.tolist());
    expect(viaOption.values.gradFn).toBe(null);
  });
  it('unbatched input gives unbatched indices', () => {
    const r = F.maxPool2dWithIndices(torch.arange(16).float().reshape([1, 4, 4]), 2);
    expect(r.indices.shape).toEqual([1, 2, 2]);
    expect(r.indices.tolist()).toEqual([
      [
        [5, 7],
        [13, 15],
      ],
    ]);
  });
});
