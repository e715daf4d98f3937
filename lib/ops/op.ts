// The op declaration: an op is written once, here in the shape of
// PyTorch's native_functions.yaml (signature) plus derivatives.yaml (one
// gradient per input). From one declaration come
// - the function (torch.x): arguments bound as Python binds them
//   (lib/util/args.ts), so every parameter can come positionally or in the
//   trailing options object and an unknown key is a TypeError;
// - the Tensor method x.x(...), where its module is one of Tensor's method
//   modules (lib/tensor_methods.ts);
// - the autograd node: typed saved state, version checks of saved tensors,
//   and the choice of backward (Note [Fused backward]);
// - the API reference entry (scripts/api-reference.ts).
//
// An op is declared in two statements: op(name, params, doc) gives its
// signature, define(op, body) what it computes (Note [Declared return
// types] says why two). Two kinds of body:
// - composite: `impl` builds the result from other ops (softplus), whose
//   nodes autograd records; nothing else to write.
// - primitive: `forward` calls kernels (grad mode is off inside it) and may
//   return { out, save } to keep state for backward; `grads` gives each
//   differentiable input's gradient, written with ops so it can be
//   differentiated again.
import { Tensor } from '../tensor.js';
import { isGradEnabled, setGradEnabled } from '../autograd/grad_mode.js';
import { Node, type Edge } from '../autograd/node.js';
import { edgeOf, expandableTo, freedGraphError, invalidGradShape } from '../autograd/function.js';
import { bindArgs, boundOut, param, takeBoundOut, type ArgsOf, type CallArgs, type OptionsOf, type Param } from '../util/args.js';
import { isFloating, isIntegral } from '../dtype.js';
import * as K from './kernels.js';

/** What forward returns when backward needs state: the output and that state. */
export interface Saving<S> {
  out: Tensor;
  save: S;
}

type TensorValued<T> = [Extract<T, Tensor | readonly Tensor[]>] extends [never] ? false : true;
/** Names of the parameters that can hold a Tensor (the ones a gradient can flow to). */
export type TensorParams<Ps extends readonly Param[]> = {
  [P in Ps[number] as TensorValued<P extends Param<string, infer T> ? T : never> extends true ? P['name'] : never]: true;
};

