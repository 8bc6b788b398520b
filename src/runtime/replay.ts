/**
 * strace replay: run a recorded trace through the runtime and compare, call by call, what the
 * model predicts with what the kernel did.
 *
 * The initial credential is that of the process that started the traced program (its
 * /proc/PID/status text); the trace's first line is usually strace's own execve of the
 * program, which is replayed like any other. Every modelled call is predicted from the model's
 * state *before* the recorded result is looked at, then compared. The model keeps its own
 * prediction afterwards (a diverged capset leaves the model in its predicted state, so one
 * divergence may cause others: read the first one first) — except for an execve the kernel
 * refused while the model let it through, where the task keeps its old credential because the
 * program visibly went on running.
 *
 * Outcomes per call:
 *  - matched: same return value and errno (for calls returning a new fd, success versus the
 *    same errno), and for capget and the prctl reads the same data. Calls that only feed the
 *    model (clone, clone3, fork, vfork, getpid, gettid, getxattr of security.capability) count
 *    as matched once applied.
 *  - diverged: anything else the model claims to know.
 *  - not modeled: the model cannot judge the call from the trace alone (a pid outside the
 *    trace, an option the runtime does not model, a failure for a reason outside the
 *    capability model such as ENOENT, a task whose credential became unknown).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { decodeFileCaps, type FileCaps } from '../caps/xattr.js';
import { Credential, type ProcStatusFields } from './credential.js';
import {
  EACCES,
  EAFNOSUPPORT,
  EFAULT,
  EINVAL,
  ENOSPC,
  EPERM,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
  ESRCH,
  errnoByName,
  errnoName,
} from './errno.js';
import type { DecisionEvent, DecisionListener, PrivilegeHost } from './host.js';
import { isModelledPrctl } from './prctl.js';
import { BAD_ADDRESS, type BadAddress, type CapUserData, type CapUserHeader, type SyscallResult } from './result.js';
import { Runtime } from './runtime.js';
import { CAP_VERSION_1, CLONE_NEWPID, CLONE_NEWUSER, CLONE_THREAD } from './strace/constants.js';
import { type MalformedRecord, StraceReader, type SyscallRecord, type TraceRecord } from './strace/reader.js';
import {
  evalInt,
  evalULong,
  isAmbiguousRawMask,
  parseCapMask,
  parseCString,
  parseNumber,
  parsePath,
  parseStruct,
  splitArgs,
} from './strace/values.js';

export interface ReplayOptions {
  /** /proc/PID/status text of the process that started the traced program. */
  status: string;
  /** Its securebits (not in /proc/PID/status). Default 0. */
  securebits?: number;
  /** File capabilities by path, used when the trace has no getxattr for an executed file. */
  fileCaps?: ReadonlyMap<string, FileCaps>;
  host?: PrivilegeHost;
  onDecision?: DecisionListener;
  /**
   * Like onDecision, with where in the trace the deciding call was (file, line, and the pid the
   * trace shows) — for audit records that point back at the trace.
   */
  onDecisionAt?: (ev: DecisionEvent, where: TraceLocation) => void;
  /** The trace names its first process's pid (lines without a pid were that process's). */
  onFirstPid?: (pid: number) => void;
  /** Name used in divergence reports. */
  file?: string;
  /** Called for each divergence as it is found. */
  onDivergence?: (d: Divergence) => void;
  /** Called for each malformed line (already counted); throw from it to stop. */
  onMalformed?: (m: MalformedRecord) => void;
  /** Malformed lines are fatal (the replay throws ReplayMalformedError). */
  strict?: boolean;
  /** Called after each chunk with bytes and lines read so far (throttle in the callback). */
  onProgress?: (bytes: number, lines: number) => void;
  /** Adjust the credential built from `status` (e.g. the FreeBSD host's reportable caps). */
  adjustInitialCredential?: (c: Credential) => void;
}

export interface Divergence {
  file: string;
  line: number;
  pid: number;
  syscall: string;
  /** The call as recorded (arguments abbreviated). */
  call: string;
  recorded: string;
  predicted: string;
}

export interface ReplaySummary {
  file: string;
  calls: number;
  matched: number;
  diverged: number;
  notModeled: number;
  malformed: number;
  lines: number;
  bytes: number;
  /** Why calls were not modelled, with counts (e.g. "prctl option not modelled": 3). */
  notModeledReasons: Record<string, number>;
  /** Modelled calls by syscall name. */
  bySyscall: Record<string, { matched: number; diverged: number; notModeled: number }>;
}

export class ReplayMalformedError extends Error {
  readonly line: number;
  constructor(file: string, m: MalformedRecord) {
    super(`${file}:${m.line}: malformed line (${m.reason}): ${abbreviate(m.text, 160)}`);
    this.name = 'ReplayMalformedError';
    this.line = m.line;
  }
}

type Outcome = { kind: 'match' } | { kind: 'diverge'; predicted: string } | { kind: 'skip'; reason: string } | null;

const MATCH: Outcome = Object.freeze({ kind: 'match' });
const UNCOUNTED: Outcome = null;

function skip(reason: string): Outcome {
  return { kind: 'skip', reason };
}

/** Runtime tids for trace processes whose real pid is not known yet (above any pid_max). */
const PLACEHOLDER_TID = 0x3ff00000;
/** A tid no task has: stands for a pid that left the trace. */
const GONE_TID = 0x3ffffff0;

/** Reaped pids remembered for ESRCH predictions (older ones become "outside the trace"). */
const MAX_GONE = 1 << 16;

/** Only the last few getxattr answers are kept: an exec follows its getxattr closely. */
const MAX_FILECAPS = 256;

type Handler = (r: Replayer, tid: number, rec: SyscallRecord, args: string[]) => Outcome;

/**
 * Replays one trace. Feed text with `feed`, finish with `end`; or use replayFile/replayStream.
 */
