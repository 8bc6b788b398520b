/**
 * The one profile resolver. Every command that takes a profile argument goes through
 * `findProfile` (or `resolveProfile` in index.ts, which also loads it), so a name means the same
 * thing everywhere:
 *
 *   - a bare name — no `/` and no `.yaml`/`.yml` suffix — is a profile *name*, looked up as
 *     NAME.yaml then NAME.yml in each profile directory in order: the entries of
 *     $CAPCTL_PROFILE_PATH (colon-separated absolute directories), then STATE_DIR/profiles, then
 *     the stock profiles shipped in policies/. The first match wins (like $PATH), so an
 *     administrator can override a stock profile, but a file in the working directory never can:
 *     write `./ping` for that.
 *   - anything else is a path (relative to the working directory).
 *
 * Either way the result must be a regular file, and the error says which rule applied.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { closestName } from '../caps/catalog.js';
import { CapctlError } from '../caps/errors.js';
import { policiesDir, resolveStateDir } from './paths.js';

export interface ResolveOptions {
  /** Where relative paths are resolved (default: process.cwd()). */
  cwd?: string;
  /** Environment for $CAPCTL_PROFILE_PATH and the state directory (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The state directory whose profiles/ is searched (default: resolveStateDir). */
  stateDir?: string;
}

export type ProfileDirSource = 'CAPCTL_PROFILE_PATH' | 'state' | 'stock';

export interface ProfileDir {
  dir: string;
  source: ProfileDirSource;
}

/** The directories a bare profile name is looked up in, in order. */
export function profileSearchDirs(opts: ResolveOptions = {}): ProfileDir[] {
  const env = opts.env ?? process.env;
  const out: ProfileDir[] = [];
  // Relative entries are ignored: a name must not depend on the working directory.
  for (const d of (env.CAPCTL_PROFILE_PATH ?? '').split(':')) {
    if (d !== '' && isAbsolute(d)) out.push({ dir: d, source: 'CAPCTL_PROFILE_PATH' });
  }
  out.push({ dir: join(resolveStateDir({ stateDir: opts.stateDir, env }), 'profiles'), source: 'state' });
  out.push({ dir: policiesDir(), source: 'stock' });
  return out;
}

/** A bare name (the name rule) versus a path (the path rule). */
export function isProfileName(arg: string): boolean {
  return !arg.includes('/') && !/\.ya?ml$/i.test(arg);
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export interface FoundProfile {
  file: string;
  rule: 'name' | 'path';
  /** For the name rule: which directory it was found in. */
  source?: ProfileDirSource;
}

function kindOf(path: string): 'file' | 'dir' | 'other' | 'missing' {
  try {
    const st = statSync(path);
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

export interface ListedProfile {
  name: string;
  file: string;
  source: ProfileDirSource;
  /** The file that wins for this name when this one is shadowed by an earlier directory. */
  shadowedBy?: string;
}

/** Every profile reachable by name, in search order (shadowed ones marked). */
export function listProfiles(opts: ResolveOptions = {}): ListedProfile[] {
  const out: ListedProfile[] = [];
  const winner = new Map<string, string>();
  for (const { dir, source } of profileSearchDirs(opts)) {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      continue; // an absent directory holds no profiles
    }
    for (const f of entries) {
      const m = /^(.+)\.ya?ml$/.exec(f);
      if (!m || !NAME_RE.test(m[1]!) || kindOf(join(dir, f)) !== 'file') continue;
      const name = m[1]!;
      const file = join(dir, f);
      const first = winner.get(name);
      if (first === undefined) winner.set(name, file);
      out.push({ name, file, source, ...(first !== undefined ? { shadowedBy: first } : {}) });
    }
  }
  return out;
}

/** Find the file a profile argument names. Throws CapctlError (exit 2) saying which rule applied. */
export function findProfile(arg: string, opts: ResolveOptions = {}): FoundProfile {
  if (arg === '') throw new CapctlError('profile-not-found', 'empty profile argument', 'io');
  if (isProfileName(arg)) {
    const rule = 'a bare name (no "/", no .yaml/.yml suffix) is a profile name';
    if (!NAME_RE.test(arg)) {
      throw new CapctlError(
        'profile-not-found',
        `"${arg.slice(0, 64)}" is not a profile name (${rule}: letters, digits, '.', '_', '-')`,
        'io',
      );
    }
    const dirs = profileSearchDirs(opts);
    for (const { dir, source } of dirs) {
      for (const ext of ['.yaml', '.yml']) {
        const file = join(dir, arg + ext);
        const k = kindOf(file);
        if (k === 'missing') continue;
        if (k !== 'file') {
          throw new CapctlError('profile-not-found', `profile ${arg}: ${file} is not a regular file (${rule})`, 'io');
        }
        return { file, rule: 'name', source };
      }
    }
    const names = [...new Set(listProfiles(opts).map((p) => p.name))];
    const hint = closestName(arg, names);
    const here =
      kindOf(resolve(opts.cwd ?? process.cwd(), arg)) === 'file'
        ? `; for the file in this directory write ./${arg}`
        : '';
    throw new CapctlError(
      'profile-not-found',
      `no profile named ${arg}${hint ? ` (did you mean ${hint}?)` : ''}: ${rule}, looked up in ${dirs.map((d) => d.dir).join(', ')}${here}`,
      'io',
    );
  }
  const file = resolve(opts.cwd ?? process.cwd(), arg);
  const rule = 'an argument with "/" or a .yaml/.yml suffix is a path';
  const k = kindOf(file);
  if (k === 'missing') throw new CapctlError('profile-not-found', `profile file not found: ${arg} (${rule})`, 'io');
  if (k === 'dir') {
    throw new CapctlError('profile-not-found', `${arg} is a directory, not a profile file (${rule})`, 'io');
  }
  if (k !== 'file') throw new CapctlError('profile-not-found', `${arg} is not a regular file (${rule})`, 'io');
  return { file, rule: 'path' };
}
