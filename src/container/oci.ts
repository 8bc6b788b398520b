/**
 * OCI runtime bundles (opencontainers/runtime-spec config.md, config-freebsd.md): a profile
 * written into config.json, and the process's sets after exec predicted from config.json.
 *
 * Writing: `process.capabilities` gets all five lists (an empty list is written, never left
 * out: an absent list means "the runtime's default", and a profile is default deny), and
 * `process.noNewPrivileges` is set when the profile asks for it. For FreeBSD bundles the jail
 * parameters go both into the spec's `freebsd.jail.allow` object (runj reads it) and into
 * `org.freebsd.jail.allow.<param>` annotations (ocijail, podman's runtime on FreeBSD, reads only
 * those). Everything else in the file keeps its value and its key order: the document is parsed
 * with JSON.parse (which keeps insertion order) and only the named members are replaced in place.
 *
 * Reading: the lists are the state *before* execve (runc applies them in launch.ts's order and
 * then execs the entrypoint), so the prediction runs planLaunch + execve through the runtime.
 */
import type { CapSet } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import { OCIJAIL_ALLOW } from '../policy/jail-format.js';
import type { CapSetName } from '../policy/types.js';
import type { ContainerProfile } from './profile.js';

/** The annotation naming a container's profile: a stock name or an absolute path. */
export const PROFILE_ANNOTATION = 'io.capctl.profile';
/** ocijail's per-parameter annotations (its FreeBSD port patch): `org.freebsd.jail.allow.mlock=true`. */
export const OCIJAIL_ALLOW_PREFIX = 'org.freebsd.jail.';

/** runtime-spec's key order for process.capabilities (config.md, specs-go LinuxCapabilities). */
export const OCI_CAP_KEYS: readonly CapSetName[] = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'];

/**
 * config-freebsd.md's `freebsd.jail.allow` members and the jail(8) parameter each stands for.
 * `mount` is a list of the allow.mount.* file systems.
 */
export const FREEBSD_ALLOW_FIELDS: Readonly<Record<string, string>> = {
  'allow.set_hostname': 'setHostname',
  'allow.raw_sockets': 'rawSockets',
  'allow.chflags': 'chflags',
  'allow.quotas': 'quotas',
  'allow.socket_af': 'socketAf',
  'allow.mlock': 'mlock',
  'allow.reserved_ports': 'reservedPorts',
  'allow.suser': 'suser',
};

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface OciConfig extends JsonObject {}

export const isJsonObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** config.json text -> object; anything that is not a JSON object is bad input (exit 2). */
export function parseOciConfig(text: string, where = 'config.json'): OciConfig {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw inputError('bad-bundle', `${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isJsonObject(v)) throw inputError('bad-bundle', `${where} is not a JSON object`);
  return v as OciConfig;
}

/** The file's own layout (engines write it compact, `runc spec` with tabs), kept on rewrite. */
function jsonStyle(text: string): { indent: string; newline: boolean } {
  const m = /^\{\r?\n([ \t]+)"/.exec(text);
  return { indent: m ? m[1]! : '', newline: text.endsWith('\n') };
}

export function stringifyLike(original: string, value: Json): string {
  const st = jsonStyle(original);
  return JSON.stringify(value, null, st.indent || undefined) + (st.newline ? '\n' : '');
}

/** The five lists as OCI spells them (CAP_ names, ascending by number). */
export function ociCapLists(sets: Readonly<Record<CapSetName, CapSet>>): Record<CapSetName, string[]> {
  return Object.fromEntries(OCI_CAP_KEYS.map((k) => [k, sets[k].toNames()])) as Record<CapSetName, string[]>;
}

/** Set `obj[key] = value` keeping the key's place if it exists (appended otherwise). */
function put(obj: JsonObject, key: string, value: Json): void {
  obj[key] = value;
}

function child(obj: JsonObject, key: string): JsonObject {
  const cur = obj[key];
  if (isJsonObject(cur)) return cur;
  const fresh: JsonObject = {};
  obj[key] = fresh;
  return fresh;
}

export type Platform = 'linux' | 'freebsd';

/** A bundle with a `freebsd` section is a FreeBSD bundle unless told otherwise. */
export function bundlePlatform(config: OciConfig, forced?: Platform): Platform {
  return forced ?? (isJsonObject(config.freebsd) ? 'freebsd' : 'linux');
}

/**
 * Write `cp` into a parsed config (mutating it). Returns what was changed, one line each, for
 * the audit record and --json.
 */
export function applyProfileToConfig(config: OciConfig, cp: ContainerProfile, platform?: Platform): string[] {
  const changed: string[] = [];
  const proc = child(config, 'process');
  const caps = child(proc, 'capabilities');
  const lists = ociCapLists(cp.sets);
  for (const k of OCI_CAP_KEYS) put(caps, k, lists[k]);
  changed.push('process.capabilities');
  if (cp.noNewPrivs) {
    put(proc, 'noNewPrivileges', true);
    changed.push('process.noNewPrivileges');
  }
  if (bundlePlatform(config, platform) === 'freebsd') {
    const jail = child(child(config, 'freebsd'), 'jail');
    const allow = child(jail, 'allow');
    const mounts: string[] = Array.isArray(allow.mount) ? (allow.mount as Json[]).map(String) : [];
    const annotations = child(config, 'annotations');
    for (const [param, on] of Object.entries(cp.jailAllow).sort()) {
      const field = FREEBSD_ALLOW_FIELDS[param];
      if (field) put(allow, field, on);
      const mount = /^allow\.mount\.(.+)$/.exec(param);
      if (mount) {
        const i = mounts.indexOf(mount[1]!);
        if (on && i < 0) mounts.push(mount[1]!);
        if (!on && i >= 0) mounts.splice(i, 1);
      }
      // ocijail takes allow.* annotations only as "true" and only from its own list
      // (policy/jail-format.ts OCIJAIL_ALLOW); a parameter cannot be turned off there.
      if (on && OCIJAIL_ALLOW.has(param)) put(annotations, `${OCIJAIL_ALLOW_PREFIX}${param}`, 'true');
    }
    if (mounts.length > 0 || 'mount' in allow) put(allow, 'mount', mounts);
    changed.push('freebsd.jail.allow', `annotations ${OCIJAIL_ALLOW_PREFIX}allow.*`);
  }
  return changed;
}

/** Apply to the file's text: the new text in the file's own layout. */
export function applyProfileToText(
  text: string,
  cp: ContainerProfile,
  platform?: Platform,
): { text: string; changed: string[] } {
  const config = parseOciConfig(text);
  const changed = applyProfileToConfig(config, cp, platform);
  return { text: stringifyLike(text, config), changed };
}
