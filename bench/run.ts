// `npm run bench [-- NAME...]`: runs each workload in Kindling and in
// PyTorch (bench/torch_worker.py) in the same run and prints a table of the
// two, their ratio, the goal for it and whether the goal is met. Timed rows
// alternate the two sides after a warm-up and take medians; memory rows run
// a training job in a fresh child process per side; distributed rows run a
// job of several ranks per side and round (bench/ranks.ts). Results go to
// bench/results/latest.{json,md}. Never part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/index.js';
import { workloads, type MemoryWorkload, type InProcessSide, type RanksWorkload, type TimedWorkload, type Workload } from './workloads.js';
import { distUnavailable, rankJob } from './ranks.js';
import { cudaWorkloads } from './cuda_workloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', here.includes('/dist/') ? '..' : '');
const benchDir = join(root, 'bench');
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
/**
 * Pause before each side's round: OpenBLAS's idle threads keep polling
 * (sched_yield) for about 0.1 s after a call before they sleep, and the
 * side that ran last should not take CPU from the side that runs next.
 */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 200);
const settle = () => new Promise((res) => setTimeout(res, SETTLE_MS));
/**
 * Children (the PyTorch worker, the memory runs) use the same threads and
 * the OpenBLAS core type that lib/backend/native.ts chose when it loaded
 * (Note [OpenBLAS core type]), so both sides run the same sgemm kernels.
 * Kindling's thread pool sleeps while idle; PyTorch's OpenMP threads spin
 * by default, which on a busy machine takes the cores from OpenBLAS's
 * threads and from each other (measured on this shared 2-core machine:
 * PyTorch's MLP step 244 ms spinning, 5 ms sleeping; its 7x7 conv 164 ms and
 * 0.6 ms), so unless the user chose otherwise PyTorch's idle threads sleep
 * as well.
 */
const childEnv = {
  ...process.env,
  BENCH_THREADS: String(THREADS),
  OMP_NUM_THREADS: String(THREADS),
  OPENBLAS_NUM_THREADS: String(THREADS),
  OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
};

interface PyInfo {
  torch: string;
  threads: number;
  blas: string;
  openblasCoretype: string | null;
}

interface PyWorker {
  run(name: string, reps: number, inner: number): Promise<number[] | string>;
  close(): void;
  info: PyInfo;
}

function torchAvailable(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch']).status === 0;
}

