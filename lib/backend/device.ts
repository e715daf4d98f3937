// torch.device objects. A tensor's `device` stays its canonical string
// (Note [Device strings] in cuda.ts); a TorchDevice is what torch.device()
// returns, accepted wherever a device string is, and converts to that
// string (String(d), `${d}`, d == 'cpu').
import { inspect } from 'node:util';

const SPEC_RE = /^(cpu|cuda)(?::(\d{1,4}))?$/;
const interned = new Map<string, TorchDevice>();

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === null) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

/**
 * torch.device: a device type ('cpu' or 'cuda') and an optional index.
 * Instances are interned, so `torch.device('cuda:0') === torch.device('cuda', 0)`;
 * `equals` compares with another device or a device string as PyTorch's
 * `==` does (`torch.device('cuda')` is not `'cuda:0'`). It converts to its
 * string, so `String(torch.device('cpu')) === t.device` and
 * `torch.device('cpu') == t.device` hold for a CPU tensor.
 */
export class TorchDevice {
  private constructor(
    /** 'cpu' or 'cuda'. */
    readonly type: 'cpu' | 'cuda',
    /** The ordinal, or null where none was given ('cuda' means the current device). */
    readonly index: number | null,
  ) {}

  /** The device of a spec ('cpu', 'cuda', 'cuda:1', a TorchDevice) and an optional index; throws a TypeError naming `op` otherwise. */
  static of(spec: unknown, index?: number | null, op = 'device'): TorchDevice {
    if (spec instanceof TorchDevice && (index === undefined || index === null)) return spec;
    if (typeof spec === 'number' && (index === undefined || index === null)) {
      // torch.device(1) is cuda:1, as in PyTorch.
      if (!Number.isInteger(spec) || spec < 0) throw new RangeError(`${op}: invalid device ordinal ${spec}`);
      return TorchDevice.of('cuda', spec, op);
    }
    const m = typeof spec === 'string' ? SPEC_RE.exec(spec) : null;
    if (m === null) throw new TypeError(`${op}: unknown device ${describe(spec)} (expected 'cpu', 'cuda' or 'cuda:N')`);
    let i: number | null = m[2] === undefined ? null : Number(m[2]);
    if (index !== undefined && index !== null) {
      if (i !== null) throw new TypeError(`${op}: device string ${describe(spec)} already has an index; pass the index once`);
      if (!Number.isInteger(index) || index < 0) throw new RangeError(`${op}: device index must be a non-negative integer, got ${index}`);
      i = index;
    }
    if (m[1] === 'cpu' && i !== null && i !== 0) throw new RangeError(`${op}: the CPU device has index 0 only, got ${i}`);
    const key = i === null ? m[1] : `${m[1]}:${i}`;
    let d = interned.get(key);
    if (d === undefined) {
      d = new TorchDevice(m[1] as 'cpu' | 'cuda', i);
      interned.set(key, d);
    }
    return d;
  }

  /** 'cpu', 'cuda' or 'cuda:N', as str(device) in PyTorch. */
  toString(): string {
    return this.index === null ? this.type : `${this.type}:${this.index}`;
  }
  [Symbol.toPrimitive](): string {
    return this.toString();
  }
  /** JSON.stringify writes a device as its string, 'cuda:0'. */
  toJSON(): string {
    return this.toString();
  }

  /** PyTorch's `==`: same type and same index (a string is read as torch.device(string)). */
  equals(other: unknown): boolean {
    try {
      return TorchDevice.of(other) === this;
    } catch {
      return false;
    }
  }

  [inspect.custom](): string {
    return this.index === null ? `device(type='${this.type}')` : `device(type='${this.type}', index=${this.index})`;
  }
}

/** torch.device('cuda:0'), torch.device('cuda', 0), torch.device(0) (cuda:0), torch.device(t.device). */
export function device(type: string | number | TorchDevice, index?: number): TorchDevice {
  return TorchDevice.of(type, index, 'device');
}
