// F.scaledDotProductAttention, nn.MultiheadAttention (and
// F.multiHeadAttentionForward) and nn.EmbeddingBag against PyTorch
// (test/fixtures/nn_attention.json, made by scripts/make_attention_fixtures.py),
// float64 gradchecks, PyTorch's initialisation, and the errors.
import { describe, expect, it } from 'vitest';
import { expectTensor, makeTensor } from '../helpers/fixtures.js';
import { casesOf, float64, fx, nn, runModuleCase, torch, buildLayer, callLayer } from './helpers/attention_fixture.js';
import type { Tensor } from '../../lib/tensor.js';

const F = nn.functional;

describe('F.scaledDotProductAttention matches PyTorch 2.0 semantics', () => {
  it('the fixture covers masks, causal, scale, broadcasting and unbatched input', () => {
    expect(fx.sdpa.length).toBeGreaterThanOrEqual(10);
  });
  for (const c of fx.sdpa) {
    it(c.name, () => {
      const leaves = c.inputs.map((s) => makeTensor(s, { requiresGrad: s.requires_grad }));
      const [q, k, v, mask] = leaves;
      const out = F.scaledDotProductAttention(q, k, v, { attnMask: mask ?? null, ...c.kwargs });
      expectTensor(out, c.output, `${c.name} output`, [fx.tolerance]);
      out.backward(makeTensor(c.gout));
      c.grads.forEach((g, i) => {
        if (g === null) expect(leaves[i].grad).toBeNull();
        else expectTensor(leaves[i].grad, g, `${c.name} input[${i}].grad`, [fx.tolerance]);
      });
    });
  }

  it('takes its arguments positionally as PyTorch orders them', () => {
    const c = fx.sdpa.find((x) => x.name === 'sdpa_scale')!;
    const [q, k, v] = c.inputs.map((s) => makeTensor(s));
    expectTensor(F.scaledDotProductAttention(q, k, v, null, 0, false, 0.3), c.output, 'positional', [fx.tolerance]);
  });

  it('passes a float64 gradcheck with a float mask, causal and plain', () => {
    const c = fx.sdpa.find((x) => x.name === 'sdpa_float64_float_mask')!;
    const xs = c.inputs.map((s) => float64(s));
    expect(torch.autograd.gradcheck((q, k, v, m) => F.scaledDotProductAttention(q, k, v, { attnMask: m }), xs)).toBe(true);
    const [q, k, v] = xs;
    expect(torch.autograd.gradcheck((a, b, d) => F.scaledDotProductAttention(a, b, d, { isCausal: true }), [q, k, v])).toBe(true);
    expect(torch.autograd.gradgradcheck((a, b, d) => F.scaledDotProductAttention(a, b, d), [q, k, v])).toBe(true);
  });

  it('a bool mask keeps the positions where it is true; a fully kept mask changes nothing', () => {
    torch.manualSeed(1);
    const [q, k, v] = [torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 4)];
    const plain = F.scaledDotProductAttention(q, k, v);
    expect(F.scaledDotProductAttention(q, k, v, { attnMask: torch.ones([3, 5], { dtype: 'bool' }) }).allclose(plain)).toBe(true);
    // Only key 2 kept: every query returns value row 2.
    const only2 = torch.zeros([3, 5], { dtype: 'bool' });
    only2.index(':', 2).fill_(1);
    const out = F.scaledDotProductAttention(q, k, v, { attnMask: only2 });
    expect(out.allclose(v.index(':', [2, 2, 2]), { atol: 1e-6 })).toBe(true);
  });

  it('dropoutP: zero or scaled weights, drawn from the seeded generator', () => {
    const [q, k] = [torch.randn(1, 64, 8), torch.randn(1, 64, 8)];
    const v = torch.eye(64).unsqueeze(0); // the output rows are the attention weights
    torch.manualSeed(7);
    const a = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5 });
    torch.manualSeed(7);
    const b = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5 });
    expect(a.equal(b)).toBe(true);
    const w = F.scaledDotProductAttention(q, k, v);
    const kept = a.ne(0);
    const frac = kept.float().mean().item();
    expect(frac).toBeGreaterThan(0.4);
    expect(frac).toBeLessThan(0.6);
    expect(a.maskedSelect(kept).allclose(w.maskedSelect(kept).mul(2), { rtol: 1e-5, atol: 1e-7 })).toBe(true);
    expect(F.scaledDotProductAttention(q, k, v, { dropoutP: 1 }).abs().sum().item()).toBe(0);
  });

  it('refuses bad arguments with messages naming the op and shapes', () => {
    const q = torch.randn(2, 3, 4);
    const k = torch.randn(2, 5, 4);
    const v = torch.randn(2, 5, 6);
    const sdpa = F.scaledDotProductAttention;
    expect(() => sdpa(q, torch.randn(2, 5, 3), v)).toThrow(
      /scaledDotProductAttention: query \[2, 3, 4\] and key \[2, 5, 3\] must have the same last dim/,
    );
    expect(() => sdpa(q, k, torch.randn(2, 4, 6))).toThrow(/key \[2, 5, 4\] and value \[2, 4, 6\] must have the same sequence length/);
    expect(() => sdpa(q, torch.randn(3, 5, 4), torch.randn(3, 5, 6))).toThrow(/scaledDotProductAttention.*cannot be broadcast/);
    expect(() => sdpa(q, k, v, { attnMask: torch.ones([3, 4], { dtype: 'bool' }) })).toThrow(
      /attnMask of shape \[3, 4\] does not broadcast to the attention weights' shape \[2, 3, 5\]/,
    );
    expect(() => sdpa(q, k, v, { attnMask: torch.ones([3, 5], { dtype: 'bool' }), isCausal: true })).toThrow(/isCausal/);
    expect(() => sdpa(q, k, v, { attnMask: torch.ones([3, 5], { dtype: 'int64' }) })).toThrow(
      /bool tensor or have query's dtype float32, got int64/,
    );
    expect(() => sdpa(q, k, v, { dropoutP: 1.5 })).toThrow(RangeError);
    expect(() => sdpa(torch.randn(4), k, v)).toThrow(/at least 2 dims/);
    expect(() => sdpa(q.double(), k, v)).toThrow(/same dtype/);
    expect(() => sdpa(q, k, v, { isCasual: true } as never)).toThrow(/unknown option 'isCasual' \(did you mean 'isCausal'\?\)/);
  });
});

