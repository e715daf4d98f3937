// torch.onnx: export to ONNX (export.ts), with the op mappings in mappings.ts
// and our own protobuf writer in proto.ts (it says why not protobufjs).
export { exportModel as export, type ExportOptions } from './export.js';
export { mappedOps } from './mappings.js';
