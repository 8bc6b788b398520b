/**
 * A profile as container formats need it: the five capability sets, no_new_privs, and the
 * FreeBSD jail allow.* parameters jail planning derives from its rules. This is the compiled
 * form the OCI runtime shim keeps in the state directory: plain JSON, so applying a profile on
 * the container start path needs neither the YAML loader, ajv nor casbin.
 */
import { CapSet } from '../caps/capset.js';
import { CapctlError } from '../caps/errors.js';
import { type CapSetName, SET_NAMES } from '../policy/types.js';

export interface ContainerProfile {
  name: string;
  /** Absolute path of the profile file, and every file of its extends chain (parents first). */
  file: string;
  files: readonly string[];
  sets: Readonly<Record<CapSetName, CapSet>>;
  noNewPrivs: boolean;
  /**
   * FreeBSD jail allow.* parameters, on (true) or explicitly off (false), as `capctl jail create`
   * plans them for this profile (without `persist` and the non-allow parameters, which are
   * the engine's business).
   */
  jailAllow: Readonly<Record<string, boolean>>;
  /** Rules the container formats cannot carry (per-syscall, per-uid, FreeBSD privileges). */
  rules: readonly { effect: string; objects: readonly string[]; conditional: boolean; source: string }[];
}

/** The JSON written to the state directory: masks as hex, so the file reads like /proc. */
export interface ContainerProfileJson {
  version: 1;
  name: string;
  file: string;
  files: string[];
  sha256: string;
  sets: Record<CapSetName, string>;
  noNewPrivs: boolean;
  jailAllow: Record<string, boolean>;
  rules: ContainerProfile['rules'];
}

export function containerProfileToJson(cp: ContainerProfile, sha256: string): ContainerProfileJson {
  return {
    version: 1,
    name: cp.name,
    file: cp.file,
    files: [...cp.files],
    sha256,
    sets: Object.fromEntries(SET_NAMES.map((s) => [s, cp.sets[s].toHex()])) as Record<CapSetName, string>,
    noNewPrivs: cp.noNewPrivs,
    jailAllow: { ...cp.jailAllow },
    rules: cp.rules,
  };
}

/** The reverse; anything malformed is an error (the caller recompiles from the source). */
export function containerProfileFromJson(j: unknown): { profile: ContainerProfile; sha256: string } {
  const o = j as Partial<ContainerProfileJson>;
  const bad = (why: string) => new CapctlError('bad-compiled-profile', `compiled profile: ${why}`, 'io');
  if (typeof o !== 'object' || o === null || o.version !== 1) throw bad('unknown version');
  if (typeof o.name !== 'string' || typeof o.file !== 'string' || typeof o.sha256 !== 'string') throw bad('fields');
  if (!Array.isArray(o.files) || o.files.some((f) => typeof f !== 'string')) throw bad('files');
  if (typeof o.noNewPrivs !== 'boolean' || typeof o.jailAllow !== 'object' || !Array.isArray(o.rules)) {
    throw bad('fields');
  }
  const sets = {} as Record<CapSetName, CapSet>;
  for (const s of SET_NAMES) {
    const h = o.sets?.[s];
    if (typeof h !== 'string') throw bad(`set ${s}`);
    sets[s] = CapSet.fromHex(h);
  }
  return {
    sha256: o.sha256,
    profile: {
      name: o.name,
      file: o.file,
      files: o.files,
      sets,
      noNewPrivs: o.noNewPrivs,
      jailAllow: o.jailAllow as Record<string, boolean>,
      rules: o.rules,
    },
  };
}
