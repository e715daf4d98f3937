// Embedding: a lookup table of vectors, initialised from N(0, 1).
import { Tensor } from '../../tensor.js';
import { empty } from '../../ops/creation.js';
import { noGrad } from '../../autograd/grad_mode.js';
import * as K from '../../ops/kernels.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import * as F from '../functional.js';
import { as, checkSize, dtypeParam, late, paramDType } from './linear.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../../util/args.js';

/**
 * Embedding(num_embeddings, embedding_dim, padding_idx=None, *, weight,
 * dtype=None) (Note [Layer signatures] in linear.ts). `weight`, a tensor of
 * shape [numEmbeddings, embeddingDim] to use as the weight, is PyTorch's
 * _weight. PyTorch's max_norm, norm_type, scale_grad_by_freq and sparse,
 * between padding_idx and _weight, are not implemented.
 */
const EMBEDDING = [
  late(param.int('numEmbeddings')),
  late(param.int('embeddingDim')),
  late(param.optInt('paddingIdx')),
  param.kw(late(param.custom('weight', 'Tensor?', as<Tensor | undefined>))),
  dtypeParam,
] as const;

export type EmbeddingOptions = OptionsOf<typeof EMBEDDING>;

/** Embedding.from_pretrained(embeddings, freeze=True, padding_idx=None). */
const FROM_PRETRAINED = [
  late(param.custom('embeddings', 'Tensor', as<Tensor>)),
  late(param.bool('freeze', true)),
  late(param.optInt('paddingIdx')),
] as const;

/**
 * nn.Embedding(num_embeddings, embedding_dim, padding_idx=None, *, weight, dtype=None): a lookup table, weight[input]
 * for integer indices, initialised from N(0, 1) with the paddingIdx row zeroed (and given no gradient). `weight` is
 * PyTorch's _weight; max_norm, norm_type, scale_grad_by_freq and sparse are not implemented.
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(...args: CallArgs<typeof EMBEDDING>) {
    super();
    const opts = bindOptions('Embedding', EMBEDDING, args);
    const { numEmbeddings, embeddingDim } = opts;
    checkSize('Embedding', 'numEmbeddings', numEmbeddings);
    checkSize('Embedding', 'embeddingDim', embeddingDim);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad)) throw new TypeError(`Embedding: paddingIdx must be an integer, got ${String(pad)}`);
      if (pad >= numEmbeddings || pad < -numEmbeddings) {
        throw new RangeError(`Embedding: paddingIdx must be within numEmbeddings (${numEmbeddings}), got ${pad}`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    if (opts.weight !== undefined) {
      const w = opts.weight;
      if (!(w instanceof Tensor)) throw new TypeError('Embedding: weight must be a Tensor');
      if (w._shape.length !== 2 || w._shape[0] !== numEmbeddings || w._shape[1] !== embeddingDim) {
        throw new RangeError(
          `Embedding: shape of weight ${K.fmtShape(w._shape)} does not match numEmbeddings and embeddingDim [${numEmbeddings}, ${embeddingDim}]`,
        );
      }
      this.weight = new Parameter(w);
    } else {
      this.weight = new Parameter(empty([numEmbeddings, embeddingDim], { dtype: paramDType('Embedding', opts.dtype) }));
      this.resetParameters();
    }
  }

  /** Embedding.from_pretrained: wraps a [num, dim] tensor, frozen by default. */
  static fromPretrained(...args: CallArgs<typeof FROM_PRETRAINED>): Embedding {
    const opts = bindOptions('Embedding.fromPretrained', FROM_PRETRAINED, args);
    const embeddings = opts.embeddings;
    if (!(embeddings instanceof Tensor) || embeddings.ndim !== 2) {
      throw new RangeError('Embedding.fromPretrained: embeddings must be a 2-dimensional Tensor');
    }
    const [n, d] = embeddings._shape;
    const e = new Embedding(n, d, { weight: embeddings, paddingIdx: opts.paddingIdx });
    e.weight.requiresGrad_(!opts.freeze);
    return e;
  }

  /** Refills weight from N(0, 1) and zeroes the paddingIdx row, as PyTorch's reset_parameters. */
  resetParameters(): void {
    init.normal_(this.weight);
    const pad = this.paddingIdx;
    if (pad !== null) noGrad(() => this.weight.select(0, pad).zero_());
  }

  forward(input: Tensor): Tensor {
    return F.embedding(input, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
