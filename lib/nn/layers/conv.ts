// Conv1d, Conv2d, ConvTranspose1d and ConvTranspose2d, initialised as
// PyTorch's (kaiming_uniform_ with a = sqrt(5), bias U(-1/√fanIn, 1/√fanIn)).
import { Tensor } from '../../tensor.js';
import { empty } from '../../ops/creation.js';
import { Module, pyTuple } from '../module.js';
import { Parameter } from '../parameter.js';
import * as F from '../functional.js';
import { as, checkSize, dtypeParam, late, paramDType, resetLinearLike } from './linear.js';
import { bindOptions, fmtValue, param, type CallArgs, type OptionsOf } from '../../util/args.js';

export type Size2 = number | [number, number];
/** An int, or a list of one (PyTorch's _single accepts both). */
export type Size1 = number | [number];

/** @internal An int or a pair as a pair (PyTorch's _pair), checked. */
export function pair(op: string, name: string, v: unknown, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2) {
    throw new TypeError(`${op}: ${name} must be an integer or a pair of integers, got ${JSON.stringify(v)}`);
  }
  p.forEach((x, i) => checkSize(op, `${name}[${i}]`, x, min));
  return [p[0], p[1]];
}

/** @internal An int or a list of one as a list of one (PyTorch's _single), checked. */
export function single(op: string, name: string, v: unknown, min: number): [number] {
  const p = typeof v === 'number' ? [v] : v;
  if (!Array.isArray(p) || p.length !== 1) {
    throw new TypeError(`${op}: ${name} must be an integer or a list of one integer, got ${JSON.stringify(v)}`);
  }
  checkSize(op, `${name}[0]`, p[0], min);
  return [p[0]];
}

/** The channel and groups checks every convolution layer makes. */
function checkChannels(op: string, inChannels: unknown, outChannels: unknown, groups: unknown): void {
  checkSize(op, 'inChannels', inChannels, 1);
  checkSize(op, 'outChannels', outChannels, 1);
  checkSize(op, 'groups', groups, 1);
  if (inChannels % groups !== 0) throw new RangeError(`${op}: inChannels (${inChannels}) must be divisible by groups (${groups})`);
  if (outChannels % groups !== 0) throw new RangeError(`${op}: outChannels (${outChannels}) must be divisible by groups (${groups})`);
}

