/**
 * `capctl learn`: which capabilities does a command really need? Two phases.
 *
 * 1. Trace. The command runs (as root with every capability, or as `--user` with every
 *    capability ambient) while a tracefs instance of its own records, for its process tree only
 *    (set_event_pid + event-fork), every `capability:cap_capable` check and the
 *    `raw_syscalls:sys_exit` event that ends the syscall it was made in (a thread makes one
 *    syscall at a time, so sys_enter adds nothing but cost). Each check thus carries its
 *    syscall and whether that syscall then failed. The child is a shell that waits on a pipe until the pid
 *    filter and the events are in place, then execs the command, so nothing is missed.
 * 2. Verify. The tracepoint cannot tell a check the program needs from one the kernel makes
 *    speculatively or without auditing (it has no `opts` field), so the trace only proposes
 *    candidates: capabilities granted inside a syscall that then succeeded. Each candidate is
 *    removed in turn and the command re-run under `capctl exec`; a capability whose absence
 *    leaves the command's exit status unchanged is dropped. What is left is sufficient (the
 *    command runs with it) and minimal (each one removed alone makes it fail), and both are
 *    checked by running, not guessed. docs/live.md lists the classes of checks.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditWriter } from '../audit/writer.js';
import { capInfo } from '../caps/catalog.js';
import { containerIdFromCgroup } from '../caps/cgroup.js';
import { ERRNO_NAMES } from '../caps/errno.js';
import { CapctlError } from '../caps/errors.js';
import { syscallNameOf, syscallNumber } from '../caps/syscall-names.js';
import { listPids, listTids } from '../sys/proc.js';
import { ensureTracefs, type LossCounters, settleLater, TraceInstance } from '../sys/tracefs.js';
import { CapEvents } from './cap-source.js';
import { resolveCommand } from './command-path.js';
import {
  decodePages,
  type Ev,
  type EventVisitor,
  eventName,
  type Formats,
  loadFormats,
  visitPages,
} from './rawevents.js';

const SYS_EXECVE = syscallNumber('execve');
const SYS_EXECVEAT = syscallNumber('execveat');

/** How a check is read; see docs/live.md. Only 'candidate' checks are verified by running. */
export type CheckClass =
  | 'candidate' // granted, inside a syscall that succeeded: perhaps needed
  | 'not-needed' // refused, yet the syscall succeeded: the kernel only probed
  | 'failed-anyway' // granted, but the syscall failed regardless: it did not make the call work
  | 'denied' // refused and the syscall failed: a real denial (outside the bounding set)
  | 'no-syscall'; // made outside any traced syscall (or the syscall never returned: exit)

export interface CapCheck {
  tid: number;
  tgid: number;
  comm: string;
  cap: number;
  ret: number;
  capableNsNull: boolean;
  syscall: string | null;
  /** The syscall's return value; null when it never returned (exit) or there was none. */
  sysRet: number | null;
  cls: CheckClass;
}

export interface CapFinding {
  cap: number;
  name: string;
  granted: number;
  denied: number;
  syscalls: string[];
  classes: Partial<Record<CheckClass, number>>;
}

export interface VerifyRun {
  caps: string[];
  status: number | null;
  ok: boolean;
}

export interface LearnResult {
  argv: readonly string[];
  exitStatus: number | null;
  checks: number;
  findings: CapFinding[];
  candidates: string[];
  /** The verified minimal set (undefined when verification was skipped). */
  needed?: string[];
  runs: VerifyRun[];
  lost: LossCounters;
  verified: boolean;
  note?: string;
}

export interface LearnOptions {
  argv: readonly string[];
  uid?: number;
  gid?: number;
  verify?: boolean;
  audit?: AuditWriter;
  env?: NodeJS.ProcessEnv;
  /**
   * Output of the traced run: capctl's own stdio (default), none, or 'stderr': the command's
   * stdout goes to capctl's stderr, so that capctl's stdout carries only its result (--json,
   * --format).
   */
  stdio?: 'inherit' | 'ignore' | 'stderr';
  /** Per-CPU trace buffer in KiB. */
  bufferKb?: number;
}

function capName(n: number): string {
  return capInfo(n)?.name ?? `CAP_${n}`;
}

function syscallName(nr: number | null): string | null {
  return nr === null ? null : (syscallNameOf(nr) ?? `syscall#${nr}`);
}

