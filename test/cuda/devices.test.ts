// Devices everywhere, GPU or not: torch.cuda answers without throwing, device
// arguments are read strictly, and without a usable GPU every way onto
// 'cuda' fails with an error that names the op and says why.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';

const { nn } = torch;
const available = torch.cuda.isAvailable();

describe('torch.cuda queries', () => {
  it('isAvailable and deviceCount answer without throwing', () => {
    expect(typeof torch.cuda.isAvailable()).toBe('boolean');
    const n = torch.cuda.deviceCount();
    expect(Number.isInteger(n) && n >= 0).toBe(true);
    expect(n > 0).toBe(available);
    expect(typeof torch.config().cuda).toBe('boolean');
  });

  it('memory queries, emptyCache and manualSeed work without a GPU too', () => {
    const allocated = torch.cuda.memoryAllocated();
    expect(Number.isFinite(allocated) && allocated >= 0).toBe(true);
    expect(torch.cuda.memoryReserved()).toBeGreaterThanOrEqual(allocated);
    expect(() => torch.cuda.emptyCache()).not.toThrow();
    expect(() => torch.cuda.manualSeed(3)).not.toThrow();
    expect(() => torch.manualSeed(3)).not.toThrow();
    expect(() => torch.cuda.manualSeed(NaN)).toThrow(/^cuda\.manualSeed: /);
    expect(() => torch.cuda.memoryAllocated('tpu')).toThrow(/^cuda\.memoryAllocated: unknown device "tpu"/);
  });
});

describe('device arguments', () => {
  const x = torch.ones(2);
  it.each(['tpu', 'cuda:x', 'cuda:-1', 'cuda:', 'CUDA', 'gpu', 'cpu:1'])('to(%j) is a TypeError naming to', (d) => {
    expect(() => x.to(d)).toThrow(TypeError);
    expect(() => x.to(d)).toThrow(/^to: expected a dtype or a device, got /);
  });

  it('creation ops, Module.to, DataLoader and load name themselves for a bad device', () => {
    expect(() => torch.zeros(2, { device: 'tpu' })).toThrow(/^zeros: unknown device "tpu"/);
    expect(() => torch.tensor([1], { device: 'cuda:x' })).toThrow(/^tensor: unknown device "cuda:x"/);
    expect(() => torch.randn([2], { device: 'mps' })).toThrow(/^randn: unknown device "mps"/);
    expect(() => torch.arange(3, { device: 5 as never })).toThrow(/^arange: unknown device 5/);
    expect(() => new nn.Linear(2, 2).to('tpu')).toThrow(/^Module\.to: expected a dtype or a device, got "tpu"/);
    expect(() => new torch.utils.data.DataLoader([1, 2], { device: 'tpu' })).toThrow(/^DataLoader: unknown device "tpu"/);
    expect(() => torch.load('/nonexistent.safetensors', { device: 'tpu' })).toThrow(/^torch\.load: unknown device "tpu"/);
    expect(() => torch.load('/nonexistent.safetensors', { device: 'cpu', mapLocation: 'cuda' })).toThrow(
      /^torch\.load: device .* disagree/,
    );
    expect(() => x.cuda(-1)).toThrow(RangeError);
    expect(() => x.cuda('cpu')).toThrow(/^cuda: expected a CUDA device/);
  });

  it("'cpu' targets are no-ops that keep identity; CPU tensors report 'cpu'", () => {
    const t = torch.randn(3, { requiresGrad: true });
    expect(t.device).toBe('cpu');
    expect(t.isCuda).toBe(false);
    expect(t.to('cpu')).toBe(t);
    expect(t.cpu()).toBe(t);
    expect(t.to({ device: 'cpu' })).toBe(t);
    expect(torch.zeros(2, { device: 'cpu' }).device).toBe('cpu');
    expect(torch.zerosLike(t).device).toBe('cpu');
    const lin = new nn.Linear(2, 2);
    expect(lin.cpu()).toBe(lin);
    // dispose() gives a CPU tensor's memory back at once (issue 19); using it
    // afterwards is a clear error, never a read of reused memory.
    const d = torch.arange(4);
    d.dispose();
    expect(() => d.tolist()).toThrow(/tensor was disposed/);
    // A CPU tensor prints as before, with no device.
    expect(String(torch.tensor([1.5, 2]))).toBe('tensor([1.5000, 2.0000])');
  });

  it("DataLoader's device option 'cpu' delivers the same batches", () => {
    const ds = new torch.utils.data.TensorDataset(torch.arange(6).float().reshape(3, 2), torch.arange(3));
    const plain = [...new torch.utils.data.DataLoader(ds, { batchSize: 2 })];
    const placed = [...new torch.utils.data.DataLoader(ds, { batchSize: 2, device: 'cpu' })];
    expect(placed.map((b) => b.map((t) => t.tolist()))).toEqual(plain.map((b) => b.map((t) => t.tolist())));
    expect(placed.every((b) => b.every((t) => t.device === 'cpu'))).toBe(true);
  });
});

describe.runIf(!available)('without a usable GPU', () => {
  const why = /CUDA is not available: .+/;
  it('moves and creations onto cuda throw Errors that name the op and say why', () => {
    const x = torch.ones(2);
    for (const [op, f] of [
      ['to', () => x.to('cuda')],
      ['to', () => x.to('cuda:0')],
      ['to', () => x.cuda()],
      ['to', () => x.to({ device: 'cuda', dtype: 'float64' })],
      ['zeros', () => torch.zeros(2, { device: 'cuda' })],
      ['ones', () => torch.ones([2], { device: 'cuda:0' })],
      ['tensor', () => torch.tensor([1, 2], { device: 'cuda' })],
      ['randn', () => torch.randn([2], { device: 'cuda' })],
      ['arange', () => torch.arange(3, { device: 'cuda' })],
      ['zerosLike', () => torch.zerosLike(x, { device: 'cuda' })],
      ['Module.to', () => new nn.Linear(2, 2).to('cuda')],
      ['Module.to', () => new nn.Linear(2, 2).cuda()],
      ['DataLoader', () => new torch.utils.data.DataLoader([1], { device: 'cuda' })],
      ['torch.load', () => torch.load('/nonexistent.safetensors', { mapLocation: 'cuda' })],
      ['cuda.synchronize', () => torch.cuda.synchronize()],
      ['cuda.getDeviceName', () => torch.cuda.getDeviceName(0)],
    ] as const) {
      let err: unknown = null;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, `${op} should throw`).toBeInstanceOf(Error);
      const msg = (err as Error).message;
      expect(msg.startsWith(`${op}: `), msg).toBe(true);
      expect(msg).toMatch(why);
    }
  });

  it('a failed Module.to leaves the module as it was', () => {
    const lin = new nn.Linear(2, 2);
    const before = lin.weight.tolist();
    expect(() => lin.to('cuda')).toThrow(why);
    expect(lin.weight.device).toBe('cpu');
    expect(lin.weight.tolist()).toEqual(before);
  });
});
