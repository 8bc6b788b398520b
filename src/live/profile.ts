/**
 * The profile a live command applies when it is given a target instead of a profile: the one
 * attached to that jail, chroot or container. Fail closed: no binding, a profile that no longer
 * loads, or one changed since it was attached (profileForTarget compares the sha256 recorded by
 * `capctl attach`) is an error with the reason, never a run without a profile.
 */
import { CapctlError } from '../caps/errors.js';
import { type CompiledProfile, profileForTarget, type TargetKind } from '../policy/index.js';

export interface TargetChoice {
  jail?: string;
  chroot?: string;
  container?: string;
}

export function resolveBoundProfile(stateDir: string, t: TargetChoice): CompiledProfile {
  const given = (['jail', 'chroot', 'container'] as const).filter((k) => t[k] !== undefined);
  if (given.length !== 1) {
    throw new CapctlError(
      'usage',
      'give --profile P, or exactly one of --jail NAME, --chroot DIR, --container ID',
      'input',
    );
  }
  const kind: TargetKind = given[0]!;
  const r = profileForTarget(stateDir, kind, t[kind]!);
  if (r.error) throw new CapctlError(r.error.code, `refusing to run: ${r.error.message}`, 'denied');
  return r.policy;
}