function errnoOf(ret: number): string {
  return ret < 0 ? (ERRNO_NAMES[-ret] ?? `E${-ret}`) : '';
}

/**
 * Folds the event stream into checks: the checks a thread makes since its previous sys_exit
 * belong to the syscall that exits next (sys_exit carries its number and result). An
 * EventVisitor, so that learn's reader feeds it straight from the pages (visitPages) with no
 * object per event; `event` takes decoded objects (the kprobe source's pairs, tests).
 */
export class CheckCollector implements EventVisitor {
  readonly checks: CapCheck[] = [];
  /**
   * Per thread, the checks made since its last sys_exit, three numbers each (cap, ret, 1 when
   * capable_ns was unset). Numbers in a reused array, not an object per check: a
   * capability-heavy command makes hundreds of thousands of checks a second.
   */
  private readonly pending = new Map<number, number[]>();
  /** With `keep`: the task name each pending check was made under, in the same order. */
  private readonly pendingComms = new Map<number, string[]>();
  private started: boolean;
  private execsSeen = 0;
  private readonly rootPid: number;
  private readonly skipExecs: number;
  private readonly comms = new Map<number, string>();

  /** Checks counted so far (each also in `checks` when kept). */
  count = 0;
  private readonly keep: boolean;
  private readonly by = new Map<number, CapFinding>();
  /** Per capability, the syscall numbers already named in its finding. */
  private readonly syscallsSeen = new Map<number, Set<number>>();

  /**
   * Checks count from the `skipExecs`-th successful execve of `rootPid` on, that execve's own
   * checks included (the launcher's earlier ones are not the command's). Each check is folded
   * into its capability's finding as it closes; `keep` also keeps the checks themselves (for
   * the audit log): holding hundreds of thousands of them made garbage collection the tracer's
   * main cost, so only --audit does.
   */
  constructor(rootPid: number, skipExecs: number, keep = false) {
    this.rootPid = rootPid;
    this.skipExecs = skipExecs;
    this.started = skipExecs === 0;
    this.keep = keep;
  }

  /** One decoded event, in time order. */
  event(e: Ev): void {
    if (e.kind === 'exit') this.exit(e.ts, e.tid, e.nr, e.ret);
    else if (e.kind === 'cap') this.cap(e.ts, e.tid, e.cred, e.cap, e.ret, e.capableNsNull);
    else if (e.kind === 'fork') this.fork(e.ts, e.parent, e.child, e.comm);
    else if (e.kind === 'exec') this.exec(e.ts, e.pid, e.oldPid, e.filename);
  }

  cap(_ts: number, tid: number, _cred: string, cap: number, ret: number, capableNsNull: boolean): void {
    let list = this.pending.get(tid);
    if (list === undefined) {
      list = [];
      this.pending.set(tid, list);
    }
    list.push(cap, ret, capableNsNull ? 1 : 0);
    if (this.keep) {
      const comm = this.comms.get(tid) ?? '';
      const names = this.pendingComms.get(tid);
      if (names) names.push(comm);
      else this.pendingComms.set(tid, [comm]);
    }
  }

  /**
   * Only sys_exit is traced, not sys_enter: a thread makes one syscall at a time, so the checks
   * since its previous exit are those of the syscall that exits now, and half the events means
   * half the tracing cost on a syscall-heavy command.
   */
  exit(_ts: number, tid: number, nr: number, ret: number): void {
    const list = this.pending.get(tid);
    if (!this.started) {
      if (tid === this.rootPid && (nr === SYS_EXECVE || nr === SYS_EXECVEAT) && ret === 0) {
        this.execsSeen++;
        if (this.execsSeen >= this.skipExecs) this.started = true;
      }
      if (!this.started) {
        if (list) this.clearPending(tid, list);
        return;
      }
    }
    if (list === undefined || list.length === 0) return;
    const names = this.pendingComms.get(tid);
    for (let i = 0; i < list.length; i += 3) {
      const ok = ret >= 0;
      const granted = list[i + 1] === 0;
      const cls: CheckClass = ok ? (granted ? 'candidate' : 'not-needed') : granted ? 'failed-anyway' : 'denied';
      this.record(tid, list[i]!, list[i + 1]!, list[i + 2] === 1, names?.[i / 3] ?? '', nr, ret, cls);
    }
    this.clearPending(tid, list);
  }

