/**
 * `capctl exec`: apply a profile to this process and execve(2) the command in its place.
 *
 * One plan serves both the prediction and the real thing: planLaunch() (src/runtime/launch.ts)
 * lists the system calls from this process's real credential to the profile's sets;
 * predictLaunch() runs them through the runtime model (that is `--dry-run`), and runLaunch()
 * makes exactly the same calls through libc (src/sys/creds.ts). A step the kernel refuses stops
 * everything before execve and is named with its errno.
 *
 * A non-root `--user` keeps exactly the profile's permitted set through the exec by making it
 * inheritable and ambient: the kernel clears permitted and effective on exec for a non-root uid
 * running a file without file capabilities, except for the ambient set (P' = A, E' = A).
 */
import { readFileSync, statSync } from 'node:fs';
import type { CapSet } from '../caps/capset.js';
import { CapctlError, inputError } from '../caps/errors.js';
import { parseProcStatus } from '../caps/procstatus.js';
import { PR_GET_SECUREBITS } from '../runtime/abi.js';
import { Credential } from '../runtime/credential.js';
import { errnoName } from '../runtime/errno.js';
import type { ExecFile } from '../runtime/exec.js';
import {
  capStatusLines,
  capsetWords,
  type LaunchPrediction,
  type LaunchSpec,
  type LaunchStep,
  launchSpec,
  planLaunch,
  predictLaunch,
} from '../runtime/launch.js';
import * as creds from '../sys/creds.js';
import { OsError } from '../sys/libc.js';
import { getExecCapsXattr } from '../sys/xattr.js';
import { resolveCommand } from './command-path.js';

/** The five sets a profile asks for (Profile.sets). */
export type ProfileSets = Readonly<Record<'bounding' | 'permitted' | 'effective' | 'inheritable' | 'ambient', CapSet>>;

export interface ExecRequest {
  sets: ProfileSets;
  uid?: number;
  gid?: number;
  groups?: readonly number[];
  chroot?: string;
  noNewPrivs?: boolean;
  /** CMD ARGS. */
  argv: readonly string[];
  /** The environment the command gets (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The launch for a profile's sets and the requested ids. A non-root uid gets the permitted set
 * as inheritable and ambient too (see the header); effective then equals permitted, as the
 * ambient rules give it after exec anyway.
 */
export function launchSpecFor(req: Omit<ExecRequest, 'argv' | 'env'>): LaunchSpec {
  const s = req.sets;
  const nonRoot = req.uid !== undefined && req.uid !== 0;
  let groups = req.groups;
  // Changing user without naming groups must not keep the launcher's (root's) supplementary
  // groups: the new user gets none, as `setpriv --clear-groups` does.
  if (groups === undefined && req.uid !== undefined) groups = [];
  return launchSpec({
    bounding: s.bounding,
    permitted: s.permitted,
    effective: nonRoot ? s.permitted : s.effective,
    inheritable: nonRoot ? s.inheritable.union(s.permitted) : s.inheritable,
    ambient: nonRoot ? s.ambient.union(s.permitted) : s.ambient,
    ...(req.uid !== undefined ? { uid: req.uid } : {}),
    ...(req.gid !== undefined ? { gid: req.gid } : req.uid !== undefined ? { gid: req.uid } : {}),
    ...(groups !== undefined ? { groups } : {}),
    ...(req.chroot !== undefined ? { chroot: req.chroot } : {}),
    ...(req.noNewPrivs ? { noNewPrivs: true } : {}),
  });
}

/** What the exec rules need to know about the file: its capabilities, set-id bits, owner. */
export function execFileFacts(hostPath: string): ExecFile {
  const st = statSync(hostPath);
  return { fileCaps: getExecCapsXattr(hostPath), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** This thread's credential as the kernel has it now (status file plus securebits). */
export function currentCredential(): Credential {
  const st = parseProcStatus(readFileSync(`/proc/thread-self/status`, 'utf8'));
  return Credential.fromStatus(st, creds.prctl(PR_GET_SECUREBITS));
}

export interface ExecPlan {
  spec: LaunchSpec;
  start: Credential;
  steps: readonly LaunchStep[];
  prediction: LaunchPrediction;
  /** Path execve gets (inside the chroot, if any). */
  path: string;
  argv: readonly string[];
  env: string[];
}

export function planExec(req: ExecRequest): ExecPlan {
  if (req.argv.length === 0) throw inputError('usage', 'no command given (capctl exec [options] -- CMD ARGS)');
  const env = req.env ?? process.env;
  const cmd = resolveCommand(req.argv[0]!, env.PATH, req.chroot ?? '/');
  const spec = launchSpecFor(req);
  const start = currentCredential();
  const prediction = predictLaunch(spec, { start, file: execFileFacts(cmd.host) });
  return {
    spec,
    start,
    steps: planLaunch(spec, start),
    prediction,
    path: cmd.path,
    argv: req.argv,
    env: Object.entries(env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`),
  };
}

/** A launch step the kernel refused: nothing after it ran, and nothing was executed. */
export class LaunchStepError extends CapctlError {
  readonly step: LaunchStep;
  readonly errno: number;
  constructor(step: LaunchStep, errno: number) {
    super(
      'launch-step-failed',
      `${step.why}: ${step.call} failed with ${errnoName(errno)}; nothing was executed`,
      'denied',
    );
    this.step = step;
    this.errno = errno;
  }
}

/** Make one step's system call for real. */
export function runLaunchStep(step: LaunchStep): void {
  switch (step.call) {
    case 'chroot':
      creds.chroot(step.path);
      break;
    case 'prctl':
      creds.prctl(step.option, step.arg2, step.arg3);
      break;
    case 'setgroups':
      creds.setgroups(step.groups);
      break;
    case 'setresgid':
      creds.setresgid(step.id);
      break;
    case 'setresuid':
      creds.setresuid(step.id);
      break;
    case 'capset':
      creds.capset(capsetWords(step));
      break;
  }
}

/** Run the plan's steps in order, then execve. Returns only by throwing. */
export function runExec(plan: ExecPlan): never {
  for (const step of plan.steps) {
    try {
      runLaunchStep(step);
    } catch (err) {
      if (err instanceof OsError) throw new LaunchStepError(step, err.errno);
      throw err;
    }
  }
  creds.resetInheritedState();
  try {
    creds.execve(plan.path, plan.argv, plan.env);
  } catch (err) {
    if (err instanceof OsError) {
      const e = new CapctlError('exec-failed', `${err.message}, after applying the profile`, 'denied');
      throw Object.assign(e, { errno: err.errno });
    }
    throw err;
  }
}

/** The prediction as `--dry-run` prints it: the five status lines, or the refusal. */
export function describePrediction(p: LaunchPrediction, path: string): { ok: boolean; text: string } {
  if (p.failed)
    return { ok: false, text: `${p.failed.step.why}: ${p.failed.step.call} would fail with ${p.failed.errnoName}` };
  if (p.execErrno !== undefined) return { ok: false, text: `execve ${path} would fail with ${errnoName(p.execErrno)}` };
  return { ok: true, text: capStatusLines(p.afterExec!).trimEnd() };
}
