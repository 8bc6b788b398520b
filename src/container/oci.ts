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
import { CapSet } from '../caps/capset.js';
import { capByName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import type { FileCaps } from '../caps/xattr.js';
import type { CapSetName } from '../policy/index.js';
import type { Credential } from '../runtime/credential.js';
import type { ExecFile } from '../runtime/exec.js';
import {
  capStatusLines,
  type LaunchPrediction,
  type LaunchSpec,
  launchSpec,
  predictLaunch,
} from '../runtime/launch.js';
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

const isObj = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** config.json text -> object; anything that is not a JSON object is bad input (exit 2). */
export function parseOciConfig(text: string, where = 'config.json'): OciConfig {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw inputError('bad-bundle', `${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObj(v)) throw inputError('bad-bundle', `${where} is not a JSON object`);
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
  if (isObj(cur)) return cur;
  const fresh: JsonObject = {};
  obj[key] = fresh;
  return fresh;
}

export type Platform = 'linux' | 'freebsd';

/** A bundle with a `freebsd` section is a FreeBSD bundle unless told otherwise. */
export function bundlePlatform(config: OciConfig, forced?: Platform): Platform {
  return forced ?? (isObj(config.freebsd) ? 'freebsd' : 'linux');
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
      put(annotations, `${OCIJAIL_ALLOW_PREFIX}${param}`, on ? 'true' : 'false');
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

function capList(v: Json | undefined, where: string, warnings: string[]): CapSet {
  if (v === undefined || v === null) return CapSet.EMPTY;
  if (!Array.isArray(v)) throw inputError('bad-bundle', `${where} is not a list`);
  let s = CapSet.EMPTY;
  for (const n of v) {
    const c = typeof n === 'string' ? capByName(n) : undefined;
    // runtime-spec: a capability that cannot be granted is a warning, not a failure (runc
    // ignores names it does not know).
    if (c === undefined) warnings.push(`${where}: unknown capability ${JSON.stringify(n)} (ignored, as runc does)`);
    else s = s.add(c);
  }
  return s;
}

function idOf(v: Json | undefined, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xfffffffe) {
    throw inputError('bad-bundle', `${where} is not a uid/gid`);
  }
  return v;
}

export interface OciProcess {
  spec: LaunchSpec;
  /** process.args[0] and the container's PATH (the runtime looks a bare name up in it). */
  entrypoint?: string;
  path: string;
  rootPath?: string;
  warnings: string[];
}

/** What config.json asks the runtime to set up before it execs the entrypoint. */
export function ociProcess(config: OciConfig): OciProcess {
  const warnings: string[] = [];
  const proc = isObj(config.process) ? config.process : {};
  const c = isObj(proc.capabilities) ? proc.capabilities : {};
  const sets = Object.fromEntries(
    OCI_CAP_KEYS.map((k) => [k, capList(c[k], `process.capabilities.${k}`, warnings)]),
  ) as Record<CapSetName, CapSet>;
  const user = isObj(proc.user) ? proc.user : {};
  const uid = idOf(user.uid, 'process.user.uid') ?? 0;
  const gid = idOf(user.gid, 'process.user.gid') ?? 0;
  const groups = Array.isArray(user.additionalGids)
    ? user.additionalGids.map((g, i) => idOf(g, `process.user.additionalGids[${i}]`)!)
    : [];
  // runc raises each ambient cap and ignores a refusal (libcontainer/capabilities): a cap not in
  // both permitted and inheritable silently does not get there.
  const lostAmbient = sets.ambient.minus(sets.permitted.intersect(sets.inheritable));
  if (!lostAmbient.isEmpty()) {
    warnings.push(
      `ambient has ${lostAmbient.toNames().join(', ')}, not in both inheritable and permitted: the runtime's raise fails and the cap is dropped`,
    );
  }
  const spec = launchSpec({
    ...sets,
    ambient: sets.ambient.minus(lostAmbient),
    uid,
    gid,
    groups,
    noNewPrivs: proc.noNewPrivileges === true,
  });
  const args = Array.isArray(proc.args) ? proc.args : [];
  const env = Array.isArray(proc.env) ? proc.env.filter((e): e is string => typeof e === 'string') : [];
  const pathVar =
    env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const root = isObj(config.root) && typeof config.root.path === 'string' ? config.root.path : undefined;
  return {
    spec,
    entrypoint: typeof args[0] === 'string' ? args[0] : undefined,
    path: pathVar,
    rootPath: root,
    warnings,
  };
}

export interface OciPrediction {
  prediction: LaunchPrediction;
  /** The five /proc/PID/status lines of the container's first process, when exec succeeds. */
  lines?: string;
  warnings: string[];
}

/**
 * The container process's sets after exec, with the known traps spelled out. `file` is the
 * entrypoint as found in the rootfs (undefined when it could not be read: no file capabilities
 * are assumed and a warning says so).
 */
export function predictOci(
  proc: OciProcess,
  file: (ExecFile & { fileCaps?: FileCaps | null }) | undefined,
  start?: Credential,
): OciPrediction {
  const warnings = [...proc.warnings];
  const spec = proc.spec;
  const prediction = predictLaunch(spec, { start, file: file ?? {} });
  const fc = file?.fileCaps ?? null;
  if (prediction.failed) {
    warnings.push(
      `the runtime's ${prediction.failed.step.why} fails with ${prediction.failed.errnoName}: the container does not start`,
    );
  }
  if (prediction.execErrno !== undefined) {
    warnings.push(
      `exec of ${proc.entrypoint ?? 'the entrypoint'} fails with EPERM: its file capabilities are not all in the bounding set`,
    );
  }
  const after = prediction.afterExec;
  if (after && (spec.uid ?? 0) !== 0 && !spec.permitted.isEmpty() && spec.ambient.isEmpty() && !fc) {
    warnings.push(
      `user ${spec.uid} is not root and ambient is empty: the permitted caps (${spec.permitted.toNames().join(', ')}) do not survive exec, the effective set is empty`,
    );
  }
  if (spec.noNewPrivs && fc) {
    warnings.push(
      "noNewPrivileges (allowPrivilegeEscalation: false) is set: the entrypoint's file capabilities cannot raise anything beyond what the process already had",
    );
  }
  return { prediction, lines: after ? capStatusLines(after) : undefined, warnings };
}
