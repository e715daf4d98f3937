// The fused attention kernel (lib/ops/attention.ts, native/cpu/attention.cc)
// and the batched matmul over two batch strides, against PyTorch-made
// fixtures (test/fixtures/nn_fused_attention.json, made by
// scripts/make_fused_attention_fixtures.py): sizes that cross the kernel's
// query blocks, causal and mask variants, transposed heads; float64
// gradcheck and gradgradcheck through the op.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as torch from '../../lib/index.js';
import { native } from '../../lib/backend/native.js';
import { scaledDotProductFusedAttention } from '../../lib/ops/attention.js';
import type { Tensor } from '../../lib/tensor.js';
import { expectTensor, makeTensor, type TensorSpec, type ToleranceTable } from '../helpers/fixtures.js';

const F = torch.nn.functional;

interface SdpaCase {
  name: string;
  transpose: boolean;
  kwargs: { isCausal?: boolean; scale?: number };
  inputs: TensorSpec[];
  output: TensorSpec;
  gout: TensorSpec;
  grads: (TensorSpec | null)[];
}

interface MatmulCase {
  name: string;
  a: TensorSpec;
  b: TensorSpec;
  a_perm: number[];
  b_perm: number[];
  output: TensorSpec;
  gout: TensorSpec;
  grads: [TensorSpec, TensorSpec];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_fused_attention.json', import.meta.url), 'utf8')) as {
  sdpa: SdpaCase[];
  matmul: MatmulCase[];
};

// Sums of up to 130 products in another order than PyTorch's.
const TOL: ToleranceTable = { float32: { rtol: 1e-4, atol: 2e-5 }, float64: { rtol: 1e-9, atol: 1e-11 } };

afterEach(() => vi.restoreAllMocks());

describe('F.scaledDotProductAttention through the fused kernel', () => {
  it('the fixture covers causal, masks, broadcasting, transposed heads and float64', () => {
    expect(fx.sdpa.map((c) => c.name)).toEqual(
      expect.arrayContaining(['causal_square_blocks', 'bool_mask_broadcast_blocks', 'float_mask_per_head', 'transposed_heads_causal']),
    );
  });

  for (const c of fx.sdpa) {
    it(c.name, () => {
      const leaves = c.inputs.slice(0, 3).map((s) => makeTensor(s, { requiresGrad: true }));
      const mask = c.inputs.length > 3 ? makeTensor(c.inputs[3]) : null;
      const [q, k, v] = c.transpose ? leaves.map((t) => t.transpose(1, 2)) : leaves;
      const out = F.scaledDotProductAttention(q, k, v, { attnMask: mask, ...c.kwargs });
      // The fused op ran (its node), not the composite.
      expect(out.gradFn?.name).toMatch(/ScaledDotProductFlashAttentionBackward0|ViewBackward0/);
      expectTensor(out, c.output, `${c.name} output`, [TOL]);
      out.backward(makeTensor(c.gout));
      leaves.forEach((t, i) => expectTensor(t.grad, c.grads[i]!, `${c.name} grad ${i}`, [TOL]));
    });
  }

  it('records the fused node on 4-d input and runs one native forward call', () => {
    const c = fx.sdpa.find((x) => x.name === 'causal_square_blocks')!;
    const [q, k, v] = c.inputs.map((s) => makeTensor(s, { requiresGrad: true }));
    const spy = vi.spyOn(native, 'attention');
    const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(out.gradFn?.name).toBe('ScaledDotProductFlashAttentionBackward0');
  });

  it('the createGraph gradients (written with ops) equal the fused native backward', () => {
    const c = fx.sdpa.find((x) => x.name === 'float64_bool_mask')!;
    const [q, k, v] = c.inputs.slice(0, 3).map((s) => makeTensor(s, { requiresGrad: true }));
    const mask = makeTensor(c.inputs[3]);
    const g = makeTensor(c.gout);
    const run = () => F.scaledDotProductAttention(q, k, v, { attnMask: mask });
    const fused = torch.autograd.grad([run()], [q, k, v], { gradOutputs: [g] });
    const graph = torch.autograd.grad([run()], [q, k, v], { gradOutputs: [g], createGraph: true });
    for (let i = 0; i < 3; i++) {
      expect(graph[i]!.requiresGrad).toBe(true);
      expect(fused[i]!.allclose(graph[i]!.detach(), { rtol: 1e-10, atol: 1e-12 })).toBe(true);
    }
  });

  it('passes float64 gradcheck and gradgradcheck: plain, causal, bool and float masks, broadcast batch', () => {
    torch.manualSeed(3);
    const d = { dtype: 'float64' as const, requiresGrad: true };
    const q = torch.randn([2, 2, 5, 3], d),
      k = torch.randn([2, 1, 7, 3], d),
      v = torch.randn([1, 2, 7, 4], d);
    const keep = torch.rand([5, 7]).lt(0.7);
    keep.index(':', 0).fill_(1);
    const bias = torch.randn([2, 1, 5, 7], { dtype: 'float64' });
    const fns: [string, (a: Tensor, b: Tensor, c: Tensor) => Tensor][] = [
      ['plain', (a, b, c) => F.scaledDotProductAttention(a, b, c)],
      ['causal', (a, b, c) => F.scaledDotProductAttention(a, b, c, { isCausal: true })],
      ['bool mask', (a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: keep })],
      ['float mask, scale', (a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: bias, scale: 0.7 })],
    ];
    for (const [name, f] of fns) {
      expect(f(q, k, v).gradFn?.name, name).toBe('ScaledDotProductFlashAttentionBackward0');
      expect(torch.autograd.gradcheck(f, [q, k, v]), `${name}: gradcheck`).toBe(true);
      expect(torch.autograd.gradgradcheck(f, [q, k, v]), `${name}: gradgradcheck`).toBe(true);
    }
  });

  it('MultiheadAttention without weights runs the fused kernel and matches the composite (needWeights) path', () => {
    torch.manualSeed(5);
    const mha = new torch.nn.MultiheadAttention(16, 4, { batchFirst: true });
    const x = torch.randn([3, 70, 16]);
    const spy = vi.spyOn(native, 'attention');
    const [fast] = mha.forward(x, x, x, { needWeights: false });
    expect(spy).toHaveBeenCalledTimes(1);
    const [slow, w] = mha.forward(x, x, x, { needWeights: true });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(w!.shape).toEqual([3, 70, 70]);
    expect(fast.allclose(slow, { rtol: 1e-4, atol: 1e-6 })).toBe(true);
  });

  it('the op refuses bad arguments naming itself', () => {
    const q = torch.randn([1, 1, 3, 4]);
    expect(() => scaledDotProductFusedAttention(q, torch.randn([1, 1, 5, 3]), torch.randn([1, 1, 5, 2]))).toThrow(
      /scaledDotProductFusedAttention: key \[1, 1, 5, 3\] and value \[1, 1, 5, 2\] do not fit query \[1, 1, 3, 4\]/,
    );
    expect(() => scaledDotProductFusedAttention(q, q, q, torch.ones([3, 3], { dtype: 'bool' }), { isCausal: true })).toThrow(
      /scaledDotProductFusedAttention: an explicit attnMask must not be given with isCausal/,
    );
    expect(() => scaledDotProductFusedAttention(q, q, q, torch.ones([2, 3]))).toThrow(
      /scaledDotProductFusedAttention: shapes \[2, 3\] and \[1, 1, 3, 3\] cannot be broadcast/,
    );
    expect(() => scaledDotProductFusedAttention(q.view([3, 4]), q, q)).toThrow(/expected 4-d query, key and value/);
    expect(() => scaledDotProductFusedAttention(q.int(), q.int(), q.int())).toThrow(/expected float32 or float64/);
  });
});