export interface TraceLocation {
  file: string;
  line: number;
  /** The pid (thread id) as the trace shows it. */
  pid: number;
  /**
   * The deciding thread's process id (its leader's pid) as the trace shows it. Filled in for
   * onDecisionAt only: the runtime numbers the first process and its threads with placeholders
   * until the trace names them, so its own tgid is not the trace's.
   */
  tgid: number;
}

export class Replayer {
  readonly rt: Runtime;
  private readonly reader: StraceReader;
  private readonly opts: ReplayOptions;
  private readonly file: string;
  /** trace pid -> runtime tid */
  private readonly tids = new Map<number, number>();
  /** trace pids that existed and were reaped: capget on them is ESRCH. */
  private readonly gone = new Set<number>();
  /** runtime tids whose credential the model no longer knows (e.g. after a new user ns). */
  private readonly unknownCred = new Set<number>();
  private readonly xattrCaps = new Map<string, FileCaps | null>();
  private readonly stats: ReplaySummary;
  bytes = 0;
  /** The syscall record being replayed, for onDecisionAt. */
  private readonly at: TraceLocation;

  constructor(opts: ReplayOptions) {
    this.opts = opts;
    this.file = opts.file ?? '<trace>';
    this.at = { file: this.file, line: 0, pid: 0, tgid: 0 };
    const at = opts.onDecisionAt;
    const onDecision: DecisionListener | undefined = at
      ? (ev) => {
          opts.onDecision?.(ev);
          // 0: the first process, whose pid the trace has not shown yet (onFirstPid tells it
          // later). No trace pid: the leader is gone through exec by a non-leader thread
          // (de_thread: the thread took over the leader's pid), so the line's pid is the process's.
          this.at.tgid = this.traceTgidOf(ev.tid) ?? this.at.pid;
          at(ev, this.at);
        }
      : opts.onDecision;
    this.rt = new Runtime({ host: opts.host, onDecision, firstId: PLACEHOLDER_TID });
    const cred = Credential.fromProcStatus(statusFields(opts.status), opts.securebits ?? 0);
    opts.adjustInitialCredential?.(cred);
    this.rt.spawn(cred, { tid: PLACEHOLDER_TID });
    this.tids.set(0, PLACEHOLDER_TID);
    this.stats = {
      file: this.file,
      calls: 0,
      matched: 0,
      diverged: 0,
      notModeled: 0,
      malformed: 0,
      lines: 0,
      bytes: 0,
      notModeledReasons: {},
      bySyscall: {},
    };
    this.reader = new StraceReader({ names: HANDLED, onRecord: (rec) => this.onRecord(rec) });
  }

  feed(chunk: string): void {
    this.bytes += chunk.length;
    this.reader.feed(chunk);
  }

  end(): ReplaySummary {
    this.reader.end();
    this.stats.lines = this.reader.lines;
    this.stats.bytes = this.bytes;
    return this.stats;
  }

  /** Lines read so far (for progress reports). */
  get lines(): number {
    return this.reader.lines;
  }

  // ------------------------------------------------------------------ records

  private onRecord(rec: TraceRecord): void {
    switch (rec.kind) {
      case 'syscall': {
        this.onSyscall(rec);
        return;
      }
      case 'firstpid': {
        this.opts.onFirstPid?.(rec.pid);
        const t = this.tids.get(0);
        if (t !== undefined) {
          this.tids.delete(0);
          if (!this.tids.has(rec.pid)) this.tids.set(rec.pid, t);
        }
        return;
      }
      case 'exit': {
        const tid = this.tids.get(rec.pid);
        if (tid === undefined) return;
        const th = this.rt.findThread(tid);
        if (th && !th.exited) this.rt.exit(tid);
        if (!th || th.tid !== th.tgid) {
          this.tids.delete(rec.pid);
          this.forgetTid(tid);
        }
        return;
      }
      case 'alias': {
        // The child the trace shows as `pid` is the one its parent's clone returned as `as`.
        const t = this.tids.get(rec.as);
        if (t !== undefined) {
          this.tids.delete(rec.as);
          this.tids.set(rec.pid, t);
          this.otherPidNs.add(t);
        }
        return;
      }
      case 'superseded': {
        // Thread oldPid exec'd; the kernel gave it the leader's pid (de_thread()).
        const tid = this.tids.get(rec.oldPid);
        if (tid === undefined) return;
        this.tids.delete(rec.oldPid);
        this.tids.set(rec.pid, tid);
        return;
      }
      case 'malformed':
        this.stats.malformed++;
        if (this.opts.strict) throw new ReplayMalformedError(this.file, rec);
        this.opts.onMalformed?.(rec);
        return;
    }
  }

  private onSyscall(rec: SyscallRecord): void {
    const handler = HANDLERS.get(rec.name);
    if (handler === undefined) return;
    this.at.line = rec.line;
    this.at.pid = rec.pid;
    const tid = this.tids.get(rec.pid);
    let out: Outcome;
    if (tid === undefined) {
      out = FEED_ONLY.has(rec.name) ? UNCOUNTED : skip('task not created in the trace');
    } else if (this.unknownCred.has(tid) && !CRED_FREE.has(rec.name)) {
      out = skip('credential unknown (new user namespace)');
      if (CLONE_FAMILY.has(rec.name) && rec.ret !== undefined && rec.ret > 0) this.inheritUnknown(tid, rec);
    } else {
      out = handler(this, tid, rec, FAST_SPLIT.has(rec.name) ? splitCapArgs(rec.args) : splitArgs(rec.args));
    }
    if (out === null) return;
    const s = this.stats;
    s.calls++;
    let by = s.bySyscall[rec.name];
    if (by === undefined) s.bySyscall[rec.name] = by = { matched: 0, diverged: 0, notModeled: 0 };
    if (out.kind === 'match') {
      s.matched++;
      by.matched++;
    } else if (out.kind === 'skip') {
      s.notModeled++;
      by.notModeled++;
      s.notModeledReasons[out.reason] = (s.notModeledReasons[out.reason] ?? 0) + 1;
    } else {
      s.diverged++;
      by.diverged++;
      this.opts.onDivergence?.({
        file: this.file,
        line: rec.line,
        pid: rec.pid,
        syscall: rec.name,
        call: `${rec.name}(${abbreviate(rec.args, 200)})`,
        recorded: recordedText(rec),
        predicted: out.predicted,
      });
    }
  }

