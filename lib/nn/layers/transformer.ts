// The Transformer family of PyTorch 1.13 (torch/nn/modules/transformer.py):
// TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
// TransformerDecoder and Transformer, with PyTorch's submodule names, so
// state-dict keys are PyTorch's (layers.0.self_attn.in_proj_weight,
// layers.0.linear1.weight, layers.0.norm1.weight, ...). Each runs
// PyTorch's general path; PyTorch's inference fast paths (nested tensors,
// fused encoder kernels) compute the same values and are not implemented.
import { Tensor } from '../../tensor.js';
import { full } from '../../ops/creation.js';
import { isFloating, type DType } from '../../dtype.js';
import type { TorchDevice } from '../../backend/device.js';
import * as K from '../../ops/kernels.js';
import { Module } from '../module.js';
import * as init from '../init.js';
import * as F from '../functional.js';
import { deepCopy } from '../deepcopy.js';
import { Linear, as, checkSize, dtypeParam, late } from './linear.js';
import { Dropout } from './dropout.js';
import { LayerNorm } from './normalization.js';
import { ModuleList } from './container.js';
import { MultiheadAttention, checkDropout, checkFlag } from './attention.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../../util/args.js';

/** The feed-forward activation: 'relu', 'gelu', or any function of a tensor (an nn.Module included). */
export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

const fmt = K.fmtShape;

const activationParam = late(param.custom('activation', "'relu'|'gelu'|Callable", as<TransformerActivation>, 'relu'));
const optMask = <N extends string>(name: N) => param.custom(name, 'Tensor?', as<Tensor | null>, null);

/**
 * TransformerEncoderLayer / TransformerDecoderLayer(d_model, nhead,
 * dim_feedforward=2048, dropout=0.1, activation=relu, layer_norm_eps=1e-05,
 * batch_first=False, norm_first=False, *, dtype=None).
 */
const LAYER = [
  late(param.int('dModel')),
  late(param.int('nhead')),
  late(param.int('dimFeedforward', 2048)),
  late(param.float('dropout', 0.1)),
  activationParam,
  late(param.float('layerNormEps', 1e-5)),
  late(param.bool('batchFirst', false)),
  late(param.bool('normFirst', false)),
  dtypeParam,
] as const;

export type TransformerEncoderLayerOptions = OptionsOf<typeof LAYER>;
export type TransformerDecoderLayerOptions = OptionsOf<typeof LAYER>;

/** PyTorch's _get_activation_fn, and any function (or module) as it is. */
function activationOf(op: string, a: unknown): (x: Tensor) => Tensor {
  if (a === 'relu') return (x) => F.relu(x);
  if (a === 'gelu') return (x) => F.gelu(x);
  if (typeof a === 'function') return a as (x: Tensor) => Tensor;
  throw new RangeError(`${op}: activation should be 'relu', 'gelu' or a function, not ${K.fmtValue(a)}`);
}

/** The checked constructor arguments shared by the two layer kinds. */
function layerConfig(op: string, args: unknown[]) {
  const o = bindOptions(op, LAYER, args);
  checkSize(op, 'dModel', o.dModel, 1);
  checkSize(op, 'nhead', o.nhead, 1);
  checkSize(op, 'dimFeedforward', o.dimFeedforward, 1);
  if (typeof o.layerNormEps !== 'number' || !(o.layerNormEps >= 0)) {
    throw new RangeError(`${op}: layerNormEps must be a non-negative number, got ${String(o.layerNormEps)}`);
  }
  return {
    ...o,
    dropout: checkDropout(op, o.dropout),
    batchFirst: checkFlag(op, 'batchFirst', o.batchFirst),
    normFirst: checkFlag(op, 'normFirst', o.normFirst),
    activation: activationOf(op, o.activation),
  };
}

