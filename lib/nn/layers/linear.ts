// Linear: y = x Wᵀ + b, initialised as PyTorch's nn.Linear.
import type { Tensor } from '../../tensor.js';
import { empty } from '../../ops/creation.js';
import { isFloating, type DType } from '../../dtype.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import { linear } from '../functional.js';
import { bindOptions, param, type CallArgs, as, late } from '../../util/args.js';

export interface FactoryOptions {
  dtype?: DType;
}

// Note [Layer signatures]: each layer declares its PyTorch signature once,
// as a parameter list, and binds its constructor's arguments with it
// (lib/util/args.ts): every parameter positionally, in PyTorch's order, or
// by name in one trailing options object, and an unknown key, a value given
// twice or too many positional values is a TypeError. A parameter PyTorch
// has and Kindling does not implement is left out (passing it is an
// unknown option), and every parameter after it in PyTorch's order is
// keyword-only, so a positional value never lands in the wrong place
// (dtype after the missing device, ceilMode after the missing
// returnIndices, reduction after the deprecated sizeAverage and reduce).
// The binder only places values and fills defaults: each constructor
// checks them as before, so the messages stay the layer's own, and a
// required parameter left out reaches the constructor as undefined and
// fails that same check (`late`).

// late and as live in util/args.ts; the layers and optimizers import them from here.
export { as, late } from '../../util/args.js';

/** @internal The factory keyword every layer with parameters takes (PyTorch's device is not implemented). */
export const dtypeParam = param.kw(late(param.custom('dtype', 'dtype?', as<DType | undefined>)));

/** @internal Checks a size argument of a layer constructor. */
export function checkSize(op: string, name: string, v: unknown, min = 0): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${op}: ${name} must be an integer, got ${String(v)}`);
  if (v < min) throw new RangeError(`${op}: ${name} must be >= ${min}, got ${v}`);
}

/** @internal The dtype of a layer's parameters (float32 unless asked). */
export function paramDType(op: string, dtype: DType | undefined): DType {
  const d = dtype ?? 'float32';
  if (!isFloating(d)) throw new TypeError(`${op}: parameters must have a floating point dtype, got ${String(d)}`);
  return d;
}

/**
 * PyTorch's default for Linear and Conv: weights from kaiming_uniform_ with
 * a = sqrt(5), which gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias
 * from the same bound.
 */
export function resetLinearLike(weight: Tensor, bias: Tensor | null): void {
  init.kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== null) {
    const { fanIn } = init.calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    init.uniform_(bias, -bound, bound);
  }
}

/** Linear(in_features, out_features, bias=True, *, dtype=None). */
const LINEAR = [late(param.int('inFeatures')), late(param.int('outFeatures')), late(param.bool('bias', true)), dtypeParam] as const;

/**
 * nn.Linear(in_features, out_features, bias=True, *, dtype=None): y = x Wᵀ + b over the last dim, weight
 * [outFeatures, inFeatures], initialised as PyTorch's (U(-1/√inFeatures, 1/√inFeatures)). There is no device
 * argument, so dtype is keyword-only; parameters are float32 unless dtype says otherwise.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(...args: CallArgs<typeof LINEAR>) {
    super();
    const { inFeatures, outFeatures, bias, dtype: dt } = bindOptions('Linear', LINEAR, args);
    checkSize('Linear', 'inFeatures', inFeatures);
    checkSize('Linear', 'outFeatures', outFeatures);
    const dtype = paramDType('Linear', dt);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Parameter(empty([outFeatures, inFeatures], { dtype }));
    this.bias = bias ? new Parameter(empty([outFeatures], { dtype })) : null;
    this.resetParameters();
  }

  /** Re-initialises weight and bias as PyTorch's: kaiming_uniform_(a = √5) and U(-1/√inFeatures, 1/√inFeatures). */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? 'True' : 'False'}`;
  }
}
