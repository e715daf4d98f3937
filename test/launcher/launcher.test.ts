// kindling-run (lib/launcher): torchrun's environment for each rank, the
// thread defaults, the command line's errors, and a failing rank stopping
// the job with a message that names it.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runTs } from '../reliability/helpers/child.js';
import { parseLaunchArgs, rankEnv } from '../../lib/launcher/run.js';

const CLI = fileURLToPath(new URL('../../lib/launcher/cli.ts', import.meta.url));
const helper = (name: string) => fileURLToPath(new URL(`./helpers/${name}`, import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('kindling-run', () => {
  it("gives each rank torchrun's variables and the script its arguments", async () => {
    const r = await runTs(
      CLI,
      [
        '--nproc-per-node',
        '3',
        '--nnodes=2',
        '--node_rank',
        '1',
        '--master-addr',
        'example.host',
        '--master-port',
        '1234',
        helper('print_env.mjs'),
        'a',
        '--b',
      ],
      { timeoutMs: 60_000, env: { OMP_NUM_THREADS: '', OPENBLAS_NUM_THREADS: '7' } },
    );
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    lines.sort((a, b) => Number(a.RANK) - Number(b.RANK));
    expect(lines.map((l) => [l.RANK, l.LOCAL_RANK])).toEqual([
      ['3', '0'],
      ['4', '1'],
      ['5', '2'],
    ]);
    for (const l of lines) {
      expect(l).toMatchObject({
        args: ['a', '--b'],
        WORLD_SIZE: '6',
        LOCAL_WORLD_SIZE: '3',
        GROUP_RANK: '1',
        GROUP_WORLD_SIZE: '2',
        ROLE_RANK: l.RANK,
        MASTER_ADDR: 'example.host',
        MASTER_PORT: '1234',
        // Set by the caller: kept.
        OPENBLAS_NUM_THREADS: '7',
      });
      expect(Number(l.OMP_NUM_THREADS)).toBeGreaterThanOrEqual(1);
    }
  }, 60_000);

  it('stops the other ranks when one fails, and exits with its status naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kindling-run-'));
    try {
      const r = await runTs(CLI, ['--nproc-per-node', '3', helper('fail_rank.mjs')], {
        timeoutMs: 50_000,
        env: { PID_DIR: dir, FAIL_RANK: '1' },
      });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/kindling-run: rank 1 \(local rank 1, pid \d+\) failed: exit code 3; the other ranks were stopped/);
      const pids = readdirSync(dir).map((f) => Number(readFileSync(join(dir, f), 'utf8')));
      expect(pids.length).toBe(2);
      for (const pid of pids) expect(alive(pid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a bad command line with status 2', async () => {
    const r = await runTs(CLI, ['--nproc-per-node', 'two', 'x.js'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--nproc-per-node must be a non-negative integer, got 'two'/);
    const h = await runTs(CLI, ['--help'], { timeoutMs: 30_000 });
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Usage: kindling-run --nproc-per-node N/);
  }, 60_000);

  it('parses options and names what is wrong', () => {
    expect(parseLaunchArgs(['--nproc_per_node=2', 's.js', '--nproc-per-node', '9'])).toMatchObject({
      nprocPerNode: 2,
      nnodes: 1,
      nodeRank: 0,
      masterAddr: '127.0.0.1',
      masterPort: 29500,
      script: 's.js',
      args: ['--nproc-per-node', '9'],
    });
    expect(() => parseLaunchArgs(['s.js'])).toThrow(/--nproc-per-node N is required/);
    expect(() => parseLaunchArgs(['--nproc-per-node', '2'])).toThrow(/name the script/);
    expect(() => parseLaunchArgs(['--nproc-per-node', '0', 's.js'])).toThrow(/must be a positive integer, got 0/);
    expect(() => parseLaunchArgs(['--nproc-per-node', '2', '--nnodes', '2', '--node-rank', '2', 's.js'])).toThrow(
      /--node-rank must be in \[0, 1\]/,
    );
    expect(() => parseLaunchArgs(['--nproc-per-node', '2', '--master-port', '70000', 's.js'])).toThrow(/--master-port must be in/);
    expect(() => parseLaunchArgs(['--nprocs', '2', 's.js'])).toThrow(/unknown option '--nprocs'/);
  });

  it('divides the cores among the ranks unless OMP_NUM_THREADS is set', () => {
    const o = parseLaunchArgs(['--nproc-per-node', '2', 's.js']);
    const env = rankEnv(o, 1, {});
    expect(Number(env.OMP_NUM_THREADS)).toBeGreaterThanOrEqual(1);
    expect(env.OMP_NUM_THREADS).toBe(env.OPENBLAS_NUM_THREADS);
    expect(rankEnv(o, 1, { OMP_NUM_THREADS: '5' }).OMP_NUM_THREADS).toBe('5');
  });
});
