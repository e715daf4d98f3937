// The samplers' shared draws (not a method module: ops/random.ts and
// ops/fill.ts use them).
import type { Tensor } from '../tensor.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { isFloating } from '../dtype.js';
import type { Generator } from './generator.js';

/** n uniform float64 draws in [0, 1) from the generator's stream (the default one when null). */
export function uniforms(n: number, generator: Generator | null, op: string): Float64Array {
  const u = K.empty([n], 'float64', op, 'cpu');
  native.uniform(u._ref(), 0, 1, generator?._state);
  return u._storage.data as Float64Array;
}

/** The input's values as float64, row-major, read on the CPU. */
export function valuesOf(x: Tensor): Float64Array {
  const a = x.toTypedArray();
  return a instanceof Float64Array ? a : Float64Array.from(a as ArrayLike<number>);
}

/** Draws of bernoulli(input, p) as a new tensor on input's device (no autograd). */
export function bernoulliDraw(input: Tensor, prob: number | null, generator: Generator | null, op: string): Tensor {
  if (prob !== null) {
    if (!(prob >= 0 && prob <= 1)) throw new RangeError(`${op}: expects p to be in [0, 1], but got p=${prob}`);
    const out = K.empty(input._shape, input.dtype, op, 'cpu');
    native.bernoulli(out._ref(), prob, generator?._state);
    return input.device === 'cpu' ? out : K.toDevice(out, input.device, op);
  }
  if (!isFloating(input.dtype)) throw new TypeError(`${op}: expected floating-point probabilities, got ${input.dtype}`);
  const probs = valuesOf(input);
  for (let i = 0; i < probs.length; i++)
    if (!(probs[i] >= 0 && probs[i] <= 1)) throw new RangeError(`${op}: expects all probabilities in [0, 1], got ${probs[i]}`);
  const u = uniforms(probs.length, generator, op);
  // Written as float64 values, then cast (a half storage holds bits: Note [Half storage]).
  const draws = K.empty(input._shape, 'float64', op, 'cpu');
  const o = draws._storage.data as Float64Array;
  for (let i = 0; i < probs.length; i++) o[i] = u[i] < probs[i] ? 1 : 0;
  const out = K.cast(draws, input.dtype, op);
  return input.device === 'cpu' ? out : K.toDevice(out, input.device, op);
}
