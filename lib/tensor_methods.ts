// The one place Tensor gets its math: every export of a method module
// becomes a Tensor method of the same name, with self as its first
// argument (x.add(y) is add(x, y)). TypeScript learns the same methods
// from the modules' types below, so a method cannot disagree with its op.
// Note [Method modules]: every export of such a module is a method; a
// function that is not one (torch.cat, torch.zeros) lives in another module.
import { inspect } from 'node:util';
import { Tensor } from './tensor.js';
import type { CallArgs, OptionsOf, Param } from './util/args.js';
import type { OpFn, OutOption } from './ops/op.js';
import { formatTensor } from './format.js';
import * as elementwise from './ops/elementwise.js';
import * as conversion from './ops/conversion.js';
import * as fill from './ops/fill.js';
import * as random from './ops/random.js';
import * as reduce from './ops/reduce.js';
import * as sort from './ops/sort.js';
import * as matmul from './ops/matmul.js';
import * as shape from './ops/shape.js';
import * as indexing from './ops/indexing.js';
import * as autograd from './autograd/methods.js';

/** @internal The method modules, for test/api/tensor_docs.test.ts to find each method's op. */
export const METHOD_MODULES = [elementwise, conversion, fill, random, reduce, sort, matmul, shape, indexing, autograd];

// ---- types ----------------------------------------------------------------------------
type Tail<Ps> = Ps extends readonly [unknown, ...infer R extends readonly Param[]] ? R : [];
/**
 * An op's method: its call signature without self. A plain function taking
 * self first works too, with up to three overloads (max(), max(dim), max(other)).
 */
type Method<F> =
  F extends OpFn<infer Ps, infer R, string>
    ? (...args: CallArgs<Tail<Ps>, OptionsOf<Tail<Ps>> & OutOption>) => R
    : F extends {
          (self: Tensor, ...a: infer A1): infer R1;
          (self: Tensor, ...a: infer A2): infer R2;
          (self: Tensor, ...a: infer A3): infer R3;
        }
      ? { (...a: A1): R1; (...a: A2): R2; (...a: A3): R3 }
      : never;
// Keyed by export name, never filtered: filtering would make TypeScript
// compute each op's type to know Tensor's members, and ops' bodies use
// Tensor's members (Note [Declared return types] in ops/op.ts).
type MethodsOf<M> = { [K in Extract<keyof M, string>]: Method<M[K]> };

declare module './tensor.js' {
  interface Tensor
    extends
      MethodsOf<typeof elementwise>,
      MethodsOf<typeof conversion>,
      MethodsOf<typeof fill>,
      MethodsOf<typeof random>,
      MethodsOf<typeof reduce>,
      MethodsOf<typeof sort>,
      MethodsOf<typeof matmul>,
      MethodsOf<typeof shape>,
      MethodsOf<typeof indexing>,
      MethodsOf<typeof autograd> {}
}

// ---- run time ---------------------------------------------------------------------------
const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const m of METHOD_MODULES) {
  for (const [name, f] of Object.entries(m)) {
    if (typeof f !== 'function') continue;
    const op = f as unknown as (...a: unknown[]) => unknown;
    // By arity, not (...args): a rest array and a spread per call cost a
    // tenth of a small op.
    proto[name] = function (this: Tensor, a?: unknown, b?: unknown, c?: unknown) {
      switch (arguments.length) {
        case 0:
          return op(this);
        case 1:
          return op(this, a);
        case 2:
          return op(this, a, b);
        case 3:
          return op(this, a, b, c);
        default:
          // eslint-disable-next-line prefer-rest-params
          return op(this, ...arguments);
      }
    };
  }
}
// Printing, as Python's repr (format.ts).
proto.toString = function (this: Tensor) {
  return formatTensor(this);
};
// Through toString, so a subclass's (Parameter's) prints in console.log too.
proto[inspect.custom as unknown as string] = function (this: Tensor) {
  return this.toString();
};