/**
 * A gradient for one input: a Tensor (or one per Tensor of a list input),
 * or null for none. Note [Declared return types]: typed `any` on purpose.
 * Tensor's method types are derived from the declarations
 * (tensor_methods.ts), and a gradient calls methods (g.mul(b)); were its
 * return type compared here, TypeScript would need mul's type to compute
 * mul's type. The framework checks each gradient at run time instead
 * (DeclaredNode.apply), and `impl` functions state their return type.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type GradFn<S> = (g: Tensor, s: S) => any;

/** What an op computes: `impl` (composite) or `forward` with its gradients (primitive). */
export interface OpBody<Ps extends readonly Param[], S, R> {
  /** A composite op: built from other ops, which autograd records. */
  impl?: (a: ArgsOf<Ps>) => R;
  /**
   * A primitive op: PyTorch's node name (MulBackward0), or a function of
   * the arguments where PyTorch's overloads name it apart (SumBackward0 for
   * all dims, SumBackward1 for some).
   */
  node?: string | ((a: ArgsOf<Ps>) => string);
  /** Calls kernels with grad mode off; returns the output, or { out, save } for backward. */
  forward?: (a: ArgsOf<Ps>) => Tensor | Saving<S>;
  /** One differentiable gradient per input that takes one. */
  grads?: { [K in keyof TensorParams<Ps>]?: GradFn<S> };
  /**
   * A first-order backward through a fused kernel, used when the backward
   * itself is not recorded (Note [Fused backward]). Returns gradients by
   * input name, like grads.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fused?: (g: Tensor, s: S, needs: { readonly [K in keyof TensorParams<Ps>]?: boolean }) => any;
}

/** An op's declaration: its signature (from op()) and what it computes (from define()). */
export interface OpSpec<Ps extends readonly Param[], R, N extends string = string> {
  /** PyTorch's name in camelCase. */
  readonly name: N;
  /** PyTorch's signature, self first for methods. */
  readonly params: Ps;
  /** One line for the API reference. */
  readonly doc: string;
  body: OpBody<Ps, unknown, R> | null;
}

/** The function an op declaration makes (torch.x), with its declaration attached. */
export type OpFn<Ps extends readonly Param[], R, N extends string = string> = ((...args: CallArgs<Ps, OptionsOf<Ps> & OutOption>) => R) & {
  readonly spec: OpSpec<Ps, R, N>;
};

/** PyTorch's out=, which every declared op with one Tensor result takes (Note [out=]). */
export interface OutOption {
  out?: Tensor;
}

/** A result type other than Tensor, for op(): `returns<boolean>()`. */
export interface Returns<R> {
  readonly _returns?: R;
}
export function returns<R>(): Returns<R> {
  return {};
}

// Note [Op tracer]: torch.onnx.export (lib/onnx/trace.ts) runs a model once
// with a tracer installed here. Every call of a declared op then goes to the
// tracer with its declaration and bound arguments, and the tracer chooses:
// run the body still tracing (a composite it follows into), run it with
// tracing off and record the op whole (one with an ONNX mapping), or refuse
// (a primitive without one). In-place writes outside declared ops report
// through traceWrite, so the trace never holds a stale value. No tracer,
// one null check per call.

/** What torch.onnx.export installs to see every declared op call (Note [Op tracer]). */
export interface OpTracer {
  /** One call of a declared op; `run` computes it (tracing stays on inside unless the tracer turns it off). */
  call(spec: OpSpec<readonly Param[], unknown>, args: Record<string, unknown>, run: () => unknown): unknown;
  /** `target` was overwritten in place with the values of `value` (x.relu_()). */
  wrote(target: Tensor, value: Tensor): void;
  /** `t` was made from numbers alone (zeros, arange, tensor([...])) by the creation function `op`. */
  created(t: Tensor, op: string): void;
}

let tracer: OpTracer | null = null;

/** Installs (or with null removes) the op tracer; returns the one it replaces. */
export function setOpTracer(t: OpTracer | null): OpTracer | null {
  const prev = tracer;
  tracer = t;
  return prev;
}

/** Whether a tracer is installed (fast paths that bypass declared ops stand aside then). */
export function isTracing(): boolean {
  return tracer !== null;
}

/**
 * Tells the tracer, if any, that a creation function made `t` from numbers
 * alone (no tensor went in): the export may use it as a constant. Creation
 * functions are not declared ops (their arguments are sizes and options, not
 * tensors), so they report here.
 */
export function traceCreated(t: Tensor, op: string): Tensor {
  if (tracer !== null) tracer.created(t, op);
  return t;
}

/** Tells the tracer, if any, that target now holds value's values (an in-place write). */
export function traceWrite(target: Tensor, value: Tensor): void {
  if (tracer !== null) tracer.wrote(target, value);
}

/** Every declared op, in declaration order (the methods and the API reference read it). */
export const ops: OpFn<readonly Param[], unknown>[] = [];

// Note [Fused backward]: a node whose backward is not being recorded
// (grad mode off inside backward: no createGraph) may use the op's fused
// first-order kernel; under createGraph the declared gradients run, built
// from ops, so a second derivative exists. The framework chooses, never
// the op: an op that declares only `grads` is always differentiable twice.

class DeclaredNode extends Node {
  constructor(
    name: string,
    next: Edge[],
    private saved: unknown,
    // Per edge: which parameter it came from, and its position in a list parameter (-1: not a list).
    private readonly edgeParam: string[],
    private readonly edgeIndex: number[],
    private readonly versions: SavedVersions,
    private readonly spec: OpBody<readonly Param[], unknown, unknown>,
    private readonly shapes: (readonly number[])[],
    private readonly dtypes: Tensor['dtype'][],
    private readonly devices: Tensor['device'][],
  ) {
    super(name, next);
  }

