// torch.autograd.gradcheck: central finite differences in float64 against
// the gradients backward computes, one input element at a time; and
// gradgradcheck, the same check of the gradient itself (createGraph).
import { Tensor } from '../tensor.js';
import { enableGrad, noGrad } from './grad_mode.js';
import { grad } from './engine.js';
import { native, type TypedArray } from '../backend/native.js';
import { randn } from '../ops/creation.js';
import { cat } from '../ops/join.js';
import { checkOptions } from '../util/args.js';
import { isFloating } from '../dtype.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

/**
 * torch.autograd.gradcheck(fn, inputs, { eps=1e-6, atol=1e-5, rtol=1e-3 }): compares the Jacobian backward computes
 * with central finite differences, for the float64 inputs that require grad. Returns true, or throws naming the
 * output and input element that differ (PyTorch's raise_exception=True); fn returns one tensor.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor | Tensor[], opts: GradcheckOptions = {}): boolean {
  return check(fn, inputs, opts, 'gradcheck');
}

function check(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor | Tensor[], opts: GradcheckOptions, op: string): boolean {
  const eps = opts.eps ?? 1e-6,
    atol = opts.atol ?? 1e-5,
    rtol = opts.rtol ?? 1e-3;
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const diff = ins.filter((t) => t instanceof Tensor && t.requiresGrad);
  if (diff.length === 0) throw new Error(`${op}: no input requires grad`);
  for (const t of diff) {
    if (t.dtype !== 'float64') throw new TypeError(`${op}: inputs must be float64 for precision, got ${t.dtype}`);
  }
  const out0 = fn(...ins);
  const outFlat = noGrad(() => out0.detach().reshape([-1]).clone());
  const nOut = outFlat.numel();
  // Analytical Jacobian: one backward per output element. An output that
  // does not require grad has a zero one (PyTorch's check that the
  // numerical gradient of a non-differentiable output is zero).
  const analytical: Float64Array[] = diff.map((t) => new Float64Array(t.numel() * nOut));
  for (let j = 0; j < nOut && out0.requiresGrad; j++) {
    const out = fn(...ins);
    const gout = noGrad(() => {
      const g = out.zerosLike().reshape([-1]);
      writeElement(g, j, 1);
      return g.reshape(out.shape).to(out.dtype);
    });
    const gs = grad(out, diff, { gradOutputs: gout, allowUnused: true });
    gs.forEach((g, k) => {
      if (!g) return;
      const flat = g.toTypedArray() as Float64Array;
      for (let i = 0; i < flat.length; i++) analytical[k][i * nOut + j] = flat[i];
    });
  }
  // Numerical Jacobian, perturbing each element in place.
  diff.forEach((t, k) => {
    const n = t.numel();
    for (let i = 0; i < n; i++) {
      const read = (): Float64Array =>
        noGrad(() => {
          const o = fn(...ins);
          return o.detach().reshape([-1]).to('float64').toTypedArray() as Float64Array;
        });
      const at = elementOffset(t, i);
      const orig = readElement(t, at);
      writeElement(t, at, orig + eps);
      const plus = read();
      writeElement(t, at, orig - eps);
      const minus = read();
      writeElement(t, at, orig);
      for (let j = 0; j < nOut; j++) {
        const num = (plus[j] - minus[j]) / (2 * eps);
        const ana = analytical[k][i * nOut + j];
        if (!(Math.abs(num - ana) <= atol + rtol * Math.abs(num))) {
          throw new Error(
            `${op}: Jacobian mismatch for output ${j} with respect to input ${ins.indexOf(t)}, element ${i}: ` +
              `numerical ${num} vs analytical ${ana}`,
          );
        }
      }
    }
  });
  return true;
}

export interface GradgradcheckOptions extends GradcheckOptions {
  /** The gradients of fn's outputs; random (standard normal) by default. */
  gradOutputs?: Tensor | Tensor[] | null;
}

