// Reductions and softmax, each declared once (lib/ops/op.ts): PyTorch's
// signature, the kernel in forward, and gradients written with ops, so that
// createGraph can differentiate them again; softmax and logSoftmax also
// have a fused first-order backward kernel (Note [Fused backward]).
// A method module (Note [Method modules] in tensor_methods.ts): every export
// is a Tensor method and torch.x. The helpers other families may use are in
// reduce_internal.ts.
//
// Where PyTorch names the node differently by overload (SumBackward0 for
// sum(), SumBackward1 for sum(dim)), the public op binds the arguments and
// calls one of two internal primitives, one per node name.
import { Tensor, normDim } from '../tensor.js';
import { define, op, returns, tensorParam as T } from './op.js';
import { checkOptions, fmtValue, isOptions, param as p } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { isDType, isFloating, isHalf, type DType } from '../dtype.js';
import {
  keptShape,
  namedTuple,
  picked,
  reduceDims,
  reducedShape,
  unreduce,
  valuesIndices,
  type NamedTuple,
  type ValuesIndices,
} from './reduce_internal.js';
import { maximum, minimum } from './elementwise.js';
import { cat, where } from './join.js';
import { inplaceOf } from './inplace.js';
import { isGradEnabled } from '../autograd/grad_mode.js';

// ---- parameters ----------------------------------------------------------------------
/** dtype? (keyword-only where PyTorch has it so): the dtype the input is cast to before the op. */
const dtypeParam = p.custom(
  'dtype',
  'dtype?',
  (v, owner): DType | null => {
    if (v !== null && !isDType(v)) throw new TypeError(`${owner}: argument 'dtype' must be a dtype or null, got ${fmtValue(v)}`);
    return v as DType | null;
  },
  null,
);
/** The internal primitives' dims: normalised and checked by the public op that calls them. */
const dimsParam = p.custom('dims', 'int[]', (v): number[] => v as number[]);

/** The number of elements each output element reduces over. */
function countOf(shape: readonly number[], dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= shape[d];
  return n;
}

/** The reduction's output from the kernel's keepdim-shaped one. */
function squeezeTo(out: Tensor, x: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  return keepdim ? out : out._view(reducedShape(x._shape, dims));
}

/** The integer sums and products are int64, as PyTorch's. */
function accDType(x: Tensor, dtype: DType | null): DType {
  return dtype ?? (isFloating(x.dtype) ? x.dtype : 'int64');
}

// ---- sum / mean / prod ---------------------------------------------------------------
export const sum = op(
  'sum',
  [T.tensor('input'), p.dims('dim'), p.bool('keepdim', false), p.kw(dtypeParam)],
  'sum over dim (all dims when null or []); integers sum to int64',
);
define(sum, {
  node: ({ dim }) => (dim === null ? 'SumBackward0' : 'SumBackward1'),
  forward: ({ input, dim, keepdim, dtype }) => {
    const dims = reduceDims(input, dim, 'sum');
    const x = dtype === null ? input : K.cast(input, dtype, 'sum');
    return { out: K.reduce('Sum', x, dims, keepdim, accDType(x, dtype)), save: { shape: input._shape, dims } };
  },
  grads: { input: (g, s) => unreduce(g, s.shape, s.dims) },
});

export const mean = op(
  'mean',
  [T.tensor('input'), p.dims('dim'), p.bool('keepdim', false), p.kw(dtypeParam)],
  'arithmetic mean over dim (all dims when null or []); floating inputs or a floating dtype',
);
define(mean, {
  node: ({ dim }) => (dim === null ? 'MeanBackward0' : 'MeanBackward1'),
  forward: ({ input, dim, keepdim, dtype }) => {
    if (!isFloating(dtype ?? input.dtype)) {
      throw new TypeError(
        dtype === null
          ? `mean: could not infer output dtype. Input dtype must be a floating point dtype, got ${input.dtype}`
          : `mean: could not infer output dtype. Optional dtype must be a floating point dtype, got ${dtype}`,
      );
    }
    const dims = reduceDims(input, dim, 'mean');
    const x = dtype === null ? input : K.cast(input, dtype, 'mean');
    // PyTorch's half mean is the sum, rounded to the half dtype, then divided by the count.
    const out = isHalf(x.dtype)
      ? K.binary('Div', K.reduce('Sum', x, dims, keepdim, x.dtype), countOf(x._shape, dims))
      : K.reduce('Mean', x, dims, keepdim, x.dtype);
    return { out, save: { shape: input._shape, dims } };
  },
  grads: { input: (g, s) => unreduce(g, s.shape, s.dims).div(countOf(s.shape, s.dims)) },
});

/**
 * d prod / d x_i: the product of the other elements. Without zeros that is
 * prod / x_i; with zeros it is the product of the elements before i times
 * that of those after (exclusive running products from both ends), which
 * is 0 where another element is 0, as PyTorch's prod_backward.
 */
function prodBackward(g: Tensor, x: Tensor, result: Tensor, dims: readonly number[]): Tensor {
  const gx = unreduce(g, x._shape, dims);
  if (x.numel() === 0 || !x.eq(0).any().item()) return gx.mul(unreduce(result, x._shape, dims)).div(x);
  // One reduced dim (prod(dim)), or all of them flattened (prod()).
  const one = dims.length === 1 && x._shape.length > 0;
  const d = one ? dims[0] : 0;
  const xs = one ? x : x.reshape([-1]);
  const n = xs._shape[d];
  const ones = K.empty(keptShape(xs._shape, [d]), xs.dtype, 'prod', xs.device).add(1);
  const before = cat([ones, xs.narrow(d, 0, n - 1)], d).cumprod(d);
  const after = flipDim(cat([ones, flipDim(xs, d).narrow(d, 0, n - 1)], d).cumprod(d), d);
  const others = before.mul(after);
  return gx.mul(one ? others : others.reshape(x._shape.slice()));
}

