/** The live tests' view of tracefs (kept out of helpers.ts: it loads the libc bindings). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTracefs } from '../../src/sys/tracefs.js';
import { isRoot } from './helpers.js';

export const TRACING = '/sys/kernel/tracing';

/**
 * Is tracefs mounted at TRACING? As root it is mounted here if no test before has: a fresh
 * machine leaves it unmounted until capctl first mounts it, and a test's skip must not depend
 * on which file ran first. False when not root or when the kernel has none.
 */
export function tracefsReady(): boolean {
  if (!isRoot) return false;
  try {
    return existsSync(join(ensureTracefs(TRACING), 'instances'));
  } catch {
    return false;
  }
}
