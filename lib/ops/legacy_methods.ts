// Transitional: the methods of op families not yet declared with op()
// (lib/ops/op.ts), as functions taking self first. Each line goes away when
// its op's declaration moves into its family's method module.
import type { Tensor, TensorOrScalar, DimOptions } from '../tensor.js';
import { sizeArgs } from '../tensor.js';
import * as K from './kernels.js';
import * as Rd from './reduce.js';
import * as S from './shape.js';
import * as M from './matmul.js';
import * as I from './indexing.js';

type VarOptions = { unbiased?: boolean; correction?: number; keepdim?: boolean };

// ---- reductions --------------------------------------------------------------------
export function sum(self: Tensor, dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.sum(self, dim, opts); }
export function mean(self: Tensor, dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.mean(self, dim, opts); }
export function prod(self: Tensor, dim?: number | null, opts?: DimOptions): Tensor { return Rd.prod(self, dim, opts); }
function variance(self: Tensor, dim?: number | number[] | null, opts?: VarOptions): Tensor { return Rd.variance(self, dim, opts); }
export { variance as var };
export function std(self: Tensor, dim?: number | number[] | null, opts?: VarOptions): Tensor { return Rd.std(self, dim, opts); }
export function max(self: Tensor): Tensor;
export function max(self: Tensor, dim: number, opts?: DimOptions): { values: Tensor; indices: Tensor };
export function max(self: Tensor, other: Tensor): Tensor;
export function max(self: Tensor, dim?: number | Tensor, opts?: DimOptions): Tensor | { values: Tensor; indices: Tensor } { return Rd.max(self, dim as number, opts); }
export function min(self: Tensor): Tensor;
export function min(self: Tensor, dim: number, opts?: DimOptions): { values: Tensor; indices: Tensor };
export function min(self: Tensor, other: Tensor): Tensor;
export function min(self: Tensor, dim?: number | Tensor, opts?: DimOptions): Tensor | { values: Tensor; indices: Tensor } { return Rd.min(self, dim as number, opts); }
export function amax(self: Tensor, dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.amax(self, dim, opts); }
export function amin(self: Tensor, dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.amin(self, dim, opts); }
export function argmax(self: Tensor, dim?: number | null, opts?: DimOptions): Tensor { return Rd.argmax(self, dim, opts); }
export function argmin(self: Tensor, dim?: number | null, opts?: DimOptions): Tensor { return Rd.argmin(self, dim, opts); }
export function logsumexp(self: Tensor, dim: number | number[], opts?: DimOptions): Tensor { return Rd.logsumexp(self, dim, opts); }
export function norm(self: Tensor, p?: number | 'fro', dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.norm(self, p, dim, opts); }
export function softmax(self: Tensor, dim: number): Tensor { return Rd.softmax(self, dim); }
export function logSoftmax(self: Tensor, dim: number): Tensor { return Rd.logSoftmax(self, dim); }
export function any(self: Tensor, dim?: number, opts?: DimOptions): Tensor { return Rd.any(self, dim, opts); }
export function all(self: Tensor, dim?: number, opts?: DimOptions): Tensor { return Rd.all(self, dim, opts); }
/** @internal Sums broadcast dims away (the engine's gradient reduction). */
export function sumToShape(self: Tensor, shape: readonly number[]): Tensor { return K.sumToShape(self, shape); }

// ---- shape -------------------------------------------------------------------------
export function view(self: Tensor, ...size: (number | number[])[]): Tensor { return S.view(self, sizeArgs(size, 'view')); }
export function reshape(self: Tensor, ...size: (number | number[])[]): Tensor { return S.reshape(self, sizeArgs(size, 'reshape')); }
export function viewAs(self: Tensor, other: Tensor): Tensor { return S.view(self, other._shape.slice()); }
export function flatten(self: Tensor, startDim = 0, endDim = -1): Tensor { return S.flatten(self, startDim, endDim); }
export function unflatten(self: Tensor, dim: number, sizes: number[]): Tensor { return S.unflatten(self, dim, sizes); }
export function unsqueeze(self: Tensor, dim: number): Tensor { return S.unsqueeze(self, dim); }
export function squeeze(self: Tensor, dim?: number | number[]): Tensor { return S.squeeze(self, dim); }
export function transpose(self: Tensor, dim0: number, dim1: number): Tensor { return S.transpose(self, dim0, dim1); }
export function t(self: Tensor): Tensor {
  const n = self._shape.length;
  if (n > 2) throw new RangeError(`t: expects a tensor with <= 2 dimensions, but self is ${n}D`);
  return n < 2 ? S.transpose(self, 0, 0) : S.transpose(self, 0, 1);
}
export function permute(self: Tensor, ...dims: (number | number[])[]): Tensor { return S.permute(self, sizeArgs(dims, 'permute')); }
export function expand(self: Tensor, ...size: (number | number[])[]): Tensor { return S.expand(self, sizeArgs(size, 'expand')); }
export function expandAs(self: Tensor, other: Tensor): Tensor { return S.expand(self, other._shape.slice()); }
export function contiguous(self: Tensor): Tensor { return self.isContiguous() ? self : S.contiguous(self); }
export function clone(self: Tensor): Tensor { return S.clone(self); }
export function narrow(self: Tensor, dim: number, start: number, length: number): Tensor { return S.narrow(self, dim, start, length); }
export function select(self: Tensor, dim: number, index: number): Tensor { return S.select(self, dim, index); }
export function chunk(self: Tensor, chunks: number, dim = 0): Tensor[] { return S.chunk(self, chunks, dim); }
export function split(self: Tensor, splitSize: number | number[], dim = 0): Tensor[] { return S.split(self, splitSize, dim); }
export function unbind(self: Tensor, dim = 0): Tensor[] { return S.unbind(self, dim); }
export function repeat(self: Tensor, ...sizes: (number | number[])[]): Tensor { return S.repeat(self, sizeArgs(sizes, 'repeat')); }

// ---- indexing ----------------------------------------------------------------------
export function index(self: Tensor, ...idx: I.Index[]): Tensor { return I.index(self, idx); }
/** Python's `x[idx] = value`: idx is the tuple of indices, as in index(). */
export function indexPut_(self: Tensor, idx: I.Index[], value: TensorOrScalar): Tensor { I.indexPut_(self, Array.isArray(idx) ? idx : [idx], value); return self; }
export function indexSelect(self: Tensor, dim: number, index: Tensor | number[]): Tensor { return I.indexSelect(self, dim, index); }
export function gather(self: Tensor, dim: number, index: Tensor): Tensor { return I.gather(self, dim, index); }
export function scatterAdd(self: Tensor, dim: number, index: Tensor, src: Tensor): Tensor { return I.scatterAdd(self, dim, index, src); }
export function maskedFill(self: Tensor, mask: Tensor, value: number): Tensor { return I.maskedFill(self, mask, value); }

// ---- linear algebra ----------------------------------------------------------------
export function matmul(self: Tensor, other: Tensor): Tensor { return M.matmul(self, other); }
export function mm(self: Tensor, other: Tensor): Tensor { return M.mm(self, other); }
export function bmm(self: Tensor, other: Tensor): Tensor { return M.bmm(self, other); }
export function dot(self: Tensor, other: Tensor): Tensor { return M.dot(self, other); }
export function mv(self: Tensor, other: Tensor): Tensor { return M.mv(self, other); }
