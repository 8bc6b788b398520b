/**
 * The policy layer's public API. `loadProfile(path)` (contract 4) loads, validates, resolves and
 * compiles a profile; the result implements PrivPolicy (contract 3). A profile that does not
 * validate throws (it is never used); a runtime that could not load its profile uses
 * `denyAllPolicy`, which vetoes every privilege and allows no capability.
 */
import { CapSet } from '../caps/capset.js';
import { CapctlError } from '../caps/errors.js';
import { type AttachResult, attachProfile, type Binding, findBinding, validateTarget } from './bindings.js';
import { type CompiledProfile, compileProfile } from './compile.js';
import { type LoadOptions, loadResolvedProfile } from './load.js';
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
export { displayPath, type LoadOptions, loadResolvedProfile, ProfileError } from './load.js';
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
  readBindings,
  removeBinding,
  resolveStateDir,
  validateTarget,
  withStateLock,
} from './bindings.js';
export { type JailParam, type JailPlan, planJail } from './jail.js';

/**
 * The profile bound to a target, for a runtime: denyAllPolicy (with the reason) when there is
 * no binding or its profile no longer loads — a runtime never runs unconfined by accident.
 */
export function profileForTarget(
  stateDir: string,
  kind: TargetKind,
  target: string,
): { policy: CompiledProfile; binding?: Binding; error?: CapctlError } {
  const b = findBinding(stateDir, kind, validateTarget(kind, target));
  if (!b) {
    return {
      policy: denyAllPolicy,
      error: new CapctlError('no-binding', `no profile is attached to ${kind} ${target}`),
    };
  }
  return { ...loadProfileOrDenyAll(b.profile), binding: b };
}

/** capctl attach: loads the profile with loadProfile (fail closed) and records the binding. */
export function attach(stateDir: string, kind: TargetKind, target: string, profilePath: string): Promise<AttachResult> {
  return attachProfile(stateDir, kind, target, profilePath, (p) => loadProfile(p));
}