/** Checks a layer input: [S, N, dModel] ([N, S, dModel] with batchFirst) or unbatched [S, dModel]. */
function checkInput(op: string, what: string, x: unknown, dModel: number, batchFirst: boolean): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${K.fmtValue(x)}`);
  if ((x.ndim !== 2 && x.ndim !== 3) || x._shape[x.ndim - 1] !== dModel) {
    throw new RangeError(
      `${op}: expected ${what} of shape ${batchFirst ? '[N, S' : '[S, N'}, ${dModel}] (dModel ${dModel}) or unbatched [S, ${dModel}], got ${fmt(x._shape)}`,
    );
  }
}

/** A key padding mask must be bool (true: left out) or float (added), as PyTorch checks. */
function checkPaddingMask(op: string, what: string, m: unknown): void {
  if (m === null || m === undefined) return;
  if (!(m instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor or null, got ${K.fmtValue(m)}`);
  if (m.dtype !== 'bool' && !isFloating(m.dtype)) {
    throw new TypeError(`${op}: only bool and floating types of ${what} are supported, got ${m.dtype}`);
  }
}

/** TransformerEncoderLayer.forward(src, src_mask=None, src_key_padding_mask=None). */
const ENCODER_LAYER_FORWARD = [param.custom('src', 'Tensor', as<Tensor>), optMask('srcMask'), optMask('srcKeyPaddingMask')] as const;

/**
 * nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu',
 * layer_norm_eps=1e-05, batch_first=False, norm_first=False, *, dtype=None): self-attention and a feed-forward
 * block, each with a residual connection and a LayerNorm (after it, or before it with normFirst), as PyTorch
 * 1.13's. activation is 'relu', 'gelu' or a function of a tensor. Submodules self_attn, linear1, dropout, linear2,
 * norm1, norm2, dropout1, dropout2 give PyTorch's state-dict keys. forward(src, srcMask?, srcKeyPaddingMask?).
 */
export class TransformerEncoderLayer extends Module {
  /** The model dimension (d_model). */
  readonly dModel: number;
  /** Whether inputs are [N, S, E] rather than [S, N, E]. */
  readonly batchFirst: boolean;
  /** Self-attention (PyTorch's self_attn). */
  self_attn: MultiheadAttention;
  /** The first feed-forward projection, dModel to dimFeedforward. */
  linear1: Linear;
  /** Dropout inside the feed-forward block. */
  dropout: Dropout;
  /** The second feed-forward projection, dimFeedforward to dModel. */
  linear2: Linear;
  /** Whether each LayerNorm comes before its block (pre-norm) rather than after the residual sum. */
  normFirst: boolean;
  /** The LayerNorm of the self-attention block. */
  norm1: LayerNorm;
  /** The LayerNorm of the feed-forward block. */
  norm2: LayerNorm;
  /** Dropout after self-attention. */
  dropout1: Dropout;
  /** Dropout after the feed-forward block. */
  dropout2: Dropout;
  /** The feed-forward activation. */
  activation: (x: Tensor) => Tensor;

  constructor(...args: CallArgs<typeof LAYER>) {
    super();
    const op = 'TransformerEncoderLayer';
    const c = layerConfig(op, args);
    const dtype = c.dtype;
    this.dModel = c.dModel;
    this.batchFirst = c.batchFirst;
    this.self_attn = new MultiheadAttention(c.dModel, c.nhead, { dropout: c.dropout, batchFirst: c.batchFirst, dtype });
    this.linear1 = new Linear(c.dModel, c.dimFeedforward, { dtype });
    this.dropout = new Dropout(c.dropout);
    this.linear2 = new Linear(c.dimFeedforward, c.dModel, { dtype });
    this.normFirst = c.normFirst;
    this.norm1 = new LayerNorm(c.dModel, { eps: c.layerNormEps, dtype });
    this.norm2 = new LayerNorm(c.dModel, { eps: c.layerNormEps, dtype });
    this.dropout1 = new Dropout(c.dropout);
    this.dropout2 = new Dropout(c.dropout);
    this.activation = c.activation;
  }

  /** PyTorch's self_attn. */
  get selfAttn(): MultiheadAttention {
    return this.self_attn;
  }
  set selfAttn(m: MultiheadAttention) {
    this.self_attn = m;
  }

