/**
 * From a loaded, compiled profile to its container form (profile.ts): the sets, no_new_privs,
 * and the jail allow.* parameters that jail planning (policy/jail.ts) derives from the rules.
 * This is the only container module that needs the full policy layer; the shim's start path
 * uses the stored result instead.
 */

import { type CompiledProfile, planJail } from '../policy/index.js';
import { jailParamDef } from '../priv/jail.js';
import type { ContainerProfile } from './profile.js';

/** The container view of a loaded, compiled profile. */
export function containerProfile(p: CompiledProfile): ContainerProfile {
  const pr = p.profile;
  const plan = planJail(p, 'container', '/');
  const jailAllow: Record<string, boolean> = {};
  for (const x of plan.params) {
    if (!x.key.startsWith('allow.') || x.value !== null) continue;
    if (jailParamDef(x.key)) {
      jailAllow[x.key] = true;
      continue;
    }
    // jail(8) negates a boolean with "no" before its last component (allow.mount.nodevfs) or
    // right after "allow." (allow.noraw_sockets): either way it names a known parameter.
    const base = [x.key.replace(/^allow\.no/, 'allow.'), x.key.replace(/\.no([^.]+)$/, '.$1')].find((k) =>
      jailParamDef(k),
    );
    if (base) jailAllow[base] = false;
  }
  return {
    name: pr.name,
    file: pr.file,
    files: [...pr.files],
    sets: { ...pr.sets },
    noNewPrivs: pr.noNewPrivs,
    jailAllow,
    rules: pr.rules
      .filter((r) => !r.implicit)
      .map((r) => ({
        effect: r.effect,
        objects: r.objects,
        conditional: r.syscalls !== null || r.uidMin !== 0 || r.uidMax !== 4294967295,
        source: r.source,
      })),
  };
}
