// Dropout: zeroes elements with probability p in training, identity in eval.
import type { Tensor } from '../../tensor.js';
import { Module, pyFloat } from '../module.js';
import * as F from '../functional.js';
import { writeInPlace } from './activation.js';

export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(p: number | { p?: number; inplace?: boolean } = 0.5, opts: { inplace?: boolean } = {}) {
    super();
    if (typeof p === 'object' && p !== null) {
      opts = p;
      p = p.p ?? 0.5;
    }
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new RangeError(`Dropout: dropout probability has to be between 0 and 1, but got ${String(p)}`);
    }
    if (opts.inplace !== undefined && typeof opts.inplace !== 'boolean') throw new TypeError('Dropout: inplace must be a boolean');
    this.p = p;
    this.inplace = opts.inplace ?? false;
  }
  forward(input: Tensor): Tensor {
    if (this.inplace && this.training && this.p > 0) return writeInPlace(input, (x) => F.dropout(x, this.p, this.training));
    return F.dropout(input, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${this.inplace ? 'True' : 'False'}`;
  }
}