/** PyTorch's _ConvNd.extra_repr. */
function convRepr(m: {
  inChannels: number;
  outChannels: number;
  kernelSize: readonly number[];
  stride: readonly number[];
  padding: readonly number[] | 'same' | 'valid';
  dilation: readonly number[];
  outputPadding?: readonly number[];
  groups: number;
  bias: Parameter | null;
}): string {
  let s = `${m.inChannels}, ${m.outChannels}, kernel_size=${pyTuple(m.kernelSize)}, stride=${pyTuple(m.stride)}`;
  if (typeof m.padding === 'string') s += `, padding=${m.padding}`;
  else if (m.padding.some((p) => p !== 0)) s += `, padding=${pyTuple(m.padding)}`;
  if (m.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(m.dilation)}`;
  if (m.outputPadding && m.outputPadding.some((p) => p !== 0)) s += `, output_padding=${pyTuple(m.outputPadding)}`;
  if (m.groups !== 1) s += `, groups=${m.groups}`;
  if (m.bias === null) s += ', bias=False';
  return s;
}

/**
 * Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
 * padding_mode='zeros', *, dtype=None) (Note [Layer signatures]; padding_mode other than 'zeros' is refused,
 * as Conv2d's).
 */
const CONV1D = [
  late(param.int('inChannels')),
  late(param.int('outChannels')),
  late(param.custom('kernelSize', 'int[1]', as<Size1>)),
  late(param.custom('stride', 'int[1]', as<Size1>, 1)),
  late(param.custom('padding', "int[1]|'same'|'valid'", as<Size1 | 'same' | 'valid'>, 0)),
  late(param.custom('dilation', 'int[1]', as<Size1>, 1)),
  late(param.int('groups', 1)),
  late(param.bool('bias', true)),
  late(param.oneOf('paddingMode', ['zeros'], 'zeros')),
  dtypeParam,
] as const;

export type Conv1dOptions = OptionsOf<typeof CONV1D>;

/**
 * nn.Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
 * padding_mode='zeros', *, dtype=None): 1-d cross-correlation over [N, C, L] input (or unbatched [C, L]), weight
 * [outChannels, inChannels / groups, kernelSize], initialised as PyTorch's. padding may be 'same' or 'valid';
 * paddingMode other than 'zeros' is refused, and there is no device argument (dtype is keyword-only).
 */
export class Conv1d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number];
  readonly stride: [number];
  readonly padding: [number] | 'same' | 'valid';
  readonly dilation: [number];
  readonly groups: number;
  readonly paddingMode: 'zeros';
  weight: Parameter;
  bias: Parameter | null;

  constructor(...args: CallArgs<typeof CONV1D>) {
    super();
    const op = 'Conv1d';
    const opts = bindOptions(op, CONV1D, args);
    const { inChannels, outChannels, groups } = opts;
    checkChannels(op, inChannels, outChannels, groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.groups = groups;
    this.kernelSize = single(op, 'kernelSize', opts.kernelSize, 1);
    this.stride = single(op, 'stride', opts.stride, 1);
    this.dilation = single(op, 'dilation', opts.dilation, 1);
    const padding = opts.padding;
    if (padding === 'same' || padding === 'valid') {
      if (padding === 'same' && this.stride[0] !== 1)
        throw new RangeError(`${op}: padding='same' is not supported for strided convolutions`);
      this.padding = padding;
    } else {
      this.padding = single(op, 'padding', padding, 0);
    }
    const mode = opts.paddingMode;
    if (mode !== 'zeros') throw new RangeError(`${op}: paddingMode '${String(mode)}' is not supported (only 'zeros')`);
    this.paddingMode = mode;
    const dtype = paramDType(op, opts.dtype);
    this.weight = new Parameter(empty([outChannels, inChannels / groups, ...this.kernelSize], { dtype }));
    this.bias = opts.bias ? new Parameter(empty([outChannels], { dtype })) : null;
    this.resetParameters();
  }

  /** Re-initialises weight and bias as PyTorch's: kaiming_uniform_(a = √5) and U(-1/√fanIn, 1/√fanIn). */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  forward(input: Tensor): Tensor {
    return F.conv1d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    return convRepr(this);
  }
}

/**
 * Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
 * dilation=1, groups=1, bias=True, padding_mode='zeros', *, dtype=None)
 * (Note [Layer signatures]; padding_mode other than 'zeros' is refused).
 */
const CONV2D = [
  late(param.int('inChannels')),
  late(param.int('outChannels')),
  late(param.custom('kernelSize', 'int[2]', as<Size2>)),
  late(param.custom('stride', 'int[2]', as<Size2>, 1)),
  late(param.custom('padding', "int[2]|'same'|'valid'", as<Size2 | 'same' | 'valid'>, 0)),
  late(param.custom('dilation', 'int[2]', as<Size2>, 1)),
  late(param.int('groups', 1)),
  late(param.bool('bias', true)),
  late(param.oneOf('paddingMode', ['zeros'], 'zeros')),
  dtypeParam,
] as const;

export type Conv2dOptions = OptionsOf<typeof CONV2D>;

/**
 * nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
 * padding_mode='zeros', *, dtype=None): 2-d cross-correlation over [N, C, H, W] input, weight
 * [outChannels, inChannels / groups, kH, kW], initialised as PyTorch's. padding may be 'same' or 'valid';
 * paddingMode other than 'zeros' is refused, and there is no device argument (dtype is keyword-only).
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: 'zeros';
  weight: Parameter;
  bias: Parameter | null;

  constructor(...args: CallArgs<typeof CONV2D>) {
    super();
    const opts = bindOptions('Conv2d', CONV2D, args);
    const { inChannels, outChannels, kernelSize, groups } = opts;
    checkSize('Conv2d', 'inChannels', inChannels, 1);
    checkSize('Conv2d', 'outChannels', outChannels, 1);
    checkSize('Conv2d', 'groups', groups, 1);
    if (inChannels % groups !== 0) throw new RangeError(`Conv2d: inChannels (${inChannels}) must be divisible by groups (${groups})`);
    if (outChannels % groups !== 0) throw new RangeError(`Conv2d: outChannels (${outChannels}) must be divisible by groups (${groups})`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', opts.stride, 1);
    this.dilation = pair('Conv2d', 'dilation', opts.dilation, 1);
    const padding = opts.padding;
    if (padding === 'same' || padding === 'valid') {
      if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
        throw new RangeError("Conv2d: padding='same' is not supported for strided convolutions");
      }
      this.padding = padding;
    } else {
      this.padding = pair('Conv2d', 'padding', padding, 0);
    }
    const mode = opts.paddingMode;
    if (mode !== 'zeros') throw new RangeError(`Conv2d: paddingMode '${String(mode)}' is not supported (only 'zeros')`);
    this.paddingMode = mode;
    this.groups = groups;
    const dtype = paramDType('Conv2d', opts.dtype);
    this.weight = new Parameter(empty([outChannels, inChannels / groups, ...this.kernelSize], { dtype }));
    this.bias = opts.bias ? new Parameter(empty([outChannels], { dtype })) : null;
    this.resetParameters();
  }

  /** Re-initialises weight and bias as PyTorch's: kaiming_uniform_(a = √5) and U(-1/√fanIn, 1/√fanIn). */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  forward(input: Tensor): Tensor {
    return F.conv2d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}

// ---- transposed convolutions -----------------------------------------------------------------

/**
 * ConvTranspose1d / ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
 * output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros', *, dtype=None) (Note [Layer
 * signatures]). PyTorch refuses padding_mode other than 'zeros' for these; so does the binder here.
 */
const CONV_TRANSPOSE1D = [
  late(param.int('inChannels')),
  late(param.int('outChannels')),
  late(param.custom('kernelSize', 'int[1]', as<Size1>)),
  late(param.custom('stride', 'int[1]', as<Size1>, 1)),
  late(param.custom('padding', 'int[1]', as<Size1>, 0)),
  late(param.custom('outputPadding', 'int[1]', as<Size1>, 0)),
  late(param.int('groups', 1)),
  late(param.bool('bias', true)),
  late(param.custom('dilation', 'int[1]', as<Size1>, 1)),
  late(param.oneOf('paddingMode', ['zeros'], 'zeros')),
  dtypeParam,
] as const;

/** The same for ConvTranspose2d, with pairs. */
const CONV_TRANSPOSE2D = [
  late(param.int('inChannels')),
  late(param.int('outChannels')),
  late(param.custom('kernelSize', 'int[2]', as<Size2>)),
  late(param.custom('stride', 'int[2]', as<Size2>, 1)),
  late(param.custom('padding', 'int[2]', as<Size2>, 0)),
  late(param.custom('outputPadding', 'int[2]', as<Size2>, 0)),
  late(param.int('groups', 1)),
  late(param.bool('bias', true)),
  late(param.custom('dilation', 'int[2]', as<Size2>, 1)),
  late(param.oneOf('paddingMode', ['zeros'], 'zeros')),
  dtypeParam,
] as const;

export type ConvTranspose1dOptions = OptionsOf<typeof CONV_TRANSPOSE1D>;
export type ConvTranspose2dOptions = OptionsOf<typeof CONV_TRANSPOSE2D>;

/** forward(input, output_size=None). */
const CONV_TRANSPOSE_FORWARD = [
  param.custom('input', 'Tensor', as<Tensor>),
  param.custom('outputSize', 'int[]?', as<readonly number[] | null>, null),
] as const;

/** The checked fields of a transposed convolution layer, from its bound arguments. */
function convTransposeFields(
  op: string,
  nd: 1 | 2,
  o: { inChannels: number; outChannels: number; groups: number; paddingMode: unknown; [k: string]: unknown },
): { kernelSize: number[]; stride: number[]; padding: number[]; outputPadding: number[]; dilation: number[] } {
  checkChannels(op, o.inChannels, o.outChannels, o.groups);
  const tuple = (name: string, min: number): number[] => (nd === 1 ? single(op, name, o[name], min) : pair(op, name, o[name], min));
  const fields = {
    kernelSize: tuple('kernelSize', 1),
    stride: tuple('stride', 1),
    padding: tuple('padding', 0),
    outputPadding: tuple('outputPadding', 0),
    dilation: tuple('dilation', 1),
  };
  if (o.paddingMode !== 'zeros') throw new RangeError(`${op}: only 'zeros' paddingMode is supported, got ${fmtValue(o.paddingMode)}`);
  return fields;
}

/**
 * The output padding that makes a transposed convolution's output outputSize (PyTorch's
 * _ConvTransposeNd._output_padding): outputSize holds the spatial sizes, or also the batch and
 * channel sizes (which are not checked, as in PyTorch).
 */
function outputPaddingFor(
  op: string,
  nd: number,
  input: Tensor,
  outputSize: unknown,
  m: { stride: readonly number[]; padding: readonly number[]; dilation: readonly number[]; kernelSize: readonly number[] },
): number[] {
  if (!(input instanceof Tensor)) throw new TypeError(`${op}: input must be a Tensor, got ${fmtValue(input)}`);
  if (!Array.isArray(outputSize) || !outputSize.every((n) => typeof n === 'number' && Number.isInteger(n))) {
    throw new TypeError(`${op}: outputSize must be a list of integers or null, got ${fmtValue(outputSize)}`);
  }
  const nonSpatial = input.ndim === nd + 2 ? 2 : 1;
  let sizes = outputSize as number[];
  if (sizes.length === nonSpatial + nd) sizes = sizes.slice(nonSpatial);
  if (sizes.length !== nd) {
    throw new RangeError(
      `${op}: for ${input.ndim}-D input, outputSize must have ${nd} or ${nd + nonSpatial} elements, got ${fmtValue(outputSize)}`,
    );
  }
  const inSize = input.shape.slice(nonSpatial);
  if (inSize.length !== nd)
    throw new RangeError(`${op}: expected ${nd + 1}-D or ${nd + 2}-D input, got input of shape [${input.shape.join(', ')}]`);
  const min = inSize.map((n, d) => (n - 1) * m.stride[d] - 2 * m.padding[d] + m.dilation[d] * (m.kernelSize[d] - 1) + 1);
  const max = min.map((v, d) => v + m.stride[d] - 1);
  if (sizes.some((s, d) => s < min[d] || s > max[d])) {
    throw new RangeError(
      `${op}: requested an output size of [${sizes.join(', ')}], but valid sizes range from [${min.join(', ')}] to [${max.join(', ')}] ` +
        `(for an input of [${inSize.join(', ')}])`,
    );
  }
  return sizes.map((s, d) => s - min[d]);
}

/**
 * nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
 * bias=True, dilation=1, padding_mode='zeros', *, dtype=None): the 1-d transposed convolution ("deconvolution")
 * over [N, C, L] input (or unbatched [C, L]), weight [inChannels, outChannels / groups, kernelSize], initialised as
 * PyTorch's (fanIn from the weight's dim 1: outChannels / groups * kernelSize). forward(input, outputSize?) picks
 * the output padding that gives outputSize, as PyTorch's. Only 'zeros' paddingMode; no device argument.
 */
export class ConvTranspose1d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number];
  readonly stride: [number];
  readonly padding: [number];
  readonly outputPadding: [number];
  readonly dilation: [number];
  readonly groups: number;
  readonly paddingMode = 'zeros' as const;
  weight: Parameter;
  bias: Parameter | null;

  constructor(...args: CallArgs<typeof CONV_TRANSPOSE1D>) {
    super();
    const op = 'ConvTranspose1d';
    const opts = bindOptions(op, CONV_TRANSPOSE1D, args);
    const f = convTransposeFields(op, 1, opts);
    this.inChannels = opts.inChannels;
    this.outChannels = opts.outChannels;
    this.groups = opts.groups;
    this.kernelSize = [f.kernelSize[0]];
    this.stride = [f.stride[0]];
    this.padding = [f.padding[0]];
    this.outputPadding = [f.outputPadding[0]];
    this.dilation = [f.dilation[0]];
    const dtype = paramDType(op, opts.dtype);
    this.weight = new Parameter(empty([this.inChannels, this.outChannels / this.groups, ...this.kernelSize], { dtype }));
    this.bias = opts.bias ? new Parameter(empty([this.outChannels], { dtype })) : null;
    this.resetParameters();
  }

  /** Re-initialises weight and bias as PyTorch's: kaiming_uniform_(a = √5) and U(-1/√fanIn, 1/√fanIn). */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  /** forward(input, outputSize = null): outputSize, when given, fixes the output length (within one stride). */
  forward(...args: CallArgs<typeof CONV_TRANSPOSE_FORWARD>): Tensor {
    const { input, outputSize } = bindOptions('ConvTranspose1d', CONV_TRANSPOSE_FORWARD, args);
    const outputPadding = outputSize === null ? this.outputPadding : outputPaddingFor('ConvTranspose1d', 1, input, outputSize, this);
    return F.convTranspose1d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    return convRepr(this);
  }
}

/**
 * nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
 * bias=True, dilation=1, padding_mode='zeros', *, dtype=None): the 2-d transposed convolution ("deconvolution")
 * over [N, C, H, W] input (or unbatched [C, H, W]), weight [inChannels, outChannels / groups, kH, kW], initialised
 * as PyTorch's. forward(input, outputSize?) picks the output padding that gives outputSize, as PyTorch's. Only
 * 'zeros' paddingMode; no device argument.
 */
export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode = 'zeros' as const;
  weight: Parameter;
  bias: Parameter | null;

  constructor(...args: CallArgs<typeof CONV_TRANSPOSE2D>) {
    super();
    const op = 'ConvTranspose2d';
    const opts = bindOptions(op, CONV_TRANSPOSE2D, args);
    const f = convTransposeFields(op, 2, opts);
    this.inChannels = opts.inChannels;
    this.outChannels = opts.outChannels;
    this.groups = opts.groups;
    const two = (v: number[]): [number, number] => [v[0], v[1]];
    this.kernelSize = two(f.kernelSize);
    this.stride = two(f.stride);
    this.padding = two(f.padding);
    this.outputPadding = two(f.outputPadding);
    this.dilation = two(f.dilation);
    const dtype = paramDType(op, opts.dtype);
    this.weight = new Parameter(empty([this.inChannels, this.outChannels / this.groups, ...this.kernelSize], { dtype }));
    this.bias = opts.bias ? new Parameter(empty([this.outChannels], { dtype })) : null;
    this.resetParameters();
  }

  /** Re-initialises weight and bias as PyTorch's: kaiming_uniform_(a = √5) and U(-1/√fanIn, 1/√fanIn). */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  /** forward(input, outputSize = null): outputSize, when given, fixes the output's height and width (within one stride). */
  forward(...args: CallArgs<typeof CONV_TRANSPOSE_FORWARD>): Tensor {
    const { input, outputSize } = bindOptions('ConvTranspose2d', CONV_TRANSPOSE_FORWARD, args);
    const outputPadding = outputSize === null ? this.outputPadding : outputPaddingFor('ConvTranspose2d', 2, input, outputSize, this);
    return F.convTranspose2d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    return convRepr(this);
  }
}
