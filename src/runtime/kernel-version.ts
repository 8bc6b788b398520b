/**
 * Rules that differ between kernel releases, as data: which capability and securebits ABI a
 * recording's kernel had. The model's reference is Linux 6.18; an older release changes only
 * the rules listed here (each with the commit that introduced it), and a release that cannot be
 * read, or a rule whose version is not pinned down, gives a warning instead of a silent guess.
 */
import type { KernelConfig } from './runtime.js';

export interface KernelRule {
  /** First release with the rule, [major, minor]. */
  readonly since: readonly [number, number];
  readonly what: string;
  /** The upstream commit that made it. */
  readonly commit: string;
}

export const KERNEL_RULES: readonly KernelRule[] = [
  {
    since: [4, 3],
    what: 'ambient capabilities: PR_CAP_AMBIENT and SECBIT_NO_CAP_AMBIENT_RAISE(_LOCKED)',
    commit: '58319057b784 ("capabilities: ambient capabilities")',
  },
  {
    since: [5, 8],
    what: 'CAP_PERFMON (38)',
    commit: '980737282232 ("capabilities: Introduce CAP_PERFMON to kernel and user space")',
  },
  { since: [5, 8], what: 'CAP_BPF (39)', commit: 'a17b53c4a4b5 ("bpf, capability: Introduce CAP_BPF")' },
  {
    since: [5, 9],
    what: 'CAP_CHECKPOINT_RESTORE (40)',
    commit: '124ea650d307 ("capabilities: Introduce CAP_CHECKPOINT_RESTORE")',
  },
  {
    since: [6, 14],
    what: 'SECBIT_EXEC_RESTRICT_FILE and SECBIT_EXEC_DENY_INTERACTIVE with their locks (0x100..0x800), settable without CAP_SETPCAP',
    commit: '"security: Add EXEC_RESTRICT_FILE and EXEC_DENY_INTERACTIVE securebits" (Mickaël Salaün, merged for 6.14)',
  },
];

/** The model's reference release. */
export const REFERENCE: readonly [number, number] = [6, 18];

/** [major, minor] of a `uname -r` release ("6.18.44-fc-v782"), or undefined. */
export function parseRelease(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function atLeast(v: readonly [number, number], since: readonly [number, number]): boolean {
  return v[0] > since[0] || (v[0] === since[0] && v[1] >= since[1]);
}

/** The kernel configuration for a release, and what the replay must warn about. */
export function kernelFor(release: string | undefined): { config: Partial<KernelConfig>; warnings: string[] } {
  if (release === undefined) return { config: {}, warnings: ['kernel release not recorded: Linux 6.18 rules assumed'] };
  const v = parseRelease(release);
  if (v === undefined)
    return { config: {}, warnings: [`kernel release "${release}" not understood: Linux 6.18 rules assumed`] };
  const warnings: string[] = [];
  const has = (k: number) => atLeast(v, KERNEL_RULES[k]!.since);
  const lastCap = has(3) ? 40 : has(1) ? 39 : 37;
  const config: Partial<KernelConfig> = {
    lastCap,
    securebitsValid: has(4) ? 0xfff : has(0) ? 0xff : 0x3f,
    ambient: has(0),
  };
  if (!atLeast(v, REFERENCE))
    warnings.push(
      `kernel ${release} is older than the model's reference 6.18: exec's id_changed rule ("exec: Correct the permission check for unsafe exec", 2025) is applied as in 6.18`,
    );
  if (v[0] > REFERENCE[0] || (v[0] === REFERENCE[0] && v[1] > REFERENCE[1] + 2))
    warnings.push(`kernel ${release} is newer than the model's reference 6.18: later rule changes are not modelled`);
  return { config, warnings };
}