  /**
   * forward(src, srcMask = null, srcKeyPaddingMask = null): srcMask [S, S] or [N * nhead, S, S] (true: not
   * attended; a float mask is added), srcKeyPaddingMask [N, S] (true: a padding position).
   */
  forward(...args: CallArgs<typeof ENCODER_LAYER_FORWARD>): Tensor {
    const op = 'TransformerEncoderLayer';
    const { src, srcMask, srcKeyPaddingMask } = bindOptions(op, ENCODER_LAYER_FORWARD, args);
    checkInput(op, 'src', src, this.dModel, this.batchFirst);
    checkPaddingMask(op, 'srcKeyPaddingMask', srcKeyPaddingMask);
    let x = src;
    if (this.normFirst) {
      x = x.add(this.saBlock(this.norm1(x), srcMask, srcKeyPaddingMask));
      x = x.add(this.ffBlock(this.norm2(x)));
    } else {
      x = this.norm1(x.add(this.saBlock(x, srcMask, srcKeyPaddingMask)));
      x = this.norm2(x.add(this.ffBlock(x)));
    }
    return x;
  }

  private saBlock(x: Tensor, attnMask: Tensor | null, keyPaddingMask: Tensor | null): Tensor {
    return this.dropout1(this.self_attn(x, x, x, { attnMask, keyPaddingMask, needWeights: false })[0]);
  }

  private ffBlock(x: Tensor): Tensor {
    return this.dropout2(this.linear2(this.dropout(this.activation(this.linear1(x)))));
  }
}

/** TransformerDecoderLayer.forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None). */
const DECODER_FORWARD = [
  param.custom('tgt', 'Tensor', as<Tensor>),
  param.custom('memory', 'Tensor', as<Tensor>),
  optMask('tgtMask'),
  optMask('memoryMask'),
  optMask('tgtKeyPaddingMask'),
  optMask('memoryKeyPaddingMask'),
] as const;

/**
 * nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu',
 * layer_norm_eps=1e-05, batch_first=False, norm_first=False, *, dtype=None): self-attention, attention over the
 * encoder's output (memory) and a feed-forward block, each with a residual connection and a LayerNorm, as PyTorch
 * 1.13's. Submodules self_attn, multihead_attn, linear1, dropout, linear2, norm1..3, dropout1..3 give PyTorch's
 * state-dict keys. forward(tgt, memory, tgtMask?, memoryMask?, tgtKeyPaddingMask?, memoryKeyPaddingMask?).
 */
export class TransformerDecoderLayer extends Module {
  /** The model dimension (d_model). */
  readonly dModel: number;
  /** Whether inputs are [N, T, E] rather than [T, N, E]. */
  readonly batchFirst: boolean;
  /** Self-attention over the target (PyTorch's self_attn). */
  self_attn: MultiheadAttention;
  /** Attention from the target over the memory (PyTorch's multihead_attn). */
  multihead_attn: MultiheadAttention;
  /** The first feed-forward projection, dModel to dimFeedforward. */
  linear1: Linear;
  /** Dropout inside the feed-forward block. */
  dropout: Dropout;
  /** The second feed-forward projection, dimFeedforward to dModel. */
  linear2: Linear;
  /** Whether each LayerNorm comes before its block (pre-norm) rather than after the residual sum. */
  normFirst: boolean;
  /** The LayerNorm of the self-attention block. */
  norm1: LayerNorm;
  /** The LayerNorm of the memory-attention block. */
  norm2: LayerNorm;
  /** The LayerNorm of the feed-forward block. */
  norm3: LayerNorm;
  /** Dropout after self-attention. */
  dropout1: Dropout;
  /** Dropout after the memory attention. */
  dropout2: Dropout;
  /** Dropout after the feed-forward block. */
  dropout3: Dropout;
  /** The feed-forward activation. */
  activation: (x: Tensor) => Tensor;

