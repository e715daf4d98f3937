// Memory stays bounded without dispose(): tensors live in V8-owned
// ArrayBuffers (lib/backend/memory.ts), which V8 counts and collects on its
// own, also inside a synchronous loop that never yields to the event loop.
// The full 20,000-step soak is `npm run soak`; CI runs a short one.
import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import * as torch from '../../lib/index.js';
import { crashed, lastJson, runTs } from './helpers/child.js';

const SOAK = fileURLToPath(new URL('../../scripts/soak.ts', import.meta.url));
const MB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface SoakSummary {
  steps: number;
  baselineMB: number;
  peakAfterWarmupMB: number;
  growthMB: number;
  ok: boolean;
  samples: { step: number; rssMB: number; heapUsedMB: number; arrayBuffersMB: number; loss: number }[];
}

describe('memory', () => {
  it('process.memoryUsage().arrayBuffers accounts for tensor memory, and the GC returns it', async () => {
    // Let earlier garbage finish being swept, so the baseline holds still.
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 25));
    }
    const before = process.memoryUsage().arrayBuffers;
    let keep: torch.Tensor[] = [];
    for (let i = 0; i < 64; i++) keep.push(torch.ones([256, 1024])); // 64 x 1 MiB
    const held = process.memoryUsage().arrayBuffers - before;
    // 64 MiB, give or take small buffers of earlier ops swept meanwhile.
    expect(held).toBeGreaterThanOrEqual(63 * MB);
    expect(held).toBeLessThan(80 * MB);
    // Views share their storage: no new memory.
    const views = keep.map((t) => t.transpose(0, 1).narrow(0, 1, 10));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(80 * MB);
    expect(views[3].sum().item()).toBe(2560);
    keep = [];
    views.length = 0;
    // V8 frees dead backing stores on a background thread after the
    // collection, and counts them off when that sweep ends.
    let after = Infinity;
    for (let i = 0; i < 40 && after >= 8 * MB; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 25));
      after = process.memoryUsage().arrayBuffers - before;
    }
    expect(after).toBeLessThan(8 * MB);
  });

  it('a synchronous loop that allocates 4 GiB of tensors without yielding stays within a fixed bound', () => {
    gc();
    const base = process.memoryUsage();
    let peakRss = 0,
      peakAB = 0;
    let acc = 0;
    // 4096 x 1 MiB, each dropped at once; nothing awaits, so only V8's own
    // collection (no finalizer queue, no setImmediate) can free them.
    for (let i = 0; i < 4096; i++) {
      const t = torch.full([512, 512], i % 7, { dtype: 'float32' });
      acc += t.numel();
      if (i % 64 === 0) {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakAB = Math.max(peakAB, m.arrayBuffers);
      }
    }
    expect(acc).toBe(4096 * 512 * 512);
    console.log(
      `4 GiB churn: peak arrayBuffers +${((peakAB - base.arrayBuffers) / MB).toFixed(0)} MB, peak RSS +${((peakRss - base.rss) / MB).toFixed(0)} MB`,
    );
    expect(peakAB - base.arrayBuffers).toBeLessThan(512 * MB);
    if (!process.env.KD_SANITIZED) expect(peakRss - base.rss).toBeLessThan(768 * MB);
  });

  it('1,500 training steps of the seed CNN (batch 64, no dispose) keep RSS growth after warm-up under 50 MB', async () => {
    // Under sanitizers ASan keeps freed blocks in quarantine, which inflates
    // RSS by design: there the short soak checks V8's tensor memory only.
    const steps = process.env.KD_SANITIZED ? 300 : 1500;
    const r = await runTs(SOAK, ['--steps', String(steps), '--warmup', String(steps / 3), '--every', '100', '--bound-mb', '50', '--json'], {
      timeoutMs: 280_000,
    });
    expect(crashed(r), r.stderr.slice(-2000)).toBe(false);
    const s = lastJson<SoakSummary>(r);
    expect(s, r.stderr.slice(-2000)).not.toBeNull();
    console.log(
      `soak ${s!.steps} steps: RSS at warm-up ${s!.baselineMB.toFixed(1)} MB, peak after ${s!.peakAfterWarmupMB.toFixed(1)} MB, ` +
        `growth ${s!.growthMB.toFixed(1)} MB; arrayBuffers by step: ` +
        s!.samples.map((x) => `${x.step}:${x.arrayBuffersMB.toFixed(0)}`).join(' '),
    );
    expect(s!.samples.every((x) => x.step === 0 || Number.isFinite(x.loss))).toBe(true);
    expect(Math.max(...s!.samples.map((x) => x.arrayBuffersMB))).toBeLessThan(256);
    if (!process.env.KD_SANITIZED) {
      expect(s!.growthMB).toBeLessThan(50);
      expect(s!.ok).toBe(true);
    }
  }, 300_000);
});