async function startTorch(): Promise<PyWorker | null> {
  if (!torchAvailable()) return null;
  const proc = spawn(PYTHON, [join(benchDir, 'torch_worker.py')], { env: childEnv, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const queue: ((l: string) => void)[] = [];
  lines.on('line', (l) => queue.shift()?.(l));
  const next = () => new Promise<string>((res) => queue.push(res));
  const info = JSON.parse(await next()) as PyInfo;
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

/** The BLAS library this process mapped, to show that both sides use the same one. */
function blasLibrary(): string {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8').split('\n');
    const libs = new Set(maps.map((l) => basename(l.trim().split(/\s+/).pop() ?? '')).filter((l) => /openblas|libmkl/.test(l)));
    return [...libs].sort().join(', ') || 'none';
  } catch {
    return 'unknown';
  }
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

/** An in-process reference side, timed per call as timeKindling times Kindling's. */
async function inProcess(ref: InProcessSide): Promise<{ run(reps: number, inner: number): Promise<number[]> }> {
  const call = await ref.setup();
  return {
    async run(reps, inner) {
      const out: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < inner; i++) await call();
        out.push(Number(process.hrtime.bigint() - t0) / 1e9 / inner);
      }
      return out;
    },
  };
}

function warmUp(fn: () => void, inner: number): { probe: number; calls: number } {
  const t0 = process.hrtime.bigint();
  const times: number[] = [];
  while (times.length < 3 || (times.length < 5000 && Number(process.hrtime.bigint() - t0) < 0.5e9)) {
    times.push(...timeKindling(fn, 1, inner));
  }
  return { probe: median(times.slice(-3)), calls: times.length };
}

function fmtTime(s: number): string {
  if (s < 1e-3) return `${(s * 1e6).toFixed(1)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(2)} ms`;
  return `${s.toFixed(2)} s`;
}

interface Row {
  name: string;
  unit: 'time' | 'GFLOP/s' | 'MB';
  /** Seconds per call (time and GFLOP/s rows) or megabytes (MB rows). */
  kindling: number;
  torch: number | null;
  /** The fastest repetition of each side (timed rows; in the JSON only). */
  best?: { kindling: number; torch: number | null };
  /** Floating-point operations per call, for GFLOP/s rows. */
  flops?: number;
  /** The workload's reference, timed right after it in the same run (median seconds per call). */
  reference?: { label: string; flops: number; kindling: number; torch: number | null };
  /** Kindling / PyTorch, of times or of megabytes (< 1: Kindling better). */
  ratio: number | null;
  target: string | null;
  met: boolean | null;
  note?: string;
  /** What the second column holds when it is not PyTorch (e.g. '1 rank': Kindling's own job on one rank). */
  against?: string;
}

function show(r: Row, v: number | null): string {
  if (v === null) return '—';
  if (r.unit === 'GFLOP/s') return `${(r.flops! / v / 1e9).toFixed(1)} GFLOP/s`;
  if (r.unit === 'MB') return `${v.toFixed(0)} MB`;
  return fmtTime(v);
}

const status = (r: Row) => (r.met === null ? '—' : r.met ? 'met' : 'NOT MET');

const COLUMNS: [string, number][] = [
  ['workload', 26],
  ['Kindling', 15],
  ['PyTorch', 15],
  ['ratio', 6],
  ['target', 14],
  ['status', 8],
];

function consoleLine(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i][1]) : c.padStart(COLUMNS[i][1]))).join('  ');
}

function cells(r: Row): string[] {
  const other = show(r, r.torch) + (r.against && r.torch !== null ? ` (${r.against})` : '');
  return [r.name, show(r, r.kindling), other, r.ratio === null ? '—' : r.ratio.toFixed(2), r.target ?? '—', status(r)];
}

function finishRow(w: Workload, base: Omit<Row, 'ratio' | 'met' | 'target'>): Row {
  const ratio = base.torch ? base.kindling / base.torch : null;
  const met = w.target && ratio !== null ? ratio <= w.target.maxRatio : null;
  const row: Row = { ...base, ratio, target: w.target?.label ?? null, met };
  console.log(consoleLine(cells(row)) + (row.note ? `  (${row.note})` : ''));
  return row;
}

/** The side Kindling is timed against: PyTorch's worker, or a call in this process (ONNX Runtime rows). */
interface OtherSide {
  run(reps: number, inner: number): Promise<number[] | string>;
}

const pytorchSide = (py: PyWorker | null, torchName: string): OtherSide | null =>
  py ? { run: (reps, inner) => py.run(torchName, reps, inner) } : null;

/** Times fn for reps repetitions of inner calls on each side, after a warm-up, alternating rounds. */
async function timeBoth(fn: () => void, inner: number, other: OtherSide | null): Promise<{ k: number[]; p: number[]; note?: string }> {
  // Warm-up: Kindling runs for half a second (at least 3 calls, at most
  // 5000) so V8 has optimised the JS hot path, as a training loop's later
  // steps see it; a 3-call probe times interpreted code for the tiny rows.
  // The other side then makes as many calls (PyTorch's first ones build
  // caches, e.g. oneDNN's conv primitives).
  const { probe, calls } = warmUp(fn, inner);
  let note: string | undefined;
  const warm = other ? await other.run(calls, inner) : null;
  if (typeof warm === 'string') note = warm;
  // Enough repetitions for each side to run ~50 ms per round.
  const reps = Math.max(3, Math.min(50, Math.ceil(0.05 / Math.max(probe * inner, 1e-6))));
  const k: number[] = [];
  const p: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await settle();
    k.push(...timeKindling(fn, reps, inner));
    if (other && !note) {
      await settle();
      const r = await other.run(reps, inner);
      if (typeof r === 'string') note = r;
      else p.push(...r);
    }
  }
  return { k, p, note };
}

