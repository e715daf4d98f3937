// torch.optim: optimizers with fused native updates, and lr schedulers
// under optim.lrScheduler, as PyTorch's torch.optim.lr_scheduler.
export { Optimizer, REQUIRED } from './optimizer.js';
export type { ParamGroup, ParamGroupInput, Params, ParamState, OptimizerStateDict } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions, SGDParamGroup } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions, AdamParamGroup } from './adam.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions, RMSpropParamGroup } from './rmsprop.js';
export { Adagrad } from './adagrad.js';
export type { AdagradOptions, AdagradParamGroup } from './adagrad.js';
export * as lrScheduler from './lr_scheduler.js';
