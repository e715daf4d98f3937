// Linear: y = x Wᵀ + b, initialised as PyTorch's nn.Linear.
import type { Tensor } from '../../tensor.js';
import { empty } from '../../ops/creation.js';
import { isFloating, type DType } from '../../dtype.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import { linear } from '../functional.js';

export interface FactoryOptions {
  dtype?: DType;
}

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

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: { bias?: boolean } & FactoryOptions = {}) {
    super();
    checkSize('Linear', 'inFeatures', inFeatures);
    checkSize('Linear', 'outFeatures', outFeatures);
    const dtype = paramDType('Linear', opts.dtype);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Parameter(empty([outFeatures, inFeatures], { dtype }));
    this.bias = (opts.bias ?? true) ? new Parameter(empty([outFeatures], { dtype })) : null;
    this.resetParameters();
  }

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
