/**
 * The bindings store: which profile governs which jail, chroot or container. One JSON file in
 * the state directory, changed only under a lock and replaced atomically, so any number of
 * concurrent capctl processes lose no update and a crash never leaves a torn file.
 *
 * Write: temp file in the same directory -> write -> fsync -> rename over bindings.json ->
 * fsync the directory (so the rename itself survives a crash).
 * Lock: bindings.lock created with O_EXCL holding the owner's pid. A lock whose pid no longer
 * exists is stale: it is renamed aside (atomic, so only one breaker wins), checked to be the
 * dead owner's, and removed.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CapctlError, inputError } from '../caps/errors.js';
import { displayPath } from './paths.js';
import type { TargetKind } from './types.js';

export interface Binding {
  kind: TargetKind;
  /** Jail name, absolute chroot path, or container id. */
  target: string;
  /** Absolute path of the profile file. */
  profile: string;
  profileName: string;
  /** sha256 over the contents of every file in the profile's extends chain, at attach time. */
  sha256: string;
  attachedAt: string;
  /** Containers only: the id of the last container capctl-oci-runtime started under it. */
  containerId?: string;
  containerStartedAt?: string;
}

interface StateFile {
  version: 1;
  bindings: Binding[];
}

const FILE = 'bindings.json';
const LOCK = 'bindings.lock';

export interface StateDirOptions {
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
}

/** --state-dir, then CAPCTL_STATE_DIR, then /var/db/capctl as root or ~/.local/state/capctl. */
export function resolveStateDir(opts: StateDirOptions = {}): string {
  if (opts.stateDir) return resolve(opts.stateDir);
  const env = opts.env ?? process.env;
  if (env.CAPCTL_STATE_DIR) return resolve(env.CAPCTL_STATE_DIR);
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  return uid === 0 ? '/var/db/capctl' : join(homedir(), '.local', 'state', 'capctl');
}

export function validateTarget(kind: TargetKind, target: string): string {
  if (kind === 'jail') {
    // jail(8) names: no dots (they separate hierarchy levels) and no spaces.
    if (!/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(target)) {
      throw inputError('bad-target', `"${target}" is not a jail name (letters, digits, '_' and '-')`);
    }
    return target;
  }
  if (kind === 'chroot') {
    if (target === '') throw inputError('bad-target', 'empty chroot path');
    return resolve(target);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(target)) {
    throw inputError('bad-target', `"${target}" is not a container id or name`);
  }
  return target;
}

export function hashFiles(files: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f);
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * As root, a profile that group or others can write could be changed by someone else to grant
 * themselves privileges: refuse it (and every file it extends).
 */
export function checkProfileFileModes(files: readonly string[], uid = process.getuid?.() ?? -1): void {
  if (uid !== 0) return;
  for (const f of files) {
    const mode = statSync(f).mode & 0o777;
    if ((mode & 0o022) !== 0) {
      throw new CapctlError(
        'unsafe-profile-mode',
        `refusing ${displayPath(f)}: mode ${mode.toString(8).padStart(4, '0')} lets ${(mode & 0o020) !== 0 ? 'its group' : ''}${(mode & 0o022) === 0o022 ? ' and ' : ''}${(mode & 0o002) !== 0 ? 'others' : ''} change it (run: chmod go-w ${f})`,
      );
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLockPid(path: string): { pid: number; ageMs: number } | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    const ageMs = Date.now() - statSync(path).mtimeMs;
    return { pid: Number.parseInt(text, 10), ageMs };
  } catch {
    return undefined;
  }
}

/** Take the state lock, run `fn`, release. Waits up to `timeoutMs` for a live owner. */
export async function withStateLock<T>(dir: string, fn: () => T, timeoutMs = 15000): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const lock = join(dir, LOCK);
  const deadline = Date.now() + timeoutMs;
  let lastOwner = 0;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readLockPid(lock);
    if (owner) {
      lastOwner = owner.pid;
      // An owner is stale when its pid is gone, or when it never wrote a pid (crashed between
      // create and write) and the file is old.
      const stale = Number.isNaN(owner.pid) ? owner.ageMs > 2000 : !pidAlive(owner.pid);
      if (stale) breakStaleLock(lock, owner.pid);
    }
    if (Date.now() > deadline) {
      throw new CapctlError('state-locked', `state directory ${dir} is locked by pid ${lastOwner} (${lock})`, 'io');
    }
    await sleep(2 + Math.random() * 10);
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already gone: nothing to release
    }
  }
}

