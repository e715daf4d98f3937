// The recurrent layers and nn.utils.rnn against PyTorch (test/fixtures/nn_rnn.json,
// made by scripts/make_rnn_fixtures.py): PyTorch's state dict is loaded with
// loadStateDict, then the printed form, state-dict keys, parameter names,
// outputs (packed ones too), final states, and the gradients of the input, the
// initial states and every parameter are compared. Then float64 gradchecks,
// the error messages and the behaviour the fixtures do not reach.
import { readFileSync } from 'node:fs';
import { describe, it, expect, vi } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { expectTensor, makeTensor, readValues, type TensorSpec, type ToleranceTable } from '../helpers/fixtures.js';
import type { Tensor } from '../../lib/tensor.js';

const R = nn.utils.rnn;
const { PackedSequence } = R;

interface LayerCase {
  name: string;
  layer: string;
  args: unknown[];
  opts: Record<string, unknown>;
  train: boolean;
  repr: string;
  state_keys: string[];
  param_names: string[];
  state: Record<string, TensorSpec>;
  packed: { lengths: number[]; batch_first: boolean; enforce_sorted: boolean } | null;
  input: TensorSpec;
  hx: TensorSpec[] | null;
  outputs: TensorSpec[];
  gouts: TensorSpec[];
  input_grad: TensorSpec;
  hx_grads: TensorSpec[];
  param_grads: Record<string, TensorSpec>;
  packed_out?: {
    batch_sizes: number[];
    sorted_indices: number[] | null;
    unsorted_indices: number[] | null;
    padded: TensorSpec;
    lengths: number[];
  };
}

interface UtilCase {
  name: string;
  fn: string;
  kwargs: Record<string, unknown>;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  gouts: (TensorSpec | null)[];
  grads: TensorSpec[];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_rnn.json', import.meta.url), 'utf8')) as {
  tolerance: ToleranceTable;
  layers: LayerCase[];
  utils: UtilCase[];
};
const tols = [fx.tolerance];

type AnyModule = nn.Module & ((...a: unknown[]) => unknown);

function build(c: { layer: string; args: unknown[]; opts: Record<string, unknown> }): AnyModule {
  const Ctor = (nn as unknown as Record<string, new (...a: unknown[]) => AnyModule>)[c.layer];
  expect(typeof Ctor, `nn.${c.layer} exists`).toBe('function');
  return Object.keys(c.opts).length ? new Ctor(...c.args, c.opts) : new Ctor(...c.args);
}

const isLstm = (layer: string) => layer.startsWith('LSTM');

/** The sum of out * gout over the outputs, the scalar whose gradients PyTorch recorded. */
function weighted(outs: Tensor[], gouts: Tensor[]): Tensor {
  return outs.map((o, k) => o.mul(gouts[k]).sum()).reduce((a, b) => a.add(b));
}