  constructor(...args: CallArgs<typeof LAYER>) {
    super();
    const op = 'TransformerDecoderLayer';
    const c = layerConfig(op, args);
    const dtype = c.dtype;
    this.dModel = c.dModel;
    this.batchFirst = c.batchFirst;
    this.self_attn = new MultiheadAttention(c.dModel, c.nhead, { dropout: c.dropout, batchFirst: c.batchFirst, dtype });
    this.multihead_attn = new MultiheadAttention(c.dModel, c.nhead, { dropout: c.dropout, batchFirst: c.batchFirst, dtype });
    this.linear1 = new Linear(c.dModel, c.dimFeedforward, { dtype });
    this.dropout = new Dropout(c.dropout);
    this.linear2 = new Linear(c.dimFeedforward, c.dModel, { dtype });
    this.normFirst = c.normFirst;
    this.norm1 = new LayerNorm(c.dModel, { eps: c.layerNormEps, dtype });
    this.norm2 = new LayerNorm(c.dModel, { eps: c.layerNormEps, dtype });
    this.norm3 = new LayerNorm(c.dModel, { eps: c.layerNormEps, dtype });
    this.dropout1 = new Dropout(c.dropout);
    this.dropout2 = new Dropout(c.dropout);
    this.dropout3 = new Dropout(c.dropout);
    this.activation = c.activation;
  }

  /** PyTorch's self_attn. */
  get selfAttn(): MultiheadAttention {
    return this.self_attn;
  }
  set selfAttn(m: MultiheadAttention) {
    this.self_attn = m;
  }
  /** PyTorch's multihead_attn. */
  get multiheadAttn(): MultiheadAttention {
    return this.multihead_attn;
  }
  set multiheadAttn(m: MultiheadAttention) {
    this.multihead_attn = m;
  }

  /**
   * forward(tgt, memory, tgtMask = null, memoryMask = null, tgtKeyPaddingMask = null, memoryKeyPaddingMask = null):
   * tgtMask [T, T] (Transformer.generateSquareSubsequentMask(T) for causal decoding), memoryMask [T, S]; the
   * padding masks [N, T] and [N, S], true at padding positions.
   */
  forward(...args: CallArgs<typeof DECODER_FORWARD>): Tensor {
    const op = 'TransformerDecoderLayer';
    const a = bindOptions(op, DECODER_FORWARD, args);
    checkInput(op, 'tgt', a.tgt, this.dModel, this.batchFirst);
    checkInput(op, 'memory', a.memory, this.dModel, this.batchFirst);
    checkPaddingMask(op, 'tgtKeyPaddingMask', a.tgtKeyPaddingMask);
    checkPaddingMask(op, 'memoryKeyPaddingMask', a.memoryKeyPaddingMask);
    let x = a.tgt;
    const mem = a.memory;
    if (this.normFirst) {
      x = x.add(this.saBlock(this.norm1(x), a.tgtMask, a.tgtKeyPaddingMask));
      x = x.add(this.mhaBlock(this.norm2(x), mem, a.memoryMask, a.memoryKeyPaddingMask));
      x = x.add(this.ffBlock(this.norm3(x)));
    } else {
      x = this.norm1(x.add(this.saBlock(x, a.tgtMask, a.tgtKeyPaddingMask)));
      x = this.norm2(x.add(this.mhaBlock(x, mem, a.memoryMask, a.memoryKeyPaddingMask)));
      x = this.norm3(x.add(this.ffBlock(x)));
    }
    return x;
  }

  private saBlock(x: Tensor, attnMask: Tensor | null, keyPaddingMask: Tensor | null): Tensor {
    return this.dropout1(this.self_attn(x, x, x, { attnMask, keyPaddingMask, needWeights: false })[0]);
  }

  private mhaBlock(x: Tensor, mem: Tensor, attnMask: Tensor | null, keyPaddingMask: Tensor | null): Tensor {
    return this.dropout2(this.multihead_attn(x, mem, mem, { attnMask, keyPaddingMask, needWeights: false })[0]);
  }

  private ffBlock(x: Tensor): Tensor {
    return this.dropout3(this.linear2(this.dropout(this.activation(this.linear1(x)))));
  }
}

const moduleParam = <N extends string>(name: N) => late(param.custom(name, 'Module', as<Module>));
const optModuleParam = <N extends string>(name: N) => late(param.custom(name, 'Module?', as<Module | null>, null));