describe('nn.MultiheadAttention matches PyTorch 1.13', () => {
  const cases = casesOf('MultiheadAttention');
  it('the fixture covers the options', () => {
    expect(cases.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'mha_self',
        'mha_batch_first_bool_masks',
        'mha_kdim_vdim_batch_first',
        'mha_bias_kv_zero_attn_masks',
        'mha_unbatched_padding',
        'mha_need_weights_false',
      ]),
    );
  });
  for (const c of cases) it(c.name, () => runModuleCase(c));

  it("PyTorch's parameter names and state-dict keys, packed and separate", () => {
    expect(Object.keys(new nn.MultiheadAttention(8, 2).stateDict())).toEqual([
      'in_proj_weight',
      'in_proj_bias',
      'out_proj.weight',
      'out_proj.bias',
    ]);
    const sep = new nn.MultiheadAttention(8, 2, { kdim: 4, vdim: 3, addBiasKv: true });
    expect(sep.namedParameters().map(([n, p]) => `${n} ${p.shape.join('x')}`)).toEqual([
      'q_proj_weight 8x8',
      'k_proj_weight 8x4',
      'v_proj_weight 8x3',
      'in_proj_bias 24',
      'bias_k 1x1x8',
      'bias_v 1x1x8',
      'out_proj.weight 8x8',
      'out_proj.bias 8',
    ]);
    expect(Object.keys(new nn.MultiheadAttention(8, 2, { bias: false }).stateDict())).toEqual(['in_proj_weight', 'out_proj.weight']);
    expect(sep.inProjWeight).toBeNull();
    expect(sep.kProjWeight).toBe(sep.k_proj_weight);
    expect(sep.outProj).toBe(sep.out_proj);
  });

  it("initialises as PyTorch: xavier_uniform_ in_proj_weight, zero biases, out_proj.weight as Linear's", () => {
    torch.manualSeed(0);
    const m = new nn.MultiheadAttention(64, 4);
    const bound = Math.sqrt(6 / (64 + 3 * 64));
    const w = m.in_proj_weight!;
    expect(w.abs().max().item()).toBeLessThanOrEqual(bound);
    expect(w.abs().max().item()).toBeGreaterThan(0.95 * bound);
    expect(m.in_proj_bias!.abs().sum().item()).toBe(0);
    expect(m.out_proj.bias!.abs().sum().item()).toBe(0);
    const lin = 1 / Math.sqrt(64);
    expect(m.out_proj.weight.abs().max().item()).toBeLessThanOrEqual(lin);
    expect(m.out_proj.weight.abs().max().item()).toBeGreaterThan(0.9 * lin);
    expect(new nn.MultiheadAttention(8, 2, { dtype: 'float64' }).in_proj_weight!.dtype).toBe('float64');
  });

  it('F.multiHeadAttentionForward gives what the layer gives', () => {
    const c = cases.find((x) => x.name === 'mha_bias_kv_zero_attn_masks')!;
    const m = buildLayer(c) as nn.MultiheadAttention;
    const leaves = c.inputs.map((s) => makeTensor(s));
    const [x, kpm, mask] = leaves;
    const [out, w] = F.multiHeadAttentionForward(
      x,
      x,
      x,
      6,
      2,
      m.in_proj_weight,
      m.in_proj_bias,
      m.bias_k,
      m.bias_v,
      true,
      0,
      m.out_proj.weight,
      m.out_proj.bias,
      { training: false, keyPaddingMask: kpm, attnMask: mask, averageAttnWeights: false },
    );
    expectTensor(out, c.outputs[0]!, 'F output', [fx.tolerance]);
    expectTensor(w, c.outputs[1]!, 'F weights', [fx.tolerance]);
  });

  it('passes a float64 gradcheck through inputs and parameters', () => {
    const c = cases.find((x) => x.name === 'mha_float64')!;
    const m = buildLayer(c) as nn.MultiheadAttention;
    const [q, kv] = c.inputs.map((s) => float64(s));
    expect(torch.autograd.gradcheck((a, b) => m(a, b, b)[0], [q, kv])).toBe(true);
    expect(torch.autograd.gradcheck((a, b) => m(a, b, b, { averageAttnWeights: false })[1]!, [q, kv])).toBe(true);
    const sep = new nn.MultiheadAttention(4, 2, { kdim: 3, vdim: 5, addBiasKv: true, addZeroAttn: true, dtype: 'float64' });
    const [x, k, v] = [
      torch.randn([3, 2, 4], { dtype: 'float64' }),
      torch.randn([5, 2, 3], { dtype: 'float64' }),
      torch.randn([5, 2, 5], { dtype: 'float64' }),
    ];
    const kpm = torch.tensor([
      [false, false, false, true, true],
      [false, false, false, false, false],
    ]);
    expect(
      torch.autograd.gradcheck(
        (qp, kp, vp, bk) => {
          sep.q_proj_weight = qp as never;
          sep.k_proj_weight = kp as never;
          sep.v_proj_weight = vp as never;
          sep.bias_k = bk as never;
          return sep(x, k, v, { keyPaddingMask: kpm })[0];
        },
        [sep.q_proj_weight!, sep.k_proj_weight!, sep.v_proj_weight!, sep.bias_k!].map((p) => p.detach().clone().requiresGrad_()),
      ),
    ).toBe(true);
  });

  it('dropout acts on the weights in training only', () => {
    torch.manualSeed(3);
    const m = new nn.MultiheadAttention(8, 2, { dropout: 0.5 });
    const x = torch.randn(6, 2, 8);
    m.eval();
    const [a, wa] = m(x, x, x);
    const [b] = m(x, x, x);
    expect(a.equal(b)).toBe(true);
    m.train();
    const [c, wc] = m(x, x, x, { averageAttnWeights: false });
    expect(c.allclose(a)).toBe(false);
    // Per head, a weight is 0 or twice its eval value.
    const w = wc!;
    const evalW = m.eval()(x, x, x, { averageAttnWeights: false })[1]!;
    const kept = w.ne(0);
    expect(w.maskedSelect(kept).allclose(evalW.maskedSelect(kept).mul(2), { rtol: 1e-5, atol: 1e-7 })).toBe(true);
    expect(wa!.shape).toEqual([2, 6, 6]);
  });

  it('refuses bad constructor arguments and shapes, naming the layer and the shapes', () => {
    expect(() => new nn.MultiheadAttention(10, 3)).toThrow(
      /MultiheadAttention: embedDim must be divisible by numHeads, got embedDim 10 and numHeads 3/,
    );
    expect(() => new nn.MultiheadAttention(0, 1)).toThrow(/MultiheadAttention: embedDim must be >= 1/);
    expect(() => new nn.MultiheadAttention(8, 2, { dropout: 2 })).toThrow(/MultiheadAttention: dropout probability/);
    expect(() => new nn.MultiheadAttention(8, 2, { batchFirts: true } as never)).toThrow(/did you mean 'batchFirst'/);
    const m = new nn.MultiheadAttention(8, 2);
    const x = torch.randn(5, 3, 8);
    expect(() => m(torch.randn(5, 3, 6), torch.randn(5, 3, 6), torch.randn(5, 3, 6))).toThrow(
      /MultiheadAttention: was expecting embedding dimension of 8, but got query \[5, 3, 6\]/,
    );
    expect(() => m(x, x, x, { attnMask: torch.zeros([5, 4], { dtype: 'bool' }) })).toThrow(
      /MultiheadAttention: the shape of the 2-D attnMask is \[5, 4\], but should be \[5, 5\]/,
    );
    expect(() => m(x, x, x, { attnMask: torch.zeros([3, 5, 5], { dtype: 'bool' }) })).toThrow(
      /the shape of the 3-D attnMask is \[3, 5, 5\], but should be \[6, 5, 5\]/,
    );
    expect(() => m(x, x, x, { keyPaddingMask: torch.zeros([3, 4], { dtype: 'bool' }) })).toThrow(
      /MultiheadAttention: expecting keyPaddingMask of shape \[3, 5\] \(N, S\), got \[3, 4\]/,
    );
    expect(() => m(x, x, x, { keyPaddingMask: torch.zeros([3, 5], { dtype: 'int64' }) })).toThrow(
      /only bool and floating types of keyPaddingMask/,
    );
    expect(() => m(x, torch.randn(5, 3, 8), torch.randn(4, 3, 8))).toThrow(/key shape \[5, 3, 8\] does not match value shape \[4, 3, 8\]/);
    expect(() => m(x, torch.randn(5, 8), torch.randn(5, 8))).toThrow(/for batched \(3-D\) query, expected key and value to be 3-D/);
    expect(() => m(torch.randn(2, 5, 3, 8), x, x)).toThrow(/query should be unbatched 2-D or batched 3-D, got a 4-D query/);
    expect(() =>
      m(torch.randn(5, 8), torch.randn(5, 8), torch.randn(5, 8), { attnMask: torch.zeros([3, 5, 5], { dtype: 'bool' }) }),
    ).toThrow(/expected attnMask of shape \[2, 5, 5\] \(numHeads, L, S\), got \[3, 5, 5\]/);
    expect(() => m(x, x, x, { attnMask: torch.zeros([5, 5], { dtype: 'int64' }) })).toThrow(/only float, byte and bool types/);
  });

  it('F.multiHeadAttentionForward names itself in its errors', () => {
    const x = torch.randn(5, 2, 6);
    expect(() =>
      F.multiHeadAttentionForward(x, x, x, 6, 4, torch.randn(18, 6), null, null, null, false, 0, torch.randn(6, 6), null),
    ).toThrow(/multiHeadAttentionForward: embedDim 6 is not divisible by numHeads 4/);
  });
});

