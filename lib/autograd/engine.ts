// The backward engine, after PyTorch's: count dependencies, then run nodes
// from a ready queue ordered by sequence number (latest first), summing the
// gradients that reach each node in its input buffer. Iterative, never
// recursive: graphs of 100k nodes are normal and JS stacks are shallow.
import { setAllocOwner, Tensor, type AllocOwner, type Storage } from '../tensor.js';
import { AccumulateGrad, MultiOutputNode, Node, OutputSlot, accumulatorOf } from './node.js';
import * as K from '../ops/kernels.js';
import { native } from '../backend/native.js';
import { checkOptions } from '../util/args.js';
import { edgeOf } from './function.js';
import { isGradEnabled, noGrad, setGradEnabled } from './grad_mode.js';

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

export interface GradOptions extends BackwardOptions {
  gradOutputs?: (Tensor | null)[] | Tensor | null;
  allowUnused?: boolean;
}

/** A max-heap of nodes by sequence number. */
class ReadyQueue {
  private heap: Node[] = [];
  get size(): number {
    return this.heap.length;
  }
  push(n: Node): void {
    const h = this.heap;
    h.push(n);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].sequence >= h[i].sequence) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  pop(): Node {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && h[l].sequence > h[m].sequence) m = l;
        if (r < h.length && h[r].sequence > h[m].sequence) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

function rootGradients(outputs: Tensor[], grads: (Tensor | null | undefined)[], op: string): Tensor[] {
  return outputs.map((o, i) => {
    const g = grads[i];
    if (g === null || g === undefined) {
      if (o.numel() !== 1) {
        throw new Error(
          `${op}: grad can be implicitly created only for scalar outputs (got an output of shape [${o.shape.join(', ')}]); ` +
            'pass a gradient of the same shape',
        );
      }
      return o.onesLike();
    }
    if (!(g instanceof Tensor)) throw new TypeError(`${op}: gradient must be a Tensor`);
    if (g.shape.join() !== o.shape.join()) {
      throw new Error(`${op}: gradient has shape [${g.shape.join(', ')}] but the output has shape [${o.shape.join(', ')}]`);
    }
    if (g.device !== o.device) throw new Error(`${op}: invalid gradient at index ${i} - expected device ${o.device} but got ${g.device}`);
    return g;
  });
}

