/**
 * The policy layer's public API. `loadProfile(path)` (contract 4) loads, validates, resolves and
 * compiles a profile; the result implements PrivPolicy (contract 3). A profile that does not
 * validate throws (it is never used); a runtime that could not load its profile uses
 * `denyAllPolicy`, which vetoes every privilege and allows no capability.
 */
import { CapSet } from '../caps/capset.js';
import { CapctlError } from '../caps/errors.js';
import {
  type AttachResult,
  attachProfile,
  type Binding,
  findBinding,
  readBindings,
  validateTarget,
} from './bindings.js';
import { type CompiledProfile, compileProfile } from './compile.js';
import { displayPath, type LoadOptions, loadResolvedProfile } from './load.js';
import { findProfile, type ResolveOptions } from './resolve.js';
import { SET_NAMES, type TargetKind, UID_ANY_MAX } from './types.js';

export { buildEnforcer, casbinDecide, modelConf, policyLines } from './casbin.js';
export {
  CAP_ALLOW,
  CAP_COMPLAIN,
  CAP_DENY,
  CompiledProfile,
  compileProfile,
  decisionRules,
  describeRule,
  PRIV_COMPLAIN,
  ruleOrder,
} from './compile.js';
export { displayPath, hashTexts, type LoadOptions, loadResolvedProfile, ProfileError } from './load.js';
export { formatIssue, type ProfileIssue } from './source.js';
export * from './types.js';

/** Load, validate and compile the profile at `path`. Throws ProfileError / CapctlError. */
export function loadProfile(path: string, opts: LoadOptions = {}): CompiledProfile {
  return compileProfile(loadResolvedProfile(path, opts));
}

/** The fail-closed policy: every capability denied, every privilege vetoed, enforce mode. */
export const denyAllPolicy: CompiledProfile = compileProfile({
  name: 'deny-all',
  description: 'used when a profile could not be loaded: nothing is allowed',
  file: '(none)',
  files: [],
  sha256: '',
  target: undefined,
  mode: 'enforce',
  sets: {
    bounding: CapSet.EMPTY,
    permitted: CapSet.EMPTY,
    effective: CapSet.EMPTY,
    inheritable: CapSet.EMPTY,
    ambient: CapSet.EMPTY,
  },
  setsGiven: Object.fromEntries(SET_NAMES.map((s) => [s, true])) as Record<(typeof SET_NAMES)[number], boolean>,
  noNewPrivs: true,
  rules: [
    {
      effect: 'deny',
      objects: ['CAP_*', 'PRIV_*'],
      uidMin: 0,
      uidMax: UID_ANY_MAX,
      syscalls: null,
      priority: 1000,
      source: 'deny-all (the profile failed to load)',
      implicit: true,
    },
  ],
  jail: {},
  audit: { log: 'denied', rateLimit: { perSecond: 100, burst: 200 } },
  warnings: [],
});

/**
 * For runtimes: the profile at `path`, or denyAllPolicy with the reason when it cannot be
 * loaded. The caller reports `error`; decisions fail closed either way.
 */
export function loadProfileOrDenyAll(path: string): { policy: CompiledProfile; error?: CapctlError } {
  try {
    return { policy: loadProfile(path) };
  } catch (err) {
    const e = err instanceof CapctlError ? err : new CapctlError('invalid-profile', String(err));
    return { policy: denyAllPolicy, error: e };
  }
}

export {
  type AttachResult,
  addBinding,
  atomicWrite,
  type Binding,
  checkProfileFileModes,
  checkTargetFits,
  findBinding,
  hashFiles,
  noteContainerStart,
  prepareStateDir,
  readBindings,
  removeBinding,
  resolveStateDir,
  validateTarget,
  withStateLock,
} from './bindings.js';
export { type JailParam, type JailPlan, planJail } from './jail.js';
export {
  type FoundProfile,
  findProfile,
  isProfileName,
  type ListedProfile,
  listProfiles,
  type ProfileDir,
  profileSearchDirs,
  type ResolveOptions,
} from './resolve.js';
export {
  BINDINGS_MAX_BYTES,
  checkTrustedDir,
  PROFILE_MAX_BYTES,
  readTrustedFile,
  type TrustOptions,
} from './trust.js';

/**
 * The profile bound to a target, for a runtime. Fails closed: denyAllPolicy with the reason
 * when there is no binding, the bindings file cannot be trusted or is corrupt, the profile no
 * longer loads, or its files changed since attach (sha256 differs: re-attach to accept the
 * change) — a runtime never runs unconfined or under an unreviewed profile by accident.
 */
export function profileForTarget(
  stateDir: string,
  kind: TargetKind,
  target: string,
): { policy: CompiledProfile; binding?: Binding; error?: CapctlError } {
  let b: Binding | undefined;
  try {
    b = findBinding(stateDir, kind, validateTarget(kind, target));
  } catch (err) {
    return { policy: denyAllPolicy, error: asCapctlError(err) };
  }
  if (!b) {
    return {
      policy: denyAllPolicy,
      error: new CapctlError('no-binding', `no profile is attached to ${kind} ${target}`),
    };
  }
  const loaded = loadProfileOrDenyAll(b.profile);
  if (loaded.error) return { ...loaded, binding: b };
  if (loaded.policy.profile.sha256 !== b.sha256) {
    return {
      policy: denyAllPolicy,
      binding: b,
      error: new CapctlError(
        'profile-changed',
        `profile ${b.profileName} (${displayPath(b.profile)}) changed since it was attached to ${kind} ${b.target} at ${b.attachedAt}; denying everything until it is re-attached (capctl attach --${kind} ${b.target} ${b.profile})`,
        'denied',
      ),
    };
  }
  return { ...loaded, binding: b };
}

/**
 * The binding for a container known by its full id (from /proc/PID/cgroup): a binding made
 * with that id, or with an unambiguous prefix of it of at least 12 hex digits (the short id
 * engines print). Throws CapctlError like readBindings on an untrusted or corrupt store.
 */
export function findContainerBinding(stateDir: string, fullId: string): Binding | undefined {
  const hits = readBindings(stateDir).filter(
    (b) => b.kind === 'container' && (b.target === fullId || (b.target.length >= 12 && fullId.startsWith(b.target))),
  );
  return hits.find((b) => b.target === fullId) ?? (hits.length === 1 ? hits[0] : undefined);
}

function asCapctlError(err: unknown): CapctlError {
  return err instanceof CapctlError ? err : new CapctlError('invalid-profile', String(err));
}

/**
 * The one profile resolver (resolve.ts): `arg` is a bare name (looked up in $CAPCTL_PROFILE_PATH,
 * STATE/profiles, policies/) or a path; the file is loaded, validated and compiled. Throws
 * CapctlError with a one-line reason naming the rule applied (a ProfileError lists every issue).
 * Every command taking a profile uses this.
 */
export function resolveProfile(arg: string, opts: ResolveOptions & LoadOptions = {}): CompiledProfile {
  return loadProfile(findProfile(arg, opts).file, opts);
}

/** capctl attach: resolves and loads the profile (fail closed) and records the binding. */
export function attach(
  stateDir: string,
  kind: TargetKind,
  target: string,
  profileArg: string,
  opts: ResolveOptions = {},
): Promise<AttachResult> {
  return attachProfile(stateDir, kind, target, profileArg, (p) => resolveProfile(p, { stateDir, ...opts }));
}