async function runTimed(w: TimedWorkload, py: PyWorker | null): Promise<Row> {
  w.before?.();
  try {
    const fn = w.setup();
    const other = w.otherSide ? await inProcess(w.otherSide) : pytorchSide(py, w.torchName ?? w.name);
    const timed = await timeBoth(fn, w.inner ?? 1, other);
    const { k, p } = timed;
    const note = timed.note ?? (w.otherSide ? `reference: ${w.otherSide.name}, not PyTorch` : undefined);
    let reference: Row['reference'];
    if (w.reference) {
      // Right after the row itself, so both see the machine as it is now.
      const ref = await timeBoth(w.reference.setup(), 1, timed.note ? null : pytorchSide(py, w.reference.torchName));
      reference = {
        label: w.reference.label,
        flops: w.reference.flops,
        kindling: median(ref.k),
        torch: ref.p.length ? median(ref.p) : null,
      };
    }
    return finishRow(w, {
      name: w.name,
      unit: w.flops ? 'GFLOP/s' : 'time',
      flops: w.flops,
      kindling: median(k),
      torch: p.length ? median(p) : null,
      best: { kindling: Math.min(...k), torch: p.length ? Math.min(...p) : null },
      reference,
      note,
    });
  } finally {
    w.after?.();
  }
}

interface MemoryResult {
  peakRssMB: number;
  seconds: number;
}

/** Runs one child to the end and reads the JSON line it prints last. */
function runChild(cmd: string, args: string[]): MemoryResult | string {
  const r = spawnSync(cmd, args, { env: childEnv, encoding: 'utf8', timeout: 20 * 60 * 1000, maxBuffer: 1 << 24 });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    const why = r.error?.message ?? (r.stderr?.trim().split('\n').pop() || `exit status ${r.status}`);
    return `${basename(args[0])} failed: ${why}`;
  }
  return JSON.parse(last) as MemoryResult;
}

async function runMemory(w: MemoryWorkload, pyAvailable: boolean): Promise<Row> {
  const k = runChild(process.execPath, [join(here, 'train_memory.js'), w.model, String(w.steps)]);
  const p = pyAvailable ? runChild(PYTHON, [join(benchDir, 'bench_models.py'), '--memory', w.model, String(w.steps)]) : null;
  const notes = [typeof k === 'string' ? k : `Kindling ${fmtTime(k.seconds / w.steps)}/step`];
  if (p) notes.push(typeof p === 'string' ? p : `PyTorch ${fmtTime(p.seconds / w.steps)}/step`);
  if (typeof k === 'string') throw new Error(`bench: ${w.name}: ${k}`);
  return finishRow(w, {
    name: w.name,
    unit: 'MB',
    kindling: k.peakRssMB,
    torch: p && typeof p !== 'string' ? p.peakRssMB : null,
    note: notes.join(', '),
  });
}

/** Rounds of the distributed rows: each is a fresh job per side (seconds of start-up each). */
const RANK_ROUNDS = Number(process.env.BENCH_RANK_ROUNDS ?? 3);