function prodOp(node: string) {
  const f = op('prod', [T.tensor('input'), dimsParam, p.bool('keepdim'), dtypeParam], `product over normalised dims (${node})`);
  define(f, {
    node,
    forward: ({ input, dims, keepdim, dtype }) => {
      const x = dtype === null ? input : K.cast(input, dtype, 'prod');
      // Note [Saved result]: the tensor returned is saved, not the kernel's
      // output before its view: under createGraph the gradient reaches x
      // through it.
      const result = squeezeTo(K.reduce('Prod', x, dims, true, accDType(x, dtype)), x, dims, keepdim);
      return { out: result, save: { x, result, dims } };
    },
    grads: { input: (g, { x, result, dims }) => prodBackward(g, x, result, dims) },
  });
  return f;
}
const prodAll = prodOp('ProdBackward0');
const prodDim = prodOp('ProdBackward1');

export const prod = op(
  'prod',
  [T.tensor('input'), p.optInt('dim'), p.bool('keepdim', false), p.kw(dtypeParam)],
  'product over dim (all when null); integers multiply in int64',
);
define(prod, {
  impl: ({ input, dim, keepdim, dtype }): Tensor =>
    (dim === null ? prodAll : prodDim)(input, reduceDims(input, dim, 'prod'), keepdim, dtype),
});

// ---- var / std -------------------------------------------------------------------------
const unbiasedParam = p.custom(
  'unbiased',
  'bool?',
  (v, owner): boolean | null => {
    if (v !== null && typeof v !== 'boolean') throw new TypeError(`${owner}: argument 'unbiased' must be a boolean, got ${fmtValue(v)}`);
    return v as boolean | null;
  },
  null,
);
// PyTorch 1.13's overloads of var (and std, varMean, stdMean) in one list:
// var(input, dim, unbiased=True, keepdim=False), var(input, unbiased) and
// var(input, dim=None, *, correction=1, keepdim=False).
const varDimParam = p.custom(
  'dim',
  'int[]?|bool',
  (v, owner): number | number[] | boolean | null => {
    if (v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v))) return v as number | boolean | null;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x)))
      throw new TypeError(`${owner}: argument 'dim' must be an integer, an array of integers or null, got ${fmtValue(v)}`);
    return v as number[];
  },
  null,
);
const varParams = [T.tensor('input'), varDimParam, unbiasedParam, p.bool('keepdim', false), p.kw(p.optFloat('correction'))] as const;

/** var(input, unbiased): a boolean where the dim goes is the unbiased flag. */
function varDimArgs(
  name: string,
  dim: number | number[] | boolean | null,
  unbiased: boolean | null,
): { dim: number | number[] | null; unbiased: boolean | null } {
  if (typeof dim !== 'boolean') return { dim, unbiased };
  if (unbiased !== null) throw new TypeError(`${name}: got unbiased twice (as the second argument and by name)`);
  return { dim: null, unbiased: dim };
}

/**
 * The public var, std, varMean and stdMean: PyTorch 1.13's var(input,
 * unbiased) overload takes its flag only positionally and nothing after it
 * (Python refuses var(dim=False), var(False, keepdim=True) and
 * var(False, out=o)). The op's binder cannot tell a positional boolean from
 * one given by name, so this checks the call first.
 */
function unbiasedOverload<F extends { spec: unknown }>(name: string, f: F): F {
  const call = f as unknown as (...a: unknown[]) => unknown;
  const run = (...args: unknown[]): unknown => {
    const opts = args.length > 0 && isOptions(args[args.length - 1]) ? (args[args.length - 1] as Record<string, unknown>) : null;
    if (opts !== null && typeof opts.dim === 'boolean')
      throw new TypeError(
        `${name}: argument 'dim' must be an integer, an array of integers or null, got ${opts.dim}; ` +
          `the unbiased flag is ${name}(input, ${opts.dim}) or { unbiased: ${opts.dim} }`,
      );
    // args[0] is the input, args[1] the dim or the flag.
    const positional = opts === null ? args : args.slice(0, -1);
    if (typeof positional[1] !== 'boolean') return call(...args);
    const more = positional.slice(2).some((v) => v !== undefined);
    const named = opts === null ? [] : ['dim', 'unbiased', 'keepdim', 'correction', 'out'].filter((k) => opts[k] !== undefined);
    if (more || named.length > 0)
      throw new TypeError(
        `${name}: ${name}(input, unbiased) takes no other argument, got ${more ? fmtValue(positional.slice(2)) : `{ ${named.join(', ')} }`} ` +
          `after ${positional[1]}; write ${name}(input, dim, unbiased, keepdim), with dim null for all dims`,
      );
    return call(...args);
  };
  Object.defineProperty(run, 'spec', { value: f.spec });
  return run as unknown as F;
}

