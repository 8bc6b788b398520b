/**
 * Names in profiles. Capabilities are accepted the way the kernel, libcap and the container
 * tools spell them (CAP_NET_RAW, cap_net_raw, NET_RAW as in Docker's --cap-add and Kubernetes'
 * capabilities.add); privileges as priv.h spells them, with or without PRIV_, in any case, or as
 * a prefix pattern ending in `*` (PRIV_NET_*), which matches as casbin's keyMatch does.
 */
import { capByName, suggestCapName } from '../caps/catalog.js';
import { suggestPrivName } from '../priv/catalog.js';
import { privCatalog } from './privdata.js';

/** Capability number for a profile spelling, or undefined. `ALL` is handled by callers. */
export function capFromProfileName(name: string): number | undefined {
  return capByName(name);
}

/** Did-you-mean for a capability, in the user's own style (NET_RAW -> NET_RAW, cap_x -> cap_x). */
export function suggestCap(name: string): string | undefined {
  return suggestCapName(name);
}

/** Canonical upper-case privilege name (PRIV_NETINET_RAW) for a profile spelling, or undefined. */
export function canonicalPrivName(name: string): string | undefined {
  const upper = name.toUpperCase();
  const full = upper.startsWith('PRIV_') ? upper : `PRIV_${upper}`;
  const cat = privCatalog();
  const n = cat.byName.get(full);
  // Aliases (PRIV_NET_SETVLANPCP = PRIV_NET_SETLANPCP = 421) become the first name of the number.
  return n === undefined ? undefined : cat.byNumber.get(n);
}

/**
 * A privilege pattern, canonicalised: `PRIV_NET_*` stays a prefix pattern; `*` alone or `PRIV_*`
 * means every privilege. Returns undefined when the pattern matches no privilege.
 */
export function canonicalPrivPattern(pattern: string): string | undefined {
  if (!pattern.endsWith('*')) return canonicalPrivName(pattern);
  const upper = pattern.toUpperCase();
  const full = upper.startsWith('PRIV_') || upper === '*' ? upper : `PRIV_${upper}`;
  const star = full === '*' ? 'PRIV_*' : full;
  for (const n of privCatalog().byNumber.values()) if (keyMatches(n, star)) return star;
  return undefined;
}

/** Did-you-mean for a privilege (or the prefix of a pattern), in the user's spelling. */
export function suggestPriv(name: string): string | undefined {
  return suggestPrivName(name.replace(/\*$/, ''));
}

/**
 * casbin's keyMatch(key1, key2) restated: without `*` the names must be equal; with one, key1
 * must start with what precedes the first `*` (or equal it exactly). The compiled tables use this
 * so that they expand patterns exactly as the reference model matches them.
 *
 * Not casbin's exported Util.keyMatchFunc: calling it would load casbin (measured ~230 ms) on
 * every profile load with a `PRIV_X_*` pattern, which src/util/lazy.ts exists to avoid; casbin's
 * own function is ~2x slower per call as well (1.7 us vs 0.8 us). test/policy/keymatch.test.ts
 * checks that both answer the same for every privilege and pattern and for random strings.
 */
export function keyMatches(name: string, pattern: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return name === pattern;
  if (name.length > star) return name.slice(0, star) === pattern.slice(0, star);
  return name === pattern.slice(0, star);
}