describe('batched matmul over two batch strides', () => {
  for (const c of fx.matmul) {
    it(c.name, () => {
      const a = makeTensor(c.a, { requiresGrad: true }),
        b = makeTensor(c.b, { requiresGrad: true });
      const out = a.permute(...c.a_perm).matmul(b.permute(...c.b_perm));
      expectTensor(out, c.output, `${c.name} output`, [TOL]);
      out.backward(makeTensor(c.gout));
      expectTensor(a.grad, c.grads[0], `${c.name} grad a`, [TOL]);
      expectTensor(b.grad, c.grads[1], `${c.name} grad b`, [TOL]);
    });
  }

  it('reads transposed heads in place: one native call on 4-d views of the inputs own memory', () => {
    const c = fx.matmul.find((x) => x.name === 'heads_q_kt')!;
    const a = makeTensor(c.a),
      b = makeTensor(c.b);
    const spy = vi.spyOn(native, 'matmul');
    const out = a.permute(...c.a_perm).matmul(b.permute(...c.b_perm));
    expect(spy).toHaveBeenCalledTimes(1);
    const [ra, rb, ro] = spy.mock.calls[0];
    expect(ra[2]).toEqual([2, 3, 9, 5]);
    expect(ra[0]).toBe(a._storage.data);
    expect(rb[0]).toBe(b._storage.data);
    expect(ro[2]).toEqual([2, 3, 9, 7]);
    expectTensor(out, c.output, 'in place', [TOL]);
  });

  it('passes float64 gradcheck and gradgradcheck on transposed heads', () => {
    torch.manualSeed(2);
    const a = torch.randn([2, 4, 3, 5], { dtype: 'float64', requiresGrad: true });
    const b = torch.randn([2, 6, 3, 5], { dtype: 'float64', requiresGrad: true });
    const f = (x: Tensor, y: Tensor) => x.transpose(1, 2).matmul(y.permute(0, 2, 3, 1));
    expect(torch.autograd.gradcheck(f, [a, b])).toBe(true);
    expect(torch.autograd.gradgradcheck(f, [a, b])).toBe(true);
  });

  it('a linear layer on a transposed batch: the weight gradient is one 2-D product', () => {
    torch.manualSeed(4);
    const x = torch.randn([6, 5, 8]).transpose(0, 1);
    const w = torch.randn([3, 8], { requiresGrad: true });
    const y = x.matmul(w.t());
    const g = torch.randn(y.shape);
    const spy = vi.spyOn(native, 'matmul');
    y.backward(g);
    // No per-batch products summed afterwards: every call is a single matrix.
    for (const call of spy.mock.calls) expect(call[2][2][0]).toBe(1);
    const want = x
      .reshape([-1, 8])
      .t()
      .matmul(g.reshape([-1, 3]))
      .t();
    expect(w.grad!.allclose(want, { rtol: 1e-5, atol: 1e-6 })).toBe(true);
  });
});
