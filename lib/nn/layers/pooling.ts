// 2-d pooling layers over nn.functional.
import type { Tensor } from '../../tensor.js';
import { Module, pyRepr } from '../module.js';
import * as F from '../functional.js';
import { pair, type Size2 } from './conv.js';

function checkFlag(op: string, name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}

export interface MaxPool2dOptions {
  stride?: Size2 | null;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  // Kept as given (an int or a pair): PyTorch prints them that way.
  readonly kernelSize: Size2;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly dilation: Size2;
  readonly ceilMode: boolean;

  constructor(kernelSize: Size2, opts: MaxPool2dOptions = {}) {
    super();
    pair('MaxPool2d', 'kernelSize', kernelSize, 1);
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    pair('MaxPool2d', 'stride', this.stride, 1);
    this.padding = opts.padding ?? 0;
    pair('MaxPool2d', 'padding', this.padding, 0);
    this.dilation = opts.dilation ?? 1;
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

export interface AvgPool2dOptions {
  stride?: Size2 | null;
  padding?: Size2;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

export class AvgPool2d extends Module {
  readonly kernelSize: Size2;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: Size2, opts: AvgPool2dOptions = {}) {
    super();
    pair('AvgPool2d', 'kernelSize', kernelSize, 1);
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    pair('AvgPool2d', 'stride', this.stride, 1);
    this.padding = opts.padding ?? 0;
    pair('AvgPool2d', 'padding', this.padding, 0);
    this.ceilMode = checkFlag('AvgPool2d', 'ceilMode', opts.ceilMode);
    this.countIncludePad = opts.countIncludePad === undefined ? true : checkFlag('AvgPool2d', 'countIncludePad', opts.countIncludePad);
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

export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: Size2;

  constructor(outputSize: Size2) {
    super();
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
