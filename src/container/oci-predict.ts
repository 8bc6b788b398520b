/**
 * The container process's sets after exec, predicted from an OCI config.json. The lists in
 * process.capabilities are the state *before* execve: runc applies them in planLaunch's order
 * (bounding drops, keepcaps, setgroups/setgid/setuid, capset, ambient raises, no_new_privs) and
 * then execs the entrypoint, so the prediction runs those steps and the exec through the
 * runtime (src/runtime/launch.ts), with the entrypoint's file capabilities when known.
 */
import { CapSet } from '../caps/capset.js';
import { capByName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import type { FileCaps } from '../caps/xattr.js';
import type { CapSetName } from '../policy/types.js';
import type { Credential } from '../runtime/credential.js';
import type { ExecFile } from '../runtime/exec.js';
import {
  capStatusLines,
  type LaunchPrediction,
  type LaunchSpec,
  launchSpec,
  predictLaunch,
} from '../runtime/launch.js';
import { isJsonObject, type Json, OCI_CAP_KEYS, type OciConfig } from './oci.js';

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
  const proc = isJsonObject(config.process) ? config.process : {};
  const c = isJsonObject(proc.capabilities) ? proc.capabilities : {};
  const sets = Object.fromEntries(
    OCI_CAP_KEYS.map((k) => [k, capList(c[k], `process.capabilities.${k}`, warnings)]),
  ) as Record<CapSetName, CapSet>;
  const user = isJsonObject(proc.user) ? proc.user : {};
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
  const root = isJsonObject(config.root) && typeof config.root.path === 'string' ? config.root.path : undefined;
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
