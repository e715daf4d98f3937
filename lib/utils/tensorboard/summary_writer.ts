// torch.utils.tensorboard.SummaryWriter: TensorBoard event files written
// as PyTorch 1.13 writes them, with no dependency (TFRecord framing in
// record.ts, protobufs by hand in messages.ts).
//
// Note [Event file writes]: PyTorch queues events for a background thread
// that writes them and flushes every flushSecs. Node has no such thread to
// spare, so an EventFileWriter keeps the framed records in memory and writes
// them with one synchronous write when maxQueue of them are waiting, when
// flushSecs have passed (checked on each add and by an unref'd timer that
// never keeps the process alive), on flush() and close(), and at process
// exit for a writer never closed. Nothing is written from another thread,
// so records are never interleaved.
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { bindOptions, fmtValue, isOptions, param, type CallArgs } from '../../util/args.js';
import { encodeEvent, SessionLogStatus, type Event, type Summary } from './messages.js';
import { frameRecord } from './record.js';
import {
  defaultBins,
  dictEntries,
  histogramValues,
  hparams,
  image,
  makeHistogram,
  scalar,
  scalarValue,
  text,
  type Bins,
} from './summary.js';

/** Seconds since the epoch, as Python's time.time(). */
const now = (): number => Date.now() / 1000;

// tensorboard's _global_uid: one counter for every event file this process opens.
let nextUid = 0;
const open = new Set<EventFileWriter>();
let exitHook = false;

/** One event file: its name, the file_version record, and the queue of Note [Event file writes]. */
class EventFileWriter {
  readonly fileName: string;
  private fd: number | null;
  private pending: Uint8Array[] = [];
  private lastFlush = Date.now();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly logDir: string,
    private readonly maxQueue: number,
    private readonly flushSecs: number,
    filenameSuffix: string,
  ) {
    const secs = String(Math.trunc(now())).padStart(10, '0');
    this.fileName = join(logDir, `events.out.tfevents.${secs}.${hostname()}.${process.pid}.${nextUid++}`) + filenameSuffix;
    try {
      fs.mkdirSync(logDir, { recursive: true });
      this.fd = fs.openSync(this.fileName, 'w');
    } catch (e) {
      throw new Error(`SummaryWriter: cannot create the event file ${this.fileName}: ${(e as Error).message}`);
    }
    open.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const w of open) w.flush();
      });
    }
    if (Number.isFinite(flushSecs) && flushSecs > 0) {
      this.timer = setInterval(() => this.flush(), Math.min(flushSecs * 1000, 2 ** 31 - 1));
      this.timer.unref();
    }
    this.add({ wallTime: now(), step: 0, fileVersion: 'brain.Event:2' });
    this.flush();
  }

  add(e: Event): void {
    if (this.fd === null) throw new Error(`SummaryWriter: the event file ${this.fileName} is closed`);
    this.pending.push(frameRecord(encodeEvent(e)));
    if (this.pending.length >= this.maxQueue || Date.now() - this.lastFlush >= this.flushSecs * 1000) this.flush();
  }

  /** summary wrapped in an Event, as FileWriter.add_summary does. */
  addSummary(summary: Summary, step: number | null, walltime: number | null): void {
    this.add({ wallTime: walltime ?? now(), step: step ?? 0, summary });
  }

  flush(): void {
    this.lastFlush = Date.now();
    if (this.fd === null || this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off);
  }

  close(): void {
    if (this.fd === null) return;
    this.flush();
    fs.closeSync(this.fd);
    this.fd = null;
    if (this.timer) clearInterval(this.timer);
    open.delete(this);
  }
}

// ---- argument checks ---------------------------------------------------------------------

const str = <N extends string, D extends string | undefined = undefined>(name: N, dflt?: D) =>
  param.custom(
    name,
    'str',
    (v, o) => {
      if (typeof v !== 'string') throw new TypeError(`${o}: argument '${name}' must be a string, got ${fmtValue(v)}`);
      return v;
    },
    dflt,
  );
const optStep = <N extends string>(name: N) =>
  param.custom(
    name,
    'int?',
    (v, o) => {
      if (v !== null && !Number.isSafeInteger(v))
        throw new TypeError(`${o}: argument '${name}' must be an integer or null, got ${fmtValue(v)}`);
      return v as number | null;
    },
    null,
  );
const walltime = param.custom(
  'walltime',
  'float?',
  (v, o) => {
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v)))
      throw new TypeError(`${o}: argument 'walltime' must be a finite number of seconds since the epoch or null, got ${fmtValue(v)}`);
    return v as number | null;
  },
  null,
);
const optStr = <N extends string>(name: N) =>
  param.custom(
    name,
    'str?',
    (v, o) => {
      if (v !== null && typeof v !== 'string') throw new TypeError(`${o}: argument '${name}' must be a string or null, got ${fmtValue(v)}`);
      return v as string | null;
    },
    null,
  );
