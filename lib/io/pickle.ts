// A restricted unpickler: reads the pickles torch.save writes (protocol 2,
// and the opcodes of protocols 3 and 4 for files saved with a higher
// pickle_protocol) into JS values, without ever running anything.
//
// Note [Restricted unpickling]: Python's unpickler imports whatever module
// and calls whatever function a pickle names (GLOBAL then REDUCE), which is
// how a .pt file can run os.system. Here a global is looked up by name in a
// fixed table when its GLOBAL / STACK_GLOBAL opcode is read, and any name
// not in the table ends the load with an error naming it, before a later
// REDUCE could call it. What the table maps a name to is a JS function of
// our own (building a tensor, an OrderedDict, a set), so the file chooses
// among a few behaviours we wrote, with data it supplies; it never names
// code. Opcodes that make arbitrary objects (INST, OBJ, NEWOBJ, NEWOBJ_EX,
// EXT1/2/4) or that torch.save never writes are refused by name.
//
// Note [Pickle containers]: lists, tuples, dicts and sets are built as JS
// arrays, arrays, plain objects and Sets as the opcodes run (no pass over
// the result afterwards, so a deep or shared structure costs no recursion).
// A container becomes "placed" when it is put inside another; a placed
// container may not be changed again. Python's pickler never does that
// except for a structure that contains itself, so the rule refuses only
// cycles, and it makes the nesting depth (computed as containers are
// placed) exact, so that a file nesting lists a million deep is refused
// before anyone walks it.

/** What a Python global that the caller allows does when the pickle calls it (REDUCE); none for a value-only global. */
export interface GlobalHandler {
  call?: (args: unknown[]) => unknown;
}

