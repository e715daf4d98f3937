// Ops that are torch functions but not Tensor methods (Note [Method
// modules] in tensor_methods.ts), each declared once (lib/ops/op.ts):
// joining a list of tensors (cat, concat, stack), and where(condition,
// input, other), whose first parameter is the condition. PyTorch's
// Tensor.where(condition, other) binds self to the second parameter; it is
// not offered, as before.
import { Tensor, normDim } from '../tensor.js';
import { aliasOf, define, op, tensorParam as T } from './op.js';
import { param as p } from '../util/args.js';
import * as K from './kernels.js';
import { native, makeRef } from '../backend/native.js';
import { promoteTypes } from '../dtype.js';
import { unsqueeze } from './shape.js';

/** PyTorch's legacy empty tensor: a 1-d [0] joins anything (and is skipped). */
const isLegacyEmpty = (t: Tensor) => t._shape.length === 1 && t._shape[0] === 0;

export const cat = op('cat', [T.tensors('tensors'), p.int('dim', 0)], 'tensors joined along dim (same sizes in the other dims)');
define(cat, {
  node: 'CatBackward0',
  forward: ({ tensors, dim }) => {
    if (tensors.length === 0) throw new TypeError('cat: expected a non-empty array of Tensors');
    // The copies below would move data across devices without complaint.
    K.sameDeviceAll('cat', tensors);
    const parts = tensors.filter((t) => !isLegacyEmpty(t));
    const first = parts[0] ?? tensors[0];
    if (first._shape.length === 0) throw new RangeError('cat: zero-dimensional tensor (at position 0) cannot be concatenated');
    const d = normDim(dim, first._shape.length, 'cat');
    for (const [i, t] of tensors.entries()) {
      if (isLegacyEmpty(t)) continue;
      if (t._shape.length !== first._shape.length || t._shape.some((s, k) => k !== d && s !== first._shape[k])) {
        throw new RangeError(
          `cat: sizes of tensors must match except in dimension ${d}: expected ${K.fmtShape(first._shape)} but got ${K.fmtShape(t._shape)} for tensor ${i}`,
        );
      }
    }
    let dtype = tensors[0].dtype;
    for (const t of tensors) dtype = promoteTypes(dtype, t.dtype);
    const shape = first._shape.slice();
    shape[d] = parts.reduce((n, t) => n + t._shape[d], 0);
    const out = K.empty(shape, dtype, 'cat', first.device);
    let at = 0;
    for (const t of parts) {
      const len = t._shape[d];
      const s = out._shape.slice();
      s[d] = len;
      if (len > 0) native.copy(t._ref(), makeRef(out._storage.data, at * out._strides[d], s, out._strides));
      at += len;
    }
    // The gradient needs only each input's extent along dim (-1: a legacy empty one).
    return { out, save: { sizes: tensors.map((t) => (isLegacyEmpty(t) ? -1 : t._shape[d])), dim: d } };
  },
  grads: {
    tensors: (g, { sizes, dim }) => {
      let at = 0;
      return sizes.map((len) => {
        if (len < 0) return g.narrow(dim, at, 0).reshape([0]);
        const r = g.narrow(dim, at, len);
        at += len;
        return r;
      });
    },
  },
});

export const concat = aliasOf(cat, 'concat');

export const stack = op('stack', [T.tensors('tensors'), p.int('dim', 0)], 'tensors of one shape joined along a new dim');
define(stack, {
  impl: ({ tensors, dim }): Tensor => {
    if (tensors.length === 0) throw new TypeError('stack: expected a non-empty array of Tensors');
    const first = tensors[0];
    tensors.forEach((t, i) => {
      if (t._shape.join() !== first._shape.join()) {
        throw new RangeError(
          `stack: expects each tensor to be equal size, but got ${K.fmtShape(first._shape)} at entry 0 and ${K.fmtShape(t._shape)} at entry ${i}`,
        );
      }
    });
    const d = normDim(dim, first._shape.length + 1, 'stack');
    return cat(
      tensors.map((t) => unsqueeze(t, d)),
      d,
    );
  },
});

export const where = op(
  'where',
  [T.tensor('condition'), T.tensorOrScalar('input'), T.tensorOrScalar('other')],
  'input where condition is true, else other (broadcast and promoted)',
);
define(where, {
  node: 'WhereBackward0',
  forward: ({ condition: cond, input: a, other: b }) => {
    if (cond.dtype !== 'bool' && cond.dtype !== 'uint8') throw new TypeError(`where: condition must be a bool tensor, got ${cond.dtype}`);
    const dt = K.binaryDType(a, b);
    // Numbers become 0-d tensors on the tensors' device; a 0-d CPU tensor
    // joins a CUDA one, as in binary ops (kernels.ts onOneDevice).
    const dev = a instanceof Tensor ? a.device : b instanceof Tensor ? b.device : cond.device;
    const scalar = (v: Tensor | number | boolean): Tensor => {
      if (!(v instanceof Tensor)) return K.binary('Add', K.empty([], dt, 'where', dev), Number(v), dt);
      return v.device !== dev && v.device === 'cpu' && v._shape.length === 0 ? K.toDevice(v, dev, 'where') : v;
    };
    const ta = scalar(a),
      tb = scalar(b);
    K.sameDevice('where', cond, ta, tb);
    const shape = K.broadcastShapes(K.broadcastShapes(cond._shape, ta._shape, 'where'), tb._shape, 'where');
    const out = K.output(shape, dt, 'where', dev);
    native.where(
      K.broadcastRef(K.cast(cond, 'bool'), shape),
      K.broadcastRef(K.cast(ta, dt), shape),
      K.broadcastRef(K.cast(tb, dt), shape),
      out._ref(),
    );
    // Only the condition is needed for the gradients.
    return { out, save: cond };
  },
  grads: {
    input: (g, cond) => where(cond, g, 0),
    other: (g, cond) => where(cond, 0, g),
  },
});
