// torch.onnx.export (lib/onnx). Each sample model (samples.ts) is exported
// and
// - its bytes are the bytes onnx.checker.check_model(full_check=True)
//   approved (test/fixtures/onnx_checked.json, by
//   scripts/make_onnx_fixtures.py), so the checker's verdict holds for what
//   the exporter writes today;
// - ONNX Runtime (onnxruntime-node) runs it at two batch sizes (the batch
//   axis is dynamic) with outputs equal to Kindling's forward in float32.
// Then the refusals: an op without a mapping, a tensor from outside the
// trace, an in-place write the tracer cannot see, bad options.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/tensor.js';
import { Message } from '../../lib/onnx/proto.js';
import { samples } from './samples.js';
import { scaledDotProductFusedAttention } from '../../lib/ops/attention.js';

interface Checked {
  onnx_version: string;
  models: Record<string, { sha256: string; bytes: number; ops: string[]; checker: string }>;
}
const checked = JSON.parse(readFileSync(new URL('../fixtures/onnx_checked.json', import.meta.url), 'utf8')) as Checked;

function ortTensor(x: Tensor): ort.Tensor {
  const data = x.contiguous().toTypedArray();
  if (x.dtype === 'int64') return new ort.Tensor('int64', data as BigInt64Array, x.shape.slice());
  if (x.dtype === 'float32') return new ort.Tensor('float32', data as Float32Array, x.shape.slice());
  if (x.dtype === 'bool')
    return new ort.Tensor(
      'bool',
      Uint8Array.from(data as Uint8Array, (b) => (b ? 1 : 0)),
      x.shape.slice(),
    );
  throw new Error(`no ORT tensor for ${x.dtype}`);
}

describe('torch.onnx.export: checker-approved bytes, run in ONNX Runtime', () => {
  for (const s of samples()) {
    it(`${s.name}: the bytes onnx.checker approved; ORT at batch 3 and 8 equals the forward`, async () => {
      const expected = checked.models[s.name];
      expect(expected, `fixture for ${s.name}`).toBeDefined();
      expect(expected.checker).toBe('ok');
      const bytes = torch.onnx.export(s.model, s.inputs(3), null, s.options);
      expect(bytes.length).toBe(expected.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(expected.sha256);

      const session = await ort.InferenceSession.create(bytes);
      expect(session.inputNames).toEqual(s.options.inputNames);
      expect(session.outputNames).toEqual(['output']);
      for (const n of [3, 8]) {
        const xs = s.inputs(n);
        s.model.eval();
        const want = torch.noGrad(() => (s.model as unknown as { forward(...a: Tensor[]): Tensor }).forward(...xs));
        const feeds: Record<string, ort.Tensor> = {};
        xs.forEach((x, i) => (feeds[s.options.inputNames![i]] = ortTensor(x)));
        const got = (await session.run(feeds)).output;
        expect(got.dims).toEqual(want.shape);
        const w = want.toTypedArray() as Float32Array;
        const g = got.data as Float32Array;
        expect(g.length).toBe(w.length);
        for (let i = 0; i < w.length; i++) expect(Math.abs(g[i] - w[i])).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(w[i]));
      }
    });
  }

  it('writes the file at path, the same bytes it returns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kindling-onnx-'));
    try {
      const s = samples()[0];
      const path = join(dir, 'm.onnx');
      const bytes = torch.onnx.export(s.model, s.inputs(3), path, s.options);
      expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names parameters as the state dict does, and leaves the training flags as they were', () => {
    torch.manualSeed(0);
    const m = new nn.Sequential(new nn.Linear(4, 3), new nn.Dropout(0.5));
    m.train();
    const bytes = torch.onnx.export(m, [torch.randn([2, 4])], null);
    const text = Buffer.from(bytes).toString('latin1');
    expect(text).toContain('0.weight');
    expect(text).toContain('0.bias');
    expect(m.training).toBe(true);
    expect(m.modules().every((x) => x.training)).toBe(true);
  });
});

