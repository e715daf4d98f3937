// torch.onnx.export: run the model once on example inputs with a tracer in
// the op-declaration layer (Note [Op tracer], lib/ops/op.ts), record each
// declared op through its ONNX mapping (mappings.ts), and write a ModelProto
// with the parameters and buffers as initializers.
//
// What keeps the graph honest (never a silently wrong one):
// - an op reached with a traced value and no mapping: a composite is
//   followed into (its parts are ops too), a primitive fails the export
//   with its name;
// - a tensor reaching a mapped op must be a traced value, a parameter or
//   buffer of the model, or the result of ops that saw no traced value
//   (constants); anything else (made by code that bypasses declared ops)
//   fails the export;
// - a traced value written in place by something the tracer did not see
//   (its storage version moved) fails the export when next used.
import { writeFileSync } from 'node:fs';
import { Tensor } from '../tensor.js';
import { isFloating, type DType } from '../dtype.js';
import { noGrad } from '../autograd/grad_mode.js';
import { setOpTracer, type OpSpec, type OpTracer } from '../ops/op.js';
import type { Param } from '../util/args.js';
import { fmtValue } from '../util/args.js';
import { Module } from '../nn/module.js';
import { full, tensor as fromValues } from '../ops/creation.js';
import { F, IR_VERSION, Message } from './proto.js';
import { nodeProto, tensorProto, valueInfoProto, type Attr, type Ctx, type Dyn, type GraphNode } from './graph.js';
import { mappingOf } from './mappings.js';
import { installAttentionHook, installModuleHooks } from './modules.js';

/** Options of torch.onnx.export, as PyTorch's keyword arguments. */
export interface ExportOptions {
  /** Names of the graph inputs, in the order of args (default input_0, input_1, ...). */
  inputNames?: string[];
  /** Names of the graph outputs (default output_0, ...). */
  outputNames?: string[];
  /**
   * Dynamic axes by input or output name: a list of axes (named `<name>_dynamic_axes_<k>`, as PyTorch's) or
   * { axis: symbol } ({ input: { 0: 'batch' } }). An output axis that follows from an input's dynamic axis is
   * dynamic without being named here.
   */
  dynamicAxes?: Record<string, number[] | Record<number, string>>;
  /** The ONNX opset (17, the only one written; onnx 1.12 and ONNX Runtime read it). */
  opsetVersion?: number;
}

const OPSET = 17;
const KNOWN = ['inputNames', 'outputNames', 'dynamicAxes', 'opsetVersion'];

interface Traced {
  name: string;
  version: number;
  dyn: Dyn;
}

class Tracer implements OpTracer {
  readonly nodes: GraphNode[] = [];
  /** Initializers by name, in the order they were first used. */
  readonly initializers = new Map<string, Tensor>();
  private readonly values = new Map<Tensor, Traced>();
  private readonly constants = new WeakSet<Tensor>();
  private readonly constantNames = new Map<Tensor, string>();
  private readonly namedParams: Map<Tensor, string>;
  private readonly dynSizes: Set<number>;
  private counter = 0;

  constructor(params: Map<Tensor, string>, dynSizes: Set<number>) {
    this.namedParams = params;
    this.dynSizes = dynSizes;
  }

  fresh(base: string): string {
    return `/${base}_${this.counter++}`;
  }

  addInput(t: Tensor, name: string, dyn: Dyn): void {
    this.values.set(t, { name, version: t._storage.version, dyn });
  }

  traced(t: Tensor): Traced | undefined {
    return this.values.get(t);
  }

  call(spec: OpSpec<readonly Param[], unknown>, args: Record<string, unknown>, run: () => unknown): unknown {
    const tensors = tensorsIn(args);
    if (!tensors.some((t) => this.values.has(t))) {
      // Nothing traced goes in: a constant, computed now and written as
      // values, if what goes in is constant (parameters, buffers, constants).
      // A tensor of unknown origin (a view of a traced one made by code that
      // bypasses declared ops) makes results of unknown origin, which
      // valueOf refuses, never constants.
      if (tensors.length === 0) this.checkNoDynamicSize(spec.name, args);
      const constant = tensors.every((t) => this.constants.has(t) || this.namedParams.has(t));
      const r = this.untraced(run);
      if (constant) for (const t of tensorsIn({ r })) this.constants.add(t);
      return r;
    }
    const mapping = mappingOf(spec);
    if (mapping) {
      const r = this.untraced(run);
      mapping(this.ctx(spec.name), args, r);
      return r;
    }
    if (spec.body?.impl) return run();
    throw new Error(`torch.onnx.export: op '${spec.name}' has no ONNX mapping (lib/onnx/mappings.ts), so the model cannot be exported`);
  }

