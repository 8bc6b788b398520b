/**
 * Compiled container profiles in the state directory (`compiled/<key>.json`), so that the OCI
 * runtime shim applies a profile without loading YAML, ajv or casbin on every container start.
 *
 * An entry records the profile's files and the sha256 over their contents (bindings.ts's
 * hashFiles, the same hash a binding records). It is used only while that hash still matches
 * the files on disk and, as root, while nobody but their owner can write them; otherwise the
 * profile is loaded and validated again in full and the entry replaced. A profile that does not
 * validate is an error, never a stale entry.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CapctlError, inputError } from '../caps/errors.js';
import { type ContainerProfile, containerProfileFromJson, containerProfileToJson } from '../container/profile.js';
import { atomicWrite, checkProfileFileModes, hashFiles } from '../policy/bindings.js';
import { findProfile, isProfileName } from '../policy/resolve.js';
import { readTrustedFile } from '../policy/trust.js';

/** A compiled entry is a few KiB (five masks, the rules' shape); the C fast path reads up to 16 MiB. */
const COMPILED_MAX_BYTES = 16 << 20;

export function compiledDir(stateDir: string): string {
  return join(stateDir, 'compiled');
}

function entryName(profileFile: string): string {
  return `${createHash('sha256').update(profileFile).digest('hex').slice(0, 32)}.json`;
}

/**
 * A profile reference as the annotation gives it: an absolute path, or a profile name looked up
 * by the one resolver (policy/resolve.ts: $CAPCTL_PROFILE_PATH, STATE/profiles, policies/).
 * Relative paths are refused: the shim's working directory is the engine's, not the user's.
 */
export function profileRefToFile(ref: string, stateDir: string): string {
  if (isAbsolute(ref)) {
    if (!existsSync(ref)) throw inputError('profile-not-found', `profile ${ref} does not exist`);
    return ref;
  }
  if (!isProfileName(ref)) {
    throw inputError('bad-profile-ref', `"${ref}" is neither a profile name nor an absolute path`);
  }
  return findProfile(ref, { stateDir }).file;
}

export interface StoredProfile {
  profile: ContainerProfile;
  sha256: string;
  /** true when the stored compiled form was used (the hot path). */
  cached: boolean;
}

function readEntry(stateDir: string, profileFile: string): StoredProfile | undefined {
  let text: string;
  try {
    // The stored sets are applied as they are: as root, an entry someone else could have
    // written (or replaced through a writable directory) is not used, but recompiled over.
    text = readTrustedFile(join(compiledDir(stateDir), entryName(profileFile)), {
      what: 'compiled profile',
      maxBytes: COMPILED_MAX_BYTES,
      noFollow: true,
    }).text;
  } catch {
    return undefined;
  }
  try {
    const { profile, sha256 } = containerProfileFromJson(JSON.parse(text));
    if (profile.file !== profileFile || profile.files.at(-1) !== profileFile) return undefined;
    if (hashFiles(profile.files) !== sha256) return undefined;
    return { profile, sha256, cached: true };
  } catch {
    return undefined; // unreadable, malformed, or a file of the chain is gone: recompile
  }
}

/** Load, validate and compile the profile in full, and store the compiled form (best effort). */
export async function compileAndStore(stateDir: string, profileFile: string): Promise<StoredProfile> {
  // The full loader (YAML, ajv, policy compilation) only when the stored form is missing or stale.
  const { loadProfile } = await import('../policy/index.js');
  const { containerProfile } = await import('../container/compile.js');
  const profile = containerProfile(loadProfile(profileFile));
  const sha256 = hashFiles(profile.files);
  try {
    const dir = compiledDir(stateDir);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    atomicWrite(dir, entryName(profileFile), `${JSON.stringify(containerProfileToJson(profile, sha256), null, 2)}\n`);
  } catch {
    // A read-only state directory costs speed (the next start compiles again), not safety.
  }
  return { profile, sha256, cached: false };
}

/** The container profile for `profileFile`, from the store when its hash still matches. */
export async function containerProfileFor(stateDir: string, profileFile: string): Promise<StoredProfile> {
  const hit = readEntry(stateDir, profileFile);
  const got = hit ?? (await compileAndStore(stateDir, profileFile));
  try {
    checkProfileFileModes(got.profile.files);
  } catch (err) {
    if (err instanceof CapctlError) throw err;
    throw new CapctlError('io', `cannot check the modes of profile files: ${(err as Error).message}`, 'io');
  }
  return got;
}
