/**
 * The privilege host from command-line choices (`--host KIND [--jail-param K=V ...]
 * [--profile P]`), shared by `capctl replay` (recorded calls) and `capctl run` (live calls).
 * The host itself is built by the runtime's one constructor (src/runtime/profile-host.ts), so
 * check, replay and run decide through the same code.
 */
import { inputError } from '../caps/errors.js';
import { parseJailParamArgs } from '../priv/jail.js';
import type { ProfilePolicy } from '../priv/policy-hook.js';
import { type BuiltHost, hostFor as buildHost } from '../runtime/profile-host.js';

/** The host for `--host KIND [--jail-param K=V ...] [--profile P]`. */
export function hostFor(kind: string, jailParams: readonly string[], policy?: ProfilePolicy): BuiltHost {
  if (kind !== 'linux' && kind !== 'freebsd')
    throw inputError('usage', `--host must be linux or freebsd, got "${kind}"`);
  if (jailParams.length > 0 && kind !== 'freebsd') throw inputError('usage', '--jail-param needs --host freebsd');
  return buildHost({ kind, policy, jailParams: kind === 'freebsd' ? parseJailParamArgs(jailParams) : undefined });
}
