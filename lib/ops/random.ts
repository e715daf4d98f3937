// Sampling from a tensor's values: multinomial and bernoulli. A method
// module (Note [Method modules] in tensor_methods.ts): torch.multinomial and
// x.multinomial(...). The draws are made on the CPU from the generator's
// stream (the default one unless a generator is given) and copied to the
// input's device, so a seed gives the same samples on every device.
import { Tensor } from '../tensor.js';
import { define, op, tensorParam as T } from './op.js';
import { param as p } from '../util/args.js';
import * as K from './kernels.js';
import { isFloating } from '../dtype.js';
import { generatorParam } from './generator.js';
import { bernoulliDraw, uniforms, valuesOf } from './random_internal.js';

export const multinomial = op(
  'multinomial',
  [T.tensor('input'), p.int('numSamples'), p.bool('replacement', false), generatorParam],
  'int64 indices drawn from the categories of each row of input (1-d or 2-d), with probabilities proportional to its nonnegative weights',
);
define(multinomial, {
  impl: ({ input, numSamples, replacement, generator }): Tensor => {
    const nd = input._shape.length;
    if (nd !== 1 && nd !== 2) throw new RangeError(`multinomial: prob_dist must be 1 or 2 dim, got ${nd} dims`);
    if (!isFloating(input.dtype))
      throw new TypeError(`multinomial: only floating-point dtypes are supported for input, got ${input.dtype}`);
    if (numSamples <= 0) throw new RangeError(`multinomial: cannot sample numSamples <= 0 samples (got ${numSamples})`);
    const rows = nd === 2 ? input._shape[0] : 1;
    const cats = input._shape[nd - 1];
    if (!replacement && numSamples > cats)
      throw new RangeError(
        `multinomial: cannot sample numSamples > prob_dist.size(-1) samples without replacement (${numSamples} > ${cats})`,
      );
    const w = valuesOf(input);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cats; c++) {
        const v = w[r * cats + c];
        if (!(v >= 0) || v === Infinity)
          throw new RangeError(`multinomial: probability tensor contains either inf, nan or element < 0 (row ${r}, category ${c}: ${v})`);
        sum += v;
      }
      if (!(sum > 0)) throw new RangeError(`multinomial: invalid multinomial distribution (sum of probabilities <= 0) in row ${r}`);
    }
    const out = K.empty(nd === 2 ? [rows, numSamples] : [numSamples], 'int64', 'multinomial', 'cpu');
    const o = out._storage.data as BigInt64Array;
    if (replacement) {
      // Inverse CDF: the first category whose cumulative weight exceeds u * total.
      const u = uniforms(rows * numSamples, generator, 'multinomial');
      const cdf = new Float64Array(cats);
      for (let r = 0; r < rows; r++) {
        let acc = 0;
        for (let c = 0; c < cats; c++) cdf[c] = acc += w[r * cats + c];
        for (let s = 0; s < numSamples; s++) {
          const target = u[r * numSamples + s] * acc;
          let lo = 0,
            hi = cats - 1;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (cdf[mid] > target) hi = mid;
            else lo = mid + 1;
          }
          o[r * numSamples + s] = BigInt(lo);
        }
      }
    } else {
      // Without replacement: the numSamples largest keys w / E, E ~ Exp(1)
      // (the exponential-race form of sequential sampling, as PyTorch
      // does); ties (zero weights) go to the lower index.
      const u = uniforms(rows * cats, generator, 'multinomial');
      const keys = new Float64Array(cats);
      const idx = Array.from({ length: cats }, (_, i) => i);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cats; c++) keys[c] = w[r * cats + c] / -Math.log1p(-u[r * cats + c]);
        idx.sort((a, b) => keys[b] - keys[a] || a - b);
        for (let s = 0; s < numSamples; s++) o[r * numSamples + s] = BigInt(idx[s]);
        idx.sort((a, b) => a - b);
      }
    }
    return input.device === 'cpu' ? out : K.toDevice(out, input.device, 'multinomial');
  },
});

export const bernoulli = op(
  'bernoulli',
  [T.tensor('input'), p.optFloat('p'), generatorParam],
  "1 with probability input (or p, when given) else 0, in input's dtype and shape",
);
define(bernoulli, {
  node: 'BernoulliBackward0',
  forward: ({ input, p: prob, generator }) => bernoulliDraw(input, prob, generator, 'bernoulli'),
  // PyTorch's derivative: no gradient flows through a draw (zeros, not none).
  grads: { input: (g) => K.empty(g._shape, g.dtype, 'bernoulli', g.device) },
});