/** The checks var and std share; returns the dims and the correction. */
function varArgs(
  name: string,
  x: Tensor,
  dim0: number | number[] | boolean | null,
  correction: number | null,
  unbiased0: boolean | null,
): { dims: number[]; c: number } {
  if (!isFloating(x.dtype)) throw new TypeError(`${name}: expected a floating point tensor, got ${x.dtype}`);
  const { dim, unbiased } = varDimArgs(name, dim0, unbiased0);
  if (correction !== null && unbiased !== null)
    throw new TypeError(`${name}: got both correction and unbiased; pass one (unbiased=false is correction=0)`);
  const dims = reduceDims(x, dim, name);
  return { dims, c: correction ?? (unbiased === false ? 0 : 1) };
}

/** (x - mean) over dims, kept shape: the part of var's and std's gradients they share. */
function centered(x: Tensor, dims: readonly number[]): Tensor {
  return x.sub(x.mean(dims.slice(), { keepdim: true }));
}

const varianceOp = op(
  'var',
  varParams,
  'variance over dim (all dims when null), divided by N - correction (correction 1, or unbiased=false for 0)',
);
define(varianceOp, {
  node: 'VarBackward0',
  forward: ({ input, dim, correction, keepdim, unbiased }) => {
    const { dims, c } = varArgs('var', input, dim, correction, unbiased);
    return { out: K.reduce('Var', input, dims, keepdim, input.dtype, c), save: { x: input, dims, c } };
  },
  grads: {
    input: (g, { x, dims, c }) =>
      unreduce(g, x._shape, dims)
        .mul(centered(x, dims))
        .mul(2 / (countOf(x._shape, dims) - c)),
  },
});
/** var(input, dim, unbiased=True, keepdim=False, *, correction), or var(input, unbiased): the variance over dim. */
export const variance = unbiasedOverload('var', varianceOp);
export { variance as var };

const stdOp = op('std', varParams, "standard deviation over dim (all dims when null): sqrt(var), with var's correction");
define(stdOp, {
  node: 'StdBackward0',
  forward: ({ input, dim, correction, keepdim, unbiased }) => {
    const { dims, c } = varArgs('std', input, dim, correction, unbiased);
    // Note [Saved result].
    const result = squeezeTo(K.unary('Sqrt', K.reduce('Var', input, dims, true, input.dtype, c)), input, dims, keepdim);
    return { out: result, save: { x: input, result, dims, c } };
  },
  grads: {
    // d std = d var / (2 std), and 0 where std is 0 (PyTorch's masked_fill).
    input: (g, { x, result, dims, c }) => {
      const kept = keptShape(x._shape, dims);
      const s = result.reshape(kept);
      const zero = s.eq(0).to(s.dtype);
      const gs = g.reshape(kept).div(s.add(zero)).mul(zero.rsub(1));
      return gs.mul(centered(x, dims)).div(countOf(x._shape, dims) - c);
    },
  },
});

/** std(input, dim, unbiased=True, keepdim=False, *, correction), or std(input, unbiased): sqrt(var). */
export const std = unbiasedOverload('std', stdOp);

// ---- max / min ---------------------------------------------------------------------------
// Zeros of `shape` with src written at index along dim (each place at most
// once): max(dim)'s backward, differentiable again in src. The indices are
// the kernel's own, so unchecked.
const scatterIntoZeros = op(
  'scatter',
  [T.tensor('src'), p.custom('shape', 'int[]', (v): readonly number[] => v as readonly number[]), p.int('dim'), T.tensor('index')],
  'src scattered into zeros of shape at index along dim',
);
define(scatterIntoZeros, {
  node: 'ScatterBackward0',
  forward: ({ src, shape, dim, index }) => {
    const out = K.empty(shape, src.dtype, 'scatter', src.device);
    native.scatter(out._ref(), dim, index._ref(), K.contiguous(src)._ref());
    return { out, save: { dim, index } };
  },
  grads: { src: (g, { dim, index }) => g.gather(dim, index) },
});

/**
 * Where the internal max(dim)/min(dim) primitive leaves the indices its
 * kernel computes with the values: a primitive returns one tensor (the
 * values, which get the node), and one kernel call gives both.
 */
class IndicesOut {
  indices: Tensor | null = null;
}