function checkModuleArg(op: string, name: string, m: unknown, optional: boolean): void {
  if (optional && (m === null || m === undefined)) return;
  if (!(m instanceof Module)) throw new TypeError(`${op}: ${name} must be a Module${optional ? ' or null' : ''}, got ${K.fmtValue(m)}`);
}

/** N deep copies of a layer in a ModuleList (PyTorch's _get_clones; Note [Deep copy of a module] in deepcopy.ts). */
function clones(layer: Module, n: number): ModuleList {
  return new ModuleList(Array.from({ length: n }, () => deepCopy(layer)));
}

/** TransformerEncoder(encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True). */
const ENCODER = [
  moduleParam('encoderLayer'),
  late(param.int('numLayers')),
  optModuleParam('norm'),
  late(param.bool('enableNestedTensor', true)),
  late(param.bool('maskCheck', true)),
] as const;

/** TransformerEncoder.forward(src, mask=None, src_key_padding_mask=None). */
const ENCODER_FORWARD = [param.custom('src', 'Tensor', as<Tensor>), optMask('mask'), optMask('srcKeyPaddingMask')] as const;

/**
 * nn.TransformerEncoder(encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True): numLayers
 * deep copies of encoderLayer (each with its own parameters, starting from the same values, as PyTorch's
 * _get_clones) run in turn, then norm if given. State-dict keys are layers.0.self_attn.in_proj_weight, ...,
 * norm.weight. enableNestedTensor and maskCheck only steer PyTorch's nested-tensor fast path, which Kindling does
 * not have; they are kept for PyTorch's signature. forward(src, mask?, srcKeyPaddingMask?).
 */
export class TransformerEncoder extends Module {
  /** The layers, deep copies of the encoderLayer given. */
  layers: ModuleList;
  /** The number of layers. */
  readonly numLayers: number;
  /** The final normalisation, or null. */
  norm: Module | null;
  /** Kept for PyTorch's signature (its nested-tensor fast path is not implemented). */
  readonly enableNestedTensor: boolean;
  /** Kept for PyTorch's signature (its nested-tensor fast path is not implemented). */
  readonly maskCheck: boolean;

  constructor(...args: CallArgs<typeof ENCODER>) {
    super();
    const op = 'TransformerEncoder';
    const o = bindOptions(op, ENCODER, args);
    checkModuleArg(op, 'encoderLayer', o.encoderLayer, false);
    checkSize(op, 'numLayers', o.numLayers, 1);
    checkModuleArg(op, 'norm', o.norm, true);
    this.layers = clones(o.encoderLayer, o.numLayers);
    this.numLayers = o.numLayers;
    this.norm = o.norm ?? null;
    this.enableNestedTensor = checkFlag(op, 'enableNestedTensor', o.enableNestedTensor);
    this.maskCheck = checkFlag(op, 'maskCheck', o.maskCheck);
  }

  /** forward(src, mask = null, srcKeyPaddingMask = null): each layer as layer(output, mask, srcKeyPaddingMask), then norm. */
  forward(...args: CallArgs<typeof ENCODER_FORWARD>): Tensor {
    const op = 'TransformerEncoder';
    const { src, mask, srcKeyPaddingMask } = bindOptions(op, ENCODER_FORWARD, args);
    checkPaddingMask(op, 'srcKeyPaddingMask', srcKeyPaddingMask);
    let output = src;
    for (const layer of this.layers) output = layer(output, mask, srcKeyPaddingMask) as Tensor;
    return this.norm !== null ? (this.norm(output) as Tensor) : output;
  }
}

/** TransformerDecoder(decoder_layer, num_layers, norm=None). */
const DECODER = [moduleParam('decoderLayer'), late(param.int('numLayers')), optModuleParam('norm')] as const;

/**
 * nn.TransformerDecoder(decoder_layer, num_layers, norm=None): numLayers deep copies of decoderLayer run in turn
 * over the target with the same memory, then norm if given (PyTorch 1.13's). forward(tgt, memory, tgtMask?,
 * memoryMask?, tgtKeyPaddingMask?, memoryKeyPaddingMask?).
 */
