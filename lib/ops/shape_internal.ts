// What the shape and indexing ops share, and what other files need from
// them, kept out of the method modules (Note [Method modules] in
// tensor_methods.ts: every export of shape.ts is a Tensor method): view
// metadata, the differentiable view of a slice (sliceBy) used by narrow,
// select and x.index(...), view stride arithmetic, and the dtype and
// device copies behind Tensor.to (conversion.ts).
import { Tensor } from '../tensor.js';
import { define, op, tensorParam as T } from './op.js';
import { param as p } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import type { DType } from '../dtype.js';
import type { Device } from '../backend/cuda.js';
import { isGradEnabled } from '../autograd/grad_mode.js';
import { edgeOf } from '../autograd/function.js';
import { MultiOutputNode } from '../autograd/node.js';

/** The metadata of a view. */
export interface Meta {
  shape: number[];
  strides: number[];
  offset: number;
}
/** How a view is made from its base, applicable to any tensor of that shape. */
export type MetaFn = (t: Tensor) => Meta;

/** A view of t's memory with metadata m; its _base is t's base (or t). */
export function viewOf(t: Tensor, m: Meta): Tensor {
  const v = new Tensor(t._storage, m.shape, m.strides, m.offset, t.dtype);
  v._base = t._base ?? t;
  return v;
}

/**
 * Marks the outputs of split/chunk/unbind made with grad, which PyTorch
 * refuses to modify in place ("Output i of SplitBackward0 is a view ...").
 */
export function markMultiOutput(outs: Tensor[], name: string): Tensor[] {
  for (let i = 0; i < outs.length; i++) if (outs[i]._gradFn !== null) outs[i]._multiOutput = `Output ${i} of ${name}`;
  return outs;
}

// ---- slices: narrow, select, x.index(...) with numbers and slices ------------------
const metaFn = p.custom('fn', 'MetaFn', (v) => v as MetaFn);
const sizes = p.custom('inputSizes', 'int[]', (v) => v as number[]);

/**
 * The view given by fn (a slice or a select) and its gradient, the
 * gradient written into zeros where the view lies; that embedding's own
 * gradient is the slice again, so both are differentiable any number of
 * times. `node` is PyTorch's node name (SliceBackward0, SelectBackward0).
 */
function sliceFamily<const N extends string, const B extends string>(name: N, backwardName: B, node: string) {
  const view = op(name, [T.tensor('input'), metaFn], `the view fn gives (${node})`);
  const embed = op(backwardName, [T.tensor('grad'), sizes, metaFn], `zeros with grad written where the ${node} view lies`);
  define(view, {
    node,
    forward: ({ input, fn }) => ({ out: viewOf(input, fn(input)), save: { shape: input._shape, fn } }),
    grads: { input: (g, s) => embed(g, s.shape, s.fn) },
  });
  define(embed, {
    node: node.replace(/Backward0$/, 'BackwardBackward0'),
    forward: ({ grad, inputSizes, fn }) => {
      const z = K.empty(inputSizes, grad.dtype, 'slice', grad.device);
      native.copy(grad._ref(), viewOf(z, fn(z))._ref());
      return { out: z, save: fn };
    },
    grads: { grad: (gg, fn) => view(gg, fn) },
  });
  return { view, embed };
}
const sliceView = sliceFamily('sliceView', 'sliceBackward', 'SliceBackward0').view;
const selectView = sliceFamily('selectView', 'selectBackward', 'SelectBackward0').view;
const diagonalFamily = sliceFamily('diagonalView', 'diagonalBackward', 'DiagonalBackward0');

/**
 * The view of the diagonal of dims d1 and d2 (normalised, distinct) at
 * `offset` (above the main diagonal when positive): those dims removed, the
 * diagonal appended last.
 */
export function diagonalMeta(offset: number, d1: number, d2: number): MetaFn {
  return (t) => {
    const sh = t._shape,
      st = t._strides;
    const len = Math.max(0, offset >= 0 ? Math.min(sh[d1], sh[d2] - offset) : Math.min(sh[d1] + offset, sh[d2]));
    let off = t._offset;
    if (len > 0) off += offset >= 0 ? offset * st[d2] : -offset * st[d1];
    const keep = (_: number, k: number) => k !== d1 && k !== d2;
    return { shape: [...sh.filter(keep), len], strides: [...st.filter(keep), st[d1] + st[d2]], offset: off };
  };
}
/** A diagonal view (fn from diagonalMeta), differentiable (DiagonalBackward0). */
export const diagonalView = diagonalFamily.view;
/** Zeros of `sizes` with x written on the diagonal fn names: diag_embed, and diagonal's gradient. */
export const diagonalEmbed = diagonalFamily.embed;

/** A view given by fn, differentiable; name is PyTorch's node name: 'SliceBackward0' or 'SelectBackward0'. */
export function sliceBy(x: Tensor, fn: MetaFn, name: 'SliceBackward0' | 'SelectBackward0'): Tensor {
  return name === 'SelectBackward0' ? selectView(x, fn) : sliceView(x, fn);
}

