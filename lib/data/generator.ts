// The DataLoader's shuffling source is torch.Generator itself, defined with
// the samplers in ops/generator.ts: a generator passed to the loader, to
// torch.randperm or to torch.rand draws from one stream. A loader given its
// own generator shuffles the same way whatever else the program draws from
// torch.manualSeed's stream.
export { Generator, defaultGenerator } from '../ops/generator.js';
export type { GeneratorInit } from '../ops/generator.js';
