// Dropout: zeroes elements with probability p in training, identity in eval.
import type { Tensor } from '../../tensor.js';
import { Module, pyFloat } from '../module.js';
import * as F from '../functional.js';
import { writeInPlace } from './activation.js';
import { late } from './linear.js';
import { bindOptions, param, type CallArgs } from '../../util/args.js';

/** Dropout(p=0.5, inplace=False) (Note [Layer signatures] in linear.ts). */
const DROPOUT = [late(param.float('p', 0.5)), late(param.bool('inplace', false))] as const;

/**
 * nn.Dropout(p=0.5, inplace=False): in training, zeroes each element with probability p and scales the rest by
 * 1 / (1 - p); the identity in eval mode.
 */
export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof DROPOUT>) {
    super();
    const opts = bindOptions('Dropout', DROPOUT, args);
    const p = opts.p;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new RangeError(`Dropout: dropout probability has to be between 0 and 1, but got ${String(p)}`);
    }
    if (typeof opts.inplace !== 'boolean') throw new TypeError('Dropout: inplace must be a boolean');
    this.p = p;
    this.inplace = opts.inplace;
  }
  forward(input: Tensor): Tensor {
    if (this.inplace && this.training && this.p > 0) return writeInPlace(input, (x) => F.dropout(x, this.p, this.training));
    return F.dropout(input, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${this.inplace ? 'True' : 'False'}`;
  }
}