describe('torch.onnx.export refuses what it cannot write exactly', () => {
  const lin = () => {
    torch.manualSeed(0);
    return new nn.Linear(4, 2);
  };
  class Wrap extends nn.Module {
    constructor(private readonly f: (x: Tensor) => Tensor) {
      super();
    }
    forward(x: Tensor): Tensor {
      return this.f(x);
    }
  }

  it('an op without a mapping fails with its name', () => {
    expect(() => torch.onnx.export(new Wrap((x) => x.cumsum(1)), [torch.randn([2, 4])], null)).toThrow(/op 'cumsum' has no ONNX mapping/);
  });

  it('nn.LSTM options with no ONNX form are refused with a reason: projSize, packed input, unbatched input', () => {
    torch.manualSeed(0);
    const proj = new nn.LSTM(3, 4, { projSize: 2 });
    expect(() => torch.onnx.export(new Wrap((x) => proj.forward(x)[0]), [torch.randn([5, 2, 3])], null)).toThrow(
      /LSTM cannot be exported: projSize 2 has no form in ONNX's LSTM/,
    );
    const gru = new nn.GRU(3, 4);
    const packed = new Wrap((x) => {
      // Packed by hand (packPaddedSequence's indexing would be refused first): steps of 2, 2, 1 rows.
      const [out] = gru.forward(new nn.utils.rnn.PackedSequence(x, torch.tensor([2, 2, 1], { dtype: 'int64' })));
      return out.data;
    });
    expect(() => torch.onnx.export(packed, [torch.randn([5, 3])], null)).toThrow(/GRU cannot be exported: packed sequences/);
    expect(() => torch.onnx.export(new Wrap((x) => gru.forward(x)[0]), [torch.randn([5, 3])], null)).toThrow(
      /GRU cannot be exported: only batched input/,
    );
  });

  it('an nn.LSTM the model reaches without registering it is recorded as ONNX LSTM, not unrolled', async () => {
    torch.manualSeed(0);
    const lstm = new nn.LSTM(3, 4);
    const m = new Wrap((x) => lstm.forward(x)[1][1]); // cn
    const x = torch.randn([5, 2, 3]);
    const bytes = torch.onnx.export(m, [x], null, { inputNames: ['x'], outputNames: ['cn'] });
    const session = await ort.InferenceSession.create(bytes);
    const got = (await session.run({ x: ortTensor(x) })).cn;
    const want = torch.noGrad(() => m.forward(x));
    expect(got.dims).toEqual(want.shape);
    const w = want.toTypedArray() as Float32Array;
    for (let i = 0; i < w.length; i++) expect(Math.abs((got.data as Float32Array)[i] - w[i])).toBeLessThan(1e-5);
    expect(Buffer.from(bytes).toString('latin1')).toContain('LSTM');
  });

  it('the fused attention kernel is written as its primitive form (MatMul, Softmax), with a bool mask', async () => {
    const keep = torch.tensor([[true, false, true, true, false]]);
    class Fused extends nn.Module {
      forward(x: Tensor, mask: Tensor): Tensor {
        return scaledDotProductFusedAttention(x, x.mul(0.5), x, mask, { scale: 0.7 });
      }
    }
    const m = new Fused();
    const x = torch.randn([2, 3, 4, 6]).narrow(3, 0, 5).transpose(2, 3); // [2, 3, 5, 4], strided
    const bytes = torch.onnx.export(m, [x, keep], null, { inputNames: ['x', 'keep'], outputNames: ['y'] });
    const text = Buffer.from(bytes).toString('latin1');
    expect(text).toContain('Softmax');
    expect(text).not.toContain('scaledDotProductFusedAttention');
    const session = await ort.InferenceSession.create(bytes);
    const got = (await session.run({ x: ortTensor(x), keep: ortTensor(keep) })).y.data as Float32Array;
    const want = torch.noGrad(() => m.forward(x, keep)).toTypedArray() as Float32Array;
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
  });

  it('attention options with no exact ONNX form are refused with a reason', () => {
    torch.manualSeed(0);
    const zero = new nn.MultiheadAttention(4, 2, { addZeroAttn: true });
    expect(() => torch.onnx.export(new Wrap((x) => zero.forward(x, x, x)[0]), [torch.randn([3, 2, 4])], null)).toThrow(
      /MultiheadAttention cannot be exported: addZeroAttn/,
    );
    const drop = new Wrap((x) => torch.nn.functional.scaledDotProductAttention(x, x, x, null, 0.1));
    expect(() => torch.onnx.export(drop, [torch.randn([2, 3, 4])], null)).toThrow(/scaledDotProductAttention cannot be exported: dropoutP/);
  });

  it('a mapped op refuses a form it cannot write (maxPool2d ceilMode)', () => {
    const m = new nn.MaxPool2d(2, { ceilMode: true });
    expect(() => torch.onnx.export(m, [torch.randn([1, 1, 5, 5])], null)).toThrow(/maxPool2d cannot be exported: ceilMode/);
  });

  it('a tensor made outside the trace (not a parameter, buffer or op result) fails the export', () => {
    const outside = torch.randn([4]);
    expect(() => torch.onnx.export(new Wrap((x) => x.add(outside)), [torch.randn([2, 4])], null)).toThrow(
      /shape \[4\] reaching add is not an input, a parameter or buffer/,
    );
  });

  it('results of ops on a tensor of unknown origin are not taken for constants (x.detach() is no declared op)', () => {
    // Before: y.mul(2) saw no traced input and was written as a constant,
    // the values of this example frozen into the graph.
    const m = new Wrap((x) => x.detach().mul(2).add(x));
    expect(() => torch.onnx.export(m, [torch.randn([2, 4])], null)).toThrow(/shape \[2, 4\] reaching add is not an input/);
  });

  it('tensors made in forward from numbers alone (arange, zeros, full, the causal mask) are written as constants', async () => {
    // Before: creation functions are no declared ops, so their results were
    // of unknown origin and the export refused them (the char-LM GPT's
    // positions and mask).
    const m = new Wrap((x) => {
      const pos = torch
        .arange(4, { dtype: 'float32' })
        .add(torch.zeros([4]))
        .mul(torch.full([4], 0.5));
      const mask = nn.Transformer.generateSquareSubsequentMask(4).maskedFill(torch.eye(4).eq(1), 2);
      return x.add(pos).matmul(mask.clamp(-1, 2));
    });
    const opts = { inputNames: ['x'], outputNames: ['output'], dynamicAxes: { x: { 0: 'batch' } } };
    torch.manualSeed(5);
    const session = await ort.InferenceSession.create(torch.onnx.export(m, [torch.randn([3, 4])], null, opts));
    for (const n of [3, 6]) {
      const x = torch.randn([n, 4]);
      const want = m.forward(x).toTypedArray() as Float32Array;
      const got = (await session.run({ x: ortTensor(x) })).output;
      expect(got.dims).toEqual([n, 4]);
      const g = got.data as Float32Array;
      for (let i = 0; i < want.length; i++) expect(Math.abs(g[i] - want[i])).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(want[i]));
    }
  });

  it("a tensor made from a dynamic axis' size (zeros([x.size(0), 4]), tensor([x.size(0)])) is refused, not frozen", () => {
    const opts = { inputNames: ['x'], dynamicAxes: { x: { 0: 'batch' } } };
    const zerosOfBatch = new Wrap((x) => x.add(torch.zeros([x.size(0), 4])));
    expect(() => torch.onnx.export(zerosOfBatch, [torch.randn([3, 4])], null, opts)).toThrow(
      /zeros\(\.\.\.\) makes a constant of shape \[3, 4\] with a size 3 that equals a dynamic axis' example size/,
    );
    const shapeOfBatch = new Wrap((x) => x.reshape(torch.tensor([x.size(0), 4]).tolist() as number[]).add(torch.tensor([x.size(0)])));
    expect(() => torch.onnx.export(shapeOfBatch, [torch.randn([3, 4])], null, opts)).toThrow(/tensor\(\.\.\.\) makes a constant/);
    // Without a dynamic axis the same model exports: the size is part of the graph.
    expect(() => torch.onnx.export(zerosOfBatch, [torch.randn([3, 4])], null)).not.toThrow();
  });

  it('an in-place write the tracer cannot see fails the export', () => {
    const m = new Wrap((x) => {
      const y = x.mul(2);
      y.fill_(1); // not a declared op: the traced value y is stale afterwards
      return y.add(1);
    });
    expect(() => torch.onnx.export(m, [torch.randn([2, 4])], null)).toThrow(/written in place by code the exporter did not see/);
  });

  it('an in-place op it sees is recorded (ReLU(inplace))', async () => {
    torch.manualSeed(0);
    const m = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU({ inplace: true }), new nn.Linear(3, 2));
    const x = torch.randn([5, 4]);
    const bytes = torch.onnx.export(m, [x], null, { inputNames: ['x'], outputNames: ['y'] });
    const session = await ort.InferenceSession.create(bytes);
    const got = (await session.run({ x: ortTensor(x) })).y.data as Float32Array;
    const want = torch.noGrad(() => m.forward(x)).toTypedArray() as Float32Array;
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
  });

  it('a reshape that moves two dynamic axes is refused', () => {
    const m = new Wrap((x) => x.reshape([-1]));
    expect(() =>
      torch.onnx.export(m, [torch.randn([2, 3])], null, { inputNames: ['x'], dynamicAxes: { x: { 0: 'batch', 1: 'len' } } }),
    ).toThrow(/reshape cannot be exported: .*more than one dynamic axis/);
  });

  it('bad arguments and options name the problem', () => {
    const x = torch.randn([2, 4]);
    expect(() => torch.onnx.export(lin(), [x], null, { opsetVersion: 13 })).toThrow(/opsetVersion 13 is not supported; use 17/);
    expect(() => torch.onnx.export(lin(), [x], null, { inputNames: ['a', 'b'] })).toThrow(/2 inputNames for 1 inputs/);
    expect(() => torch.onnx.export(lin(), [x], null, { dynamicAxes: { nope: [0] } })).toThrow(/dynamicAxes names 'nope'/);
    expect(() => torch.onnx.export(lin(), [x], null, { inputNames: ['x'], dynamicAxes: { x: [2] } })).toThrow(
      /dynamicAxes\['x'\] names axis 2, but input 'x' has 2 dims/,
    );
    expect(() => torch.onnx.export(lin(), [x], null, { inputName: ['x'] } as never)).toThrow(/unknown option 'inputName'/);
    expect(() => torch.onnx.export({} as never, [x], null)).toThrow(/model must be an nn.Module/);
    expect(() => torch.onnx.export(lin(), [], null)).toThrow(/args must be a Tensor or a non-empty array/);
  });
});

describe('the protobuf writer', () => {
  it('writes varints, negative int64s, floats and nested messages as protobuf does', () => {
    // Bytes as Python's protobuf writes them (field 1 = 150, the encoding guide's example).
    expect([...new Message().int(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new Message().int(3, -1).finish()]).toEqual([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...new Message().float(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect([...new Message().bytes(2, 'ab').finish()]).toEqual([0x12, 0x02, 0x61, 0x62]);
    expect([...new Message().bytes(4, new Message().int(1, 1)).finish()]).toEqual([0x22, 0x02, 0x08, 0x01]);
    expect([...new Message().packedInts(1, [1, 300]).finish()]).toEqual([0x0a, 0x03, 0x01, 0xac, 0x02]);
  });
});