  /** A module recorded whole (modules.ts): computed untraced, then its nodes added, when a traced value goes in. */
  callModule(op: string, inputs: Tensor[], run: () => unknown, emit: (c: Ctx, result: unknown) => void): unknown {
    if (!inputs.some((t) => this.values.has(t))) return run();
    const r = this.untraced(run);
    // The emitter re-lays weights out with ops: constants, not part of the trace.
    this.untraced(() => emit(this.ctx(op), r));
    return r;
  }

  wrote(target: Tensor, value: Tensor): void {
    const v = this.values.get(value);
    if (v) this.values.set(target, { ...v, version: target._storage.version });
    else if (this.values.has(target))
      throw new Error('torch.onnx.export: a traced tensor was overwritten in place with a value the exporter did not record');
  }

  // zeros, arange, tensor([...]) made from numbers alone: a constant, unless
  // its size (or a value given by the caller: torch.tensor([n, 16]),
  // full([1], n)) equals a dynamic axis' example size, which may have come
  // from x.size(0) and would freeze that axis.
  created(t: Tensor, op: string): void {
    const nums = t.shape.slice();
    const given = op === 'tensor' || op === 'full';
    if (given && !isFloating(t.dtype) && t.dtype !== 'bool' && t.numel() <= 64 && t.ndim <= 1)
      for (const v of t.tolist() as (number | bigint)[]) nums.push(Number(v));
    this.refuseDynamicSizes(`${op}(...)`, nums, `a constant of shape [${t.shape.join(', ')}]`);
    this.constants.add(t);
  }

  private untraced(run: () => unknown): unknown {
    const prev = setOpTracer(null);
    try {
      return run();
    } finally {
      setOpTracer(prev);
    }
  }

  // A creation op (zeros, arange) whose sizes equal a dynamic axis' size
  // may have been given that axis' size (x.size(0)), which a constant would
  // freeze: refused rather than guessed.
  private checkNoDynamicSize(op: string, args: Record<string, unknown>): void {
    const nums: number[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'number') nums.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
    };
    for (const k in args) walk(args[k]);
    this.refuseDynamicSizes(`${op}(${fmtValue(nums)})`, nums, 'a constant');
  }

  private refuseDynamicSizes(call: string, nums: readonly number[], what: string): void {
    for (const n of nums)
      if (this.dynSizes.has(n))
        throw new Error(
          `torch.onnx.export: ${call} makes ${what} with a size ${n} that equals a dynamic axis' example size; ` +
            'if it follows the batch the graph would freeze it: export with an example size that occurs nowhere else',
        );
  }

  private ctx(op: string): Ctx {
    const node = (opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, n = 1): string[] => {
      const outputs = Array.from({ length: n }, () => this.fresh(opType));
      this.nodes.push({ opType, inputs: inputs.slice(), outputs, attrs });
      return outputs;
    };
    const made = (make: () => Tensor): string => this.constantTensor(this.untraced(make) as Tensor);
    return {
      op,
      value: (t) => this.valueOf(op, t),
      dyn: (t) => this.values.get(t)?.dyn ?? t.shape.map(() => null),
      valueAs: (t, dtype) => {
        const name = this.valueOf(op, t);
        return t.dtype === dtype ? name : node('Cast', [name], { to: { int: onnxType(dtype) } })[0];
      },
      scalar: (v, dtype) => made(() => fromValues(v, { dtype })),
      ints: (v) => made(() => fromValues(v.slice(), { dtype: 'int64' })),
      constant: (t) => this.constantTensor(t),
      filled: (shape, v, dtype) => made(() => full(shape.slice(), v, { dtype })),
      node,
      bind: (result, name, dyn) => {
        this.values.set(result, { name, version: result._storage.version, dyn });
      },
      fail: (why): never => {
        throw new Error(`torch.onnx.export: ${op} cannot be exported: ${why}`);
      },
    };
  }

  private valueOf(op: string, t: Tensor): string {
    const v = this.values.get(t);
    if (v) {
      if (v.version !== t._storage.version)
        throw new Error(
          `torch.onnx.export: a tensor reaching ${op} was written in place by code the exporter did not see ` +
            '(only declared ops are recorded)',
        );
      return v.name;
    }
    const p = this.namedParams.get(t);
    if (p !== undefined) {
      this.initializers.set(p, t);
      return p;
    }
    if (this.constants.has(t)) return this.constantTensor(t);
    throw new Error(
      `torch.onnx.export: a tensor of shape [${t.shape.join(', ')}] reaching ${op} is not an input, a parameter or buffer of ` +
        'the model, or the result of a declared op; register it as a buffer (module.registerBuffer) to export it',
    );
  }

  private constantTensor(t: Tensor): string {
    let name = this.constantNames.get(t);
    if (name === undefined) {
      name = this.fresh('Constant');
      this.constantNames.set(t, name);
      this.initializers.set(name, t);
    }
    return name;
  }
}

