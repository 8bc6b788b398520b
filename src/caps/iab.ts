/**
 * libcap's IAB tuple text (cap_iab_to_text, as `getpcaps --iab` and `capsh --current` print it):
 * the three vectors a process passes on across execve, one entry per capability that is in any
 * of them. A bare name is inheritable only; `^` marks ambient (which implies inheritable); `!`
 * marks a capability dropped from the bounding set, and `!%` one dropped from bounding but
 * still inheritable. The compact `ps` view shows it next to cap_to_text so that all five sets
 * appear on one line.
 */
import type { CapSet } from './capset.js';
import { CAP_COUNT, CAPABILITIES } from './catalog.js';

export interface IabSets {
  readonly inheritable: CapSet;
  readonly ambient: CapSet;
  readonly bounding: CapSet;
}

/**
 * `capCount`: how many capabilities the running kernel knows (cap_last_cap + 1); bits above it
 * are never in the bounding set and libcap does not report them as dropped.
 */
export function formatIabText(s: IabSets, capCount: number = CAP_COUNT): string {
  const out: string[] = [];
  for (let c = 0; c < Math.min(capCount, CAP_COUNT); c++) {
    const i = s.inheritable.has(c);
    const a = s.ambient.has(c);
    const nb = !s.bounding.has(c);
    if (!i && !a && !nb) continue;
    out.push(`${nb ? '!' : ''}${a ? '^' : nb && i ? '%' : ''}${CAPABILITIES[c]!.libcapName}`);
  }
  return out.join(',');
}
