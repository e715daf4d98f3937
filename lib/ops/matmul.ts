// Matrix products, each declared once (lib/ops/op.ts). All go through one
// native kernel over 3-d views [batch, rows, cols]; broadcast batch dims
// become stride 0 where they can. Gradients are products again (written
// with ops, so createGraph differentiates them twice). A method module
// (Note [Method modules] in tensor_methods.ts): every export is a Tensor
// method and torch.x.
import type { Tensor } from '../tensor.js';
import { aliasOf, define, op, tensorParam as T, type Saving } from './op.js';
import { param as p } from '../util/args.js';
import * as K from './kernels.js';
import { native, makeRef } from '../backend/native.js';
import { isFloating } from '../dtype.js';
import type { Ref } from '../backend/native.js';

function checkFloat(a: Tensor, b: Tensor, op: string): void {
  if (a.device !== b.device) throw K.deviceMismatch(op, a.device, b.device);
  if (a.dtype !== b.dtype) {
    throw new TypeError(`${op}: expected both tensors to have the same dtype, but got ${a.dtype} and ${b.dtype}`);
  }
  if (a.dtype === 'bool') throw new TypeError(`${op}: not implemented for bool tensors`);
}

/** The strides of t's batch dims once broadcast to `batch` (0 where broadcast). */
function batchStrides(t: Tensor, batch: number[]): number[] {
  const k = t._shape.length - 2;
  const bs: number[] = [];
  for (let i = 0; i < batch.length; i++) {
    const j = i - (batch.length - k);
    bs.push(j < 0 || t._shape[j] === 1 ? 0 : t._strides[j]);
  }
  return bs;
}

/**
 * The single stride that walks batch dims [from, to) of `batch` row-major,
 * given each dim's stride `bs`, or null when there is none.
 */
function collapse(bs: number[], batch: number[], from: number, to: number): number | null {
  const dims: number[] = [];
  for (let i = from; i < to; i++) if (batch[i] !== 1) dims.push(i);
  if (dims.every((i) => bs[i] === 0)) return 0;
  for (let n = 0; n + 1 < dims.length; n++) if (bs[dims[n]] !== bs[dims[n + 1]] * batch[dims[n + 1]]) return null;
  return bs[dims[dims.length - 1]];
}

/**
 * A [B, rows, cols] ref of t (batch dims broadcast to `batch`), or null
 * when its batch dims cannot be described with a single stride.
 */
function as3d(t: Tensor, batch: number[]): Ref | null {
  const nd = t._shape.length;
  const stride = collapse(batchStrides(t, batch), batch, 0, batch.length);
  if (stride === null) return null;
  return makeRef(
    t._storage.data,
    t._offset,
    [K.numelOf(batch), t._shape[nd - 2], t._shape[nd - 1]],
    [stride, t._strides[nd - 2], t._strides[nd - 1]],
  );
}

/**
 * [B1, B2, rows, cols] refs of a and b, the batch dims split at the same
 * place into two groups that each walk with one stride, or null. Heads
 * taken from [B, S, H, D] by a transpose ([B, H, S, D], strides
 * [S*H*D, D, H*D, 1]) have no single batch stride but split this way, so
 * the native GEMM reads them in place instead of from a contiguous copy.
 */
function as4d(a: Tensor, b: Tensor, batch: number[]): [Ref, Ref] | null {
  const sa = batchStrides(a, batch),
    sb = batchStrides(b, batch);
  for (let at = 1; at < batch.length; at++) {
    const strides = [
      collapse(sa, batch, 0, at),
      collapse(sa, batch, at, batch.length),
      collapse(sb, batch, 0, at),
      collapse(sb, batch, at, batch.length),
    ];
    if (strides.some((x) => x === null)) continue;
    const outer = K.numelOf(batch.slice(0, at)),
      inner = K.numelOf(batch.slice(at));
    const ref = (t: Tensor, os: number, is: number): Ref => {
      const nd = t._shape.length;
      return makeRef(
        t._storage.data,
        t._offset,
        [outer, inner, t._shape[nd - 2], t._shape[nd - 1]],
        [os, is, t._strides[nd - 2], t._strides[nd - 1]],
      );
    };
    return [ref(a, strides[0]!, strides[1]!), ref(b, strides[2]!, strides[3]!)];
  }
  return null;
}

