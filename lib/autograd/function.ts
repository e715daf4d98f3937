// How an op joins the graph. Every differentiable op is declared once with
// defineOp (see lib/ops/): a forward that calls kernels, and a backward
// written with other tensor ops (so createGraph gives higher-order
// gradients). torch.autograd.Function is the same machinery for users.
import { Tensor } from '../tensor.js';
import { isGradEnabled, setGradEnabled } from './grad_mode.js';
import { Node, SavedTensor, type Edge } from './node.js';

const NO_INPUTS: boolean[] = Object.freeze([]) as unknown as boolean[];

/** What forward leaves for backward. Op-specific values go in as fields. */
export class Ctx {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
  // Set by defineOp when the op is recorded; the shared empty default saves
  // an allocation per op run without grad.
  needsInputGrad: boolean[] = NO_INPUTS;
  private saved: SavedTensor[] | null = null;
  private released = false;
  /** Name of the node, for the in-place error message. */
  nodeName = '';

  saveForBackward(...tensors: (Tensor | null | undefined)[]): void {
    this.saved = tensors.map((t) => (t ? new SavedTensor(t, t._storage.version) : (null as unknown as SavedTensor)));
  }

  get savedTensors(): Tensor[] {
    if (this.released) throw freedGraphError();
    if (!this.saved) return [];
    return this.saved.map((s, i) => {
      if (!s) return null as unknown as Tensor;
      if (s.tensor._storage.version !== s.version) {
        // Note [Version counter]: every in-place write bumps the storage's
        // version; a saved tensor remembers the version it was saved at.
        throw new Error(
          'one of the variables needed for gradient computation has been modified by an inplace operation: ' +
            `[${s.tensor.dtype} tensor of shape [${s.tensor.shape.join(', ')}]], which is saved tensor ${i} of ${this.nodeName}, ` +
            `is at version ${s.tensor._storage.version}; expected version ${s.version} instead.`,
        );
      }
      return s.tensor;
    });
  }

  release(): void {
    if (this.saved) {
      this.saved = null;
      this.released = true;
    }
  }
}

export function freedGraphError(): Error {
  return new Error(
    'backward: trying to backward through the graph a second time (or to access saved tensors after they have ' +
      'already been freed). Saved intermediate values of the graph are freed when you call backward() or ' +
      'autograd.grad(). Pass { retainGraph: true } if you need to backward through the graph a second time.',
  );
}

export type BackwardFn = (ctx: Ctx, grad: Tensor) => (Tensor | null | undefined)[];

/** Input metadata the engine needs to reduce broadcast gradients. */
interface InputMeta {
  shape: readonly number[];
  dtype: Tensor['dtype'];
  device: Tensor['device'];
}

export class OpNode extends Node {
  constructor(
    name: string,
    next: Edge[],
    readonly ctx: Ctx,
    private readonly backwardFn: BackwardFn,
    private readonly inputs: InputMeta[],
  ) {
    super(name, next);
  }

  apply(grad: Tensor): (Tensor | null)[] {
    const grads = this.backwardFn(this.ctx, grad);
    const out: (Tensor | null)[] = new Array(this.inputs.length);
    for (let i = 0; i < this.inputs.length; i++) {
      let g = grads[i] ?? null;
      if (g !== null && this.next[i] !== null) {
        const meta = this.inputs[i];
        // The engine, not each op, sums broadcast gradients back to the
        // input's shape and casts them to the input's dtype.
        if (!sameShape(g._shape, meta.shape)) g = g.sumToShape(meta.shape);
        if (g.dtype !== meta.dtype) g = g.to(meta.dtype);
        // A CPU scalar that met a CUDA tensor gets its gradient back on the CPU.
        if (g.device !== meta.device) g = g.to(meta.device);
      }
      out[i] = this.next[i] === null ? null : g;
    }
    return out;
  }

  release(): void {
    this.ctx.release();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function edgeOf(t: Tensor): Edge {
  if (t.gradFn) return t.gradFn;
  return t.requiresGrad ? t._accumulator() : null;
}

export interface OpDef<A extends unknown[]> {
  /** PyTorch's node name, e.g. 'MulBackward0'. */
  name: string;
  /** Runs with grad disabled; calls kernels; saves what backward needs on ctx. */
  forward: (ctx: Ctx, ...args: A) => Tensor;
  /** One gradient per tensor argument, in order (null: none). */
  backward: BackwardFn;
}

// Tensor arguments in order; arrays of tensors (cat, stack) count too.
function tensorArgs(args: unknown[]): Tensor[] {
  const out: Tensor[] = [];
  for (const a of args) {
    if (a instanceof Tensor) out.push(a);
    else if (Array.isArray(a)) for (const b of a) if (b instanceof Tensor) out.push(b);
  }
  return out;
}

/** Declares a differentiable op; returns the function that runs it. */
export function defineOp<A extends unknown[]>(def: OpDef<A>): (...args: A) => Tensor {
  return (...args: A): Tensor => {
    const ctx = new Ctx();
    if (!isGradEnabled()) return def.forward(ctx, ...args);
    const inputs = tensorArgs(args);
    let needsGrad = false;
    for (const t of inputs) if (t.requiresGrad) needsGrad = true;
    if (!needsGrad) return def.forward(ctx, ...args);
    setGradEnabled(false);
    let out: Tensor;
    try {
      out = def.forward(ctx, ...args);
    } finally {
      setGradEnabled(true);
    }
    ctx.nodeName = def.name;
    // One pass over the inputs: this runs for every recorded op.
    const n = inputs.length;
    const needs = new Array<boolean>(n), edges = new Array<Edge>(n), metas = new Array<InputMeta>(n);
    let aliased = false;
    for (let i = 0; i < n; i++) {
      const t = inputs[i];
      needs[i] = t.requiresGrad;
      edges[i] = edgeOf(t);
      metas[i] = { shape: t._shape, dtype: t.dtype, device: t._storage.device };
      if (t === out) aliased = true;
    }
    ctx.needsInputGrad = needs;
    const node = new OpNode(def.name, edges, ctx, def.backward, metas);
    // A forward may return one of its inputs or a view of it; the node
    // belongs to the output alone, so give the output its own Tensor.
    if (aliased) out = out._alias();
    out._setGradFn(node);
    return out;
  };
}

/**
 * Custom differentiable ops, as torch.autograd.Function:
 *   class Square extends Function { static forward(ctx, x) {...} static backward(ctx, g) {...} }
 *   Square.apply(x)
 */
export class Function {
  static forward(_ctx: Ctx, ..._args: unknown[]): Tensor {
    throw new Error('autograd.Function: subclasses must implement static forward(ctx, ...args)');
  }
  static backward(_ctx: Ctx, ..._grads: Tensor[]): Tensor | null | (Tensor | null | undefined)[] {
    throw new Error('autograd.Function: subclasses must implement static backward(ctx, grad)');
  }
  static apply(...args: unknown[]): Tensor {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const cls = this;
    const run = defineOp<unknown[]>({
      name: `${cls.name}Backward`,
      forward: (ctx, ...a) => {
        const out = cls.forward(ctx, ...a);
        if (!(out instanceof Tensor)) throw new TypeError(`${cls.name}.forward: must return a Tensor`);
        return out;
      },
      backward: (ctx, g) => {
        const r = cls.backward(ctx, g);
        return Array.isArray(r) ? r : [r];
      },
    });
    return run(...args);
  }
}
