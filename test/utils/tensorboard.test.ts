// torch.utils.tensorboard.SummaryWriter: CRC32C against RFC 3720's vectors,
// the protobuf and TFRecord layers, the event files of a whole scenario
// compared record by record with the ones PyTorch's own SummaryWriter wrote
// (scripts/make_tensorboard_fixtures.py), a Kindling-written file as Python
// decoded it, the writer's file handling, and every refused argument.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { inflateSync } from 'node:zlib';
import * as torch from '../../lib/index.js';
import { crc32c, maskedCrc32c } from '../../lib/utils/tensorboard/crc32c.js';
import { ProtoWriter, readFields, ProtoMessage } from '../../lib/utils/tensorboard/protobuf.js';
import { frameRecord, readRecords } from '../../lib/utils/tensorboard/record.js';
import { encodeEvent, type Event } from '../../lib/utils/tensorboard/messages.js';
import { decodeEvent, decodeHParamsPluginData, readEventFile } from '../../lib/utils/tensorboard/reader.js';
import { SAMPLE, writeSample } from '../../scripts/write_tensorboard_sample.js';

const { SummaryWriter } = torch.utils.tensorboard;
const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, '..', 'fixtures', 'tensorboard');
const ROOT = join(HERE, '..', '..');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kindling-tb-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
let dirCount = 0;
const freshDir = (): string => join(tmp, `w${dirCount++}`);

/** The event files under dir: path, directory relative to dir, and the parts of the name. */
function eventFiles(dir: string): { path: string; dir: string; seconds: string; writer: number; suffix: string }[] {
  const out: { path: string; dir: string; seconds: string; writer: number; suffix: string }[] = [];
  const name = new RegExp(`^events\\.out\\.tfevents\\.(\\d{10})\\.${hostname().replace(/\./g, '\\.')}\\.${process.pid}\\.(\\d+)(.*)$`);
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const m = name.exec(f);
        if (!m) throw new Error(`unexpected file ${p}`);
        out.push({ path: p, dir: relative(dir, d).split('\\').join('/') || '.', seconds: m[1], writer: Number(m[2]), suffix: m[3] });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => a.writer - b.writer);
}

/** The pixels of a PNG Kindling wrote (8-bit RGB, every row filter 0), row by row. */
function pngPixels(png: Uint8Array): { width: number; height: number; pixels: number[] } {
  const b = Buffer.from(png);
  expect(hex(b.subarray(0, 8))).toBe('89504e470d0a1a0a');
  let pos = 8,
    width = 0,
    height = 0;
  const idat: Buffer[] = [];
  while (pos < b.length) {
    const len = b.readUInt32BE(pos),
      type = b.toString('ascii', pos + 4, pos + 8),
      data = b.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9]]).toEqual([8, 2]);
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const pixels: number[] = [];
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 3 + 1)]).toBe(0);
    pixels.push(...raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)));
  }
  return { width, height, pixels };
}

// ---- CRC32C, protobuf, TFRecord ------------------------------------------------------------