async function runRanks(w: RanksWorkload, pyAvailable: boolean): Promise<Row> {
  const reps = w.job === 'allreduce' ? 10 : 20;
  const env = { BENCH_DIST_WORKLOAD: w.job, BENCH_REPS: String(reps), BENCH_SIZE: String(w.size ?? 0) };
  const kindling = (world: number) => rankJob(process.execPath, [join(here, 'distributed_worker.js')], world, w.job, env);
  const pytorch = (world: number) => rankJob(PYTHON, [join(benchDir, 'distributed_torch.py')], world, w.job, env);
  const k: number[] = [];
  const other: number[] = [];
  let note: string | undefined;
  let pyFailed = !pyAvailable;
  if (!pyAvailable && w.against === 'pytorch') note = `PyTorch not available at ${PYTHON}`;
  for (let round = 0; round < RANK_ROUNDS; round++) {
    k.push(...(await kindling(w.world)));
    if (w.against === 'one-rank') other.push(...(await kindling(1)));
    else if (!pyFailed) {
      try {
        other.push(...(await pytorch(w.world)));
      } catch (e) {
        pyFailed = true;
        note = `PyTorch's job failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }
  if (w.against === 'one-rank' && !pyFailed) {
    // PyTorch's own scaling on the same job, for reference (one round each).
    try {
      const [p2, p1] = [median(await pytorch(w.world)), median(await pytorch(1))];
      note = `PyTorch DDP: ${w.world} ranks ${p2.toFixed(2)} ms, 1 rank ${p1.toFixed(2)} ms, ratio ${(p2 / p1).toFixed(2)}`;
    } catch (e) {
      note = `PyTorch's job failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return finishRow(w, {
    name: w.name,
    unit: 'time',
    kindling: median(k) / 1e3,
    torch: other.length ? median(other) / 1e3 : null,
    best: { kindling: Math.min(...k) / 1e3, torch: other.length ? Math.min(...other) / 1e3 : null },
    against: w.against === 'one-rank' ? '1 rank' : undefined,
    note,
  });
}

/** The largest sgemm rate seen on each side: the machine's peak as OpenBLAS reaches it. */
function sgemmPeak(rows: Row[]): string {
  const blas = rows.filter((r) => /^matmul_\d+$/.test(r.name));
  if (blas.length === 0) return 'sgemm peak: not measured (no matmul_N row in this run)';
  const rate = (r: Row, t: number | null) => (t ? r.flops! / t / 1e9 : 0);
  const k = Math.max(...blas.map((r) => rate(r, r.kindling)));
  const p = Math.max(...blas.map((r) => rate(r, r.torch)));
  return (
    `sgemm peak as OpenBLAS reaches it (largest over ${blas.map((r) => r.name).join(', ')}): ` +
    `PyTorch ${p ? p.toFixed(1) : '—'} GFLOP/s, Kindling (BLAS) ${k.toFixed(1)} GFLOP/s`
  );
}

/**
 * The LeNet step's achieved GFLOP/s as a share of the sgemm rate timed
 * right after the step in the same run (its row's reference), each side
 * against its own.
 */
function stepShareOfPeak(rows: Row[]): string | null {
  const step = rows.find((r) => r.name === 'train_lenet_gflops');
  if (!step) return null;
  const ref = step.reference;
  const gflops = (flops: number, t: number | null) => (t ? flops / t / 1e9 : 0);
  const side = (who: string, t: number | null, refT: number | null) => {
    if (t === null) return `${who} —`;
    const rate = gflops(step.flops!, t);
    const refRate = ref ? gflops(ref.flops, refT) : 0;
    return (
      `${who} ${rate.toFixed(1)} GFLOP/s` +
      (refRate ? ` = ${((100 * rate) / refRate).toFixed(0)}% of its ${ref!.label} rate in this run (${refRate.toFixed(1)} GFLOP/s)` : '')
    );
  };
  return (
    `LeNet training step (${(step.flops! / 1e9).toFixed(3)} GFLOP): ` +
    `${side('Kindling', step.kindling, ref?.kindling ?? null)}; ${side('PyTorch', step.torch, ref?.torch ?? null)}`
  );
}

/** Other processes' load makes timings noisy; say so next to the numbers. */
function machineLoad(): string {
  const load = loadavg()[0];
  const n = cpus().length;
  return `load average ${load.toFixed(1)} on ${n} CPUs at start` + (load > n / 2 ? ' (busy machine: timings are noisy)' : '');
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const selected = [...workloads, ...cudaWorkloads()].filter((w) => filters.length === 0 || filters.some((f) => w.name.includes(f)));
  if (selected.length === 0) throw new Error(`bench: no workload matches ${filters.join(', ')}`);
  torch.setNumThreads(THREADS);
  torch.manualSeed(0);
  const py = selected.some((w) => w.kind === 'time') ? await startTorch() : null;
  const pyAvailable = py !== null || torchAvailable();
  const cfg = torch.config();
  const header = [
    `Kindling: blas=${cfg.blas} (${blasLibrary()}) simd=${cfg.simd} threads=${THREADS}`,
    py
      ? `PyTorch ${py.info.torch}: blas=${py.info.blas} threads=${py.info.threads}`
      : pyAvailable
        ? 'PyTorch: in child processes only (memory and distributed rows)'
        : `PyTorch: not available at ${PYTHON} (Kindling only)`,
    `OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(OpenBLAS detects)'} on both sides` +
      (py && py.info.openblasCoretype !== (process.env.OPENBLAS_CORETYPE ?? null) ? ` (but PyTorch saw ${py.info.openblasCoretype})` : '') +
      `; PyTorch OMP_WAIT_POLICY=${childEnv.OMP_WAIT_POLICY}`,
    machineLoad(),
  ];
  for (const l of header) console.log(l);
  console.log();
  console.log(consoleLine(COLUMNS.map(([c]) => c)));
  const rows: Row[] = [];
  const failed: string[] = [];
  const skipped: string[] = [];
  for (const w of selected) {
    const why = w.kind === 'ranks' ? distUnavailable() : null;
    if (why !== null) {
      skipped.push(`${w.name}: ${why}`);
      console.log(`${w.name.padEnd(COLUMNS[0][1])}  skipped: ${why}`);
      continue;
    }
    try {
      if (w.kind === 'time') rows.push(await runTimed(w, py));
      else if (w.kind === 'memory') rows.push(await runMemory(w, pyAvailable));
      else rows.push(await runRanks(w, pyAvailable));
    } catch (e) {
      // One broken workload should not hide the others' numbers.
      failed.push(`${w.name}: ${e instanceof Error ? e.message : String(e)}`);
      console.log(`${w.name.padEnd(COLUMNS[0][1])}  FAILED: ${failed[failed.length - 1]}`);
    }
  }
  py?.close();
  const peak = sgemmPeak(rows);
  console.log(`\n${peak}`);
  const share = stepShareOfPeak(rows);
  if (share) console.log(share);
  console.log(summary(rows, failed, skipped));
  report(rows, failed, skipped, [...header, peak, ...(share ? [share] : [])], { config: cfg, pytorch: py?.info ?? null });
}

function summary(rows: Row[], failed: string[], skipped: string[]): string {
  const judged = rows.filter((r) => r.met !== null);
  const missed = judged.filter((r) => !r.met).map((r) => r.name);
  return (
    `targets met: ${judged.length - missed.length} of ${judged.length}` +
    (missed.length ? `; not met: ${missed.join(', ')}` : '') +
    (failed.length ? `; ${failed.length} workload(s) failed` : '') +
    (skipped.length ? `; ${skipped.length} skipped` : '')
  );
}

function report(rows: Row[], failed: string[], skipped: string[], header: string[], meta: object): void {
  const out = join(benchDir, 'results');
  mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString();
  writeFileSync(
    join(out, 'latest.json'),
    JSON.stringify({ stamp, threads: THREADS, rounds: ROUNDS, ...meta, header, rows, failed, skipped }, null, 2),
  );
  const md = [
    `# Kindling vs PyTorch (${stamp})`,
    '',
    ...header.map((l) => `- ${l}`),
    `- threads: ${THREADS}; times are medians of ${ROUNDS} alternating rounds after a warm-up; ` +
      'ratio = Kindling / PyTorch (time, or peak RSS for memory rows; < 1: Kindling better); a row marked ' +
      '(1 rank) compares Kindling on several ranks with Kindling on one',
    '',
    '| workload | Kindling | PyTorch | ratio | target | status |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${cells(r).join(' | ')} |`),
    '',
    summary(rows, failed, skipped),
    ...rows.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`),
    ...failed.map((f) => `- FAILED ${f}`),
    ...skipped.map((f) => `- skipped ${f}`),
  ].join('\n');
  writeFileSync(join(out, 'latest.md'), md + '\n');
  console.log(`\nwrote ${join(out, 'latest.md')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