describe('recurrent layers match PyTorch', () => {
  it('the fixture covers every layer and the options the issue lists', () => {
    const layers = new Set(fx.layers.map((c) => c.layer));
    for (const l of ['RNN', 'LSTM', 'GRU', 'RNNCell', 'LSTMCell', 'GRUCell']) expect(layers.has(l), l).toBe(true);
    const opts = fx.layers.map((c) => c.opts);
    expect(opts.some((o) => o.bidirectional)).toBe(true);
    expect(opts.some((o) => o.batchFirst)).toBe(true);
    expect(opts.some((o) => o.projSize)).toBe(true);
    expect(fx.layers.some((c) => c.args[2] === 2)).toBe(true);
    expect(fx.layers.some((c) => c.packed && !c.packed.enforce_sorted)).toBe(true);
    expect(fx.layers.some((c) => c.hx !== null && c.input.shape.length === 2 && !c.layer.endsWith('Cell'))).toBe(true);
  });

  for (const c of fx.layers) {
    it(c.name, () => {
      const m = build(c);
      expect(String(m), `${c.name}: repr`).toBe(c.repr);
      expect(Object.keys(m.stateDict()), `${c.name}: state dict keys`).toEqual(c.state_keys);
      expect(
        m.namedParameters().map(([n]) => n),
        `${c.name}: parameter names`,
      ).toEqual(c.param_names);
      const state: Record<string, Tensor> = {};
      for (const [k, spec] of Object.entries(c.state)) state[k] = makeTensor(spec);
      expect(m.loadStateDict(state)).toEqual({ missingKeys: [], unexpectedKeys: [] });
      m.train(c.train);

      const x = makeTensor(c.input, { requiresGrad: true });
      const hx = c.hx?.map((s) => makeTensor(s, { requiresGrad: true })) ?? null;
      const hxArg = hx === null ? null : isLstm(c.layer) ? hx : hx[0];
      let outs: Tensor[];
      if (c.layer.endsWith('Cell')) {
        const r = m(x, hxArg) as Tensor | Tensor[];
        outs = Array.isArray(r) ? r : [r];
      } else if (c.packed) {
        const { lengths, batch_first: batchFirst, enforce_sorted: enforceSorted } = c.packed;
        const input = R.packPaddedSequence(x, lengths, { batchFirst, enforceSorted });
        const [out, h] = m(input, hxArg) as [InstanceType<typeof PackedSequence>, Tensor | Tensor[]];
        expect(out).toBeInstanceOf(PackedSequence);
        const po = c.packed_out!;
        expect(readValues(out.batchSizes), `${c.name}: batchSizes`).toEqual(po.batch_sizes);
        expect(out.sortedIndices && readValues(out.sortedIndices)).toEqual(po.sorted_indices);
        expect(out.unsortedIndices && readValues(out.unsortedIndices)).toEqual(po.unsorted_indices);
        const [padded, lens] = R.padPackedSequence(out, { batchFirst });
        expectTensor(padded, po.padded, `${c.name}: padPackedSequence(output)`, tols);
        expect(readValues(lens)).toEqual(po.lengths);
        outs = [out.data, ...(Array.isArray(h) ? h : [h])];
      } else {
        const [out, h] = m(x, hxArg) as [Tensor, Tensor | Tensor[]];
        outs = [out, ...(Array.isArray(h) ? h : [h])];
      }
      expect(outs.length, `${c.name}: number of outputs`).toBe(c.outputs.length);
      outs.forEach((o, k) => expectTensor(o, c.outputs[k], `${c.name}: output[${k}]`, tols));

      weighted(
        outs,
        c.gouts.map((g) => makeTensor(g)),
      ).backward();
      expectTensor(x.grad, c.input_grad, `${c.name}: input.grad`, tols);
      c.hx_grads.forEach((g, k) => expectTensor(hx![k].grad, g, `${c.name}: hx[${k}].grad`, tols));
      for (const [n, p] of m.namedParameters()) {
        expect(p.grad, `${c.name}: ${n}.grad`).not.toBeNull();
        expectTensor(p.grad, c.param_grads[n], `${c.name}: ${n}.grad`, tols);
      }
    });
  }
});

describe('nn.utils.rnn matches PyTorch', () => {
  const calls: Record<string, (xs: Tensor[], kw: Record<string, unknown>) => Tensor[]> = {
    padSequence: (xs, kw) => [R.padSequence(xs, kw)],
    packPaddedSequence: (xs, { lengths, ...kw }) => {
      const p = R.packPaddedSequence(xs[0], lengths as number[], kw);
      return [p.data, p.batchSizes, ...[p.sortedIndices, p.unsortedIndices].filter((t): t is Tensor => t !== null)];
    },
    padPackedSequence: (xs, { lengths, batchFirst, enforceSorted, ...kw }) => {
      const p = R.packPaddedSequence(xs[0], lengths as number[], {
        batchFirst: batchFirst as boolean,
        enforceSorted: enforceSorted as boolean,
      });
      return R.padPackedSequence(p, { batchFirst: batchFirst as boolean, ...kw });
    },
    packSequence: (xs, kw) => {
      const p = R.packSequence(xs, kw);
      return [p.data, p.batchSizes, ...[p.sortedIndices, p.unsortedIndices].filter((t): t is Tensor => t !== null)];
    },
    unpackSequence: (xs) => R.unpackSequence(R.packSequence(xs, { enforceSorted: false })),
    unpadSequence: (xs, { lengths, ...kw }) => R.unpadSequence(xs[0], torch.tensor(lengths as number[]), kw),
  };
  for (const c of fx.utils) {
    it(c.name, () => {
      const xs = c.inputs.map((s) => makeTensor(s, { requiresGrad: true }));
      const outs = calls[c.fn](xs, c.kwargs);
      expect(outs.length, `${c.name}: number of outputs`).toBe(c.outputs.length);
      outs.forEach((o, k) => expectTensor(o, c.outputs[k], `${c.name}: output[${k}]`, tols));
      const diff = c.gouts.map((g, k) => (g ? k : -1)).filter((k) => k >= 0);
      weighted(
        diff.map((k) => outs[k]),
        diff.map((k) => makeTensor(c.gouts[k]!)),
      ).backward();
      xs.forEach((x, i) => expectTensor(x.grad, c.grads[i], `${c.name}: input[${i}].grad`, tols));
    });
  }
});

