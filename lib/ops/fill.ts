// In-place fills: zero_, fill_, copy_ and the random fills. A method module
// (Note [Method modules] in tensor_methods.ts); the checks every in-place
// write makes are in inplace.ts.
import { Tensor } from '../tensor.js';
import * as IP from './inplace.js';
import { native, type Ref } from '../backend/native.js';
import * as K from './kernels.js';
import { Generator } from './generator.js';
import { bernoulliDraw } from './random_internal.js';
import { checkOptions, fmtValue, isOptions } from '../util/args.js';

/** Sets every element to 0 in place (PyTorch's zero_()); returns this. */
export function zero_(self: Tensor): Tensor {
  return IP.fill_(self, 0, 'zero_');
}
/** Sets every element to value (a number, or a one-element tensor's value) in place (PyTorch's fill_()); returns this. */
export function fill_(self: Tensor, value: number | Tensor): Tensor {
  return IP.fill_(self, value);
}
/**
 * Copies src's values into this tensor in place (PyTorch's copy_()): src is
 * broadcast to this shape, cast to this dtype and moved to this device;
 * recorded by autograd, so gradients reach src. Returns this.
 */
export function copy_(self: Tensor, src: Tensor): Tensor {
  return IP.copy_(self, src);
}
/** The `generator` option of the random fills (PyTorch's keyword-only generator). */
export interface RandomFillOptions {
  generator?: Generator | null;
}

// Positional numbers, then an optional options object holding any of them
// by name and the generator: uniform_(0, 1, { generator }) or uniform_({ high: 2 }).
function fillArgs<T>(op: string, args: unknown[], names: readonly string[], defaults: readonly T[]): [T[], Generator | null] {
  const vals = defaults.slice();
  let generator: Generator | null = null;
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  if (n > 0 && isOptions(args[n - 1])) {
    const o = args[--n] as Record<string, unknown>;
    checkOptions(op, o, [...names, 'generator']);
    names.forEach((k, i) => {
      if (o[k] !== undefined) {
        if (i < n && args[i] !== undefined) throw new TypeError(`${op}: got multiple values for argument '${k}'`);
        vals[i] = o[k] as T;
      }
    });
    if (o.generator !== undefined && o.generator !== null) {
      if (!(o.generator instanceof Generator))
        throw new TypeError(`${op}: generator must be a torch.Generator, got ${fmtValue(o.generator)}`);
      generator = o.generator;
    }
  }
  if (n > names.length) throw new TypeError(`${op}: takes at most ${names.length} positional arguments but ${n} were given`);
  for (let i = 0; i < n; i++) if (args[i] !== undefined) vals[i] = args[i] as T;
  return [vals, generator];
}

// A fill from a generator: on the CPU into self, or, for a CUDA tensor
// (whose device generator knows no torch.Generator), on the CPU and copied.
function drawInto(self: Tensor, r: Ref, g: Generator | null, op: string, draw: (r: Ref, st?: BigUint64Array) => void): void {
  if (g === null || self.device === 'cpu') return draw(r, g?._state);
  const tmp = K.output(self._shape, self.dtype, op, 'cpu');
  draw(tmp._ref(), g._state);
  native.copy(tmp._ref(), r);
}

/** Fills with values uniform in [low, high): uniform_(low = 0, high = 1, { generator }?). */
export function uniform_(
  self: Tensor,
  low: number | RandomFillOptions = 0,
  high?: number | RandomFillOptions,
  opts?: RandomFillOptions,
): Tensor {
  const [[lo, hi], g] = fillArgs<number>('uniform_', [low, high, opts], ['low', 'high'], [0, 1]);
  return IP.random_(self, 'uniform_', (r) => drawInto(self, r, g, 'uniform_', (d, st) => native.uniform(d, lo, hi, st)));
}
/** Fills with normal values: normal_(mean = 0, std = 1, { generator }?). */
export function normal_(
  self: Tensor,
  mean: number | RandomFillOptions = 0,
  std?: number | RandomFillOptions,
  opts?: RandomFillOptions,
): Tensor {
  const [[m, sd], g] = fillArgs<number>('normal_', [mean, std, opts], ['mean', 'std'], [0, 1]);
  return IP.random_(self, 'normal_', (r) => drawInto(self, r, g, 'normal_', (d, st) => native.normal(d, m, sd, st)));
}
/** Fills with 1 with probability p (a number, or a tensor broadcast to self) else 0: bernoulli_(p = 0.5, { generator }?). */
export function bernoulli_(self: Tensor, p: number | Tensor | RandomFillOptions = 0.5, opts?: RandomFillOptions): Tensor {
  const [[prob], g] = fillArgs<number | Tensor>('bernoulli_', [p, opts], ['p'], [0.5]);
  if (prob instanceof Tensor) {
    const draws = bernoulliDraw(K.cast(prob.detach().expand(self.shape), 'float64', 'bernoulli_'), null, g, 'bernoulli_');
    return IP.random_(self, 'bernoulli_', (r) => native.copy(K.cast(draws, self.dtype, 'bernoulli_')._ref(), r));
  }
  if (typeof prob !== 'number') throw new TypeError(`bernoulli_: p must be a number or a Tensor, got ${fmtValue(prob)}`);
  if (!(prob >= 0 && prob <= 1)) throw new RangeError(`bernoulli_: expects p to be in [0, 1], but got p=${prob}`);
  return IP.random_(self, 'bernoulli_', (r) => drawInto(self, r, g, 'bernoulli_', (d, st) => native.bernoulli(d, prob, st)));
}
