// `npm run bench [-- NAME...]`: times each workload in Kindling and in
// PyTorch (bench/torch_worker.py) in the same run, alternating after a
// warm-up, and prints medians and the ratio. Results go to bench/results/.
// Never part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/index.js';
import { workloads, type Workload } from './workloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', here.includes('/dist/') ? '..' : '');
const benchDir = join(root, 'bench');
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

interface PyWorker {
  run(name: string, reps: number, inner: number): Promise<number[] | string>;
  close(): void;
  info: { torch: string; threads: number };
}

async function startTorch(): Promise<PyWorker | null> {
  if (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import torch']).status !== 0) return null;
  const proc = spawn(PYTHON, [join(benchDir, 'torch_worker.py')], {
    env: { ...process.env, BENCH_THREADS: String(THREADS), OMP_NUM_THREADS: String(THREADS) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout });
  const queue: ((l: string) => void)[] = [];
  lines.on('line', (l) => queue.shift()?.(l));
  const next = () => new Promise<string>((res) => queue.push(res));
  const info = JSON.parse(await next());
  return {
    info,
    async run(name, reps, inner) {
      proc.stdin.write(JSON.stringify({ name, reps, inner }) + '\n');
      const r = JSON.parse(await next());
      return r.error ? String(r.error) : (r.times as number[]);
    },
    close: () => proc.stdin.end(),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeKindling(fn: () => void, reps: number, inner: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e9 / inner);
  }
  return out;
}

function fmtTime(s: number): string {
  if (s < 1e-3) return `${(s * 1e6).toFixed(1)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(2)} ms`;
  return `${s.toFixed(2)} s`;
}

interface Row {
  name: string;
  unit: string;
  kindling: number;
  torch: number | null;
  /** Kindling time / PyTorch time (lower is better for Kindling). */
  ratio: number | null;
  note?: string;
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const selected = workloads.filter((w) => filters.length === 0 || filters.some((f) => w.name.includes(f)));
  if (selected.length === 0) throw new Error(`bench: no workload matches ${filters.join(', ')}`);
  torch.setNumThreads(THREADS);
  torch.manualSeed(0);
  const py = await startTorch();
  const cfg = torch.config();
  console.log(`Kindling: blas=${cfg.blas} simd=${cfg.simd} threads=${THREADS}`);
  console.log(py ? `PyTorch ${py.info.torch}, threads=${py.info.threads}` : `PyTorch: not available at ${PYTHON} (Kindling only)`);
  const rows: Row[] = [];
  for (const w of selected) rows.push(await runOne(w, py));
  py?.close();
  report(rows, cfg, py?.info ?? null);
}

async function runOne(w: Workload, py: PyWorker | null): Promise<Row> {
  w.before?.();
  try {
    const fn = w.setup();
    const inner = w.inner ?? 1;
    // Calibrate so one repetition takes ~50 ms at least.
    const probe = median(timeKindling(fn, 3, inner));
    const reps = Math.max(3, Math.min(50, Math.ceil(0.05 / Math.max(probe * inner, 1e-6))));
    const k: number[] = [];
    const p: number[] = [];
    let note: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      k.push(...timeKindling(fn, reps, inner));
      if (py) {
        const r = await py.run(w.torchName ?? w.name, reps, inner);
        if (typeof r === 'string') note = r;
        else p.push(...r);
      }
    }
    const km = median(k);
    const pm = p.length ? median(p) : null;
    const unit = w.flops ? 'GFLOP/s' : 'time';
    const row: Row = { name: w.name, unit, kindling: km, torch: pm, ratio: pm ? km / pm : null, note };
    const show = (t: number) => (w.flops ? `${(w.flops / t / 1e9).toFixed(1)} GFLOP/s` : fmtTime(t));
    console.log(
      `${w.name.padEnd(28)} kindling ${show(km).padStart(14)}   pytorch ${pm ? show(pm).padStart(14) : '—'.padStart(14)}` +
        `   time ratio ${row.ratio ? row.ratio.toFixed(2) : '—'}${note ? `  (${note})` : ''}`,
    );
    return row;
  } finally {
    w.after?.();
  }
}

function report(rows: Row[], cfg: object, pyInfo: object | null): void {
  const out = join(benchDir, 'results');
  mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString();
  writeFileSync(join(out, 'latest.json'), JSON.stringify({ stamp, config: cfg, pytorch: pyInfo, rows }, null, 2));
  const md = [
    `# Kindling vs PyTorch (${stamp})`,
    '',
    `threads: ${THREADS}; medians of ${ROUNDS} alternating rounds; ratio = Kindling time / PyTorch time (< 1: Kindling faster)`,
    '',
    '| workload | Kindling | PyTorch | ratio |',
    '|---|---|---|---|',
    ...rows.map((r) => {
      const w = workloads.find((x) => x.name === r.name)!;
      const show = (t: number) => (w.flops ? `${(w.flops / t / 1e9).toFixed(1)} GFLOP/s` : fmtTime(t));
      return `| ${r.name} | ${show(r.kindling)} | ${r.torch ? show(r.torch) : '—'} | ${r.ratio ? r.ratio.toFixed(2) : '—'} |`;
    }),
  ].join('\n');
  writeFileSync(join(out, 'latest.md'), md + '\n');
  console.log(`\nwrote ${join(out, 'latest.md')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