/** Whether a 2-D t is the transpose of a contiguous matrix (and not itself contiguous). */
function isTransposed(t: Tensor): boolean {
  const sh = t._shape,
    st = t._strides;
  return sh.length === 2 && sh[0] > 1 && sh[1] > 1 && st[0] === 1 && st[1] === sh[0];
}

/** out[..., M, N] = a[..., M, K] @ b[..., K, N], batch dims broadcast. */
function bmmKernel(a: Tensor, b: Tensor): Tensor {
  // Integer products run through the float64 GEMM (exact below 2^53).
  if (!isFloating(a.dtype)) return K.cast(bmmKernel(K.cast(a, 'float64', 'matmul'), K.cast(b, 'float64', 'matmul')), a.dtype, 'matmul');
  const batch = K.broadcastShapes(a._shape.slice(0, -2), b._shape.slice(0, -2), 'matmul');
  const M = a._shape[a._shape.length - 2],
    N = b._shape[b._shape.length - 1];
  const out = K.output([...batch, M, N], a.dtype, 'matmul', a.device);
  let ar = as3d(a, batch),
    br = as3d(b, batch);
  if ((ar === null || br === null) && a.device === 'cpu') {
    // The CPU kernel also takes two batch levels (see as4d).
    const refs = as4d(a, b, batch);
    if (refs !== null) {
      const at = refs[0][2];
      native.matmul(refs[0], refs[1], makeRef(out._storage.data, 0, [at[0], at[1], M, N], [at[1] * M * N, M * N, N, 1]));
      return out;
    }
  }
  ar ??= as3d(K.contiguous(a.expand([...batch, ...a._shape.slice(-2)]), 'matmul'), batch)!;
  br ??= as3d(K.contiguous(b.expand([...batch, ...b._shape.slice(-2)]), 'matmul'), batch)!;
  const B = K.numelOf(batch);
  native.matmul(ar, br, makeRef(out._storage.data, 0, [B, M, N], [M * N, N, 1]));
  return out;
}

/**
 * What a product's backward reads: each operand only where the other's
 * gradient is wanted (PyTorch saves no more), and whether each is stored
 * transposed.
 */
interface ProductSaved {
  a: Tensor | null;
  b: Tensor | null;
  aT: boolean;
  bT: boolean;
  /** Whether mat2 is a plain matrix (no batch dims). */
  b2d: boolean;
}

function product(a: Tensor, b: Tensor): Saving<ProductSaved> {
  return {
    out: bmmKernel(a, b),
    save: { a: b.requiresGrad ? a : null, b: a.requiresGrad ? b : null, aT: isTransposed(a), bT: isTransposed(b), b2d: b.ndim === 2 },
  };
}

function shapeError(op: string, a: Tensor, b: Tensor, k1: number, k2: number): RangeError {
  return new RangeError(`${op}: shapes ${K.fmtShape(a._shape)} and ${K.fmtShape(b._shape)} cannot be multiplied (${k1} != ${k2})`);
}

/**
 * A product op over (input, mat2): `check` refuses what the op does not
 * take, then one kernel call. Batch dims broadcast in the forward are
 * summed away by the engine.
 */