  // ------------------------------------------------------------------ helpers for handlers

  /**
   * A header pid from the first process while its own pid is still unknown (strace on stderr
   * prints no pid for a lone process): libcap and libcap-ng pass getpid() there, so an unknown
   * pid names the caller itself. Later lines keep arriving as pid 0 until the reader learns it.
   */
  claimFirstPid(tid: number, pid: number): void {
    if (pid > 0 && this.tids.get(0) === tid && !this.tids.has(pid) && !this.gone.has(pid)) this.tids.set(pid, tid);
  }

  /** Trace pid -> runtime tid for a pid argument; GONE_TID for a reaped pid; undefined if unknown. */
  tidOf(pid: number): number | undefined {
    const t = this.tids.get(pid);
    if (t !== undefined) return t;
    if (this.gone.has(pid)) return GONE_TID;
    return undefined;
  }

  /** The trace pid of a runtime tid (a short scan: the map holds live tasks only). */
  tracePidOf(tid: number): number | undefined {
    for (const [pid, t] of this.tids) if (t === tid) return pid;
    return undefined;
  }

  traceTgidOf(tid: number): number | undefined {
    const th = this.rt.findThread(tid);
    return th ? this.tracePidOf(th.tgid) : undefined;
  }

  created(parentTid: number, childPid: number, flags: number): void {
    // A stale entry for a recycled pid (its process was never seen reaped).
    const stale = this.tids.get(childPid);
    if (stale !== undefined) this.tids.delete(childPid);
    this.gone.delete(childPid);
    let childTid = childPid;
    if (this.rt.findThread(childTid) !== undefined || this.rt.process(childTid) !== undefined) {
      this.rt.reap(this.rt.findThread(childTid)?.tgid ?? childTid);
    }
    const child = this.rt.clone(parentTid, flags, childTid);
    childTid = child.tid;
    // A child in another pid namespace sees other pids than the trace shows.
    const parent = this.rt.findThread(parentTid);
    if (flags & CLONE_NEWPID || this.otherPidNs.has(parentTid) || (parent && this.childPidNs.has(parent.tgid)))
      this.otherPidNs.add(childTid);
    if (!(flags & CLONE_THREAD) && parent && this.childPidNs.has(parent.tgid)) this.childPidNs.add(child.tgid);
    if (!(flags & CLONE_THREAD) && this.isChrooted(parentTid)) this.chrooted.add(child.tgid);
    this.tids.set(childPid, childTid);
    if (flags & CLONE_NEWUSER) this.unknownCred.add(childTid);
  }

  private inheritUnknown(parentTid: number, rec: SyscallRecord): void {
    const flags = cloneFlags(rec);
    this.created(parentTid, rec.ret!, flags);
    this.unknownCred.add(this.tids.get(rec.ret!)!);
  }

  reaped(pid: number): void {
    const tid = this.tids.get(pid);
    if (tid === undefined) return;
    let p = this.rt.process(tid);
    if (p === undefined) return;
    if (!p.zombie) {
      // wait returned it, so it has exited: the exit line is missing (strace -qq suppresses
      // them) or not yet printed (stderr interleaving).
      const leader = [...p.threads][0];
      if (leader === undefined) return;
      this.rt.exitGroup(leader.tid);
      p = this.rt.process(tid);
      if (p === undefined || !p.zombie) return;
    }
    for (const th of p.threads) this.forgetTid(th.tid);
    this.rt.reap(tid);
    this.sockets.delete(tid);
    this.chrooted.delete(tid);
    this.childPidNs.delete(tid);
    for (const [k, v] of this.tids) if (v === tid) this.tids.delete(k);
    // Bounded: a trace of millions of short processes keeps the most recent ones.
    if (this.gone.size >= MAX_GONE) {
      const oldest = this.gone.values().next().value;
      if (oldest !== undefined) this.gone.delete(oldest);
    }
    this.gone.add(pid);
  }

  /** Per-task flags die with the task (memory follows the live tasks, not the trace). */
  forgetTid(tid: number): void {
    this.unknownCred.delete(tid);
    this.otherPidNs.delete(tid);
  }

  /** After exec by a non-leader thread: the trace pid now names the thread's new runtime tid. */
  retarget(pid: number, oldTid: number, newTid: number): void {
    for (const [k, v] of this.tids) if (v === oldTid || v === newTid) this.tids.delete(k);
    this.tids.set(pid, newTid);
  }

  /** Forget trace pids whose runtime thread is gone (the other threads at exec). */
  dropDeadThreads(): void {
    for (const [k, v] of this.tids) if (this.rt.findThread(v) === undefined) this.tids.delete(k);
  }

  /** socket() results per process (runtime tgid -> fd -> family/type), for bind(). */
  private readonly sockets = new Map<number, Map<number, { family: number; type: number }>>();
  private readonly chrooted = new Set<number>();

  rememberSocket(tid: number, fd: number, family: number, type: number): void {
    const tgid = this.rt.findThread(tid)?.tgid ?? tid;
    let m = this.sockets.get(tgid);
    if (m === undefined) this.sockets.set(tgid, (m = new Map()));
    m.set(fd, { family, type });
  }

  socketOf(tid: number, fd: number): { family: number; type: number } | undefined {
    const tgid = this.rt.findThread(tid)?.tgid ?? tid;
    return this.sockets.get(tgid)?.get(fd);
  }

  markChrooted(tid: number): void {
    this.chrooted.add(this.rt.findThread(tid)?.tgid ?? tid);
  }

