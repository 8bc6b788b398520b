/**
 * The bindings store: which profile governs which jail, chroot or container. One JSON file in
 * the state directory, changed only under a lock and replaced atomically, so any number of
 * concurrent capctl processes lose no update and a crash never leaves a torn file.
 *
 * Lock: proper-lockfile (an atomic mkdir of bindings.json.lock whose mtime the owner refreshes;
 * a lock not refreshed for STALE_MS is stale and broken). Write: write-file-atomic (temp file,
 * fsync, rename), then an fsync of the directory so the rename itself survives a crash. Both
 * replace hand-written code that had the same design: well-kept libraries with the cross-
 * process edge cases (mtime precision, compromised locks, cleanup on exit) already handled.
 *
 * Trust: as root, the state directory (whole path) and bindings.json must be owned by root or the
 * invoking user and not group/world-writable; bindings.json must be a regular file, not a
 * symlink. Every record is validated when read: anything malformed fails closed with a one-line
 * error that names the entry and field, never the file's bytes.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { CapctlError, inputError } from '../caps/errors.js';
import { hashTexts } from './hash.js';
import { checkJailName } from './jail-spec.js';
import { BINDINGS_MAX_BYTES, checkTrustedDir, readTrustedFile, type TrustOptions } from './trust.js';
import type { TargetKind } from './types.js';

export { resolveStateDir, type StateDirOptions } from './paths.js';

export interface Binding {
  kind: TargetKind;
  /** Jail name, absolute chroot path, or container id. */
  target: string;
  /** Absolute path of the profile file. */
  profile: string;
  profileName: string;
  /** sha256 over every file in the profile's extends chain at attach time (Profile.sha256). */
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
/** A lock not refreshed for this long belongs to a dead process (proper-lockfile refreshes it). */
const STALE_MS = 10_000;
/** Longest accepted target name (a chroot path up to PATH_MAX). */
const TARGET_MAX = 4095;

/** A name must print as one line: no C0/C1 control characters, no line or paragraph separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function validateTarget(kind: TargetKind, target: string): string {
  if (typeof target !== 'string' || target === '') throw inputError('bad-target', `empty ${kind} name`);
  if (CONTROL.test(target)) throw inputError('bad-target', `the ${kind} name contains a control character`);
  if (target.length > TARGET_MAX) {
    throw inputError('bad-target', `the ${kind} name is ${target.length} characters long (at most ${TARGET_MAX})`);
  }
  if (kind === 'jail') return checkJailName(target);
  if (kind === 'chroot') return resolve(target);
  if (kind === 'container') {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(target)) {
      throw inputError('bad-target', `"${target.slice(0, 64)}" is not a container id or name`);
    }
    return target;
  }
  throw inputError('bad-target', `unknown target kind ${String(kind).slice(0, 16)}`);
}

/**
 * As root, a profile that group or others can write could be changed by someone else to grant
 * themselves privileges: refuse it (and every file it extends). The loader applies the full
 * rule (owner, whole path, file type) to every file it reads; this is the mode check alone.
 */
export function checkProfileFileModes(files: readonly string[], uid = process.getuid?.() ?? -1): void {
  if (uid !== 0) return;
  for (const f of files) readTrustedFile(f, { what: 'profile', maxBytes: Number.MAX_SAFE_INTEGER, uid });
}

/** Create the state directory if needed and check (as root) that it can be trusted. */
export function prepareStateDir(dir: string, opts: TrustOptions = {}): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  checkTrustedDir(dir, opts);
}

/**
 * Take the state lock, run `fn`, release. Waits up to about `timeoutMs` for another owner.
 * Under the lock, temp files left by a writer killed mid-write are removed (nothing else can be
 * writing then).
 */
export async function withStateLock<T>(dir: string, fn: () => T, timeoutMs = 15000): Promise<T> {
  prepareStateDir(dir);
  const file = join(dir, FILE);
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, {
      realpath: false,
      stale: STALE_MS,
      // ~timeoutMs of retries between 5 and 50 ms apart (randomised so waiters do not march).
      retries: { retries: Math.max(1, Math.ceil(timeoutMs / 30)), minTimeout: 5, maxTimeout: 50, randomize: true },
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new CapctlError(
        'state-locked',
        `state directory ${dir} is locked by another capctl (${FILE}.lock; it is broken ${STALE_MS / 1000}s after its owner dies)`,
        'io',
      );
    }
    throw new CapctlError('io', `cannot lock ${dir}: ${(err as Error).message}`, 'io');
  }
  try {
    cleanStaleTemps(dir);
    const out = fn();
    if (compromised) throw new CapctlError('state-locked', `lost the lock on ${dir}: ${compromised.message}`, 'io');
    return out;
  } finally {
    await release().catch(() => undefined);
  }
}