/** A positive integer, or null where `dflt` is null. */
const positive = <N extends string, D extends number | null>(name: N, dflt: D) =>
  param.custom(
    name,
    dflt === null ? 'int?' : 'int',
    (v, o) => {
      if (v === null && dflt === null) return null as D;
      if (!Number.isSafeInteger(v) || (v as number) < 1)
        throw new RangeError(`${o}: argument '${name}' must be a positive integer${dflt === null ? ' or null' : ''}, got ${fmtValue(v)}`);
      return v as number | D;
    },
    dflt,
  );
const any = <N extends string>(name: N, type: string) => param.custom(name, type, (v) => v);
const anyOpt = <N extends string>(name: N, type: string) => param.custom(name, type, (v) => v, null as unknown);

const SUMMARY_WRITER = [
  optStr('logDir'),
  str('comment', ''),
  optStep('purgeStep'),
  positive('maxQueue', 10),
  param.custom(
    'flushSecs',
    'float',
    (v, o) => {
      if (typeof v !== 'number' || !(v > 0))
        throw new RangeError(`${o}: argument 'flushSecs' must be a positive number, got ${fmtValue(v)}`);
      return v;
    },
    120,
  ),
  str('filenameSuffix', ''),
] as const;
const ADD_SCALAR = [
  str('tag'),
  any('scalarValue', 'float|Tensor'),
  optStep('globalStep'),
  walltime,
  param.bool('newStyle', false),
  param.bool('doublePrecision', false),
] as const;
const ADD_SCALARS = [str('mainTag'), any('tagScalarDict', 'dict[str, float|Tensor]'), optStep('globalStep'), walltime] as const;
const ADD_HISTOGRAM = [
  str('tag'),
  any('values', 'Tensor|number[]'),
  optStep('globalStep'),
  param.custom<'bins', Bins, Bins>('bins', "'tensorflow'|int|float[]", (v) => v as Bins, 'tensorflow'),
  walltime,
  positive('maxBins', null),
] as const;
const ADD_IMAGE = [str('tag'), any('imgTensor', 'Tensor'), optStep('globalStep'), walltime, str('dataformats', 'CHW')] as const;
const ADD_TEXT = [str('tag'), str('textString'), optStep('globalStep'), walltime] as const;
const ADD_HPARAMS = [
  any('hparamDict', 'dict[str, float|str|bool|Tensor]'),
  any('metricDict', 'dict[str, float]'),
  anyOpt('hparamDomainDiscrete', 'dict[str, list]?'),
  optStr('runName'),
] as const;

/** Python's str(time.time()): a float's repr, so a whole number of seconds keeps its '.0'. */
function pyFloatString(t: number): string {
  return Number.isInteger(t) ? `${t}.0` : String(t);
}

