/**
 * Launching a program under a set of capabilities: the credential changes a launcher makes
 * before execve(2), written once as a list of system calls, and their outcome predicted by the
 * runtime itself. `capctl exec` performs the same steps for real (src/sys), `capctl oci check`
 * predicts what an OCI runtime will leave a container with, and both print this prediction.
 *
 * The order is the one the kernel forces (runc's libcontainer/init_linux.go and capsh follow
 * it too):
 *  1. chroot           needs CAP_SYS_CHROOT, so while the caller still has it;
 *  2. bounding drops   PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set;
 *  3. securebits       PR_SET_SECUREBITS needs CAP_SETPCAP too;
 *  4. keepcaps on      only when the uid changes to non-root: otherwise commit_creds' fixup
 *                      (cap_emulate_setxuid) clears the permitted set with the root uids;
 *  5. setgroups, setresgid, setresuid   groups first: setgroups needs CAP_SETGID, which a
 *                      non-root uid loses from the effective set;
 *  6. keepcaps off     the flag is cleared on execve anyway, but a failed exec must not leave it;
 *  7. capset           E, P and I together; after the uid change E is empty, P is what was kept;
 *  8. ambient raises   PR_CAP_AMBIENT_RAISE needs the cap in both P and I;
 *  9. no_new_privs     last, so that nothing above depends on it.
 * Then execve: the kernel's exec rules (src/runtime/exec.ts) give the new program's sets.
 */
import { CapSet } from '../caps/capset.js';
import { CAP_LAST_CAP, capInfo } from '../caps/catalog.js';
import { type CapSets, formatCapStatus } from '../caps/procstatus.js';
import {
  _LINUX_CAPABILITY_VERSION_3,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_RAISE,
  PR_CAPBSET_DROP,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_SECUREBITS,
} from './abi.js';
import { Credential } from './credential.js';
import { errnoName } from './errno.js';
import type { ExecFile, ExecOptions } from './exec.js';
import type { SyscallResult } from './result.js';
import { Runtime, type RuntimeOptions } from './runtime.js';

/** What the launched program should run with. Ids left undefined are not changed. */
export interface LaunchSpec {
  readonly bounding: CapSet;
  readonly permitted: CapSet;
  readonly effective: CapSet;
  readonly inheritable: CapSet;
  readonly ambient: CapSet;
  readonly uid?: number;
  readonly gid?: number;
  /** Supplementary groups; undefined keeps the launcher's. */
  readonly groups?: readonly number[];
  /** The securebits word to set (PR_SET_SECUREBITS); undefined leaves it. */
  readonly securebits?: number;
  readonly noNewPrivs?: boolean;
  /** Directory to chroot(2) into before anything else. */
  readonly chroot?: string;
}

/** One system call of a launch, in terms both the model and the real executor understand. */
export type LaunchStep =
  | { readonly call: 'chroot'; readonly path: string; readonly why: string }
  | {
      readonly call: 'prctl';
      readonly option: number;
      readonly arg2: number;
      readonly arg3: number;
      readonly why: string;
    }
  | { readonly call: 'setgroups'; readonly groups: readonly number[]; readonly why: string }
  | { readonly call: 'setresgid'; readonly id: number; readonly why: string }
  | { readonly call: 'setresuid'; readonly id: number; readonly why: string }
  | {
      readonly call: 'capset';
      readonly effective: CapSet;
      readonly permitted: CapSet;
      readonly inheritable: CapSet;
      readonly why: string;
    };

function capLabel(cap: number): string {
  return capInfo(cap)?.name ?? `capability ${cap}`;
}

/** The steps, in order, that take `start` to `spec` (see the header for why this order). */
export function planLaunch(spec: LaunchSpec, start: Credential = Credential.root()): LaunchStep[] {
  const steps: LaunchStep[] = [];
  if (spec.chroot !== undefined) steps.push({ call: 'chroot', path: spec.chroot, why: `chroot to ${spec.chroot}` });
  for (let cap = 0; cap <= CAP_LAST_CAP; cap++) {
    if (start.hasBounding(cap) && !spec.bounding.has(cap)) {
      steps.push({
        call: 'prctl',
        option: PR_CAPBSET_DROP,
        arg2: cap,
        arg3: 0,
        why: `drop ${capLabel(cap)} from the bounding set`,
      });
    }
  }
  if (spec.securebits !== undefined) {
    steps.push({ call: 'prctl', option: PR_SET_SECUREBITS, arg2: spec.securebits, arg3: 0, why: 'set securebits' });
  }
  const keepCaps = spec.uid !== undefined && spec.uid !== 0;
  if (keepCaps) {
    steps.push({
      call: 'prctl',
      option: PR_SET_KEEPCAPS,
      arg2: 1,
      arg3: 0,
      why: 'keep permitted caps across the uid change',
    });
  }
  if (spec.groups !== undefined) {
    steps.push({ call: 'setgroups', groups: spec.groups, why: `set supplementary groups [${spec.groups.join(',')}]` });
  }
  if (spec.gid !== undefined) steps.push({ call: 'setresgid', id: spec.gid, why: `set gids to ${spec.gid}` });
  if (spec.uid !== undefined) steps.push({ call: 'setresuid', id: spec.uid, why: `set uids to ${spec.uid}` });
  if (keepCaps) steps.push({ call: 'prctl', option: PR_SET_KEEPCAPS, arg2: 0, arg3: 0, why: 'clear keepcaps' });
  steps.push({
    call: 'capset',
    effective: spec.effective,
    permitted: spec.permitted,
    inheritable: spec.inheritable,
    why: 'set the effective, permitted and inheritable sets',
  });
  for (const cap of spec.ambient.toArray()) {
    steps.push({
      call: 'prctl',
      option: PR_CAP_AMBIENT,
      arg2: PR_CAP_AMBIENT_RAISE,
      arg3: cap,
      why: `raise ${capLabel(cap)} in the ambient set`,
    });
  }
  if (spec.noNewPrivs) {
    steps.push({ call: 'prctl', option: PR_SET_NO_NEW_PRIVS, arg2: 1, arg3: 0, why: 'set no_new_privs' });
  }
  return steps;
}