function productOp<const N extends string>(name: N, node: string, doc: string, check: (a: Tensor, b: Tensor) => void) {
  const f = op(name, [T.tensor('input'), T.tensor('mat2')], doc);
  define(f, {
    node,
    forward: ({ input, mat2 }) => {
      check(input, mat2);
      return product(input, mat2);
    },
    // As PyTorch's mm_mat1/mat2_backward: an input stored transposed
    // (linear's weight.t()) gets its gradient computed transposed, so it
    // comes back in the input's own layout and AccumulateGrad's copy of it
    // is a straight memcpy instead of a transposing one.
    //
    // A 2-D mat2 shared by a batched input (a linear layer on [N, S, E])
    // gets its gradient from one 2-D product over the flattened batch, as
    // PyTorch's matmul folds it, instead of a product per batch entry and
    // a sum over them (which cost a Transformer step most of its time).
    grads: {
      input: (g, s) => (s.aT ? s.b!.matmul(g.transpose(-1, -2)).transpose(-1, -2) : g.matmul(s.b!.transpose(-1, -2))),
      mat2: (g, s) => {
        if (s.b2d && s.a!.ndim > 2) {
          const a2 = s.a!.reshape([-1, s.a!._shape[s.a!.ndim - 1]]),
            g2 = g.reshape([-1, g._shape[g.ndim - 1]]);
          return s.bT ? g2.t().mm(a2).t() : a2.t().mm(g2);
        }
        return s.bT ? g.transpose(-1, -2).matmul(s.a!).transpose(-1, -2) : s.a!.transpose(-1, -2).matmul(g);
      },
    },
  });
  return f;
}

function checkMatrices(op: string, a: Tensor, b: Tensor): void {
  if (a._shape.length !== 2 || b._shape.length !== 2) {
    throw new RangeError(`${op}: expected 2-D tensors, got shapes ${K.fmtShape(a._shape)} and ${K.fmtShape(b._shape)}`);
  }
  if (a._shape[1] !== b._shape[0]) throw shapeError(op, a, b, a._shape[1], b._shape[0]);
  checkFloat(a, b, op);
}

export const mm = productOp('mm', 'MmBackward0', 'matrix product of two 2-D tensors', (a, b) => checkMatrices('mm', a, b));

export const bmm = productOp('bmm', 'BmmBackward0', 'batched matrix product of two 3-D tensors with the same batch size', (a, b) => {
  if (a._shape.length !== 3 || b._shape.length !== 3) {
    throw new RangeError(`bmm: expected 3-D tensors, got shapes ${K.fmtShape(a._shape)} and ${K.fmtShape(b._shape)}`);
  }
  if (a._shape[0] !== b._shape[0]) throw new RangeError(`bmm: batch sizes differ: ${a._shape[0]} and ${b._shape[0]}`);
  if (a._shape[2] !== b._shape[1]) throw shapeError('bmm', a, b, a._shape[2], b._shape[1]);
  checkFloat(a, b, 'bmm');
});

// matmul's product of operands with batch dims (broadcast), checked by matmul.
const batchedMatmul = productOp('matmul', 'BmmBackward0', 'batched matrix product, batch dims broadcast', () => {});

export const dot = op('dot', [T.tensor('input'), T.tensor('tensor')], 'inner product of two 1-D tensors');
define(dot, {
  node: 'DotBackward0',
  forward: ({ input: a, tensor: b }) => {
    if (a._shape.length !== 1 || b._shape.length !== 1) {
      throw new RangeError(`dot: 1D tensors expected, but got ${a._shape.length}D and ${b._shape.length}D tensors`);
    }
    if (a._shape[0] !== b._shape[0]) {
      throw new RangeError(
        `dot: inconsistent tensor size, expected tensor [${a._shape[0]}] and src [${b._shape[0]}] to have the same number of elements`,
      );
    }
    checkFloat(a, b, 'dot');
    const out = bmmKernel(a._view([1, a._shape[0]], [0, a._strides[0]]), b._view([b._shape[0], 1], [b._strides[0], 0]))._view([]);
    return { out, save: { a: b.requiresGrad ? a : null, b: a.requiresGrad ? b : null } };
  },
  grads: { input: (g, s) => s.b!.mul(g), tensor: (g, s) => s.a!.mul(g) },
});

