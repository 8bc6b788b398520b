/**
 * The runtime's syscalls report Linux errno values; the table itself is a Linux ABI fact and
 * lives in src/caps/errno.ts (so src/sys can name the same numbers). Re-exported here because
 * the runtime's API documents `src/runtime/errno.js`.
 */
export * from '../caps/errno.js';