  isChrooted(tid: number): boolean {
    return this.chrooted.has(this.rt.findThread(tid)?.tgid ?? tid);
  }

  /** Tasks living in a pid namespace other than strace's: their pid arguments and getpid() differ from the trace's pids. */
  readonly otherPidNs = new Set<number>();
  /** Processes that unshare(CLONE_NEWPID)'d: their future children are in a new pid namespace. */
  readonly childPidNs = new Set<number>();

  /** Every task whose credential lives in a child user namespace becomes unknown (uid maps are not modelled). */
  forgetUserNamespaces(): void {
    for (const t of this.rt.tids()) {
      const th = this.rt.findThread(t);
      if (th && th.cred.userns.level !== 0) this.unknownCred.add(t);
    }
  }

  markUnknown(tid: number): void {
    this.unknownCred.add(tid);
  }

  /** Whether the model no longer knows this task's credential (so calls about it are not judged). */
  credUnknown(tid: number): boolean {
    return this.unknownCred.has(tid);
  }

  rememberFileCaps(path: string, caps: FileCaps | null): void {
    if (this.xattrCaps.size >= MAX_FILECAPS && !this.xattrCaps.has(path)) {
      const first = this.xattrCaps.keys().next().value;
      if (first !== undefined) this.xattrCaps.delete(first);
    }
    this.xattrCaps.set(path, caps);
  }

  /** File caps of an executed path: the trace's own getxattr answer, else --file-caps, else none. */
  fileCapsFor(path: string): FileCaps | undefined {
    const fromTrace = this.xattrCaps.get(path);
    if (fromTrace !== undefined) return fromTrace ?? undefined;
    return this.opts.fileCaps?.get(path);
  }
}

// ==================================================================== status

function statusFields(text: string): ProcStatusFields {
  const f: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    f[line.slice(0, c)] = line.slice(c + 1).trim();
  }
  const need = ['Uid', 'Gid', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd'];
  const missing = need.filter((k) => f[k] === undefined);
  if (missing.length > 0) {
    throw new ReplayInputError(
      `status text lacks ${missing.join(', ')} (want the output of "cat /proc/PID/status" for the process that started the trace)`,
    );
  }
  return {
    Uid: f.Uid,
    Gid: f.Gid,
    Groups: f.Groups ?? '',
    CapInh: f.CapInh,
    CapPrm: f.CapPrm,
    CapEff: f.CapEff,
    CapBnd: f.CapBnd,
    CapAmb: f.CapAmb ?? '0',
    NoNewPrivs: f.NoNewPrivs ?? '0',
  };
}

export class ReplayInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayInputError';
  }
}

// ==================================================================== comparison

function recordedText(rec: SyscallRecord): string {
  if (rec.name === 'capget' && rec.ret === 0) {
    const a = splitCapArgs(rec.args);
    const w = a[1] !== undefined ? capDataWords(a[1], 2) : undefined;
    if (w) return `0 ${formatData(w, 2)}`;
  }
  return rec.retText;
}

function formatResult(r: SyscallResult): string {
  if (r.errno !== 0) return `${r.ret} ${errnoName(r.errno)}`;
  return String(r.ret);
}

function formatData(w: ArrayLike<number>, elements: number): string {
  const hex = (lo: number, hi: number) =>
    `0x${elements > 1 && hi !== 0 ? (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, '0') : (lo >>> 0).toString(16)}`;
  return `{effective=${hex(w[0]!, w[3]!)}, permitted=${hex(w[1]!, w[4]!)}, inheritable=${hex(w[2]!, w[5]!)}}`;
}

/** errno name of a record as a number; -1 for a success, undefined for an unknown name. */
function recordedErrno(rec: SyscallRecord): number | undefined {
  if (rec.errno === undefined) return 0;
  return errnoByName(rec.errno);
}

/** Same ret and errno. */
function compareExact(rec: SyscallRecord, p: SyscallResult): Outcome {
  const e = recordedErrno(rec);
  if (rec.ret === undefined || e === undefined) return skip('result not printed');
  if (e !== p.errno || (p.errno === 0 && rec.ret !== p.ret) || (p.errno !== 0 && rec.ret !== -1))
    return { kind: 'diverge', predicted: formatResult(p) };
  return MATCH;
}

/**
 * A privileged operation: success versus the same errno (the return value of a successful
 * socket() is a descriptor number the model does not choose). `decides` lists the errnos the
 * model's checks produce for this call; a recorded failure with any other errno (ENOENT, EEXIST,
 * EADDRINUSE, a directory's EACCES …) comes from a check outside the capability model and
 * counts as not modeled.
 */
function comparePrivileged(rec: SyscallRecord, p: SyscallResult, decides: readonly number[]): Outcome {
  if (p.unmodelled) return skip('outside the runtime model');
  const e = recordedErrno(rec);
  if (rec.ret === undefined || e === undefined) return skip('result not printed');
  if (e === p.errno) return MATCH;
  if (e !== 0 && !decides.includes(e)) return skip(`failed for a reason outside the model (${rec.errno})`);
  return { kind: 'diverge', predicted: formatResult(p) };
}

// ==================================================================== argument decoding

function capHeader(text: string | undefined): CapUserHeader | BadAddress | null | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'NULL') return null;
  const s = parseStruct(t);
  if (s === undefined) return parseNumber(t) !== undefined ? BAD_ADDRESS : undefined;
  const v = evalInt(s.get('version') ?? '');
  const pid = parseNumber((s.get('pid') ?? '').split(/[\s<]/)[0] ?? '');
  if (v === undefined || pid === undefined) return undefined;
  return { version: v >>> 0, pid };
}

/**
 * The six data words from a printed `{effective=…, permitted=…, inheritable=…}`, found with
 * indexOf rather than a general struct parse (these are the longest lines in a trace).
 */
