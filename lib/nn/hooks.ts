// Module hooks: the handle a register*Hook call returns, and the autograd
// barrier behind registerFullBackwardHook.
import { Tensor } from '../tensor.js';
import { Node, type Edge } from '../autograd/node.js';
import { edgeOf } from '../autograd/function.js';
import { zeros, zerosLike } from '../ops/creation.js';

let nextHookId = 0;

/** What register*Hook returns: `remove()` unregisters the hook (again is a no-op), as PyTorch's RemovableHandle. */
export class RemovableHandle {
  /** A number unique to this hook, as PyTorch's handle.id. */
  readonly id = nextHookId++;
  constructor(private readonly table: Map<number, unknown>) {}
  /** Unregisters the hook; calling it again does nothing. */
  remove(): void {
    this.table.delete(this.id);
  }
}

// Note [Backward hook barrier]
// PyTorch's full backward hook wraps the module's input tensors, and then
// its output tensors, in one identity autograd node each
// (BackwardHookFunction): a node with several outputs, so the engine hands
// it every gradient of the group at once, and a hook on it sees them all.
// Here a node has one output, so the group is two layers of nodes: each
// wrapped tensor gets its own Proxy node, which stores the gradient that
// reaches it and passes a token on to the group's one Gather node; the
// engine runs Gather only after every Proxy that backward reaches (the
// dependency count), and Gather hands the stored gradients, or the
// callback's replacements, to the original tensors' edges. The gradients
// pass through untouched, so createGraph and double backward see the same
// graph as without the hook.

type OnGrads = (grads: (Tensor | null)[]) => (Tensor | null)[] | void;

interface Barrier {
  grads: (Tensor | null)[];
  /** Missing gradients become zeros, as a custom Function's materialize_grads makes them. */
  materialize: boolean;
}

let tokenTensor: Tensor | null = null;
function token(): Tensor {
  if (tokenTensor === null) {
    tokenTensor = zeros([]);
    // Module-level: it outlives any memory.scope it was first made in.
    tokenTensor._storage._pinned = true;
  }
  return tokenTensor;
}

class GatherNode extends Node {
  constructor(
    next: Edge[],
    private readonly barrier: Barrier,
    private readonly onGrads: OnGrads,
    private readonly inputs: Tensor[],
  ) {
    super('BackwardHookFunctionBackward', next);
  }
  apply(_token: Tensor): (Tensor | null)[] {
    const got = this.barrier.materialize ? this.barrier.grads.map((g, i) => g ?? zerosLike(this.inputs[i])) : this.barrier.grads.slice();
    this.barrier.grads.fill(null);
    const r = this.onGrads(got);
    if (r === undefined) return got;
    return this.inputs.map((t, i) => {
      const g = r[i];
      if (g === null || g === undefined) return null;
      if (!(g instanceof Tensor)) throw new TypeError(`backward hook: expected a Tensor or null for gradient ${i}, got ${typeof g}`);
      if (g._shape.join() !== t._shape.join()) {
        throw new Error(
          `backward hook: gradient ${i} has shape [${g._shape.join(', ')}] but the tensor has shape [${t._shape.join(', ')}]`,
        );
      }
      return g;
    });
  }
}

class ProxyNode extends Node {
  constructor(
    gather: GatherNode,
    private readonly barrier: Barrier,
    private readonly slot: number,
  ) {
    super('BackwardHookFunctionBackward', [gather]);
  }
  apply(grad: Tensor): (Tensor | null)[] {
    this.barrier.grads[this.slot] = grad;
    return [token()];
  }
}

/**
 * Identity aliases of `tensors`: backward through them calls `onGrads`
 * once with the gradients of all of them (null where none arrived, or
 * zeros with `materialize`), and a returned array replaces those
 * gradients. Tensors that do not require grad come back as they are. Only
 * where some tensor requires grad; otherwise returns null.
 */
export function backwardBarrier(tensors: Tensor[], onGrads: OnGrads, materialize: boolean): Tensor[] | null {
  if (!tensors.some((t) => t.requiresGrad)) return null;
  const barrier: Barrier = { grads: tensors.map(() => null), materialize };
  const gather = new GatherNode(
    tensors.map((t) => (t.requiresGrad ? edgeOf(t) : null)),
    barrier,
    onGrads,
    tensors,
  );
  return tensors.map((t, i) => {
    if (!t.requiresGrad) return t;
    const out = t._alias();
    out._base = t._base ?? t;
    out._setGradFn(new ProxyNode(gather, barrier, i));
    return out;
  });
}
