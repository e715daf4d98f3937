// default_collate: turns a list of dataset items into one batch. Tensors
// stack along a new first dim, numbers become a 1-d tensor, equal-length
// typed arrays become one [B, L] tensor, and arrays / plain objects are
// collated position by position (key by key), as PyTorch does.
import { Tensor } from '../tensor.js';
import * as S from '../ops/join.js';
import { tensor, fromTypedArray } from '../ops/creation.js';
import type { TypedArray } from '../backend/native.js';
import { describe } from './dataset.js';

export type CollateFn<T = unknown, B = unknown> = (items: T[]) => B;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

function isKindlingTypedArray(x: unknown): x is TypedArray {
  return (
    x instanceof Float32Array ||
    x instanceof Float64Array ||
    x instanceof Int32Array ||
    x instanceof BigInt64Array ||
    x instanceof Uint8Array ||
    x instanceof Uint8ClampedArray
  );
}

/**
 * torch.utils.data.default_collate: one batch from a list of items. Tensors stack along a new first dim, numbers
 * become a 1-d tensor, equal-length typed arrays one [B, L] tensor, and arrays and plain objects are collated
 * position by position (key by key), as PyTorch does.
 */
export function defaultCollate(items: unknown[]): unknown {
  if (!Array.isArray(items) || items.length === 0) throw new TypeError('collate: expected a non-empty array of items');
  return collateAt(items, 'batch');
}

function collateAt(items: unknown[], where: string): unknown {
  const first = items[0];
  if (first instanceof Tensor) {
    items.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TypeError(`collate: ${where}[0] is a Tensor but ${where}[${i}] is ${describe(t)}`);
      if (t.dtype !== first.dtype) {
        throw new TypeError(
          `collate: ${where}[0] has dtype ${first.dtype} but ${where}[${i}] has dtype ${t.dtype}; cast them to one dtype in the dataset`,
        );
      }
    });
    return S.stack(items as Tensor[], 0);
  }
  if (typeof first === 'number' || typeof first === 'boolean' || typeof first === 'bigint') {
    items.forEach((v, i) => {
      if (typeof v !== typeof first) throw new TypeError(`collate: ${where}[0] is a ${typeof first} but ${where}[${i}] is ${describe(v)}`);
    });
    if (typeof first === 'number') {
      // PyTorch: Python ints give int64, floats give float64.
      const allInt = (items as number[]).every((v) => Number.isInteger(v));
      return tensor(items as number[], { dtype: allInt ? 'int64' : 'float64' });
    }
    return tensor(items as (boolean | bigint)[]);
  }
  if (isKindlingTypedArray(first)) {
    const Ctor = first.constructor as new (n: number) => TypedArray;
    const len = first.length;
    items.forEach((v, i) => {
      if (!(v instanceof Ctor)) throw new TypeError(`collate: ${where}[0] is a ${Ctor.name} but ${where}[${i}] is ${describe(v)}`);
      if ((v as TypedArray).length !== len) {
        throw new RangeError(
          `collate: ${where}[0] has length ${len} but ${where}[${i}] has length ${(v as TypedArray).length}; items must be equally long to batch`,
        );
      }
    });
    const out = new Ctor(len * items.length);
    for (let i = 0; i < items.length; i++) (out as Float32Array).set(items[i] as Float32Array, i * len);
    return fromTypedArray(out, [items.length, len]);
  }
  if (typeof first === 'string') {
    items.forEach((v, i) => {
      if (typeof v !== 'string') throw new TypeError(`collate: ${where}[0] is a string but ${where}[${i}] is ${describe(v)}`);
    });
    return items.slice();
  }
  if (Array.isArray(first)) {
    const len = first.length;
    items.forEach((v, i) => {
      if (!Array.isArray(v)) throw new TypeError(`collate: ${where}[0] is an array but ${where}[${i}] is ${describe(v)}`);
      if (v.length !== len)
        throw new RangeError(
          `collate: each element in the batch should be of equal size (${where}[0] has ${len} fields, ${where}[${i}] has ${v.length})`,
        );
    });
    const out = new Array<unknown>(len);
    for (let k = 0; k < len; k++)
      out[k] = collateAt(
        items.map((v) => (v as unknown[])[k]),
        `${where}[*][${k}]`,
      );
    return out;
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      out[key] = collateAt(
        items.map((v, i) => {
          if (!isPlainObject(v) || !(key in v)) throw new TypeError(`collate: ${where}[${i}] has no key '${key}' that ${where}[0] has`);
          return v[key];
        }),
        `${where}[*].${key}`,
      );
    }
    return out;
  }
  throw new TypeError(
    `collate: default collate cannot batch ${describe(first)} (${where}[0]); items may be Tensors, numbers, booleans, ` +
      'typed arrays, strings, or arrays / plain objects of those. Pass a collateFn to batch anything else',
  );
}