export const matmul = op(
  'matmul',
  [T.tensor('input'), T.tensor('other')],
  'matrix product: 1-D operands are vectors, batch dims broadcast',
);
define(matmul, {
  impl: ({ input: a, other: b }): Tensor => {
    const na = a._shape.length,
      nb = b._shape.length;
    if (na === 0 || nb === 0) throw new RangeError('matmul: both arguments need to be at least 1D');
    checkFloat(a, b, 'matmul');
    const ka = a._shape[na - 1];
    const kb = nb === 1 ? b._shape[0] : b._shape[nb - 2];
    if (ka !== kb) throw shapeError('matmul', a, b, ka, kb);
    if (na === 1 && nb === 1) return dot(a, b);
    if (na === 2 && nb === 2) return mm(a, b);
    // Vectors become matrices for the product and lose that dim after.
    const a2 = na === 1 ? a.unsqueeze(0) : a;
    const b2 = nb === 1 ? b.unsqueeze(1) : b;
    let out = na <= 2 && nb <= 2 ? mm(a2, b2) : batchedMatmul(a2, b2);
    if (na === 1) out = out.squeeze(-2);
    if (nb === 1) out = out.squeeze(-1);
    return out;
  },
});

export const mv = op('mv', [T.tensor('input'), T.tensor('vec')], 'product of a 2-D matrix and a 1-D vector');
define(mv, {
  impl: ({ input: a, vec: v }): Tensor => {
    if (a._shape.length !== 2 || v._shape.length !== 1)
      throw new RangeError(`mv: expected a 2-D matrix and a 1-D vector, got ${K.fmtShape(a._shape)} and ${K.fmtShape(v._shape)}`);
    if (a._shape[1] !== v._shape[0]) throw shapeError('mv', a, v, a._shape[1], v._shape[0]);
    return matmul(a, v);
  },
});

// ---- outer products and the add-products (beta * input + alpha * product) ----------------------
export const outer = op(
  'outer',
  [T.tensor('input'), T.tensor('vec2')],
  'the outer product of two 1-D tensors: out[i][j] = input[i] * vec2[j]',
);
define(outer, {
  impl: ({ input, vec2 }): Tensor => {
    if (input._shape.length !== 1 || vec2._shape.length !== 1)
      throw new RangeError(`outer: expected 1-D tensors, got shapes ${K.fmtShape(input._shape)} and ${K.fmtShape(vec2._shape)}`);
    return input.reshape([input._shape[0], 1]).mul(vec2.reshape([1, vec2._shape[0]]));
  },
});
export const ger = aliasOf(outer, 'ger');

function checkScales(op: string, dtype: Tensor['dtype'], beta: number, alpha: number): void {
  if (!isFloating(dtype) && (!Number.isInteger(beta) || !Number.isInteger(alpha)))
    throw new TypeError(`${op}: beta and alpha must be integers for ${dtype} tensors, got ${beta} and ${alpha}`);
}

/**
 * beta * input + alpha * product, input broadcast to the product's shape;
 * with beta 0 input is ignored (its NaNs too), as in PyTorch.
 */
function addScaled(op: string, input: Tensor, prod: Tensor, beta: number, alpha: number): Tensor {
  if (input.device !== prod.device) throw K.deviceMismatch(op, input.device, prod.device);
  const shape = K.broadcastShapes(input._shape, prod._shape, op);
  if (shape.join() !== prod._shape.join())
    throw new RangeError(`${op}: input ${K.fmtShape(input._shape)} does not broadcast to the product's shape ${K.fmtShape(prod._shape)}`);
  checkScales(op, prod.dtype, beta, alpha);
  const p = alpha === 1 ? prod : prod.mul(alpha);
  if (beta === 0) return p;
  return (beta === 1 ? input : input.mul(beta)).add(p);
}

const scales = [p.kw(p.float('beta', 1)), p.kw(p.float('alpha', 1))] as const;

export const addmm = op(
  'addmm',
  [T.tensor('input'), T.tensor('mat1'), T.tensor('mat2'), ...scales],
  'beta * input + alpha * (mat1 @ mat2), for 2-D mat1 and mat2',
);

/** What addmm's backward reads: the product's operands (as ProductSaved) and the two scales. */
interface AddmmSaved extends ProductSaved {
  beta: number;
  alpha: number;
}

const scaled = (t: Tensor, k: number): Tensor => (k === 1 ? t : t.mul(k));