describe('nn.EmbeddingBag matches PyTorch 1.13', () => {
  const cases = casesOf('EmbeddingBag');
  for (const c of cases) it(c.name, () => runModuleCase(c));

  it('F.embeddingBag gives what the layer gives', () => {
    const c = cases.find((x) => x.name === 'bag_sum_per_sample_weights')!;
    const m = buildLayer(c) as nn.EmbeddingBag;
    const [input, offsets, psw] = c.inputs.map((s) => makeTensor(s));
    expectTensor(F.embeddingBag(input, m.weight, offsets, { mode: 'sum', perSampleWeights: psw }), c.outputs[0]!, 'F', [fx.tolerance]);
    expectTensor(callLayer(m, c, [input, offsets, psw])[0], c.outputs[0]!, 'layer', [fx.tolerance]);
  });

  it('passes a float64 gradcheck in each mode, through the weight and perSampleWeights', () => {
    torch.manualSeed(5);
    const w = torch.randn([6, 3], { dtype: 'float64', requiresGrad: true });
    const input = torch.tensor([1, 2, 2, 5, 0, 3, 4]);
    const offsets = torch.tensor([0, 3, 3, 5]);
    for (const mode of ['sum', 'mean', 'max'] as const) {
      expect(
        torch.autograd.gradcheck((wt) => F.embeddingBag(input, wt, offsets, { mode, paddingIdx: 0 }), [w]),
        mode,
      ).toBe(true);
    }
    const psw = torch.randn([7], { dtype: 'float64', requiresGrad: true });
    expect(torch.autograd.gradcheck((wt, p) => F.embeddingBag(input, wt, offsets, { mode: 'sum', perSampleWeights: p }), [w, psw])).toBe(
      true,
    );
  });

  it('fromPretrained freezes by default and keeps the values', () => {
    const emb = torch.tensor(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { dtype: 'float32' },
    );
    const bag = nn.EmbeddingBag.fromPretrained(emb, { mode: 'sum' });
    expect(bag.weight.requiresGrad).toBe(false);
    expect(bag(torch.tensor([[0, 2]])).tolist()).toEqual([[6, 8]]);
    expect(nn.EmbeddingBag.fromPretrained(emb, false).weight.requiresGrad).toBe(true);
    expect(bag.toString()).toBe('EmbeddingBag(3, 2, mode=sum)');
  });

  it('with includeLastOffset, entries after the last offset belong to no bag', () => {
    const bag = new nn.EmbeddingBag(10, 3, { mode: 'sum', includeLastOffset: true });
    const offsets = torch.tensor([0, 2, 5]);
    const a = bag(torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), offsets);
    const b = bag(torch.tensor([1, 2, 4, 5, 4]), offsets);
    expect(a.shape).toEqual([2, 3]);
    expect(a.equal(b)).toBe(true);
  });

  it('zeroes the paddingIdx row at initialisation', () => {
    const bag = new nn.EmbeddingBag(5, 4, { paddingIdx: -2 });
    expect(bag.paddingIdx).toBe(3);
    expect(bag.weight.index(3).abs().sum().item()).toBe(0);
    expect(bag.weight.index(2).abs().sum().item()).toBeGreaterThan(0);
  });

  it('refuses bad arguments, naming the layer and the values', () => {
    const bag = new nn.EmbeddingBag(10, 3);
    expect(() => bag(torch.tensor([1, 2, 3]))).toThrow(/EmbeddingBag: offsets has to be a 1-D Tensor when input is 1-D/);
    expect(() => bag(torch.tensor([[1, 2]]), torch.tensor([0]))).toThrow(/EmbeddingBag: if input is 2-D \[1, 2\], offsets has to be null/);
    expect(() => bag(torch.tensor([1, 2, 3]), torch.tensor([1, 2]))).toThrow(/offsets\[0\] has to be 0/);
    expect(() => bag(torch.tensor([1, 2, 3]), torch.tensor([0, 5]))).toThrow(
      /offsets\[-1\] \(5\) can not be greater than input's length \(3\)/,
    );
    expect(() => bag(torch.tensor([1, 12, 3]), torch.tensor([0]))).toThrow(/EmbeddingBag: index 12 is out of range for 10 embeddings/);
    expect(() => bag(torch.tensor([1, 2]), torch.tensor([0]), torch.ones(2))).toThrow(
      /perSampleWeights is only supported for mode 'sum' \(got mode 'mean'\)/,
    );
    expect(() => bag(torch.tensor([1.5, 2]), torch.tensor([0]))).toThrow(/input must be an int64 or int32 tensor, got float32/);
    expect(() => new nn.EmbeddingBag(10, 3, { mode: 'min' } as never)).toThrow(/mode/);
    expect(() => new nn.EmbeddingBag(10, 3, { paddingIdx: 10 })).toThrow(/paddingIdx must be within numEmbeddings \(10\), got 10/);
    expect(() => new nn.EmbeddingBag(10, 3, 'sum' as never)).toThrow(TypeError);
    const sum = new nn.EmbeddingBag(10, 3, { mode: 'sum' });
    expect(() => sum(torch.tensor([1, 2]), torch.tensor([0]), torch.ones(3))).toThrow(
      /perSampleWeights \[3\] must have the shape of input \[2\]/,
    );
  });
});

