/**
 * Docker Compose: a service's `cap_drop`, `cap_add` and `security_opt: [no-new-privileges:true]`.
 * Compose hands them to the engine as `run` flags, so the engine's rules apply (docker's by
 * default; engine-flags.ts says what the flags can and cannot carry).
 */
import type * as Yaml from 'yaml';
import { inputError } from '../caps/errors.js';
import type { ProfileDoc } from '../policy/types.js';
import { lazyRequire } from '../util/lazy.js';
import { ENGINE_DEFAULTS, type Engine, exportEngineFlags } from './engine-flags.js';
import { type Exported, engineCap, importedDoc, profileNameFrom, shortNames, tweakCaps } from './formats.js';
import type { ContainerProfile } from './profile.js';

const yaml = lazyRequire<typeof Yaml>('yaml');

export function exportCompose(cp: ContainerProfile, service = cp.name): Exported {
  const base = exportEngineFlags(cp, 'docker');
  const svc: Record<string, unknown> = { cap_drop: ['ALL'] };
  if (!cp.sets.bounding.isEmpty()) svc.cap_add = shortNames(cp.sets.bounding);
  if (cp.noNewPrivs) svc.security_opt = ['no-new-privileges:true'];
  const text = yaml().stringify({ services: { [service]: svc } });
  return { ...base, text: `# capctl profile ${cp.name}\n${text}` };
}

function list(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw inputError('bad-compose', `${where} is not a list of names`);
  return v as string[];
}

/** The first service (or `service`) of a compose file, with `engine`'s defaults (docker's). */
export function importCompose(text: string, opts: { service?: string; engine?: Engine } = {}): ProfileDoc {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    throw inputError('bad-compose', `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const services = (doc as { services?: Record<string, Record<string, unknown>> } | null)?.services;
  if (!services || typeof services !== 'object') throw inputError('bad-compose', 'no services: section');
  const name = opts.service ?? Object.keys(services)[0];
  const svc = name === undefined ? undefined : services[name];
  if (!svc || typeof svc !== 'object') throw inputError('bad-compose', `no service ${name ?? ''}`.trim());
  const add = list(svc.cap_add, `services.${name}.cap_add`).map((c) => engineCap(c, `services.${name}.cap_add`));
  const drop = list(svc.cap_drop, `services.${name}.cap_drop`).map((c) => engineCap(c, `services.${name}.cap_drop`));
  const opt = list(svc.security_opt, `services.${name}.security_opt`);
  const engine = opts.engine ?? 'docker';
  const set = tweakCaps(ENGINE_DEFAULTS[engine], add, drop, svc.privileged === true);
  return importedDoc(
    profileNameFrom(name!),
    `imported from compose service ${name} (${engine}'s defaults and rules applied)`,
    { bounding: set, permitted: set, effective: set },
    opt.some((o) => /^no-new-privileges(:true)?$/.test(o)),
  );
}
