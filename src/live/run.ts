/**
 * `capctl run`: start a program under the seccomp filter and supervise it until it exits.
 * The main thread starts the launcher (seccomp-exec.ts), takes the listener fd from it with
 * pidfd_getfd, runs the supervisor in a worker thread (supervisor-worker.ts), writes the audit
 * records the worker reports, and returns the program's exit status.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CapSet } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import { parseProcStatus } from '../caps/procstatus.js';
import type { CompiledProfile } from '../policy/compile.js';
import { initialCapSets } from '../priv/bridge.js';
import { Credential } from '../runtime/credential.js';
import type { FreeBSDHost } from '../runtime/freebsd-host.js';
import type { DecisionEvent } from '../runtime/host.js';
import { capsetWords, type LaunchSpec as LaunchPlanSpec, planLaunch } from '../runtime/launch.js';
import { closeFd, pidfdGetfd, pidfdOpen } from '../sys/seccomp.js';
import { resolveCommand } from './command-path.js';
import { hostFor } from './hosts.js';
import type { LaunchSpec, WireStep } from './seccomp-exec.js';
import { STAT_NAMES, TRAPPED_PRCTL_OPTIONS, TRAPPED_SYSCALLS } from './supervisor.js';
import type { SupervisorMessage, SupervisorWorkerInput } from './supervisor-worker.js';

export interface RunOptions {
  argv: string[];
  /** --user: run as this uid (and gid), supplementary groups cleared. */
  user?: { uid: number; gid: number };
  host: string;
  jailParams: string[];
  /** The profile (from --profile, or bound to --jail/--chroot); the worker loads the same file and checks its sha256. */
  profile?: CompiledProfile;
  /** --chroot: the program runs with this directory as its root (planLaunch's chroot step). */
  chroot?: string;
  complain: boolean;
  onDecision?: (ev: DecisionEvent) => void;
  onNote?: (text: string) => void;
}

export interface RunResult {
  /** The program's exit code, or 128 + signal number. */
  code: number;
  signal: string | null;
  stats: Record<string, number>;
}

/**
 * The launch steps (planLaunch) from capctl's credential to the program's start: --chroot's
 * chroot, the bridged sets with --host freebsd, and --user's ids (keeping no capability, as a
 * login would).
 */
function launchSteps(o: RunOptions, freebsd: FreeBSDHost | undefined): WireStep[] {
  if (!freebsd && !o.user && o.chroot === undefined) return [];
  const start = Credential.fromStatus(parseProcStatus(readFileSync('/proc/self/status', 'utf8')));
  const uid = o.user?.uid ?? start.euid;
  const none = CapSet.fromWords(0, 0);
  // Without --user or a jail the program keeps capctl's sets (a chroot alone changes no set).
  let sets = o.user
    ? { bounding: start.bounding, permitted: none, effective: none, inheritable: none, ambient: none }
    : {
        bounding: start.bounding,
        permitted: start.permitted,
        effective: start.effective,
        inheritable: start.inheritable,
        ambient: start.ambient,
      };
  if (freebsd) {
    const s = initialCapSets(freebsd.prison, uid);
    const set = (w: { lo: number; hi: number }) => CapSet.fromWords(w.lo, w.hi);
    sets = {
      bounding: set(s.bounding),
      permitted: set(s.permitted),
      effective: set(s.effective),
      inheritable: set(s.inheritable),
      ambient: set(s.ambient),
    };
  }
  const ids = o.user ? { uid: o.user.uid, gid: o.user.gid, groups: [] } : {};
  const spec: LaunchPlanSpec = { ...sets, ...ids, ...(o.chroot !== undefined ? { chroot: o.chroot } : {}) };
  return planLaunch(spec, start).map((st): WireStep => {
    switch (st.call) {
      case 'capset':
        return { call: 'capset', words: [...capsetWords(st)] };
      case 'chroot':
        return { call: 'chroot', path: st.path };
      case 'prctl':
        return { call: 'prctl', option: st.option, arg2: st.arg2, arg3: st.arg3 };
      case 'setgroups':
        return { call: 'setgroups', groups: [...st.groups] };
      default:
        return { call: st.call, id: st.id };
    }
  });
}

function readLine(s: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString();
      const k = buf.indexOf('\n');
      if (k >= 0) {
        s.off('data', onData);
        resolve(buf.slice(0, k));
      }
    };
    s.on('data', onData);
    s.once('end', () => reject(new Error('the launcher exited before reporting its listener')));
  });
}