describe('crc32c', () => {
  it('matches the RFC 3720 (B.4) test vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
  it('masks as TFRecord does: rotate right 15, add 0xa282ead8', () => {
    // 0xe3069283 rotated right by 15 is 0x2507c60d; plus 0xa282ead8 is 0xc78ab0e5 (mod 2^32).
    expect(maskedCrc32c(new TextEncoder().encode('123456789'))).toBe(0xc78ab0e5);
    // 0x8a9136aa -> 0x6d55_1522 + 0xa282_ead8 overflows: 0x0fd7fffa.
    expect(maskedCrc32c(new Uint8Array(32))).toBe(0x0fd7fffa);
  });
});

describe('protobuf', () => {
  it('writes varints, negative ints as ten bytes, and leaves out proto3 defaults', () => {
    const w = new ProtoWriter()
      .int(1, 150)
      .int(2, 0)
      .int(3, -1)
      .int(4, 2 ** 40)
      .double(5, 0)
      .double(6, -0)
      .string(7, '')
      .string(8, '', true);
    expect(hex(w.finish())).toBe('089601' + '18ffffffffffffffffff01' + '20808080808020' + '310000000000000080' + '4200');
  });
  it('writes floats rounded to float32 and packed repeated doubles', () => {
    const w = new ProtoWriter().float(1, 0.1).packedDoubles(2, [1, -2]).packedDoubles(3, []);
    expect(hex(w.finish())).toBe('0dcdcccc3d' + '1210000000000000f03f00000000000000c0');
  });
  it('reads back what it wrote', () => {
    const inner = new ProtoWriter().string(1, 'ünï').finish();
    const data = new ProtoWriter().int(1, -7).double(2, 1.5).message(3, inner).packedDoubles(4, [0.25, 8]).float(5, 2.5).finish();
    const m = new ProtoMessage(data);
    expect(m.int(1)).toBe(-7);
    expect(m.double(2)).toBe(1.5);
    expect(new ProtoMessage(m.bytes(3)).string(1)).toBe('ünï');
    expect(m.repeatedDoubles(4)).toEqual([0.25, 8]);
    expect(m.float(5)).toBe(2.5);
    expect(m.int(9)).toBe(0);
  });
  it('refuses malformed messages with a message saying what is wrong', () => {
    expect(() => readFields(new Uint8Array([0x08, 0x80]), 'Event')).toThrow(/Event ends inside a varint/);
    expect(() => readFields(new Uint8Array([0x0a, 0x05, 0x01]), 'Event')).toThrow(/Event ends inside a field \(5 bytes wanted/);
    expect(() => readFields(new Uint8Array([0x0b]), 'Event')).toThrow(/wire type 3/);
    expect(() => readFields(new Uint8Array([0x00, 0x00]), 'Event')).toThrow(/field number 0/);
    expect(() => new ProtoMessage(new Uint8Array([0x08, 0x01])).double(1)).toThrow(/wire type 0, expected 1/);
  });
});

describe('TFRecord framing', () => {
  const fx = JSON.parse(readFileSync(join(FIXTURES, 'scenario.json'), 'utf8')) as Scenario;
  it("frames a record as tensorboard's RecordWriter does", () => {
    expect(hex(frameRecord(fromHex(fx.files[0].records[0])))).toBe(fx.framed);
  });
  it('reads records back and refuses a corrupt or cut file, naming the record', () => {
    const two = Buffer.concat([frameRecord(new Uint8Array([1, 2, 3])), frameRecord(new Uint8Array(0))]);
    expect(readRecords(two).map((r) => [...r])).toEqual([[1, 2, 3], []]);
    const badData = Buffer.from(two);
    badData[13] ^= 1;
    expect(() => readRecords(badData, 'f')).toThrow("f: record 0 at byte 0: the data's CRC does not match");
    const badLength = Buffer.from(two);
    badLength[19] ^= 1;
    expect(() => readRecords(badLength, 'f')).toThrow("f: record 1 at byte 19: the length's CRC does not match");
    expect(() => readRecords(two.subarray(0, 25), 'f')).toThrow('f: record 1 at byte 19 is cut short inside its header');
    expect(() => readRecords(two.subarray(0, 18), 'f')).toThrow(/record 0 at byte 0 says 3 bytes of data, more than the file holds/);
  });
});

// ---- the scenario, against PyTorch's SummaryWriter ----------------------------------------

interface Call {
  method: string;
  args: unknown[];
  opts: Record<string, unknown>;
}
interface PyImage {
  height: number;
  width: number;
  colorspace: number;
  mode: string;
  pixels: number[];
}
interface Scenario {
  walltime: number;
  writers: { logDir: string; opts: Record<string, unknown>; calls: Call[] }[];
  files: { dir: string; seconds: string; writer: number; suffix: string; records: string[]; images: Record<string, PyImage> }[];
  framed: string;
}

/** A call's argument from the fixture's JSON: tensors, NaN and infinities spelt out. */
function fromJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('tensor' in o) {
      const t = o.tensor as { dtype: string; shape: number[]; data: number[] };
      return torch.tensor(t.data, { dtype: t.dtype as 'float32' }).reshape(t.shape);
    }
    if ('float' in o) return Number(o.float === 'nan' ? NaN : o.float === 'inf' ? Infinity : -Infinity);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromJson(x)]));
  }
  return v;
}