// ---- several views with one node: split, chunk, unbind ----------------------------------
// Note [Multi-output nodes] (autograd/node.ts): the results share one node,
// whose backward writes every result's gradient into one tensor of the
// input's shape, zeros where a result got none.
const metaFns = p.custom('fns', 'MetaFn[]', (v) => v as MetaFn[]);
const nodeName = p.custom('node', 'string', (v) => v as string);

/**
 * The input gradient of split/unbind: each of grads written where the view
 * fns[i] lies, zeros elsewhere. Linear in grads; its gradient is those
 * views of the incoming gradient, so it differentiates any number of times.
 */
const viewsBackward = op(
  'viewsBackward',
  [T.tensors('grads'), sizes, metaFns, nodeName],
  'zeros of inputSizes with each of grads written where its view lies',
);
define(viewsBackward, {
  node: ({ node }) => node,
  forward: ({ grads, inputSizes, fns }) => {
    const g0 = grads[0];
    // The views of split and unbind are disjoint: when the gradients' sizes
    // add up to the input's they cover all of it, and no zeros are needed.
    let covered = 0;
    for (const g of grads) covered += g.numel();
    const whole = covered === K.numelOf(inputSizes);
    const z = (whole ? K.output : K.empty)(inputSizes, g0.dtype, 'viewsBackward', g0.device);
    for (let i = 0; i < grads.length; i++) native.copy(grads[i]._ref(), viewOf(z, fns[i](z))._ref());
    return { out: z, save: fns };
  },
  grads: { grads: (gg, fns) => fns.map((fn) => sliceView(gg, fn)) },
});

class ViewsNode extends MultiOutputNode {
  private readonly inputSizes: number[];
  constructor(
    name: string,
    input: Tensor,
    private readonly fns: MetaFn[],
    // The name of viewsBackward's node, as PyTorch names the backward of this backward.
    private readonly backName: string,
  ) {
    super(name, [edgeOf(input)], fns.length);
    this.inputSizes = input._shape.slice();
  }
  applyAll(grads: (Tensor | null)[]): (Tensor | null)[] {
    const present: Tensor[] = [],
      fns: MetaFn[] = [];
    for (let i = 0; i < grads.length; i++) {
      const g = grads[i];
      if (g !== null) {
        present.push(g);
        fns.push(this.fns[i]);
      }
    }
    return [viewsBackward(present, this.inputSizes, fns, this.backName)];
  }
}

/**
 * The views fns[i] of input, sharing one autograd node named `name`
 * (UnbindBackward0, SplitBackward0) when input requires grad. As PyTorch's,
 * they refuse in-place changes (markMultiOutput).
 */
export function multiOutputViews(input: Tensor, fns: MetaFn[], name: string, backName: string): Tensor[] {
  const outs = fns.map((fn) => viewOf(input, fn(input)));
  if (!isGradEnabled() || !input.requiresGrad || outs.length === 0) return outs;
  const node = new ViewsNode(name, input, fns, backName);
  for (let i = 0; i < outs.length; i++) outs[i]._setGradFn(node.slots[i]);
  return markMultiOutput(outs, name);
}

// ---- reshaping ---------------------------------------------------------------------------
/** Fills in one -1 and checks the element count. */
export function inferSize(size: number[], numel: number, op: string): number[] {
  const out = size.slice();
  let infer = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be inferred`);
      infer = i;
    } else if (out[i] < 0) {
      throw new RangeError(`${op}: invalid shape dimension ${out[i]}`);
    } else known *= out[i];
  }
  if (infer >= 0) {
    if (known === 0 || numel % known !== 0) throw new RangeError(`${op}: shape ${K.fmtShape(size)} is invalid for input of size ${numel}`);
    out[infer] = numel / known;
  } else if (known !== numel) {
    throw new RangeError(`${op}: shape ${K.fmtShape(size)} is invalid for input of size ${numel}`);
  }
  return out;
}

/**
 * Strides that view x's memory with newShape, or null when the layout
 * cannot (PyTorch's computeStride: dims are merged only where contiguous).
 */
export function viewStrides(shape: readonly number[], strides: readonly number[], newShape: number[]): number[] | null {
  const n = K.numelOf(shape);
  if (n === 0 || shape.length === 0) return K.contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return out;
}

// ---- dtype and device copies (Tensor.to) ----------------------------------------------------
const dtypeParam = p.custom('dtype', 'dtype', (v) => v as DType);
const deviceParam = p.custom('device', 'Device', (v) => v as Device);

/** x cast to another dtype: a copy whose gradient is cast back (ToCopyBackward0). */
export const toDType = op('toDType', [T.tensor('input'), dtypeParam], 'a copy of input in another dtype');
define(toDType, {
  node: 'ToCopyBackward0',
  forward: ({ input, dtype }) => ({ out: K.cast(input, dtype), save: input.dtype }),
  grads: { input: (g, dtype) => g.to(dtype) },
});

/** x on another (canonical, checked) device: a copy whose gradient moves back. */
export const toDevice = op('toDevice', [T.tensor('input'), deviceParam], 'a copy of input on another device');
define(toDevice, {
  node: 'ToCopyBackward0',
  forward: ({ input, device }) => ({ out: K.toDevice(input, device, 'to'), save: input.device }),
  grads: { input: (g, device) => g.to(device) },
});
