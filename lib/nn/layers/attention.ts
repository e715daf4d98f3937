// MultiheadAttention, with PyTorch 1.13's parameters, state-dict names
// (in_proj_weight, in_proj_bias, out_proj.weight, ...), initialisation
// and forward (F.multi_head_attention_forward).
import { Tensor } from '../../tensor.js';
import { empty } from '../../ops/creation.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import { multiHeadAttention, type MultiHeadAttentionArgs } from '../functional_attention.js';
import { Linear, as, checkSize, dtypeParam, late, paramDType } from './linear.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../../util/args.js';

/**
 * MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
 * add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None,
 * batch_first=False, *, dtype=None) (Note [Layer signatures] in linear.ts).
 */
const MULTIHEAD_ATTENTION = [
  late(param.int('embedDim')),
  late(param.int('numHeads')),
  late(param.float('dropout', 0)),
  late(param.bool('bias', true)),
  late(param.bool('addBiasKv', false)),
  late(param.bool('addZeroAttn', false)),
  late(param.optInt('kdim')),
  late(param.optInt('vdim')),
  late(param.bool('batchFirst', false)),
  dtypeParam,
] as const;

export type MultiheadAttentionOptions = OptionsOf<typeof MULTIHEAD_ATTENTION>;

/** forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None, average_attn_weights=True). */
const MHA_FORWARD = [
  param.custom('query', 'Tensor', as<Tensor>),
  param.custom('key', 'Tensor', as<Tensor>),
  param.custom('value', 'Tensor', as<Tensor>),
  param.custom('keyPaddingMask', 'Tensor?', as<Tensor | null>, null),
  param.bool('needWeights', true),
  param.custom('attnMask', 'Tensor?', as<Tensor | null>, null),
  param.bool('averageAttnWeights', true),
] as const;

/** @internal Checks a constructor flag. */
export function checkFlag(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}

/** @internal Checks a dropout probability given to a constructor. */
export function checkDropout(op: string, p: unknown): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new RangeError(`${op}: dropout probability has to be between 0 and 1, but got ${String(p)}`);
  }
  return p;
}

/**
 * MultiheadAttention's out_proj: a Linear under the name PyTorch gives it
 * (its printed form shows it), as PyTorch's NonDynamicallyQuantizableLinear.
 */
export class NonDynamicallyQuantizableLinear extends Linear {}

/**
 * nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
 * kdim=None, vdim=None, batch_first=False, *, dtype=None): attention over numHeads heads of embedDim / numHeads
 * each, as PyTorch 1.13's. Parameters and state-dict keys are PyTorch's: in_proj_weight [3E, E] (or q_proj_weight,
 * k_proj_weight, v_proj_weight when kdim or vdim differ from embedDim), in_proj_bias [3E], bias_k and bias_v
 * (addBiasKv), out_proj.weight and out_proj.bias; in-projections start from xavier_uniform_ and the biases from 0.
 * forward(query, key, value, { keyPaddingMask, needWeights, attnMask, averageAttnWeights }) returns [attnOutput,
 * attnWeights or null]; inputs are [L, N, E] ([N, L, E] with batchFirst) or unbatched [L, E]. In the masks true is a
 * position not attended; a float mask is added to the scores.
 */
