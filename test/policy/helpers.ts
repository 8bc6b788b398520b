import { chmodSync, copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/policy/paths.js';

/** A fresh directory holding the given files (name -> YAML text). */
export function profileDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-policy-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The error a function throws, as a message (fails the test if it does not throw). */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error, got none');
}

/**
 * The stock profiles copied to a fresh directory with mode 0644: as root, attach refuses
 * group-writable profiles, and a checkout made under umask 002 would have them 0664.
 */
export function stockDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-stock-'));
  const src = join(packageRoot(), 'policies');
  for (const f of readdirSync(src)) {
    copyFileSync(join(src, f), join(dir, f));
    chmodSync(join(dir, f), 0o644);
  }
  return dir;
}
