// torch.distributed's key-value stores (PyTorch's TCPStore and FileStore):
// the rendezvous the process groups are made through, usable on their own
// to share small values between ranks. Both live in the dist module
// (native/distributed/store.cc), so rank 0's TCP server answers on a native
// thread even while its JS is blocked in initProcessGroup.
import { checkOptions, fmtValue } from '../util/args.js';
import { distAddon, type NativeStore } from './native.js';

/** PyTorch's default store timeout (300 s), in milliseconds. */
export const DEFAULT_STORE_TIMEOUT = 300_000;

function checkTimeout(owner: string, t: unknown): number {
  if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) {
    throw new RangeError(`${owner}: timeout must be a positive number of milliseconds, got ${fmtValue(t)}`);
  }
  return t;
}

function checkKey(owner: string, key: unknown): string {
  if (typeof key !== 'string') throw new TypeError(`${owner}: key must be a string, got ${fmtValue(key)}`);
  return key;
}

/** The key-value store interface shared by TCPStore and FileStore (PyTorch's torch.distributed.Store). */
export abstract class Store {
  /** @internal */ _native: NativeStore | null;
  private readonly name: string;

  /** @internal */
  constructor(native: NativeStore, name: string) {
    this._native = native;
    this.name = name;
  }

  /** @internal The native store, or an error naming the call when closed. */
  _open(op: string): NativeStore {
    if (this._native === null) throw new Error(`${this.name}.${op}: the store is closed`);
    return this._native;
  }

  /** Sets `key` to `value` (a string is stored as its UTF-8 bytes). */
  set(key: string, value: string | Uint8Array): void {
    const k = checkKey(`${this.name}.set`, key);
    let bytes: Uint8Array;
    if (typeof value === 'string') bytes = new TextEncoder().encode(value);
    else if (value instanceof Uint8Array) bytes = value;
    else throw new TypeError(`${this.name}.set: value must be a string or Uint8Array, got ${fmtValue(value)}`);
    this._open('set').set(k, bytes);
  }

  /** The value of `key`, waiting for it up to the store's timeout (then throws naming the key). */
  get(key: string): Uint8Array {
    return this._open('get').get(checkKey(`${this.name}.get`, key));
  }

  /** Adds `amount` to the integer at `key` (0 when unset) and returns the new value. */
  add(key: string, amount: number): number {
    if (!Number.isInteger(amount)) throw new TypeError(`${this.name}.add: amount must be an integer, got ${fmtValue(amount)}`);
    return this._open('add').add(checkKey(`${this.name}.add`, key), amount);
  }

  /** Whether every key is set, without waiting. */
  check(keys: string[]): boolean {
    const s = this._open('check');
    return keys.every((k) => s.check(checkKey(`${this.name}.check`, k)));
  }

  /** Waits until every key is set; throws naming the first missing key after `timeout` ms (default: the store's). */
  wait(keys: string[], timeout?: number): void {
    const ks = keys.map((k) => checkKey(`${this.name}.wait`, k));
    this._open('wait').wait(ks, timeout === undefined ? undefined : checkTimeout(`${this.name}.wait`, timeout));
  }

  /** Closes the connection (on the master, also stops the server). */
  close(): void {
    this._native?.close();
    this._native = null;
  }
}

/** Options of {@link TCPStore}. */
export interface TCPStoreOptions {
  /** The number of ranks that will use the store (informational, as PyTorch's world_size). */
  worldSize?: number;
  /** Whether this process hosts the store (rank 0). Default false. */
  isMaster?: boolean;
  /** Milliseconds to wait for the master and for keys. Default 300000. */
  timeout?: number;
}

/**
 * torch.distributed.TCPStore(hostName, port, { worldSize, isMaster, timeout }): a key-value store served by the
 * master process over TCP. The master listens on every interface at `port` (0 picks a free one: see `port`);
 * the others connect to hostName:port, retrying until the timeout.
 */
export class TCPStore extends Store {
  /** The port the store is at. */
  readonly port: number;

  constructor(hostName: string, port: number, opts?: TCPStoreOptions) {
    checkOptions('TCPStore', opts, ['worldSize', 'isMaster', 'timeout']);
    if (typeof hostName !== 'string' || hostName === '') {
      throw new TypeError(`TCPStore: hostName must be a non-empty string, got ${fmtValue(hostName)}`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`TCPStore: port must be an integer in [0, 65535], got ${fmtValue(port)}`);
    }
    const timeout = checkTimeout('TCPStore', opts?.timeout ?? DEFAULT_STORE_TIMEOUT);
    const native = new (distAddon().NativeStore)('tcp', hostName, port, opts?.isMaster ?? false, timeout);
    super(native, 'TCPStore');
    this.port = native.port();
  }
}

/**
 * torch.distributed.FileStore(path, { timeout }): a key-value store in a directory every process can see (one machine,
 * or a shared file system). The directory is made when missing. Keys left by an earlier job would be read as this
 * one's: initProcessGroup's file:// empties the directory when its last rank leaves, and refuses one still holding a
 * job's keys; a FileStore made by hand is the caller's to empty.
 */
export class FileStore extends Store {
  constructor(path: string, opts?: { timeout?: number }) {
    checkOptions('FileStore', opts, ['timeout']);
    if (typeof path !== 'string' || path === '') throw new TypeError(`FileStore: path must be a non-empty string, got ${fmtValue(path)}`);
    const timeout = checkTimeout('FileStore', opts?.timeout ?? DEFAULT_STORE_TIMEOUT);
    super(new (distAddon().NativeStore)('file', path, timeout), 'FileStore');
  }
}
