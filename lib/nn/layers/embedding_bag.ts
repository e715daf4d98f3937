// EmbeddingBag: the sum, mean or max of bags of embedding rows, as PyTorch 1.13's.
import { Tensor } from '../../tensor.js';
import { empty } from '../../ops/creation.js';
import { noGrad } from '../../autograd/grad_mode.js';
import * as K from '../../ops/kernels.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import { bags, type EmbeddingBagMode } from '../functional_embedding_bag.js';
import { as, checkSize, dtypeParam, late, paramDType } from './linear.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../../util/args.js';

const modeParam = param.kw(late(param.oneOf('mode', ['sum', 'mean', 'max'], 'mean')));
const includeLastOffsetParam = param.kw(late(param.bool('includeLastOffset', false)));
const paddingIdxParam = param.kw(late(param.optInt('paddingIdx')));

/**
 * EmbeddingBag(num_embeddings, embedding_dim, *, mode='mean', weight,
 * include_last_offset=False, padding_idx=None, dtype=None) (Note [Layer
 * signatures] in linear.ts). PyTorch's max_norm, norm_type and
 * scale_grad_by_freq come right after embedding_dim and are not
 * implemented (nor is sparse), so everything after embeddingDim is
 * keyword-only. `weight` is PyTorch's _weight.
 */
const EMBEDDING_BAG = [
  late(param.int('numEmbeddings')),
  late(param.int('embeddingDim')),
  modeParam,
  param.kw(late(param.custom('weight', 'Tensor?', as<Tensor | undefined>))),
  includeLastOffsetParam,
  paddingIdxParam,
  dtypeParam,
] as const;

export type EmbeddingBagOptions = OptionsOf<typeof EMBEDDING_BAG>;

/** EmbeddingBag.from_pretrained(embeddings, freeze=True, *, mode='mean', include_last_offset=False, padding_idx=None). */
const FROM_PRETRAINED = [
  late(param.custom('embeddings', 'Tensor', as<Tensor>)),
  late(param.bool('freeze', true)),
  modeParam,
  includeLastOffsetParam,
  paddingIdxParam,
] as const;

/** forward(input, offsets=None, per_sample_weights=None). */
const FORWARD = [
  param.custom('input', 'Tensor', as<Tensor>),
  param.custom('offsets', 'Tensor?', as<Tensor | null>, null),
  param.custom('perSampleWeights', 'Tensor?', as<Tensor | null>, null),
] as const;

/**
 * nn.EmbeddingBag(num_embeddings, embedding_dim, *, mode='mean', weight, include_last_offset=False,
 * padding_idx=None, dtype=None): for each bag of indices, the sum, mean or max of their rows of weight
 * [numEmbeddings, embeddingDim] (initialised from N(0, 1), the paddingIdx row zeroed), as PyTorch 1.13's, without
 * materialising every row first. forward(input, offsets?, perSampleWeights?): a 2-D input [B, N] is B bags of N;
 * a 1-D input is cut into bags at offsets (bag i starts at offsets[i]; with includeLastOffset the last offset ends
 * the last bag). paddingIdx entries are left out of their bag (a mean counts only the rest); an empty bag is zeros.
 * perSampleWeights (mode 'sum' only) scale each row before the sum. max_norm, norm_type, scale_grad_by_freq and
 * sparse are not implemented.
 */
export class EmbeddingBag extends Module {
  /** The number of rows of weight. */
  readonly numEmbeddings: number;
  /** The size of each row. */
  readonly embeddingDim: number;
  /** How each bag is reduced: 'sum', 'mean' or 'max'. */
  readonly mode: EmbeddingBagMode;
  /** Whether offsets has one more entry, the end of the last bag (PyTorch's include_last_offset). */
  readonly includeLastOffset: boolean;
  /** The index left out of every bag, or null. */
  readonly paddingIdx: number | null;
  /** The table [numEmbeddings, embeddingDim]. */
  weight: Parameter;