describe('SummaryWriter against PyTorch 1.13', () => {
  const fx = JSON.parse(readFileSync(join(FIXTURES, 'scenario.json'), 'utf8')) as Scenario;
  const root = join(tmpdir(), `kindling-tb-scenario-${process.pid}`);
  let files: ReturnType<typeof eventFiles>;
  beforeAll(() => {
    rmSync(root, { recursive: true, force: true });
    vi.useFakeTimers({ toFake: ['Date'], now: fx.walltime * 1000 });
    try {
      for (const spec of fx.writers) {
        const w = new SummaryWriter(join(root, spec.logDir), spec.opts);
        for (const c of spec.calls) {
          const args = fromJson(c.args) as unknown[];
          const f = (w as unknown as Record<string, (...a: unknown[]) => void>)[c.method];
          if (Object.keys(c.opts).length) f.call(w, ...args, fromJson(c.opts));
          else f.call(w, ...args);
        }
      }
    } finally {
      vi.useRealTimers();
    }
    files = eventFiles(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes the same event files, in the same directories, under the same names', () => {
    const first = files[0].writer;
    const ours = files.map((f) => [f.dir, f.seconds, f.writer - first, f.suffix]);
    const theirs = fx.files.map((f) => [f.dir === '.' ? '.' : f.dir, f.seconds, f.writer, f.suffix]);
    expect(ours).toEqual(theirs);
    // add_scalars' sub-directories, add_hparams' runs (the default one named by str(time.time())), the reopened file.
    expect(theirs.map((f) => f[0])).toEqual([
      'run',
      'run/train_loss_a',
      'run/train_loss_b',
      'run/train_loss_c',
      'run/single',
      'run/multi',
      'run/1700000000.5',
      'run',
      'purged',
    ]);
  });

  it('writes every record byte for byte as PyTorch, but for PNG bytes, BLAS sums of squares and map order', () => {
    // Where bytes differ, PyTorch's record with those parts taken from ours (each checked
    // to hold the same values first) must encode to our bytes: nothing else may differ.
    const patched: string[] = [];
    fx.files.forEach((pf, i) => {
      const ours = readRecords(readFileSync(files[i].path), files[i].path);
      expect(ours.length, `${pf.dir} #${pf.writer}: number of records`).toBe(pf.records.length);
      pf.records.forEach((h, j) => {
        if (hex(ours[j]) === h) return;
        const what = `${pf.dir} record ${j}`;
        const a = decodeEvent(ours[j]),
          b = decodeEvent(fromHex(h));
        expect(a.summary?.value.length, what).toBe(1);
        expect(b.summary?.value.length, what).toBe(1);
        const va = a.summary!.value[0],
          vb = b.summary!.value[0];
        const took: string[] = [];
        if (vb.image && va.image) {
          // The PNG encoders differ (PIL against node:zlib); the pixels may not.
          expect(pngPixels(va.image.encodedImageString).pixels, what).toEqual(pf.images[vb.tag].pixels);
          vb.image.encodedImageString = va.image.encodedImageString;
          took.push('png');
        }
        if (vb.histo && va.histo && vb.histo.sumSquares !== va.histo.sumSquares) {
          // numpy's values.dot(values) is BLAS's, whose order of additions is its own.
          expect(va.histo.sumSquares, what).toBeCloseTo(vb.histo.sumSquares, 12);
          vb.histo.sumSquares = va.histo.sumSquares;
          took.push('sum_squares');
        }
        const pa = va.metadata?.pluginData,
          pb = vb.metadata?.pluginData;
        if (pa && pb && pb.pluginName === 'hparams' && hex(pa.content) !== hex(pb.content)) {
          // A map's order is unspecified (protobuf's C++ writes hash order): the same entries, sorted.
          const sorted = (c: Uint8Array) => {
            const d = decodeHParamsPluginData(c);
            d.sessionStartInfo?.hparams.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
            return d;
          };
          expect(sorted(pa.content), what).toEqual(sorted(pb.content));
          expect(pa.content.length, what).toBe(pb.content.length);
          pb.content = pa.content;
          took.push('map order');
        }
        expect(took, `${what}: bytes differ with nothing that may differ`).not.toEqual([]);
        expect(hex(encodeEvent(b)), what).toBe(hex(ours[j]));
        patched.push(`${vb.tag}: ${took.join(', ')}`);
      });
    });
    // Every histogram whose squares sum exactly, every scalar, text and hparams
    // record with one key is PyTorch's to the byte; the map with several keys never is.
    for (const tag of patched)
      expect(tag).toMatch(
        /^(chw|grey|hwc_uint8|hw|wh|grid|grid9|edge_values): png$|^(normal|positive|max_bins): sum_squares$|^_hparams_\/session_start_info: map order$/,
      );
    expect(patched).toContain('_hparams_/session_start_info: map order');
  });

  it("writes the images PIL reads from PyTorch's PNGs, pixel for pixel", () => {
    let n = 0;
    fx.files.forEach((pf, i) => {
      const ours = readEventFile(files[i].path);
      for (const e of ours) {
        const v = e.summary?.value[0];
        if (!v?.image) continue;
        const py = pf.images[v.tag];
        expect(py.mode, v.tag).toBe('RGB');
        expect([v.image.height, v.image.width, v.image.colorspace], v.tag).toEqual([py.height, py.width, py.colorspace]);
        expect(pngPixels(v.image.encodedImageString), v.tag).toEqual({ width: py.width, height: py.height, pixels: py.pixels });
        n++;
      }
    });
    expect(n).toBe(8);
  });

  it('logged what the calls asked for', () => {
    const main = readEventFile(files[0].path);
    const scalarOf = (tag: string) => main.find((e) => e.summary?.value[0].tag === tag)!;
    expect(scalarOf('loss').summary!.value[0].simpleValue).toBe(0.5);
    expect(scalarOf('nan').summary!.value[0].simpleValue).toBeNaN();
    expect(scalarOf('huge').summary!.value[0].simpleValue).toBe(Infinity);
    expect(scalarOf('neg').step).toBe(-7);
    expect(scalarOf('big_step').step).toBe(2 ** 40);
    const edges = scalarOf('edges').summary!.value[0].histo!;
    // Values -3, -1, -0.5, 0, 0.25, 0.5, 1, 2, 2, 5 over the edges -1, 0, 0.5, 2: the last bin holds its right edge.
    expect(edges).toMatchObject({ min: -3, max: 5, num: 10, sum: 6.25, bucketLimit: [-1, 0, 0.5, 2], bucket: [0, 2, 2, 4] });
    const note = scalarOf('note/text_summary').summary!.value[0];
    expect(new TextDecoder().decode(note.tensor!.stringVal![0])).toBe('hello **world** - ünïcødé ✓');
    const multi = readEventFile(files.find((f) => f.dir === 'run/multi')!.path);
    const exp = decodeHParamsPluginData(multi[1].summary!.value[0].metadata!.pluginData!.content);
    expect(exp.experiment!.hparamInfos).toEqual([
      { name: 'lr', type: 3 },
      { name: 'bs', type: 3, domainDiscrete: [{ numberValue: 16 }, { numberValue: 32 }] },
      { name: 'opt', type: 1, domainDiscrete: [{ stringValue: 'sgd' }, { stringValue: 'adam' }] },
      { name: 'flag', type: 3 },
      { name: 't', type: 3 },
    ]);
    expect(exp.experiment!.metricInfos.map((m) => m.name.tag)).toEqual(['hparam/acc', 'hparam/loss']);
  });
});

// ---- a Kindling-written file, as Python decoded it ---------------------------------------

interface PyValue {
  tag: string;
  simple_value?: number;
  histo?: { min: number; max: number; num: number; sum: number; sum_squares: number; bucket_limit: number[]; bucket: number[] };
  image?: PyImage & { format: string; size: number[] };
  tensor?: { dtype: string; shape: number[]; string_val: string[] };
  metadata?: { plugin_name: string };
}

describe('an event file Kindling wrote, decoded in Python', () => {
  const py = (
    JSON.parse(readFileSync(join(FIXTURES, 'kindling_decoded.json'), 'utf8')) as {
      events: (Event & { values?: PyValue[]; file_version?: string; wall_time: number })[];
    }
  ).events;
  const value = (i: number): PyValue => (py[i] as unknown as { values: PyValue[] }).values[0];

  it('starts with the file_version event', () => {
    expect(py[0].file_version).toBe('brain.Event:2');
    expect(py.slice(1).every((e) => e.wall_time === SAMPLE.walltime)).toBe(true);
  });
  it('decodes to the scalars that were written (as float32)', () => {
    expect([1, 2, 3].map((i) => [value(i).tag, value(i).simple_value, (py[i] as unknown as { step: number }).step])).toEqual(
      SAMPLE.scalars.map((s) => [s.tag, Math.fround(s.value), s.step]),
    );
  });
  it('decodes to the histogram that was written', () => {
    const h = value(4).histo!;
    const vs = SAMPLE.histogram.values;
    expect(value(4).tag).toBe(SAMPLE.histogram.tag);
    expect([h.min, h.max, h.num, h.sum, h.sum_squares]).toEqual([0.5, 2, vs.length, 7.5, 11.375]);
    // Each value in its 'tensorflow' bucket: the right edge of the bucket is the first edge >= the value.
    const counted = h.bucket_limit.map((lim, i) => vs.filter((v) => v <= lim && (i === 0 || v > h.bucket_limit[i - 1])).length);
    expect(h.bucket).toEqual(counted);
    expect(h.bucket[0]).toBe(0);
    expect(h.bucket.reduce((a, b) => a + b, 0)).toBe(vs.length);
  });
  it('decodes, through PIL, to the images that were written', () => {
    for (const [i, im] of [
      [5, SAMPLE.grey],
      [6, SAMPLE.rgb],
    ] as const) {
      const v = value(i);
      const [C, H, W] = im.shape;
      const byte = (x: number) => Math.trunc(Math.fround(Math.fround(x) * 255));
      const want: number[] = [];
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) want.push(byte(im.values[(C === 1 ? 0 : c) * H * W + y * W + x]));
      expect(v.tag).toBe(im.tag);
      expect(v.image).toMatchObject({ format: 'PNG', mode: 'RGB', size: [W, H], height: H, width: W, colorspace: 3 });
      expect(v.image!.pixels).toEqual(want);
    }
  });
  it('decodes to the text that was written', () => {
    expect(value(7)).toMatchObject({
      tag: `${SAMPLE.text.tag}/text_summary`,
      tensor: { dtype: 'DT_STRING', shape: [1], string_val: [SAMPLE.text.text] },
      metadata: { plugin_name: 'text' },
    });
  });
  it('is what the writer writes now (the committed file is not stale)', () => {
    const committed = readRecords(readFileSync(join(FIXTURES, 'kindling.tfevents')));
    const now = readRecords(readFileSync(writeSample(freshDir())));
    expect(now.slice(1).map(hex)).toEqual(committed.slice(1).map(hex));
    expect(decodeEvent(now[0]).fileVersion).toBe('brain.Event:2');
  });
});