describe('recurrent layers: float64 gradcheck', () => {
  /** gradcheck of every output (flattened and joined) in the input, the initial states and every parameter. */
  function check(m: AnyModule, x: Tensor, hx: Tensor[], run: (x: Tensor, hx: Tensor[]) => Tensor[]): void {
    m.double();
    const params = m.parameters();
    const f = (xi: Tensor, ...rest: Tensor[]) => torch.cat(run(xi, rest.slice(0, hx.length)).map((o) => o.reshape(-1)));
    expect(torch.autograd.gradcheck(f, [x, ...hx, ...params])).toBe(true);
  }
  const rand = (...shape: number[]) => torch.randn(shape, { dtype: 'float64', requiresGrad: true });

  it('RNN (tanh and relu), 2 layers, bidirectional, batchFirst', () => {
    for (const nonlinearity of ['tanh', 'relu'] as const) {
      const m = new nn.RNN(2, 3, { numLayers: 2, nonlinearity, bidirectional: true, batchFirst: true }) as AnyModule;
      check(m, rand(2, 3, 2), [rand(4, 2, 3)], (x, [h]) => (m(x, h) as Tensor[]).flat());
    }
  });
  it('LSTM with projSize over a packed, unsorted batch', () => {
    const m = new nn.LSTM(2, 3, { projSize: 2, bidirectional: true }) as AnyModule;
    check(m, rand(3, 3, 2), [rand(2, 3, 2), rand(2, 3, 3)], (x, hc) => {
      const [out, [h, c]] = m(R.packPaddedSequence(x, [2, 3, 1], { enforceSorted: false }), hc) as [
        InstanceType<typeof PackedSequence>,
        Tensor[],
      ];
      return [out.data, h, c];
    });
  });
  it('GRU, 2 layers, unbatched', () => {
    const m = new nn.GRU(2, 3, 2) as AnyModule;
    check(m, rand(3, 2), [rand(2, 3)], (x, [h]) => (m(x, h) as Tensor[]).flat());
  });
  it('the Cells', () => {
    const rnn = new nn.RNNCell(2, 3) as AnyModule;
    check(rnn, rand(2, 2), [rand(2, 3)], (x, [h]) => [rnn(x, h) as Tensor]);
    const lstm = new nn.LSTMCell(2, 3) as AnyModule;
    check(lstm, rand(2, 2), [rand(2, 3), rand(2, 3)], (x, hc) => lstm(x, hc) as Tensor[]);
    const gru = new nn.GRUCell(2, 3) as AnyModule;
    check(gru, rand(2), [rand(3)], (x, [h]) => [gru(x, h) as Tensor]);
  });
});