export class TransformerDecoder extends Module {
  /** The layers, deep copies of the decoderLayer given. */
  layers: ModuleList;
  /** The number of layers. */
  readonly numLayers: number;
  /** The final normalisation, or null. */
  norm: Module | null;

  constructor(...args: CallArgs<typeof DECODER>) {
    super();
    const op = 'TransformerDecoder';
    const o = bindOptions(op, DECODER, args);
    checkModuleArg(op, 'decoderLayer', o.decoderLayer, false);
    checkSize(op, 'numLayers', o.numLayers, 1);
    checkModuleArg(op, 'norm', o.norm, true);
    this.layers = clones(o.decoderLayer, o.numLayers);
    this.numLayers = o.numLayers;
    this.norm = o.norm ?? null;
  }

  /**
   * forward(tgt, memory, tgtMask = null, memoryMask = null, tgtKeyPaddingMask = null, memoryKeyPaddingMask = null):
   * each layer in turn with the same memory and masks, then norm.
   */
  forward(...args: CallArgs<typeof DECODER_FORWARD>): Tensor {
    const op = 'TransformerDecoder';
    const a = bindOptions(op, DECODER_FORWARD, args);
    let output = a.tgt;
    for (const layer of this.layers) {
      output = layer(output, a.memory, a.tgtMask, a.memoryMask, a.tgtKeyPaddingMask, a.memoryKeyPaddingMask) as Tensor;
    }
    return this.norm !== null ? (this.norm(output) as Tensor) : output;
  }
}

/**
 * Transformer(d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
 * dropout=0.1, activation=relu, custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-05,
 * batch_first=False, norm_first=False, *, dtype=None).
 */
const TRANSFORMER = [
  late(param.int('dModel', 512)),
  late(param.int('nhead', 8)),
  late(param.int('numEncoderLayers', 6)),
  late(param.int('numDecoderLayers', 6)),
  late(param.int('dimFeedforward', 2048)),
  late(param.float('dropout', 0.1)),
  activationParam,
  optModuleParam('customEncoder'),
  optModuleParam('customDecoder'),
  late(param.float('layerNormEps', 1e-5)),
  late(param.bool('batchFirst', false)),
  late(param.bool('normFirst', false)),
  dtypeParam,
] as const;

export type TransformerOptions = OptionsOf<typeof TRANSFORMER>;

/** Transformer.forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None). */
const TRANSFORMER_FORWARD = [
  param.custom('src', 'Tensor', as<Tensor>),
  param.custom('tgt', 'Tensor', as<Tensor>),
  optMask('srcMask'),
  optMask('tgtMask'),
  optMask('memoryMask'),
  optMask('srcKeyPaddingMask'),
  optMask('tgtKeyPaddingMask'),
  optMask('memoryKeyPaddingMask'),
] as const;

/** generate_square_subsequent_mask(sz, device='cpu', dtype=None). */
const SQUARE_MASK = [
  late(param.int('sz')),
  late(param.custom('device', 'Device', as<string | TorchDevice>, 'cpu')),
  late(param.custom('dtype', 'dtype?', as<DType | null>, null)),
] as const;

/**
 * nn.Transformer(d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
 * dropout=0.1, activation='relu', custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-05,
 * batch_first=False, norm_first=False, *, dtype=None): a TransformerEncoder (with a final LayerNorm) and a
 * TransformerDecoder (likewise) under encoder and decoder, every parameter of more than one dim re-drawn with
 * xavier_uniform_ as PyTorch's. forward(src, tgt, srcMask?, tgtMask?, memoryMask?, srcKeyPaddingMask?,
 * tgtKeyPaddingMask?, memoryKeyPaddingMask?) gives the decoder's output.
 */
export class Transformer extends Module {
  /** The encoder (a TransformerEncoder, or customEncoder). */
  encoder: Module;
  /** The decoder (a TransformerDecoder, or customDecoder). */
  decoder: Module;
  /** The model dimension (d_model). */
  readonly dModel: number;
  /** The number of attention heads. */
  readonly nhead: number;
  /** Whether inputs are [N, S, E] rather than [S, N, E]. */
  readonly batchFirst: boolean;