/** A global that the pickle named and the table allows: pushed by GLOBAL, called by REDUCE. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly handler: GlobalHandler,
  ) {}
  /** 'module.name', as Python spells it. */
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleOptions {
  /** Where errors say they happened: 'torch.load: model.pt: data.pkl'. */
  where: string;
  /** The globals the pickle may name besides Python's own that this file implements, by 'module.name'. */
  globals: ReadonlyMap<string, GlobalHandler>;
  /** Resolves a persistent id (BINPERSID); a pickle that has one is refused without it. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Extra words for the error about a refused global ('module.name' in, a sentence out, or ''). */
  refusalHint?: (qualname: string) => string;
  /** The deepest nesting of containers allowed (Note [Pickle containers]); 1000 by default. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 1000;
// Python's pickler pushes at most a batch of 1000 items per open container,
// so a real pickle's stack stays far below this; a file of a million
// EMPTY_LISTs in a row would otherwise take gigabytes.
const MAX_STACK = 1_000_000;
// Python ints are unbounded; ours become numbers or bigints, and a
// multi-megabyte integer in a checkpoint is an attack, not data.
const MAX_LONG_BYTES = 4096;

// Every opcode of protocols 0 to 5, so an unsupported one is refused by its name.
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

// Why each opcode we know but do not run is refused.
const REFUSED: Record<string, string> = {
  INST: 'it builds an object of an arbitrary class',
  OBJ: 'it builds an object of an arbitrary class',
  NEWOBJ: 'it builds an object of an arbitrary class',
  NEWOBJ_EX: 'it builds an object of an arbitrary class',
  EXT1: 'it names a global through the copyreg extension registry',
  EXT2: 'it names a global through the copyreg extension registry',
  EXT4: 'it names a global through the copyreg extension registry',
  PERSID: 'torch.save writes persistent ids with BINPERSID',
  BYTEARRAY8: 'it is a protocol 5 opcode, which torch.save does not write',
  NEXT_BUFFER: 'it is a protocol 5 opcode, which torch.save does not write',
  READONLY_BUFFER: 'it is a protocol 5 opcode, which torch.save does not write',
};
for (const name of ['FLOAT', 'INT', 'LONG', 'STRING', 'UNICODE', 'GET', 'PUT']) {
  REFUSED[name] = 'it is a text (protocol 0) opcode, which torch.save does not write';
}

// Python 2 names that Python 3's unpickler maps (fix_imports) for protocols below 3.
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  return Object.getPrototypeOf(v) === Object.prototype;
}

/** Sets an own property, so a '__proto__' key stays an entry and never sets a prototype. */
function put(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A little-endian two's complement integer (LONG1/LONG4) as a number when it is exact, a bigint otherwise. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let hex = '';
  for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
  let v = BigInt(`0x${hex}`);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const utf8 = new TextDecoder('utf-8');

/** The Python type a JS value stands for, for errors. */
function pyType(v: unknown, u?: Unpickler): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyGlobal) return `the global ${v.qualname}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Set) return 'set';
  if (Array.isArray(v)) return u?.tuples.has(v) ? 'tuple' : 'list';
  if (isPlainObject(v)) return 'dict';
  return (v as object).constructor?.name ?? 'object';
}

class Unpickler {
  private pos = 0;
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private op = 0;
  private opAt = 0;
  readonly tuples = new WeakSet<object>();
  private readonly lists = new WeakSet<object>();
  private readonly frozen = new WeakSet<object>();
  private readonly placed = new WeakSet<object>();
  private readonly depth = new WeakMap<object, number>();
  // Per dict, its keys that came from ints (Python's {1: a, '1': b} has two keys; ours would have one).
  private readonly intKeys = new WeakMap<object, Set<string>>();
  private readonly maxDepth: number;

  constructor(
    private readonly data: Uint8Array,
    private readonly opts: UnpickleOptions,
  ) {
    this.maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  private fail(why: string): Error {
    const name = OPCODE_NAMES[this.op] ?? `0x${this.op.toString(16).padStart(2, '0')}`;
    return new Error(`${this.opts.where}: ${why} (opcode ${name} at byte ${this.opAt})`);
  }

  // ---- reading the byte stream ----
  private need(n: number | bigint, what: string): number {
    const left = this.data.length - this.pos;
    if (n > left) throw this.fail(`${what} declares ${n} bytes but only ${left} remain in the pickle`);
    return Number(n);
  }
  private bytes(n: number | bigint, what: string): Uint8Array {
    const len = this.need(n, what);
    const out = this.data.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  private u8(): number {
    this.need(1, 'the argument');
    return this.data[this.pos++];
  }
  private u16(): number {
    const b = this.bytes(2, 'the argument');
    return b[0] | (b[1] << 8);
  }
  private u32(): number {
    const b = this.bytes(4, 'the argument');
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }
  private i32(): number {
    return this.u32() | 0;
  }
  private u64(): bigint {
    const lo = BigInt(this.u32());
    return (BigInt(this.u32()) << 32n) | lo;
  }
  private f64be(): number {
    const b = this.bytes(8, 'the argument');
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false);
  }
  /** A text line (GLOBAL's module and name), without its newline. */
  private line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) throw this.fail('a text argument has no terminating newline before the pickle ends');
    const s = utf8.decode(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  private text(n: number | bigint, what: string): string {
    return utf8.decode(this.bytes(n, what));
  }

  // ---- the stack ----
  private push(v: unknown): void {
    if (this.stack.length >= MAX_STACK) throw this.fail(`more than ${MAX_STACK} values are pushed without being consumed`);
    this.stack.push(v);
  }
  private base(): number {
    return this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1];
  }
  private pop(): unknown {
    if (this.stack.length <= this.base()) throw this.fail('the stack is empty');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length <= this.base()) throw this.fail('the stack is empty');
    return this.stack[this.stack.length - 1];
  }
  /** The items pushed since the last MARK, which is removed. */
  private popMark(): unknown[] {
    const at = this.marks.pop();
    if (at === undefined) throw this.fail('there is no MARK to pop to');
    return this.stack.splice(at);
  }

  // ---- containers (Note [Pickle containers]) ----
  private isContainer(v: unknown): v is object {
    return Array.isArray(v) || v instanceof Set || isPlainObject(v);
  }
  /** Records that `child` now sits inside `parent`. */
  private place(child: unknown, parent: object): void {
    if (!this.isContainer(child)) return;
    if (child === parent) throw this.fail(`a ${pyType(child, this)} contains itself; Kindling refuses self-referencing structures`);
    this.placed.add(child);
    const d = (this.depth.get(child) ?? 1) + 1;
    if (d > (this.depth.get(parent) ?? 1)) {
      if (d > this.maxDepth) throw this.fail(`containers are nested more than ${this.maxDepth} levels deep`);
      this.depth.set(parent, d);
    }
  }
  private mutable(target: unknown, want: 'list' | 'dict' | 'set'): void {
    const ok =
      want === 'list'
        ? Array.isArray(target) && this.lists.has(target)
        : want === 'dict'
          ? isPlainObject(target)
          : target instanceof Set && !this.frozen.has(target);
    if (!ok) throw this.fail(`expected a ${want} to add to, got ${pyType(target, this)}`);
    if (this.placed.has(target as object)) {
      throw this.fail(
        `the pickle changes a ${want} after placing it inside another container (a self-referencing structure), which Kindling refuses`,
      );
    }
  }
  private tuple(items: unknown[]): unknown[] {
    this.tuples.add(items);
    for (const x of items) this.place(x, items);
    return items;
  }
  private newList(items: unknown[] = []): unknown[] {
    this.lists.add(items);
    for (const x of items) this.place(x, items);
    return items;
  }
  private append(list: unknown, items: unknown[]): void {
    this.mutable(list, 'list');
    const l = list as unknown[];
    for (const x of items) {
      this.place(x, l);
      l.push(x);
    }
  }
  private setItems(dict: unknown, items: unknown[]): void {
    this.mutable(dict, 'dict');
    if (items.length % 2 !== 0) throw this.fail('an odd number of items for key/value pairs');
    const d = dict as Record<string, unknown>;
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      let key: string;
      let fromInt: boolean;
      if (typeof k === 'string') {
        key = k;
        fromInt = false;
      } else if ((typeof k === 'number' && Number.isInteger(k)) || typeof k === 'bigint') {
        key = String(k);
        fromInt = true;
      } else {
        throw this.fail(`a dict key is ${pyType(k, this)}; Kindling reads dicts with str and int keys only (JS object keys are strings)`);
      }
      let ints = this.intKeys.get(d);
      if (Object.prototype.hasOwnProperty.call(d, key) && (ints?.has(key) ?? false) !== fromInt) {
        throw this.fail(`the dict has both the int key ${key} and the str key '${key}', which would be one JS key`);
      }
      if (fromInt) {
        if (ints === undefined) this.intKeys.set(d, (ints = new Set()));
        ints.add(key);
      }
      this.place(items[i + 1], d);
      put(d, key, items[i + 1]);
    }
  }
  private addItems(set: unknown, items: unknown[]): void {
    this.mutable(set, 'set');
    const s = set as Set<unknown>;
    for (const x of items) {
      this.place(x, s);
      s.add(x);
    }
  }
  private newSet(items: unknown[], frozen: boolean): Set<unknown> {
    const s = new Set<unknown>();
    for (const x of items) {
      this.place(x, s);
      s.add(x);
    }
    if (frozen) this.frozen.add(s);
    return s;
  }

  // ---- globals (Note [Restricted unpickling]) ----
  private global(module: string, name: string): PyGlobal {
    const mod = PY2_MODULES[module] ?? module;
    const qual = `${mod}.${name}`;
    const handler = this.opts.globals.get(qual) ?? this.builtin(qual);
    if (handler === undefined) {
      const hint = this.opts.refusalHint?.(qual) ?? '';
      throw this.fail(
        `refusing the global '${module}.${name}': Kindling rebuilds only tensors, storages and plain Python data ` +
          `(dict, list, tuple, str, int, float, bool, None, bytes, set, OrderedDict) and runs nothing from the file${hint ? `; ${hint}` : ''}`,
      );
    }
    return new PyGlobal(module, name, handler);
  }
  /** Python's own globals that torch.save writes for plain data. */
  private builtin(qual: string): GlobalHandler | undefined {
    switch (qual) {
      case 'collections.OrderedDict':
        return {
          call: (args) => {
            const d: Record<string, unknown> = {};
            if (args.length === 0) return d;
            // OrderedDict([(k, v), ...])
            if (args.length !== 1 || !Array.isArray(args[0])) throw new Error('expects no arguments or one list of pairs');
            const flat: unknown[] = [];
            for (const pair of args[0]) {
              if (!Array.isArray(pair) || pair.length !== 2) throw new Error('expects (key, value) pairs');
              flat.push(pair[0], pair[1]);
            }
            this.setItems(d, flat);
            return d;
          },
        };
      case 'builtins.set':
      case 'builtins.frozenset':
        return {
          call: (args) => {
            if (args.length === 0) return this.newSet([], qual === 'builtins.frozenset');
            if (args.length !== 1 || !Array.isArray(args[0])) throw new Error('expects one list of items');
            return this.newSet(args[0], qual === 'builtins.frozenset');
          },
        };
      case '_codecs.encode':
        // How protocol 2 writes bytes: _codecs.encode(str, 'latin1').
        return {
          call: (args) => {
            const [s, enc] = args;
            if (args.length !== 2 || typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) {
              throw new Error("is allowed only as _codecs.encode(str, 'latin1'), which is how protocol 2 pickles bytes");
            }
            const out = new Uint8Array(s.length);
            for (let i = 0; i < s.length; i++) {
              const c = s.charCodeAt(i);
              if (c > 0xff) throw new Error(`got a character (U+${c.toString(16)}) that latin1 cannot encode`);
              out[i] = c;
            }
            return out;
          },
        };
      default:
        return undefined;
    }
  }
  /** Runs a caller's function, naming what ran in any error it throws. */
  private guarded<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof Error && e.message.startsWith(this.opts.where)) throw e;
      throw this.fail(`${what}: ${(e as Error).message}`);
    }
  }

  // ---- the loop ----
  run(): unknown {
    const d = this.data;
    while (this.pos < d.length) {
      this.opAt = this.pos;
      const op = (this.op = d[this.pos++]);
      switch (op) {
        case 0x80: {
          // PROTO
          const v = this.u8();
          if (v > 5) throw this.fail(`pickle protocol ${v} is newer than any Python writes (5)`);
          break;
        }
        case 0x95: // FRAME: a length hint for buffered reading; the data is all here.
          this.need(this.u64(), 'FRAME');
          break;
        case 0x2e: {
          // STOP
          const v = this.pop();
          if (this.pos !== d.length) throw this.fail(`${d.length - this.pos} bytes follow the end of the pickle`);
          return v;
        }
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          break;
        case 0x30: // POP (Python pops the mark when the stack above it is empty)
          if (this.stack.length === this.base() && this.marks.length > 0) this.popMark();
          else this.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x4a: // BININT
          this.push(this.i32());
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.u16());
          break;
        case 0x8a: // LONG1
        case 0x8b: {
          // LONG4
          const n = op === 0x8a ? this.u8() : this.i32();
          if (n < 0) throw this.fail(`negative length ${n}`);
          if (n > MAX_LONG_BYTES) throw this.fail(`an integer of ${n} bytes; Kindling reads integers of up to ${MAX_LONG_BYTES} bytes`);
          this.push(decodeLong(this.bytes(n, 'the integer')));
          break;
        }
        case 0x47: // BINFLOAT
          this.push(this.f64be());
          break;
        case 0x58: // BINUNICODE
          this.push(this.text(this.u32(), 'the string'));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.push(this.text(this.u8(), 'the string'));
          break;
        case 0x8d: // BINUNICODE8
          this.push(this.text(this.u64(), 'the string'));
          break;
        case 0x54: {
          // BINSTRING (a Python 2 str; torch.load decodes them as UTF-8)
          const n = this.i32();
          if (n < 0) throw this.fail(`negative length ${n}`);
          this.push(this.text(n, 'the string'));
          break;
        }
        case 0x55: // SHORT_BINSTRING
          this.push(this.text(this.u8(), 'the string'));
          break;
        case 0x42: // BINBYTES
          this.push(this.bytes(this.u32(), 'the bytes').slice());
          break;
        case 0x43: // SHORT_BINBYTES
          this.push(this.bytes(this.u8(), 'the bytes').slice());
          break;
        case 0x8e: // BINBYTES8
          this.push(this.bytes(this.u64(), 'the bytes').slice());
          break;
        case 0x29: // EMPTY_TUPLE
          this.push(this.tuple([]));
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: {
          // TUPLE3
          const n = op - 0x84;
          const items: unknown[] = [];
          for (let i = 0; i < n; i++) items.unshift(this.pop());
          this.push(this.tuple(items));
          break;
        }
        case 0x74: // TUPLE
          this.push(this.tuple(this.popMark()));
          break;
        case 0x5d: // EMPTY_LIST
          this.push(this.newList());
          break;
        case 0x6c: // LIST
          this.push(this.newList(this.popMark()));
          break;
        case 0x7d: // EMPTY_DICT
          this.push({});
          break;
        case 0x64: {
          // DICT
          const items = this.popMark();
          const dict = {};
          this.setItems(dict, items);
          this.push(dict);
          break;
        }
        case 0x8f: // EMPTY_SET
          this.push(this.newSet([], false));
          break;
        case 0x91: // FROZENSET
          this.push(this.newSet(this.popMark(), true));
          break;
        case 0x61: {
          // APPEND
          const v = this.pop();
          this.append(this.top(), [v]);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          this.append(this.top(), items);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          this.addItems(this.top(), items);
          break;
        }
        case 0x71: // BINPUT
          this.memoPut(this.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(this.u32());
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memo.size);
          break;
        case 0x68: // BINGET
          this.memoGet(this.u8());
          break;
        case 0x6a: // LONG_BINGET
          this.memoGet(this.u32());
          break;
        case 0x63: {
          // GLOBAL
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') {
            throw this.fail(`expected a module and a name (str), got ${pyType(module, this)} and ${pyType(name, this)}`);
          }
          this.push(this.global(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const f = this.pop();
          if (!(f instanceof PyGlobal)) throw this.fail(`can only call an allowed global, got ${pyType(f, this)}`);
          const call = f.handler.call;
          if (call === undefined) throw this.fail(`${f.qualname} cannot be called`);
          if (!Array.isArray(args) || !this.tuples.has(args))
            throw this.fail(`the arguments of ${f.qualname} are ${pyType(args, this)}, not a tuple`);
          this.push(this.guarded(f.qualname, () => call(args)));
          break;
        }
        case 0x62: {
          // BUILD: only the attributes torch.save puts on a state dict (its
          // _metadata, a module's versions), which a plain object drops.
          const state = this.pop();
          const target = this.top();
          if (!isPlainObject(target)) throw this.fail(`setting the state of ${pyType(target, this)} is not supported`);
          if (!isPlainObject(state) && !(Array.isArray(state) && this.tuples.has(state))) {
            throw this.fail(`the state of a dict is ${pyType(state, this)}, not a dict`);
          }
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = this.pop();
          const load = this.opts.persistentLoad;
          if (load === undefined) throw this.fail('the pickle refers to external data (a persistent id) but none was provided');
          this.push(this.guarded('persistent id', () => load(pid)));
          break;
        }
        default: {
          const name = OPCODE_NAMES[op];
          if (name === undefined)
            throw this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}; this is not a pickle Kindling can read`);
          throw this.fail(`unsupported opcode ${name}: ${REFUSED[name]}`);
        }
      }
    }
    throw new Error(`${this.opts.where}: the pickle ends without a STOP opcode (truncated?)`);
  }

  private memoPut(i: number): void {
    if (this.stack.length <= this.base()) throw this.fail('nothing to memoize: the stack is empty');
    this.memo.set(i, this.stack[this.stack.length - 1]);
  }
  private memoGet(i: number): void {
    if (!this.memo.has(i)) throw this.fail(`memo entry ${i} was never stored`);
    this.push(this.memo.get(i));
  }
}

/**
 * Reads one pickle into JS values (Note [Restricted unpickling]): dicts as
 * plain objects (int keys as strings), lists and tuples as arrays, str,
 * float, bool and None as string, number, boolean and null, int as a number
 * when it is within ±(2^53 - 1) and a bigint beyond, bytes as a Uint8Array,
 * set and frozenset as a Set. Globals not in `opts.globals` (or Python's
 * own that this file implements: collections.OrderedDict, set, frozenset,
 * _codecs.encode) are refused by name when the pickle names them.
 */
export function unpickle(data: Uint8Array, opts: UnpickleOptions): unknown {
  return new Unpickler(data, opts).run();
}

/** @internal The Python type a value the unpickler made stands for ('dict', 'list', 'int', ...), for errors. */
export function pythonTypeName(v: unknown): string {
  return pyType(v);
}
