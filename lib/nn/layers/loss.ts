// Loss modules: each holds its options and calls nn.functional in forward.
import { Tensor } from '../../tensor.js';
import { Module } from '../module.js';
import * as F from '../functional.js';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: unknown): Reduction {
  if (r === undefined) return 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
  return r;
}

function checkWeight(op: string, name: string, w: unknown): Tensor | null {
  if (w === undefined || w === null) return null;
  if (!(w instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor or null`);
  return w;
}

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

export interface CrossEntropyLossOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}

export class CrossEntropyLoss extends WeightedLoss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(opts: CrossEntropyLossOptions = {}) {
    super(opts.weight, opts.reduction);
    const ii = opts.ignoreIndex ?? -100;
    if (!Number.isInteger(ii)) throw new TypeError(`CrossEntropyLoss: ignoreIndex must be an integer, got ${String(ii)}`);
    const ls = opts.labelSmoothing ?? 0;
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

export interface NLLLossOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
}

export class NLLLoss extends WeightedLoss {
  readonly ignoreIndex: number;
  constructor(opts: NLLLossOptions = {}) {
    super(opts.weight, opts.reduction);
    const ii = opts.ignoreIndex ?? -100;
    if (!Number.isInteger(ii)) throw new TypeError(`NLLLoss: ignoreIndex must be an integer, got ${String(ii)}`);
    this.ignoreIndex = ii;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

export class MSELoss extends Loss {
  constructor(opts: { reduction?: Reduction } = {}) {
    super(opts.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

export class L1Loss extends Loss {
  constructor(opts: { reduction?: Reduction } = {}) {
    super(opts.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

export class BCELoss extends WeightedLoss {
  constructor(opts: { weight?: Tensor | null; reduction?: Reduction } = {}) {
    super(opts.weight, opts.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

export class BCEWithLogitsLoss extends WeightedLoss {
  declare pos_weight: Tensor | null;
  constructor(opts: { weight?: Tensor | null; reduction?: Reduction; posWeight?: Tensor | null } = {}) {
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