  fork(_ts: number, _parent: number, child: number, comm: string): void {
    this.comms.set(child, comm);
  }

  exec(_ts: number, pid: number, _oldPid: number, filename: string): void {
    this.comms.set(pid, filename.slice(filename.lastIndexOf('/') + 1).slice(0, 15));
  }

  /** The end of the trace: checks whose syscall never returned (exit_group) stay 'no-syscall'. */
  finish(): void {
    if (this.started) {
      for (const [tid, list] of this.pending) {
        const names = this.pendingComms.get(tid);
        for (let i = 0; i < list.length; i += 3) {
          this.record(tid, list[i]!, list[i + 1]!, list[i + 2] === 1, names?.[i / 3] ?? '', null, null, 'no-syscall');
        }
      }
    }
    this.pending.clear();
    this.pendingComms.clear();
  }

  private clearPending(tid: number, list: number[]): void {
    list.length = 0;
    const names = this.pendingComms.get(tid);
    if (names) names.length = 0;
  }

  private record(
    tid: number,
    cap: number,
    ret: number,
    capableNsNull: boolean,
    comm: string,
    nr: number | null,
    sysRet: number | null,
    cls: CheckClass,
  ): void {
    this.count++;
    if (this.keep) {
      // Raw events carry the thread id only; the records name it as the process too.
      this.checks.push({ tid, tgid: tid, comm, cap, ret, capableNsNull, syscall: syscallName(nr), sysRet, cls });
    }
    let f = this.by.get(cap);
    let seen = this.syscallsSeen.get(cap);
    if (f === undefined || seen === undefined) {
      f = { cap, name: capName(cap), granted: 0, denied: 0, syscalls: [], classes: {} };
      seen = new Set();
      this.by.set(cap, f);
      this.syscallsSeen.set(cap, seen);
    }
    if (ret === 0) f.granted++;
    else f.denied++;
    if (nr !== null && !seen.has(nr)) {
      seen.add(nr);
      f.syscalls.push(syscallName(nr)!);
    }
    f.classes[cls] = (f.classes[cls] ?? 0) + 1;
  }

  findings(): CapFinding[] {
    return [...this.by.values()].sort((a, b) => a.cap - b.cap);
  }
}

/** One audit record per check: verdict as the kernel answered, stage = the check's class. */
function auditCheck(w: AuditWriter, c: CapCheck): void {
  w.write({
    verdict: c.ret === 0 ? 'allowed' : 'denied',
    host: 'linux',
    // A check outside any traced syscall (or in one that never returned) names none.
    ...(c.syscall !== null ? { syscall: c.syscall } : {}),
    cap: capName(c.cap),
    capNumber: c.cap,
    errno: c.sysRet !== null && c.sysRet < 0 ? errnoOf(c.sysRet) : '',
    stage: `learn:${c.cls}`,
    reason:
      c.ret === 0
        ? `the kernel granted ${capName(c.cap)}${c.syscall ? ` in ${c.syscall}` : ''}`
        : `the kernel refused ${capName(c.cap)}${c.syscall ? ` in ${c.syscall}` : ''}`,
    tid: c.tid,
    tgid: c.tgid >= 0 ? c.tgid : c.tid,
    comm: c.comm,
  });
}

/**
 * The capability-check source (tracepoint, or kprobes on cap_capable) and learn's own tracefs
 * instance: the probes are created before the instance and removed after it, also when the
 * instance cannot be made.
 */
function openTracing(root: string): { capEvents: CapEvents; inst: TraceInstance } {
  const capEvents = new CapEvents(root);
  try {
    return { capEvents, inst: TraceInstance.create('capctl-learn') };
  } catch (err) {
    capEvents.remove();
    throw err;
  }
}

/**
 * Stop recording now and remove the instance, then the probes, in the background: the kernel
 * takes 30-60 ms to tear an instance down, which the caller spends on its result (the CLI
 * waits in removalsSettled() after printing).
 */
function closeTracing(inst: TraceInstance, capEvents: CapEvents): void {
  settleLater(inst.removeAsync().then(() => capEvents.remove()));
}