function breakStaleLock(lock: string, deadPid: number): void {
  const aside = `${lock}.stale.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // someone else broke it first
  }
  const got = readLockPid(aside);
  if (got && got.pid !== deadPid && !Number.isNaN(got.pid) && pidAlive(got.pid)) {
    // Between our check and the rename a live process took the lock: give it back.
    try {
      linkSync(aside, lock);
    } catch {
      // the lock was taken again meanwhile; the live owner's file is the one in place
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // nothing left to clean
  }
}

export function readBindings(dir: string): Binding[] {
  let text: string;
  try {
    text = readFileSync(join(dir, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CapctlError('io', `cannot read ${join(dir, FILE)}: ${(err as Error).message}`, 'io');
  }
  let data: StateFile;
  try {
    data = JSON.parse(text) as StateFile;
  } catch (err) {
    throw new CapctlError('io', `${join(dir, FILE)} is not valid JSON: ${(err as Error).message}`, 'io');
  }
  if (data.version !== 1 || !Array.isArray(data.bindings)) {
    throw new CapctlError('io', `${join(dir, FILE)}: unknown format (version ${String(data.version)})`, 'io');
  }
  return data.bindings;
}

/** Replace `dir/name` with `text` atomically and durably (the new file gets `mode`). */
export function atomicWrite(dir: string, name: string, text: string, mode = 0o644): void {
  const tmp = join(dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // not subject to the umask, so the file keeps the original's mode
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, join(dir, name));
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

function writeBindings(dir: string, bindings: Binding[]): void {
  const sorted = [...bindings].sort((a, b) =>
    a.kind === b.kind ? (a.target < b.target ? -1 : 1) : a.kind < b.kind ? -1 : 1,
  );
  atomicWrite(dir, FILE, `${JSON.stringify({ version: 1, bindings: sorted } satisfies StateFile, null, 2)}\n`);
}

/** Record (or replace) the binding for its target. Returns the binding it replaced, if any. */
export async function addBinding(dir: string, b: Binding): Promise<Binding | undefined> {
  return withStateLock(dir, () => {
    const all = readBindings(dir);
    const i = all.findIndex((x) => x.kind === b.kind && x.target === b.target);
    const old = i >= 0 ? all[i] : undefined;
    if (i >= 0) all.splice(i, 1);
    all.push(b);
    writeBindings(dir, all);
    return old;
  });
}

export async function removeBinding(dir: string, kind: TargetKind, target: string): Promise<Binding | undefined> {
  return withStateLock(dir, () => {
    const all = readBindings(dir);
    const i = all.findIndex((x) => x.kind === kind && x.target === target);
    if (i < 0) return undefined;
    const [old] = all.splice(i, 1);
    writeBindings(dir, all);
    return old;
  });
}

/** Record on a container binding the id of the container just started under it. */
export async function noteContainerStart(dir: string, target: string, containerId: string): Promise<void> {
  await withStateLock(dir, () => {
    const all = readBindings(dir);
    const b = all.find((x) => x.kind === 'container' && x.target === target);
    if (!b) return;
    b.containerId = containerId;
    b.containerStartedAt = new Date().toISOString();
    writeBindings(dir, all);
  });
}

export function findBinding(dir: string, kind: TargetKind, target: string): Binding | undefined {
  return readBindings(dir).find((x) => x.kind === kind && x.target === target);
}

/** A profile made for one kind of target is refused for another (a container profile fits a jail). */
export function checkTargetFits(name: string, target: TargetKind | undefined, kind: TargetKind): void {
  // FreeBSD runs OCI containers as jails (ocijail, runj), so a container profile suits a jail.
  if (target === undefined || target === kind || (target === 'container' && kind === 'jail')) return;
  throw inputError(
    'wrong-target',
    `profile ${name} is for a ${target}; it cannot be attached to a ${kind} (use --${target}, or drop "target:" from the profile)`,
  );
}

export interface AttachResult {
  binding: Binding;
  replaced?: Binding;
  warnings: readonly string[];
}

/**
 * Validate `profilePath` completely (fail closed: a profile that does not validate is never
 * attached), check it suits the target kind and, as root, that nobody else can write it; then
 * record the binding.
 */
export async function attachProfile(
  stateDir: string,
  kind: TargetKind,
  target: string,
  profilePath: string,
  load: (path: string) => {
    name: string;
    profile: { files: readonly string[]; target: TargetKind | undefined; warnings: readonly { message: string }[] };
  },
): Promise<AttachResult> {
  const t = validateTarget(kind, target);
  const p = load(profilePath);
  checkTargetFits(p.name, p.profile.target, kind);
  checkProfileFileModes(p.profile.files);
  const binding: Binding = {
    kind,
    target: t,
    profile: p.profile.files.at(-1)!,
    profileName: p.name,
    sha256: hashFiles(p.profile.files),
    attachedAt: new Date().toISOString(),
  };
  const replaced = await addBinding(stateDir, binding);
  return { binding, replaced, warnings: p.profile.warnings.map((w) => w.message) };
}