const GRADGRAD_OPTIONS = ['gradOutputs', 'eps', 'atol', 'rtol'] as const;

/**
 * torch.autograd.gradgradcheck: gradcheck of the function
 * (inputs, gradOutputs) -> autograd.grad(fn(inputs), inputs, gradOutputs,
 * { createGraph: true }), so the second derivatives createGraph builds are
 * checked against finite differences of the first. gradOutputs default to
 * standard normal tensors of the outputs' shapes that require grad; given
 * ones are perturbed only where they require grad. The gradients of the
 * inputs (those fn uses) are checked as one flat output.
 */
export function gradgradcheck(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor | Tensor[],
  opts?: GradgradcheckOptions,
): boolean {
  const op = 'gradgradcheck';
  if (typeof fn !== 'function') throw new TypeError(`${op}: fn must be a function`);
  checkOptions(op, opts, GRADGRAD_OPTIONS);
  const o = opts ?? {};
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  for (const t of ins) if (!(t instanceof Tensor)) throw new TypeError(`${op}: inputs must be Tensors`);
  const asList = (r: Tensor | Tensor[]): Tensor[] => (Array.isArray(r) ? r : [r]);
  let gouts: Tensor[];
  if (o.gradOutputs === undefined || o.gradOutputs === null) {
    const outs = enableGrad(() => asList(fn(...ins)));
    gouts = outs.map((y) => randn(y.shape, { dtype: isFloating(y.dtype) ? y.dtype : 'float64', device: y.device }).requiresGrad_());
  } else {
    gouts = asList(o.gradOutputs);
    for (const g of gouts) if (!(g instanceof Tensor)) throw new TypeError(`${op}: gradOutputs must be Tensors`);
  }
  const nIn = ins.length;
  if (!ins.some((t) => t.requiresGrad)) throw new Error(`${op}: no input requires grad`);
  const first = (...args: Tensor[]): Tensor =>
    // gradcheck runs this under noGrad for its finite differences; the
    // gradient it returns still needs its graph.
    enableGrad(() => {
      const outs = asList(fn(...args.slice(0, nIn)));
      if (outs.length !== gouts.length)
        throw new Error(`${op}: fn returned ${outs.length} outputs but ${gouts.length} gradOutputs were given`);
      const keep = outs.map((y, i) => (y.requiresGrad ? i : -1)).filter((i) => i >= 0);
      if (keep.length === 0) throw new Error(`${op}: no output of fn requires grad`);
      const wrt = args.slice(0, nIn).filter((t) => t.requiresGrad);
      const gs = grad(
        keep.map((i) => outs[i]),
        wrt,
        {
          gradOutputs: keep.map((i) => args[nIn + i]),
          createGraph: true,
          allowUnused: true,
        },
      );
      const flat = gs.filter((g): g is Tensor => g !== null).map((g) => g.reshape([-1]));
      if (flat.length === 0) throw new Error(`${op}: fn uses no input that requires grad`);
      return flat.length === 1 ? flat[0] : cat(flat);
    });
  return check(first, [...ins, ...gouts], { eps: o.eps, atol: o.atol, rtol: o.rtol }, op);
}

// Storage element `at` of t, read and written in place on any device (a
// CUDA tensor's memory cannot be indexed from JS: a one-element view is
// read with item() and written with the fill kernel).
function readElement(t: Tensor, at: number): number {
  if (t.device === 'cpu') return Number((t._storage.data as TypedArray)[at]);
  return t._view([], [], at).item();
}

function writeElement(t: Tensor, at: number, v: number): void {
  if (t.device === 'cpu') (t._storage.data as Float64Array)[at] = v;
  else native.fill(t._view([], [], at)._ref(), v);
}

function elementOffset(t: Tensor, i: number): number {
  let off = t._offset;
  for (let d = t._shape.length - 1; d >= 0; d--) {
    off += (i % t._shape[d]) * t._strides[d];
    i = Math.floor(i / t._shape[d]);
  }
  return off;
}
