// Shape arithmetic that everything above stands on (no imports).

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    // Past 2^53 only a zero-size tensor gets here ([0, 2^40, 1e10]): it
    // addresses nothing, and the kernels refuse strides outside int64.
    strides[i] = s <= Number.MAX_SAFE_INTEGER ? s : 0;
    s *= shape[i];
  }
  return strides;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}