// PyTorch's three overloads of each, declared one by one; `max` and `min`
// below pick one by their arguments.
function extremeOps<const N extends 'max' | 'min'>(name: N) {
  const isMax = name === 'max';
  const what = isMax ? 'largest' : 'smallest';

  // max(input) -> Tensor
  const all = op(name, [T.tensor('input')], `the ${what} element`);
  define(all, {
    node: isMax ? 'MaxBackward1' : 'MinBackward1',
    forward: ({ input }) => {
      if (input.numel() === 0) throw new RangeError(`${name}: expected a non-empty tensor`);
      const out = K.reduce(isMax ? 'Amax' : 'Amin', input, [...input._shape.keys()], false, input.dtype);
      return { out, save: { x: input, out } };
    },
    grads: {
      // The gradient is shared evenly among all elements equal to the extreme.
      input: (g, { x, out }) => {
        const mask = x.eq(out).to(g.dtype);
        return mask.div(mask.sum()).mul(g);
      },
    },
  });

  // The values of max(input, dim), with the indices in an IndicesOut.
  const values = op(
    name,
    [T.tensor('input'), p.int('dim'), p.bool('keepdim'), p.custom('indicesOut', 'IndicesOut', (v): IndicesOut => v as IndicesOut)],
    `the ${what} values along a normalised dim`,
  );
  define(values, {
    node: isMax ? 'MaxBackward0' : 'MinBackward0',
    forward: ({ input, dim, keepdim, indicesOut }) => {
      const nd = input._shape.length;
      const kshape = keptShape(input._shape, [dim]);
      const v = K.empty(kshape, input.dtype, name, input.device);
      const indices = K.empty(kshape, 'int64', name, input.device);
      if (nd === 0) native.copy(input._ref(), v._ref());
      else native.argReduce(isMax, input._ref(), dim, v._ref(), indices._ref());
      const squeeze = !keepdim && nd > 0;
      indicesOut.indices = squeeze ? indices._view(reducedShape(input._shape, [dim])) : indices;
      return { out: squeeze ? v._view(reducedShape(input._shape, [dim])) : v, save: { shape: input._shape, dim, keepdim, indices } };
    },
    grads: {
      // PyTorch's value_selecting_reduction_backward: g scattered to the indices.
      input: (g, { shape, dim, keepdim, indices }) => {
        if (shape.length === 0) return g;
        return scatterIntoZeros(keepdim ? g : g.unsqueeze(dim), shape, dim, indices);
      },
    },
  });

  // max(input, dim, keepdim=False) -> (values, indices)
  const dim = op(
    name,
    [T.tensor('input'), p.int('dim'), p.bool('keepdim', false)],
    `(values, indices) of the ${what} elements along dim`,
    returns<ValuesIndices>(),
  );
  define(dim, {
    impl: ({ input, dim: d0, keepdim }): ValuesIndices => {
      const d = normDim(d0, input._shape.length, name);
      if (input._shape.length > 0 && input._shape[d] === 0) throw new RangeError(`${name}: cannot reduce over a zero-size dimension ${d}`);
      const out = new IndicesOut();
      const v = values(input, d, keepdim, out);
      return valuesIndices(name, v, out.indices!);
    },
  });

  // max(input, other) -> Tensor: torch.maximum.
  const other = op(name, [T.tensor('input'), T.tensor('other')], `the elementwise ${isMax ? 'maximum' : 'minimum'} of two tensors`);
  define(other, { impl: ({ input, other: o }): Tensor => (isMax ? maximum : minimum)(input, o) });

  return { all, dim, other };
}
const maxOps = extremeOps('max');
const minOps = extremeOps('min');

/** max(input, dim, keepdim=False): dim and keepdim positionally or in the options object. */
type ExtremeDimArgs =
  | [dim: number, keepdim?: boolean, opts?: { keepdim?: boolean }]
  | [dim: number, opts: { keepdim?: boolean }]
  | [opts: { dim: number; keepdim?: boolean }];
/** max(input, other). */
type ExtremeOtherArgs = [other: Tensor] | [opts: { other: Tensor }];

type ExtremeOps = ReturnType<typeof extremeOps<'max' | 'min'>>;

/** Picks PyTorch's overload of max or min by the arguments, as Python's parser does. */
function extreme(ops: ExtremeOps, name: 'max' | 'min', self: unknown, args: unknown[]): Tensor | ValuesIndices {
  const n = args.length > 0 && isOptions(args[args.length - 1]) ? args.length - 1 : args.length;
  const opts = n < args.length ? (args[n] as Record<string, unknown>) : null;
  checkOptions(name, opts, ['dim', 'keepdim', 'other']);
  if (args[0] instanceof Tensor || opts?.other !== undefined) return ops.other(self as Tensor, ...(args as [Tensor]));
  if ((n === 0 || (n === 1 && args[0] === undefined)) && opts?.dim === undefined) {
    if (opts?.keepdim !== undefined) throw new TypeError(`${name}: keepdim needs a dim: ${name}(input, dim, keepdim=False)`);
    return ops.all(self as Tensor);
  }
  return ops.dim(self as Tensor, ...(args as [number]));
}

/** max(input) -> Tensor; max(input, dim, keepdim=False) -> (values, indices); max(input, other) -> Tensor. */
export function max(self: Tensor, opts?: Record<string, never>): Tensor;
export function max(self: Tensor, ...args: ExtremeDimArgs): ValuesIndices;
export function max(self: Tensor, ...args: ExtremeOtherArgs): Tensor;
export function max(self: Tensor, ...args: unknown[]): Tensor | ValuesIndices {
  return extreme(maxOps, 'max', self, args);
}
/** min(input) -> Tensor; min(input, dim, keepdim=False) -> (values, indices); min(input, other) -> Tensor. */
export function min(self: Tensor, opts?: Record<string, never>): Tensor;
export function min(self: Tensor, ...args: ExtremeDimArgs): ValuesIndices;
export function min(self: Tensor, ...args: ExtremeOtherArgs): Tensor;
export function min(self: Tensor, ...args: unknown[]): Tensor | ValuesIndices {
  return extreme(minOps, 'min', self, args);
}

