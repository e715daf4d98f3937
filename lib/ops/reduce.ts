// Reductions and softmax, with their gradients.
import { Tensor, normDim, type DimOptions } from '../tensor.js';
import { defineOp } from '../autograd/function.js';
import { isGradEnabled } from '../autograd/grad_mode.js';
import * as K from './kernels.js';
import { isFloating, type DType } from '../dtype.js';

function check(x: unknown, op: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
}

/**
 * Normalised, sorted, unique reduction dims; all dims when dim is absent or
 * an empty list (PyTorch 1.13 reads sum(x, []) as a full reduction).
 */
export function reduceDims(x: Tensor, dim: number | number[] | null | undefined, op: string): number[] {
  if (dim === undefined || dim === null || (Array.isArray(dim) && dim.length === 0)) return [...x._shape.keys()];
  const list = Array.isArray(dim) ? dim : [dim];
  const dims = list.map((d) => normDim(d, x._shape.length, op));
  const seen = new Set<number>();
  for (const d of dims) {
    if (seen.has(d)) throw new RangeError(`${op}: dim ${d} appears multiple times in the list of dims`);
    seen.add(d);
  }
  // A 0-d tensor takes dim 0 or -1, but has nothing to reduce.
  if (x._shape.length === 0) return [];
  return dims.sort((a, b) => a - b);
}

