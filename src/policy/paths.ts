/**
 * Where capctl's files are. Shipped next to the code: the JSON Schema (schema/), the casbin
 * model and the stock profiles (policies/), found from the package root (the nearest directory
 * above this module holding capctl's package.json — the same whether this runs as
 * src/policy/paths.ts or dist/src/policy/paths.js). Kept per host: the state directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import envPaths from 'env-paths';

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

export interface StateDirOptions {
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
}

/**
 * --state-dir, then $CAPCTL_STATE_DIR, then /var/db/capctl as root, else the XDG state
 * directory ($XDG_STATE_HOME/capctl, default ~/.local/state/capctl) as env-paths computes it.
 */
export function resolveStateDir(opts: StateDirOptions = {}): string {
  if (opts.stateDir) return resolve(opts.stateDir);
  const env = opts.env ?? process.env;
  if (env.CAPCTL_STATE_DIR) return resolve(env.CAPCTL_STATE_DIR);
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  if (uid === 0) return '/var/db/capctl';
  // env-paths reads process.env; honour an explicit env (tests, callers) for XDG_STATE_HOME.
  if (opts.env && opts.env !== process.env) {
    if (opts.env.XDG_STATE_HOME) return join(opts.env.XDG_STATE_HOME, 'capctl');
  }
  return envPaths('capctl', { suffix: '' }).log;
}