// ---- amax / amin -----------------------------------------------------------------------
function amaxOp<const N extends 'amax' | 'amin'>(name: N) {
  const isMax = name === 'amax';
  const f = op(
    name,
    [T.tensor('input'), p.dims('dim'), p.bool('keepdim', false)],
    `the ${isMax ? 'largest' : 'smallest'} values over dim (all dims when null or [])`,
  );
  define(f, {
    node: isMax ? 'AmaxBackward0' : 'AminBackward0',
    forward: ({ input, dim, keepdim }) => {
      const dims = reduceDims(input, dim, name);
      const out = K.reduce(isMax ? 'Amax' : 'Amin', input, dims, true, input.dtype);
      return { out: squeezeTo(out, input, dims, keepdim), save: { x: input, out, dims } };
    },
    grads: {
      // Shared evenly among the elements equal to the extreme.
      input: (g, { x, out, dims }) => {
        const mask = x.eq(out).to(g.dtype);
        return unreduce(g, x._shape, dims)
          .mul(mask)
          .div(mask.sum(dims.slice(), { keepdim: true }));
      },
    },
  });
  return f;
}
export const amax = amaxOp('amax');
export const amin = amaxOp('amin');

// ---- argmax / argmin ---------------------------------------------------------------------
/** The indices of the extremes along d (one kernel call), keepdim-shaped or not. */
function argReduce(isMax: boolean, x: Tensor, d: number, keepdim: boolean): Tensor {
  const op = isMax ? 'argmax' : 'argmin';
  if (x._shape.length === 0) return K.empty([], 'int64', op, x.device);
  const kshape = keptShape(x._shape, [d]);
  const values = K.empty(kshape, x.dtype, op, x.device);
  const indices = K.empty(kshape, 'int64', op, x.device);
  native.argReduce(isMax, x._ref(), d, values._ref(), indices._ref());
  return keepdim ? indices : indices._view(reducedShape(x._shape, [d]));
}

function argOp<const N extends 'argmax' | 'argmin'>(name: N) {
  const isMax = name === 'argmax';
  const f = op(
    name,
    [T.tensor('input'), p.optInt('dim'), p.bool('keepdim', false)],
    `int64 index of the ${isMax ? 'largest' : 'smallest'} element along dim (of the flattened input when null)`,
  );
  define(f, {
    impl: ({ input: x, dim, keepdim }): Tensor => {
      if (dim === null) {
        if (x.numel() === 0)
          throw new RangeError(`${name}: expected a dim to reduce over for an empty tensor of shape ${K.fmtShape(x._shape)}`);
        const r = argReduce(isMax, K.contiguous(x)._view([x.numel()]), 0, false);
        return keepdim ? r._view(x._shape.map(() => 1)) : r;
      }
      const d = normDim(dim, x._shape.length, name);
      if (x._shape.length > 0 && x._shape[d] === 0) {
        throw new RangeError(`${name}: expected reduction dim ${d} to have non-zero size, got shape ${K.fmtShape(x._shape)}`);
      }
      // Zero-size elsewhere: an empty result of the reduced shape, as PyTorch's.
      if (x.numel() === 0) return K.empty(keepdim ? keptShape(x._shape, [d]) : reducedShape(x._shape, [d]), 'int64', name, x.device);
      return argReduce(isMax, x, d, keepdim);
    },
  });
  return f;
}
export const argmax = argOp('argmax');
export const argmin = argOp('argmin');

// ---- logsumexp / norm ----------------------------------------------------------------------
export const logsumexp = op(
  'logsumexp',
  [T.tensor('input'), p.ints('dim'), p.bool('keepdim', false)],
  'log(sum(exp(input))) over dim, computed stably; integers in float32',
);
define(logsumexp, {
  node: 'LogsumexpBackward0',
  forward: ({ input, dim, keepdim }) => {
    // PyTorch 1.13 has no reading of logsumexp(x, []) (it fails inside its kernel).
    if (Array.isArray(dim) && dim.length === 0) throw new RangeError('logsumexp: expected at least one dim to reduce, got an empty list');
    const x = isFloating(input.dtype) ? input : K.cast(input, 'float32', 'logsumexp');
    const dims = reduceDims(x, dim, 'logsumexp');
    // Note [Saved result].
    const result = squeezeTo(K.reduce('LogSumExp', x, dims, true, x.dtype), x, dims, keepdim);
    return { out: result, save: { x, result, dims } };
  },
  grads: {
    input: (g, { x, result, dims }) => unreduce(g, x._shape, dims).mul(x.sub(result.reshape(keptShape(x._shape, dims))).exp()),
  },
});

const norm2 = op('norm', [T.tensor('input'), dimsParam, p.bool('keepdim')], 'the 2-norm over normalised dims');
define(norm2, {
  node: 'NormBackward1',
  forward: ({ input, dims, keepdim }) => {
    // Note [Saved result].
    const result = squeezeTo(K.reduce('Norm2', input, dims, true, input.dtype), input, dims, keepdim);
    return { out: result, save: { x: input, result, dims } };
  },
  grads: {
    input: (g, { x, result, dims }) => {
      const out = result.reshape(keptShape(x._shape, dims));
      // x / ||x||, with 0 where the norm is 0 (PyTorch's subgradient).
      const safe = out.add(out.eq(0).to(out.dtype));
      return unreduce(g, x._shape, dims).mul(x).div(safe);
    },
  },
});

const ordParam = p.custom(
  'p',
  "float|'fro'",
  (v, owner): number | 'fro' => {
    if (v !== 'fro' && typeof v !== 'number') throw new TypeError(`${owner}: p must be a number or 'fro', got ${fmtValue(v)}`);
    return v;
  },
  'fro',
);