function capDataWords(text: string, elements: number, ambiguous?: number[]): number[] | undefined {
  const t = text.trim();
  if (t.charCodeAt(0) !== 123 || t.charCodeAt(t.length - 1) !== 125) return undefined;
  const e0 = t.indexOf('effective=');
  const p0 = t.indexOf(', permitted=', e0);
  const i0 = t.indexOf(', inheritable=', p0);
  if (e0 !== 1 || p0 < 0 || i0 < 0) return undefined;
  const et = t.slice(e0 + 10, p0);
  const pt = t.slice(p0 + 12, i0);
  const it = t.slice(i0 + 14, t.length - 1);
  const e = parseCapMask(et);
  const p = parseCapMask(pt);
  const i = parseCapMask(it);
  if (!e || !p || !i) return undefined;
  // Which of E, P, I (0, 1, 2) could be either word (`-X raw`); only v2/v3 have a high word.
  if (ambiguous && elements === 2) {
    if (isAmbiguousRawMask(et)) ambiguous.push(0);
    if (isAmbiguousRawMask(pt)) ambiguous.push(1);
    if (isAmbiguousRawMask(it)) ambiguous.push(2);
  }
  if (elements === 1) return [e.lo, p.lo, i.lo, 0, 0, 0];
  return [e.lo, p.lo, i.lo, e.hi, p.hi, i.hi];
}

function elementsFor(version: number): number {
  return version === CAP_VERSION_1 ? 1 : 2;
}

function cloneFlags(rec: SyscallRecord): number {
  if (rec.name === 'fork' || rec.name === 'vfork') return 0;
  const args = splitArgs(rec.args);
  let text: string | undefined;
  if (rec.name === 'clone3') {
    const s = parseStruct(args[0] ?? '');
    text = s?.get('flags');
  } else {
    for (const a of args) if (a.startsWith('flags=')) text = a.slice(6);
  }
  if (text === undefined) return 0;
  // The exit signal shares clone()'s flags word: `CLONE_…|SIGCHLD`.
  return evalInt(text) ?? 0;
}

/** capget/capset print `HEADER, DATA`: the header is a short struct, NULL or an address. */
const FAST_SPLIT: ReadonlySet<string> = new Set(['capget', 'capset']);

/**
 * Split capget/capset arguments without scanning the (long) data struct: the header ends at
 * its first `}` (it holds no nested braces), or at the first comma when it is not a struct.
 */
function splitCapArgs(text: string): string[] {
  const end = text.charCodeAt(0) === 123 /* { */ ? text.indexOf('}') + 1 : text.indexOf(',');
  if (end <= 0) return splitArgs(text);
  const comma = text.indexOf(',', end);
  if (comma < 0) return [text.slice(0, end)];
  return [text.slice(0, end), text.slice(comma + 1).trim()];
}

// ==================================================================== handlers

/** Bookkeeping calls that do not depend on the caller's credential. */
const CRED_FREE: ReadonlySet<string> = new Set([
  'open',
  'openat',
  'wait4',
  'waitid',
  'getxattr',
  'lgetxattr',
  'fgetxattr',
]);
const CLONE_FAMILY: ReadonlySet<string> = new Set(['clone', 'clone3', 'fork', 'vfork']);
const FEED_ONLY: ReadonlySet<string> = new Set(['clone', 'clone3', 'fork', 'vfork', 'getpid', 'gettid', 'getxattr']);

const PIDNS = 'pid in another pid namespace';

const onClone: Handler = (r, tid, rec) => {
  if (rec.ret === undefined || rec.ret <= 0) return skip('task creation failed');
  r.created(tid, rec.ret, cloneFlags(rec));
  return MATCH;
};

const UNKNOWN_TARGET = 'target task credential unknown';

const onCapget: Handler = (r, tid, rec, args) => {
  const hdr = capHeader(args[0]);
  if (hdr === undefined) return skip('capget header not decoded');
  if (hdr !== null && hdr !== BAD_ADDRESS && hdr.pid > 0 && r.otherPidNs.has(tid)) return skip(PIDNS);
  const dataText = (args[1] ?? '').trim();
  const dataNull = dataText === 'NULL';
  let pidUnknown = false;
  if (hdr !== null && hdr !== BAD_ADDRESS && hdr.pid > 0) {
    r.claimFirstPid(tid, hdr.pid);
    const t = r.tidOf(hdr.pid);
    if (t === undefined) pidUnknown = true;
    else if (r.credUnknown(t) && !dataNull) return skip(UNKNOWN_TARGET);
    else hdr.pid = t;
  }
  const elements = hdr !== null && hdr !== BAD_ADDRESS ? elementsFor(hdr.version) : 2;
  const data: CapUserData | null = dataNull ? null : { words: [0, 0, 0, 0, 0, 0] };
  if (pidUnknown) {
    // The pid is only read for a known version and non-NULL data.
    const h = hdr as CapUserHeader;
    const probe = dataNull || ![0x19980330, 0x20071026, 0x20080522].includes(h.version);
    if (!probe) return skip('capget of a pid outside the trace');
    h.pid = GONE_TID;
  }
  const p = r.rt.capget(tid, hdr, data);
  const base = compareExact(rec, p);
  if (base === null || base.kind !== 'match' || p.errno !== 0 || data === null) {
    if (base !== null && base.kind === 'diverge' && p.errno === 0 && data !== null)
      return { kind: 'diverge', predicted: `${formatResult(p)} ${formatData(data.words, elements)}` };
    return base;
  }
  if (dataText.charCodeAt(0) !== 123) return skip('capget data not printed');
  const ambiguous: number[] = [];
  const got = capDataWords(dataText, elements, ambiguous);
  if (got === undefined) return skip('capget data not decoded');
  const w = data.words;
  const n = elements * 3;
  for (let k = 0; k < n; k++) {
    if (got[k]! >>> 0 === w[k]! >>> 0) continue;
    // A lone `-X raw` number v matches a prediction of (lo v, hi 0) or (lo 0, hi v).
    const f = k % 3;
    if (ambiguous.includes(f) && w[f] === 0 && w[f + 3]! >>> 0 === got[f]! >>> 0 && got[f + 3] === 0) continue;
    return { kind: 'diverge', predicted: `0 ${formatData(w, elements)}` };
  }
  return MATCH;
};

