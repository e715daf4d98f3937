// Multi-rank jobs for the distributed rows of `npm run bench`: starts
// `world` processes on this machine with a launcher's environment
// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), one kernel thread each,
// and returns rank 0's last JSON line.
import { spawn } from 'node:child_process';
import { distAddon } from '../lib/distributed/native.js';
import { freePort } from '../lib/launcher/run.js';

/** Why the distributed rows cannot run here (the dist module's own load error, naming what to install), or null. */
export function distUnavailable(): string | null {
  try {
    distAddon();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function runRank(cmd: string, args: string[], rank: number, world: number, port: number, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: {
        ...process.env,
        ...env,
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        RANK: String(rank),
        WORLD_SIZE: String(world),
        LOCAL_RANK: String(rank),
        // The ranks share the cores: one kernel thread each, on both sides.
        OMP_NUM_THREADS: '1',
        OPENBLAS_NUM_THREADS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // A rank that never returns (a peer died before the rendezvous) must not stall the whole bench.
    const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60 * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`rank ${rank} of ${cmd} exited with ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}

/** Runs one `world`-rank job of `cmd args` and returns rank 0's milliseconds per call, under `key` of its JSON line. */
export async function rankJob(cmd: string, args: string[], world: number, key: string, env: NodeJS.ProcessEnv): Promise<number[]> {
  const port = await freePort();
  const outs = await Promise.all(Array.from({ length: world }, (_, r) => runRank(cmd, args, r, world, port, env)));
  const last = outs[0].trim().split('\n').pop() ?? '';
  const times = (JSON.parse(last) as Record<string, number[]>)[key];
  if (!Array.isArray(times)) throw new Error(`rank 0 of ${cmd} printed no ${key} times: ${last}`);
  return times;
}
