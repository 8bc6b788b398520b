/**
 * Files the policy layer ships next to the code: the JSON Schema (schema/), the casbin model and
 * the stock profiles (policies/). They are found from the package root, which is the nearest
 * directory above this module holding capctl's package.json: that is the same directory whether
 * this file runs as src/policy/paths.ts (vitest, tsx) or as dist/src/policy/paths.js (after tsc).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'capctl') {
          root = dir;
          return dir;
        }
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('capctl package root not found above the policy module');
    dir = up;
  }
}

export const schemaPath = (): string => join(packageRoot(), 'schema', 'profile.schema.json');
export const policiesDir = (): string => join(packageRoot(), 'policies');
export const modelPath = (): string => join(packageRoot(), 'policies', 'model.conf');

/** Display a path relative to the working directory when that is shorter. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}
