// The per-op cost of reading the grad mode: ns per call of a tiny add,
// outside any grad-mode block, inside a sync noGrad, inside an async
// noGrad scope (the AsyncLocalStorage path), and recorded (requiresGrad,
// which sets the mode twice per op). Median of 5 runs of 20000 calls.
//   node --import ./test/reliability/helpers/register-ts.mjs bench/grad_mode_overhead.ts
import * as torch from '../lib/index.js';

const N = 20000;
const RUNS = 5;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

function nsPerOp(body: () => void): number {
  const runs: number[] = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const t0 = process.hrtime.bigint();
    body();
    const ns = Number(process.hrtime.bigint() - t0) / N;
    if (r > 0) runs.push(ns); // the first run warms the JIT up
  }
  return median(runs);
}

async function nsPerOpAsync(body: () => Promise<void>): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const t0 = process.hrtime.bigint();
    await body();
    const ns = Number(process.hrtime.bigint() - t0) / N;
    if (r > 0) runs.push(ns);
  }
  return median(runs);
}

async function main(): Promise<void> {
  const a = torch.tensor([1, 2, 3], { dtype: 'float32' });
  const b = torch.tensor([4, 5, 6], { dtype: 'float32' });
  const w = torch.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
  const loop = () => {
    for (let i = 0; i < N; i++) a.add(b);
  };
  const rows: [string, number][] = [];
  rows.push(['add, no block', nsPerOp(loop)]);
  rows.push([
    'add, recorded (requiresGrad)',
    nsPerOp(() => {
      for (let i = 0; i < N; i++) w.add(b);
    }),
  ]);
  rows.push(['add, in sync noGrad', nsPerOp(() => torch.noGrad(loop))]);
  const noGradAsync = torch.noGrad as unknown as (fn: () => Promise<void>) => Promise<void>;
  let asyncNs: number | string = 'unsupported';
  try {
    asyncNs = await nsPerOpAsync(() =>
      noGradAsync(async () => {
        await null;
        loop();
      }),
    );
  } catch {
    /* before async scopes existed */
  }
  rows.push(['add, in async noGrad (after an await)', asyncNs as number]);
  rows.push([
    'add, recorded, in async enableGrad',
    await nsPerOpAsync(async () => {
      try {
        await (torch.enableGrad as unknown as (fn: () => Promise<void>) => Promise<void>)(async () => {
          await null;
          for (let i = 0; i < N; i++) w.add(b);
        });
      } catch {
        /* before async scopes existed */
      }
    }),
  ]);
  // The read itself, which every op makes.
  let on = 0;
  const reads = () => {
    for (let i = 0; i < N; i++) if (torch.isGradEnabled()) on++;
  };
  rows.push(['isGradEnabled(), no block', nsPerOp(reads)]);
  let scopedNs: number | string = 'unsupported';
  try {
    scopedNs = await nsPerOpAsync(() =>
      noGradAsync(async () => {
        await null;
        reads();
      }),
    );
  } catch {
    /* before async scopes existed */
  }
  rows.push(['isGradEnabled(), in async noGrad', scopedNs as number]);
  void on;
  for (const [name, ns] of rows) console.log(`${name.padEnd(42)} ${typeof ns === 'number' ? ns.toFixed(1) + ' ns/op' : ns}`);
}

void main();
