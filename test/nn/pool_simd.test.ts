import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as torch from '../../lib/index.js';

// The 2x2, stride-2 max pool has an AVX-512 loop for float32 and a compiled
// loop for every other CPU (native/cpu/nn.cc, Note [Branch-free max
// pooling]). The fixtures check whichever this machine runs; here each SIMD
// level KINDLING_SIMD can select runs in a child process (the level is read
// once per process) on the same input, full of ties and NaN, and must give
// exactly the values and indices of this process.
const script = `
const torch = await import(${JSON.stringify(new URL('../../dist/lib/index.js', import.meta.url).href)});
const x = torch.tensor(JSON.parse(process.argv[1]).map((v) => (v === null ? NaN : v)));
const { values, indices } = torch.nn.functional.maxPool2d(x.view(2, 3, 9, 37), 2, { returnIndices: true });
// Under noGrad the values come from the loop that skips the indices.
const bare = torch.noGrad(() => torch.nn.functional.maxPool2d(x.view(2, 3, 9, 37), 2));
process.stdout.write(JSON.stringify({ simd: torch.config().simd, values: values.tolist(), indices: indices.tolist(), bare: bare.tolist() }));
`;

function input(): number[] {
  const n = 2 * 3 * 9 * 37;
  const out: number[] = [];
  // Few distinct values, so most windows tie; every 11th element NaN.
  for (let i = 0; i < n; i++) out.push(i % 11 === 5 ? NaN : (Math.imul(i, 0x9e3779b1) >>> 29) % 3);
  return out;
}

describe('maxPool2d 2x2 at every SIMD level', () => {
  const data = input();
  const x = torch.tensor(data).view(2, 3, 9, 37);
  const here = torch.nn.functional.maxPool2d(x, 2, { returnIndices: true });
  for (const level of ['scalar', 'avx2', 'avx512']) {
    it(`KINDLING_SIMD=${level} matches this process`, () => {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(data)], {
        encoding: 'utf8',
        env: { ...process.env, KINDLING_SIMD: level },
      });
      // JSON writes NaN as null on both sides.
      const r = JSON.parse(out) as { simd: string; values: unknown; indices: unknown; bare: unknown };
      // A CPU without the level runs the best it has (the loader caps it).
      console.log(`maxPool2d 2x2: KINDLING_SIMD=${level} ran at simd=${r.simd}`);
      expect(r.indices).toEqual(here.indices.tolist());
      expect(r.values).toEqual(JSON.parse(JSON.stringify(here.values.tolist())));
      expect(r.bare).toEqual(JSON.parse(JSON.stringify(here.values.tolist())));
    });
  }
});
