// A node of the backward graph (PyTorch's grad_fn). Each differentiable op
// that runs with grad enabled makes one Node for its output; the node
// holds what the op saved and one edge per tensor input.
import type { Tensor } from '../tensor.js';

let nextSequence = 0;
const LEAF_SEQUENCE = 2 ** 52;

// Where an input's gradient goes: the input's own grad_fn, or for a leaf
// that requires grad, its AccumulateGrad node.
export type Edge = Node | null;

export class SavedTensor {
  constructor(
    readonly tensor: Tensor,
    readonly version: number,
  ) {
    // Saved memory outlives the code that made it: never given back early.
    tensor._storage._pinned = true;
  }
}

export abstract class Node {
  /** Later nodes run first in backward (PyTorch's sequence_nr). */
  readonly sequence = nextSequence++;
  /** Tensor hooks on this node's output: run on the incoming gradient. */
  preHooks: ((grad: Tensor) => Tensor | void)[] | null = null;
  /** Non-leaf tensors that asked for retainGrad. */
  retained: Tensor[] | null = null;
  /**
   * Whether apply runs only Kindling's own gradient code, which keeps no
   * reference to the gradient it gets nor to the memory it makes except in
   * what it returns: the engine may then give that memory back once the
   * gradients are consumed (Note [Warm block cache]). False where user
   * code runs (autograd.Function, module hooks).
   */
  get ownsGrads(): boolean {
    return false;
  }
  constructor(
    readonly name: string,
    readonly next: Edge[],
  ) {}
  abstract apply(grad: Tensor): (Tensor | null)[];
  /** Drops saved tensors after backward unless the graph is retained. */
  release(): void {}
  toString(): string {
    return `<${this.name}>`;
  }
}

/** The sink of a leaf tensor: sums incoming gradients into `.grad`. */
export class AccumulateGrad extends Node {
  // A leaf's sink runs as soon as it is ready, before any other node (PyTorch
  // gives AccumulateGrad the highest sequence number): .grad and its
  // post-accumulate hooks come as early as they can, which is what lets
  // DistributedDataParallel start reducing while backward goes on. Offset,
  // not equal, so that ready sinks still run in a fixed order.
  override readonly sequence = LEAF_SEQUENCE + nextSequence++;
  /** Hooks run with the leaf after its `.grad` has been accumulated (PyTorch's post-accumulate-grad hooks). */
  postAccumulateHooks: ((t: Tensor) => void)[] | null = null;
  constructor(readonly variable: Tensor) {
    super('AccumulateGrad', []);
  }
  apply(_grad: Tensor): (Tensor | null)[] {
    return [];
  }
}

/** The AccumulateGrad node of a leaf: one per tensor, made on first use. */
export function accumulatorOf(t: Tensor): AccumulateGrad {
  return (t._acc ??= new AccumulateGrad(t));
}

// Note [Multi-output nodes]: an op with several results whose gradients
// combine into one (unbind, split, chunk) records one node, as PyTorch's
// UnbindBackward0. Each result's grad_fn is one of the node's OutputSlots;
// the engine files the gradient reaching a slot under its index instead
// of summing it, and runs the node once with every result's gradient (null
// for results that got none). Its backward then builds the input's gradient
// once, rather than once per result into full-size zeros, which made a
// T-step loop over x.unbind() cost O(T²) in backward.

/** A node with one gradient per result (Note [Multi-output nodes]); results hold its `slots` as grad_fn. */
export abstract class MultiOutputNode extends Node {
  /** One per result, in order: the grad_fn of that result. */
  readonly slots: OutputSlot[];
  constructor(name: string, next: Edge[], outputs: number) {
    super(name, next);
    this.slots = [];
    for (let i = 0; i < outputs; i++) this.slots.push(new OutputSlot(this, i));
  }
  /** The engine calls applyAll; a multi-output node has no single incoming gradient. */
  apply(_grad: Tensor): (Tensor | null)[] {
    throw new Error(`${this.name}: internal error: a multi-output node runs through applyAll`);
  }
  /** The gradients of the inputs from each result's gradient (null where a result got none). */
  abstract applyAll(grads: (Tensor | null)[]): (Tensor | null)[];
}

/**
 * Result `index` of a MultiOutputNode, as its grad_fn: named as the node,
 * its one edge leads to it. Made after the node, so the engine reaches every
 * slot before the node itself.
 */
export class OutputSlot extends Node {
  constructor(
    readonly owner: MultiOutputNode,
    readonly index: number,
  ) {
    super(owner.name, [owner]);
  }
  /** The engine files a slot's gradient with its owner (Note [Multi-output nodes]); this is never called. */
  apply(grad: Tensor): (Tensor | null)[] {
    return [grad];
  }
}
