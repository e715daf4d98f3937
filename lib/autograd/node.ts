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