/** A hook's replacement gradient must match the one it was given (PyTorch's check_single_result). */
function checkHookResult(hook: (g: Tensor) => unknown, r: unknown, grad: Tensor): Tensor {
  const name = hook.name || '<anonymous>';
  if (!(r instanceof Tensor)) {
    const kind = Array.isArray(r) ? 'an array' : typeof r === 'object' ? ((r as object).constructor?.name ?? 'object') : typeof r;
    throw new TypeError(`backward: expected a Tensor, null or undefined, but hook '${name}' returned ${kind}`);
  }
  if (!sameShape(r._shape, grad._shape)) {
    throw new Error(
      `backward: hook '${name}' has changed the size of value (was [${grad._shape.join(', ')}], got [${r._shape.join(', ')}])`,
    );
  }
  if (r.dtype !== grad.dtype || r.device !== grad.device) {
    throw new Error(
      `backward: hook '${name}' has changed the type of value (was ${grad.dtype} on ${grad.device}, got ${r.dtype} on ${r.device})`,
    );
  }
  return r;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Runs backward from outputs. With `capture`, gradients reaching those
 * tensors are returned instead of accumulated into .grad (autograd.grad).
 */
function run(outputs: Tensor[], gradOutputs: Tensor[], opts: BackwardOptions, op: string, capture: Tensor[] | null): (Tensor | null)[] {
  const retain = opts.retainGraph ?? !!opts.createGraph;
  const createGraph = !!opts.createGraph;

  const roots: Node[] = new Array(outputs.length);
  for (let i = 0; i < outputs.length; i++) {
    const e = edgeOf(outputs[i]);
    if (!e) throw new Error(`${op}: element 0 of tensors does not require grad and does not have a grad_fn`);
    roots[i] = e;
  }

  // Dependencies: how many edges lead into each node from the graph. A
  // node is seen once it is a root or has an entry in deps (plain loops and
  // no Set: this runs on every backward, mostly on small graphs).
  const deps = new Map<Node, number>();
  const stack: Node[] = [];
  for (let i = 0; i < roots.length; i++) if (roots.indexOf(roots[i]) === i) stack.push(roots[i]);
  while (stack.length) {
    const n = stack.pop()!;
    const next = n.next;
    for (let i = 0; i < next.length; i++) {
      const m = next[i];
      if (!m) continue;
      const d = deps.get(m);
      if (d === undefined) {
        deps.set(m, 1);
        if (!roots.includes(m)) stack.push(m);
      } else {
        deps.set(m, d + 1);
      }
    }
  }

  // Where captured gradients are read off: a non-leaf's grad is what flows
  // into its grad_fn; a leaf's is what reaches its AccumulateGrad.
  const captureAt = new Map<Node, number[]>();
  const captured: (Tensor | null)[] = [];
  if (capture) {
    capture.forEach((t, i) => {
      const n = t.gradFn ?? (t.requiresGrad ? accumulatorOf(t) : null);
      if (!n) throw new Error(`${op}: one of the input tensors does not require grad`);
      captured.push(null);
      captureAt.set(n, [...(captureAt.get(n) ?? []), i]);
    });
  }

  // Note [Warm block cache]: without createGraph, the gradients that
  // Kindling's own backward code makes are stamped with `owner`; `held`
  // counts, per stamped storage, the gradients waiting in `buffer` over
  // it (views share a storage). When a node has run and its gradient is
  // neither waiting elsewhere nor pinned (seen by a hook, captured), no one
  // can reach that memory and it goes back to the cache at once, warm for
  // the next op of its size. With createGraph the gradients are graph
  // tensors the user may keep: nothing is stamped.
  const owner: AllocOwner | null = createGraph ? null : { storages: null };
  const held = new Map<Storage, number>();
  const hold = (g: Tensor) => {
    const st = g._storage;
    if (st._owner === owner && owner !== null) held.set(st, (held.get(st) ?? 0) + 1);
  };
  const drop = (g: Tensor) => {
    const st = g._storage;
    if (st._owner !== owner || owner === null) return;
    const left = held.get(st)! - 1;
    if (left > 0) held.set(st, left);
    else {
      held.delete(st);
      if (!st._pinned && st._savedBy === 0) st._release();
    }
  };
  // Whether a leaf may take g's memory as its .grad rather than a copy (as
  // PyTorch's AccumulateGrad steals a gradient no one else holds): g was
  // made by this run, is waiting only here, no hook or capture saw it, and
  // it is the whole of its storage, so nothing else can reach that memory.
  const stealable = (g: Tensor): boolean => {
    const st = g._storage;
    return (
      owner !== null &&
      st._owner === owner &&
      st.device === 'cpu' &&
      !st._pinned &&
      st._savedBy === 0 &&
      held.get(st) === 1 &&
      g._offset === 0 &&
      g.numel() === (st.data as { length: number }).length &&
      g.isContiguous()
    );
  };
  const buffer = new Map<Node, Tensor | undefined>();
  const add = (n: Node, g: Tensor) => {
    const prev = buffer.get(n);
    hold(g);
    if (!prev) {
      buffer.set(n, g);
      return;
    }
    const outer = setAllocOwner(owner);
    let sum: Tensor;
    try {
      sum = prev.add(g);
    } finally {
      setAllocOwner(outer);
    }
    hold(sum);
    buffer.set(n, sum);
    drop(prev);
    drop(g);
  };
  // The gradients of each multi-output node's results, by result (Note
  // [Multi-output nodes]); local to this run, so a run that throws leaves
  // nothing behind for the next.
  const slotGrads = new Map<MultiOutputNode, (Tensor | null)[]>();
  const ready = new ReadyQueue();
  for (let i = 0; i < roots.length; i++) add(roots[i], gradOutputs[i]);
  for (let i = 0; i < roots.length; i++) if (roots.indexOf(roots[i]) === i && !deps.has(roots[i])) ready.push(roots[i]);

  const prevMode = isGradEnabled();
  setGradEnabled(createGraph);
  const callbacks: (() => void)[] = [];
  running.push(callbacks);
  try {
    while (ready.size) {
      const node = ready.pop();
      const incoming = buffer.get(node) ?? null;
      let grad = incoming;
      // Drops the gradient (a node runs once) without Map.delete, which
      // costs more than overwriting the entry.
      buffer.set(node, undefined);
      let childGrads: (Tensor | null)[] = [];
      if (grad) {
        // The list as it is now: registerHook replaces it rather than
        // growing it, so a hook that registers hooks cannot extend this loop.
        const hooks = node.preHooks;
        if (hooks) {
          for (let h = 0; h < hooks.length; h++) {
            // A hook may keep what it is given.
            grad._storage._pinned = true;
            const r = hooks[h](grad);
            if (r !== undefined && r !== null) grad = checkHookResult(hooks[h], r, grad);
          }
        }
        const at = captureAt.get(node);
        if (at) {
          grad._storage._pinned = true;
          for (const i of at) captured[i] = grad;
        }
        if (!capture && node.retained) for (const t of node.retained) accumulateGrad(t, grad, createGraph);
        if (node instanceof AccumulateGrad) {
          if (!capture) {
            accumulateGrad(node.variable, grad, createGraph, stealable(grad));
            // As registerHook's list: the hooks registered when the node was reached.
            const post = node.postAccumulateHooks;
            if (post) for (let h = 0; h < post.length; h++) post[h](node.variable);
          }
        } else if (node instanceof OutputSlot) {
          // Filed, not summed: the owner runs once with all of them. Its
          // buffer entry only marks that a gradient arrived. The filed
          // gradient outlives this node's turn, so it is pinned: the drop
          // below must not give its memory back (Note [Warm block cache]).
          grad._storage._pinned = true;
          const multi = node.owner;
          let grads = slotGrads.get(multi);
          if (!grads) slotGrads.set(multi, (grads = new Array<Tensor | null>(multi.slots.length).fill(null)));
          grads[node.index] = grads[node.index] ? grads[node.index]!.add(grad) : grad;
          if (!buffer.get(multi)) buffer.set(multi, grad);
        } else if (node instanceof MultiOutputNode) {
          childGrads = node.applyAll(slotGrads.get(node)!);
          slotGrads.delete(node);
          if (!retain) node.release();
        } else if (node.ownsGrads) {
          const outer = setAllocOwner(owner);
          try {
            childGrads = node.apply(grad);
          } finally {
            setAllocOwner(outer);
          }
          if (!retain) node.release();
        } else {
          grad._storage._pinned = true;
          childGrads = node.apply(grad);
          if (!retain) node.release();
        }
      }
      const next = node.next;
      // A node may give one tensor to several inputs (an LSTM cell's gate
      // gradient feeds both shares of the gates): held across the loop, so
      // summing it into one input's buffer cannot release it before the
      // next input takes it.
      for (let i = 0; i < childGrads.length; i++) if (childGrads[i]) hold(childGrads[i]!);
      for (let i = 0; i < next.length; i++) {
        const m = next[i];
        if (!m) continue;
        const g = childGrads[i];
        if (g) add(m, g);
        const left = deps.get(m)! - 1;
        deps.set(m, left);
        if (left === 0) ready.push(m);
      }
      for (let i = 0; i < childGrads.length; i++) if (childGrads[i]) drop(childGrads[i]!);
      // After the children took their gradients (which may be views of it).
      if (incoming) drop(incoming);
    }
    // The end of the backward pass: the callbacks queued during it, in order,
    // and those they queue in turn (PyTorch's final callbacks). Not run when
    // the pass failed, as in PyTorch.
    setGradEnabled(prevMode);
    for (let i = 0; i < callbacks.length; i++) callbacks[i]();
  } finally {
    running.pop();
    setGradEnabled(prevMode);
  }
  return captured;
}

// The callback lists of the backward passes running now, innermost last (a
// hook may start a backward of its own).
const running: (() => void)[][] = [];

/**
 * Queues fn to run once the backward pass running now has finished, after
 * every gradient has been accumulated and before backward() returns
 * (PyTorch's Variable._execution_engine.queue_callback). Only callable from
 * inside a backward pass: a hook, or a custom Function's backward.
 * DistributedDataParallel waits on its gradient reductions here.
 */
export function queueCallback(fn: () => void): void {
  if (typeof fn !== 'function') throw new TypeError('autograd.queueCallback: expected a function');
  const top = running[running.length - 1];
  if (!top) throw new Error('autograd.queueCallback: final callbacks can only be installed during the backward pass');
  top.push(fn);
}

/** tensor.backward(gradient?, options?) */
export function backward(output: Tensor, gradient?: Tensor | null, opts: BackwardOptions = {}): void {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new TypeError('backward: options must be an object');
  checkOptions('backward', opts, BACKWARD_OPTIONS);
  run([output], rootGradients([output], [gradient], 'backward'), opts, 'backward', null);
}
const BACKWARD_OPTIONS = ['retainGraph', 'createGraph'];
const GRAD_OPTIONS = ['retainGraph', 'createGraph', 'gradOutputs', 'allowUnused'];

/** torch.autograd.backward(tensors, gradTensors?) */
export function backwardMany(outputs: Tensor[], grads: (Tensor | null)[] = [], opts: BackwardOptions = {}): void {
  checkOptions('autograd.backward', opts, BACKWARD_OPTIONS);
  run(outputs, rootGradients(outputs, grads, 'backward'), opts, 'backward', null);
}

/** torch.autograd.grad(outputs, inputs, options?) */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  for (const t of [...outs, ...ins]) if (!(t instanceof Tensor)) throw new TypeError('autograd.grad: outputs and inputs must be Tensors');
  checkOptions('autograd.grad', opts, GRAD_OPTIONS);
  const go =
    opts.gradOutputs === undefined || opts.gradOutputs === null
      ? []
      : Array.isArray(opts.gradOutputs)
        ? opts.gradOutputs
        : [opts.gradOutputs];
  const result = run(outs, rootGradients(outs, go, 'autograd.grad'), opts, 'autograd.grad', ins);
  result.forEach((g, i) => {
    if (g === null && !opts.allowUnused) {
      throw new Error(`autograd.grad: input ${i} was not used in the graph; pass { allowUnused: true } if this is expected`);
    }
  });
  return result;
}