const CAP_SYS_ADMIN = 21;
const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
  SIGABRT: 6,
};

export async function runSupervised(o: RunOptions): Promise<RunResult> {
  if (o.argv.length === 0) throw inputError('usage', 'capctl run needs a command after --');
  if (o.chroot !== undefined) {
    o.chroot = resolve(o.chroot);
    let dir = false;
    try {
      dir = statSync(o.chroot).isDirectory();
    } catch {
      // reported below
    }
    if (!dir) throw inputError('bad-chroot', `--chroot ${o.chroot}: not a directory`);
  }
  // As execvp(3) would search, inside the new root with --chroot (exec's one resolver).
  const path = resolveCommand(o.argv[0]!, process.env.PATH, o.chroot ?? '/').path;
  // Validate flags (and compile the jail) here, so bad input fails before anything starts.
  const { freebsd } = hostFor(o.host, o.jailParams, o.profile);
  const spec: LaunchSpec = {
    path,
    argv: o.argv,
    filter: { trap: TRAPPED_SYSCALLS, prctlOptions: TRAPPED_PRCTL_OPTIONS },
    steps: [],
    noNewPrivs: false,
    nosuid: freebsd !== undefined,
    parentPid: process.pid,
  };
  spec.steps = launchSteps(o, freebsd);
  // Installing a filter needs CAP_SYS_ADMIN or no_new_privs; the launcher installs it before the
  // launch steps, so with capctl's own credential.
  const self = Credential.fromStatus(parseProcStatus(readFileSync('/proc/self/status', 'utf8')));
  spec.noNewPrivs = !self.hasEffective(CAP_SYS_ADMIN);
  const launcher = fileURLToPath(new URL('./seccomp-exec.js', import.meta.url));
  const child = spawn(process.execPath, [launcher, JSON.stringify(spec)], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'],
  });
  const killChild = () => {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let report: { fd: number; securebits: number };
  try {
    report = JSON.parse(await readLine(child.stdio[3] as Readable)) as typeof report;
  } catch (err) {
    killChild();
    const r = await exited;
    throw new Error(`${(err as Error).message} (status ${r.code ?? r.signal})`);
  }
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const pidfd = pidfdOpen(child.pid!);
  let fd: number;
  try {
    fd = pidfdGetfd(pidfd, report.fd);
  } finally {
    closeFd(pidfd);
  }
  const stats = new SharedArrayBuffer(8 * STAT_NAMES.length);
  const input: SupervisorWorkerInput = {
    fd,
    pid: child.pid!,
    status,
    securebits: report.securebits,
    host: o.host,
    jailParams: o.jailParams,
    complain: o.complain,
    audit: o.profile?.audit.log ?? 'denied',
    stats,
  };
  if (o.profile !== undefined) {
    input.profile = o.profile.profile.file;
    input.profileSha256 = o.profile.profile.sha256;
  }
  const worker = new Worker(new URL('./supervisor-worker.js', import.meta.url), { workerData: input });
  // The worker blocks in NOTIF_RECV for good once the program is gone: never wait for it.
  worker.unref();
  let failed: Error | undefined;
  let syncWakeup = false;
  const ready = new Promise<void>((resolve) => {
    worker.on('message', (m: SupervisorMessage) => {
      if (m.type === 'ready') {
        syncWakeup = m.syncWakeup;
        resolve();
      } else if (m.type === 'decision') o.onDecision?.(m.ev);
      else if (m.type === 'note') o.onNote?.(m.text);
    });
    worker.on('error', (err) => {
      // A supervisor that fails must not leave the program running unsupervised.
      failed = err;
      killChild();
      resolve();
    });
  });
  await ready;
  (child.stdio[4] as Writable).end('g');
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const r = await exited;
  for (const [s, h] of handlers) process.off(s, h);
  // Let messages the worker posted before the program's last call arrive.
  await new Promise((res) => setTimeout(res, 20));
  if (failed) throw new Error(`supervisor failed: ${failed.message}; the program was killed`);
  const counters = new Float64Array(stats);
  const out: Record<string, number> = {};
  STAT_NAMES.forEach((n, i) => {
    out[n] = counters[i]!;
  });
  // Whether the kernel wakes trapped callers on the supervisor's CPU (6.6+): part of the round trip's cost.
  out.syncWakeup = syncWakeup ? 1 : 0;
  const code = r.code ?? 128 + (SIGNALS[r.signal ?? ''] ?? 0);
  return { code, signal: r.signal, stats: out };
}
