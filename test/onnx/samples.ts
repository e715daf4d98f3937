// The models the ONNX tests export, each built the same way every time
// (seeded), so its export is the same bytes every time: the bytes that
// scripts/make_onnx_fixtures.py had onnx.checker approve
// (test/fixtures/onnx_checked.json). scripts/write_onnx_samples.ts writes
// them for that script.
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/tensor.js';
import { buildModel } from '../../examples/train_mnist.js';
import { buildModel as buildLm } from '../../examples/train_lm.js';
import type { ExportOptions } from '../../lib/onnx/export.js';

/** One sample: a model, its example inputs at a batch size, and the export options. */
export interface Sample {
  name: string;
  model: nn.Module;
  /** Example inputs with batch size n (the same values each call for one n). */
  inputs(n: number): Tensor[];
  options: ExportOptions;
}

const batchAxes = (names: string[]): ExportOptions => ({
  inputNames: names,
  outputNames: ['output'],
  dynamicAxes: Object.fromEntries(names.map((n) => [n, { 0: 'batch' }])),
});

function images(n: number): Tensor[] {
  torch.manualSeed(100 + n);
  return [torch.rand([n, 784])];
}

/** Conv, BatchNorm (eval), pools, activations, Dropout, Flatten, transpose, cat, LayerNorm. */
class LayerZoo extends nn.Module {
  conv = new nn.Conv2d(3, 8, 3, { padding: 'same' });
  bn = new nn.BatchNorm2d(8);
  pool = new nn.AdaptiveAvgPool2d(2);
  drop = new nn.Dropout(0.3);
  flat = new nn.Flatten();
  lin = new nn.Linear(32, 16);
  ln = new nn.LayerNorm(24);
  gelu = new nn.GELU();
  act = new nn.LeakyReLU(0.2);
  head = new nn.Linear(24, 5);
  constructor() {
    super();
    // Running statistics other than 0 and 1, so that eval-mode BatchNorm is tested.
    torch.noGrad(() => {
      this.bn.running_mean!.copy_(torch.randn([8]).mul(0.1));
      this.bn.running_var!.copy_(torch.rand([8]).add(0.5));
    });
  }
  forward(x: Tensor): Tensor {
    let y = this.pool.forward(this.bn.forward(this.conv.forward(x)).relu());
    y = this.flat.forward(this.drop.forward(y)); // [N, 32]
    y = this.lin.forward(y).sigmoid(); // [N, 16]
    const z = torch.cat([y, y.tanh().mul(2).sub(0.5).narrow(1, 0, 8)], 1); // [N, 24]
    const t = this.ln.forward(this.act.forward(z)).unsqueeze(1).transpose(1, 2).squeeze(2); // [N, 24]
    return torch.nn.functional.logSoftmax(this.head.forward(this.gelu.forward(t)), 1);
  }
}

/** Embedding over token ids [N, 6], mean over the sequence, Linear. */
class Embedder extends nn.Module {
  emb = new nn.Embedding(20, 8);
  lin = new nn.Linear(8, 3);
  forward(ids: Tensor): Tensor {
    return torch.nn.functional.softmax(this.lin.forward(this.emb.forward(ids).mean(1)), -1);
  }
}

/** A sequence model: Conv1d over [N, 4, 10], then per-position LayerNorm and Linear. */
class Conv1dSeq extends nn.Module {
  conv = new nn.Conv1d(4, 6, 3, { padding: 1 });
  ln = new nn.LayerNorm(6);
  lin = new nn.Linear(6, 2);
  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x).relu().permute(0, 2, 1); // [N, 10, 6]
    return this.lin.forward(this.ln.forward(y)); // Linear over 3-d input: MatMul and Add
  }
}

/** A 2-layer bidirectional batch-first LSTM from given h0 and c0; reads the output, hn and cn. */
class LstmSeq extends nn.Module {
  lstm = new nn.LSTM(4, 6, 2, { batchFirst: true, bidirectional: true });
  lin = new nn.Linear(12, 3);
  forward(x: Tensor, h0: Tensor, c0: Tensor): Tensor {
    const [out, [hn, cn]] = this.lstm.forward(x, [h0, c0]); // out [N, 7, 12], hn and cn [4, N, 6]
    const last = this.lin.forward(out.narrow(1, 6, 1).squeeze(1)); // [N, 3]
    return torch.cat([last, hn.narrow(0, 3, 1).squeeze(0), cn.narrow(0, 2, 1).squeeze(0)], 1); // [N, 15]
  }
}

