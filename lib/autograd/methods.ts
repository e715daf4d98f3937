// The autograd methods of Tensor: backward, retainGrad, registerHook. A
// method module (Note [Method modules] in tensor_methods.ts).
import type { Tensor } from '../tensor.js';
import { accumulatorOf } from './node.js';
import * as engine from './engine.js';
import { isOptions } from '../util/args.js';

/** x.backward(gradient?, options?); as in Python, the options may come alone: x.backward({ retainGraph: true }). */
export function backward(self: Tensor, gradient?: Tensor | null | engine.BackwardOptions, opts?: engine.BackwardOptions): void {
  if (isOptions(gradient)) {
    if (opts !== undefined) throw new TypeError('backward: options given twice (as the first and the second argument)');
    engine.backward(self, null, gradient);
  } else {
    engine.backward(self, gradient as Tensor | null | undefined, opts);
  }
}

/** Makes a non-leaf keep its gradient in .grad after backward (PyTorch's retain_grad()); a no-op on a leaf. */
export function retainGrad(self: Tensor): void {
  if (self.isLeaf || self._retainsGrad) return;
  self._retainsGrad = true;
  const n = self._gradFn!;
  (n.retained ??= []).push(self);
}

/** fn(grad) runs when this tensor's gradient is computed; a returned Tensor replaces it. */
export function registerHook(self: Tensor, fn: (grad: Tensor) => Tensor | void): { remove(): void } {
  if (typeof fn !== 'function') throw new TypeError('registerHook: expected a function');
  if (!self.requiresGrad) throw new Error("registerHook: cannot register a hook on a tensor that doesn't require gradient");
  const node = self._gradFn ?? accumulatorOf(self);
  // Copy on write: a backward runs the hooks registered when it reached
  // the node, so a hook that registers a hook (or removes one) changes the
  // next backward, not the list this one is walking.
  node.preHooks = node.preHooks ? [...node.preHooks, fn] : [fn];
  let removed = false;
  return {
    remove: () => {
      if (removed || !node.preHooks) return;
      removed = true;
      const i = node.preHooks.indexOf(fn);
      if (i >= 0) node.preHooks = node.preHooks.filter((_, k) => k !== i);
    },
  };
}

/**
 * fn(tensor) runs after this leaf's `.grad` has been accumulated by a
 * backward pass (PyTorch 2.1's register_post_accumulate_grad_hook); it sees
 * the new `.grad` and returns nothing. Not run by autograd.grad, which
 * accumulates nothing. Returns a handle whose remove() unregisters it.
 */
export function registerPostAccumulateGradHook(self: Tensor, fn: (t: Tensor) => void): { remove(): void } {
  if (typeof fn !== 'function') throw new TypeError('registerPostAccumulateGradHook: expected a function');
  if (!self.requiresGrad)
    throw new Error("registerPostAccumulateGradHook: cannot register a hook on a tensor that doesn't require gradient");
  if (!self.isLeaf) throw new Error('registerPostAccumulateGradHook: post accumulate grad hooks cannot be registered on non-leaf tensors');
  const node = accumulatorOf(self);
  // Copy on write, as registerHook: a running backward keeps the list it read.
  node.postAccumulateHooks = node.postAccumulateHooks ? [...node.postAccumulateHooks, fn] : [fn];
  let removed = false;
  return {
    remove: () => {
      if (removed || !node.postAccumulateHooks) return;
      removed = true;
      const i = node.postAccumulateHooks.indexOf(fn);
      if (i >= 0) node.postAccumulateHooks = node.postAccumulateHooks.filter((_, k) => k !== i);
    },
  };
}
