// In-place fills: zero_, fill_, copy_ and the random fills. A method module
// (Note [Method modules] in tensor_methods.ts); the checks every in-place
// write makes are in inplace.ts.
import type { Tensor } from '../tensor.js';
import * as IP from './inplace.js';
import { native } from '../backend/native.js';

export function zero_(self: Tensor): Tensor {
  return IP.fill_(self, 0, 'zero_');
}
export function fill_(self: Tensor, value: number | Tensor): Tensor {
  return IP.fill_(self, value);
}
export function copy_(self: Tensor, src: Tensor): Tensor {
  return IP.copy_(self, src);
}
export function uniform_(self: Tensor, low = 0, high = 1): Tensor {
  return IP.random_(self, 'uniform_', (r) => native.uniform(r, low, high));
}
export function normal_(self: Tensor, mean = 0, std = 1): Tensor {
  return IP.random_(self, 'normal_', (r) => native.normal(r, mean, std));
}
export function bernoulli_(self: Tensor, p = 0.5): Tensor {
  return IP.random_(self, 'bernoulli_', (r) => native.bernoulli(r, p));
}