export class MultiheadAttention extends Module {
  /** The model dimension E (PyTorch's embed_dim). */
  readonly embedDim: number;
  /** The key's feature size (embedDim unless given). */
  readonly kdim: number;
  /** The value's feature size (embedDim unless given). */
  readonly vdim: number;
  /** Whether kdim and vdim equal embedDim, so one packed in_proj_weight serves query, key and value. */
  readonly qkvSameEmbedDim: boolean;
  /** The number of heads. */
  readonly numHeads: number;
  /** The dropout probability on the attention weights (in training). */
  readonly dropout: number;
  /** Whether inputs are [N, L, E] rather than [L, N, E]. */
  readonly batchFirst: boolean;
  /** embedDim / numHeads. */
  readonly headDim: number;
  /** Whether a zero key and value position is appended (PyTorch's add_zero_attn). */
  readonly addZeroAttn: boolean;
  // Declared in PyTorch's registration order, so parameters() and state-dict keys come in its order.
  /** The packed query, key and value projection [3 * embedDim, embedDim], or null when kdim/vdim differ. */
  in_proj_weight: Parameter | null;
  /** The query projection [embedDim, embedDim] when kdim/vdim differ from embedDim, else null. */
  q_proj_weight: Parameter | null;
  /** The key projection [embedDim, kdim] when kdim/vdim differ from embedDim, else null. */
  k_proj_weight: Parameter | null;
  /** The value projection [embedDim, vdim] when kdim/vdim differ from embedDim, else null. */
  v_proj_weight: Parameter | null;
  /** The packed projection bias [3 * embedDim], or null without bias. */
  in_proj_bias: Parameter | null;
  /** The output projection (out_proj.weight, out_proj.bias). */
  out_proj: NonDynamicallyQuantizableLinear;
  /** The learnt extra key position [1, 1, embedDim] (addBiasKv), else null. */
  bias_k: Parameter | null;
  /** The learnt extra value position [1, 1, embedDim] (addBiasKv), else null. */
  bias_v: Parameter | null;

  constructor(...args: CallArgs<typeof MULTIHEAD_ATTENTION>) {
    super();
    const op = 'MultiheadAttention';
    const o = bindOptions(op, MULTIHEAD_ATTENTION, args);
    checkSize(op, 'embedDim', o.embedDim, 1);
    checkSize(op, 'numHeads', o.numHeads, 1);
    const E = o.embedDim;
    const kdim = o.kdim ?? E;
    const vdim = o.vdim ?? E;
    checkSize(op, 'kdim', kdim, 1);
    checkSize(op, 'vdim', vdim, 1);
    const dtype = paramDType(op, o.dtype);
    this.embedDim = E;
    this.kdim = kdim;
    this.vdim = vdim;
    this.qkvSameEmbedDim = kdim === E && vdim === E;
    this.numHeads = o.numHeads;
    this.dropout = checkDropout(op, o.dropout);
    this.batchFirst = checkFlag(op, 'batchFirst', o.batchFirst);
    this.headDim = Math.floor(E / o.numHeads);
    if (this.headDim * o.numHeads !== E) {
      throw new RangeError(`${op}: embedDim must be divisible by numHeads, got embedDim ${E} and numHeads ${o.numHeads}`);
    }
    const bias = checkFlag(op, 'bias', o.bias);
    const addBiasKv = checkFlag(op, 'addBiasKv', o.addBiasKv);
    this.addZeroAttn = checkFlag(op, 'addZeroAttn', o.addZeroAttn);
    const p = (shape: number[]) => new Parameter(empty(shape, { dtype }));
    this.in_proj_weight = this.qkvSameEmbedDim ? p([3 * E, E]) : null;
    this.q_proj_weight = this.qkvSameEmbedDim ? null : p([E, E]);
    this.k_proj_weight = this.qkvSameEmbedDim ? null : p([E, kdim]);
    this.v_proj_weight = this.qkvSameEmbedDim ? null : p([E, vdim]);
    this.in_proj_bias = bias ? p([3 * E]) : null;
    this.out_proj = new NonDynamicallyQuantizableLinear(E, E, { bias, dtype });
    this.bias_k = addBiasKv ? p([1, 1, E]) : null;
    this.bias_v = addBiasKv ? p([1, 1, E]) : null;
    this.resetParameters();
  }