describe('recurrent layers: errors', () => {
  const x = torch.randn([5, 2, 4]);
  it('wrong input sizes and dims name the layer and the shapes', () => {
    expect(() => new nn.LSTM(3, 5).forward(x)).toThrow(
      /^LSTM: input\.size\(-1\) must be equal to input_size\. Expected 3, got 4 \(input of size \[5, 2, 4\]\)$/,
    );
    expect(() => new nn.GRU(4, 5).forward(torch.randn([1, 5, 2, 4]))).toThrow(
      /^GRU: input must have 3 dimensions .*got size \[1, 5, 2, 4\]/,
    );
    expect(() => new nn.RNN(4, 5).forward(torch.randn([4]))).toThrow(RangeError);
    expect(() => new nn.RNN(4, 5).forward(torch.randn([0, 2, 4]))).toThrow(/^RNN: Expected sequence length to be larger than 0/);
    expect(() => new nn.RNN(4, 5).forward('x' as never)).toThrow(/^RNN: input must be a Tensor, got "x"/);
  });
  it('wrong state shapes', () => {
    expect(() => new nn.GRU(4, 5).forward(x, torch.zeros([1, 3, 5]))).toThrow(
      /^GRU: Expected hidden size \[1, 2, 5\], got \[1, 3, 5\] \(input of size \[5, 2, 4\]\)$/,
    );
    expect(() => new nn.RNN(4, 5, { bidirectional: true }).forward(x, torch.zeros([1, 2, 5]))).toThrow(
      /^RNN: Expected hidden size \[2, 2, 5\], got \[1, 2, 5\]/,
    );
    const lstm = new nn.LSTM(4, 5, { projSize: 2 });
    expect(() => lstm.forward(x, [torch.zeros([1, 2, 5]), torch.zeros([1, 2, 5])])).toThrow(
      /^LSTM: Expected hidden\[0\] size \[1, 2, 2\], got \[1, 2, 5\]/,
    );
    expect(() => lstm.forward(x, [torch.zeros([1, 2, 2]), torch.zeros([1, 2, 2])])).toThrow(
      /^LSTM: Expected hidden\[1\] size \[1, 2, 5\], got \[1, 2, 2\]/,
    );
    expect(() => lstm.forward(x, [torch.zeros([2, 2]), torch.zeros([2, 5])])).toThrow(
      /^LSTM: For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 2-D\) tensors/,
    );
    expect(() => new nn.RNN(4, 5).forward(torch.randn([5, 4]), torch.zeros([1, 1, 5]))).toThrow(
      /^RNN: For unbatched 2-D input, hx should also be 2-D but got 3-D tensor/,
    );
    expect(() => lstm.forward(x, torch.zeros([1, 2, 2]) as never)).toThrow(/^LSTM: hx must be an array \[h0, c0\] of two Tensors/);
    const packed = R.packPaddedSequence(x, [5, 3]);
    expect(() => new nn.GRU(4, 5).forward(packed, torch.zeros([1, 3, 5]))).toThrow(
      /^GRU: Expected hidden size \[1, 2, 5\], got \[1, 3, 5\]/,
    );
  });
  it('dtypes must agree', () => {
    expect(() => new nn.GRU(4, 5).forward(x.double())).toThrow(
      /^GRU: input and parameter tensors are not the same dtype, found input tensor with float64 and parameter tensor with float32/,
    );
    expect(() => new nn.GRU(4, 5).forward(x, torch.zeros([1, 2, 5], { dtype: 'float64' }))).toThrow(/hidden tensor with float64/);
  });
  it('the Cells check input and state', () => {
    const cell = new nn.LSTMCell(4, 5);
    expect(() => cell.forward(x)).toThrow(/^LSTMCell: Expected input to be 1-D or 2-D but received 3-D tensor/);
    expect(() => cell.forward(torch.randn([2, 3]))).toThrow(/^LSTMCell: input has inconsistent input_size: got 3 expected 4/);
    expect(() => cell.forward(torch.randn([2, 4]), [torch.zeros([3, 5]), torch.zeros([2, 5])])).toThrow(
      /^LSTMCell: Input batch size 2 doesn't match hidden\[0\] batch size 3/,
    );
    expect(() => cell.forward(torch.randn([2, 4]), [torch.zeros([2, 5]), torch.zeros([2, 4])])).toThrow(
      /^LSTMCell: hidden\[1\] has inconsistent hidden_size: got 4, expected 5/,
    );
    expect(() => new nn.GRUCell(4, 5).forward(torch.randn([4]), torch.zeros([1, 5]))).toThrow(
      /^GRUCell: for unbatched 1-D input, hidden should also be 1-D but got 2-D tensor/,
    );
    expect(() => new nn.RNNCell(4, 5).forward(torch.randn([2, 4]), torch.zeros([2, 5], { dtype: 'float64' }))).toThrow(TypeError);
  });
  it('constructor arguments', () => {
    expect(() => new nn.LSTM(4, 5, { num_layers: 2 } as never)).toThrow(
      /^LSTM: unknown option 'num_layers' \(did you mean 'numLayers'\?\)/,
    );
    expect(() => new nn.GRU(4, 5, { projSize: 2 } as never)).toThrow(/^GRU: projSize is only supported for LSTM, not RNN or GRU/);
    expect(() => new nn.LSTM(4, 5, { projSize: 5 })).toThrow(/^LSTM: projSize has to be smaller than hiddenSize/);
    expect(() => new nn.RNN(4, 5, { dropout: 1.5 })).toThrow(/^RNN: dropout should be a number in range \[0, 1\]/);
    expect(() => new nn.RNN(4, 5, { nonlinearity: 'sigmoid' as never })).toThrow(/^RNN: Unknown nonlinearity "sigmoid"/);
    expect(() => new nn.RNNCell(4, 5, true, 'gelu' as never)).toThrow(/^RNNCell: Unknown nonlinearity/);
    expect(() => new nn.GRU(4, 0)).toThrow(/^GRU: hiddenSize must be >= 1, got 0/);
    expect(() => new nn.GRU(4, 5, 0)).toThrow(/^GRU: numLayers must be >= 1, got 0/);
    expect(() => new nn.LSTM(4, 5, { bias: 1 as never })).toThrow(/^LSTM: bias must be a boolean/);
    expect(() => new nn.LSTMCell(4, 5, { dtype: 'int64' })).toThrow(/^LSTMCell: parameters must have a floating point dtype/);
  });
  it('nn.utils.rnn argument checks', () => {
    const p = torch.randn([4, 3, 2]);
    expect(() => R.packPaddedSequence(p, [2, 4, 1])).toThrow(/^packPaddedSequence: `lengths` array must be sorted in decreasing order/);
    expect(() => R.packPaddedSequence(p, [4, 2])).toThrow(
      /Expected `len\(lengths\)` to be equal to batch_size, but got 2 \(batch_size=3\)/,
    );
    expect(() => R.packPaddedSequence(p, [4, 2, 0])).toThrow(/Length of all samples has to be greater than 0/);
    expect(() => R.packPaddedSequence(p, [5, 2, 1])).toThrow(/^packPaddedSequence: lengths \[5, 2, 1\] exceed the 4 steps/);
    expect(() => R.packPaddedSequence(p, torch.tensor([4, 2, 1], { dtype: 'float32' }))).toThrow(TypeError);
    const packed = R.packPaddedSequence(p, [4, 2, 1]);
    expect(() => R.padPackedSequence(packed, { totalLength: 3 })).toThrow(
      /Expected totalLength to be at least the length of the longest sequence in input, but got totalLength=3 and max sequence length being 4/,
    );
    expect(() => R.padSequence([torch.zeros([2, 3]), torch.zeros([2, 4])])).toThrow(
      /^padSequence: every sequence must have the trailing size \[3\] of sequence 0 \(size \[2, 3\]\), but sequence 1 has size \[2, 4\]/,
    );
    expect(() => R.padSequence([])).toThrow(/^padSequence: received an empty list of sequences/);
    expect(() => R.padSequence([torch.zeros([2])], { batch_first: true } as never)).toThrow(/did you mean 'batchFirst'/);
    expect(() => new PackedSequence(torch.zeros([5, 2]), torch.tensor([3, 1]))).toThrow(
      /^PackedSequence: batchSizes sum to 4 but data has 5 rows/,
    );
    expect(() => new PackedSequence(torch.zeros([4, 2]), torch.tensor([1, 3]))).toThrow(/batchSizes must be positive and non-increasing/);
    expect(() => new PackedSequence(torch.zeros([4, 2]), torch.tensor([3, 1]), torch.tensor([0, 0, 1]))).toThrow(
      /sortedIndices' must be a permutation of 0\.\.2/,
    );
  });
});