export const norm = op(
  'norm',
  [T.tensor('input'), ordParam, p.dims('dim'), p.bool('keepdim', false)],
  "p-norm over dim (all dims when null): 'fro' (2), 1, Infinity, -Infinity, 0 or any p",
);
define(norm, {
  impl: ({ input, p: ord, dim, keepdim }): Tensor => {
    if (!isFloating(input.dtype)) throw new TypeError(`norm: expected a floating point tensor, got ${input.dtype}`);
    const dims = reduceDims(input, dim, 'norm');
    if (ord === 'fro' || ord === 2) return norm2(input, dims, keepdim);
    if (ord === 0) return input.ne(0).to(input.dtype).sum(dims, keepdim);
    const a = input.abs();
    if (ord === Infinity) return a.amax(dims, keepdim);
    if (ord === -Infinity) return a.amin(dims, keepdim);
    if (ord === 1) return a.sum(dims, keepdim);
    return a
      .pow(ord)
      .sum(dims, keepdim)
      .pow(1 / ord);
  },
});

// ---- softmax -------------------------------------------------------------------------------
/** The fused backward kernel's gradient (first order only: Note [Fused backward]). */
function softmaxBackward(g: Tensor, y: Tensor, dim: number, log: boolean, node: string): Tensor {
  const out = K.output(y._shape, y.dtype, node, y.device);
  if (y.numel() === 0) return out;
  const gc = K.contiguous(K.cast(g, y.dtype, node));
  // The kernel walks a dim: a 0-d tensor runs as shape [1].
  const r = (t: Tensor) => (t._shape.length === 0 ? t._view([1]) : t)._ref();
  native.softmaxBackward(r(y), r(gc), dim, log, r(out));
  return out;
}

function softmaxOp<const N extends 'softmax' | 'logSoftmax'>(name: N) {
  const log = name === 'logSoftmax';
  const node = log ? 'LogSoftmaxBackward0' : 'SoftmaxBackward0';
  const f = op(
    name,
    [T.tensor('input'), p.int('dim'), dtypeParam],
    log ? 'log(softmax(input)) along dim, computed stably' : 'exp(input) / sum(exp(input)) along dim; integers in float32',
  );
  define(f, {
    node,
    forward: ({ input, dim, dtype }) => {
      const d = normDim(dim, input._shape.length, name);
      const dt = dtype ?? K.floatDType(input.dtype);
      if (!isFloating(dt)) throw new TypeError(`${name}: expected a floating point dtype, got ${dt}`);
      const x = K.cast(input, dt, name);
      // A 0-d tensor is a row of one (dim 0 or -1, as PyTorch allows); the
      // kernel walks a dim, so it runs as shape [1].
      const x1 = x._shape.length === 0 ? x._view([1]) : x;
      // The kernel writes every element: no zeroing (a fifth of a softmax over 1M floats).
      const out = K.output(x1._shape, dt, name, x.device);
      if (out.numel() > 0) native.softmax(x1._ref(), d, log, out._ref());
      const y = x._shape.length === 0 ? out._view([]) : out;
      return { out: y, save: { y, dim: d } };
    },
    grads: {
      input: log ? (g, { y, dim }) => g.sub(y.exp().mul(g.sum(dim, true))) : (g, { y, dim }) => y.mul(g.sub(g.mul(y).sum(dim, true))),
    },
    fused: (g, { y, dim }) => ({ input: softmaxBackward(g, y, dim, log, node) }),
  });
  return f;
}
export const softmax = softmaxOp('softmax');
export const logSoftmax = softmaxOp('logSoftmax');

// ---- any / all -----------------------------------------------------------------------------
function boolReduce<const N extends 'any' | 'all'>(name: N) {
  const f = op(
    name,
    [T.tensor('input'), p.dims('dim'), p.bool('keepdim', false)],
    `whether ${name === 'any' ? 'any element' : 'every element'} over dim (all dims when null) is nonzero, as bool`,
  );
  define(f, {
    // uint8 inputs give uint8 results, as PyTorch 1.13's.
    impl: ({ input, dim, keepdim }): Tensor => {
      const out = K.reduce(name === 'any' ? 'Any' : 'All', input, reduceDims(input, dim, name), keepdim, 'bool');
      return input.dtype === 'uint8' ? K.cast(out, 'uint8', name) : out;
    },
  });
  return f;
}
export const any = boolReduce('any');
export const all = boolReduce('all');

// ---- cumulative ops ----------------------------------------------------------------------------
type ScanName = 'cumsum' | 'cumprod' | 'cummax' | 'cummin' | 'logcumsumexp';

/** The scan kernel along normalised dim d (CPU-only: a CUDA tensor runs on a copy); x and the result share a dtype. */
function scanKernel(name: ScanName, x: Tensor, d: number): [Tensor, Tensor | null] {
  const cpu = K.toDevice(x, 'cpu', name);
  const x1 = cpu._shape.length === 0 ? cpu._view([1], [1]) : cpu;
  const out = K.output(x1._shape, x.dtype, name, 'cpu');
  const withIndices = name === 'cummax' || name === 'cummin';
  const indices = withIndices ? K.output(x1._shape, 'int64', name, 'cpu') : null;
  if (x1.numel() > 0) native.scanDim(name, x1._ref(), d, out._ref(), indices?._ref());
  const back = (t: Tensor) => K.toDevice(cpu._shape.length === 0 ? t._view([]) : t, x.device, name);
  return [back(out), indices && back(indices)];
}

/** The sums from each position to the end of dim d: cumsum's gradient (differentiable). */
function reverseCumsum(g: Tensor, d: number): Tensor {
  return g.sum(d, true).sub(g.cumsum(d)).add(g);
}

