// nn.TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
// TransformerDecoder and Transformer against PyTorch 1.13
// (test/fixtures/nn_attention.json, made by scripts/make_attention_fixtures.py):
// printed form, state-dict keys, outputs and gradients with every mask;
// the clones, initialisation, a float64 gradcheck and the errors.
import { describe, expect, it } from 'vitest';
import { expectTensor } from '../helpers/fixtures.js';
import { buildLayer, casesOf, float64, fx, nn, runModuleCase, torch } from './helpers/attention_fixture.js';
import type { Tensor } from '../../lib/tensor.js';

const LAYERS = ['TransformerEncoderLayer', 'TransformerEncoder', 'TransformerDecoderLayer', 'TransformerDecoder', 'Transformer'];

describe('the Transformer layers match PyTorch 1.13', () => {
  const cases = casesOf(...LAYERS);
  it('the fixture covers every layer, masks, normFirst, gelu and batchFirst', () => {
    expect(new Set(cases.map((c) => c.layer))).toEqual(new Set(LAYERS));
    const names = cases.map((c) => c.name).join(' ');
    for (const word of ['masks', 'norm_first', 'gelu', 'batch_first', 'unbatched', 'float64']) expect(names).toContain(word);
  });
  for (const c of cases) it(c.name, () => runModuleCase(c));

  it("PyTorch's state-dict keys", () => {
    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, 8), 2, new nn.LayerNorm(4));
    const keys = Object.keys(enc.stateDict());
    expect(keys.slice(0, 12)).toEqual([
      'layers.0.self_attn.in_proj_weight',
      'layers.0.self_attn.in_proj_bias',
      'layers.0.self_attn.out_proj.weight',
      'layers.0.self_attn.out_proj.bias',
      'layers.0.linear1.weight',
      'layers.0.linear1.bias',
      'layers.0.linear2.weight',
      'layers.0.linear2.bias',
      'layers.0.norm1.weight',
      'layers.0.norm1.bias',
      'layers.0.norm2.weight',
      'layers.0.norm2.bias',
    ]);
    expect(keys.slice(-2)).toEqual(['norm.weight', 'norm.bias']);
    expect(keys).toHaveLength(26);
    const t = new nn.Transformer({ dModel: 4, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8 });
    const tk = Object.keys(t.stateDict());
    expect(tk).toContain('decoder.layers.0.multihead_attn.in_proj_weight');
    expect(tk).toContain('decoder.layers.0.norm3.bias');
    expect(tk).toContain('encoder.norm.weight');
    expect(tk).toContain('decoder.norm.weight');
  });

  it("generateSquareSubsequentMask is PyTorch's", () => {
    expectTensor(nn.Transformer.generateSquareSubsequentMask(4), fx.square_mask, 'mask');
    const m64 = nn.Transformer.generateSquareSubsequentMask(3, { dtype: 'float64' });
    expect(m64.dtype).toBe('float64');
    expect(m64.tolist()).toEqual([
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, 0, 0],
    ]);
  });

  it('TransformerEncoder clones its layer: equal values, separate parameters', () => {
    const layer = new nn.TransformerEncoderLayer(4, 2, 8);
    const enc = new nn.TransformerEncoder(layer, 3);
    expect(enc.layers.length).toBe(3);
    const first = enc.layers.get(0) as nn.TransformerEncoderLayer;
    const second = enc.layers.get(1) as nn.TransformerEncoderLayer;
    expect(first).not.toBe(layer);
    expect(first.self_attn.in_proj_weight!.equal(layer.self_attn.in_proj_weight!)).toBe(true);
    expect(second.linear1.weight.equal(first.linear1.weight)).toBe(true);
    expect(second.linear1.weight).not.toBe(first.linear1.weight);
    expect(new Set(enc.parameters()).size).toBe(3 * layer.parameters().length);
    torch.noGrad(() => first.linear1.weight.fill_(0));
    expect(second.linear1.weight.abs().sum().item()).toBeGreaterThan(0);
    expect(layer.linear1.weight.abs().sum().item()).toBeGreaterThan(0);
  });

  it("nn.Transformer re-draws every matrix with xavier_uniform_, as PyTorch's _reset_parameters", () => {
    torch.manualSeed(0);
    const t = new nn.Transformer({ dModel: 32, nhead: 4, numEncoderLayers: 2, numDecoderLayers: 1, dimFeedforward: 64 });
    for (const [name, p] of t.namedParameters()) {
      if (p.ndim < 2) continue;
      const [out, inp] = p.shape;
      const bound = Math.sqrt(6 / (out + inp));
      expect(p.abs().max().item(), name).toBeLessThanOrEqual(bound);
      expect(p.abs().max().item(), name).toBeGreaterThan(0.9 * bound);
    }
    const enc = t.encoder as nn.TransformerEncoder;
    // Each clone re-drawn on its own: they no longer agree.
    const [l0, l1] = [enc.layers.get(0), enc.layers.get(1)] as nn.TransformerEncoderLayer[];
    expect(l0.linear1.weight.equal(l1.linear1.weight)).toBe(false);
    expect(l0.linear1.bias!.equal(l1.linear1.bias!)).toBe(true);
    expect(enc.norm).toBeInstanceOf(nn.LayerNorm);
  });

  it('passes a float64 gradcheck through the input and the weights', () => {
    const c = cases.find((x) => x.name === 'encoder_layer_float64')!;
    const m = buildLayer(c) as nn.TransformerEncoderLayer;
    const src = float64(c.inputs[0]);
    expect(torch.autograd.gradcheck((x) => m(x), [src])).toBe(true);
    const mask = torch.tensor([
      [false, false, true, true],
      [false, false, false, false],
    ]);
    const w0 = m.linear1.weight.detach().clone().requiresGrad_();
    expect(
      torch.autograd.gradcheck(
        (x, w) => {
          m.linear1.weight = w as never;
          return m(x, { srcKeyPaddingMask: mask });
        },
        [src, w0],
      ),
    ).toBe(true);
  });

  it('dropout is active in training and off in eval', () => {
    torch.manualSeed(2);
    const layer = new nn.TransformerEncoderLayer(8, 2, 16, 0.5);
    const x = torch.randn(5, 2, 8);
    layer.eval();
    const a = layer(x);
    expect(layer(x).equal(a)).toBe(true);
    layer.train();
    expect(layer(x).allclose(a)).toBe(false);
  });

  it('runs its submodules as calls, so their hooks see every step', () => {
    const layer = new nn.TransformerDecoderLayer(4, 2, 8, 0);
    const seen: string[] = [];
    for (const [name, m] of layer.namedModules()) if (name) m.registerForwardHook(() => void seen.push(name));
    layer(torch.randn(3, 1, 4), torch.randn(5, 1, 4));
    expect(seen).toEqual([
      'self_attn',
      'dropout1',
      'norm1',
      'multihead_attn',
      'dropout2',
      'norm2',
      'linear1',
      'dropout',
      'linear2',
      'dropout3',
      'norm3',
    ]);
    expect(layer.selfAttn).toBe(layer.self_attn);
    expect(layer.multiheadAttn).toBe(layer.multihead_attn);
  });

  it('takes a module or function as activation and refuses an unknown name', () => {
    const gelu = new nn.GELU();
    const layer = new nn.TransformerEncoderLayer(4, 2, { activation: gelu });
    expect(layer.activation).toBe(gelu);
    expect(layer.namedChildren().map(([n]) => n)).toContain('activation');
    expect(() => new nn.TransformerEncoderLayer(4, 2, { activation: 'swish' as never })).toThrow(
      /TransformerEncoderLayer: activation should be 'relu', 'gelu' or a function, not "swish"/,
    );
    const f = (x: Tensor) => x.mul(2);
    expect(new nn.TransformerDecoderLayer(4, 2, { activation: f }).activation).toBe(f);
  });

  it('refuses bad arguments, naming the layer and the shapes', () => {
    expect(() => new nn.TransformerEncoderLayer(6, 4)).toThrow(
      /MultiheadAttention: embedDim must be divisible by numHeads, got embedDim 6 and numHeads 4/,
    );
    expect(() => new nn.TransformerEncoderLayer(4, 2, { dropout: -1 })).toThrow(/TransformerEncoderLayer: dropout probability/);
    expect(() => new nn.TransformerEncoderLayer(4, 2, { normfirst: true } as never)).toThrow(/did you mean 'normFirst'/);
    expect(() => new nn.TransformerEncoder(null as never, 2)).toThrow(/TransformerEncoder: encoderLayer must be a Module, got null/);
    expect(() => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2), 0)).toThrow(
      /TransformerEncoder: numLayers must be >= 1, got 0/,
    );
    const layer = new nn.TransformerEncoderLayer(4, 2, 8);
    expect(() => layer(torch.randn(5, 3, 6))).toThrow(
      /TransformerEncoderLayer: expected src of shape \[S, N, 4\] \(dModel 4\) or unbatched \[S, 4\], got \[5, 3, 6\]/,
    );
    expect(() => layer(torch.randn(5, 3, 4), { srcKeyPaddingMask: torch.zeros([3, 5], { dtype: 'int64' }) })).toThrow(
      /TransformerEncoderLayer: only bool and floating types of srcKeyPaddingMask are supported, got int64/,
    );
    expect(() => layer(torch.randn(5, 3, 4), { srcMask: torch.zeros([5, 4]) })).toThrow(
      /MultiheadAttention: the shape of the 2-D attnMask is \[5, 4\], but should be \[5, 5\]/,
    );
    expect(() => layer(torch.randn(5, 3, 4), { srcKeyPaddingMask: torch.zeros([5, 3], { dtype: 'bool' }) })).toThrow(
      /expecting keyPaddingMask of shape \[3, 5\] \(N, S\), got \[5, 3\]/,
    );
    const dec = new nn.TransformerDecoderLayer(4, 2, 8, { batchFirst: true });
    expect(() => dec(torch.randn(2, 3, 4), torch.randn(2, 5, 3))).toThrow(
      /TransformerDecoderLayer: expected memory of shape \[N, S, 4\] \(dModel 4\) or unbatched \[S, 4\], got \[2, 5, 3\]/,
    );
    const t = new nn.Transformer({ dModel: 4, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8 });
    expect(() => t(torch.randn(5, 2, 4), torch.randn(3, 3, 4))).toThrow(
      /Transformer: the batch number of src and tgt must be equal, got src \[5, 2, 4\] and tgt \[3, 3, 4\]/,
    );
    expect(() => t(torch.randn(5, 2, 4), torch.randn(3, 2, 6))).toThrow(
      /Transformer: the feature number of src and tgt must be equal to dModel \(4\)/,
    );
    expect(() => nn.Transformer.generateSquareSubsequentMask(-1)).toThrow(/generateSquareSubsequentMask: sz must be >= 0/);
  });
});
