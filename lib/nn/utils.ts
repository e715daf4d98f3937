// nn.utils: gradient clipping and the flat-vector view of parameters
// (PyTorch's torch.nn.utils.clip_grad and convert_parameters).
import { Tensor } from '../tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { zeros } from '../ops/creation.js';
import { cat, stack } from '../ops/join.js';
import { bindOptions, fmtValue, late, as, param } from '../util/args.js';

/** nn.utils.rnn: padSequence, packPaddedSequence, padPackedSequence, PackedSequence, ... (PyTorch's torch.nn.utils.rnn). */
export * as rnn from './rnn_utils.js';

const TENSORS = late(param.custom('parameters', 'Tensor | Iterable[Tensor]', as<Tensor | Iterable<Tensor>>));
const CLIP_GRAD_NORM = [
  TENSORS,
  late(param.custom('maxNorm', 'float', as<number>)),
  late(param.custom('normType', 'float', as<number | 'inf'>, 2)),
  late(param.custom('errorIfNonfinite', 'bool', as<boolean>, false)),
] as const;
const CLIP_GRAD_VALUE = [TENSORS, late(param.custom('clipValue', 'float', as<number>))] as const;
const TO_VECTOR = [late(param.custom('parameters', 'Iterable[Tensor]', as<Iterable<Tensor>>))] as const;
const FROM_VECTOR = [
  late(param.custom('vec', 'Tensor', as<Tensor>)),
  late(param.custom('parameters', 'Iterable[Tensor]', as<Iterable<Tensor>>)),
] as const;

type TensorOrTensors = Tensor | Iterable<Tensor>;

/** One Tensor or an iterable of them (an array, model.parameters(), a generator), read once. */
function tensorList(op: string, v: unknown, single: boolean): Tensor[] {
  if (single && v instanceof Tensor) return [v];
  if (v === null || v === undefined || typeof (v as Iterable<unknown>)[Symbol.iterator] !== 'function' || typeof v === 'string') {
    throw new TypeError(`${op}: parameters must be ${single ? 'a Tensor or ' : ''}an iterable of Tensors, got ${fmtValue(v)}`);
  }
  if (v instanceof Tensor) throw new TypeError(`${op}: parameters must be an iterable of Tensors, got a Tensor`);
  const out: Tensor[] = [];
  for (const t of v as Iterable<unknown>) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: parameters must hold Tensors, got ${fmtValue(t)} at position ${out.length}`);
    out.push(t);
  }
  return out;
}

function checkNumber(op: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${op}: ${name} must be a number, got ${fmtValue(v)}`);
}

/**
 * Scales the gradients of `parameters` in place so that their joint
 * `normType`-norm (all gradients as one vector) is at most `maxNorm`, and
 * returns that norm before clipping as a 0-d tensor (PyTorch's
 * clip_grad_norm_):
 * `clipGradNorm_(parameters, maxNorm, normType = 2, errorIfNonfinite = false)`,
 * or the options `{ normType, errorIfNonfinite }`. `normType` may be
 * `Infinity` (or 'inf'): the largest absolute value. Parameters without a
 * gradient are skipped; with none, the result is tensor(0.). The scale is
 * maxNorm / (norm + 1e-6), capped at 1.
 */
export function clipGradNorm_(parameters: TensorOrTensors, maxNorm: number, normType?: number, errorIfNonfinite?: boolean): Tensor;
export function clipGradNorm_(
  parameters: TensorOrTensors,
  maxNorm: number,
  opts: { normType?: number; errorIfNonfinite?: boolean },
): Tensor;
export function clipGradNorm_(
  parameters: TensorOrTensors,
  opts: { maxNorm: number; normType?: number; errorIfNonfinite?: boolean },
): Tensor;
export function clipGradNorm_(...args: unknown[]): Tensor {
  const op = 'clipGradNorm_';
  const a = bindOptions(op, CLIP_GRAD_NORM, args);
  const params = tensorList(op, a.parameters, true);
  checkNumber(op, 'maxNorm', a.maxNorm);
  const normType = a.normType === 'inf' ? Infinity : a.normType;
  checkNumber(op, 'normType', normType);
  if (typeof a.errorIfNonfinite !== 'boolean')
    throw new TypeError(`${op}: errorIfNonfinite must be a boolean, got ${fmtValue(a.errorIfNonfinite)}`);
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return zeros([]);
  const device = grads[0].device;
  return noGrad(() => {
    let total: Tensor;
    if (normType === Infinity) {
      const norms = grads.map((g) => g.detach().abs().max().to(device));
      total = norms.length === 1 ? norms[0] : stack(norms).max();
    } else {
      total = stack(grads.map((g) => g.detach().norm(normType).to(device))).norm(normType);
    }
    if (a.errorIfNonfinite && !Number.isFinite(total.item())) {
      throw new Error(
        `${op}: the total norm of order ${normType} for gradients from \`parameters\` is non-finite (${total.item()}), so it cannot be clipped. ` +
          'To disable this error and scale the gradients by the non-finite norm anyway, pass { errorIfNonfinite: false }',
      );
    }
    // PyTorch's max_norm / (total + 1e-6) runs as reciprocal(total + 1e-6) * max_norm.
    const coef = total.add(1e-6).reciprocal().mul(a.maxNorm).clamp(null, 1);
    for (const g of grads) g.detach().mul_(coef.to(g.device));
    return total;
  });
}