/** x reversed along dim d (differentiable: an indexSelect). */
function flipDim(x: Tensor, d: number): Tensor {
  const n = x._shape[d];
  const idx = K.output([n], 'int64', 'flip', 'cpu');
  const data = idx._storage.data as BigInt64Array;
  for (let i = 0; i < n; i++) data[i] = BigInt(n - 1 - i);
  return x.indexSelect(d, K.toDevice(idx, x.device, 'flip'));
}

/** Integers and bools accumulate in int64, as PyTorch's cumsum and cumprod. */
function scanDType(x: Tensor, dtype: DType | null): DType {
  return dtype ?? (isFloating(x.dtype) ? x.dtype : 'int64');
}

export const cumsum = op(
  'cumsum',
  [T.tensor('input'), p.int('dim'), p.kw(dtypeParam)],
  'running sums along dim; integers and bools sum in int64 (or the dtype given)',
);
define(cumsum, {
  node: 'CumsumBackward0',
  forward: ({ input, dim, dtype }) => {
    const d = normDim(dim, input._shape.length, 'cumsum');
    const x = K.cast(input, scanDType(input, dtype), 'cumsum');
    return { out: scanKernel('cumsum', x, d)[0], save: { d, nd: input._shape.length } };
  },
  grads: { input: (g, { d, nd }) => (nd === 0 ? g : reverseCumsum(g, d)) },
});

/**
 * cumprod's gradient when it is itself differentiated and x has zeros:
 * grad_k = sum_{j >= k} g_j prod_{m <= j, m != k} x_m, built for each k
 * from products that leave x_k out, O(n^2) as PyTorch's, so that every
 * factor keeps its derivative (the masks of the first-order formula
 * would drop the derivatives through the zeros).
 */
function cumprodBackwardTwice(g: Tensor, x: Tensor, d: number): Tensor {
  const n = x._shape[d];
  const ones = K.empty(keptShape(x._shape, [d]), x.dtype, 'cumprod', x.device).add(1);
  const parts: Tensor[] = [];
  for (let k = 0; k < n; k++) {
    const before = k === 0 ? ones : x.narrow(d, 0, k).prod(d, true);
    const after = k === n - 1 ? ones : cat([ones, x.narrow(d, k + 1, n - k - 1).cumprod(d)], d);
    parts.push(
      g
        .narrow(d, k, n - k)
        .mul(after.mul(before))
        .sum(d, true),
    );
  }
  return cat(parts, d);
}

export const cumprod = op(
  'cumprod',
  [T.tensor('input'), p.int('dim'), p.kw(dtypeParam)],
  'running products along dim; integers and bools multiply in int64 (or the dtype given)',
);
define(cumprod, {
  node: 'CumprodBackward0',
  forward: ({ input, dim, dtype }) => {
    const d = normDim(dim, input._shape.length, 'cumprod');
    const x = K.cast(input, scanDType(input, dtype), 'cumprod');
    // Note [Saved result].
    const result = scanKernel('cumprod', x, d)[0];
    return { out: result, save: { x, result, d } };
  },
  grads: {
    // d out_j / d x_i = prod_{k <= j, k != i} x_k for j >= i. Before a row's
    // first zero that is out_j / x_i; after it, every product has the zero;
    // at it, the products run over x with that zero taken as 1 (PyTorch's
    // cumprod_backward makes the same three cases).
    input: (g, { x, result, d }) => {
      if (x._shape.length === 0) return g;
      if (isGradEnabled() && x.eq(0).any().item()) return cumprodBackwardTwice(g, x, d);
      const zeros = x.eq(0);
      const seen = zeros.cumsum(d); // zeros at or before each place
      const before = seen.eq(0);
      const atFirst = zeros.logicalAnd(seen.eq(1));
      const safeX = where(before, x, 1);
      const head = reverseCumsum(g.mul(result), d).div(safeX);
      const prodsAt = where(atFirst, 1, x).cumprod(d);
      const first = reverseCumsum(g.mul(prodsAt).mul(before.logicalNot()), d);
      return where(before, head, where(atFirst, first, 0));
    },
  },
});

export const logcumsumexp = op(
  'logcumsumexp',
  [T.tensor('input'), p.int('dim')],
  'log(cumsum(exp(input))) along dim, computed stably; floating inputs',
);
define(logcumsumexp, {
  node: 'LogcumsumexpBackward0',
  forward: ({ input, dim }) => {
    if (!isFloating(input.dtype)) throw new TypeError(`logcumsumexp: expected a floating point tensor, got ${input.dtype}`);
    const d = normDim(dim, input._shape.length, 'logcumsumexp');
    // Note [Saved result].
    const result = scanKernel('logcumsumexp', input, d)[0];
    return { out: result, save: { x: input, result, d } };
  },
  grads: {
    // sum_{j >= i} g_j exp(x_i - out_j), with g split by sign and summed in
    // log space from the end, as PyTorch's logcumsumexp_backward.
    input: (g, { x, result, d }) => {
      if (x._shape.length === 0) return g;
      const lowest = x.dtype === 'float32' ? -3.4028234663852886e38 : -Number.MAX_VALUE;
      const logAbs = g.abs().log();
      const fromEnd = (t: Tensor) => flipDim(flipDim(t, d).logcumsumexp(d), d);
      const pos = fromEnd(where(g.gt(0), logAbs, lowest).sub(result))
        .add(x)
        .exp();
      const neg = fromEnd(where(g.lt(0), logAbs, lowest).sub(result))
        .add(x)
        .exp();
      return pos.sub(neg);
    },
  },
});