  /**
   * Re-initialises as PyTorch's _reset_parameters: xavier_uniform_ in-projections, zero in_proj_bias and
   * out_proj.bias, xavier_normal_ bias_k and bias_v (out_proj.weight keeps Linear's initialisation).
   */
  resetParameters(): void {
    for (const w of [this.in_proj_weight, this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) {
      if (w !== null) init.xavierUniform_(w);
    }
    if (this.in_proj_bias !== null) {
      init.zeros_(this.in_proj_bias);
      if (this.out_proj.bias !== null) init.zeros_(this.out_proj.bias);
    }
    if (this.bias_k !== null) init.xavierNormal_(this.bias_k);
    if (this.bias_v !== null) init.xavierNormal_(this.bias_v);
  }

  /** PyTorch's in_proj_weight. */
  get inProjWeight(): Parameter | null {
    return this.in_proj_weight;
  }
  set inProjWeight(v: Parameter | null) {
    this.in_proj_weight = v;
  }
  /** PyTorch's in_proj_bias. */
  get inProjBias(): Parameter | null {
    return this.in_proj_bias;
  }
  set inProjBias(v: Parameter | null) {
    this.in_proj_bias = v;
  }
  /** PyTorch's q_proj_weight. */
  get qProjWeight(): Parameter | null {
    return this.q_proj_weight;
  }
  set qProjWeight(v: Parameter | null) {
    this.q_proj_weight = v;
  }
  /** PyTorch's k_proj_weight. */
  get kProjWeight(): Parameter | null {
    return this.k_proj_weight;
  }
  set kProjWeight(v: Parameter | null) {
    this.k_proj_weight = v;
  }
  /** PyTorch's v_proj_weight. */
  get vProjWeight(): Parameter | null {
    return this.v_proj_weight;
  }
  set vProjWeight(v: Parameter | null) {
    this.v_proj_weight = v;
  }
  /** PyTorch's out_proj. */
  get outProj(): NonDynamicallyQuantizableLinear {
    return this.out_proj;
  }
  set outProj(v: NonDynamicallyQuantizableLinear) {
    this.out_proj = v;
  }
  /** PyTorch's bias_k. */
  get biasK(): Parameter | null {
    return this.bias_k;
  }
  set biasK(v: Parameter | null) {
    this.bias_k = v;
  }
  /** PyTorch's bias_v. */
  get biasV(): Parameter | null {
    return this.bias_v;
  }
  set biasV(v: Parameter | null) {
    this.bias_v = v;
  }

  /**
   * forward(query, key, value, keyPaddingMask = null, needWeights = true, attnMask = null, averageAttnWeights = true):
   * [attnOutput, attnWeights], attnWeights null unless needWeights (averaged over the heads unless
   * averageAttnWeights is false). keyPaddingMask [N, S] ([S] unbatched): true (or a -inf float) leaves a key out;
   * attnMask [L, S] or [N * numHeads, L, S]: true is a pair not attended, a float mask is added to the scores.
   */
  forward(...args: CallArgs<typeof MHA_FORWARD>): [Tensor, Tensor | null] {
    const a = bindOptions('MultiheadAttention', MHA_FORWARD, args);
    let { query, key, value } = a;
    const batched = query instanceof Tensor && query.ndim === 3;
    if (this.batchFirst && batched) {
      // One transpose per distinct tensor: query === key === value marks self-attention.
      const seen = new Map<Tensor, Tensor>();
      const tr = (t: Tensor): Tensor => {
        let u = seen.get(t);
        if (u === undefined) seen.set(t, (u = t.transpose(1, 0)));
        return u;
      };
      [query, key, value] = [tr(query), tr(key), tr(value)];
    }
    const separate = !this.qkvSameEmbedDim;
    const [out, weights] = this._attend({
      query,
      key,
      value,
      embedDimToCheck: this.embedDim,
      numHeads: this.numHeads,
      inProjWeight: this.in_proj_weight,
      inProjBias: this.in_proj_bias,
      biasK: this.bias_k,
      biasV: this.bias_v,
      addZeroAttn: this.addZeroAttn,
      dropoutP: this.dropout,
      outProjWeight: this.out_proj.weight,
      outProjBias: this.out_proj.bias,
      training: this.training,
      keyPaddingMask: a.keyPaddingMask,
      needWeights: a.needWeights,
      attnMask: a.attnMask,
      useSeparateProjWeight: separate,
      qProjWeight: this.q_proj_weight,
      kProjWeight: this.k_proj_weight,
      vProjWeight: this.v_proj_weight,
      staticK: null,
      staticV: null,
      averageAttnWeights: a.averageAttnWeights,
    });
    return [this.batchFirst && batched ? out.transpose(1, 0) : out, weights];
  }

  /**
   * @internal The attention on sequence-first inputs. A method of its own so that torch.onnx.export
   * (lib/onnx/modules.ts) can record it whole, as primitive ONNX ops, rather than trace its parts.
   */
  _attend(a: MultiHeadAttentionArgs): [Tensor, Tensor | null] {
    return multiHeadAttention('MultiheadAttention', a);
  }
}
