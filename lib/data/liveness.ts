// Whether a DataLoader worker thread is still alive, readable by a loader
// that is blocked in Atomics.wait and never runs its event loop
// (Note [Dead workers] in worker_pool.ts).
//
// Imported first by worker.ts, so that in a worker thread its side effect
// (recording the thread's OS identity and arming the exit flag) runs before
// the rest of Kindling and the user's dataset module are evaluated. On the
// main thread it only provides the checks.
import { isMainThread, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';

/** Int32 words per worker in the shared liveness array: [exited, exit code, OS thread id]. */
export const LIVENESS_WORDS = 3;

/** The shared arrays a worker gets in its workerData (`liveness` marks a DataLoader worker). */
export interface LivenessInit {
  liveness: Int32Array;
  starts: Float64Array;
  signal: Int32Array;
  workerId: number;
}

/** Field 22 of /proc/.../stat (the thread's start time in clock ticks since boot), or NaN. */
export function threadStartTime(stat: string): number {
  // The name (field 2) is in parentheses and may hold spaces and ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19]);
}

/**
 * Whether the OS thread `tid` of this process, started at `start`, is gone:
 * its /proc entry is missing, is a zombie, or belongs to a newer thread that
 * reused the id. False when it cannot tell (no /proc).
 */
export function osThreadGone(tid: number, start: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH';
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X' || state === 'x') return true;
  const s = threadStartTime(stat);
  return Number.isFinite(start) && Number.isFinite(s) && s !== start;
}

function arm(init: LivenessInit): void {
  const base = LIVENESS_WORDS * init.workerId;
  try {
    // /proc/thread-self is this very thread (Linux 3.17+); its first field is the thread id.
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const tid = Number(stat.slice(0, stat.indexOf(' ')));
    if (Number.isInteger(tid) && tid > 0) {
      init.starts[init.workerId] = threadStartTime(stat);
      Atomics.store(init.liveness, base + 2, tid); // after the start time: a seq-cst store publishes it
    }
  } catch {
    // No /proc: the exit flag below and the Worker's 'exit' event remain.
  }
  process.on('exit', (code) => {
    Atomics.store(init.liveness, base + 1, typeof code === 'number' ? code | 0 : 0);
    Atomics.store(init.liveness, base, 1);
    Atomics.add(init.signal, 0, 1);
    Atomics.notify(init.signal, 0);
  });
}

if (!isMainThread) {
  const d = workerData as Partial<LivenessInit> | null;
  if (
    d &&
    d.liveness instanceof Int32Array &&
    d.starts instanceof Float64Array &&
    d.signal instanceof Int32Array &&
    typeof d.workerId === 'number'
  ) {
    arm(d as LivenessInit);
  }
}