  override get ownsGrads(): boolean {
    return true;
  }

  apply(grad: Tensor): (Tensor | null)[] {
    if (this.saved === RELEASED) throw freedGraphError();
    this.versions.check(this.name);
    const s = this.saved;
    const n = this.next.length;
    const out: (Tensor | null)[] = new Array(n).fill(null);
    const byName: Record<string, Tensor | (Tensor | null)[] | null> = {};
    const spec = this.spec;
    if (!isGradEnabled() && spec.fused) {
      const needs: Record<string, boolean> = {};
      for (let i = 0; i < n; i++) if (this.next[i] !== null) needs[this.edgeParam[i]] = true;
      const r = spec.fused(grad, s, needs) as Record<string, Tensor | null | undefined>;
      for (const k in r) byName[k] = r[k] ?? null;
    } else {
      const grads = spec.grads as Record<string, GradFn<unknown> | undefined>;
      for (let i = 0; i < n; i++) {
        const k = this.edgeParam[i];
        if (this.next[i] === null || k in byName) continue;
        const fn = grads[k];
        byName[k] = fn ? fn(grad, s) : null;
      }
    }
    for (let i = 0; i < n; i++) {
      if (this.next[i] === null) continue;
      const r = byName[this.edgeParam[i]] ?? null;
      let g = this.edgeIndex[i] < 0 ? (r as Tensor | null) : ((r as (Tensor | null)[] | null)?.[this.edgeIndex[i]] ?? null);
      if (g === null) continue;
      if (!(g instanceof Tensor))
        throw new TypeError(`${this.name}: the declared gradient for '${this.edgeParam[i]}' returned ${describe(g)}, not a Tensor or null`);
      // The engine's part, not each op's (PyTorch's validate_outputs): sum a
      // broadcast gradient back to the input's shape and cast it to the
      // input's dtype and device.
      const shape = this.shapes[i];
      if (!sameShape(g._shape, shape)) {
        if (!expandableTo(shape, g._shape)) throw invalidGradShape(this.name, i, g._shape, shape);
        g = g.sumToShape(shape);
      }
      if (g.dtype !== this.dtypes[i]) g = g.to(this.dtypes[i]);
      if (g.device !== this.devices[i]) g = g.to(this.devices[i]);
      out[i] = g;
    }
    return out;
  }