function tensorsIn(args: Record<string, unknown>): Tensor[] {
  const out: Tensor[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (v instanceof Tensor) out.push(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v !== null && typeof v === 'object' && depth < 2) for (const k in v) walk((v as Record<string, unknown>)[k], depth + 1);
  };
  for (const k in args) walk(args[k], 0);
  return out;
}

function onnxType(dtype: DType): number {
  const codes: Record<string, number> = { float32: 1, uint8: 2, int8: 3, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
  const c = codes[dtype];
  if (c === undefined) throw new TypeError(`torch.onnx.export: no ONNX type for ${dtype}`);
  return c;
}

function axesOf(spec: number[] | Record<number, string> | undefined, name: string, ndim: number, where: string): Map<number, string> {
  const out = new Map<number, string>();
  if (spec === undefined) return out;
  const entries: [number, string][] = Array.isArray(spec)
    ? spec.map((a, k) => [a, `${name}_dynamic_axes_${k + 1}`])
    : Object.entries(spec).map(([a, s]) => [Number(a), s]);
  for (const [a, s] of entries) {
    if (!Number.isInteger(a) || a < 0 || a >= ndim)
      throw new RangeError(`torch.onnx.export: dynamicAxes['${name}'] names axis ${fmtValue(a)}, but ${where} has ${ndim} dims`);
    if (typeof s !== 'string' || s === '' || s === '?')
      throw new TypeError(`torch.onnx.export: dynamicAxes['${name}'][${a}] must be a non-empty name, got ${fmtValue(s)}`);
    out.set(a, s);
  }
  return out;
}

/**
 * torch.onnx.export(model, args, path, options): runs `model` once on `args` (in eval mode, without grad),
 * records the declared ops it calls and writes an ONNX model (opset 17) to `path`, the parameters and buffers
 * as initializers named as in the state dict. An op with no ONNX mapping fails the export with its name.
 * nn.LSTM / nn.GRU / nn.RNN are written as ONNX's LSTM / GRU / RNN ops (one per layer; projSize and packed
 * input refused), nn.MultiheadAttention, F.scaledDotProductAttention and the Transformer layers as MatMul,
 * Softmax, Reshape and Transpose (lib/onnx/modules.ts).
 * Returns the file's bytes.
 *
 * @example
 * torch.onnx.export(model, [torch.randn(1, 784)], 'model.onnx', {
 *   inputNames: ['input'], outputNames: ['logits'], dynamicAxes: { input: { 0: 'batch' } },
 * });
 */
export function exportModel(model: Module, args: Tensor | Tensor[], path: string | null, options: ExportOptions = {}): Uint8Array {
  if (!(model instanceof Module)) throw new TypeError(`torch.onnx.export: model must be an nn.Module, got ${fmtValue(model)}`);
  const inputs = args instanceof Tensor ? [args] : args;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((t) => t instanceof Tensor))
    throw new TypeError('torch.onnx.export: args must be a Tensor or a non-empty array of Tensors');
  if (path !== null && typeof path !== 'string') throw new TypeError(`torch.onnx.export: path must be a string, got ${fmtValue(path)}`);
  if (options === null || typeof options !== 'object') throw new TypeError('torch.onnx.export: options must be an object');
  for (const k of Object.keys(options))
    if (!KNOWN.includes(k)) throw new TypeError(`torch.onnx.export: unknown option '${k}' (known: ${KNOWN.join(', ')})`);
  const opset = options.opsetVersion ?? OPSET;
  if (opset !== OPSET) throw new RangeError(`torch.onnx.export: opsetVersion ${fmtValue(opset)} is not supported; use ${OPSET}`);
  const inputNames = options.inputNames ?? inputs.map((_, i) => `input_${i}`);
  if (inputNames.length !== inputs.length)
    throw new RangeError(`torch.onnx.export: ${inputNames.length} inputNames for ${inputs.length} inputs`);
  const dynamicAxes = options.dynamicAxes ?? {};
  for (const t of inputs)
    if (t.device !== 'cpu' || t.dtype === 'float16' || t.dtype === 'bfloat16')
      throw new TypeError(`torch.onnx.export: inputs must be CPU tensors of a non-half dtype, got ${t.dtype} on ${t.device}`);

  // Parameters and buffers, by their state-dict names.
  const params = new Map<Tensor, string>();
  for (const [n, p] of model.namedParameters()) params.set(p, n);
  for (const [n, b] of model.namedBuffers()) if (b !== null) params.set(b, n);
  for (const t of params.keys())
    if (t.device !== 'cpu') throw new TypeError('torch.onnx.export: the model must be on the CPU (model.to("cpu"))');

  const dynSizes = new Set<number>();
  const inputDyn: Dyn[] = inputs.map((t, i) => {
    const axes = axesOf(dynamicAxes[inputNames[i]], inputNames[i], t.ndim, `input '${inputNames[i]}'`);
    for (const a of axes.keys()) dynSizes.add(t.shape[a]);
    return t.shape.map((_, a) => axes.get(a) ?? null);
  });

  const tracer = new Tracer(params, dynSizes);
  // Distinct objects for the inputs: a model may be given one tensor twice.
  const traceInputs = inputs.map((t) => t.detach());
  traceInputs.forEach((t, i) => tracer.addInput(t, inputNames[i], inputDyn[i]));

  const training = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  let result: unknown;
  const unhook = installModuleHooks(
    (op, ins, run, emit) => tracer.callModule(op, ins, run, emit),
    (t) => tracer.traced(t) !== undefined,
  );
  const unhookAttention = installAttentionHook((op, ins, run, emit) => tracer.callModule(op, ins, run, emit));
  const prev = setOpTracer(tracer);
  try {
    result = noGrad(() => (model as unknown as { forward(...a: Tensor[]): unknown }).forward(...traceInputs));
  } finally {
    setOpTracer(prev);
    unhook();
    unhookAttention();
    for (const [m, t] of training) m.training = t;
  }

  const outputs = result instanceof Tensor ? [result] : Array.isArray(result) ? (result as unknown[]) : [result];
  if (!outputs.every((t) => t instanceof Tensor))
    throw new TypeError('torch.onnx.export: the model must return a Tensor or an array of Tensors');
  const outputNames = options.outputNames ?? outputs.map((_, i) => `output_${i}`);
  if (outputNames.length !== outputs.length)
    throw new RangeError(`torch.onnx.export: ${outputNames.length} outputNames for ${outputs.length} outputs`);
  const known = new Set([...inputNames, ...outputNames]);
  for (const k of Object.keys(dynamicAxes))
    if (!known.has(k)) throw new TypeError(`torch.onnx.export: dynamicAxes names '${k}', which is no input or output name`);

  // Graph outputs: an Identity from the traced value to the output's name.
  const outputInfo: Message[] = [];
  (outputs as Tensor[]).forEach((t, i) => {
    const v = tracer.traced(t);
    if (!v) throw new Error(`torch.onnx.export: output ${i} does not depend on the inputs through declared ops`);
    tracer.nodes.push({ opType: 'Identity', inputs: [v.name], outputs: [outputNames[i]], attrs: {} });
    const named = axesOf(dynamicAxes[outputNames[i]], outputNames[i], t.ndim, `output '${outputNames[i]}'`);
    const dyn = t.shape.map((_, a) => named.get(a) ?? v.dyn[a] ?? null);
    outputInfo.push(valueInfoProto(outputNames[i], t.dtype, t.shape, dyn));
  });

  const graph = new Message();
  tracer.nodes.forEach((n, i) => graph.bytes(F.graph.node, nodeProto(n, i)));
  graph.bytes(F.graph.name, 'kindling');
  for (const [name, t] of tracer.initializers) graph.bytes(F.graph.initializer, tensorProto(name, t));
  inputs.forEach((t, i) => graph.bytes(F.graph.input, valueInfoProto(inputNames[i], t.dtype, t.shape, inputDyn[i])));
  for (const o of outputInfo) graph.bytes(F.graph.output, o);

  const bytes = new Message()
    .int(F.model.irVersion, IR_VERSION)
    .bytes(F.model.producerName, 'kindling')
    .bytes(F.model.graph, graph)
    .bytes(F.model.opsetImport, new Message().bytes(F.opset.domain, '').int(F.opset.version, OPSET))
    .finish();
  if (path !== null) writeFileSync(path, bytes);
  return bytes;
}

export type { Attr, Ctx, Dyn };