/** A 2-layer sequence-first GRU from zeros, its output plus the last layer's hn. */
class GruSeq extends nn.Module {
  gru = new nn.GRU(4, 5, 2);
  forward(x: Tensor): Tensor {
    const [out, hn] = this.gru.forward(x); // [7, N, 5], [2, N, 5]
    return out.add(hn.narrow(0, 1, 1));
  }
}

/** A bidirectional relu RNN without biases over a dynamic sequence axis. */
class RnnSeq extends nn.Module {
  rnn = new nn.RNN(3, 4, 1, 'relu', { bias: false, bidirectional: true });
  forward(x: Tensor, h0: Tensor): Tensor {
    const [out, hn] = this.rnn.forward(x, h0); // [S, N, 8], [2, N, 4]
    return out.mul(hn.narrow(0, 0, 1).mean(2, true).sigmoid());
  }
}

/** Batch-first self-attention under a causal float mask (a buffer) and a bool key-padding mask (an input); reads the averaged weights too. */
class MhaMasks extends nn.Module {
  mha = new nn.MultiheadAttention(8, 2, { batchFirst: true });
  constructor() {
    super();
    this.registerBuffer('causal', nn.Transformer.generateSquareSubsequentMask(5));
  }
  forward(x: Tensor, kpm: Tensor): Tensor {
    const [out, w] = this.mha.forward(x, x, x, kpm, true, (this as unknown as { causal: Tensor }).causal);
    return out.add(w!.narrow(2, 0, 1)); // [N, 5, 8] + [N, 5, 1]
  }
}

/** A key-padding mask that never hides key 0 (a fully masked causal row would be NaN on both sides). */
function paddingMask(n: number): Tensor {
  const rows = Array.from({ length: n }, (_, r) => Array.from({ length: 5 }, (_, j) => j > 0 && (r * 7 + j * 3) % 5 === 0));
  return torch.tensor(rows, { dtype: 'bool' });
}

/** F.scaledDotProductAttention, causal, over [N, 2, 5, 4] projections of the input. */
class Sdpa extends nn.Module {
  lin = new nn.Linear(4, 12);
  forward(x: Tensor): Tensor {
    const [q, k, v] = [0, 1, 2].map((i) => this.lin.forward(x).narrow(3, 4 * i, 4));
    return torch.nn.functional.scaledDotProductAttention(q, k, v, null, 0, true);
  }
}

