// BatchNorm1d / BatchNorm2d and LayerNorm, with PyTorch's parameters,
// buffers (running_mean, running_var, num_batches_tracked) and state-dict names.
import { Tensor } from '../../tensor.js';
import { empty, zeros } from '../../ops/creation.js';
import { noGrad } from '../../autograd/grad_mode.js';
import * as K from '../../ops/kernels.js';
import { Module, pyFloat, pyTuple } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import * as F from '../functional.js';
import { as, checkSize, dtypeParam, late, paramDType } from './linear.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../../util/args.js';

/**
 * BatchNorm1d/2d(num_features, eps=1e-05, momentum=0.1, affine=True,
 * track_running_stats=True, *, dtype=None) (Note [Layer signatures] in
 * linear.ts). momentum null: a cumulative moving average (PyTorch's None).
 */
const BATCH_NORM = [
  late(param.int('numFeatures')),
  late(param.float('eps', 1e-5)),
  late(param.optFloat('momentum', 0.1)),
  late(param.bool('affine', true)),
  late(param.bool('trackRunningStats', true)),
  dtypeParam,
] as const;

export type BatchNormOptions = OptionsOf<typeof BATCH_NORM>;

function checkFlag(op: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}

function checkEps(op: string, eps: unknown): number {
  if (typeof eps !== 'number' || !(eps >= 0)) throw new RangeError(`${op}: eps must be a non-negative number, got ${String(eps)}`);
  return eps;
}

/** The shared body of BatchNorm1d and BatchNorm2d (PyTorch's _BatchNorm). */
export abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  // Buffers keep PyTorch's names so state dicts load in both directions;
  // the camelCase accessors below read the same fields.
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;

  constructor(...args: CallArgs<typeof BATCH_NORM>) {
    super();
    const op = this.constructor.name;
    const opts = bindOptions(op, BATCH_NORM, args);
    const numFeatures = opts.numFeatures;
    checkSize(op, 'numFeatures', numFeatures, 1);
    const dtype = paramDType(op, opts.dtype);
    this.numFeatures = numFeatures;
    this.eps = checkEps(op, opts.eps);
    const momentum = opts.momentum;
    if (momentum !== null && (typeof momentum !== 'number' || Number.isNaN(momentum))) {
      throw new TypeError(`${op}: momentum must be a number or null, got ${String(momentum)}`);
    }
    this.momentum = momentum;
    this.affine = checkFlag(op, 'affine', opts.affine, true);
    this.trackRunningStats = checkFlag(op, 'trackRunningStats', opts.trackRunningStats, true);
    if (this.affine) {
      this.weight = new Parameter(empty([numFeatures], { dtype }));
      this.bias = new Parameter(empty([numFeatures], { dtype }));
    } else {
      this.weight = null;
      this.bias = null;
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures], { dtype }));
      this.registerBuffer('running_var', empty([numFeatures], { dtype }));
      this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  get runningMean(): Tensor | null {
    return this.running_mean;
  }
  set runningMean(t: Tensor | null) {
    if (t) t._storage._pinned = true;
    this.running_mean = t;
  }
  get runningVar(): Tensor | null {
    return this.running_var;
  }
  set runningVar(t: Tensor | null) {
    if (t) t._storage._pinned = true;
    this.running_var = t;
  }
  get numBatchesTracked(): Tensor | null {
    return this.num_batches_tracked;
  }
  set numBatchesTracked(t: Tensor | null) {
    this.num_batches_tracked = t;
  }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    noGrad(() => {
      this.running_mean?.zero_();
      this.running_var?.fill_(1);
      this.num_batches_tracked?.zero_();
    });
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  /** @internal */
  abstract _checkInputDim(input: Tensor): void;

  forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new TypeError(`${this.constructor.name}: expected a Tensor input`);
    this._checkInputDim(input);
    if (input._shape[1] !== this.numFeatures) {
      throw new RangeError(
        `${this.constructor.name}: expected input with ${this.numFeatures} features in dim 1, got shape ${K.fmtShape(input._shape)}`,
      );
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked !== null) {
      const nbt = this.num_batches_tracked;
      noGrad(() => nbt.add_(1));
      factor = this.momentum === null ? 1 / nbt.item() : this.momentum;
    }
    // Batch statistics in training, or whenever there are no running stats.
    const bnTraining = this.training || (this.running_mean === null && this.running_var === null);
    const useRunning = !this.training || this.trackRunningStats;
    return F.batchNorm(input, useRunning ? this.running_mean : null, useRunning ? this.running_var : null, {
      weight: this.weight,
      bias: this.bias,
      training: bnTraining,
      momentum: factor,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    const mom = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return (
      `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${mom}, affine=${this.affine ? 'True' : 'False'}, ` +
      `track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`
    );
  }
}

/** Batch normalisation over [N, C] or [N, C, L] inputs. */
export class BatchNorm1d extends BatchNormBase {
  /** @internal */
  _checkInputDim(input: Tensor): void {
    if (input.ndim !== 2 && input.ndim !== 3) {
      throw new RangeError(`BatchNorm1d: expected 2D or 3D input (got ${input.ndim}D input of shape ${K.fmtShape(input._shape)})`);
    }
  }
}

/** Batch normalisation over [N, C, H, W] inputs. */
export class BatchNorm2d extends BatchNormBase {
  /** @internal */
  _checkInputDim(input: Tensor): void {
    if (input.ndim !== 4) {
      throw new RangeError(`BatchNorm2d: expected 4D input (got ${input.ndim}D input of shape ${K.fmtShape(input._shape)})`);
    }
  }
}

/** LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True, bias=True, *, dtype=None). */
const LAYER_NORM = [
  late(param.custom('normalizedShape', 'int[]', as<number | number[]>)),
  late(param.float('eps', 1e-5)),
  late(param.bool('elementwiseAffine', true)),
  late(param.bool('bias', true)),
  dtypeParam,
] as const;

export type LayerNormOptions = OptionsOf<typeof LAYER_NORM>;

/** Normalises over the trailing dims given by normalizedShape. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(...args: CallArgs<typeof LAYER_NORM>) {
    super();
    const opts = bindOptions('LayerNorm', LAYER_NORM, args);
    const normalizedShape = opts.normalizedShape;
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape))
      throw new TypeError(`LayerNorm: normalizedShape must be an integer or an array of integers, got ${String(normalizedShape)}`);
    shape.forEach((s, i) => checkSize('LayerNorm', `normalizedShape[${i}]`, s, 1));
    const dtype = paramDType('LayerNorm', opts.dtype);
    this.normalizedShape = shape.slice();
    this.eps = checkEps('LayerNorm', opts.eps);
    this.elementwiseAffine = checkFlag('LayerNorm', 'elementwiseAffine', opts.elementwiseAffine, true);
    const withBias = checkFlag('LayerNorm', 'bias', opts.bias, true);
    this.weight = this.elementwiseAffine ? new Parameter(empty(this.normalizedShape, { dtype })) : null;
    this.bias = this.elementwiseAffine && withBias ? new Parameter(empty(this.normalizedShape, { dtype })) : null;
    this.resetParameters();
  }

  /** Sets weight to ones and bias to zeros, as PyTorch's reset_parameters. */
  resetParameters(): void {
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  forward(input: Tensor): Tensor {
    return F.layerNorm(input, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}