/** datetime.now().strftime('%b%d_%H-%M-%S'), for the default log directory. */
function runStamp(d: Date): string {
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${month}${two(d.getDate())}_${two(d.getHours())}-${two(d.getMinutes())}-${two(d.getSeconds())}`;
}

/**
 * torch.utils.tensorboard.SummaryWriter(logDir?, comment='', purgeStep?,
 * maxQueue=10, flushSecs=120, filenameSuffix=''): writes scalars,
 * histograms, images, text and hyperparameters to TensorBoard event files
 * in `logDir`, laid out as PyTorch writes them, so `tensorboard --logdir`
 * shows a Kindling run as it shows a PyTorch one.
 *
 * The default `logDir` is `runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>`.
 * Each writer opens the file `events.out.tfevents.<seconds>.<hostname>.<pid>.<n>`
 * (then `filenameSuffix`) whose first event is `file_version: "brain.Event:2"`.
 * Events reach the file when `maxQueue` are waiting, every `flushSecs`
 * seconds, on `flush()` and `close()`, and at process exit.
 *
 * ```ts
 * const writer = new torch.utils.tensorboard.SummaryWriter('runs/exp1');
 * for (let step = 0; step < 100; step++) writer.addScalar('loss', loss.item(), step);
 * writer.close();
 * ```
 */
export class SummaryWriter {
  /** The directory the event files go to. */
  readonly logDir: string;
  /** Events from this step on, left over from a crashed run, are hidden by TensorBoard (written once, at the first file). */
  purgeStep: number | null;
  /** How many events may wait in memory before they are written. */
  readonly maxQueue: number;
  /** Seconds between writes of waiting events. */
  readonly flushSecs: number;
  /** Appended to every event file's name. */
  readonly filenameSuffix: string;
  private fileWriter: EventFileWriter | null = null;
  private allWriters: Map<string, EventFileWriter> | null = null;
  /** The bin edges of addHistogram's default, 'tensorflow'. */
  readonly defaultBins: readonly number[] = defaultBins();

  constructor(...args: CallArgs<typeof SUMMARY_WRITER>) {
    const o = bindOptions('SummaryWriter', SUMMARY_WRITER, args);
    this.logDir = o.logDir || join('runs', `${runStamp(new Date())}_${hostname()}${o.comment}`);
    this.purgeStep = o.purgeStep;
    this.maxQueue = o.maxQueue;
    this.flushSecs = o.flushSecs;
    this.filenameSuffix = o.filenameSuffix;
    this.getFileWriter();
  }

  /** The main event file's writer; a new file when close() closed the last one, as PyTorch reopens. */
  private getFileWriter(): EventFileWriter {
    if (this.fileWriter === null || this.allWriters === null) {
      this.fileWriter = new EventFileWriter(this.logDir, this.maxQueue, this.flushSecs, this.filenameSuffix);
      this.allWriters = new Map([[this.fileWriter.logDir, this.fileWriter]]);
      if (this.purgeStep !== null) {
        this.fileWriter.add({ wallTime: now(), step: this.purgeStep, fileVersion: 'brain.Event:2' });
        this.fileWriter.add({ wallTime: now(), step: this.purgeStep, sessionLog: { status: SessionLogStatus.START } });
        this.purgeStep = null;
      }
    }
    return this.fileWriter;
  }

  /** The directory the event files go to. */
  getLogdir(): string {
    return this.logDir;
  }

  /**
   * addScalar(tag, scalarValue, globalStep?, walltime?, newStyle=false, doublePrecision=false):
   * one point of the curve `tag`. The value is a number or a one-element
   * Tensor, stored as a float32 (`simple_value`); `newStyle` stores a rank-0
   * tensor for the scalars plugin instead (float64 with `doublePrecision`).
   * `walltime` is seconds since the epoch (default: now).
   */
  addScalar(...args: CallArgs<typeof ADD_SCALAR>): void {
    const o = bindOptions('addScalar', ADD_SCALAR, args);
    const v = scalarValue('addScalar', o.scalarValue);
    this.getFileWriter().addSummary(scalar(o.tag, v, o.newStyle, o.doublePrecision), o.globalStep, o.walltime);
  }

  /**
   * addScalars(mainTag, tagScalarDict, globalStep?, walltime?): several
   * curves on one chart. As PyTorch, each key of `tagScalarDict` gets its own
   * event file in the sub-directory `<logDir>/<mainTag with '/' as '_'>_<key>`,
   * holding the value under the tag `mainTag`. When the call has just two
   * arguments, the second is `tagScalarDict`, never options.
   */
  addScalars(...args: CallArgs<typeof ADD_SCALARS>): void {
    const call: unknown[] = args.length === 2 ? [...args, undefined] : args;
    const o = bindOptions('addScalars', ADD_SCALARS, call);
    const entries = dictEntries('addScalars', 'tagScalarDict', o.tagScalarDict);
    const values = entries.map(([k, v]) => scalarValue('addScalars', v, `tagScalarDict[${JSON.stringify(k)}]`));
    const wall = o.walltime ?? now();
    const base = this.getFileWriter().logDir;
    entries.forEach(([tag], i) => {
      const dir = `${base}/${o.mainTag.replaceAll('/', '_')}_${tag}`;
      let fw = this.allWriters!.get(dir);
      if (fw === undefined) {
        fw = new EventFileWriter(dir, this.maxQueue, this.flushSecs, this.filenameSuffix);
        this.allWriters!.set(dir, fw);
      }
      fw.addSummary(scalar(o.mainTag, values[i]), o.globalStep, wall);
    });
  }

  /**
   * addHistogram(tag, values, globalStep?, bins='tensorflow', walltime?, maxBins?):
   * the distribution of `values` (a Tensor of any shape and dtype, or an
   * array of numbers), binned as np.histogram bins it: `bins` is 'tensorflow'
   * (PyTorch's default: edges +-1e-12 * 1.1^k and 0), a number of equal bins
   * over the values' range, or the bin edges. `maxBins` merges neighbouring
   * bins down to at most that many. Stored with min, max, num, sum and
   * sum_squares as torch.utils.tensorboard stores them.
   */
  addHistogram(...args: CallArgs<typeof ADD_HISTOGRAM>): void {
    const o = bindOptions('addHistogram', ADD_HISTOGRAM, args);
    const bins = o.bins as unknown;
    if (typeof bins === 'string' && bins !== 'tensorflow')
      throw new RangeError(`addHistogram: bins must be 'tensorflow', a number of bins or an array of edges, got ${fmtValue(bins)}`);
    if (typeof bins !== 'string' && typeof bins !== 'number' && !(Array.isArray(bins) && bins.every((b) => typeof b === 'number')))
      throw new TypeError(`addHistogram: bins must be 'tensorflow', a number of bins or an array of edges, got ${fmtValue(bins)}`);
    const histo = makeHistogram('addHistogram', histogramValues('addHistogram', o.values), bins as Bins, o.maxBins);
    this.getFileWriter().addSummary({ value: [{ tag: o.tag, histo }] }, o.globalStep, o.walltime);
  }

  /**
   * addImage(tag, imgTensor, globalStep?, walltime?, dataformats='CHW'): an
   * image, PNG-encoded. `dataformats` names the tensor's dimensions: 'CHW'
   * (the default), 'HWC', 'HW', 'WH', ..., or 'NCHW' for a batch tiled 8 to
   * a row. 1 (grey) or 3 (RGB) channels. Floating values are taken as [0, 1]
   * and scaled by 255, uint8 values as they are.
   */
  addImage(...args: CallArgs<typeof ADD_IMAGE>): void {
    const o = bindOptions('addImage', ADD_IMAGE, args);
    this.getFileWriter().addSummary(image('addImage', o.tag, o.imgTensor, o.dataformats), o.globalStep, o.walltime);
  }

  /** addText(tag, textString, globalStep?, walltime?): text (Markdown) for the text plugin, under the tag `<tag>/text_summary`. */
  addText(...args: CallArgs<typeof ADD_TEXT>): void {
    const o = bindOptions('addText', ADD_TEXT, args);
    this.getFileWriter().addSummary(text(o.tag, o.textString), o.globalStep, o.walltime);
  }

  /**
   * addHparams(hparamDict, metricDict, hparamDomainDiscrete?, runName?): one
   * run of the hparams plugin. As PyTorch, it writes into a new event file in
   * `<logDir>/<runName>` (default: the current time in seconds) the
   * experiment, session_start_info and session_end_info summaries, then each
   * metric of `metricDict` as a scalar. Hyperparameter values are numbers,
   * strings, booleans (stored as 1 or 0, as PyTorch does) or Tensors (their
   * first element); null ones are left out. `hparamDomainDiscrete` lists the
   * values a hyperparameter can take. The dicts are plain objects or Maps;
   * the first two are always positional when given positionally.
   */
  addHparams(...args: CallArgs<typeof ADD_HPARAMS>): void {
    // The dicts are plain objects, as options are: two or three positional
    // dicts are the dicts (a third only when its keys are not all option names).
    const names = ADD_HPARAMS.map((p) => p.name as string);
    let call: unknown[] = args;
    if (args.length === 2) call = [...args, undefined];
    else if (args.length === 3 && isOptions(args[2]) && !Object.keys(args[2]).every((k) => names.includes(k))) call = [...args, undefined];
    const o = bindOptions('addHparams', ADD_HPARAMS, call);
    const h = dictEntries('addHparams', 'hparamDict', o.hparamDict);
    const m = dictEntries('addHparams', 'metricDict', o.metricDict);
    const d = o.hparamDomainDiscrete === null ? [] : dictEntries('addHparams', 'hparamDomainDiscrete', o.hparamDomainDiscrete);
    const metrics = m.map(([k, v]) => [k, scalarValue('addHparams', v, `metricDict[${JSON.stringify(k)}]`)] as const);
    const [exp, ssi, sei] = hparams('addHparams', h, m, d);
    const runName = o.runName || pyFloatString(now());
    const w = new SummaryWriter(join(this.getFileWriter().logDir, runName));
    try {
      const fw = w.getFileWriter();
      for (const s of [exp, ssi, sei]) fw.addSummary(s, null, null);
      for (const [k, v] of metrics) w.addScalar(k, v);
    } finally {
      w.close();
    }
  }

  /** Writes every waiting event of every event file of this writer. */
  flush(): void {
    for (const w of this.allWriters?.values() ?? []) w.flush();
  }

  /** Writes what is waiting and closes the event files; a later add opens a new file, as PyTorch does. */
  close(): void {
    if (this.allWriters === null) return;
    for (const w of this.allWriters.values()) w.close();
    this.fileWriter = this.allWriters = null;
  }
}