  release(): void {
    if (this.saved !== RELEASED) this.versions.release();
    this.saved = RELEASED;
  }
}

const RELEASED = Symbol('released');

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The storage versions of the tensors in a saved state at save time (Note
 * [Version counter]); backward refuses to run if one changed since.
 */
class SavedVersions {
  private readonly tensors: Tensor[] = [];
  private readonly at: number[] = [];
  constructor(state: unknown) {
    if (state instanceof Tensor) this.add(state);
    else if (state !== null && typeof state === 'object') {
      for (const k in state) {
        const v = (state as Record<string, unknown>)[k];
        if (v instanceof Tensor) this.add(v);
        else if (Array.isArray(v)) for (const t of v) if (t instanceof Tensor) this.add(t);
      }
    }
  }
  private add(t: Tensor): void {
    // Saved memory outlives the code that made it: never given back early
    // while the node lives (Storage._savedBy).
    t._storage._savedBy++;
    this.tensors.push(t);
    this.at.push(t._storage.version);
  }
  /**
   * The node is done with its saves (backward ran without retainGraph).
   * Note [Saved until backward]: an nn.Sequential intermediate that the
   * backward needs (a ReLU's output, a pool's output a convolution saved)
   * cannot be given back when the next layer has run, as the others are
   * (Note [Sequential release]); the Sequential marks it _graphOnly
   * instead, and the node whose save was the last hold gives it back here,
   * warm for the next step's forward, instead of leaving it to the GC (in a
   * LeNet training step, 18 MB a step that V8 counted as new external
   * memory: a full mark-compact every two or three steps).
   */
  release(): void {
    for (const t of this.tensors) {
      const st = t._storage;
      st._savedBy--;
      if (st._savedBy === 0 && st._graphOnly && !st._pinned) st._release();
    }
    this.tensors.length = 0;
  }
  check(node: string): void {
    for (let i = 0; i < this.tensors.length; i++) {
      const t = this.tensors[i];
      if (t._storage.version !== this.at[i]) {
        throw new Error(
          'one of the variables needed for gradient computation has been modified by an inplace operation: ' +
            `[${t.dtype} tensor of shape [${t._shape.join(', ')}]], which is saved tensor ${i} of ${node}, ` +
            `is at version ${t._storage.version}; expected version ${this.at[i]} instead.`,
        );
      }
    }
  }
}

/**
 * An op's output is a view (has a _base) only of the memory of one of its
 * inputs: a forward that returns a view of a tensor it made itself (a
 * permuted scratch buffer) returns a plain tensor, as PyTorch's would.
 */
function ownView(out: Tensor, inputs: readonly Tensor[]): Tensor {
  const b = out._base;
  if (b === null) return out;
  for (const t of inputs) if ((t._base ?? t) === b) return out;
  out._base = null;
  return out;
}

// Note [Declared return types], continued: an op is declared in two
// statements, op() then define(). The type of torch.x (and so of the
// method x.x) comes from op()'s arguments alone, which hold no function
// bodies; the bodies, which use other ops' methods, are typed afterwards.
// One statement would make TypeScript need mul's type to infer mul's type.

/** Declares an op's signature; returns torch.x. What it computes is given by define(). */
export function op<const N extends string, const Ps extends readonly Param[], R = Tensor>(
  name: N,
  params: Ps,
  doc: string,
  _returns?: Returns<R>,
): OpFn<Ps, R, N> {
  const spec: OpSpec<Ps, R, N> = { name, params, doc, body: null };
  const list = params as readonly Param[];
  // `arguments`, not (...args): no rest array per call.
  const fn = function (): unknown {
    // eslint-disable-next-line prefer-rest-params
    const a = bindArgs(name, list, arguments, {});
    if (boundOut !== undefined) {
      const out = takeBoundOut();
      if (tracer !== null) throw new Error(`${name}: out= cannot be recorded while tracing (torch.onnx.export); assign the result instead`);
      return intoOut(name, out, a, () => run(a));
    }
    if (tracer !== null) return tracer.call(spec as unknown as OpSpec<readonly Param[], unknown>, a, () => run(a));
    return run(a);
  };
  const run = (a: Record<string, unknown>): unknown => {
    const body = spec.body as OpBody<readonly Param[], unknown, unknown> | null;
    if (body === null) throw new Error(`${name}: declared but never defined`);
    if (body.impl) return body.impl(a as ArgsOf<readonly Param[]>);
    return runPrimitive(spec as unknown as OpSpec<readonly Param[], unknown>, body, a);
  };
  Object.defineProperty(fn, 'name', { value: name });
  Object.defineProperty(fn, 'spec', { value: spec });
  const declared = fn as unknown as OpFn<Ps, R, N>;
  ops.push(declared as unknown as OpFn<readonly Param[], unknown>);
  return declared;
}

// Note [out=]: every declared op with one Tensor result takes PyTorch's
// out= in its options object: the result is computed as usual, then
// written into `out` (resized when its shape differs, as PyTorch's, with
// PyTorch's warning unless it was empty; cast to its dtype where PyTorch's
// canCast allows) and `out` is returned. As PyTorch, out= refuses
// arguments that require grad while grad mode is on. Other binders (module
// constructors, in-place ops) refuse `out` by name (unknownOption).
function intoOut(name: string, out: unknown, a: Record<string, unknown>, compute: () => unknown): Tensor {
  if (!(out instanceof Tensor)) throw new TypeError(`${name}: argument 'out' must be a Tensor, got ${describe(out)}`);
  if (isGradEnabled()) {
    let grad = out.requiresGrad;
    for (const k in a) {
      const v = a[k];
      if (v instanceof Tensor) grad ||= v.requiresGrad;
      else if (Array.isArray(v)) for (const t of v) if (t instanceof Tensor && t.requiresGrad) grad = true;
    }
    if (grad)
      throw new Error(
        `${name}(): functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad.`,
      );
  }
  const r = compute();
  if (!(r instanceof Tensor))
    throw new TypeError(
      `${name}: out= is supported only for ops with one Tensor result, and ${name} returns ${describe(r)}; assign the result instead`,
    );
  if (r.device !== out.device) throw new Error(`${name}: Expected out tensor to have device ${r.device}, but got ${out.device} instead`);
  if (!canCast(r.dtype, out.dtype))
    throw new TypeError(`${name}: result type ${r.dtype} can't be cast to the desired output type ${out.dtype}`);
  if (!sameShape(out._shape, r._shape)) {
    if (out.numel() !== 0) {
      process.emitWarning(
        `${name}: An output with one or more elements was resized since it had shape [${out._shape.join(', ')}], which does not match ` +
          `the required output shape [${r._shape.join(', ')}]. This behavior is deprecated (as in PyTorch); resize out to zero elements first.`,
        'UserWarning',
      );
    }
    out.data = K.empty(r._shape, out.dtype, name, out.device);
  }
  out.copy_(r);
  return out;
}

// PyTorch's canCast: no float to an integer, nothing but bool to bool.
function canCast(from: Tensor['dtype'], to: Tensor['dtype']): boolean {
  if (isFloating(from) && isIntegral(to)) return false;
  return from === 'bool' || to !== 'bool';
}

/** Gives a declared op what it computes (see OpBody). */
export function define<Ps extends readonly Param[], R, S = undefined>(f: OpFn<Ps, R, string>, body: OpBody<Ps, S, R>): void {
  const spec = f.spec;
  if (spec.body !== null) throw new Error(`${spec.name}: defined twice`);
  if (!body.impl && !(body.forward && body.node)) throw new Error(`${spec.name}: define either impl, or forward and node`);
  (spec as { body: unknown }).body = body;
  (spec as { diff?: string[] }).diff = (spec.params as readonly Param[])
    .filter((p) => body.grads && p.name in body.grads)
    .map((p) => p.name);
}

function runPrimitive(
  spec: OpSpec<readonly Param[], unknown>,
  body: OpBody<readonly Param[], unknown, unknown>,
  a: Record<string, unknown>,
): Tensor {
  const forward = body.forward!;
  const args = a as ArgsOf<readonly Param[]>;
  const diff = (spec as { diff?: string[] }).diff!;
  // Most calls record nothing: find out without allocating.
  let needsGrad = false;
  if (isGradEnabled()) {
    for (let i = 0; i < diff.length && !needsGrad; i++) {
      const v = a[diff[i]];
      if (v instanceof Tensor) needsGrad = v.requiresGrad;
      else if (Array.isArray(v)) for (const t of v) if ((t as Tensor).requiresGrad) needsGrad = true;
    }
  }
  if (!needsGrad) {
    const r = forward(args);
    return r instanceof Tensor ? r : r.out;
  }
  // The tensors gradients can flow to, with the parameter each came from.
  const inputs: Tensor[] = [],
    from: string[] = [],
    index: number[] = [];
  for (const k of diff) {
    const v = a[k];
    if (v instanceof Tensor) {
      inputs.push(v);
      from.push(k);
      index.push(-1);
    } else if (Array.isArray(v)) {
      for (let j = 0; j < v.length; j++) {
        inputs.push(v[j] as Tensor);
        from.push(k);
        index.push(j);
      }
    }
  }
  setGradEnabled(false);
  let r: Tensor | Saving<unknown>;
  try {
    r = forward(args);
  } finally {
    setGradEnabled(true);
  }
  let out = r instanceof Tensor ? r : r.out;
  const saved = r instanceof Tensor ? undefined : r.save;
  out = ownView(out, inputs);
  const n = inputs.length;
  const edges = new Array<Edge>(n),
    shapes = new Array<readonly number[]>(n),
    dtypes = new Array<Tensor['dtype']>(n),
    devices = new Array<Tensor['device']>(n);
  let aliased = false;
  for (let i = 0; i < n; i++) {
    const t = inputs[i];
    edges[i] = edgeOf(t);
    shapes[i] = t._shape;
    dtypes[i] = t.dtype;
    devices[i] = t._storage.device;
    if (t === out) aliased = true;
  }
  const nodeName = typeof body.node === 'string' ? body.node : body.node!(args);
  const node = new DeclaredNode(nodeName, edges, saved, from, index, new SavedVersions(saved), body, shapes, dtypes, devices);
  // A forward may return an input or a view of it; the node belongs to
  // the output alone, so the output gets its own Tensor (a view of the
  // input, as PyTorch's alias is).
  if (aliased) {
    const base = out._base ?? out;
    out = out._alias();
    out._base = base;
  }
  out._setGradFn(node);
  return out;
}

/** Parameter kinds that name Tensors, for declarations (the rest are in util/args.ts). */
export const tensorParam = {
  /** Tensor */
  tensor<N extends string>(name: N): Param<N, Tensor, false> {
    return param.custom(name, 'Tensor', (v, o) => {
      if (!(v instanceof Tensor)) throw new TypeError(`${o}: argument '${name}' must be a Tensor, got ${describe(v)}`);
      return v;
    });
  },
  /** Tensor? */
  optTensor<N extends string>(name: N): Param<N, Tensor | null, true> {
    return param.custom(
      name,
      'Tensor?',
      (v, o) => {
        if (v !== null && !(v instanceof Tensor))
          throw new TypeError(`${o}: argument '${name}' must be a Tensor or null, got ${describe(v)}`);
        return v as Tensor | null;
      },
      null,
    );
  },
  /** Tensor or Scalar (PyTorch's two overloads in one parameter); a boolean is Python's bool. */
  tensorOrScalar<N extends string>(name: N): Param<N, Tensor | number | boolean, false> {
    return param.custom(name, 'Tensor|Scalar', (v, o) => {
      if (!(v instanceof Tensor) && typeof v !== 'number' && typeof v !== 'boolean')
        throw new TypeError(`${o}: argument '${name}' must be a Tensor or a number, got ${describe(v)}`);
      return v;
    });
  },
  /** Tensor[] */
  tensors<N extends string>(name: N): Param<N, Tensor[], false> {
    return param.custom(name, 'Tensor[]', (v, o) => {
      if (!Array.isArray(v) || !v.every((t) => t instanceof Tensor))
        throw new TypeError(`${o}: argument '${name}' must be an array of Tensors, got ${describe(v)}`);
      return v as Tensor[];
    });
  },
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Tensor) return `Tensor(${v.dtype}, [${v._shape.join(', ')}])`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? (Object.getPrototypeOf(v)?.constructor?.name ?? 'object') : typeof v;
}

/** Another name for a declared op (torch.clip for torch.clamp): the same function, declared once. */
export function aliasOf<Ps extends readonly Param[], R, A extends string>(f: OpFn<Ps, R, string>, name: A): OpFn<Ps, R, A> {
  void name; // the alias is the op itself: errors and the reference name the op
  return f as unknown as OpFn<Ps, R, A>;
}
