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
  abstract forward(input: Tensor, target: Tensor): Tensor;
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

export class MSELoss extends Loss {
  constructor(...args: CallArgs<typeof REDUCTION_ONLY>) {
    super(bindOptions('MSELoss', REDUCTION_ONLY, args).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

export class L1Loss extends Loss {
  constructor(...args: CallArgs<typeof REDUCTION_ONLY>) {
    super(bindOptions('L1Loss', REDUCTION_ONLY, args).reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

export class BCELoss extends WeightedLoss {
  constructor(...args: CallArgs<typeof BCE>) {
    const opts = bindOptions('BCELoss', BCE, args);
    super(opts.weight, opts.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

export class BCEWithLogitsLoss extends WeightedLoss {
  declare pos_weight: Tensor | null;
  constructor(...args: CallArgs<typeof BCE_WITH_LOGITS>) {
    const opts = bindOptions('BCEWithLogitsLoss', BCE_WITH_LOGITS, args);
    super(opts.weight, opts.reduction);
    this.registerBuffer('pos_weight', checkWeight('BCEWithLogitsLoss', 'posWeight', opts.posWeight));
  }
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
