// The `nn` namespace: `export * as nn from './nn/index.js'` in lib/index.ts.
export { Module, type StateDict, type LoadResult } from './module.js';
export { Parameter } from './parameter.js';
export * as init from './init.js';
export { Linear } from './layers/linear.js';
export { Flatten, Unflatten } from './layers/flatten.js';
export { Sequential, ModuleList, Identity, Lambda } from './layers/container.js';