/** capset's user data for sets (struct __user_cap_data_struct[2], v3): e, p, i low then high. */
export function capsetWords(s: { effective: CapSet; permitted: CapSet; inheritable: CapSet }): Uint32Array {
  return new Uint32Array([
    s.effective.lo,
    s.permitted.lo,
    s.inheritable.lo,
    s.effective.hi,
    s.permitted.hi,
    s.inheritable.hi,
  ]);
}

/** Apply one step to thread `tid` of the model; the result is what the kernel would return. */
export function applyLaunchStep(rt: Runtime, tid: number, step: LaunchStep): SyscallResult {
  switch (step.call) {
    case 'chroot':
      return rt.chroot(tid, { exists: true, searchable: true });
    case 'prctl':
      return rt.prctl(tid, step.option, step.arg2, step.arg3);
    case 'setgroups':
      return rt.setgroups(tid, step.groups.length, step.groups);
    case 'setresgid':
      return rt.setresgid(tid, step.id, step.id, step.id);
    case 'setresuid':
      return rt.setresuid(tid, step.id, step.id, step.id);
    case 'capset':
      return rt.capset(tid, { version: _LINUX_CAPABILITY_VERSION_3, pid: 0 }, { words: capsetWords(step) });
  }
}

export interface LaunchFailure {
  readonly step: LaunchStep;
  readonly errno: number;
  readonly errnoName: string;
}

export interface LaunchPrediction {
  readonly steps: readonly LaunchStep[];
  /** The first step the kernel would refuse; nothing after it (nor the exec) happens. */
  readonly failed?: LaunchFailure;
  /** execve's own refusal (e.g. EPERM: file capabilities outside the bounding set). */
  readonly execErrno?: number;
  /** The credential just before execve, and the new program's. */
  readonly beforeExec: Credential;
  readonly afterExec?: Credential;
}

export interface PredictOptions {
  /** The launcher's credential (default: root with every capability). */
  readonly start?: Credential;
  /** The executed file (file capabilities, set-id bits, nosuid). */
  readonly file?: ExecFile;
  readonly exec?: ExecOptions;
  readonly runtime?: RuntimeOptions;
}

/** Run the plan and the exec through the runtime: the sets the program will really have. */
export function predictLaunch(spec: LaunchSpec, opts: PredictOptions = {}): LaunchPrediction {
  const start = opts.start ?? Credential.root();
  const rt = new Runtime(opts.runtime);
  const t = rt.spawn(start.clone());
  const steps = planLaunch(spec, start);
  for (const step of steps) {
    const r = applyLaunchStep(rt, t.tid, step);
    if (r.ret < 0) {
      return {
        steps,
        failed: { step, errno: r.errno, errnoName: errnoName(r.errno) },
        beforeExec: rt.cred(t.tid).clone(),
      };
    }
  }
  const beforeExec = rt.cred(t.tid).clone();
  const x = rt.execve(t.tid, opts.file ?? {}, opts.exec ?? {});
  if (x.ret < 0) return { steps, execErrno: x.errno, beforeExec };
  return { steps, beforeExec, afterExec: rt.cred(x.tid ?? t.tid).clone() };
}

/** The five lines /proc/PID/status would show for a credential. */
export function capStatusLines(c: Credential): string {
  const sets: CapSets = {
    inheritable: c.inheritable,
    permitted: c.permitted,
    effective: c.effective,
    bounding: c.bounding,
    ambient: c.ambient,
  };
  return formatCapStatus(sets);
}

/** The sets named in a LaunchSpec, empty unless given (default deny). */
export function launchSpec(p: Partial<LaunchSpec>): LaunchSpec {
  return {
    ...p,
    bounding: p.bounding ?? CapSet.EMPTY,
    permitted: p.permitted ?? CapSet.EMPTY,
    effective: p.effective ?? CapSet.EMPTY,
    inheritable: p.inheritable ?? CapSet.EMPTY,
    ambient: p.ambient ?? CapSet.EMPTY,
  };
}
