// torch.utils.data and torch.datasets.
export { Dataset, TensorDataset, type WorkerDatasetSpec } from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
export { defaultCollate, type CollateFn } from './collate.js';
export { Generator } from './generator.js';
export { MNIST, type MNISTOptions } from './mnist.js';
