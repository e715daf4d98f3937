// kindling-run, Kindling's torchrun: starts N node processes of a script on
// this machine, one per rank, with the environment torch.distributed's
// env:// rendezvous reads (torchrun's variables), and watches them: when one
// rank fails the others are stopped, and the launcher exits with the failed
// rank's status and a message naming it, rather than leaving the rest
// waiting on a peer that will never answer.
//
//   kindling-run --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] script.js [args...]
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism, cpus } from 'node:os';

/** What to launch: torchrun's options, in camelCase. */
export interface LaunchOptions {
  /** Processes (ranks) on this machine. */
  nprocPerNode: number;
  /** Machines in the job (default 1). */
  nnodes?: number;
  /** This machine's place among them, 0..nnodes-1 (default 0). */
  nodeRank?: number;
  /** Where rank 0 listens for the rendezvous (default 127.0.0.1). */
  masterAddr?: string;
  /** Its port (default 29500). */
  masterPort?: number;
  /** The script each rank runs. */
  script: string;
  /** The script's arguments. */
  args?: string[];
  /** Arguments for node itself, before the script (default none). */
  nodeArgs?: string[];
  /** The environment the ranks start from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where the launcher's own messages go (default stderr). */
  log?: (line: string) => void;
}

/** A mistake on the launcher's command line. */
export class LaunchUsageError extends Error {}

/** What --help prints. */
export const LAUNCH_HELP = [
  'Usage: kindling-run --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] script.js [args...]',
  "Starts N processes of script.js, one per rank, with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,",
  'LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT, ...). When a rank fails the others are stopped and',
  'kindling-run exits with its status. OMP_NUM_THREADS and OPENBLAS_NUM_THREADS default to cores / N.',
].join('\n');

const INT_FLAGS: Record<string, 'nprocPerNode' | 'nnodes' | 'nodeRank' | 'masterPort'> = {
  'nproc-per-node': 'nprocPerNode',
  nnodes: 'nnodes',
  'node-rank': 'nodeRank',
  'master-port': 'masterPort',
};

/**
 * Reads kindling-run's command line: its options up to the script, the
 * script's arguments after. Both --nproc-per-node and torchrun's
 * --nproc_per_node spellings, and --flag=value, are accepted.
 */
export function parseLaunchArgs(argv: string[]): LaunchOptions {
  const o: Partial<LaunchOptions> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) break;
    if (a === '--') {
      i++;
      break;
    }
    const eq = a.indexOf('=');
    const name = (eq >= 0 ? a.slice(2, eq) : a.slice(2)).replace(/_/g, '-');
    if (name === 'help') throw new LaunchUsageError(LAUNCH_HELP);
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) throw new LaunchUsageError(`kindling-run: option --${name} needs a value`);
    if (name === 'master-addr') {
      if (value === '') throw new LaunchUsageError('kindling-run: --master-addr must name a host');
      o.masterAddr = value;
    } else if (name in INT_FLAGS) {
      if (!/^\d+$/.test(value)) throw new LaunchUsageError(`kindling-run: --${name} must be a non-negative integer, got '${value}'`);
      o[INT_FLAGS[name]] = Number(value);
    } else {
      throw new LaunchUsageError(
        `kindling-run: unknown option '${a}'; options: --nproc-per-node, --nnodes, --node-rank, --master-addr, --master-port`,
      );
    }
  }
  if (o.nprocPerNode === undefined) throw new LaunchUsageError('kindling-run: --nproc-per-node N is required');
  if (i >= argv.length) throw new LaunchUsageError('kindling-run: name the script to run');
  return checkLaunch({ ...o, nprocPerNode: o.nprocPerNode, script: argv[i], args: argv.slice(i + 1) });
}

