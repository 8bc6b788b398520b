/**
 * The launcher: a short-lived Node process (Node cannot fork) that becomes the supervised
 * program. In order:
 *   1. PR_SET_PDEATHSIG(SIGKILL), then check the parent is still there: if capctl dies from
 *      here on, the kernel kills this process (and the program it turns into).
 *   2. With --host freebsd: a private mount namespace with every mount nosuid, since the
 *      Linuxulator applies no Linux file capabilities (src/sys/mounts.ts).
 *   3. no_new_privs only when not holding CAP_SYS_ADMIN (installing a filter needs one of
 *      them; no_new_privs would change what execve of set-id and file-capability files does).
 *   4. seccomp(SET_MODE_FILTER, NEW_LISTENER): the listener fd number and securebits go to
 *      capctl over fd 3; capctl takes the fd with pidfd_getfd and starts the supervisor.
 *   5. Wait for "go" on fd 4, close the listener (only the supervisor holds it: when it dies,
 *      trapped calls fail with ENOSYS instead of waiting for an answer).
 *   6. The launch steps (src/runtime/launch.ts planLaunch: chroot, bounding drops, uid/gid,
 *      capset, ...) to the engine's initial sets (FreeBSD host: the bridged sets) and --user:
 *      each is trapped, decided by the engine, then made by the kernel; a refused step stops
 *      the launch. Then execve the program.
 *
 *   node seccomp-exec.js SPEC_JSON
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { PR_GET_SECUREBITS, PR_SET_NO_NEW_PRIVS, SIGKILL } from '../runtime/abi.js';
import { capset, chrootSelf, execve, prctl, setgroupsSelf, setresgidSelf, setresuidSelf } from '../sys/creds.js';
import { enterNosuidMountNamespace } from '../sys/mounts.js';
import { buildFilter, closeFd, type FilterSpec, installListenerFilter } from '../sys/seccomp.js';

/** A launch step (src/runtime/launch.ts LaunchStep) as JSON: capability sets as kernel words. */
export type WireStep =
  | { call: 'chroot'; path: string }
  | { call: 'prctl'; option: number; arg2: number; arg3: number }
  | { call: 'setgroups'; groups: number[] }
  | { call: 'setresgid' | 'setresuid'; id: number }
  | { call: 'capset'; words: number[] };

export interface LaunchSpec {
  path: string;
  argv: string[];
  filter: FilterSpec;
  /**
   * planLaunch()'s steps, made after the supervisor is running: each is a trapped call the
   * engine decides and the kernel then makes, so the model starts where the program does.
   */
  steps: WireStep[];
  noNewPrivs: boolean;
  /** Run in a private mount namespace whose mounts are all nosuid (no file capabilities). */
  nosuid: boolean;
  parentPid: number;
}

const PR_SET_PDEATHSIG = 1;

function applyStep(step: WireStep): void {
  switch (step.call) {
    case 'chroot':
      chrootSelf(step.path);
      process.chdir('/');
      return;
    case 'prctl':
      prctl(step.option, step.arg2, step.arg3);
      return;
    case 'setgroups':
      setgroupsSelf(step.groups);
      return;
    case 'setresgid':
      setresgidSelf(step.id, step.id, step.id);
      return;
    case 'setresuid':
      setresuidSelf(step.id, step.id, step.id);
      return;
    case 'capset':
      capset(Uint32Array.from(step.words));
      return;
  }
}

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LaunchSpec;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (process.ppid !== spec.parentPid) process.exit(125);
  if (spec.nosuid) enterNosuidMountNamespace();
  if (spec.noNewPrivs) prctl(PR_SET_NO_NEW_PRIVS, 1);
  // Read before the filter: from then on this thread's prctl(PR_GET_SECUREBITS) would wait
  // for a supervisor that does not exist yet.
  const securebits = prctl(PR_GET_SECUREBITS);
  const fd = installListenerFilter(buildFilter(spec.filter));
  writeSync(3, `${JSON.stringify({ fd, securebits })}\n`);
  const go = Buffer.alloc(1);
  if (readSync(4, go, 0, 1, null) !== 1) process.exit(125);
  closeFd(fd);
  closeSync(3);
  closeSync(4);
  for (const step of spec.steps) applyStep(step);
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  execve(spec.path, spec.argv, env);
}

try {
  main();
} catch (err) {
  process.stderr.write(`capctl run: ${(err as Error).message}\n`);
  process.exit(126);
}
