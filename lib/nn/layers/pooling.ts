// 2-d pooling layers over nn.functional.
import type { Tensor } from '../../tensor.js';
import { Module, pyRepr } from '../module.js';
import * as F from '../functional.js';
import { pair, type Size2 } from './conv.js';
import { as, late } from './linear.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../../util/args.js';

function checkFlag(op: string, name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}

/**
 * MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, *,
 * ceil_mode=False): PyTorch's return_indices, before ceil_mode, is not
 * implemented, so ceilMode is keyword-only (Note [Layer signatures]).
 */
const MAX_POOL2D = [
  late(param.custom('kernelSize', 'int[2]', as<Size2>)),
  late(param.custom('stride', 'int[2]?', as<Size2 | null>, null)),
  late(param.custom('padding', 'int[2]', as<Size2>, 0)),
  late(param.custom('dilation', 'int[2]', as<Size2>, 1)),
  param.kw(late(param.bool('ceilMode', false))),
] as const;

export type MaxPool2dOptions = OptionsOf<typeof MAX_POOL2D>;

/**
 * nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, *, ceil_mode=False): the max over each window of
 * [N, C, H, W] or [C, H, W] input; stride defaults to kernelSize. PyTorch's return_indices is not implemented, so
 * ceilMode is keyword-only.
 */
export class MaxPool2d extends Module {
  // Kept as given (an int or a pair): PyTorch prints them that way.
  readonly kernelSize: Size2;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly dilation: Size2;
  readonly ceilMode: boolean;

  constructor(...args: CallArgs<typeof MAX_POOL2D>) {
    super();
    const opts = bindOptions('MaxPool2d', MAX_POOL2D, args);
    const kernelSize = opts.kernelSize;
    pair('MaxPool2d', 'kernelSize', kernelSize, 1);
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    pair('MaxPool2d', 'stride', this.stride, 1);
    this.padding = opts.padding;
    pair('MaxPool2d', 'padding', this.padding, 0);
    this.dilation = opts.dilation;
    pair('MaxPool2d', 'dilation', this.dilation, 1);
    this.ceilMode = checkFlag('MaxPool2d', 'ceilMode', opts.ceilMode);
  }

  forward(input: Tensor): Tensor {
    return F.maxPool2d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
  }

  override extraRepr(): string {
    return (
      `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}, ` +
      `dilation=${pyRepr(this.dilation)}, ceil_mode=${pyRepr(this.ceilMode)}`
    );
  }
}

/**
 * AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
 * count_include_pad=True, divisor_override=None).
 */
const AVG_POOL2D = [
  late(param.custom('kernelSize', 'int[2]', as<Size2>)),
  late(param.custom('stride', 'int[2]?', as<Size2 | null>, null)),
  late(param.custom('padding', 'int[2]', as<Size2>, 0)),
  late(param.bool('ceilMode', false)),
  late(param.bool('countIncludePad', true)),
  late(param.optInt('divisorOverride')),
] as const;

export type AvgPool2dOptions = OptionsOf<typeof AVG_POOL2D>;

/**
 * nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
 * the mean over each window; stride defaults to kernelSize.
 */
export class AvgPool2d extends Module {
  readonly kernelSize: Size2;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(...args: CallArgs<typeof AVG_POOL2D>) {
    super();
    const opts = bindOptions('AvgPool2d', AVG_POOL2D, args);
    const kernelSize = opts.kernelSize;
    pair('AvgPool2d', 'kernelSize', kernelSize, 1);
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    pair('AvgPool2d', 'stride', this.stride, 1);
    this.padding = opts.padding;
    pair('AvgPool2d', 'padding', this.padding, 0);
    this.ceilMode = checkFlag('AvgPool2d', 'ceilMode', opts.ceilMode);
    this.countIncludePad = checkFlag('AvgPool2d', 'countIncludePad', opts.countIncludePad);
    const d = opts.divisorOverride ?? null;
    if (d !== null && (!Number.isInteger(d) || d < 1)) {
      throw new RangeError(`AvgPool2d: divisorOverride must be a positive integer, got ${String(d)}`);
    }
    this.divisorOverride = d;
  }

  forward(input: Tensor): Tensor {
    return F.avgPool2d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
      divisorOverride: this.divisorOverride,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}`;
  }
}

/** AdaptiveAvgPool2d(output_size). */
const ADAPTIVE_AVG_POOL2D = [late(param.custom('outputSize', 'int[2]', as<Size2>))] as const;

/**
 * nn.AdaptiveAvgPool2d(output_size): average pooling whose windows are chosen so that the output is outputSize
 * (an int or [H, W]), as PyTorch's.
 */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: Size2;

  constructor(...args: CallArgs<typeof ADAPTIVE_AVG_POOL2D>) {
    super();
    const { outputSize } = bindOptions('AdaptiveAvgPool2d', ADAPTIVE_AVG_POOL2D, args);
    pair('AdaptiveAvgPool2d', 'outputSize', outputSize, 1);
    this.outputSize = outputSize;
  }

  forward(input: Tensor): Tensor {
    return F.adaptiveAvgPool2d(input, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${pyRepr(this.outputSize)}`;
  }
}
