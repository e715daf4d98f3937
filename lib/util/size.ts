// torch.Size: what t.shape and t.size() return. An array of numbers in
// every way (indexing, length, iteration, spread, Array.isArray, JSON) that
// prints as PyTorch's does: torch.Size([512, 784]).
//
// This file sits at the bottom of lib/ with args.ts: it imports nothing.

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** A tensor's shape: an array of its sizes that prints as `torch.Size([2, 3])`. */
export class Size extends Array<number> {
  /** new Size([2, 3]), as torch.Size([2, 3]); a number is a length, as Array's. */
  constructor(sizes: ArrayLike<number> | number = 0) {
    if (typeof sizes === 'number') {
      super(sizes);
      return;
    }
    const n = sizes.length;
    super(n);
    for (let i = 0; i < n; i++) this[i] = sizes[i];
  }

  // What map, filter, slice and concat make is a plain array: a Size of
  // strings would print as torch.Size.
  static get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** The number of elements a tensor of this shape holds (torch.Size.numel). */
  numel(): number {
    let n = 1;
    for (let i = 0; i < this.length; i++) n *= this[i];
    return n;
  }

  override toString(): string {
    return `torch.Size([${this.join(', ')}])`;
  }

  [inspectCustom](): string {
    return this.toString();
  }
}