// ---- the writer's files ---------------------------------------------------------------------

describe('SummaryWriter files', () => {
  it('names the file events.out.tfevents.<seconds>.<host>.<pid>.<n> and starts it with brain.Event:2', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1234567890_750 });
    const dir = freshDir();
    const w = new SummaryWriter(dir, { filenameSuffix: '.x' });
    const [f] = eventFiles(dir);
    expect([f.seconds, f.suffix]).toEqual(['1234567890', '.x']);
    expect(readEventFile(f.path)).toEqual([{ wallTime: 1234567890.75, step: 0, fileVersion: 'brain.Event:2' }]);
    expect(w.getLogdir()).toBe(dir);
    w.close();
  });

  it('keeps up to maxQueue events in memory, writes them on flush() and close(), and reopens after close()', () => {
    const dir = freshDir();
    const w = new SummaryWriter(dir, { maxQueue: 3 });
    const path = eventFiles(dir)[0].path;
    w.addScalar('a', 1, 0);
    w.addScalar('a', 2, 1);
    expect(readEventFile(path)).toHaveLength(1);
    w.addScalar('a', 3, 2); // the third waiting event
    expect(readEventFile(path)).toHaveLength(4);
    w.addText('t', 'x');
    w.flush();
    expect(readEventFile(path)).toHaveLength(5);
    w.addScalar('a', 4, 3);
    w.close();
    w.close(); // a second close does nothing
    expect(readEventFile(path).map((e) => e.summary?.value[0].simpleValue)).toEqual([undefined, 1, 2, 3, undefined, 4]);
    w.addScalar('b', 5, 0);
    w.close();
    const after = eventFiles(dir);
    expect(after).toHaveLength(2);
    expect(readEventFile(after[1].path)[1].summary!.value[0]).toEqual({ tag: 'b', simpleValue: 5 });
  });

  it('writes what is waiting when the process exits without close()', () => {
    const dir = freshDir();
    const script = join(tmp, 'no_close.ts');
    writeFileSync(
      script,
      `import * as torch from ${JSON.stringify(join(ROOT, 'lib', 'index.js'))};\n` +
        `const w = new torch.utils.tensorboard.SummaryWriter(${JSON.stringify(dir)});\n` +
        `w.addScalar('x', 1.5, 3);\n`,
    );
    const run = spawnSync(process.execPath, ['--import', join(ROOT, 'test', 'reliability', 'helpers', 'register-ts.mjs'), script], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const events = readdirSync(dir).map((f) => readEventFile(join(dir, f)));
    expect(events).toHaveLength(1);
    expect(events[0][1]).toMatchObject({ step: 3, summary: { value: [{ tag: 'x', simpleValue: 1.5 }] } });
  });

  it('defaults logDir to runs/<Mon><DD>_<HH>-<MM>-<SS>_<host><comment>, as PyTorch', () => {
    const cwd = process.cwd();
    const dir = freshDir();
    mkdirSync(dir);
    process.chdir(dir);
    try {
      vi.useFakeTimers({ toFake: ['Date'], now: new Date(2024, 2, 7, 9, 5, 3).getTime() });
      const w = new SummaryWriter({ comment: '_lr0.1' });
      expect(w.getLogdir()).toBe(join('runs', `Mar07_09-05-03_${hostname()}_lr0.1`));
      w.close();
      expect(existsSync(join(dir, w.getLogdir()))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('writes the purge_step events first when asked', () => {
    const dir = freshDir();
    const w = new SummaryWriter(dir, { purgeStep: 12 });
    w.close();
    const [, fv, log] = readEventFile(eventFiles(dir)[0].path);
    expect([fv.step, fv.fileVersion, log.step, log.sessionLog]).toEqual([12, 'brain.Event:2', 12, { status: 1 }]);
  });

  it('takes every argument positionally or by name', () => {
    const dir = freshDir();
    const w = new SummaryWriter({ logDir: dir });
    w.addScalar({ tag: 'a', scalarValue: 1, globalStep: 2, walltime: 5 });
    w.addScalars('m', { x: 1 }, { globalStep: 3, walltime: 6 });
    w.addHistogram('h', [1, 2, 3], 4, 3, 7, null);
    w.addImage('i', torch.ones(2, 2), { dataformats: 'HW', walltime: 8 });
    w.addText({ tag: 't', textString: 's', globalStep: 5, walltime: 9 });
    w.addHparams({ lr: 1 }, { acc: 2 }, { lr: [1, 2] }, 'r');
    w.close();
    const main = readEventFile(eventFiles(dir)[0].path).slice(1);
    expect(main.map((e) => [e.summary!.value[0].tag, e.step, e.wallTime])).toEqual([
      ['a', 2, 5],
      ['h', 4, 7],
      ['i', 0, 8],
      ['t/text_summary', 5, 9],
    ]);
    // np.linspace(1, 3, 4): i * step + start, the last edge exactly 3.
    expect(main[1].summary!.value[0].histo!.bucketLimit).toEqual([1, (2 / 3) * 1 + 1, (2 / 3) * 2 + 1, 3]);
    const run = readEventFile(eventFiles(join(dir, 'r'))[0].path);
    const exp = decodeHParamsPluginData(run[1].summary!.value[0].metadata!.pluginData!.content);
    expect(exp.experiment!.hparamInfos).toEqual([{ name: 'lr', type: 3, domainDiscrete: [{ numberValue: 1 }, { numberValue: 2 }] }]);
    expect(run[4].summary!.value[0]).toEqual({ tag: 'acc', simpleValue: 2 });
  });
});

// ---- refused arguments -----------------------------------------------------------------

describe('SummaryWriter refuses bad arguments with a message naming them', () => {
  let w: InstanceType<typeof SummaryWriter>;
  beforeAll(() => {
    w = new SummaryWriter(join(tmp, 'refusals'));
  });
  afterAll(() => w.close());
  const call =
    (method: string, ...args: unknown[]) =>
    () =>
      (w as unknown as Record<string, (...a: unknown[]) => void>)[method].call(w, ...args);

  it('refuses bad constructor options', () => {
    expect(() => new SummaryWriter(join(tmp, 'x'), { flushSec: 1 } as never)).toThrow(
      "SummaryWriter: unknown option 'flushSec' (did you mean 'flushSecs'?)",
    );
    expect(() => new SummaryWriter(join(tmp, 'x'), { maxQueue: 0 })).toThrow(
      "SummaryWriter: argument 'maxQueue' must be a positive integer, got 0",
    );
    expect(() => new SummaryWriter(join(tmp, 'x'), { flushSecs: -1 })).toThrow(RangeError);
    expect(() => new SummaryWriter(5 as never)).toThrow("SummaryWriter: argument 'logDir' must be a string or null, got 5");
    writeFileSync(join(tmp, 'a_file'), '');
    expect(() => new SummaryWriter(join(tmp, 'a_file', 'sub'))).toThrow(/SummaryWriter: cannot create the event file .*a_file/);
  });
  it('refuses tags that are not strings, values that are not numbers, bad steps and times', () => {
    expect(call('addScalar', 5, 1)).toThrow("addScalar: argument 'tag' must be a string, got 5");
    expect(call('addScalar', 'a', '1')).toThrow('addScalar: scalarValue must be a number or a one-element Tensor, got "1"');
    expect(call('addScalar', 'a', torch.zeros(2))).toThrow(
      'addScalar: scalarValue must be a number or a one-element Tensor, got a Tensor of shape [2]',
    );
    expect(call('addScalar', 'a', 1, 1.5)).toThrow("addScalar: argument 'globalStep' must be an integer or null, got 1.5");
    expect(call('addScalar', 'a', 1, 0, NaN)).toThrow("addScalar: argument 'walltime' must be a finite number");
    expect(call('addScalar', 'a', 1, { step: 1 })).toThrow("addScalar: unknown option 'step'");
    expect(call('addScalars', 'm', { x: 'no' })).toThrow(
      'addScalars: tagScalarDict["x"] must be a number or a one-element Tensor, got "no"',
    );
    expect(call('addScalars', 'm', [1])).toThrow('addScalars: tagScalarDict must be an object');
    expect(call('addText', 't', 5)).toThrow("addText: argument 'textString' must be a string, got 5");
  });
  it('refuses bad histograms', () => {
    expect(call('addHistogram', 'h', 'abc')).toThrow('addHistogram: values must be a Tensor or an array of numbers, got "abc"');
    expect(call('addHistogram', 'h', [])).toThrow('addHistogram: values has no element');
    expect(call('addHistogram', 'h', [1], 0, 'auto')).toThrow(
      'addHistogram: bins must be \'tensorflow\', a number of bins or an array of edges, got "auto"',
    );
    expect(call('addHistogram', 'h', [1], 0, 0)).toThrow('addHistogram: bins must be a positive integer when a number, got 0');
    expect(call('addHistogram', 'h', [1], 0, [2, 1])).toThrow('addHistogram: bins must increase monotonically');
    expect(call('addHistogram', 'h', [NaN, 1], 0, 3)).toThrow(
      "addHistogram: bins=3 needs the values' range, and the range [NaN, NaN] is not finite",
    );
    expect(call('addHistogram', 'h', [5], 0, [0, 1])).toThrow('addHistogram: no value falls inside the bins [0, 1]');
    expect(call('addHistogram', 'h', [1], { maxBins: 0 })).toThrow(
      "addHistogram: argument 'maxBins' must be a positive integer or null, got 0",
    );
  });
  it('refuses images of the wrong shape or layout', () => {
    expect(call('addImage', 'i', [[1]])).toThrow('addImage: imgTensor must be a Tensor, got [[1]]');
    expect(call('addImage', 'i', torch.zeros(2, 2))).toThrow('addImage: dataformats "CHW" has 3 letters but the image has shape [2, 2]');
    expect(call('addImage', 'i', torch.zeros(2, 2, 2))).toThrow(
      'addImage: an image has 1, 3 or 4 channels (grey, RGB, RGBA), got 2 in shape [2, 2, 2] (dataformats CHW)',
    );
    expect(call('addImage', 'i', torch.zeros(4, 2, 2))).toThrow('addImage: RGBA images (4 channels) are not supported yet');
    expect(call('addImage', 'i', torch.zeros(3, 2, 2), 0, null, 'CHH')).toThrow('addImage: dataformats "CHH" names a dimension twice');
    expect(call('addImage', 'i', torch.zeros(3, 2, 2), { dataformats: 'CXW' })).toThrow(
      'addImage: dataformats must be a permutation of NCHW, CHW or HW',
    );
    expect(call('addImage', 'i', torch.zeros(3, 0, 2))).toThrow('addImage: the image of shape [3, 0, 2] is empty');
  });
  it('refuses bad hparams', () => {
    expect(call('addHparams', [1], {})).toThrow('addHparams: hparamDict must be an object (a dict of name: value), got [1]');
    expect(call('addHparams', { a: [1] }, {})).toThrow('addHparams: hparamDict["a"] must be a number, string, boolean or Tensor, got [1]');
    expect(call('addHparams', { a: 1 }, { m: 'x' })).toThrow(
      'addHparams: metricDict["m"] must be a number or a one-element Tensor, got "x"',
    );
    expect(call('addHparams', { a: 1 }, {}, { a: ['x'] })).toThrow(
      'addHparams: hparamDomainDiscrete["a"] must be an array of values of the type of hparamDict["a"]',
    );
    expect(call('addHparams', { a: 1 }, {}, { b: [1] })).toThrow('addHparams: hparamDomainDiscrete["b"]');
  });
});