// One node (AddmmBackward0, as PyTorch's, which nn.Linear records on 2-D
// input) and one output buffer: the GEMM writes it, then input is added in
// place, where a composite would allocate the product and the sum apart.
define(addmm, {
  node: 'AddmmBackward0',
  forward: ({ input, mat1, mat2, beta, alpha }) => {
    checkMatrices('addmm', mat1, mat2);
    if (input.device !== mat1.device) throw K.deviceMismatch('addmm', input.device, mat1.device);
    if (input.dtype !== mat1.dtype)
      throw new TypeError(`addmm: input and mat1 must have the same dtype, but got ${input.dtype} and ${mat1.dtype}`);
    const shape = [mat1._shape[0], mat2._shape[1]];
    if (K.broadcastShapes(input._shape, shape, 'addmm').join() !== shape.join())
      throw new RangeError(`addmm: input ${K.fmtShape(input._shape)} does not broadcast to the product's shape ${K.fmtShape(shape)}`);
    checkScales('addmm', input.dtype, beta, alpha);
    // alpha 0 skips the product, NaNs and all, as BLAS (and so PyTorch) does.
    const out = alpha === 0 ? K.empty(shape, input.dtype, 'addmm', input.device) : bmmKernel(mat1, mat2);
    if (alpha !== 1 && alpha !== 0) native.binaryScalar(K.B.Mul, out._ref(), alpha, false, out._ref());
    // beta 0 ignores input, its NaNs too.
    if (beta !== 0) {
      const add = beta === 1 ? input : K.binary('Mul', input, beta);
      native.binary(K.B.Add, out._ref(), K.broadcastRef(add, shape), out._ref());
    }
    const save: AddmmSaved = {
      a: mat2.requiresGrad ? mat1 : null,
      b: mat1.requiresGrad ? mat2 : null,
      aT: isTransposed(mat1),
      bT: isTransposed(mat2),
      b2d: true,
      beta,
      alpha,
    };
    return { out, save };
  },
  // derivatives.yaml: input beta * grad (the engine sums it to input's
  // shape), mat1 and mat2 as mm's (mm_mat1/mat2_backward) times alpha.
  grads: {
    input: (g, s) => (s.beta === 1 ? g : g.mul(s.beta)),
    mat1: (g, s) => scaled(s.aT ? mm(s.b!, g.t()).t() : mm(g, s.b!.t()), s.alpha),
    mat2: (g, s) => scaled(s.bT ? mm(g.t(), s.a!).t() : mm(s.a!.t(), g), s.alpha),
  },
});

export const baddbmm = op(
  'baddbmm',
  [T.tensor('input'), T.tensor('batch1'), T.tensor('batch2'), ...scales],
  'beta * input + alpha * bmm(batch1, batch2), for 3-D batch1 and batch2',
);
define(baddbmm, {
  impl: ({ input, batch1, batch2, beta, alpha }): Tensor => addScaled('baddbmm', input, bmm(batch1, batch2), beta, alpha),
});

export const addbmm = op(
  'addbmm',
  [T.tensor('input'), T.tensor('batch1'), T.tensor('batch2'), ...scales],
  'beta * input + alpha * (the sum over the batch of bmm(batch1, batch2))',
);
define(addbmm, {
  impl: ({ input, batch1, batch2, beta, alpha }): Tensor => addScaled('addbmm', input, bmm(batch1, batch2).sum(0), beta, alpha),
});

export const addmv = op(
  'addmv',
  [T.tensor('input'), T.tensor('mat'), T.tensor('vec'), ...scales],
  'beta * input + alpha * (mat @ vec), for a 2-D mat and a 1-D vec',
);
define(addmv, { impl: ({ input, mat, vec, beta, alpha }): Tensor => addScaled('addmv', input, mv(mat, vec), beta, alpha) });

export const addr = op(
  'addr',
  [T.tensor('input'), T.tensor('vec1'), T.tensor('vec2'), ...scales],
  'beta * input + alpha * outer(vec1, vec2)',
);
define(addr, { impl: ({ input, vec1, vec2, beta, alpha }): Tensor => addScaled('addr', input, outer(vec1, vec2), beta, alpha) });