const onCapset: Handler = (r, tid, rec, args) => {
  const hdr = capHeader(args[0]);
  if (hdr === undefined) return skip('capset header not decoded');
  if (hdr !== null && hdr !== BAD_ADDRESS && hdr.pid > 0 && r.otherPidNs.has(tid)) return skip(PIDNS);
  if (hdr !== null && hdr !== BAD_ADDRESS && hdr.pid > 0) {
    // Any pid other than the caller's own tid is EPERM, known or not.
    r.claimFirstPid(tid, hdr.pid);
    hdr.pid = r.tidOf(hdr.pid) ?? GONE_TID;
  }
  const dataText = (args[1] ?? '').trim();
  let data: CapUserData | BadAddress | null;
  if (dataText === 'NULL') data = null;
  else {
    if (dataText.charCodeAt(0) !== 123) {
      // strace prints the address when it could not read the data: so could not the kernel.
      data = parseNumber(dataText) !== undefined ? BAD_ADDRESS : null;
      if (data === null) return skip('capset data not decoded');
    } else {
      const el = hdr !== null && hdr !== BAD_ADDRESS ? elementsFor(hdr.version) : 2;
      const ambiguous: number[] = [];
      const w = capDataWords(dataText, el, ambiguous);
      if (w === undefined) return skip('capset data not decoded');
      if (ambiguous.length > 0) {
        // The trace does not say which word the kernel was given. A refused capset changed
        // nothing; an accepted one leaves this thread's sets unknown from here on.
        if (rec.errno === undefined) r.markUnknown(tid);
        return skip('capset mask ambiguous in -X raw output');
      }
      data = { words: w };
    }
  }
  return compareExact(rec, r.rt.capset(tid, hdr, data));
};

const onPrctl: Handler = (r, tid, rec, args) => {
  const option = evalULong(args[0] ?? '');
  if (option === undefined || !isModelledPrctl(option)) return skip('prctl option not modelled');
  const a: bigint[] = [];
  for (let k = 1; k < 5; k++) {
    const t = args[k];
    if (t === undefined) {
      a.push(0n);
      continue;
    }
    const v = evalULong(t);
    if (v === undefined) return skip('prctl argument not decoded');
    a.push(v);
  }
  return compareExact(rec, r.rt.prctl(tid, option, a[0]!, a[1]!, a[2]!, a[3]!));
};

const onGetpid: Handler = (r, tid, rec) => {
  if (rec.ret === undefined) return skip('result not printed');
  if (r.otherPidNs.has(tid)) return skip(PIDNS);
  const want = rec.name === 'gettid' ? r.tracePidOf(tid) : r.traceTgidOf(tid);
  if (want === undefined || want === 0) return MATCH; // first process still unnamed: the reader just learnt it
  return want === rec.ret ? MATCH : { kind: 'diverge', predicted: String(want) };
};

const onGetxattr: Handler = (r, _tid, rec, args) => {
  const name = parsePath(args[1] ?? '');
  if (name !== 'security.capability') return UNCOUNTED;
  let path: string | undefined;
  if (rec.name === 'fgetxattr') {
    const m = /<(.*)>$/.exec((args[0] ?? '').trim());
    path = m?.[1];
  } else path = parsePath(args[0] ?? '');
  if (path === undefined) return skip('getxattr path not decoded');
  if (rec.errno === 'ENODATA') {
    r.rememberFileCaps(path, null);
    return MATCH;
  }
  if (rec.ret === undefined || rec.ret <= 0) return skip('getxattr failed');
  const size = evalInt(args[3] ?? '') ?? 0;
  const v = parseCString(args[2] ?? '');
  if (size < rec.ret || v === undefined || v.truncated) return skip('getxattr value not printed');
  // strace omits the value's trailing NUL bytes; the return value is its length.
  const bytes = new Uint8Array(rec.ret);
  bytes.set(v.bytes.slice(0, rec.ret));
  try {
    r.rememberFileCaps(path, decodeFileCaps(bytes));
  } catch {
    return skip('security.capability value not decodable');
  }
  return MATCH;
};

const onWait: Handler = (r, _tid, rec) => {
  if (rec.ret !== undefined && rec.ret > 0) r.reaped(rec.ret);
  return UNCOUNTED;
};

const onUnshare: Handler = (r, tid, rec, args) => {
  const flags = evalInt(args[0] ?? '');
  if (flags === undefined) return skip('unshare flags not decoded');
  const p = r.rt.unshare(tid, flags, { chrooted: r.isChrooted(tid) });
  if (rec.ret === 0 && flags & CLONE_NEWPID) r.childPidNs.add(r.rt.findThread(tid)?.tgid ?? tid);
  const out = comparePrivileged(rec, p, [EPERM, EINVAL, ENOSPC]);
  if (p.errno === 0 && rec.errno !== undefined) {
    // The kernel refused for a reason outside the model; the model's new namespaces are wrong.
    r.markUnknown(tid);
  }
  return out;
};

/** A uid/gid argument: `-1` (unchanged) or a number. */
function idArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = parseNumber(stripCommentText(text));
  if (v === undefined) return undefined;
  return v;
}

function stripCommentText(t: string): string {
  const k = t.indexOf('/*');
  return (k < 0 ? t : t.slice(0, k)).trim();
}