function cumExtremeOp<const N extends 'cummax' | 'cummin'>(name: N) {
  const f = op(
    name,
    [T.tensor('input'), p.int('dim')],
    `(values, indices) of the running ${name === 'cummax' ? 'maximum' : 'minimum'} along dim (a NaN stays; ties take the later index)`,
    returns<ValuesIndices>(),
  );
  define(f, {
    impl: ({ input, dim }): ValuesIndices => {
      const d = normDim(dim, input._shape.length, name);
      const [v, i] = scanKernel(name, input, d);
      return valuesIndices(name, picked(input, v, d, i!, true, name === 'cummax' ? 'CummaxBackward0' : 'CumminBackward0'), i!);
    },
  });
  return f;
}
export const cummax = cumExtremeOp('cummax');
export const cummin = cumExtremeOp('cummin');

export const cumsum_ = inplaceOf(cumsum);
export const cumprod_ = inplaceOf(cumprod);

// ---- varMean / stdMean / aminmax ----------------------------------------------------------------
/** (var, mean) of varMean, as a named tuple. */
export type VarMean = NamedTuple<readonly ['var', 'mean']>;
/** (std, mean) of stdMean, as a named tuple. */
export type StdMean = NamedTuple<readonly ['std', 'mean']>;

function momentsOp<const N extends 'varMean' | 'stdMean'>(name: N) {
  const isVar = name === 'varMean';
  const f = op(
    name,
    varParams,
    `(${isVar ? 'var' : 'std'}, mean) over dim in one call, with ${isVar ? 'var' : 'std'}'s correction / unbiased`,
    returns<N extends 'varMean' ? VarMean : StdMean>(),
  );
  define(f, {
    impl: ({ input, dim, unbiased, keepdim, correction }) => {
      const { dim: d, unbiased: u } = varDimArgs(name, dim, unbiased);
      const spread = (isVar ? variance : std)(input, d, { unbiased: u, keepdim, correction });
      const m = mean(input, reduceDims(input, d, name), keepdim);
      return (isVar ? namedTuple(null, ['var', 'mean'], spread, m) : namedTuple(null, ['std', 'mean'], spread, m)) as N extends 'varMean'
        ? VarMean
        : StdMean;
    },
  });
  return f;
}
/** varMean(input, dim, unbiased=True, keepdim=False, *, correction), or varMean(input, unbiased): (var, mean). */
export const varMean = unbiasedOverload('varMean', momentsOp('varMean'));
/** stdMean(input, dim, unbiased=True, keepdim=False, *, correction), or stdMean(input, unbiased): (std, mean). */
export const stdMean = unbiasedOverload('stdMean', momentsOp('stdMean'));

/** (min, max) of aminmax, as a named tuple. */
export type MinMax = NamedTuple<readonly ['min', 'max']>;
export const aminmax = op(
  'aminmax',
  [T.tensor('input'), p.kw(p.optInt('dim')), p.kw(p.bool('keepdim', false))],
  '(min, max) over dim (all elements when null) in one call',
  returns<MinMax>(),
);
define(aminmax, {
  impl: ({ input, dim, keepdim }): MinMax => {
    if (input.numel() === 0) throw new RangeError(`aminmax: cannot compute on an empty tensor of shape ${K.fmtShape(input._shape)}`);
    if (dim !== null) {
      const d = normDim(dim, input._shape.length, 'aminmax');
      if (input._shape.length > 0 && input._shape[d] === 0) throw new RangeError(`aminmax: cannot reduce over the zero-size dim ${d}`);
    }
    // All dims with keepdim keeps every dim as 1, as PyTorch's.
    const dims = dim === null ? [] : [dim];
    return namedTuple('aminmax', ['min', 'max'], amin(input, dims, keepdim), amax(input, dims, keepdim));
  },
});

// ---- nansum / nanmean ------------------------------------------------------------------------------
export const nansum = op(
  'nansum',
  [T.tensor('input'), p.dims('dim'), p.bool('keepdim', false), p.kw(dtypeParam)],
  'sum over dim (all dims when null or []) with NaN counted as 0',
);
define(nansum, {
  impl: ({ input, dim, keepdim, dtype }): Tensor => {
    const x = isFloating(input.dtype) ? where(input.isnan(), 0, input) : input;
    return sum(x, dim, keepdim, { dtype });
  },
});

export const nanmean = op(
  'nanmean',
  [T.tensor('input'), p.dims('dim'), p.bool('keepdim', false), p.kw(dtypeParam)],
  'mean over dim (all dims when null or []) of the non-NaN elements',
);
define(nanmean, {
  impl: ({ input, dim, keepdim, dtype }): Tensor => {
    if (!isFloating(dtype ?? input.dtype))
      throw new TypeError(`nanmean: expected a floating point tensor or dtype, got ${dtype ?? input.dtype}`);
    const kept = input.isnan().logicalNot();
    return nansum(input, dim, keepdim, { dtype }).div(kept.sum(dim, keepdim));
  },
});

// ---- the engine's gradient reduction ---------------------------------------------------------
/** @internal Sums broadcast dims away so self has `shape` (the autograd engine's g.sumToShape). */
export function sumToShape(self: Tensor, shape: readonly number[]): Tensor {
  return K.sumToShape(self, shape);
}