/** Shape of the reduction with reduced dims kept as 1. */
function keptShape(shape: readonly number[], dims: number[]): number[] {
  return shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

/** Brings a reduced gradient back to the input's shape. */
function unreduce(g: Tensor, shape: readonly number[], dims: number[]): Tensor {
  return g.reshape(keptShape(shape, dims)).expand(shape.slice());
}

function checkKeepdim(opts: DimOptions | undefined, op: string): boolean {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new TypeError(`${op}: options must be an object like { keepdim: true }`);
  return !!opts?.keepdim;
}

// ---- sum / mean / prod ---------------------------------------------------------
const sumOp = defineOp({
  name: 'SumBackward0',
  forward: (ctx, x: Tensor, dims: number[], keepdim: boolean) => {
    ctx.shape = x._shape;
    ctx.dims = dims;
    const outDType: DType = isFloating(x.dtype) ? x.dtype : 'int64';
    return K.reduce('Sum', x, dims, keepdim, outDType);
  },
  backward: (ctx, g) => [unreduce(g, ctx.shape, ctx.dims)],
});

export function sum(x: Tensor, dim?: number | number[] | null, opts?: DimOptions): Tensor {
  check(x, 'sum');
  const keepdim = checkKeepdim(opts, 'sum');
  const dims = reduceDims(x, dim, 'sum');
  return dim === undefined || dim === null ? sumAll(x, dims, keepdim) : sumDim(x, dims, keepdim);
}
const sumAll = sumOp;
const sumDim = defineOp({
  name: 'SumBackward1',
  forward: (ctx, x: Tensor, dims: number[], keepdim: boolean) => {
    ctx.shape = x._shape;
    ctx.dims = dims;
    return K.reduce('Sum', x, dims, keepdim, isFloating(x.dtype) ? x.dtype : 'int64');
  },
  backward: (ctx, g) => [unreduce(g, ctx.shape, ctx.dims)],
});

function meanOp(name: string) {
  return defineOp({
    name,
    forward: (ctx, x: Tensor, dims: number[], keepdim: boolean) => {
      ctx.shape = x._shape;
      ctx.dims = dims;
      ctx.n = dims.reduce((n, d) => n * x._shape[d], 1);
      return K.reduce('Mean', x, dims, keepdim, x.dtype);
    },
    backward: (ctx, g) => [unreduce(g, ctx.shape, ctx.dims).div(ctx.n)],
  });
}
const meanAll = meanOp('MeanBackward0');
const meanDim = meanOp('MeanBackward1');

export function mean(x: Tensor, dim?: number | number[] | null, opts?: DimOptions): Tensor {
  check(x, 'mean');
  if (!isFloating(x.dtype)) {
    throw new TypeError(`mean: could not infer output dtype. Input dtype must be a floating point dtype, got ${x.dtype}`);
  }
  const keepdim = checkKeepdim(opts, 'mean');
  const dims = reduceDims(x, dim, 'mean');
  return (dim === undefined || dim === null ? meanAll : meanDim)(x, dims, keepdim);
}

const prodOp = defineOp({
  name: 'ProdBackward0',
  forward: (ctx, x: Tensor, dims: number[], keepdim: boolean) => {
    const out = K.reduce('Prod', x, dims, true, isFloating(x.dtype) ? x.dtype : 'int64');
    // Note [Saved result]: the tensor returned is saved, not `out` before
    // its view: under createGraph the gradient reaches x through it.
    const result = keepdim ? out : out._view(x._shape.filter((_, i) => !dims.includes(i)));
    ctx.saveForBackward(x, result);
    ctx.dims = dims;
    return result;
  },
  backward: (ctx, g) => {
    const [x, result] = ctx.savedTensors;
    // d prod / d x_i = prod / x_i (inputs with zeros are not special-cased).
    return [unreduce(g, x._shape, ctx.dims).mul(unreduce(result, x._shape, ctx.dims)).div(x)];
  },
});

export function prod(x: Tensor, dim?: number | null, opts?: DimOptions): Tensor {
  check(x, 'prod');
  return prodOp(x, reduceDims(x, dim, 'prod'), checkKeepdim(opts, 'prod'));
}

// ---- var / std ---------------------------------------------------------------------
function correctionOf(opts: { unbiased?: boolean; correction?: number } | undefined): number {
  if (opts?.correction !== undefined) return opts.correction;
  return opts?.unbiased === false ? 0 : 1;
}

const varOp = defineOp({
  name: 'VarBackward0',
  forward: (ctx, x: Tensor, dims: number[], keepdim: boolean, correction: number) => {
    ctx.saveForBackward(x);
    ctx.dims = dims;
    ctx.correction = correction;
    return K.reduce('Var', x, dims, keepdim, x.dtype, correction);
  },
  backward: (ctx, g) => {
    const [x] = ctx.savedTensors;
    const n = ctx.dims.reduce((a: number, d: number) => a * x._shape[d], 1);
    const centered = x.sub(x.mean(ctx.dims, { keepdim: true }));
    return [unreduce(g, x._shape, ctx.dims).mul(centered).mul(2 / (n - ctx.correction))];
  },
});

export function variance(x: Tensor, dim?: number | number[] | null, opts?: { unbiased?: boolean; correction?: number; keepdim?: boolean }): Tensor {
  check(x, 'var');
  if (!isFloating(x.dtype)) throw new TypeError(`var: expected a floating point tensor, got ${x.dtype}`);
  return varOp(x, reduceDims(x, dim, 'var'), !!opts?.keepdim, correctionOf(opts));
}

export function std(x: Tensor, dim?: number | number[] | null, opts?: { unbiased?: boolean; correction?: number; keepdim?: boolean }): Tensor {
  check(x, 'std');
  if (!isFloating(x.dtype)) throw new TypeError(`std: expected a floating point tensor, got ${x.dtype}`);
  reduceDims(x, dim, 'std');
  return variance(x, dim, opts).sqrt();
}

// ---- max / min -----------------------------------------------------------------------
function extremeAll(name: string, op: 'Amax' | 'Amin') {
  return defineOp({
    name,
    forward: (ctx, x: Tensor) => {
      if (x.numel() === 0) throw new RangeError(`${op === 'Amax' ? 'max' : 'min'}: expected a non-empty tensor`);
      const out = K.reduce(op, x, [...x._shape.keys()], false, x.dtype);
      ctx.saveForBackward(x, out);
      return out;
    },
    backward: (ctx, g) => {
      const [x, out] = ctx.savedTensors;
      // The gradient is shared evenly among all elements equal to the extreme.
      const mask = x.eq(out).to(g.dtype);
      return [mask.div(mask.sum()).mul(g)];
    },
  });
}
const maxAll = extremeAll('MaxBackward1', 'Amax');
const minAll = extremeAll('MinBackward1', 'Amin');

function extremeDim(name: string, isMax: boolean) {
  return defineOp({
    name,
    forward: (ctx, x: Tensor, dim: number, keepdim: boolean) => {
      const kshape = x._shape.map((s, i) => (i === dim ? 1 : s));
      const values = K.empty(kshape, x.dtype, isMax ? 'max' : 'min', x.device);
      const indices = K.empty(kshape, 'int64', isMax ? 'max' : 'min', x.device);
      if (x._shape.length === 0) {
        K.native.copy(x._ref(), values._ref());
      } else {
        K.native.argReduce(isMax, x._ref(), dim, values._ref(), indices._ref());
      }
      ctx.shape = x._shape;
      ctx.dim = dim;
      ctx.indices = indices;
      ctx.keepdim = keepdim;
      const squeezed = x._shape.filter((_, i) => i !== dim);
      ctx.outIndices = keepdim || x._shape.length === 0 ? indices : indices._view(squeezed);
      return keepdim || x._shape.length === 0 ? values : values._view(squeezed);
    },
    backward: (ctx, g) => {
      if (ctx.shape.length === 0) return [g];
      const gk = ctx.keepdim ? g : g.unsqueeze(ctx.dim);
      const zeros = K.empty(ctx.shape, g.dtype, name, g.device);
      return [scatterGrad(zeros, ctx.dim, ctx.indices, gk)];
    },
  });
}
const maxDim = extremeDim('MaxBackward0', true);
const minDim = extremeDim('MinBackward0', false);

// zeros with gk scattered at index along dim, differentiable in gk.
const scatterGradOp = defineOp({
  name: 'ScatterBackward0',
  forward: (ctx, base: Tensor, dim: number, index: Tensor, src: Tensor) => {
    ctx.dim = dim;
    ctx.index = index;
    const out = K.clone(base);
    K.native.scatter(out._ref(), dim, index._ref(), K.contiguous(src)._ref());
    return out;
  },
  backward: (ctx, g) => [null, null, g.gather(ctx.dim, ctx.index)],
});
function scatterGrad(base: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return scatterGradOp(base, dim, index, src);
}

function maxOrMin(isMax: boolean, x: Tensor, dim?: number | Tensor, opts?: DimOptions): Tensor | { values: Tensor; indices: Tensor } {
  const op = isMax ? 'max' : 'min';
  check(x, op);
  if (dim instanceof Tensor) return isMax ? x.maximum(dim) : x.minimum(dim);
  if (dim === undefined || dim === null) return (isMax ? maxAll : minAll)(x);
  const d = normDim(dim, x._shape.length, op);
  if (x._shape.length > 0 && x._shape[d] === 0) throw new RangeError(`${op}: cannot reduce over a zero-size dimension ${d}`);
  const keepdim = checkKeepdim(opts, op);
  let indices: Tensor | null = null;
  const values = (isMax ? maxDim : minDim)(x, d, keepdim);
  // The indices come from the same kernel call (kept on the node's ctx, or
  // recomputed when no graph was recorded).
  const node = values.gradFn as unknown as { ctx?: { outIndices: Tensor } } | null;
  indices = node?.ctx?.outIndices ?? argReduce(isMax, x, d, keepdim);
  return { values, indices };
}

function argReduce(isMax: boolean, x: Tensor, d: number, keepdim: boolean): Tensor {
  const op = isMax ? 'argmax' : 'argmin';
  if (x._shape.length === 0) return K.empty([], 'int64', op, x.device);
  const kshape = x._shape.map((s, i) => (i === d ? 1 : s));
  const values = K.empty(kshape, x.dtype, op, x.device);
  const indices = K.empty(kshape, 'int64', op, x.device);
  K.native.argReduce(isMax, x._ref(), d, values._ref(), indices._ref());
  return keepdim ? indices : indices._view(x._shape.filter((_, i) => i !== d));
}

export function max(x: Tensor, dim?: number | Tensor, opts?: DimOptions) {
  return maxOrMin(true, x, dim, opts) as never;
}
export function min(x: Tensor, dim?: number | Tensor, opts?: DimOptions) {
  return maxOrMin(false, x, dim, opts) as never;
}

function amaxOp(name: string, op: 'Amax' | 'Amin') {
  return defineOp({
    name,
    forward: (ctx, x: Tensor, dims: number[], keepdim: boolean) => {
      const out = K.reduce(op, x, dims, true, x.dtype);
      ctx.saveForBackward(x, out);
      ctx.dims = dims;
      return keepdim ? out : out._view(x._shape.filter((_, i) => !dims.includes(i)));
    },
    backward: (ctx, g) => {
      const [x, out] = ctx.savedTensors;
      const mask = x.eq(out).to(g.dtype);
      const count = mask.sum(ctx.dims, { keepdim: true });
      return [unreduce(g, x._shape, ctx.dims).mul(mask).div(count)];
    },
  });
}
const amaxK = amaxOp('AmaxBackward0', 'Amax');
const aminK = amaxOp('AminBackward0', 'Amin');

export function amax(x: Tensor, dim?: number | number[] | null, opts?: DimOptions): Tensor {
  check(x, 'amax');
  return amaxK(x, reduceDims(x, dim, 'amax'), checkKeepdim(opts, 'amax'));
}
export function amin(x: Tensor, dim?: number | number[] | null, opts?: DimOptions): Tensor {
  check(x, 'amin');
  return aminK(x, reduceDims(x, dim, 'amin'), checkKeepdim(opts, 'amin'));
}

function argExtreme(isMax: boolean, x: Tensor, dim: number | null | undefined, opts: DimOptions | undefined): Tensor {
  const op = isMax ? 'argmax' : 'argmin';
  check(x, op);
  const keepdim = checkKeepdim(opts, op);
  if (dim === undefined || dim === null) {
    if (x.numel() === 0) throw new RangeError(`${op}: expected a dim to reduce over for an empty tensor of shape ${K.fmtShape(x._shape)}`);
    const flat = K.contiguous(x)._view([x.numel()]);
    const r = argReduce(isMax, flat, 0, false);
    return keepdim ? r._view(x._shape.map(() => 1)) : r;
  }
  const d = normDim(dim, x._shape.length, op);
  if (x._shape.length > 0 && x._shape[d] === 0) {
    throw new RangeError(`${op}: expected reduction dim ${d} to have non-zero size, got shape ${K.fmtShape(x._shape)}`);
  }
  // Zero-size elsewhere: an empty result of the reduced shape, as PyTorch's.
  if (x.numel() === 0) {
    const kshape = x._shape.map((s, i) => (i === d ? 1 : s));
    return K.empty(keepdim ? kshape : x._shape.filter((_, i) => i !== d), 'int64', op, x.device);
  }
  return argReduce(isMax, x, d, keepdim);
}
export function argmax(x: Tensor, dim?: number | null, opts?: DimOptions): Tensor {
  return argExtreme(true, x, dim, opts);
}
export function argmin(x: Tensor, dim?: number | null, opts?: DimOptions): Tensor {
  return argExtreme(false, x, dim, opts);
}

// ---- logsumexp / norm ------------------------------------------------------------------
const logsumexpOp = defineOp({
  name: 'LogsumexpBackward0',
  forward: (ctx, x: Tensor, dims: number[], keepdim: boolean) => {
    const out = K.reduce('LogSumExp', x, dims, true, x.dtype);
    // Note [Saved result].
    const result = keepdim ? out : out._view(x._shape.filter((_, i) => !dims.includes(i)));
    ctx.saveForBackward(x, result);
    ctx.dims = dims;
    return result;
  },
  backward: (ctx, g) => {
    const [x, result] = ctx.savedTensors;
    return [unreduce(g, x._shape, ctx.dims).mul(x.sub(result.reshape(keptShape(x._shape, ctx.dims))).exp())];
  },
});

export function logsumexp(x: Tensor, dim: number | number[], opts?: DimOptions): Tensor {
  check(x, 'logsumexp');
  // PyTorch 1.13 has no reading of logsumexp(x, []) (it fails inside its kernel).
  if (Array.isArray(dim) && dim.length === 0) throw new RangeError('logsumexp: expected at least one dim to reduce, got an empty list');
  const xf = isFloating(x.dtype) ? x : x.to('float32');
  return logsumexpOp(xf, reduceDims(xf, dim, 'logsumexp'), checkKeepdim(opts, 'logsumexp'));
}

const norm2Op = defineOp({
  name: 'NormBackward1',
  forward: (ctx, x: Tensor, dims: number[], keepdim: boolean) => {
    const out = K.reduce('Norm2', x, dims, true, x.dtype);
    // Note [Saved result].
    const result = keepdim ? out : out._view(x._shape.filter((_, i) => !dims.includes(i)));
    ctx.saveForBackward(x, result);
    ctx.dims = dims;
    return result;
  },
  backward: (ctx, g) => {
    const [x, result] = ctx.savedTensors;
    const out = result.reshape(keptShape(x._shape, ctx.dims));
    // x / ||x||, with 0 where the norm is 0 (PyTorch's subgradient).
    const safe = out.add(out.eq(0).to(out.dtype));
    return [unreduce(g, x._shape, ctx.dims).mul(x).div(safe)];
  },
});

export function norm(x: Tensor, p: number | 'fro' = 2, dim?: number | number[] | null, opts?: DimOptions): Tensor {
  check(x, 'norm');
  if (!isFloating(x.dtype)) throw new TypeError(`norm: expected a floating point tensor, got ${x.dtype}`);
  const keepdim = checkKeepdim(opts, 'norm');
  const dims = reduceDims(x, dim, 'norm');
  if (p === 'fro' || p === 2) return norm2Op(x, dims, keepdim);
  if (typeof p !== 'number') throw new TypeError(`norm: p must be a number or 'fro'`);
  if (p === Infinity) return x.abs().amax(dims, { keepdim });
  if (p === 1) return x.abs().sum(dims, { keepdim });
  return x.abs().pow(p).sum(dims, { keepdim }).pow(1 / p);
}

// ---- softmax -------------------------------------------------------------------------------
function softmaxOp(name: string, log: boolean) {
  return defineOp({
    name,
    forward: (ctx, x: Tensor, dim: number) => {
      // The kernel writes every element: no zeroing (a fifth of a softmax over 1M floats).
      const out = K.output(x._shape, x.dtype, log ? 'logSoftmax' : 'softmax', x.device);
      if (x.numel() > 0) K.native.softmax(x._ref(), dim, log, out._ref());
      ctx.saveForBackward(out);
      ctx.dim = dim;
      return out;
    },
    backward: (ctx, g) => {
      const [y] = ctx.savedTensors;
      if (isGradEnabled()) {
        // createGraph: a composite the engine can differentiate again.
        return log
          ? [g.sub(y.exp().mul(g.sum(ctx.dim, { keepdim: true })))]
          : [y.mul(g.sub(g.mul(y).sum(ctx.dim, { keepdim: true })))];
      }
      const out = K.output(y._shape, y.dtype, name, y.device);
      const gc = K.contiguous(g.dtype === y.dtype ? g : g.to(y.dtype));
      K.native.softmaxBackward(y._ref(), gc._ref(), ctx.dim, log, out._ref());
      return [out];
    },
  });
}
const softmaxK = softmaxOp('SoftmaxBackward0', false);
const logSoftmaxK = softmaxOp('LogSoftmaxBackward0', true);

function softmaxEntry(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  check(x, op);
  if (dim === undefined) throw new TypeError(`${op}: dim is required`);
  const d = normDim(dim, x._shape.length, op);
  const xf = isFloating(x.dtype) ? x : x.to('float32');
  const k = log ? logSoftmaxK : softmaxK;
  // A 0-d tensor is a row of one (dim 0 or -1, as PyTorch allows); the
  // kernels want a dim to walk, so run it as shape [1].
  if (x._shape.length === 0) return k(xf.reshape([1]), 0).reshape([]);
  return k(xf, d);
}
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxEntry(x, dim, false);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxEntry(x, dim, true);
}

// ---- any / all ---------------------------------------------------------------------------
export function any(x: Tensor, dim?: number, opts?: DimOptions): Tensor {
  check(x, 'any');
  return K.reduce('Any', x, reduceDims(x, dim, 'any'), checkKeepdim(opts, 'any'), 'bool');
}
export function all(x: Tensor, dim?: number, opts?: DimOptions): Tensor {
  check(x, 'all');
  return K.reduce('All', x, reduceDims(x, dim, 'all'), checkKeepdim(opts, 'all'), 'bool');
}