/**
 * Sums a gradient into t.grad: the engine's sink for leaves and retained
 * tensors. `steal`: no one else can reach g's memory, so a first gradient
 * of t's dtype and shape (t contiguous, as .grad's layout follows t's)
 * becomes .grad without a copy.
 */
function accumulateGrad(t: Tensor, g: Tensor, createGraph: boolean, steal = false): void {
  const prev = t._grad;
  if (
    prev === null &&
    steal &&
    g.dtype === t.dtype &&
    t.isContiguous() &&
    g._shape.every((s, i) => s === t._shape[i]) &&
    g.ndim === t.ndim
  ) {
    // A tensor of its own over g's storage: .grad is no view of anything.
    t._grad = new Tensor(g._storage, g._shape.slice(), g._strides.slice(), 0, g.dtype);
    t._grad._storage._pinned = true;
  } else if (prev === null) {
    // A gradient may alias another tensor (add's backward hands the same
    // tensor to both inputs), so .grad gets its own memory.
    t._grad = createGraph ? g.clone() : noGrad(() => K.clone(g));
    t._grad._storage._pinned = true;
  } else if (createGraph) {
    t._grad = prev.add(g);
    t._grad._storage._pinned = true;
  } else if (
    g.dtype === prev.dtype &&
    g._shape.length === prev._shape.length &&
    prev.isContiguous() &&
    g._shape.every((s, i) => s === prev._shape[i])
  ) {
    // Summing into .grad in place, in one kernel call.
    native.binary(K.B.Add, prev._ref(), g._ref(), prev._ref());
    prev._bumpVersion();
  } else {
    noGrad(() => prev.add_(g));
  }
}
