// Conv2d, initialised as PyTorch's (kaiming_uniform_ with a = sqrt(5)).
import type { Tensor } from '../../tensor.js';
import { empty } from '../../ops/creation.js';
import { Module, pyTuple } from '../module.js';
import { Parameter } from '../parameter.js';
import * as F from '../functional.js';
import { as, checkSize, dtypeParam, late, paramDType, resetLinearLike } from './linear.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../../util/args.js';

export type Size2 = number | [number, number];

/** @internal An int or a pair as a pair (PyTorch's _pair), checked. */
export function pair(op: string, name: string, v: unknown, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2) {
    throw new TypeError(`${op}: ${name} must be an integer or a pair of integers, got ${JSON.stringify(v)}`);
  }
  p.forEach((x, i) => checkSize(op, `${name}[${i}]`, x, min));
  return [p[0], p[1]];
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