/**
 * Clamps the gradients of `parameters` in place to [-clipValue, clipValue]
 * (PyTorch's clip_grad_value_): `clipGradValue_(parameters, clipValue)`.
 * Parameters without a gradient are skipped.
 */
export function clipGradValue_(parameters: TensorOrTensors, clipValue: number): void;
export function clipGradValue_(parameters: TensorOrTensors, opts: { clipValue: number }): void;
export function clipGradValue_(...args: unknown[]): void {
  const op = 'clipGradValue_';
  const a = bindOptions(op, CLIP_GRAD_VALUE, args);
  const params = tensorList(op, a.parameters, true);
  checkNumber(op, 'clipValue', a.clipValue);
  const v = a.clipValue;
  noGrad(() => {
    for (const p of params) if (p.grad !== null) p.grad.detach().clamp_(-v, v);
  });
}

/** The device every parameter must share (PyTorch's _check_param_device). */
function checkSameDevice(op: string, params: Tensor[]): void {
  for (const p of params) {
    if (p.device !== params[0].device) {
      throw new TypeError(`${op}: found two parameters on different devices (${params[0].device} and ${p.device}), which is not supported`);
    }
  }
}

/**
 * The parameters flattened and joined into one 1-D tensor, in order
 * (PyTorch's parameters_to_vector). It is differentiable: a gradient of
 * the vector flows back to the parameters.
 */
export function parametersToVector(parameters: Iterable<Tensor>): Tensor;
export function parametersToVector(opts: { parameters: Iterable<Tensor> }): Tensor;
export function parametersToVector(...args: unknown[]): Tensor {
  const op = 'parametersToVector';
  const params = tensorList(op, bindOptions(op, TO_VECTOR, args).parameters, false);
  if (params.length === 0) throw new RangeError(`${op}: expected a non-empty list of parameters`);
  checkSameDevice(op, params);
  return cat(params.map((p) => p.view(-1)));
}

/**
 * Copies consecutive slices of `vec` into the parameters, in order, by
 * pointing each parameter's data at its slice (PyTorch's
 * vector_to_parameters: afterwards the parameters share vec's memory).
 * Elements of vec past the parameters' total are ignored.
 */
export function vectorToParameters(vec: Tensor, parameters: Iterable<Tensor>): void;
export function vectorToParameters(vec: Tensor, opts: { parameters: Iterable<Tensor> }): void;
export function vectorToParameters(opts: { vec: Tensor; parameters: Iterable<Tensor> }): void;
export function vectorToParameters(...args: unknown[]): void {
  const op = 'vectorToParameters';
  const a = bindOptions(op, FROM_VECTOR, args);
  if (!(a.vec instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor for vec, but got: ${fmtValue(a.vec)}`);
  const vec = a.vec;
  if (vec.dim() !== 1) throw new RangeError(`${op}: vec must be 1-D, got shape [${vec.shape.join(', ')}]`);
  const params = tensorList(op, a.parameters, false);
  checkSameDevice(op, params);
  const total = params.reduce((n, p) => n + p.numel(), 0);
  if (total > vec.numel()) {
    throw new RangeError(`${op}: vec has ${vec.numel()} elements but the parameters need ${total}`);
  }
  if (params.length && vec.device !== params[0].device) {
    throw new TypeError(`${op}: vec is on ${vec.device} but the parameters are on ${params[0].device}`);
  }
  let at = 0;
  for (const p of params) {
    const n = p.numel();
    p.data = vec.narrow(0, at, n).view(p.shape).detach();
    at += n;
  }
}
