// torch.save / torch.load against hostile files and hostile moments (issue
// 12): FIFOs and devices where a checkpoint should be, headers that lie
// about shapes or nest a million levels deep, headers too big to load back,
// saves interrupted by signals or by worker.terminate(), file names at the
// filesystem's limit, and '__proto__' keys. Cases that could hang or kill
// the process run in a child with a timeout, so a regression fails the test
// instead of hanging the runner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../lib/index.js';
import { _tempName } from '../../lib/io/safetensors.js';
import { REGISTER_TS, REPO_ROOT, lastJson, runTs } from './helpers/child.js';

// FIFOs, devices, signals: POSIX. Thread ids of other processes: Linux's /proc.
const posix = process.platform !== 'win32';
const linux = process.platform === 'linux';
const CHILD = fileURLToPath(new URL('./helpers/io-hostile-child.ts', import.meta.url));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kindling-hostile-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A safetensors file with this header text and data bytes. */
function writeRaw(path: string, headerText: string, data: Uint8Array = new Uint8Array(0)): void {
  const json = Buffer.from(headerText, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, data]));
}

/** The hidden temporary files of saves next to `path`. */
function temps(path: string): string[] {
  return readdirSync(dirname(path)).filter((n) => n.includes('.tmp-'));
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but the call returned');
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

describe.skipIf(!posix)('torch.load on files that are not regular files', () => {
  it('refuses a FIFO at once instead of blocking in open() for ever', async () => {
    const fifo = join(dir, 'ckpt.fifo');
    mkfifo(fifo);
    const r = await runTs(CHILD, ['load', fifo], { timeoutMs: 20_000 });
    expect(r.signal, `the child hung (killed after ${r.ms} ms): ${r.stderr}`).toBeNull();
    const out = lastJson<{ ok: boolean; error?: string }>(r);
    expect(out, r.stdout + r.stderr).not.toBeNull();
    expect(out!.ok).toBe(false);
    expect(out!.error).toMatch(/^torch\.load: .*ckpt\.fifo is not a regular file \(it is a FIFO\)/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  }, 30_000);

  it('refuses directories and character devices with the same clear error', () => {
    expect(thrown(() => torch.load(dir)).message).toMatch(/^torch\.load: .* is not a regular file \(it is a directory\)/);
    expect(thrown(() => torch.load('/dev/zero')).message).toMatch(
      /^torch\.load: \/dev\/zero is not a regular file \(it is a character device\)/,
    );
  });
});

describe('torch.load on shapes whose size overflows', () => {
  const entry = (shape: string) => `{"a":{"dtype":"F32","shape":${shape},"data_offsets":[0,0]}}`;

  it('refuses [2^53-1, 2^53-1, 0] (PyTorch: "Storage size calculation overflowed") and other zero-size shapes past 2^53-1', () => {
    const path = join(dir, 'overflow.safetensors');
    const M = Number.MAX_SAFE_INTEGER;
    for (const shape of [
      [M, M, 0],
      [2 ** 32, 2 ** 32, 0],
      [0, 2 ** 27, 2 ** 26],
      [2 ** 20, 0, 2 ** 20, 2 ** 20],
    ]) {
      writeRaw(path, entry(JSON.stringify(shape)));
      const e = thrown(() => torch.load(path));
      expect(e.message, String(shape)).toMatch(
        /^torch\.load: .*overflow\.safetensors .*tensor 'a' has shape \[.*\] whose sizes multiply past 2\^53-1/,
      );
    }
  });

  it('still loads zero-size shapes whose nonzero sizes multiply to at most 2^53-1', () => {
    const path = join(dir, 'zero-size.safetensors');
    const M = Number.MAX_SAFE_INTEGER;
    for (const shape of [[M, 0], [0, M], [2 ** 26, 0, 2 ** 27 - 1], [0]]) {
      writeRaw(path, entry(JSON.stringify(shape)));
      const sd = torch.load(path);
      // Only the shape: printing or listing such a tensor is another issue's business.
      expect(sd.a.shape).toEqual(shape);
      expect(sd.a.numel()).toBe(0);
    }
  });

  it('torch.save refuses a tensor whose shape torch.load would refuse, leaving the old file untouched', () => {
    const path = join(dir, 'save-overflow.safetensors');
    torch.save({ a: torch.ones([2]) }, path);
    const before = readFileSync(path);
    const z = torch.zeros([2 ** 30, 0, 2 ** 30]);
    expect(thrown(() => torch.save({ z }, path)).message).toMatch(
      /^torch\.save: tensor 'z' has shape \[1073741824, 0, 1073741824\] whose sizes multiply past 2\^53-1/,
    );
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(temps(path)).toEqual([]);
  });
});

describe('torch.load on deeply nested headers', () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

  it('refuses a shape nested 1e6 deep with an error naming the entry, not a stack overflow', () => {
    const path = join(dir, 'deep-shape.safetensors');
    writeRaw(path, `{"weight":{"dtype":"F32","shape":${deep(1e6)},"data_offsets":[0,0]}}`);
    const e = thrown(() => torch.load(path));
    expect(e.message).not.toMatch(/call stack/);
    expect(e.message).toMatch(
      /^torch\.load: .*deep-shape\.safetensors is not a valid safetensors file: .*nested more than 128 levels deep.*'weight'/,
    );
  });

  it('refuses deep nesting in data_offsets, metadata and the top level the same way', () => {
    const path = join(dir, 'deep-other.safetensors');
    for (const header of [
      `{"b":{"dtype":"F32","shape":[0],"data_offsets":${deep(5e5)}}}`,
      `{"__metadata__":{"k":${deep(5e5)}}}`,
      `{"__metadata__":{"k":"v"},"c":{"x":${'{"y":'.repeat(3e5)}1${'}'.repeat(3e5)}}}`,
      deep(1e6),
    ]) {
      writeRaw(path, header);
      const e = thrown(() => torch.load(path));
      expect(e.message).not.toMatch(/call stack/);
      expect(e.message).toMatch(/^torch\.load: .* is not a valid safetensors file: .*nested more than 128 levels deep/);
    }
  });

  it('describes a moderately nested bad shape in its error', () => {
    const path = join(dir, 'nested-shape.safetensors');
    writeRaw(path, '{"a":{"dtype":"F32","shape":[[1],[2]],"data_offsets":[0,8]}}', new Uint8Array(8));
    expect(thrown(() => torch.load(path)).message).toMatch(
      /tensor 'a' has shape \[\[1\],\[2\]\]; expected an array of non-negative integers/,
    );
  });
});

describe('torch.save refuses what torch.load would refuse', () => {
  it('a header over the 100 MB limit: save throws, the old checkpoint is byte-for-byte unchanged, no temp file remains', () => {
    const path = join(dir, 'bigheader.safetensors');
    torch.save({ w: torch.arange(0, 10) }, path, { metadata: { note: 'good' } });
    const before = readFileSync(path);
    const huge = 'x'.repeat(100_000_001);
    const e = thrown(() => torch.save({ w: torch.zeros([3]) }, path, { metadata: { note: huge } }));
    expect(e.message).toMatch(/^torch\.save: .*bigheader\.safetensors.* header .* over the 100000000-byte limit/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(temps(path)).toEqual([]);
    expect(torch.loadMetadata(path)).toEqual({ note: 'good' });
  });

  it('a header of exactly the limit saves and loads back; 8 bytes more is refused', () => {
    const path = join(dir, 'bigheader-edge.safetensors');
    // The header's length without the note, from a save with a 1-byte note.
    torch.save({ w: torch.ones([2]) }, path, { metadata: { note: 'y' } });
    const b = readFileSync(path);
    const fixed =
      b
        .subarray(8, 8 + Number(b.readBigUInt64LE(0)))
        .toString('utf8')
        .trimEnd().length - 1;
    const note = 'y'.repeat(100_000_000 - fixed);
    torch.save({ w: torch.ones([2]) }, path, { metadata: { note } });
    expect(readFileSync(path).readBigUInt64LE(0)).toBe(100_000_000n);
    expect(torch.loadMetadata(path)!.note.length).toBe(note.length);
    const e = thrown(() => torch.save({ w: torch.ones([2]) }, path, { metadata: { note: note + 'y' } }));
    expect(e.message).toMatch(/^torch\.save: .* the header would be 100000008 bytes .*over the 100000000-byte limit/);
    expect(readFileSync(path).readBigUInt64LE(0)).toBe(100_000_000n);
    expect(temps(path)).toEqual([]);
  });
});

describe.skipIf(!posix)('interrupted saves leave no temporary files', () => {
  /** Starts a saving child, sends `sig` once it has saved, returns how it ended. */
  async function interrupt(mode: 'save-async' | 'save-sync' | 'save-mixed', path: string, sig: NodeJS.Signals, delayMs: number) {
    const proc = spawn(process.execPath, ['--import', REGISTER_TS, CHILD, mode, path], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      proc.on('exit', (code, signal) => res({ code, signal })),
    );
    await new Promise<void>((res, rej) => {
      proc.stdout.on('data', (d) => String(d).includes('saved') && res());
      proc.on('exit', () => rej(new Error(`the saving process ended early: ${stderr}`)));
    });
    await new Promise((res) => setTimeout(res, delayMs));
    const sentAt = Date.now();
    proc.kill(sig);
    // A regression that swallows the signal must fail the test, not hang it.
    const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const end = await exited;
    clearTimeout(killer);
    return { ...end, ms: Date.now() - sentAt, stderr };
  }

  const died = (end: { code: number | null; signal: NodeJS.Signals | null }, sig: NodeJS.Signals) =>
    end.signal === sig || end.code === 128 + (sig === 'SIGINT' ? 2 : 15);

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`a process saving in an async loop dies by ${sig}, after finishing the save it was in: the checkpoint is whole, no temp file is left`, async () => {
      const sub = join(dir, `async-${sig}`);
      mkdirSync(sub);
      const path = join(sub, 'ckpt.safetensors');
      // Several moments, so some signals land in the middle of a save.
      for (const delay of [0, 5, 13, 29, 47]) {
        const end = await interrupt('save-async', path, sig, delay);
        expect(died(end, sig), `delay ${delay}: exit ${JSON.stringify(end)}`).toBe(true);
        expect(readdirSync(sub), `delay ${delay}`).toEqual(['ckpt.safetensors']);
        const sd = torch.load(path);
        const v = Number(sd.step.item());
        expect(
          sd.w
            .eq(v % 2)
            .all()
            .item(),
        ).toBe(1);
      }
    }, 120_000);
  }

  it('a process saving in a synchronous loop still dies at once by SIGINT, and the next save removes the temp file it left', async () => {
    const sub = join(dir, 'sync');
    mkdirSync(sub);
    const path = join(sub, 'ckpt.safetensors');
    for (const delay of [0, 20]) {
      const end = await interrupt('save-sync', path, 'SIGINT', delay);
      expect(died(end, 'SIGINT'), JSON.stringify(end)).toBe(true);
      expect(end.ms).toBeLessThan(5_000);
      torch.load(path);
    }
    torch.save({ a: torch.ones([1]) }, path);
    expect(readdirSync(sub)).toEqual(['ckpt.safetensors']);
  }, 120_000);

  it('a synchronous loop after async setup does not defer SIGINT for the whole run: once saves come a second apart with no event-loop turn, it kills at once', async () => {
    const sub = join(dir, 'mixed');
    mkdirSync(sub);
    const path = join(sub, 'ckpt.safetensors');
    const end = await interrupt('save-mixed', path, 'SIGINT', 10);
    expect(died(end, 'SIGINT'), JSON.stringify(end)).toBe(true);
    expect(end.ms).toBeLessThan(5_000);
    torch.load(path);
    torch.save({ a: torch.ones([1]) }, path);
    expect(readdirSync(sub)).toEqual(['ckpt.safetensors']);
  }, 60_000);

  it('worker.terminate() in the middle of a save leaves a temp file that the next save to that path removes', async () => {
    const sub = join(dir, 'worker');
    mkdirSync(sub);
    const path = join(sub, 'ckpt.safetensors');
    const r = await runTs(CHILD, ['worker', path], { timeoutMs: 60_000 });
    expect(r.signal, r.stderr).toBeNull();
    const out = lastJson<{ tries: number; left: string[]; leftSize: number; after: string[]; step: number }>(r);
    expect(out, r.stdout + r.stderr).not.toBeNull();
    // The terminated worker left its temporary file (nothing can stop that)...
    expect(out!.left.length, `no temp file caught in ${out!.tries} tries`).toBeGreaterThan(0);
    // ...named after the target, its writer's pid and thread...
    expect(out!.left[0]).toMatch(/^\.ckpt\.safetensors\.tmp-[0-9a-f]{8}-\d+-\d+-[0-9a-f]+$/);
    // ...and the next save removed it.
    expect(out!.after).toEqual([]);
    expect(out!.step).toBe(7);
    expect(readdirSync(sub)).toEqual(['ckpt.safetensors']);
  }, 90_000);

  it.skipIf(!linux)("removes dead writers' temp files, never a live writer's, nor other targets' or other hosts'", () => {
    const sub = join(dir, 'live');
    mkdirSync(sub);
    const path = join(sub, 'ckpt.safetensors');
    torch.save({ a: torch.ones([1]) }, path);
    expect(readdirSync(sub)).toEqual(['ckpt.safetensors']);
    // Temp names as torch.save makes them, for writers alive and dead.
    const own = _tempName(path);
    const [, host, pid, tid] = /\.tmp-([0-9a-f]{8})-(\d+)-(\d+)-/.exec(own)!;
    expect(Number(pid)).toBe(process.pid);
    const forge = (p: number | string, t: number | string, h = host, target = 'ckpt.safetensors') =>
      join(sub, `.${target}.tmp-${h}-${p}-${t}-0123abcd`);
    // Another live thread of this process (V8 and libuv have several): a writer that may be mid-save.
    const otherTid = readdirSync('/proc/self/task').find((t) => t !== tid);
    expect(otherTid).toBeDefined();
    const alive = [
      forge(process.ppid, process.ppid), // the parent process's main thread
      forge(1, 1),
      forge(process.pid, otherTid!),
      forge(4_194_999, 4_194_999, host === 'ffffffff' ? 'eeeeeeee' : 'ffffffff'), // another host or pid namespace: cannot judge
      forge(4_194_999, 4_194_999, host, 'other.safetensors'), // another target
      join(sub, '.ckpt.safetensors.tmp-not-ours'),
    ];
    const dead = [
      forge(4_194_999, 4_194_999), // above any pid_max
      forge(process.pid, 4_194_999), // a thread of this process that is gone
      forge(process.pid, tid), // this very thread, which is not in the middle of a save
    ];
    for (const f of [...alive, ...dead]) writeFileSync(f, 'x');
    torch.save({ a: torch.ones([1]) }, path);
    for (const f of dead) expect(existsSync(f), `${basename(f)} is left`).toBe(false);
    for (const f of alive) expect(existsSync(f), `${basename(f)} was removed`).toBe(true);
  });
});

