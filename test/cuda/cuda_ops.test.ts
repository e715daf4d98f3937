// Every op family on a CUDA device against the same op on the CPU (which the
// fixture tests hold to PyTorch): forward values, gradients, and where the
// results live. Runs only where torch.cuda.isAvailable(); elsewhere it says
// so in one line of output.
//
// KINDLING_CUDA_TESTS_ON_CPU=1 runs the same comparisons with the CPU
// standing in for the device: it checks this file's own logic on a machine
// without a GPU (the device-only checks, mixed devices and device memory,
// stay off then).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

const { nn, optim } = torch;
const F = torch.nn.functional;

const ON_CPU = process.env.KINDLING_CUDA_TESTS_ON_CPU === '1';
const available = torch.cuda.isAvailable();
const run = available || ON_CPU;
const DEV = ON_CPU ? 'cpu' : 'cuda';
/** The canonical name tensors report. */
const DEVICE = ON_CPU ? 'cpu' : 'cuda:0';

if (!run) {
  const why = torch.config().cuda ? 'no CUDA device found' : 'this build of kindling has no CUDA support';
  console.log(`test/cuda: skipped the CUDA tests of cuda_ops.test.ts: ${why} (torch.cuda.isAvailable() is false)`);
}

// A small seeded generator for shapes, so failures reproduce.
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function expectClose(actual: Tensor, expected: Tensor, what: string, tol = 1e-4): void {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  const a = Array.from(actual.cpu().toTypedArray() as ArrayLike<number | bigint>, Number);
  const e = Array.from(expected.cpu().toTypedArray() as ArrayLike<number | bigint>, Number);
  let worst = 0,
    at = -1;
  for (let i = 0; i < e.length; i++) {
    if (Number.isNaN(e[i]) && Number.isNaN(a[i])) continue;
    const d = Math.abs(a[i] - e[i]) / (1 + Math.abs(e[i]));
    if (!(d <= worst)) {
      worst = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  }
  expect(worst <= tol, `${what}: element ${at}: device ${a[at]} vs cpu ${e[at]}`).toBe(true);
}

const isFloat = (t: Tensor) => t.dtype === 'float32' || t.dtype === 'float64';

/**
 * Runs fn on CPU copies and on device copies of the inputs; compares the
 * outputs, then (when an output is a float that requires grad) backward
 * with one random upstream gradient, and every float input's gradient.
 */
function compare(what: string, inputs: Tensor[], fn: (...xs: Tensor[]) => Tensor | Tensor[], tol = 1e-4): void {
  const leaf = (t: Tensor, dev: string) => {
    const c = t.detach().to(dev).clone();
    return isFloat(c) ? c.requiresGrad_(true) : c;
  };
  const cpu = inputs.map((t) => leaf(t, 'cpu'));
  const dev = inputs.map((t) => leaf(t, DEV));
  const outC = [fn(...cpu)].flat();
  const outD = [fn(...dev)].flat();
  expect(outD.length).toBe(outC.length);
  outD.forEach((o, k) => {
    expect(o.device, `${what}: output ${k} device`).toBe(DEVICE);
    expectClose(o, outC[k], `${what}: output ${k}`, tol);
  });
  const diff = outC.map((o, k) => (o.requiresGrad ? k : -1)).filter((k) => k >= 0);
  if (diff.length === 0) return;
  let lossC: Tensor | null = null,
    lossD: Tensor | null = null;
  for (const k of diff) {
    const g = torch.randn(outC[k].shape, { dtype: outC[k].dtype });
    const tc = outC[k].mul(g).sum(),
      td = outD[k].mul(g.to(DEV)).sum();
    lossC = lossC ? lossC.add(tc) : tc;
    lossD = lossD ? lossD.add(td) : td;
  }
  lossC!.backward();
  lossD!.backward();
  cpu.forEach((c, i) => {
    if (c.grad === null) return;
    const gd = dev[i].grad;
    expect(gd, `${what}: input ${i} has a gradient on the device`).not.toBeNull();
    expect(gd!.device, `${what}: input ${i} grad device`).toBe(DEVICE);
    expectClose(gd!, c.grad, `${what}: input ${i} grad`, tol);
  });
}

describe.runIf(run)('CUDA tensors', () => {
  torch.manualSeed(0);
  const r = rng(7);
  const shape = (nd: number) => Array.from({ length: nd }, () => 1 + r(5));

  it('creation on the device: zeros/ones/full/arange/linspace/eye/tensor, random draws equal the CPU draws', () => {
    const checks: [Tensor, Tensor][] = [
      [torch.zeros([2, 3], { device: DEV }), torch.zeros([2, 3])],
      [torch.ones(4, { device: DEV, dtype: 'float64' }), torch.ones(4, { dtype: 'float64' })],
      [torch.full([3], 2.5, { device: DEV }), torch.full([3], 2.5)],
      [torch.arange(1, 10, 2, { device: DEV }), torch.arange(1, 10, 2)],
      [torch.linspace(0, 1, 5, { device: DEV }), torch.linspace(0, 1, 5)],
      [torch.eye(3, { device: DEV }), torch.eye(3)],
      [
        torch.tensor(
          [
            [1, 2],
            [3, 4],
          ],
          { device: DEV },
        ),
        torch.tensor([
          [1, 2],
          [3, 4],
        ]),
      ],
      [torch.tensor([true, false], { device: DEV }), torch.tensor([true, false])],
      [torch.zerosLike(torch.ones(2, { device: DEV })), torch.zeros(2)],
      [torch.fullLike(torch.ones(2, { device: DEV }), 7), torch.full([2], 7)],
    ];
    for (const [d, c] of checks) {
      expect(d.device).toBe(DEVICE);
      expect(d.tolist()).toEqual(c.tolist());
    }
    torch.manualSeed(5);
    const a = torch.randn([3, 4], { device: DEV });
    const b = torch.rand([5], { device: DEV });
    const i = torch.randint(0, 10, [6], { device: DEV });
    torch.manualSeed(5);
    expect(a.tolist()).toEqual(torch.randn([3, 4]).tolist());
    expect(b.tolist()).toEqual(torch.rand([5]).tolist());
    expect(i.tolist()).toEqual(torch.randint(0, 10, [6]).tolist());
    expect(torch.randn([2], { device: DEV, requiresGrad: true }).requiresGrad).toBe(true);
  });

  it('moves: to/cuda/cpu round trips, dtype and device together, identity on the same device, item/tolist/printing', () => {
    const x = torch.randn([3, 4]);
    const d = x.to(DEV);
    expect(d.device).toBe(DEVICE);
    expect(d.to(DEV)).toBe(d);
    expect(d.to(DEVICE)).toBe(d);
    expect(d.cpu().tolist()).toEqual(x.tolist());
    expect(d.tolist()).toEqual(x.tolist());
    expect(Array.from(d.toTypedArray() as Float32Array)).toEqual(Array.from(x.toTypedArray() as Float32Array));
    expect(d.index(1, 2).item()).toBe(x.index(1, 2).item());
    const both = x.to({ device: DEV, dtype: 'float64' });
    expect([both.device, both.dtype]).toEqual([DEVICE, 'float64']);
    // A strided view moves as its values.
    expect(x.t().to(DEV).tolist()).toEqual(x.t().tolist());
    if (!ON_CPU) {
      expect(x.cuda().device).toBe('cuda:0');
      expect(x.cuda(0).device).toBe('cuda:0');
      expect(String(torch.tensor([1, 2], { device: DEV }))).toBe("tensor([1, 2], device='cuda:0')");
      expect(String(torch.tensor([1.5], { device: DEV, requiresGrad: true }))).toBe(
        "tensor([1.5000], device='cuda:0', requires_grad=True)",
      );
      expect(String(torch.tensor([1], { device: DEV, dtype: 'int32' }))).toBe("tensor([1], device='cuda:0', dtype=torch.int32)");
    }
  });

  it('the gradient of a device move is the move back', () => {
    const x = torch.randn([4], { requiresGrad: true });
    const y = x.to(DEV).mul(3).sum();
    expect(y.device).toBe(DEVICE);
    y.backward();
    expect(x.grad!.device).toBe('cpu');
    expect(x.grad!.tolist()).toEqual([3, 3, 3, 3]);
    const w = torch.randn([3], { requiresGrad: true, device: DEV });
    w.cpu().pow(2).sum().backward();
    expect(w.grad!.device).toBe(DEVICE);
    expectClose(w.grad!, w.detach().mul(2), 'move back grad');
  });

  it('unary ops, scalar ops and in-place ops, contiguous and strided', () => {
    for (let k = 0; k < 4; k++) {
      const s = shape(1 + r(3));
      const x = torch.randn(s);
      const unary: [string, (t: Tensor) => Tensor][] = [
        ['exp', (t) => t.exp()],
        ['log', (t) => t.abs().add(0.5).log()],
        ['sqrt', (t) => t.abs().add(0.1).sqrt()],
        ['rsqrt', (t) => t.abs().add(0.5).rsqrt()],
        ['sin', (t) => t.sin()],
        ['cos', (t) => t.cos()],
        ['tanh', (t) => t.tanh()],
        ['sigmoid', (t) => t.sigmoid()],
        ['relu', (t) => t.relu()],
        ['gelu', (t) => F.gelu(t)],
        ['gelu tanh', (t) => F.gelu(t, { approximate: 'tanh' })],
        ['neg', (t) => t.neg()],
        ['abs', (t) => t.abs()],
        ['reciprocal', (t) => t.add(3).reciprocal()],
        ['clamp', (t) => t.clamp(-0.5, 0.5)],
        ['pow 3', (t) => t.pow(3)],
        ['pow 0.5', (t) => t.abs().add(1).pow(0.5)],
        ['log1p', (t) => t.abs().log1p()],
        ['leakyRelu', (t) => F.leakyRelu(t, 0.1)],
        ['sign', (t) => t.sign()],
        ['floor', (t) => t.floor()],
        ['round', (t) => t.round()],
        ['square', (t) => t.square()],
        ['scalar ops', (t) => t.mul(2).add(1).sub(0.5).div(4).rsub(1)],
        ['number / tensor', (t) => torch.div(2, t.abs().add(1))],
        ['number ** tensor', (t) => torch.pow(2, t)],
        ['transposed', (t) => (t.ndim >= 2 ? t.transpose(0, 1).exp() : t.exp())],
        [
          'expanded',
          (t) =>
            t
              .unsqueeze(0)
              .expand([2, ...t.shape])
              .mul(t),
        ],
        [
          'in place',
          (t) => {
            const c = t.mul(1);
            c.mul_(2).add_(1).sub_(t).div_(3);
            return c;
          },
        ],
      ];
      for (const [name, f] of unary) compare(`${name} ${JSON.stringify(s)}`, [x], f, 1e-4);
    }
  });

  it('binary ops broadcast, promote, compare; CPU scalars join the device', () => {
    for (let k = 0; k < 4; k++) {
      const s = shape(3);
      const sb = s.map((v) => (r(2) ? v : 1));
      const a = torch.randn(s),
        b = torch.randn(sb.slice(r(3)));
      const ops: [string, (x: Tensor, y: Tensor) => Tensor][] = [
        ['add', (x, y) => x.add(y, { alpha: 2 })],
        ['sub', (x, y) => x.sub(y)],
        ['mul', (x, y) => x.mul(y)],
        ['div', (x, y) => x.div(y.abs().add(1))],
        ['pow', (x, y) => x.abs().add(1).pow(y)],
        ['maximum', (x, y) => x.maximum(y)],
        ['minimum', (x, y) => x.minimum(y)],
        ['where', (x, y) => torch.where(x.gt(y), x, y)],
        ['where scalar', (x, y) => torch.where(x.gt(0), x, 0.5).mul(y)],
        ['eq', (x, y) => x.eq(y)],
        ['lt', (x, y) => x.lt(y)],
        ['ge', (x, y) => x.ge(y)],
        ['int promote', (x, y) => x.mul(y.gt(0).long())],
        ['float64 promote', (x, y) => x.double().add(y)],
      ];
      for (const [name, f] of ops) compare(`${name} ${JSON.stringify(s)} ${JSON.stringify(b.shape)}`, [a, b], f);
    }
    // A 0-d CPU tensor with a device tensor: PyTorch's CPU-scalar rule, gradients back on the CPU.
    const s = torch.tensor(2.5, { requiresGrad: true });
    const x = torch.randn([3], { device: DEV, requiresGrad: true });
    const y = x.mul(s).add(s).sum();
    expect(y.device).toBe(DEVICE);
    y.backward();
    expect(s.grad!.device).toBe('cpu');
    expectClose(s.grad!, x.detach().cpu().sum().add(3), 'cpu scalar grad');
  });

  it('reductions, softmax and arg reductions', () => {
    for (let k = 0; k < 4; k++) {
      const s = shape(3);
      const x = torch.randn(s);
      const d = r(3);
      const ops: [string, (t: Tensor) => Tensor | Tensor[]][] = [
        ['sum', (t) => t.sum()],
        ['sum dim', (t) => t.sum(d)],
        ['sum dims keepdim', (t) => t.sum([0, 2], { keepdim: true })],
        ['mean', (t) => t.mean(d)],
        ['var', (t) => t.var(d)],
        ['std', (t) => t.std()],
        ['prod', (t) => t.prod(d)],
        ['amax', (t) => t.amax(d)],
        ['amin', (t) => t.amin([0, 1])],
        ['max', (t) => t.max()],
        [
          'max dim',
          (t) => {
            const m = t.max(d);
            return [m.values, m.indices];
          },
        ],
        [
          'min dim keepdim',
          (t) => {
            const m = t.min(d, { keepdim: true });
            return [m.values, m.indices];
          },
        ],
        ['argmax', (t) => t.argmax(d)],
        ['argmin', (t) => t.argmin()],
        ['logsumexp', (t) => t.logsumexp(d)],
        ['norm', (t) => t.norm()],
        ['norm 1 dim', (t) => t.norm(1, d)],
        ['softmax', (t) => t.softmax(d)],
        ['logSoftmax', (t) => t.logSoftmax(-1)],
        ['any', (t) => t.gt(0).any()],
        ['all dim', (t) => t.gt(-5).all(d)],
        ['strided sum', (t) => t.transpose(0, 2).sum(1)],
      ];
      for (const [name, f] of ops) compare(`${name} ${JSON.stringify(s)} dim ${d}`, [x], f, 1e-4);
    }
  });

  it('shape ops and copies: views, cat/stack/split, contiguous of permutes', () => {
    const x = torch.randn([2, 3, 4]),
      y = torch.randn([2, 5, 4]);
    const ops: [string, (a: Tensor, b: Tensor) => Tensor | Tensor[]][] = [
      ['view', (a) => a.view(6, 4).mul(2)],
      ['reshape permuted', (a) => a.permute(2, 0, 1).reshape(4, 6)],
      ['contiguous', (a) => a.transpose(1, 2).contiguous()],
      ['flatten', (a) => a.flatten(1)],
      ['narrow', (a) => a.narrow(1, 1, 2)],
      ['select', (a) => a.select(2, 3)],
      ['slices', (a) => a.index('...', '::2')],
      ['cat', (a, b) => torch.cat([a, b], 1)],
      ['stack', (a) => torch.stack([a, a.mul(2)], 1)],
      ['split', (a) => a.split(1, 1)],
      ['chunk', (a) => a.chunk(2, 2)],
      ['repeat', (a) => a.repeat(1, 2, 1)],
      ['unsqueeze squeeze', (a) => a.unsqueeze(1).squeeze(1)],
      ['expand', (a) => a.narrow(1, 0, 1).expand(2, 3, 4).add(a)],
      ['clone', (a) => a.clone()],
    ];
    for (const [name, f] of ops) compare(name, [x, y], f);
  });

  it('indexing: advanced, masks, indexPut_, indexSelect, gather, scatterAdd, maskedFill', () => {
    const x = torch.randn([5, 4, 3]);
    const idx = torch.tensor([4, 0, 2, 2]);
    const ops: [string, (a: Tensor, i: Tensor) => Tensor][] = [
      ['index tensor', (a, i) => a.index(i)],
      ['index array', (a) => a.index(':', [0, 3, -1])],
      ['index pairs', (a, i) => a.index(i, torch.tensor([1, 1, 0, 3], { device: i.device }))],
      ['index mask', (a) => a.index(a.select(2, 0).gt(0))],
      ['indexSelect', (a, i) => a.indexSelect(0, i)],
      ['gather', (a) => a.gather(1, torch.tensor([[[0, 1, 2]], [[3, 3, 3]], [[1, 0, 1]], [[2, 2, 0]], [[0, 0, 0]]], { device: a.device }))],
      [
        'scatterAdd',
        (a) =>
          torch
            .zeros([5, 4, 3], { device: a.device })
            .scatterAdd(
              1,
              torch.tensor([[[0, 1, 2]], [[3, 3, 3]], [[1, 0, 1]], [[2, 2, 0]], [[0, 0, 0]]], { device: a.device }),
              a.narrow(1, 0, 1),
            ),
      ],
      ['maskedFill', (a) => a.maskedFill(a.lt(0), 0.25)],
      [
        'indexPut_',
        (a, i) => {
          const c = a.mul(1);
          c.indexPut_([i], 3);
          c.indexPut_(['1:3', 0], torch.tensor(-1.0));
          return c;
        },
      ],
      [
        'indexPut_ mask',
        (a) => {
          const c = a.mul(1);
          c.indexPut_([c.gt(0.5)], 0);
          return c;
        },
      ],
    ];
    for (const [name, f] of ops) compare(name, [x, idx], f);
    // A CPU index may pick from a device tensor (x[cpu_idx]), as in PyTorch.
    const d = x.to(DEV);
    expect(d.index(idx).device).toBe(DEVICE);
    expectClose(d.index(idx), x.index(idx), 'cpu index');
  });

  it('matrix products: mm, bmm, broadcast matmul, dot, mv, transposed operands, integers', () => {
    for (let k = 0; k < 3; k++) {
      const m = 1 + r(6),
        n = 1 + r(6),
        kk = 1 + r(6),
        b = 1 + r(3);
      compare('mm', [torch.randn([m, kk]), torch.randn([kk, n])], (a, c) => a.mm(c));
      compare('mm transposed', [torch.randn([kk, m]), torch.randn([n, kk])], (a, c) => a.t().mm(c.t()));
      compare('bmm', [torch.randn([b, m, kk]), torch.randn([b, kk, n])], (a, c) => a.bmm(c));
      compare('matmul broadcast', [torch.randn([b, 1, m, kk]), torch.randn([3, kk, n])], (a, c) => a.matmul(c));
      compare('dot', [torch.randn([kk]), torch.randn([kk])], (a, c) => a.dot(c));
      compare('mv', [torch.randn([m, kk]), torch.randn([kk])], (a, c) => a.mv(c));
      compare(
        'matmul float64',
        [torch.randn([m, kk], { dtype: 'float64' }), torch.randn([kk, n], { dtype: 'float64' })],
        (a, c) => a.matmul(c),
        1e-10,
      );
      compare('matmul int64', [torch.randint(-5, 5, [m, kk]), torch.randint(-5, 5, [kk, n])], (a, c) => a.matmul(c), 0);
    }
    compare('large mm', [torch.randn([130, 257]), torch.randn([257, 70])], (a, c) => a.mm(c), 1e-4);
  });

  it('nn functional: linear, conv2d, pooling, norms, embedding, dropout, losses', () => {
    const x4 = torch.randn([2, 4, 9, 8]);
    compare('linear', [torch.randn([5, 7]), torch.randn([3, 7]), torch.randn([3])], (a, w, b) => F.linear(a, w, b));
    compare('conv2d', [x4, torch.randn([6, 4, 3, 3]), torch.randn([6])], (a, w, b) => F.conv2d(a, w, b, { stride: 2, padding: 1 }));
    compare('conv2d groups dilation', [x4, torch.randn([4, 2, 3, 2])], (a, w) =>
      F.conv2d(a, w, null, { groups: 2, dilation: [2, 1], padding: [1, 0] }),
    );
    compare('conv2d strided input', [x4], (a) => F.conv2d(a.transpose(2, 3), torch.ones([3, 4, 2, 2], { device: a.device }), null));
    // conv1d and the transposed convolutions run on conv2d's kernels (Note [1-d convolution]).
    const x3 = torch.randn([2, 4, 11]);
    compare('conv1d', [x3, torch.randn([6, 2, 3]), torch.randn([6])], (a, w, b) => F.conv1d(a, w, b, { stride: 2, padding: 1, groups: 2 }));
    compare('convTranspose1d', [x3, torch.randn([4, 3, 3]), torch.randn([6])], (a, w, b) =>
      F.convTranspose1d(a, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dilation: 2 }),
    );
    compare('convTranspose2d', [x4, torch.randn([4, 3, 3, 2]), torch.randn([3])], (a, w, b) =>
      F.convTranspose2d(a, w, b, { stride: [2, 1], padding: [1, 0], outputPadding: [1, 0] }),
    );
    compare('maxPool2d', [x4], (a) => F.maxPool2d(a, 2));
    compare('maxPool2d padded', [x4], (a) => F.maxPool2d(a, 3, { stride: 2, padding: 1 }));
    compare('avgPool2d', [x4], (a) => F.avgPool2d(a, 3, { stride: 2, padding: 1 }));
    compare('adaptiveAvgPool2d', [x4], (a) => F.adaptiveAvgPool2d(a, [3, 2]));
    compare('batchNorm train', [x4, torch.randn([4]), torch.randn([4])], (a, w, b) =>
      F.batchNorm(a, torch.zeros(4, { device: a.device }), torch.ones(4, { device: a.device }), { weight: w, bias: b, training: true }),
    );
    compare('batchNorm eval', [x4, torch.rand([4]).add(0.5)], (a, rv) =>
      F.batchNorm(a, torch.full([4], 0.1, { device: a.device }), rv.detach(), { training: false }),
    );
    compare('layerNorm', [torch.randn([3, 5, 6]), torch.randn([5, 6]), torch.randn([5, 6])], (a, w, b) =>
      F.layerNorm(a, [5, 6], { weight: w, bias: b }),
    );
    compare(
      'embedding',
      [
        torch.randn([7, 3]),
        torch.tensor([
          [0, 6],
          [2, 2],
        ]),
      ],
      (w, i) => F.embedding(i, w, { paddingIdx: 2 }),
    );
    compare('oneHot', [torch.tensor([0, 3, 1])], (i) => F.oneHot(i, 5));
    compare('dropout p=0 and p=1', [torch.randn([10])], (a) => F.dropout(a, 0, true).add(F.dropout(a, 1, true)));
    const logits = torch.randn([6, 5]),
      target = torch.tensor([0, 4, 2, 2, 1, 3]);
    compare('crossEntropy', [logits, target], (a, t) => F.crossEntropy(a, t));
    compare('crossEntropy weighted smoothing ignore', [logits, target, torch.rand([5])], (a, t, w) =>
      F.crossEntropy(a, t, { weight: w.detach(), labelSmoothing: 0.1, ignoreIndex: 2 }),
    );
    compare('crossEntropy none 4d', [torch.randn([2, 5, 3, 3]), torch.randint(0, 5, [2, 3, 3])], (a, t) =>
      F.crossEntropy(a, t, { reduction: 'none' }),
    );
    compare('crossEntropy probabilities', [logits, torch.rand([6, 5]).softmax(1)], (a, p) => F.crossEntropy(a, p.detach()));
    compare('nllLoss', [logits, target], (a, t) => F.nllLoss(a.logSoftmax(1), t, { reduction: 'sum' }));
    compare('mseLoss', [torch.randn([4, 3]), torch.randn([4, 3])], (a, b) => F.mseLoss(a, b));
    compare('l1Loss', [torch.randn([4, 3]), torch.randn([4, 3])], (a, b) => F.l1Loss(a, b, { reduction: 'sum' }));
    compare('bce', [torch.rand([8]).mul(0.9).add(0.05), torch.rand([8])], (a, b) => F.binaryCrossEntropy(a, b));
    compare('bceWithLogits', [torch.randn([8]), torch.rand([8]), torch.rand([8])], (a, b, pw) =>
      F.binaryCrossEntropyWithLogits(a, b, { posWeight: pw }),
    );
  });

  it('double backward (createGraph) and gradcheck on the device', () => {
    const x = torch.randn([5], { dtype: 'float64', device: DEV, requiresGrad: true });
    const [g] = torch.autograd.grad([x.pow(3).sum()], [x], { createGraph: true });
    const [gg] = torch.autograd.grad([g!.sum()], [x]);
    expect(gg!.device).toBe(DEVICE);
    expectClose(gg!, x.detach().mul(6), 'second derivative', 1e-10);
    const w = torch.randn([3, 2], { dtype: 'float64', device: DEV, requiresGrad: true });
    const a = torch.randn([2, 3, 4, 4], { dtype: 'float64', device: DEV, requiresGrad: true });
    expect(
      torch.autograd.gradcheck(
        (t: Tensor, m: Tensor) => t.tanh().matmul(m).logSoftmax(1),
        [torch.randn([4, 3], { dtype: 'float64', device: DEV, requiresGrad: true }), w],
      ),
    ).toBe(true);
    expect(torch.autograd.gradcheck((t: Tensor) => F.maxPool2d(t.sigmoid(), 2).sum(1), [a])).toBe(true);
  });

  it('modules move in place with their buffers and grads; optimizers step on device parameters as on the CPU', () => {
    const build = () => {
      torch.manualSeed(1);
      return new nn.Sequential(
        new nn.Conv2d(1, 4, 3, { padding: 1 }),
        new nn.BatchNorm2d(4),
        new nn.ReLU(),
        new nn.Flatten(),
        new nn.Linear(4 * 6 * 6, 3),
      );
    };
    const x = torch.randn([5, 1, 6, 6]),
      y = torch.tensor([0, 2, 1, 1, 0]);
    const makers: [string, (p: Tensor[]) => torch.optim.Optimizer][] = [
      ['SGD', (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
      ['Adam', (p) => new optim.Adam(p, { lr: 1e-2, amsgrad: true })],
      ['AdamW', (p) => new optim.AdamW(p, { lr: 1e-2 })],
      ['RMSprop', (p) => new optim.RMSprop(p, { lr: 1e-3, momentum: 0.5, centered: true })],
      ['Adagrad', (p) => new optim.Adagrad(p, { lr: 1e-2 })],
    ];
    for (const [name, make] of makers) {
      const mc = build(),
        md = build();
      const params = md.parameters();
      expect(md.to(DEV)).toBe(md);
      // The same Parameter objects, now on the device (buffers too).
      md.parameters().forEach((p, i) => {
        expect(p).toBe(params[i]);
        expect(p.device).toBe(DEVICE);
      });
      expect(md.buffers().every((b) => b.device === DEVICE)).toBe(true);
      const oc = make(mc.parameters()),
        od = make(md.parameters());
      const xd = x.to(DEV),
        yd = y.to(DEV);
      for (let s = 0; s < 3; s++) {
        for (const [m, o, xb, yb] of [
          [mc, oc, x, y],
          [md, od, xd, yd],
        ] as const) {
          o.zeroGrad();
          F.crossEntropy(m.forward(xb) as Tensor, yb).backward();
          o.step();
        }
      }
      const sc = mc.stateDict(),
        sd = md.stateDict();
      for (const k of Object.keys(sc)) expectClose(sd[k], sc[k], `${name} ${k}`, 1e-3);
      const st = od.stateDict().state[0] as Record<string, unknown>;
      for (const v of Object.values(st)) if (v instanceof torch.Tensor) expect(v.device).toBe(DEVICE);
      // A module moved back keeps working on the CPU, grads moved with it.
      md.cpu();
      expect(md.parameters().every((p) => p.device === 'cpu' && (p.grad === null || p.grad.device === 'cpu'))).toBe(true);
      expect((md.forward(x) as Tensor).device).toBe('cpu');
      // Optimizer state loads onto its parameters' device.
      const o2 = make(build().to(DEV).parameters());
      o2.loadStateDict(oc.stateDict());
      const st2 = o2.stateDict().state[0] as Record<string, unknown>;
      for (const v of Object.values(st2)) if (v instanceof torch.Tensor) expect(v.device).toBe(DEVICE);
    }
  });

  it('a few MNIST-shaped training steps on the device match the CPU loss', () => {
    const build = () => {
      torch.manualSeed(0);
      return new nn.Sequential(
        new nn.Lambda((t: Tensor) => t.view(-1, 1, 28, 28)),
        new nn.Conv2d(1, 16, 3, { stride: 2, padding: 1 }),
        new nn.ReLU(),
        new nn.Conv2d(16, 10, 3, { stride: 2, padding: 1 }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
        new nn.Linear(10 * 3 * 3, 10),
      );
    };
    torch.manualSeed(3);
    const data = torch.rand([64, 784]),
      labels = torch.randint(0, 10, [64]);
    const ds = new torch.utils.data.TensorDataset(data, labels);
    const losses: number[][] = [];
    for (const device of ['cpu', DEV]) {
      const model = build().to(device);
      const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const loader = new torch.utils.data.DataLoader(ds, { batchSize: 16, shuffle: true, generator: { seed: 4 }, device });
      const out: number[] = [];
      for (let epoch = 0; epoch < 2; epoch++) {
        for (const [xb, yb] of loader) {
          expect(xb.device).toBe(device === 'cpu' ? 'cpu' : DEVICE);
          const loss = F.crossEntropy(model.forward(xb) as Tensor, yb);
          opt.zeroGrad();
          loss.backward();
          opt.step();
          out.push(loss.item());
        }
      }
      losses.push(out);
    }
    expect(losses[1].length).toBe(8);
    losses[1].forEach((l, i) => expect(Math.abs(l - losses[0][i]), `step ${i}: ${l} vs ${losses[0][i]}`).toBeLessThan(1e-3));
  });

  it('DataLoader device option moves item batches and batches of a device dataset', () => {
    const items = [
      { x: torch.ones(2), n: 1 },
      { x: torch.zeros(2), n: 2 },
    ];
    const [b] = [...new torch.utils.data.DataLoader(items, { batchSize: 2, device: DEV })] as unknown as { x: Tensor; n: Tensor }[];
    expect(b.x.device).toBe(DEVICE);
    expect(b.x.tolist()).toEqual([
      [1, 1],
      [0, 0],
    ]);
    const ds = new torch.utils.data.TensorDataset(torch.arange(10).to(DEV), torch.arange(10).mul(2).to(DEV));
    const seen: number[] = [];
    for (const [a, c] of new torch.utils.data.DataLoader(ds, { batchSize: 3, shuffle: true })) {
      expect(a.device).toBe(DEVICE);
      expect(c.tolist()).toEqual(a.mul(2).tolist());
      seen.push(...(a.tolist() as number[]));
    }
    expect(seen.sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('save writes device tensors from their host copies; load puts them on the asked device', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kd-cuda-'));
    try {
      const w = torch.randn([3, 4]);
      const path = join(dir, 'm.safetensors');
      torch.save({ w: w.to(DEV).t(), n: torch.arange(3).to(DEV) }, path);
      const host = torch.load(path);
      expect(host.w.device).toBe('cpu');
      expect(host.w.tolist()).toEqual(w.t().tolist());
      const back = torch.load(path, { device: DEV });
      expect(back.w.device).toBe(DEVICE);
      expect(back.n.tolist()).toEqual([0, 1, 2]);
      expect(torch.load(path, { mapLocation: DEV }).n.device).toBe(DEVICE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(available && !ON_CPU)('CUDA-only behaviour', () => {
  it('mixed devices throw errors naming the op and both devices', () => {
    const c = torch.randn([3]),
      d = torch.randn([3], { device: 'cuda' });
    const both = /cpu and cuda:0|cuda:0 and cpu/;
    for (const [op, f] of [
      ['add', () => c.add(d)],
      ['mul', () => d.mul(c)],
      ['matmul', () => c.view(1, 3).matmul(d.view(3, 1))],
      ['cat', () => torch.cat([c, d])],
      ['where', () => torch.where(c.gt(0), c, d)],
      ['linear', () => F.linear(d.view(1, 3), c.view(1, 3))],
      ['crossEntropy', () => F.crossEntropy(d.view(1, 3), torch.tensor([1]))],
      ['gather', () => d.gather(0, torch.tensor([0]))],
      ['indexSelect', () => d.indexSelect(0, torch.tensor([0]))],
      ['conv2d', () => F.conv2d(torch.randn([1, 1, 3, 3], { device: 'cuda' }), torch.randn([1, 1, 2, 2]))],
      ['embedding', () => F.embedding(torch.tensor([0]), d.view(3, 1))],
    ] as const) {
      let msg = '';
      try {
        f();
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg.startsWith(`${op}: `), `${op}: ${msg}`).toBe(true);
      expect(msg, op).toMatch(both);
    }
    // copy_ is how values cross devices, and backward refuses a gradient on the wrong device.
    const t = torch.zeros(3);
    t.copy_(d);
    expect(t.tolist()).toEqual(d.tolist());
    const y = torch.randn([2], { device: 'cuda', requiresGrad: true }).mul(2);
    expect(() => y.backward(torch.ones(2))).toThrow(/expected device cuda:0 but got cpu/);
    expect(() => (torch.randn([2], { requiresGrad: true }).grad = torch.zeros(2, { device: 'cuda' }))).toThrow(/^grad: /);
  });

  it('dispose frees device memory at once; a disposed tensor throws when used', () => {
    torch.cuda.synchronize();
    const before = torch.cuda.memoryAllocated();
    const big = torch.zeros([1024, 1024], { device: 'cuda' });
    const during = torch.cuda.memoryAllocated();
    expect(during - before).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    const view = big.narrow(0, 0, 2);
    big.dispose();
    expect(torch.cuda.memoryAllocated()).toBeLessThanOrEqual(before);
    expect(() => view.add(1)).toThrow(/disposed/);
    expect(() => big.sum()).toThrow(/disposed/);
    expect(torch.cuda.memoryReserved()).toBeGreaterThanOrEqual(torch.cuda.memoryAllocated());
    torch.cuda.emptyCache();
    expect(typeof torch.cuda.getDeviceName()).toBe('string');
    expect(torch.cuda.currentDevice()).toBe(0);
  });

  it('manualSeed seeds the device generator: in-place draws on the device repeat', () => {
    torch.manualSeed(9);
    const a = torch.empty([100], { device: 'cuda' }).normal_().tolist();
    const m1 = F.dropout(torch.ones([100], { device: 'cuda' }), 0.5, true).tolist();
    torch.manualSeed(9);
    expect(torch.empty([100], { device: 'cuda' }).normal_().tolist()).toEqual(a);
    expect(F.dropout(torch.ones([100], { device: 'cuda' }), 0.5, true).tolist()).toEqual(m1);
  });
});
