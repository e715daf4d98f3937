// Starts a test job: `world` node processes running helpers/worker.ts with
// one scenario, on this machine, with the environment a launcher gives
// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), and parses each rank's
// JSON line.
import { fileURLToPath } from 'node:url';
import { runTs, type ChildResult } from '../../reliability/helpers/child.js';
import { distAvailable } from '../../../lib/distributed/native.js';
import { freePort } from '../../../lib/launcher/run.js';

export { freePort };

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Why the distributed tests cannot run here, or null when they can. */
export function unavailableReason(): string | null {
  if (distAvailable()) return null;
  return 'kindling_dist.node is not built (install libgloo-dev and rebuild the native modules)';
}

// The variables each launcher sets (the others blanked, as unset).
function launcherEnv(launcher: 'torchrun' | 'mpirun' | 'srun', rank: number, world: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { RANK: '', WORLD_SIZE: '', LOCAL_RANK: '' };
  if (launcher === 'torchrun') Object.assign(env, { RANK: String(rank), WORLD_SIZE: String(world), LOCAL_RANK: String(rank) });
  if (launcher === 'mpirun') {
    Object.assign(env, {
      OMPI_COMM_WORLD_RANK: String(rank),
      OMPI_COMM_WORLD_SIZE: String(world),
      OMPI_COMM_WORLD_LOCAL_RANK: String(rank),
    });
  }
  if (launcher === 'srun') Object.assign(env, { SLURM_PROCID: String(rank), SLURM_NTASKS: String(world), SLURM_LOCALID: String(rank) });
  return env;
}

export interface RankResult {
  child: ChildResult;
  out: Record<string, unknown> | null;
}

/** Runs ranks `ranks` (default all) of a `world`-rank job; each child is killed after killMs. */
export async function runJob(
  scenario: string,
  world: number,
  opts: {
    timeout?: number;
    env?: NodeJS.ProcessEnv;
    ranks?: number[];
    killMs?: number;
    launcher?: 'torchrun' | 'mpirun' | 'srun';
    /** Another worker file (default helpers/worker.ts). */
    worker?: string;
  } = {},
): Promise<RankResult[]> {
  const port = await freePort();
  const ranks = opts.ranks ?? Array.from({ length: world }, (_, i) => i);
  const children = ranks.map((rank) =>
    runTs(opts.worker ?? WORKER, [scenario], {
      timeoutMs: opts.killMs ?? 50_000,
      env: {
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        ...launcherEnv(opts.launcher ?? 'torchrun', rank, world),
        TEST_TIMEOUT: String(opts.timeout ?? 20_000),
        ...opts.env,
      },
    }),
  );
  const results = await Promise.all(children);
  return results.map((child) => {
    const line = child.stdout.trim().split('\n').pop() ?? '';
    let out: Record<string, unknown> | null = null;
    try {
      out = JSON.parse(line) as Record<string, unknown>;
    } catch {
      out = null;
    }
    return { child, out };
  });
}
