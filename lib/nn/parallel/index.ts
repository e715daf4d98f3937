// torch.nn.parallel: data parallel training over torch.distributed.
export { DistributedDataParallel, type DistributedDataParallelOptions } from './distributed.js';