  constructor(...args: CallArgs<typeof TRANSFORMER>) {
    super();
    const op = 'Transformer';
    const o = bindOptions(op, TRANSFORMER, args);
    checkSize(op, 'dModel', o.dModel, 1);
    checkSize(op, 'numEncoderLayers', o.numEncoderLayers, 1);
    checkSize(op, 'numDecoderLayers', o.numDecoderLayers, 1);
    checkModuleArg(op, 'customEncoder', o.customEncoder, true);
    checkModuleArg(op, 'customDecoder', o.customDecoder, true);
    const layerArgs = [
      o.dModel,
      o.nhead,
      {
        dimFeedforward: o.dimFeedforward,
        dropout: o.dropout,
        activation: o.activation,
        layerNormEps: o.layerNormEps,
        batchFirst: o.batchFirst,
        normFirst: o.normFirst,
        dtype: o.dtype,
      },
    ] as const;
    const norm = () => new LayerNorm(o.dModel, { eps: o.layerNormEps, dtype: o.dtype });
    this.encoder = o.customEncoder ?? new TransformerEncoder(new TransformerEncoderLayer(...layerArgs), o.numEncoderLayers, norm());
    this.decoder = o.customDecoder ?? new TransformerDecoder(new TransformerDecoderLayer(...layerArgs), o.numDecoderLayers, norm());
    this.resetParameters();
    this.dModel = o.dModel;
    this.nhead = o.nhead;
    this.batchFirst = checkFlag(op, 'batchFirst', o.batchFirst);
  }

  /** Re-draws every parameter of more than one dim with xavier_uniform_ (PyTorch's _reset_parameters). */
  resetParameters(): void {
    for (const p of this.parameters()) if (p.ndim > 1) init.xavierUniform_(p);
  }

  /**
   * forward(src, tgt, srcMask = null, tgtMask = null, memoryMask = null, srcKeyPaddingMask = null,
   * tgtKeyPaddingMask = null, memoryKeyPaddingMask = null): encoder(src, srcMask, srcKeyPaddingMask) as memory,
   * then decoder(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask).
   */
  forward(...args: CallArgs<typeof TRANSFORMER_FORWARD>): Tensor {
    const op = 'Transformer';
    const a = bindOptions(op, TRANSFORMER_FORWARD, args);
    const { src, tgt } = a;
    if (!(src instanceof Tensor) || !(tgt instanceof Tensor)) {
      throw new TypeError(`${op}: src and tgt must be Tensors, got ${K.fmtValue(src)} and ${K.fmtValue(tgt)}`);
    }
    const batched = src.ndim === 3;
    const b = this.batchFirst ? 0 : 1;
    if (batched && src.size(b) !== tgt.size(b)) {
      throw new RangeError(`${op}: the batch number of src and tgt must be equal, got src ${fmt(src._shape)} and tgt ${fmt(tgt._shape)}`);
    }
    if (src.size(-1) !== this.dModel || tgt.size(-1) !== this.dModel) {
      throw new RangeError(
        `${op}: the feature number of src and tgt must be equal to dModel (${this.dModel}), got src ${fmt(src._shape)} and tgt ${fmt(tgt._shape)}`,
      );
    }
    const memory = this.encoder(src, a.srcMask, a.srcKeyPaddingMask) as Tensor;
    return this.decoder(tgt, memory, a.tgtMask, a.memoryMask, a.tgtKeyPaddingMask, a.memoryKeyPaddingMask) as Tensor;
  }

  /**
   * generateSquareSubsequentMask(sz, device = 'cpu', dtype = float32): the causal mask [sz, sz], -inf above the
   * diagonal and 0 on and below it (a float mask: added to the attention scores).
   */
  static generateSquareSubsequentMask(...args: CallArgs<typeof SQUARE_MASK>): Tensor {
    const op = 'Transformer.generateSquareSubsequentMask';
    const o = bindOptions(op, SQUARE_MASK, args);
    checkSize(op, 'sz', o.sz, 0);
    return full([o.sz, o.sz], -Infinity, { device: o.device, dtype: o.dtype ?? 'float32' }).triu(1);
  }
}