/** The events learn traces in `inst`: the checks (tracepoint or kprobes), sys_exit, fork, exec. */
function enableEvents(inst: TraceInstance, capEvents: CapEvents): Formats {
  const kinds = ['exit', 'fork', 'exec'] as const;
  for (const k of kinds) inst.enableEvent(...eventName(k));
  capEvents.enable(inst);
  return { ...loadFormats(inst, kinds), ...capEvents.formats(inst) };
}

function feedPages(
  pages: { cpu: number; page: Buffer }[],
  formats: Formats,
  capEvents: CapEvents,
  collector: CheckCollector,
): void {
  // The tracepoint's events go to the collector as they are decoded; only the kprobe source
  // needs objects, to pair each return with its entry.
  if (capEvents.kind === 'tracepoint') {
    visitPages(pages, formats, collector, { cred: false });
    return;
  }
  for (const e of decodePages(pages, formats, { cred: false })) {
    const ev = capEvents.feed(e);
    if (ev) collector.event(ev);
  }
}

/** The buffers' lost events, with the probes the kernel missed (kprobe source) as dropped. */
function lossOf(inst: TraceInstance, capEvents: CapEvents): LossCounters {
  const lost = inst.loss();
  lost.dropped += capEvents.missed();
  return lost;
}

/** Phase 1: run the command with the tracer on; resolves with the collector and exit status. */
export async function traceRun(opts: LearnOptions): Promise<{
  collector: CheckCollector;
  status: number | null;
  stderr: string;
  lost: LossCounters;
}> {
  const root = ensureTracefs();
  const env = opts.env ?? process.env;
  const cmd = resolveCommand(opts.argv[0]!, env.PATH);
  const onSignal = (sig: NodeJS.Signals) => {
    child?.kill(sig);
  };
  let child: ReturnType<typeof spawn> | undefined;
  let tracing: { capEvents: CapEvents; inst: TraceInstance } | undefined;
  try {
    // The launcher: a shell that waits for "go" on fd 3, then execs the command (or capctl exec
    // for --user, which execs the command in turn).
    const launch: string[] =
      opts.uid !== undefined
        ? [
            process.execPath,
            await capctlBin(),
            'exec',
            '--profile',
            await allCapsProfile(),
            '--user',
            String(opts.uid),
            ...(opts.gid !== undefined ? ['--group', String(opts.gid)] : []),
            '--',
            cmd.path,
            ...opts.argv.slice(1),
          ]
        : [cmd.path, ...opts.argv.slice(1)];
    child = spawn('/bin/sh', ['-c', 'read _ <&3 && exec "$@"', 'capctl-learn', ...launch], {
      stdio: [
        opts.stdio === 'ignore' ? 'ignore' : 'inherit',
        opts.stdio === 'stderr' ? 2 : (opts.stdio ?? 'inherit'),
        'pipe',
        'pipe',
      ],
      env,
    });
    // stderr is kept (and passed on): verification compares it, since a command may report a
    // refusal there and still exit 0 (nice(1) does).
    const errChunks: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => {
      errChunks.push(b);
      if (opts.stdio !== 'ignore') process.stderr.write(b);
    });
    const errDone = new Promise((r) => child!.stderr!.on('end', r));
    const pid = child.pid;
    if (pid === undefined) throw new CapctlError('spawn-failed', 'cannot start /bin/sh', 'io');
    const exited = new Promise<number | null>((resolve) =>
      child!.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : null))),
    );
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // The instance is made while the launcher starts on the other CPU (it waits for "go").
    tracing = openTracing(root);
    const { capEvents, inst } = tracing;
    inst.setTracing(false);
    inst.option('event-fork', true);
    inst.option('overwrite', false);
    inst.setBufferKb(opts.bufferKb ?? 16384);
    // Skip the launcher's own execs: sh -> CMD is one, sh -> node -> CMD two.
    const collector = new CheckCollector(pid, opts.uid !== undefined ? 2 : 1, opts.audit !== undefined);
    inst.setEventPids([pid]);
    const formats = enableEvents(inst, capEvents);
    // Binary pages: the kernel's text formatting would dominate the cost of a syscall-heavy
    // command (two events per syscall).
    const reader = inst.openRaw();
    const reading = reader.run((pages) => feedPages(pages, formats, capEvents, collector), { paced: true });
    inst.setTracing(true);
    const go = child.stdio[3] as NodeJS.WritableStream;
    go.end('go\n');
    const status = await exited;
    await errDone;
    reader.stop();
    await reading;
    collector.finish();
    const lost = lossOf(inst, capEvents);
    if (opts.audit) for (const c of collector.checks) auditCheck(opts.audit, c);
    return { collector, status, stderr: Buffer.concat(errChunks).toString('utf8'), lost };
  } catch (err) {
    // The launcher never got "go": it must not run the command untraced.
    child?.kill('SIGKILL');
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (tracing) closeTracing(tracing.inst, tracing.capEvents);
  }
}