const onSetid: Handler = (r, tid, rec, args) => {
  const ids: number[] = [];
  for (const a of args) {
    const v = idArg(a);
    if (v === undefined) return skip(`${rec.name} argument not decoded`);
    ids.push(v);
  }
  const rt = r.rt;
  let p: SyscallResult;
  switch (rec.name) {
    case 'setuid':
      p = rt.setuid(tid, ids[0]!);
      break;
    case 'setreuid':
      p = rt.setreuid(tid, ids[0]!, ids[1]!);
      break;
    case 'setresuid':
      p = rt.setresuid(tid, ids[0]!, ids[1]!, ids[2]!);
      break;
    case 'setfsuid':
      p = rt.setfsuid(tid, ids[0]!);
      break;
    case 'setgid':
      p = rt.setgid(tid, ids[0]!);
      break;
    case 'setregid':
      p = rt.setregid(tid, ids[0]!, ids[1]!);
      break;
    case 'setresgid':
      p = rt.setresgid(tid, ids[0]!, ids[1]!, ids[2]!);
      break;
    default:
      p = rt.setfsgid(tid, ids[0]!);
      break;
  }
  if (ids.length !== SETID_ARITY[rec.name]) return skip(`${rec.name} argument count`);
  return compareExact(rec, p);
};

const SETID_ARITY: Record<string, number> = {
  setuid: 1,
  setreuid: 2,
  setresuid: 3,
  setfsuid: 1,
  setgid: 1,
  setregid: 2,
  setresgid: 3,
  setfsgid: 1,
};

const onSetgroups: Handler = (r, tid, rec, args) => {
  const size = parseNumber(args[0] ?? '');
  if (size === undefined) return skip('setgroups size not decoded');
  const t = (args[1] ?? '').trim();
  let list: readonly number[] | BadAddress | null;
  if (t === 'NULL') list = null;
  else if (t.startsWith('[')) {
    if (t.includes('...')) return skip('setgroups list abbreviated by strace');
    const inner = t.slice(1, -1).trim();
    const out: number[] = [];
    for (const g of inner === '' ? [] : inner.split(',')) {
      const v = parseNumber(g);
      if (v === undefined) return skip('setgroups list not decoded');
      out.push(v);
    }
    list = out;
  } else if (parseNumber(t) !== undefined) list = BAD_ADDRESS;
  else return skip('setgroups list not decoded');
  return compareExact(rec, r.rt.setgroups(tid, size, list));
};

/**
 * execve: the file's capabilities come from the trace's own getxattr(PATH,
 * "security.capability") answer or --file-caps; without either it is a plain file. Only a
 * success or EPERM is judged: any other failure (ENOENT, EACCES, ENOEXEC, …) happens before the
 * credential computation and leaves the task unchanged.
 */
const onExecve: Handler = (r, tid, rec, args) => {
  let path: string | undefined;
  if (rec.name === 'execveat') {
    const dir = (args[0] ?? '').trim();
    const name = parsePath(args[1] ?? '');
    if (name !== undefined && (name.startsWith('/') || dir.startsWith('AT_FDCWD'))) path = name;
  } else path = parsePath(args[0] ?? '');
  const e = recordedErrno(rec);
  if (e === undefined || rec.ret === undefined) return skip('result not printed');
  if (e !== 0 && e !== 1 /* EPERM */) return skip(`execve failed for a reason outside the model (${rec.errno})`);
  const th = r.rt.findThread(tid);
  if (th === undefined) return skip('task not created in the trace');
  const saved = th.cred.clone();
  const fc = path === undefined ? undefined : r.fileCapsFor(path);
  const p = r.rt.execve(tid, { fileCaps: fc ?? null });
  if (p.errno === 0 && p.tid !== undefined && p.tid !== tid) r.retarget(rec.pid, tid, p.tid);
  if (p.errno === 0) r.dropDeadThreads();
  const out = compareExact(rec, p);
  if (out !== null && out.kind !== 'match' && p.errno === 0 && e !== 0) {
    // The kernel refused the exec; keep the task's old credential.
    const now = r.rt.findThread(p.tid ?? tid);
    if (now) now.cred = saved;
  }
  return out;
};