describe('deep copies for the Transformer clones', () => {
  it('reproduces a state dict and leaves the copy independent', async () => {
    const { deepCopy } = await import('../../lib/nn/deepcopy.js');
    const m = new nn.MultiheadAttention(4, 2, { addBiasKv: true });
    m.eval();
    const c = deepCopy(m);
    expect(c).toBeInstanceOf(nn.MultiheadAttention);
    expect(c).not.toBe(m);
    expect(c.training).toBe(false);
    const a = m.stateDict();
    const b = c.stateDict();
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) {
      expect(b[k].equal(a[k]), k).toBe(true);
      expect(c.getParameter(k)).not.toBe(m.getParameter(k));
    }
    torch.noGrad(() => c.in_proj_weight!.fill_(0));
    expect(m.in_proj_weight!.abs().sum().item()).toBeGreaterThan(0);
    const x = torch.randn(3, 1, 4);
    expect((m(x, x, x)[0] as Tensor).allclose(deepCopy(m)(x, x, x)[0])).toBe(true);
  });

  it('copies containers, buffers and tied weights', async () => {
    const { deepCopy } = await import('../../lib/nn/deepcopy.js');
    const shared = new nn.Linear(3, 3);
    const seq = new nn.Sequential(
      new Map<string, nn.Module>([
        ['a', shared],
        ['bn', new nn.BatchNorm1d(3)],
        ['b', shared],
      ]),
    );
    const c = deepCopy(seq);
    expect(c.namedModules().map(([n]) => n)).toEqual(seq.namedModules().map(([n]) => n));
    expect(c.get(0)).toBe(c.get(2));
    expect(c.get(0)).not.toBe(shared);
    expect(c[1]).toBe(c.get(1));
    expect(Object.keys(c.stateDict())).toEqual(Object.keys(seq.stateDict()));
    expect((c.get(1) as nn.BatchNorm1d).running_var!.equal((seq.get(1) as nn.BatchNorm1d).running_var!)).toBe(true);
    expect((c.get(1) as nn.BatchNorm1d).running_var).not.toBe((seq.get(1) as nn.BatchNorm1d).running_var);
    // A Lambda keeps its (non-enumerable) function; hooks are carried over.
    const calls: string[] = [];
    const lam = new nn.Lambda((x: Tensor) => x.mul(3));
    lam.registerForwardHook(() => void calls.push('hook'));
    const lc = deepCopy(lam);
    expect(lc).not.toBe(lam);
    expect(lc(torch.ones(2)).tolist()).toEqual([3, 3]);
    expect(calls).toEqual(['hook']);
  });
});