/** Every thread of `roots` and of their descendants, from /proc (for set_event_pid). */
export function treeTids(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of listPids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(pid);
      children.set(ppid, list);
    } catch {
      // gone while listing
    }
  }
  const out: number[] = [];
  const todo = [...roots];
  const seen = new Set<number>();
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(...(listTids(pid).length > 0 ? listTids(pid) : [pid]));
    todo.push(...(children.get(pid) ?? []));
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** The processes of a container (id or id prefix), from their cgroup paths. */
export function containerPids(id: string): number[] {
  const out: number[] = [];
  for (const pid of listPids()) {
    try {
      if (containerIdFromCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.id.startsWith(id)) out.push(pid);
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Observe already running processes (and what they fork) for `durationMs`: the same trace as a
 * launched command's, but nothing can be re-run, so the result is the candidates, unverified.
 */
export async function observe(opts: {
  pids: readonly number[];
  durationMs: number;
  audit?: AuditWriter;
  bufferKb?: number;
}): Promise<LearnResult> {
  const root = ensureTracefs();
  const tids = treeTids(opts.pids);
  if (tids.length === 0) throw new CapctlError('no-process', 'no such process to learn from', 'input');
  // The handlers go in before the instance and any kprobes exist: until then a signal's
  // default action would end capctl with them left in tracefs. Node runs a handler from its
  // event loop, so not before the wait below has begun.
  let stop: () => void = () => {};
  const onSignal = () => stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let tracing: { capEvents: CapEvents; inst: TraceInstance } | undefined;
  try {
    tracing = openTracing(root);
    const { capEvents, inst } = tracing;
    inst.setTracing(false);
    inst.option('event-fork', true);
    inst.option('overwrite', false);
    inst.setBufferKb(opts.bufferKb ?? 16384);
    inst.setEventPids(tids);
    const formats = enableEvents(inst, capEvents);
    const collector = new CheckCollector(tids[0]!, 0, opts.audit !== undefined);
    const reader = inst.openRaw();
    const reading = reader.run((pages) => feedPages(pages, formats, capEvents, collector), { paced: true });
    inst.setTracing(true);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, opts.durationMs);
      stop = () => {
        clearTimeout(t);
        resolve();
      };
    });
    reader.stop();
    await reading;
    collector.finish();
    const lost = lossOf(inst, capEvents);
    if (opts.audit) for (const c of collector.checks) auditCheck(opts.audit, c);
    const findings = collector.findings();
    return {
      argv: [],
      exitStatus: null,
      checks: collector.count,
      findings,
      candidates: findings.filter((f) => (f.classes.candidate ?? 0) > 0).map((f) => f.name),
      runs: [],
      lost,
      verified: false,
      note: `observed ${tids.length} thread(s) for ${opts.durationMs / 1000} s: candidates only (a running process cannot be re-run to verify them)`,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (tracing) closeTracing(tracing.inst, tracing.capEvents);
  }
}

let allCaps: string | undefined;
/**
 * A profile with every capability this process can pass on (its bounding set: a capability
 * outside it cannot be made inheritable, hence not ambient), for the traced run of a --user.
 */
async function allCapsProfile(): Promise<string> {
  if (allCaps) return allCaps;
  // exec's launch model is loaded only for --user: a plain learn starts its run without it.
  const { currentCredential } = await import('./exec.js');
  const caps = `[${currentCredential()
    .bounding.toArray()
    .map((c) => capName(c).replace(/^CAP_/, ''))
    .join(', ')}]`;
  const dir = mkdtempSync(join(tmpdir(), 'capctl-learn-'));
  allCaps = join(dir, 'all.yaml');
  writeFileSync(
    allCaps,
    `name: learn-all\ndescription: every capability, while learning\ncapabilities:\n  bounding: ${caps}\n  permitted: ${caps}\n  effective: ${caps}\n  inheritable: []\n  ambient: []\n`,
    { mode: 0o644 },
  );
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return allCaps;
}

/**
 * capctl's own launcher, for the runs under `capctl exec` (--user, verification). The package
 * paths module (env-paths and friends) is loaded only then: a plain learn starts its traced
 * run without it.
 */
async function capctlBin(): Promise<string> {
  return join((await import('../policy/paths.js')).packageRoot(), 'bin', 'capctl.js');
}

/** A profile granting exactly `caps` (bounding = permitted = effective), as YAML. */
export function profileYaml(name: string, caps: readonly string[], comment: readonly string[] = []): string {
  const list = `[${caps.map((c) => c.replace(/^CAP_/, '')).join(', ')}]`;
  return [
    ...comment.map((c) => `# ${c}`),
    `name: ${name}`,
    `description: learnt by capctl learn (${caps.length ? caps.join(', ') : 'no capabilities'})`,
    'capabilities:',
    `  bounding: ${list}`,
    `  permitted: ${list}`,
    `  effective: ${list}`,
    '  inheritable: []',
    '  ambient: []',
    '',
  ].join('\n');
}

/** The outcome verification compares: exit status and what the command said on stderr. */
export interface Outcome {
  status: number | null;
  stderr: string;
}

/** Run the command under `capctl exec` with exactly `caps`. */
export async function runWith(caps: readonly string[], opts: LearnOptions, dir: string): Promise<Outcome> {
  const file = join(dir, `try-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(file, profileYaml('learn-try', caps), { mode: 0o644 });
  const args = [
    await capctlBin(),
    'exec',
    '--profile',
    file,
    ...(opts.uid !== undefined ? ['--user', String(opts.uid)] : []),
    ...(opts.gid !== undefined ? ['--group', String(opts.gid)] : []),
    '--',
    ...opts.argv,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: opts.env ?? process.env });
  const err: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({
        status: code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : null),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    ),
  );
}

/** Phase 2: drop every candidate whose absence does not change the outcome; then check minimality. */
export async function verify(
  candidates: readonly string[],
  want: Outcome,
  opts: LearnOptions,
): Promise<{ needed: string[]; runs: VerifyRun[]; sufficient: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-learn-'));
  const runs: VerifyRun[] = [];
  const attempt = async (caps: string[]) => {
    const got = await runWith(caps, opts, dir);
    const r = { caps, status: got.status, ok: got.status === want.status && got.stderr === want.stderr };
    runs.push(r);
    return r.ok;
  };
  try {
    let set = [...candidates];
    const sufficient = await attempt(set);
    if (!sufficient) return { needed: set, runs, sufficient };
    for (const c of candidates) {
      const without = set.filter((x) => x !== c);
      if (await attempt(without)) set = without;
    }
    // Minimal: each one left, removed alone from the final set, must make the command fail.
    for (const c of set) {
      if (await attempt(set.filter((x) => x !== c))) {
        return { needed: set, runs, sufficient: false };
      }
    }
    return { needed: set, runs, sufficient: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function learn(opts: LearnOptions): Promise<LearnResult> {
  if (opts.argv.length === 0) throw new CapctlError('usage', 'no command given (capctl learn [options] -- CMD ARGS)');
  const { collector, status, stderr, lost } = await traceRun(opts);
  const findings = collector.findings();
  const candidates = findings.filter((f) => (f.classes.candidate ?? 0) > 0).map((f) => f.name);
  const result: LearnResult = {
    argv: opts.argv,
    exitStatus: status,
    checks: collector.count,
    findings,
    candidates,
    runs: [],
    lost,
    verified: false,
  };
  if (lost.overrun + lost.dropped > 0) {
    result.note = `${lost.overrun + lost.dropped} trace events were lost (per-CPU overrun/dropped counters): the candidates may be incomplete`;
  }
  if (opts.verify === false) return result;
  if (status !== 0) {
    result.note = `the command exited with status ${status} while traced; nothing verified`;
    return result;
  }
  const v = await verify(candidates, { status, stderr }, opts);
  result.runs = v.runs;
  result.needed = v.needed;
  result.verified = v.sufficient;
  if (!v.sufficient) {
    result.note =
      'the command did not behave the same under the learnt set alone (or a capability it keeps is not needed on its own): the result is not verified';
  }
  return result;
}