/** The leading integer of an fd argument (`3`, `3<socket:[1234]>` with -y). */
function fdArg(text: string | undefined): number | undefined {
  const m = /^\s*(-?\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : undefined;
}

const onSocket: Handler = (r, tid, rec, args) => {
  const domain = evalInt(args[0] ?? '');
  const type = evalInt(args[1] ?? '');
  const proto = evalInt(args[2] ?? '0');
  if (domain === undefined || type === undefined || proto === undefined) return skip('socket arguments not decoded');
  const p = r.rt.socket(tid, domain, type, proto);
  if (rec.ret !== undefined && rec.ret >= 0) r.rememberSocket(tid, rec.ret, domain, type & 0xf);
  return comparePrivileged(rec, p, [EPERM, EACCES, EINVAL, EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT]);
};

const onBind: Handler = (r, tid, rec, args) => {
  const fd = fdArg(args[0]);
  const sock = fd === undefined ? undefined : r.socketOf(tid, fd);
  if (sock === undefined) return skip('bind on a socket not created in the trace');
  const addr = parseStruct(args[1] ?? '');
  if (addr === undefined) return skip('bind address not decoded');
  const portText = addr.get('sin_port') ?? addr.get('sin6_port');
  const m = /htons\((\d+)\)/.exec(portText ?? '');
  if (sock.family !== 2 && sock.family !== 10) return skip('bind on a non-inet socket');
  if (!m) return skip('bind port not decoded');
  const p = r.rt.bind(tid, { family: sock.family, sockType: sock.type, port: Number(m[1]) });
  return comparePrivileged(rec, p, [EACCES]);
};

const onMknod: Handler = (r, tid, rec, args) => {
  const a = rec.name === 'mknodat' ? args.slice(1) : args;
  const mode = evalInt(a[1] ?? '');
  if (mode === undefined) return skip('mknod mode not decoded');
  const dm = /makedev\((0x[0-9a-f]+|\d+),\s*(0x[0-9a-f]+|\d+)\)/.exec(a[2] ?? '');
  const dev = dm ? Number(dm[1]) * 256 + Number(dm[2]) : (parseNumber(a[2] ?? '0') ?? 0);
  // A missing parent or an unwritable directory is outside what the trace says: ENOENT and
  // EACCES are outside the model here, EPERM is the CAP_MKNOD decision.
  return comparePrivileged(rec, r.rt.mknod(tid, { mode, dev }), [EPERM, EINVAL]);
};

const onChroot: Handler = (r, tid, rec) => {
  const p = r.rt.chroot(tid);
  if (rec.ret === 0) r.markChrooted(tid);
  return comparePrivileged(rec, p, [EPERM]);
};

const onKill: Handler = (r, tid, rec, args) => {
  if (r.otherPidNs.has(tid)) return skip(PIDNS);
  const pid = fdArg(args[0]); // `1234` or, with -Y, `1234<comm>`
  const sig = evalInt(args[1] ?? '');
  if (pid === undefined || sig === undefined) return skip('kill arguments not decoded');
  if (pid <= 0) return skip('kill of a process group or broadcast');
  const target = r.tidOf(pid);
  if (target === undefined) return skip('kill of a pid outside the trace');
  if (r.credUnknown(target)) return skip(UNKNOWN_TARGET);
  return comparePrivileged(rec, r.rt.kill(tid, target, sig), [EPERM, ESRCH, EINVAL]);
};

const onTgkill: Handler = (r, tid, rec, args) => {
  if (r.otherPidNs.has(tid)) return skip(PIDNS);
  const tgid = fdArg(args[0]);
  const ttid = fdArg(args[1]);
  const sig = evalInt(args[2] ?? '');
  if (tgid === undefined || ttid === undefined || sig === undefined) return skip('tgkill arguments not decoded');
  const a = tgid > 0 ? r.tidOf(tgid) : tgid;
  const b = ttid > 0 ? r.tidOf(ttid) : ttid;
  if (a === undefined || b === undefined) return skip('tgkill of a pid outside the trace');
  if (r.credUnknown(b)) return skip(UNKNOWN_TARGET);
  // The runtime's tgid for a trace process is the runtime tid of its leader.
  const leader = a > 0 ? (r.rt.findThread(a)?.tgid ?? a) : a;
  return comparePrivileged(rec, r.rt.tgkill(tid, leader, b, sig), [EPERM, ESRCH, EINVAL]);
};

const onSethostname: Handler = (r, tid, rec, args) => {
  const len = parseNumber(args[1] ?? '');
  if (len === undefined) return skip('sethostname length not decoded');
  const readable = (args[0] ?? '').trim() !== 'NULL';
  const p =
    rec.name === 'setdomainname' ? r.rt.setdomainname(tid, len, readable) : r.rt.sethostname(tid, len, readable);
  return comparePrivileged(rec, p, [EPERM, EINVAL, EFAULT]);
};

/**
 * open/openat of a uid_map, gid_map or setgroups file for writing: the process is giving a
 * user namespace its id mapping, which the model does not follow; every task in a non-initial
 * user namespace has an unknown credential from here on. Any other open is not counted.
 */
const onOpen: Handler = (r, _tid, rec, args) => {
  if (rec.ret === undefined || rec.ret < 0) return UNCOUNTED;
  const path = rec.name === 'open' ? args[0] : args[1];
  if (path === undefined || !/\/(uid_map|gid_map)"$/.test(path)) return UNCOUNTED;
  const flags = (rec.name === 'open' ? args[1] : args[2]) ?? '';
  if (!/O_WRONLY|O_RDWR/.test(flags)) return UNCOUNTED;
  r.forgetUserNamespaces();
  return UNCOUNTED;
};

const HANDLERS = new Map<string, Handler>([
  ['clone', onClone],
  ['clone3', onClone],
  ['fork', onClone],
  ['vfork', onClone],
  ['getpid', onGetpid],
  ['gettid', onGetpid],
  ['getxattr', onGetxattr],
  ['lgetxattr', onGetxattr],
  ['fgetxattr', onGetxattr],
  ['wait4', onWait],
  ['waitid', onWait],
  ['capget', onCapget],
  ['capset', onCapset],
  ['prctl', onPrctl],
  ['unshare', onUnshare],
  ['setuid', onSetid],
  ['setreuid', onSetid],
  ['setresuid', onSetid],
  ['setfsuid', onSetid],
  ['setgid', onSetid],
  ['setregid', onSetid],
  ['setresgid', onSetid],
  ['setfsgid', onSetid],
  ['setgroups', onSetgroups],
  ['execve', onExecve],
  ['execveat', onExecve],
  ['socket', onSocket],
  ['bind', onBind],
  ['mknod', onMknod],
  ['mknodat', onMknod],
  ['chroot', onChroot],
  ['kill', onKill],
  ['tgkill', onTgkill],
  ['sethostname', onSethostname],
  ['setdomainname', onSethostname],
  ['open', onOpen],
  ['openat', onOpen],
]);

/** Syscall names the reader reports to the replay. */
const HANDLED: ReadonlySet<string> = new Set(HANDLERS.keys());

// ==================================================================== drivers

export function abbreviate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

/** Replay a readable stream of trace text. */
export async function replayStream(stream: Readable, opts: ReplayOptions): Promise<ReplaySummary> {
  const r = new Replayer(opts);
  stream.setEncoding('latin1');
  const progress = opts.onProgress;
  for await (const chunk of stream) {
    r.feed(chunk as string);
    if (progress) progress(r.bytes, r.lines);
  }
  return r.end();
}

/** Replay a trace file (streamed; memory does not grow with the file). */
export function replayFile(path: string, opts: ReplayOptions): Promise<ReplaySummary> {
  return replayStream(createReadStream(path, { highWaterMark: 1 << 20 }), { file: path, ...opts });
}

/** Replay trace text held in memory (tests, small traces). */
export function replayText(text: string, opts: ReplayOptions): ReplaySummary {
  const r = new Replayer(opts);
  r.feed(text);
  return r.end();
}
