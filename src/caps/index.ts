export * from './capset.js';
export * from './catalog.js';
export * from './cgroup.js';
export * from './errors.js';
export * from './iab.js';
export * from './procstatus.js';
export * from './text.js';
export * from './xattr.js';
