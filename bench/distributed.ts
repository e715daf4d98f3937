// `npm run bench:distributed`: allReduce (sum) of 1M and 10M float32 on 2
// ranks on this machine, Kindling's Gloo backend against PyTorch's
// dist.all_reduce over gloo, each side a job of its own (2 processes each),
// alternating over BENCH_ROUNDS rounds. Prints median milliseconds per call (rank 0's
// clock) and their ratio. Never part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const WORLD = 2;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function runRank(cmd: string, args: string[], rank: number, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: {
        ...process.env,
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        RANK: String(rank),
        WORLD_SIZE: String(WORLD),
        OMP_NUM_THREADS: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} rank ${rank} exited with ${code}`))));
  });
}

async function job(cmd: string, args: string[]): Promise<Record<string, number[]>> {
  const port = await freePort();
  const outs = await Promise.all(Array.from({ length: WORLD }, (_, r) => runRank(cmd, args, r, port)));
  return JSON.parse(outs[0].trim().split('\n').pop()!) as Record<string, number[]>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// The machine's load changes over a run, so the two sides alternate, a
// job each per round, and the medians pool every round's calls.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function pool(into: Record<string, number[]>, from: Record<string, number[]>): void {
  for (const [n, times] of Object.entries(from)) (into[n] ??= []).push(...times);
}

async function main(): Promise<void> {
  const hasTorch =
    existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()']).status === 0;
  const kindling: Record<string, number[]> = {};
  const torch: Record<string, number[]> | null = hasTorch ? {} : null;
  for (let round = 0; round < ROUNDS; round++) {
    pool(
      kindling,
      await job(process.execPath, ['--import', './test/reliability/helpers/register-ts.mjs', join(here, 'distributed_worker.ts')]),
    );
    if (torch) pool(torch, await job(PYTHON, [join(here, 'distributed_torch.py')]));
  }
  if (!hasTorch) console.log(`PyTorch with gloo not found at ${PYTHON} (BENCH_PYTHON): Kindling's side only`);
  console.log(`allReduce (sum, float32) on ${WORLD} ranks of this machine, median ms per call (rank 0, ${ROUNDS} alternating rounds)`);
  console.log('| elements | Kindling | PyTorch | Kindling / PyTorch |');
  console.log('|---:|---:|---:|---:|');
  for (const n of Object.keys(kindling)) {
    const k = median(kindling[n]);
    const p = torch ? median(torch[n]) : NaN;
    console.log(
      `| ${Number(n).toLocaleString('en')} | ${k.toFixed(2)} | ${torch ? p.toFixed(2) : '-'} | ${torch ? (k / p).toFixed(2) : '-'} |`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
