// torch.utils.tensorboard: SummaryWriter and nothing else public, as in PyTorch.
export { SummaryWriter } from './summary_writer.js';