/** write-file-atomic's temp names (bindings.json.NNN) and the older .bindings.json.*.tmp. */
function cleanStaleTemps(dir: string): void {
  for (const f of readdirSync(dir)) {
    if (/^bindings\.json\.\d+$/.test(f) || /^\.bindings\.json\..*\.tmp$/.test(f)) {
      try {
        unlinkSync(join(dir, f));
      } catch {
        // already gone
      }
    }
  }
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Why `b` is not a valid binding record, or undefined. */
function badRecord(b: unknown): string | undefined {
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return 'is not an object';
  const r = b as Record<string, unknown>;
  if (r.kind !== 'jail' && r.kind !== 'chroot' && r.kind !== 'container') return 'has no valid "kind"';
  if (typeof r.target !== 'string') return '"target" is not a string';
  try {
    if (validateTarget(r.kind, r.target) !== r.target) return '"target" is not in canonical form';
  } catch (err) {
    return `"target": ${(err as Error).message}`;
  }
  if (typeof r.profile !== 'string' || !r.profile.startsWith('/') || CONTROL.test(r.profile)) {
    return '"profile" is not an absolute path';
  }
  if (typeof r.profileName !== 'string' || CONTROL.test(r.profileName)) return '"profileName" is not a string';
  if (typeof r.sha256 !== 'string' || !SHA256.test(r.sha256)) return '"sha256" is not a sha256 digest';
  if (typeof r.attachedAt !== 'string' || Number.isNaN(Date.parse(r.attachedAt))) return '"attachedAt" is not a time';
  if (
    r.containerId !== undefined &&
    (typeof r.containerId !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(r.containerId))
  ) {
    return '"containerId" is not a container id';
  }
  return undefined;
}

/**
 * Every binding in `dir`, each validated. A missing file is no bindings; anything else that is
 * not exactly a bindings file (a symlink, a FIFO, another owner's file, bad JSON, a malformed
 * record) throws CapctlError('corrupt-bindings') — callers fail closed.
 */
export function readBindings(dir: string): Binding[] {
  const path = join(dir, FILE);
  // No state directory yet: no bindings (nothing to trust or distrust).
  if (!existsSync(dir)) return [];
  checkTrustedDir(dir);
  let text: string;
  try {
    text = readTrustedFile(path, { what: 'bindings file', maxBytes: BINDINGS_MAX_BYTES, noFollow: true }).text;
  } catch (err) {
    if (err instanceof CapctlError && /: no such file$/.test(err.message)) return [];
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new CapctlError('corrupt-bindings', `${path} is not valid JSON (remove or restore it)`, 'io');
  }
  const d = data as Partial<StateFile> | null;
  if (d === null || typeof d !== 'object' || d.version !== 1 || !Array.isArray(d.bindings)) {
    throw new CapctlError('corrupt-bindings', `${path} is not a version 1 bindings file (remove or restore it)`, 'io');
  }
  const seen = new Set<string>();
  d.bindings.forEach((b, i) => {
    const why = badRecord(b);
    if (why)
      throw new CapctlError('corrupt-bindings', `${path}: binding ${i} ${why} (remove or restore the file)`, 'io');
    const key = `${b.kind}\0${b.target}`;
    if (seen.has(key))
      throw new CapctlError('corrupt-bindings', `${path}: binding ${i} repeats ${b.kind} ${b.target}`, 'io');
    seen.add(key);
  });
  return d.bindings;
}

/**
 * Replace `dir/name` with `text` atomically and durably (write-file-atomic, then a dir fsync);
 * the new file gets `mode` (an OCI bundle's config.json keeps its own).
 */
export function atomicWrite(dir: string, name: string, text: string, mode = 0o644): void {
  writeFileAtomic.sync(join(dir, name), text, {
    mode,
    // Never copy the owner of whatever is there now: the file is ours.
    chown: { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 },
    fsync: true,
  });
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
  // Never write a record that readBindings would refuse.
  const why = badRecord(b);
  if (why) throw inputError('bad-binding', `binding ${why}`);
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
    profile: {
      files: readonly string[];
      sha256: string;
      target: TargetKind | undefined;
      warnings: readonly { message: string }[];
    };
  },
): Promise<AttachResult> {
  const t = validateTarget(kind, target);
  // The loader reads every file of the chain through readTrustedFile (trust.ts).
  const p = load(profilePath);
  checkTargetFits(p.name, p.profile.target, kind);
  const binding: Binding = {
    kind,
    target: t,
    profile: p.profile.files.at(-1)!,
    profileName: p.name,
    sha256: p.profile.sha256,
    attachedAt: new Date().toISOString(),
  };
  const replaced = await addBinding(stateDir, binding);
  return { binding, replaced, warnings: p.profile.warnings.map((w) => w.message) };
}

/** The hash of files as they are on disk now (for listings; decisions use Profile.sha256). */
export function hashFiles(files: readonly string[]): string {
  return hashTexts(
    files.map((f) => [f, readTrustedFile(f, { what: 'profile', maxBytes: Number.MAX_SAFE_INTEGER, uid: -1 }).text]),
  );
}
