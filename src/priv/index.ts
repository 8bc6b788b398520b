export * from './bridge.js';
export * from './caller.js';
export * from './catalog.js';
export * from './check.js';
export * from './jail.js';
export * from './mapping.js';
export * from './ops.js';
export * from './policy-hook.js';
