// Flatten and Unflatten: reshape layers.
import type { Tensor } from '../../tensor.js';
import { Module, pyTuple } from '../module.js';
import { as, late } from './linear.js';
import { bindOptions, param, type CallArgs } from '../../util/args.js';

// The signatures (Note [Layer signatures] in linear.ts).
/** Flatten(start_dim=1, end_dim=-1). */
const FLATTEN = [late(param.int('startDim', 1)), late(param.int('endDim', -1))] as const;
/** Unflatten(dim, unflattened_size). */
const UNFLATTEN = [late(param.int('dim')), late(param.custom('unflattenedSize', 'int[]', as<number[]>))] as const;

function checkInt(op: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${op}: ${name} must be an integer, got ${String(v)}`);
}

/** Flattens dims startDim..endDim into one (by default all but the batch dim). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(...args: CallArgs<typeof FLATTEN>) {
    super();
    const { startDim, endDim } = bindOptions('Flatten', FLATTEN, args);
    checkInt('Flatten', 'startDim', startDim);
    checkInt('Flatten', 'endDim', endDim);
    this.startDim = startDim;
    this.endDim = endDim;
  }
  forward(input: Tensor): Tensor {
    return input.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Splits dim into the given sizes (the inverse of Flatten). */
export class Unflatten extends Module {
  readonly dim: number;
  readonly unflattenedSize: number[];
  constructor(...args: CallArgs<typeof UNFLATTEN>) {
    super();
    const { dim, unflattenedSize } = bindOptions('Unflatten', UNFLATTEN, args);
    checkInt('Unflatten', 'dim', dim);
    if (!Array.isArray(unflattenedSize)) throw new TypeError('Unflatten: unflattenedSize must be an array of integers');
    unflattenedSize.forEach((s, i) => checkInt('Unflatten', `unflattenedSize[${i}]`, s));
    this.dim = dim;
    this.unflattenedSize = unflattenedSize.slice();
  }
  forward(input: Tensor): Tensor {
    return input.unflatten(this.dim, this.unflattenedSize);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${pyTuple(this.unflattenedSize)}`;
  }
}
