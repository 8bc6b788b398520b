/**
 * The launcher: a short-lived Node process (Node cannot fork) that becomes the supervised
 * program. In order:
 *   1. PR_SET_PDEATHSIG(SIGKILL), then check the parent is still there: if capctl dies from
 *      here on, the kernel kills this process (and the program it turns into).
 *   2. With --host freebsd: a private mount namespace with every mount nosuid, since the
 *      Linuxulator applies no Linux file capabilities (src/sys/mounts.ts).
 *   3. Reduce the credential to the engine's initial sets (FreeBSD host: the bridged sets):
 *      bounding-set drops, then capset. The kernel always allows these.
 *   4. no_new_privs only when not holding CAP_SYS_ADMIN (installing a filter needs one of
 *      them; no_new_privs would change what execve of set-id and file-capability files does).
 *   5. seccomp(SET_MODE_FILTER, NEW_LISTENER): the listener fd number and securebits go to
 *      capctl over fd 3; capctl takes the fd with pidfd_getfd and starts the supervisor.
 *   6. Wait for "go" on fd 4, close the listener (only the supervisor holds it: when it dies,
 *      trapped calls fail with ENOSYS instead of waiting for an answer), execve the program.
 *      That execve is the first trapped call.
 *
 *   node seccomp-exec.js SPEC_JSON
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { enterNosuidMountNamespace } from '../sys/mounts.js';
import {
  buildFilter,
  capsetSelf,
  closeFd,
  execve,
  type FilterSpec,
  installListenerFilter,
  prctl,
} from '../sys/seccomp.js';

export interface LaunchSpec {
  path: string;
  argv: string[];
  filter: FilterSpec;
  /** Capability sets to start with ([E0, P0, I0, E1, P1, I1]) and the bounding set to keep. */
  reduce?: { words: number[]; boundingLo: number; boundingHi: number };
  noNewPrivs: boolean;
  /** Run in a private mount namespace whose mounts are all nosuid (no file capabilities). */
  nosuid: boolean;
  parentPid: number;
}

const PR_SET_PDEATHSIG = 1;
const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_GET_SECUREBITS = 27;
const PR_SET_NO_NEW_PRIVS = 38;
const SIGKILL = 9;

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LaunchSpec;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (process.ppid !== spec.parentPid) process.exit(125);
  if (spec.nosuid) enterNosuidMountNamespace();
  if (spec.reduce) {
    const { boundingLo, boundingHi, words } = spec.reduce;
    for (let cap = 0; cap < 64; cap++) {
      const keep = cap < 32 ? (boundingLo >>> cap) & 1 : (boundingHi >>> (cap - 32)) & 1;
      if (keep) continue;
      let present = 0;
      try {
        present = prctl(PR_CAPBSET_READ, cap);
      } catch {
        break; // EINVAL: past the last capability this kernel knows
      }
      if (present) prctl(PR_CAPBSET_DROP, cap);
    }
    capsetSelf(words);
  }
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
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  execve(spec.path, spec.argv, env);
}

try {
  main();
} catch (err) {
  process.stderr.write(`capctl run: ${(err as Error).message}\n`);
  process.exit(126);
}
