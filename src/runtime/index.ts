export * from './abi.js';
export * from './credential.js';
export * from './errno.js';
export type { ExecFile, ExecOptions, ExecResult } from './exec.js';
export * from './host.js';
export { isModelledPrctl, toU64, type ULong } from './prctl.js';
export * from './result.js';
export * from './runtime.js';
export * from './task.js';
