// Distance modules (PyTorch's torch.nn.modules.distance): thin modules over nn.functional.
import type { Tensor } from '../../tensor.js';
import { Module } from '../module.js';
import * as F from '../functional.js';
import { late } from './linear.js';
import { bindOptions, param, type CallArgs } from '../../util/args.js';

function checkNum(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${op}: ${name} must be a number, got ${String(v)}`);
  return v;
}

/** CosineSimilarity(dim=1, eps=1e-8). */
const COSINE = [late(param.int('dim', 1)), late(param.float('eps', 1e-8))] as const;
/** PairwiseDistance(p=2.0, eps=1e-6, keepdim=False). */
const PAIRWISE = [late(param.float('p', 2)), late(param.float('eps', 1e-6)), late(param.bool('keepdim', false))] as const;

/** CosineSimilarity(dim=1, eps=1e-8): forward(x1, x2) is F.cosineSimilarity along dim. */
export class CosineSimilarity extends Module {
  readonly dim: number;
  readonly eps: number;
  constructor(...args: CallArgs<typeof COSINE>) {
    super();
    const o = bindOptions('CosineSimilarity', COSINE, args);
    if (!Number.isInteger(o.dim)) throw new TypeError(`CosineSimilarity: dim must be an integer, got ${String(o.dim)}`);
    this.dim = o.dim;
    this.eps = checkNum('CosineSimilarity', 'eps', o.eps);
  }
  forward(x1: Tensor, x2: Tensor): Tensor {
    return F.cosineSimilarity(x1, x2, this.dim, this.eps);
  }
}

/** PairwiseDistance(p=2.0, eps=1e-6, keepdim=False): forward(x1, x2) is F.pairwiseDistance. */
export class PairwiseDistance extends Module {
  readonly p: number;
  readonly eps: number;
  readonly keepdim: boolean;
  constructor(...args: CallArgs<typeof PAIRWISE>) {
    super();
    const o = bindOptions('PairwiseDistance', PAIRWISE, args);
    this.p = checkNum('PairwiseDistance', 'p', o.p);
    this.eps = checkNum('PairwiseDistance', 'eps', o.eps);
    if (typeof o.keepdim !== 'boolean') throw new TypeError(`PairwiseDistance: keepdim must be a boolean, got ${String(o.keepdim)}`);
    this.keepdim = o.keepdim;
  }
  forward(x1: Tensor, x2: Tensor): Tensor {
    return F.pairwiseDistance(x1, x2, this.p, this.eps, this.keepdim);
  }
}