/** The samples, built from seed 0 each. */
export function samples(): Sample[] {
  torch.manualSeed(0);
  const cnn = buildModel('cnn');
  torch.manualSeed(0);
  const lenet = buildModel('lenet');
  torch.manualSeed(0);
  const zoo = new LayerZoo();
  torch.manualSeed(0);
  const embedder = new Embedder();
  torch.manualSeed(0);
  const conv1d = new Conv1dSeq();
  torch.manualSeed(0);
  const lstm = new LstmSeq();
  torch.manualSeed(0);
  const gru = new GruSeq();
  torch.manualSeed(0);
  const rnn = new RnnSeq();
  torch.manualSeed(0);
  const lmLstm = buildLm({ model: 'lstm', vocabSize: 11, blockSize: 8, dModel: 6, hidden: 7, nLayer: 2 });
  torch.manualSeed(0);
  const lmGpt = buildLm({ model: 'transformer', vocabSize: 11, blockSize: 8, dModel: 8, nLayer: 2, nHead: 2 });
  torch.manualSeed(0);
  const mha = new MhaMasks();
  torch.manualSeed(0);
  const sdpa = new Sdpa();
  torch.manualSeed(0);
  const encoder = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, activation: 'gelu' }), 2);
  torch.manualSeed(0);
  const transformer = new nn.Transformer({
    dModel: 8,
    nhead: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 2,
    dimFeedforward: 16,
    batchFirst: true,
    normFirst: true,
  });
  return [
    { name: 'mnist_cnn', model: cnn, inputs: images, options: batchAxes(['input']) },
    { name: 'mnist_lenet', model: lenet, inputs: images, options: batchAxes(['input']) },
    {
      name: 'layer_zoo',
      model: zoo,
      inputs: (n) => {
        torch.manualSeed(200 + n);
        return [torch.randn([n, 3, 8, 8])];
      },
      options: batchAxes(['input']),
    },
    {
      name: 'embedding',
      model: embedder,
      inputs: (n) => {
        torch.manualSeed(300 + n);
        return [torch.randint(0, 20, [n, 6])];
      },
      options: batchAxes(['ids']),
    },
    {
      name: 'conv1d_seq',
      model: conv1d,
      inputs: (n) => {
        torch.manualSeed(400 + n);
        return [torch.randn([n, 4, 10])];
      },
      options: batchAxes(['input']),
    },
    {
      name: 'lstm_bidir_batch_first',
      model: lstm,
      inputs: (n) => {
        torch.manualSeed(500 + n);
        return [torch.randn([n, 7, 4]), torch.randn([4, n, 6]), torch.randn([4, n, 6])];
      },
      options: {
        inputNames: ['x', 'h0', 'c0'],
        outputNames: ['output'],
        dynamicAxes: { x: { 0: 'batch' }, h0: { 1: 'batch' }, c0: { 1: 'batch' } },
      },
    },
    {
      name: 'gru_stacked',
      model: gru,
      inputs: (n) => {
        torch.manualSeed(600 + n);
        return [torch.randn([7, n, 4])];
      },
      options: { inputNames: ['x'], outputNames: ['output'], dynamicAxes: { x: { 1: 'batch' } } },
    },
    {
      // The sequence axis is dynamic too: batch n runs n + 2 steps.
      name: 'rnn_relu_dynamic_seq',
      model: rnn,
      inputs: (n) => {
        torch.manualSeed(700 + n);
        return [torch.randn([n + 2, n, 3]), torch.randn([2, n, 4])];
      },
      options: {
        inputNames: ['x', 'h0'],
        outputNames: ['output'],
        dynamicAxes: { x: { 0: 'seq', 1: 'batch' }, h0: { 1: 'batch' } },
      },
    },
    {
      // npm run train:lm -- --model lstm's model: token ids [N, T] to logits [N, T, vocab], T dynamic.
      name: 'char_lm_lstm',
      model: lmLstm,
      inputs: (n) => {
        torch.manualSeed(800 + n);
        return [torch.randint(0, 11, [n, n + 1])];
      },
      options: { inputNames: ['idx'], outputNames: ['output'], dynamicAxes: { idx: { 0: 'batch', 1: 'time' } } },
    },
    {
      // npm run train:lm's GPT: positions (arange) and the causal mask are made in forward, as constants of
      // the export, so the context length is fixed (5 here) and the batch dynamic.
      name: 'char_lm_gpt',
      model: lmGpt,
      inputs: (n) => {
        torch.manualSeed(850 + n);
        return [torch.randint(0, 11, [n, 5])];
      },
      options: { inputNames: ['idx'], outputNames: ['output'], dynamicAxes: { idx: { 0: 'batch' } } },
    },
    {
      name: 'mha_masks',
      model: mha,
      inputs: (n) => {
        torch.manualSeed(900 + n);
        return [torch.randn([n, 5, 8]), paddingMask(n)];
      },
      options: batchAxes(['x', 'kpm']),
    },
    {
      name: 'sdpa_causal',
      model: sdpa,
      inputs: (n) => {
        torch.manualSeed(1000 + n);
        return [torch.randn([n, 2, 5, 4])];
      },
      options: batchAxes(['x']),
    },
    {
      // Post-norm encoder layers, gelu, sequence first; batch n runs n + 2 steps (both axes dynamic).
      name: 'transformer_encoder_dynamic_seq',
      model: encoder,
      inputs: (n) => {
        torch.manualSeed(1100 + n);
        return [torch.randn([n + 2, n, 8])];
      },
      options: { inputNames: ['src'], outputNames: ['output'], dynamicAxes: { src: { 0: 'seq', 1: 'batch' } } },
    },
    {
      // nn.Transformer, pre-norm, batch first: the decoder's cross-attention reads memory of another length.
      name: 'transformer',
      model: new (class extends nn.Module {
        t = transformer;
        constructor() {
          super();
          this.registerBuffer('tgtMask', nn.Transformer.generateSquareSubsequentMask(4));
        }
        forward(src: Tensor, tgt: Tensor): Tensor {
          return this.t.forward(src, tgt, null, (this as unknown as { tgtMask: Tensor }).tgtMask);
        }
      })(),
      inputs: (n) => {
        torch.manualSeed(1200 + n);
        return [torch.randn([n, 6, 8]), torch.randn([n, 4, 8])];
      },
      options: batchAxes(['src', 'tgt']),
    },
  ];
}
