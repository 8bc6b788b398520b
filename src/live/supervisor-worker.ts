/**
 * Worker-thread entry of the seccomp supervisor. NOTIF_RECV is a blocking ioctl and koffi calls
 * are synchronous, so the receive loop cannot share Node's main thread (which must keep
 * watching the child, writing the audit log and relaying signals). Running the whole
 * decode → runtime → answer path here also keeps a notification's round trip free of
 * postMessage: only decisions worth an audit record and notes cross to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { wanted } from '../audit/from-decision.js';
import { parseProcStatus } from '../caps/procstatus.js';
import { resolveProfile } from '../policy/index.js';
import { Credential } from '../runtime/credential.js';
import { linuxHost, type PrivilegeHost } from '../runtime/host.js';
import { sysctlOptions } from '../runtime/recording.js';
import { createRuntime } from '../runtime/runtime.js';
import { readSysctls } from '../sys/proc.js';
import { Listener } from '../sys/seccomp.js';
import { hostFor } from './hosts.js';
import { Supervisor } from './supervisor.js';

export interface SupervisorWorkerInput {
  /** The listener fd, already in this process (pidfd_getfd). */
  fd: number;
  /** The supervised program's pid (its first thread). */
  pid: number;
  /** /proc/PID/status of the program just before exec, and its securebits. */
  status: string;
  securebits: number;
  host: string;
  jailParams: string[];
  profile?: string;
  /** The sha256 of the profile capctl checked (and, for --jail/--chroot, the binding records). */
  profileSha256?: string;
  complain: boolean;
  audit: 'denied' | 'all' | 'none';
  stats: SharedArrayBuffer;
}

export type SupervisorMessage =
  | { type: 'ready'; syncWakeup: boolean }
  | { type: 'decision'; ev: import('../runtime/host.js').DecisionEvent }
  | { type: 'note'; text: string }
  | { type: 'end' };

const d = workerData as SupervisorWorkerInput;
const post = (m: SupervisorMessage) => parentPort!.postMessage(m);
const policy = d.profile !== undefined ? resolveProfile(d.profile) : undefined;
// The worker loads the profile again (a CompiledProfile does not cross threads): it must be the
// one capctl checked, or a profile edited in between would supervise an unreviewed run.
if (policy !== undefined && d.profileSha256 !== undefined && policy.profile.sha256 !== d.profileSha256) {
  throw new Error(`profile ${d.profile} changed while capctl run was starting`);
}
const { host, freebsd } = hostFor(d.host, d.jailParams, policy);
// The launch steps (bounding drops, --user's ids, capset to the bridged sets) are capctl acting
// as the jail's creator before CMD exists, so Linux's own rules decide them; from CMD's exec on,
// every decision is the chosen host's (and the profile's): a profile without CAP_SETPCAP must
// still let capctl reduce the program's bounding set.
let launched = false;
const phased: PrivilegeHost = {
  kind: host.kind,
  capable: (cred, cap, op) => (launched ? host : linuxHost).capable(cred, cap, op),
};
// The host's own tunables (ip_unprivileged_port_start, nr_open, ptrace_scope, ...): the program
// runs here, so the model decides with what this kernel will check.
const rt = createRuntime({ host: phased, sysctl: sysctlOptions(readSysctls()) });
rt.spawn(Credential.fromStatus(parseProcStatus(d.status), d.securebits), { tid: d.pid });
const l = new Listener(d.fd);
const sup = new Supervisor(
  rt,
  l,
  {
    jailed: freebsd !== undefined,
    nosuid: freebsd !== undefined,
    complain: d.complain,
    profiled: policy !== undefined && freebsd === undefined,
    onDecision: (ev) => {
      if (wanted(ev, d.audit)) post({ type: 'decision', ev });
    },
    onNote: (text) => post({ type: 'note', text }),
    onExec: () => {
      launched = true;
    },
  },
  d.pid,
  new Float64Array(d.stats),
);
post({ type: 'ready', syncWakeup: l.syncWakeup() });
sup.loop();
post({ type: 'end' });
