// torch.autograd.gradcheck: central finite differences in float64 against
// the gradients backward computes, one input element at a time.
import { Tensor } from '../tensor.js';
import { noGrad } from './grad_mode.js';
import { grad } from './engine.js';
import { native, type TypedArray } from '../backend/native.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor | Tensor[], opts: GradcheckOptions = {}): boolean {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-3;
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const diff = ins.filter((t) => t instanceof Tensor && t.requiresGrad);
  if (diff.length === 0) throw new Error('gradcheck: no input requires grad');
  for (const t of diff) {
    if (t.dtype !== 'float64') throw new TypeError(`gradcheck: inputs must be float64 for precision, got ${t.dtype}`);
  }
  const out0 = fn(...ins);
  const outFlat = noGrad(() => out0.detach().reshape([-1]).clone());
  const nOut = outFlat.numel();
  // Analytical Jacobian: one backward per output element.
  const analytical: Float64Array[] = diff.map((t) => new Float64Array(t.numel() * nOut));
  for (let j = 0; j < nOut; j++) {
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
            `gradcheck: Jacobian mismatch for output ${j} with respect to input ${ins.indexOf(t)}, element ${i}: ` +
              `numerical ${num} vs analytical ${ana}`,
          );
        }
      }
    }
  });
  return true;
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