  constructor(...args: CallArgs<typeof EMBEDDING_BAG>) {
    super();
    const op = 'EmbeddingBag';
    const o = bindOptions(op, EMBEDDING_BAG, args);
    const { numEmbeddings, embeddingDim } = o;
    checkSize(op, 'numEmbeddings', numEmbeddings);
    checkSize(op, 'embeddingDim', embeddingDim);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    if (o.mode !== 'sum' && o.mode !== 'mean' && o.mode !== 'max') {
      throw new RangeError(`${op}: mode has to be one of 'sum', 'mean' or 'max', got ${K.fmtValue(o.mode)}`);
    }
    this.mode = o.mode;
    if (typeof o.includeLastOffset !== 'boolean')
      throw new TypeError(`${op}: includeLastOffset must be a boolean, got ${K.fmtValue(o.includeLastOffset)}`);
    this.includeLastOffset = o.includeLastOffset;
    let pad = o.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad)) throw new TypeError(`${op}: paddingIdx must be an integer, got ${K.fmtValue(pad)}`);
      if (pad >= numEmbeddings || pad < -numEmbeddings) {
        throw new RangeError(`${op}: paddingIdx must be within numEmbeddings (${numEmbeddings}), got ${pad}`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    if (o.weight !== undefined && o.weight !== null) {
      const w = o.weight;
      if (!(w instanceof Tensor)) throw new TypeError(`${op}: weight must be a Tensor, got ${K.fmtValue(w)}`);
      if (w._shape.length !== 2 || w._shape[0] !== numEmbeddings || w._shape[1] !== embeddingDim) {
        throw new RangeError(
          `${op}: shape of weight ${K.fmtShape(w._shape)} does not match numEmbeddings and embeddingDim [${numEmbeddings}, ${embeddingDim}]`,
        );
      }
      this.weight = new Parameter(w);
    } else {
      this.weight = new Parameter(empty([numEmbeddings, embeddingDim], { dtype: paramDType(op, o.dtype) }));
      this.resetParameters();
    }
  }

  /** EmbeddingBag.from_pretrained: wraps a [num, dim] tensor, frozen by default. */
  static fromPretrained(...args: CallArgs<typeof FROM_PRETRAINED>): EmbeddingBag {
    const o = bindOptions('EmbeddingBag.fromPretrained', FROM_PRETRAINED, args);
    const embeddings = o.embeddings;
    if (!(embeddings instanceof Tensor) || embeddings.ndim !== 2) {
      throw new RangeError(`EmbeddingBag.fromPretrained: embeddings must be a 2-dimensional Tensor, got ${K.fmtValue(embeddings)}`);
    }
    const [n, d] = embeddings._shape;
    const bag = new EmbeddingBag(n, d, {
      weight: embeddings,
      mode: o.mode,
      includeLastOffset: o.includeLastOffset,
      paddingIdx: o.paddingIdx,
    });
    bag.weight.requiresGrad_(!o.freeze);
    return bag;
  }

  /** Refills weight from N(0, 1) and zeroes the paddingIdx row, as PyTorch's reset_parameters. */
  resetParameters(): void {
    init.normal_(this.weight);
    const pad = this.paddingIdx;
    if (pad !== null) noGrad(() => this.weight.select(0, pad).zero_());
  }

  /** forward(input, offsets = null, perSampleWeights = null): [B, embeddingDim], one row per bag. */
  forward(...args: CallArgs<typeof FORWARD>): Tensor {
    const a = bindOptions('EmbeddingBag', FORWARD, args);
    return bags('EmbeddingBag', {
      input: a.input,
      weight: this.weight,
      offsets: a.offsets,
      mode: this.mode,
      perSampleWeights: a.perSampleWeights,
      includeLastOffset: this.includeLastOffset,
      paddingIdx: this.paddingIdx,
    });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}, mode=${this.mode}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
