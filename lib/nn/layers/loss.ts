// Loss modules: each holds its options and calls nn.functional in forward.
import { Tensor } from '../../tensor.js';
import { Module } from '../module.js';
import * as F from '../functional.js';
import { as, late } from './linear.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../../util/args.js';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: unknown): Reduction {
  if (r === undefined) return 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none')
    throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
  return r;
}

function checkWeight(op: string, name: string, w: unknown): Tensor | null {
  if (w === undefined || w === null) return null;
  if (!(w instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor or null`);
  return w;
}

// The signatures (Note [Layer signatures] in linear.ts). PyTorch's
// deprecated size_average and reduce, which come before reduction, are
// not implemented, so everything after them is keyword-only.
const weightParam = late(param.custom('weight', 'Tensor?', as<Tensor | null>, null));
const reductionParam = param.kw(late(param.oneOf('reduction', ['mean', 'sum', 'none'], 'mean')));
const ignoreIndexParam = param.kw(late(param.int('ignoreIndex', -100)));
/** CrossEntropyLoss(weight=None, *, ignore_index=-100, reduction='mean', label_smoothing=0.0). */
const CROSS_ENTROPY = [weightParam, ignoreIndexParam, reductionParam, param.kw(late(param.float('labelSmoothing', 0)))] as const;
/** NLLLoss(weight=None, *, ignore_index=-100, reduction='mean'). */
const NLL = [weightParam, ignoreIndexParam, reductionParam] as const;
/** MSELoss(*, reduction='mean'), L1Loss(*, reduction='mean'). */
const REDUCTION_ONLY = [reductionParam] as const;
/** BCELoss(weight=None, *, reduction='mean'). */
const BCE = [weightParam, reductionParam] as const;
/** BCEWithLogitsLoss(weight=None, *, reduction='mean', pos_weight=None). */
const BCE_WITH_LOGITS = [
  weightParam,
  reductionParam,
  param.kw(late(param.custom('posWeight', 'Tensor?', as<Tensor | null>, null))),
] as const;

/** The reduction every loss has (PyTorch's _Loss). */
abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(reduction: unknown) {
    super();
    this.reduction = checkReduction(this.constructor.name, reduction);
  }
  abstract forward(...inputs: Tensor[]): Tensor;
}

/** A loss with a per-class weight, kept as a buffer named 'weight' as in PyTorch. */
abstract class WeightedLoss extends Loss {
  declare weight: Tensor | null;
  constructor(weight: unknown, reduction: unknown) {
    super(reduction);
    this.registerBuffer('weight', checkWeight(this.constructor.name, 'weight', weight));
  }
}

export type CrossEntropyLossOptions = OptionsOf<typeof CROSS_ENTROPY>;

/**
 * nn.CrossEntropyLoss(weight=None, *, ignore_index=-100, reduction='mean', label_smoothing=0.0): logSoftmax over the
 * class dim (1) then NLL, for class-index targets or class-probability targets. PyTorch's deprecated size_average and
 * reduce are not taken, so everything after weight is keyword-only.
 */
export class CrossEntropyLoss extends WeightedLoss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(...args: CallArgs<typeof CROSS_ENTROPY>) {
    const opts = bindOptions('CrossEntropyLoss', CROSS_ENTROPY, args);
    super(opts.weight, opts.reduction);
    const ii = opts.ignoreIndex;
    if (!Number.isInteger(ii)) throw new TypeError(`CrossEntropyLoss: ignoreIndex must be an integer, got ${String(ii)}`);
    const ls = opts.labelSmoothing;
    if (typeof ls !== 'number' || !(ls >= 0 && ls <= 1)) {
      throw new RangeError(`CrossEntropyLoss: labelSmoothing must be between 0.0 and 1.0, got ${String(ls)}`);
    }
    this.ignoreIndex = ii;
    this.labelSmoothing = ls;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

export type NLLLossOptions = OptionsOf<typeof NLL>;

/**
 * nn.NLLLoss(weight=None, *, ignore_index=-100, reduction='mean'): -input[n, target[n]] (times weight[target[n]]),
 * for log-probability input; 'mean' divides by the summed weights of the targets not ignored.
 */
export class NLLLoss extends WeightedLoss {
  readonly ignoreIndex: number;
  constructor(...args: CallArgs<typeof NLL>) {
    const opts = bindOptions('NLLLoss', NLL, args);
    super(opts.weight, opts.reduction);
    const ii = opts.ignoreIndex;
    if (!Number.isInteger(ii)) throw new TypeError(`NLLLoss: ignoreIndex must be an integer, got ${String(ii)}`);
    this.ignoreIndex = ii;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

/** nn.MSELoss(*, reduction='mean'): (input - target)² reduced; reduction is keyword-only (no size_average/reduce). */
export class MSELoss extends Loss {
  constructor(...args: CallArgs<typeof REDUCTION_ONLY>) {
    super(bindOptions('MSELoss', REDUCTION_ONLY, args).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

/** nn.L1Loss(*, reduction='mean'): |input - target| reduced; reduction is keyword-only (no size_average/reduce). */
export class L1Loss extends Loss {
  constructor(...args: CallArgs<typeof REDUCTION_ONLY>) {
    super(bindOptions('L1Loss', REDUCTION_ONLY, args).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

/**
 * nn.BCELoss(weight=None, *, reduction='mean'): -w (t log x + (1 - t) log(1 - x)) for probabilities x, log clamped
 * at -100 as in PyTorch.
 */
export class BCELoss extends WeightedLoss {
  constructor(...args: CallArgs<typeof BCE>) {
    const opts = bindOptions('BCELoss', BCE, args);
    super(opts.weight, opts.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/**
 * nn.BCEWithLogitsLoss(weight=None, *, reduction='mean', pos_weight=None): BCELoss on sigmoid(x), computed stably from
 * the logits; posWeight scales the positive term per class. weight and pos_weight are buffers, as in PyTorch.
 */
export class BCEWithLogitsLoss extends WeightedLoss {
  declare pos_weight: Tensor | null;
  constructor(...args: CallArgs<typeof BCE_WITH_LOGITS>) {
    const opts = bindOptions('BCEWithLogitsLoss', BCE_WITH_LOGITS, args);
    super(opts.weight, opts.reduction);
    this.registerBuffer('pos_weight', checkWeight('BCEWithLogitsLoss', 'posWeight', opts.posWeight));
  }
  /** The pos_weight buffer (null when not given), under its camelCase name. */
  get posWeight(): Tensor | null {
    return this.pos_weight;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      reduction: this.reduction,
      posWeight: this.pos_weight,
    });
  }
}

// ---- more losses ------------------------------------------------------------------------------
function checkNum(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${op}: ${name} must be a number, got ${String(v)}`);
  return v;
}

function checkBool(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}

const marginParam = (dflt: number) => late(param.float('margin', dflt));
/** SmoothL1Loss(*, reduction='mean', beta=1.0). */
const SMOOTH_L1 = [reductionParam, param.kw(late(param.float('beta', 1)))] as const;
/** HuberLoss(reduction='mean', delta=1.0): no deprecated arguments, so reduction is positional. */
const HUBER = [late(param.oneOf('reduction', ['mean', 'sum', 'none'], 'mean')), late(param.float('delta', 1))] as const;
/** KLDivLoss(*, reduction='mean', log_target=False). */
const KL_DIV = [
  param.kw(late(param.oneOf('reduction', ['mean', 'batchmean', 'sum', 'none'], 'mean'))),
  param.kw(late(param.bool('logTarget', false))),
] as const;
/** CosineEmbeddingLoss(margin=0.0, *, reduction='mean'), MarginRankingLoss(margin=0.0, *, reduction='mean'). */
const MARGIN0 = [marginParam(0), reductionParam] as const;
/** HingeEmbeddingLoss(margin=1.0, *, reduction='mean'). */
const MARGIN1 = [marginParam(1), reductionParam] as const;
/** TripletMarginLoss(margin=1.0, p=2.0, eps=1e-6, swap=False, *, reduction='mean'). */
const TRIPLET = [
  marginParam(1),
  late(param.float('p', 2)),
  late(param.float('eps', 1e-6)),
  late(param.bool('swap', false)),
  reductionParam,
] as const;
/** PoissonNLLLoss(log_input=True, full=False, *, eps=1e-8, reduction='mean'). */
const POISSON = [
  late(param.bool('logInput', true)),
  late(param.bool('full', false)),
  param.kw(late(param.float('eps', 1e-8))),
  reductionParam,
] as const;
/** GaussianNLLLoss(*, full=False, eps=1e-6, reduction='mean'): keyword-only in PyTorch too. */
const GAUSSIAN = [param.kw(late(param.bool('full', false))), param.kw(late(param.float('eps', 1e-6))), reductionParam] as const;
/** MultiMarginLoss(p=1, margin=1.0, weight=None, *, reduction='mean'). */
const MULTI_MARGIN = [late(param.int('p', 1)), marginParam(1), weightParam, reductionParam] as const;

/** SmoothL1Loss(*, reduction='mean', beta=1.0): squared below beta, absolute above. */
export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(...args: CallArgs<typeof SMOOTH_L1>) {
    const o = bindOptions('SmoothL1Loss', SMOOTH_L1, args);
    super(o.reduction);
    this.beta = checkNum('SmoothL1Loss', 'beta', o.beta);
    if (this.beta < 0) throw new RangeError(`SmoothL1Loss: beta must be non-negative, got ${this.beta}`);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** HuberLoss(reduction='mean', delta=1.0): squared below delta, delta-scaled absolute above. */
export class HuberLoss extends Loss {
  readonly delta: number;
  constructor(...args: CallArgs<typeof HUBER>) {
    const o = bindOptions('HuberLoss', HUBER, args);
    super(o.reduction);
    this.delta = checkNum('HuberLoss', 'delta', o.delta);
    if (!(this.delta > 0)) throw new RangeError(`HuberLoss: delta must be positive, got ${this.delta}`);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.huberLoss(input, target, this.reduction, this.delta);
  }
}

/** KLDivLoss(*, reduction='mean', log_target=False): the input holds log-probabilities; 'batchmean' is the true KL mean. */
export class KLDivLoss extends Module {
  readonly reduction: F.KlDivReduction;
  readonly logTarget: boolean;
  constructor(...args: CallArgs<typeof KL_DIV>) {
    super();
    const o = bindOptions('KLDivLoss', KL_DIV, args);
    const r = o.reduction;
    if (r !== 'mean' && r !== 'batchmean' && r !== 'sum' && r !== 'none') {
      throw new RangeError(`KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none', got ${String(r)}`);
    }
    this.reduction = r;
    this.logTarget = checkBool('KLDivLoss', 'logTarget', o.logTarget);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}

/** CosineEmbeddingLoss(margin=0.0, *, reduction='mean'): forward(input1, input2, target of 1 / -1). */
export class CosineEmbeddingLoss extends Loss {
  readonly margin: number;
  constructor(...args: CallArgs<typeof MARGIN0>) {
    const o = bindOptions('CosineEmbeddingLoss', MARGIN0, args);
    super(o.reduction);
    this.margin = checkNum('CosineEmbeddingLoss', 'margin', o.margin);
  }
  forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    return F.cosineEmbeddingLoss(input1, input2, target, this.margin, { reduction: this.reduction });
  }
}

/** MarginRankingLoss(margin=0.0, *, reduction='mean'): forward(input1, input2, target of 1 / -1). */
export class MarginRankingLoss extends Loss {
  readonly margin: number;
  constructor(...args: CallArgs<typeof MARGIN0>) {
    const o = bindOptions('MarginRankingLoss', MARGIN0, args);
    super(o.reduction);
    this.margin = checkNum('MarginRankingLoss', 'margin', o.margin);
  }
  forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    return F.marginRankingLoss(input1, input2, target, this.margin, { reduction: this.reduction });
  }
}

/** HingeEmbeddingLoss(margin=1.0, *, reduction='mean'): forward(input, target of 1 / -1). */
export class HingeEmbeddingLoss extends Loss {
  readonly margin: number;
  constructor(...args: CallArgs<typeof MARGIN1>) {
    const o = bindOptions('HingeEmbeddingLoss', MARGIN1, args);
    super(o.reduction);
    this.margin = checkNum('HingeEmbeddingLoss', 'margin', o.margin);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.hingeEmbeddingLoss(input, target, this.margin, { reduction: this.reduction });
  }
}

/** TripletMarginLoss(margin=1.0, p=2.0, eps=1e-6, swap=False, *, reduction='mean'): forward(anchor, positive, negative). */
export class TripletMarginLoss extends Loss {
  readonly margin: number;
  readonly p: number;
  readonly eps: number;
  readonly swap: boolean;
  constructor(...args: CallArgs<typeof TRIPLET>) {
    const o = bindOptions('TripletMarginLoss', TRIPLET, args);
    super(o.reduction);
    this.margin = checkNum('TripletMarginLoss', 'margin', o.margin);
    this.p = checkNum('TripletMarginLoss', 'p', o.p);
    this.eps = checkNum('TripletMarginLoss', 'eps', o.eps);
    this.swap = checkBool('TripletMarginLoss', 'swap', o.swap);
  }
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor {
    return F.tripletMarginLoss(anchor, positive, negative, this.margin, this.p, this.eps, this.swap, { reduction: this.reduction });
  }
}

/** PoissonNLLLoss(log_input=True, full=False, *, eps=1e-8, reduction='mean'). */
export class PoissonNLLLoss extends Loss {
  readonly logInput: boolean;
  readonly full: boolean;
  readonly eps: number;
  constructor(...args: CallArgs<typeof POISSON>) {
    const o = bindOptions('PoissonNLLLoss', POISSON, args);
    super(o.reduction);
    this.logInput = checkBool('PoissonNLLLoss', 'logInput', o.logInput);
    this.full = checkBool('PoissonNLLLoss', 'full', o.full);
    this.eps = checkNum('PoissonNLLLoss', 'eps', o.eps);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.poissonNllLoss(input, target, this.logInput, this.full, { eps: this.eps, reduction: this.reduction });
  }
}

/** GaussianNLLLoss(*, full=False, eps=1e-6, reduction='mean'): forward(input, target, var). */
export class GaussianNLLLoss extends Loss {
  readonly full: boolean;
  readonly eps: number;
  constructor(...args: CallArgs<typeof GAUSSIAN>) {
    const o = bindOptions('GaussianNLLLoss', GAUSSIAN, args);
    super(o.reduction);
    this.full = checkBool('GaussianNLLLoss', 'full', o.full);
    this.eps = checkNum('GaussianNLLLoss', 'eps', o.eps);
  }
  forward(input: Tensor, target: Tensor, variance: Tensor): Tensor {
    return F.gaussianNllLoss(input, target, variance, this.full, this.eps, this.reduction);
  }
}

/** MultiLabelSoftMarginLoss(weight=None, *, reduction='mean'). */
export class MultiLabelSoftMarginLoss extends WeightedLoss {
  constructor(...args: CallArgs<typeof BCE>) {
    const o = bindOptions('MultiLabelSoftMarginLoss', BCE, args);
    super(o.weight, o.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.multilabelSoftMarginLoss(input, target, this.weight, { reduction: this.reduction });
  }
}

/** SoftMarginLoss(*, reduction='mean'): log(1 + exp(-target * input)). */
export class SoftMarginLoss extends Loss {
  constructor(...args: CallArgs<typeof REDUCTION_ONLY>) {
    super(bindOptions('SoftMarginLoss', REDUCTION_ONLY, args).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.softMarginLoss(input, target, { reduction: this.reduction });
  }
}

/** MultiMarginLoss(p=1, margin=1.0, weight=None, *, reduction='mean'): the multi-class hinge loss. */
export class MultiMarginLoss extends WeightedLoss {
  readonly p: number;
  readonly margin: number;
  constructor(...args: CallArgs<typeof MULTI_MARGIN>) {
    const o = bindOptions('MultiMarginLoss', MULTI_MARGIN, args);
    super(o.weight, o.reduction);
    if (o.p !== 1 && o.p !== 2) throw new RangeError(`MultiMarginLoss: only p == 1 and p == 2 are supported, got ${String(o.p)}`);
    this.p = o.p;
    this.margin = checkNum('MultiMarginLoss', 'margin', o.margin);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.multiMarginLoss(input, target, this.p, this.margin, this.weight, { reduction: this.reduction });
  }
}

/** MultiLabelMarginLoss(*, reduction='mean'): the multi-label hinge loss; target rows list classes, ended by -1. */
export class MultiLabelMarginLoss extends Loss {
  constructor(...args: CallArgs<typeof REDUCTION_ONLY>) {
    super(bindOptions('MultiLabelMarginLoss', REDUCTION_ONLY, args).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.multilabelMarginLoss(input, target, { reduction: this.reduction });
  }
}