describe('recurrent layers: behaviour', () => {
  it('positional and options forms agree, and forward takes hx by name', () => {
    const a = new nn.LSTM(4, 5, 2, false, true, 0, true, 3);
    const b = new nn.LSTM(4, 5, { numLayers: 2, bias: false, batchFirst: true, bidirectional: true, projSize: 3 });
    expect(String(a)).toBe('LSTM(4, 5, proj_size=3, num_layers=2, bias=False, batch_first=True, bidirectional=True)');
    expect(String(b)).toBe(String(a));
    expect(String(new nn.RNN(4, 5, 1, 'relu', true, false, 0, true))).toBe('RNN(4, 5, bidirectional=True)');
    expect(new nn.RNN(4, 5, 1, 'relu').nonlinearity).toBe('relu');
    const gru = new nn.GRU(4, 5);
    const x = torch.randn([3, 2, 4]);
    const h0 = torch.randn([1, 2, 5]);
    const [o1, h1] = gru(x, h0);
    const [o2, h2] = gru(x, { hx: h0 });
    expect(o2.tolist()).toEqual((o1 as Tensor).tolist());
    expect(h2.tolist()).toEqual(h1.tolist());
  });
  it('initialises every parameter from U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize))', () => {
    for (const m of [new nn.LSTM(30, 16, { numLayers: 2, projSize: 8 }), new nn.GRUCell(30, 16)]) {
      const bound = 1 / Math.sqrt(16);
      for (const [n, p] of m.namedParameters()) {
        const v = readValues(p);
        expect(Math.max(...v.map(Math.abs)), n).toBeLessThanOrEqual(bound);
        expect(Math.max(...v), n).toBeGreaterThan(0.7 * bound);
        expect(Math.min(...v), n).toBeLessThan(-0.7 * bound);
      }
    }
  });
  it('a state dict moves to a fresh layer and gives the same output', () => {
    const a = new nn.GRU(3, 4, { numLayers: 2, bidirectional: true });
    const b = new nn.GRU(3, 4, { numLayers: 2, bidirectional: true });
    b.loadStateDict(a.stateDict());
    const x = torch.randn([4, 2, 3]);
    expect(b(x)[0].tolist()).toEqual(a(x)[0].tolist());
    expect(a.allWeights.map((ws) => ws.length)).toEqual([4, 4, 4, 4]);
    expect(a.allWeights[1][0]).toBe(a.getParameter('weight_ih_l0_reverse'));
    a.flattenParameters();
  });
  it('dropout between layers in training only, and a warning with one layer', () => {
    // With p = 1 the second layer reads zeros: its output is what a
    // one-layer LSTM with the second layer's weights gives on zeros.
    const m = new nn.LSTM(3, 4, { numLayers: 2, dropout: 1 });
    const x = torch.randn([5, 2, 3]);
    const one = new nn.LSTM(4, 4);
    one.loadStateDict(
      Object.fromEntries(
        Object.entries(m.stateDict())
          .filter(([k]) => k.endsWith('l1'))
          .map(([k, v]) => [k.replace('l1', 'l0'), v]),
      ),
    );
    const [out] = m(x);
    const [ref] = one(torch.zeros([5, 2, 4]));
    expect(readValues(out)).toEqual(readValues(ref));
    m.eval();
    expect(readValues(m(x)[0])).not.toEqual(readValues(ref));
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      new nn.GRU(3, 4, { dropout: 0.5 });
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^GRU: dropout option adds dropout after all but last recurrent layer/));
    } finally {
      warn.mockRestore();
    }
  });
  it('a packed batch gives each sequence what it gives alone', () => {
    const m = new nn.LSTM(2, 3, { bidirectional: true });
    const seqs = [torch.randn([2, 2]), torch.randn([4, 2]), torch.randn([3, 2])];
    const [out, [h]] = m(R.packSequence(seqs, { enforceSorted: false }));
    const [padded] = R.padPackedSequence(out as InstanceType<typeof PackedSequence>);
    seqs.forEach((s, b) => {
      const [alone, [hAlone]] = m(s);
      const L = s.shape[0];
      const mine = padded.narrow(0, 0, L).select(1, b);
      expect(
        readValues(mine)
          .map((v, i) => Math.abs(v - readValues(alone)[i]))
          .every((d) => d < 1e-6),
      ).toBe(true);
      expect(
        readValues(h.select(1, b))
          .map((v, i) => Math.abs(v - readValues(hAlone)[i]))
          .every((d) => d < 1e-6),
      ).toBe(true);
    });
  });
  it('PackedSequence unpacks as a tuple, prints, and converts', () => {
    const p = R.packSequence([torch.tensor([1, 2, 3]), torch.tensor([4])]);
    const [data, batchSizes, sorted, unsorted] = p;
    expect((data as Tensor).tolist()).toEqual([1, 4, 2, 3]);
    expect((batchSizes as Tensor).tolist()).toEqual([2, 1, 1]);
    expect([sorted, unsorted]).toEqual([null, null]);
    expect(String(p)).toBe(
      'PackedSequence(data=tensor([1, 4, 2, 3]), batch_sizes=tensor([2, 1, 1]), sorted_indices=None, unsorted_indices=None)',
    );
    const q = R.packSequence([torch.randn([1, 2]), torch.randn([3, 2])], { enforceSorted: false });
    expect(q.sortedIndices!.tolist()).toEqual([1, 0]);
    expect(q.unsortedIndices!.tolist()).toEqual([1, 0]);
    const d = q.double();
    expect(d.data.dtype).toBe('float64');
    expect(d.batchSizes).toBe(q.batchSizes);
    expect(d.isCuda).toBe(false);
    expect(q.to('float32')).toBe(q);
    expect(R.unpackSequence(q).map((t) => t.shape[0])).toEqual([1, 3]);
  });
});
