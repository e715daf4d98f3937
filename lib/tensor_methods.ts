// The one place Tensor gets its math: every export of a method module
// becomes a Tensor method of the same name, with self as its first
// argument (x.add(y) is add(x, y)). TypeScript learns the same methods
// from the modules' types below, so a method cannot disagree with its op.
// Note [Method modules]: every export of such a module is a method; a
// function that is not one (torch.cat, torch.zeros) lives in another module.
import { Tensor } from './tensor.js';
import type { CallArgs, Param } from './util/args.js';
import type { OpFn } from './ops/op.js';
import * as elementwise from './ops/elementwise.js';

const METHOD_MODULES = [elementwise];

// ---- types ----------------------------------------------------------------------------
type Tail<Ps> = Ps extends readonly [unknown, ...infer R extends readonly Param[]] ? R : [];
/** An op's method: its call signature without self. */
type Method<F> = F extends OpFn<infer Ps, infer R, string> ? (...args: CallArgs<Tail<Ps>>) => R : F extends (self: Tensor, ...args: infer A) => infer R ? (...args: A) => R : never;
// Keyed by export name, never filtered: filtering would make TypeScript
// compute each op's type to know Tensor's members, and ops' bodies use
// Tensor's members (Note [Declared return types] in ops/op.ts).
type MethodsOf<M> = { [K in Extract<keyof M, string>]: Method<M[K]> };

declare module './tensor.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Tensor extends MethodsOf<typeof elementwise> {}
}

// ---- run time ---------------------------------------------------------------------------
const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const m of METHOD_MODULES) {
  for (const [name, f] of Object.entries(m)) {
    if (typeof f !== 'function') continue;
    proto[name] = function (this: Tensor, ...args: unknown[]) {
      return (f as unknown as (...a: unknown[]) => unknown)(this, ...args);
    };
  }
}