function checkLaunch(o: LaunchOptions): LaunchOptions {
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  const port = o.masterPort ?? 29500;
  if (!Number.isInteger(o.nprocPerNode) || o.nprocPerNode < 1)
    throw new LaunchUsageError(`kindling-run: --nproc-per-node must be a positive integer, got ${o.nprocPerNode}`);
  if (!Number.isInteger(nnodes) || nnodes < 1)
    throw new LaunchUsageError(`kindling-run: --nnodes must be a positive integer, got ${nnodes}`);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes)
    throw new LaunchUsageError(`kindling-run: --node-rank must be in [0, ${nnodes - 1}] (--nnodes ${nnodes}), got ${nodeRank}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new LaunchUsageError(`kindling-run: --master-port must be in [1, 65535], got ${port}`);
  if (typeof o.script !== 'string' || o.script === '') throw new LaunchUsageError('kindling-run: name the script to run');
  return { ...o, nnodes, nodeRank, masterPort: port, masterAddr: o.masterAddr ?? '127.0.0.1' };
}

function cores(): number {
  return typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
}

/**
 * The environment of local rank `local`: torchrun's variables, and the
 * thread counts (OMP_NUM_THREADS, which Kindling's kernels follow, and
 * OPENBLAS_NUM_THREADS) set to cores / ranks on this machine unless the
 * caller set them, so that the ranks do not oversubscribe the cores.
 */
export function rankEnv(o: LaunchOptions, local: number, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  const world = nnodes * o.nprocPerNode;
  const rank = nodeRank * o.nprocPerNode + local;
  const threads = String(Math.max(1, Math.floor(cores() / o.nprocPerNode)));
  return {
    ...base,
    RANK: String(rank),
    WORLD_SIZE: String(world),
    LOCAL_RANK: String(local),
    LOCAL_WORLD_SIZE: String(o.nprocPerNode),
    GROUP_RANK: String(nodeRank),
    GROUP_WORLD_SIZE: String(nnodes),
    ROLE_NAME: 'default',
    ROLE_RANK: String(rank),
    ROLE_WORLD_SIZE: String(world),
    MASTER_ADDR: o.masterAddr ?? '127.0.0.1',
    MASTER_PORT: String(o.masterPort ?? 29500),
    TORCHELASTIC_RESTART_COUNT: '0',
    TORCHELASTIC_MAX_RESTARTS: '0',
    TORCHELASTIC_RUN_ID: 'none',
    OMP_NUM_THREADS: base.OMP_NUM_THREADS || threads,
    OPENBLAS_NUM_THREADS: base.OPENBLAS_NUM_THREADS || threads,
  };
}

/** How long the other ranks get to exit after SIGTERM before SIGKILL. */
const GRACE_MS = 5000;

/**
 * Starts the ranks of this machine and resolves with the launcher's exit
 * status once they are done: 0 when every rank exited 0; otherwise the
 * first failed rank's status (128 + signal number for a signal), after the
 * other ranks were stopped and a message naming the failed rank was logged.
 */
export function launch(opts: LaunchOptions): Promise<number> {
  const o = checkLaunch(opts);
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const children: { child: ChildProcess; rank: number; local: number; done: boolean }[] = [];
  return new Promise((resolve) => {
    let failed: { rank: number; local: number; pid: number | undefined; status: number; why: string } | null = null;
    let left = o.nprocPerNode;
    let killTimer: NodeJS.Timeout | null = null;
    const stopOthers = (signal: NodeJS.Signals) => {
      for (const c of children) if (!c.done) c.child.kill(signal);
      killTimer ??= setTimeout(() => {
        for (const c of children) if (!c.done) c.child.kill('SIGKILL');
      }, GRACE_MS);
      killTimer.unref();
    };
    // A signal to the launcher (Ctrl-C) goes to every rank.
    const forward = (signal: NodeJS.Signals) => () => stopOthers(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const finish = () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (killTimer) clearTimeout(killTimer);
      if (failed) {
        log(
          `kindling-run: rank ${failed.rank} (local rank ${failed.local}, pid ${failed.pid}) failed: ${failed.why}; ` +
            'the other ranks were stopped',
        );
        resolve(failed.status);
      } else {
        resolve(0);
      }
    };
    for (let local = 0; local < o.nprocPerNode; local++) {
      const env = rankEnv(o, local, o.env ?? process.env);
      const rank = Number(env.RANK);
      const child = spawn(process.execPath, [...(o.nodeArgs ?? []), o.script, ...(o.args ?? [])], { env, stdio: 'inherit' });
      const entry = { child, rank, local, done: false };
      children.push(entry);
      const onEnd = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
        if (entry.done) return;
        entry.done = true;
        left--;
        const bad = err !== undefined || code !== 0;
        if (bad && failed === null) {
          const status = err ? 1 : code !== null ? code : 128 + signalNumber(signal);
          const why = err ? `could not start (${err.message})` : code !== null ? `exit code ${code}` : `killed by ${signal}`;
          failed = { rank, local, pid: child.pid, status, why };
          stopOthers('SIGTERM');
        }
        if (left === 0) finish();
      };
      child.on('exit', (code, signal) => onEnd(code, signal));
      child.on('error', (err) => onEnd(null, null, err));
    }
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
  return (signal && numbers[signal]) || 1;
}

/**
 * A TCP port that no one listens on now (the OS's pick), for a rendezvous
 * started on this machine: the MNIST job's --nproc, the bench's rank rows and
 * the distributed tests. Another process may take it before the ranks bind
 * it; the store then fails with the port in its message.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
