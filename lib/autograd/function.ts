// How an op joins the graph. Every differentiable op is declared once with
// defineOp (see lib/ops/): a forward that calls kernels, and a backward
// written with other tensor ops (so createGraph gives higher-order
// gradients). torch.autograd.Function is the same machinery for users.
import { Tensor } from '../tensor.js';
import { isGradEnabled, setGradEnabled } from './grad_mode.js';
import { Node, SavedTensor, accumulatorOf, type Edge } from './node.js';

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

  /** ctx.save_for_backward: keeps tensors for backward, which reads them from savedTensors (checked against in-place changes). */
  saveForBackward(...tensors: (Tensor | null | undefined)[]): void {
    this.saved = tensors.map((t) => (t ? new SavedTensor(t, t._storage.version) : (null as unknown as SavedTensor)));
  }

  /** The tensors saveForBackward kept, as PyTorch's ctx.saved_tensors; throws if one was modified in place since, or after release. */
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

  /** Frees the saved tensors once backward has run without retainGraph; a later savedTensors throws as PyTorch's does. */
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
        // input's shape and casts them to the input's dtype (PyTorch's
        // validate_outputs); a gradient the input does not broadcast to is
        // an error, not something to reshape.
        if (!sameShape(g._shape, meta.shape)) {
          if (!expandableTo(meta.shape, g._shape)) throw invalidGradShape(this.name, i, g._shape, meta.shape);
          g = g.sumToShape(meta.shape);
        }
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

/** Whether `shape` broadcasts to `target` (PyTorch's is_expandable_to). */
export function expandableTo(shape: readonly number[], target: readonly number[]): boolean {
  if (shape.length > target.length) return false;
  for (let i = 1; i <= shape.length; i++) {
    const s = shape[shape.length - i],
      t = target[target.length - i];
    if (s !== t && s !== 1) return false;
  }
  return true;
}

export function invalidGradShape(name: string, index: number, got: readonly number[], expected: readonly number[]): Error {
  return new Error(
    `Function ${name} returned an invalid gradient at index ${index} - got [${got.join(', ')}] but expected shape compatible with [${expected.join(', ')}]`,
  );
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function edgeOf(t: Tensor): Edge {
  if (t.gradFn) return t.gradFn;
  return t.requiresGrad ? accumulatorOf(t) : null;
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

/**
 * An op's output is a view (has a _base) only of the memory of one of its
 * inputs: a forward that returns a view of a tensor it made itself (a
 * permuted scratch buffer) returns a plain tensor, as PyTorch's would.
 */
function ownView(out: Tensor, args: unknown[]): Tensor {
  const b = out._base;
  if (b === null) return out;
  for (const t of tensorArgs(args)) if ((t._base ?? t) === b) return out;
  out._base = null;
  return out;
}

/** Declares a differentiable op; returns the function that runs it. */
export function defineOp<A extends unknown[]>(def: OpDef<A>): (...args: A) => Tensor {
  return (...args: A): Tensor => {
    const ctx = new Ctx();
    if (!isGradEnabled()) return ownView(def.forward(ctx, ...args), args);
    const inputs = tensorArgs(args);
    let needsGrad = false;
    for (const t of inputs) if (t.requiresGrad) needsGrad = true;
    if (!needsGrad) return ownView(def.forward(ctx, ...args), args);
    setGradEnabled(false);
    let out: Tensor;
    try {
      out = ownView(def.forward(ctx, ...args), args);
    } finally {
      setGradEnabled(true);
    }
    ctx.nodeName = def.name;
    // One pass over the inputs: this runs for every recorded op.
    const n = inputs.length;
    const needs = new Array<boolean>(n),
      edges = new Array<Edge>(n),
      metas = new Array<InputMeta>(n);
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
    // belongs to the output alone, so give the output its own Tensor (a
    // view of the input, as PyTorch's alias is).
    if (aliased) {
      const base = out._base ?? out;
      out = out._alias();
      out._base = base;
    }
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
    const name = `${cls.name}Backward`;
    // backward returns one gradient per forward argument, as in PyTorch;
    // the node has one edge per Tensor argument (and per Tensor in an array
    // argument, which gets no gradient). argShapes[i] is argument i's shape
    // where it is a Tensor; edgeOfArg[i] the position of its edge.
    const argShapes: (number[] | null)[] = [];
    const edgeOfArg: number[] = [];
    const argKinds: string[] = [];
    let nEdges = 0;
    for (const a of args) {
      argShapes.push(a instanceof Tensor ? a._shape.slice() : null);
      argKinds.push(a instanceof Tensor ? 'Tensor' : describe(a));
      edgeOfArg.push(a instanceof Tensor ? nEdges : -1);
      if (a instanceof Tensor) nEdges++;
      else if (Array.isArray(a)) for (const b of a) if (b instanceof Tensor) nEdges++;
    }
    const run = defineOp<unknown[]>({
      name,
      forward: (ctx, ...a) => {
        const out = cls.forward(ctx, ...a);
        if (!(out instanceof Tensor)) throw new TypeError(`${cls.name}.forward: must return a Tensor`);
        return out;
      },
      backward: (ctx, g) => {
        const r = cls.backward(ctx, g);
        const list: unknown[] = Array.isArray(r) ? r : [r];
        const n = argShapes.length;
        // Too many is allowed only where the extra ones are null (PyTorch).
        let got = list.length;
        if (got > n) {
          let k = got;
          while (k > n && (list[k - 1] === null || list[k - 1] === undefined)) k--;
          if (k === n) got = n;
        }
        if (got !== n) throw new Error(`function ${name} returned an incorrect number of gradients (expected ${n}, got ${list.length})`);
        const grads: (Tensor | null)[] = new Array(nEdges).fill(null);
        for (let i = 0; i < n; i++) {
          const gi = list[i];
          if (gi === null || gi === undefined) continue;
          if (!(gi instanceof Tensor)) {
            throw new TypeError(
              `Function ${name} returned an invalid gradient at index ${i} - expected a Tensor or null, got ${describe(gi)}`,
            );
          }
          const shape = argShapes[i];
          if (shape === null) {
            throw new Error(
              `Function ${name} returned a gradient different than null at position ${i + 1}, but the corresponding forward input was not a Tensor (got ${argKinds[i]})`,
            );
          }
          if (!sameShape(gi._shape, shape) && !expandableTo(shape, gi._shape)) throw invalidGradShape(name, i, gi._shape, shape);
          grads[edgeOfArg[i]] = gi;
        }
        return grads;
      },
    });
    return run(...args);
  }
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}
