import type { SuggestBase } from '../audit/suggest.js';
import { CAP_ALLOW, type CompiledProfile, describeRule } from '../policy/compile.js';
import { keyMatches } from '../policy/names.js';
import { PRIORITY_MAX } from '../policy/types.js';

/** What `audit suggest --extends` needs of the parent profile (the audit layer reads no profiles). */
export function suggestBase(p: CompiledProfile): SuggestBase {
  return {
    name: p.name,
    maxPriority: PRIORITY_MAX,
    topDeny(object) {
      let top: (typeof p.rules)[number] | undefined;
      for (const r of p.rules) {
        if (r.effect !== 'deny' || r.implicit || !r.objects.some((o) => keyMatches(object, o))) continue;
        if (top === undefined || r.priority > top.priority) top = r;
      }
      return top && { priority: top.priority, rule: describeRule(top) };
    },
    allowsCapEverywhere: (cap) => p.decideCap(cap, 0, '') === CAP_ALLOW,
  };
}
