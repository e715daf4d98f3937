// Devices: reading device arguments, CUDA availability, device memory and
// the torch.cuda functions. The one place that asks the addon about CUDA,
// so an addon built before CUDA support (no cuda* exports) still loads
// and simply reports no device.
//
// Note [Device strings]: a tensor's device is a canonical string, 'cpu' or
// 'cuda:N', kept on its Storage. Canonical strings are made once here
// (parseDevice) and then only compared, so the per-op device logic of the
// CPU path is one property read and one comparison with 'cpu', never a
// parse. 'cuda' alone means the current device (0 unless setDevice).
import { native, type CudaBuffer, type NativeAddon } from './native.js';
import type { DType } from '../dtype.js';
import { TorchDevice } from './device.js';

/** What callers may pass; tensors always report the canonical 'cpu' or 'cuda:N'. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

const exportsCuda = typeof (native as Partial<NativeAddon>).cudaIsAvailable === 'function';

let available: boolean | null = null;
let count: number | null = null;
let current = 0;

/** Whether a CUDA device can be used: false, never an error, without GPU, driver or CUDA build. */
export function isAvailable(): boolean {
  if (available === null) {
    try {
      available = exportsCuda && native.cudaIsAvailable() === true && native.cudaDeviceCount() > 0;
    } catch {
      available = false;
    }
  }
  return available;
}

export function deviceCount(): number {
  if (count === null) count = isAvailable() ? native.cudaDeviceCount() : 0;
  return count;
}