describe.skipIf(!posix)('saving to targets that are not regular files', () => {
  it('refuses a FIFO and a directory, leaving them untouched', () => {
    const fifo = join(dir, 'target.fifo');
    mkfifo(fifo);
    expect(thrown(() => torch.save({ a: torch.ones([1]) }, fifo)).message).toMatch(
      /^torch\.save: .*target\.fifo .*is a FIFO, not a regular file/,
    );
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const d = join(dir, 'target.dir');
    mkdirSync(d);
    expect(thrown(() => torch.save({ a: torch.ones([1]) }, d)).message).toMatch(
      /^torch\.save: .*target\.dir .*is a directory, not a regular file/,
    );
    expect(lstatSync(d).isDirectory()).toBe(true);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('refuses a character device: a private one first, then /dev/null only if that worked', () => {
    // Where this process may make device nodes (root), check one of its own
    // first, so a regression replaces that and never the real /dev/null.
    const node = join(dir, 'null-copy');
    let made = false;
    try {
      execFileSync('mknod', [node, 'c', '1', '3'], { stdio: 'ignore' });
      made = true;
    } catch {
      // Not allowed here: then no save can replace /dev/null either.
    }
    if (made) {
      expect(thrown(() => torch.save({ a: torch.ones([1]) }, node)).message).toMatch(/is a character device, not a regular file/);
      expect(lstatSync(node).isCharacterDevice()).toBe(true);
    }
    expect(thrown(() => torch.save({ a: torch.ones([1]) }, '/dev/null')).message).toMatch(
      /^torch\.save: .*\/dev\/null .*is a character device, not a regular file/,
    );
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(readdirSync('/dev').filter((n) => n.startsWith('.null.tmp-'))).toEqual([]);
  });

  it('writes through a symlink to a regular file, keeping the symlink (as PyTorch does)', () => {
    const sub = join(dir, 'links');
    mkdirSync(sub);
    const real = join(sub, 'real.safetensors');
    torch.save({ a: torch.ones([1]) }, real);
    const link = join(sub, 'link.safetensors');
    symlinkSync('real.safetensors', link);
    torch.save({ a: torch.full([2], 5) }, link);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(torch.load(real).a.tolist()).toEqual([5, 5]);
    // A dangling symlink: the file is created where it points.
    const dangling = join(sub, 'dangling.safetensors');
    symlinkSync('made.safetensors', dangling);
    torch.save({ b: torch.ones([3]) }, dangling);
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(torch.load(join(sub, 'made.safetensors')).b.shape).toEqual([3]);
    // A symlink to a FIFO is refused like the FIFO.
    const fifo = join(sub, 'f.fifo');
    mkfifo(fifo);
    const toFifo = join(sub, 'to-fifo.safetensors');
    symlinkSync('f.fifo', toFifo);
    expect(thrown(() => torch.save({ a: torch.ones([1]) }, toFifo)).message).toMatch(/is a FIFO, not a regular file/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(sub).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('file names at the length limit', () => {
  it('saves to a 249-byte name (the temporary name stays within 255 bytes) and cleans up after itself', () => {
    const sub = join(dir, 'long');
    mkdirSync(sub);
    for (const name of ['a'.repeat(237) + '.safetensors', 'é'.repeat(115) + '.safetensors', 'b'.repeat(243)]) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      const path = join(sub, name);
      torch.save({ a: torch.ones([2]) }, path);
      torch.save({ a: torch.full([2], 3) }, path);
      expect(torch.load(path).a.tolist()).toEqual([3, 3]);
    }
    expect(readdirSync(sub).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe("'__proto__' keys in a header", () => {
  it('a __metadata__ key "__proto__" is a plain own string, and nothing is polluted', () => {
    const path = join(dir, 'proto.safetensors');
    writeRaw(
      path,
      '{"__metadata__":{"__proto__":"{\\"polluted\\":1}","constructor":"x"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      new Uint8Array(4),
    );
    const meta = torch.loadMetadata(path)!;
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(meta, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(meta, '__proto__')!.value).toBe('{"polluted":1}');
    expect(Object.keys(meta)).toEqual(['__proto__', 'constructor']);
    const sd = torch.load(path);
    expect(Object.getPrototypeOf(sd)).toBe(Object.prototype);
    expect(Object.keys(sd)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(sd, '__proto__')!.value).toBeInstanceOf(torch.Tensor);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('dtype');
  });

  it('a state dict with a "__proto__" entry round-trips as an own entry', () => {
    const path = join(dir, 'proto-rt.safetensors');
    const sd: Record<string, torch.Tensor> = {};
    Object.defineProperty(sd, '__proto__', { value: torch.ones([2]), enumerable: true, writable: true, configurable: true });
    torch.save(sd, path, { metadata: JSON.parse('{"__proto__":"m"}') });
    expect(Object.keys(torch.load(path))).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(torch.loadMetadata(path), '__proto__')!.value).toBe('m');
    expect(({} as Record<string, unknown>).m).toBeUndefined();
  });
});
