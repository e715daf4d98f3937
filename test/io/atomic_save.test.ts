// torch.save never leaves a half-written file: writes that fail midway
// (simulated through a mocked node:fs), a rename that fails, and a process
// killed while saving all leave the previous file intact and loadable.
import { describe, it, expect, beforeAll, afterAll, afterEach, vi } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import * as torch from '../../lib/index.js';
import { save, load } from '../../lib/io/safetensors.js';
import { sourceHooks } from '../../lib/data/worker_pool.js';

// Faults to inject into the fs calls torch.save makes.
const faults = vi.hoisted(() => ({
  failWriteAfter: -1, // bytes to let through before the next write fails
  failFsync: false,
  written: 0,
}));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writeSync = (fd: number, buf: Uint8Array, offset = 0, length = buf.length - offset, ...rest: unknown[]): number => {
    if (faults.failWriteAfter >= 0) {
      const room = faults.failWriteAfter - faults.written;
      if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      // A short write first, as a filling disk gives, then the failure.
      const n = real.writeSync(fd, buf, offset, Math.min(length, room), ...(rest as []));
      faults.written += n;
      return n;
    }
    return real.writeSync(fd, buf, offset, length, ...(rest as []));
  };
  const fsyncSync = (fd: number) => {
    if (faults.failFsync) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    return real.fsyncSync(fd);
  };
  return { ...real, default: { ...real, writeSync, fsyncSync }, writeSync, fsyncSync };
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kindling-atomic-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  faults.failWriteAfter = -1;
  faults.failFsync = false;
  faults.written = 0;
});

const leftovers = (d: string) => readdirSync(d).filter((f) => f.includes('.tmp-'));

describe('atomic torch.save', () => {
  it('keeps the previous file when a write fails midway, and removes the partial temp file', () => {
    const path = join(dir, 'model.safetensors');
    save({ w: torch.ones([4, 4]) }, path);
    const before = readFileSync(path);
    faults.failWriteAfter = 100; // dies inside the data section
    expect(() => save({ w: torch.zeros([64, 64]) }, path)).toThrow(
      /torch.save: writing .*model\.safetensors failed \(any previous file there is unchanged\): ENOSPC/,
    );
    expect(faults.written).toBe(100);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(load(path).w.sum().item()).toBe(16);
    expect(leftovers(dir)).toEqual([]);
  });

  it('keeps the previous checkpoint, structure and tensors, when a write fails midway', () => {
    const path = join(dir, 'checkpoint.safetensors');
    save({ epoch: 1, model: { w: torch.ones([4, 4]) }, loss: 0.5 }, path);
    const before = readFileSync(path);
    faults.failWriteAfter = 300; // past the header, inside the data
    expect(() => save({ epoch: 2, model: { w: torch.zeros([64, 64]) }, loss: 0.25 }, path)).toThrow(/ENOSPC/);
    expect(readFileSync(path).equals(before)).toBe(true);
    const ck = load<{ epoch: number; model: { w: torch.Tensor }; loss: number }>(path);
    expect([ck.epoch, ck.loss, ck.model.w.sum().item()]).toEqual([1, 0.5, 16]);
    expect(leftovers(dir)).toEqual([]);
  });

  it('keeps the previous file when fsync fails', () => {
    const path = join(dir, 'fsync.safetensors');
    save({ a: torch.tensor([1, 2, 3]) }, path);
    const before = readFileSync(path);
    faults.failFsync = true;
    expect(() => save({ a: torch.tensor([4, 5, 6]) }, path)).toThrow(/failed \(any previous file there is unchanged\): EIO/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(leftovers(dir)).toEqual([]);
  });

  it('cleans up when the final rename fails (the target is a directory)', () => {
    const target = join(dir, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    expect(() => save({ a: torch.ones([2]) }, target)).toThrow(/torch.save: writing .*occupied failed/);
    expect(statSync(target).isDirectory()).toBe(true);
    expect(leftovers(dir)).toEqual([]);
  });

  it('writes a new file in one step: no temp file remains and the mode is the usual 0644', () => {
    const path = join(dir, 'fresh.safetensors');
    save({ a: torch.ones([2]) }, path);
    expect(existsSync(path)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(leftovers(dir)).toEqual([]);
  });

  it('leaves a loadable file when the saving process is killed at any moment', async () => {
    // A child process saves an 8 MB state dict over and over (alternating
    // contents); we kill it with SIGKILL at several moments and check the
    // file is always one whole version.
    const hooks = sourceHooks();
    const lib = new URL('../../lib/io/safetensors.ts', import.meta.url).href;
    const index = new URL('../../lib/index.ts', import.meta.url).href;
    const path = join(dir, 'crash.safetensors');
    const bootstrap = `import { register } from 'node:module'; register(${JSON.stringify(hooks.url)}, { data: ${JSON.stringify(hooks.data)} });`;
    const child = `
      const torch = await import(${JSON.stringify(index)});
      const { save } = await import(${JSON.stringify(lib)});
      const a = torch.full([2048, 1024], 1), b = torch.full([2048, 1024], 2);
      for (let i = 0; ; i++) { save({ w: i % 2 ? b : a, step: torch.tensor([i]) }, ${JSON.stringify(path)}); if (i === 0) console.log('saved'); }
    `;
    for (const delay of [0, 7, 23, 61]) {
      const proc = spawn(
        process.execPath,
        ['--import', 'data:text/javascript,' + encodeURIComponent(bootstrap), '--input-type=module', '-e', child],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<void>((res) => proc.on('exit', () => res()));
      // Wait for the first complete save, then kill at a varying moment.
      await new Promise<void>((res, rej) => {
        proc.stdout.on('data', (d) => String(d).includes('saved') && res());
        proc.on('exit', () => rej(new Error(`the saving process ended early: ${stderr}`)));
      });
      await new Promise((res) => setTimeout(res, delay));
      proc.kill('SIGKILL');
      await exited;
      const sd = load(path);
      expect(sd.w.shape).toEqual([2048, 1024]);
      const v = sd.w.select(0, 0).select(0, 0).item();
      expect([1, 2]).toContain(v);
      // Whole version: every element equals the first one.
      expect(sd.w.eq(v).all().item()).toBe(1);
      expect(Number(sd.step.item()) % 2).toBe(v === 2 ? 1 : 0);
    }
    // Temp files of killed saves may remain (nothing can remove them), but
    // never under the target's name.
    expect(readdirSync(dir).filter((f) => f === 'crash.safetensors').length).toBe(1);
  }, 120_000);
});