/** Why isAvailable() is false, for error messages. */
export function unavailableReason(): string {
  if (!exportsCuda) return 'the loaded kindling addon predates CUDA support (rebuild it: npm run build:cuda)';
  let compiled = false;
  try {
    compiled = native.config().cuda === true;
  } catch {
    /* an addon whose config() fails has no usable CUDA either */
  }
  if (!compiled) return 'this build of kindling has no CUDA support (build it with npm run build:cuda)';
  return 'no CUDA device was found (is there an NVIDIA GPU and driver? nvidia-smi should list it)';
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

const DEVICE_RE = /^(cpu|cuda)(?::(\d{1,4}))?$/;

/**
 * A device argument as its canonical string (Note [Device strings]), or a
 * TypeError naming the op. Does not check that the device exists: see
 * checkDevice / device().
 */
export function parseDevice(d: unknown, op: string): Device {
  if (d === 'cpu') return 'cpu';
  if (d instanceof TorchDevice) d = d.toString();
  const m = typeof d === 'string' ? DEVICE_RE.exec(d) : null;
  if (m === null || (m[1] === 'cpu' && m[2] !== undefined && m[2] !== '0')) {
    throw new TypeError(`${op}: unknown device ${describe(d)} (expected 'cpu', 'cuda' or 'cuda:N')`);
  }
  if (m[1] === 'cpu') return 'cpu';
  return `cuda:${m[2] === undefined ? current : Number(m[2])}`;
}

/** Throws, naming the op, unless the (canonical) device can hold tensors now. */
export function checkDevice(d: Device, op: string): void {
  if (d === 'cpu') return;
  if (!isAvailable()) throw new Error(`${op}: CUDA is not available: ${unavailableReason()}`);
  const i = deviceIndex(d);
  const n = deviceCount();
  if (i >= n) throw new RangeError(`${op}: device ${d} does not exist (${n} CUDA device${n === 1 ? '' : 's'})`);
}

/** parseDevice then checkDevice: what an entry point taking { device } calls. */
export function device(d: unknown, op: string): Device {
  const dev = parseDevice(d, op);
  checkDevice(dev, op);
  return dev;
}

const ordinals = new Map<string, number>();
/** N of a canonical 'cuda:N'. */
export function deviceIndex(d: Device): number {
  let i = ordinals.get(d);
  if (i === undefined) {
    i = d === 'cuda' ? current : Number(d.slice(5));
    ordinals.set(d, i);
  }
  return i;
}

/** Device memory for n elements of dtype, not zeroed. */
export function allocCuda(dtype: DType, n: number, d: Device, op: string): CudaBuffer {
  // The CUDA kernels have no 2-byte floats (Note [Half storage]).
  if (dtype === 'float16' || dtype === 'bfloat16')
    throw new TypeError(`${op}: ${dtype} tensors live on the CPU only; convert with .float() before moving to ${d}`);
  checkDevice(d, op);
  try {
    return native.cudaAlloc(dtype, n, deviceIndex(d));
  } catch (e) {
    throw new RangeError(`${op}: cannot allocate ${n} elements of ${dtype} on ${d}: ${(e as Error).message}`);
  }
}

/** Gives a CUDA block back to the caching allocator now. */
export function freeCuda(buffer: CudaBuffer): void {
  native.cudaFree(buffer);
}

// ---- torch.cuda ---------------------------------------------------------------------------

/** A device argument of torch.cuda.*: an ordinal, 'cuda', 'cuda:N', or nothing (current). */
function ordinalOf(d: unknown, op: string): number {
  if (d === undefined || d === null) return current;
  if (typeof d === 'number') {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${op}: invalid device ordinal ${d}`);
    return d;
  }
  const dev = parseDevice(d, op);
  if (dev === 'cpu') throw new TypeError(`${op}: expected a CUDA device, got 'cpu'`);
  return deviceIndex(dev);
}

function requireCuda(op: string, d?: unknown): number {
  const i = ordinalOf(d, op);
  checkDevice(`cuda:${i}`, op);
  return i;
}

export type CudaDeviceArg = number | string | undefined;

/** torch.cuda: the functions PyTorch users call, in camelCase. */
export const cuda = {
  isAvailable,
  deviceCount,
  /** Waits for all work queued on the device (all devices when none is given). */
  synchronize(d?: CudaDeviceArg): void {
    if (d === undefined) {
      requireCuda('cuda.synchronize');
      native.cudaSynchronize();
    } else {
      native.cudaSynchronize(requireCuda('cuda.synchronize', d));
    }
  },
  /** Bytes held by live tensors on the device (0 without CUDA, as PyTorch before CUDA starts). */
  memoryAllocated(d?: CudaDeviceArg): number {
    const i = ordinalOf(d, 'cuda.memoryAllocated');
    return isAvailable() && i < deviceCount() ? native.cudaMemoryAllocated(i) : 0;
  },
  /** Bytes the caching allocator holds from the driver (0 without CUDA). */
  memoryReserved(d?: CudaDeviceArg): number {
    const i = ordinalOf(d, 'cuda.memoryReserved');
    return isAvailable() && i < deviceCount() ? native.cudaMemoryReserved(i) : 0;
  },
  /** Returns cached free blocks to the driver; nothing to do without CUDA. */
  emptyCache(): void {
    if (isAvailable()) native.cudaEmptyCache();
  },
  /** Seeds the CUDA generator; like PyTorch, ignored when there is no CUDA. */
  manualSeed(seed: number): void {
    if (typeof seed !== 'number' || !Number.isFinite(seed))
      throw new TypeError(`cuda.manualSeed: seed must be a finite number, got ${describe(seed)}`);
    if (isAvailable()) native.cudaManualSeed(Math.trunc(seed));
  },
  manualSeedAll(seed: number): void {
    cuda.manualSeed(seed);
  },
  getDeviceName(d?: CudaDeviceArg): string {
    return native.cudaDeviceName(requireCuda('cuda.getDeviceName', d));
  },
  currentDevice(): number {
    requireCuda('cuda.currentDevice');
    return current;
  },
  /** The device 'cuda' without an index means from now on. */
  setDevice(d: CudaDeviceArg): void {
    current = requireCuda('cuda.setDevice', d);
    ordinals.delete('cuda');
  },
};
