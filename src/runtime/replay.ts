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
 * Each record goes decode (strace/decode.ts) → dispatch (dispatch.ts, shared with the live
 * supervisor) → compare with the recorded result (here). Outcomes per call:
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
import { CapctlError } from '../caps/errors.js';
import type { FileCaps } from '../caps/xattr.js';
import { type NotModelled, notModelled, type Observed, type RuntimeCall } from './call.js';
import { Credential, type IdExtent, INIT_USER_NS, type ProcStatusFields, UserNamespace } from './credential.js';
import { type Dispatched, dispatch, type FileFacts, PLACEHOLDER_TID, RuntimeSession } from './dispatch.js';
import { EPERM, errnoByName, errnoName } from './errno.js';
import type { DecisionEvent, DecisionListener, PrivilegeHost } from './host.js';
import { kernelFor } from './kernel-version.js';
import { BAD_ADDRESS, type SyscallResult } from './result.js';
import { Runtime, type Sysctl } from './runtime.js';
import {
  capDataWords,
  capgetOutputText,
  DECODED_NAMES,
  decodeRecord,
  elementsFor,
  idListOutput,
} from './strace/decode.js';
import { type MalformedRecord, StraceReader, type SyscallRecord, type TraceRecord } from './strace/reader.js';

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
  /** Facts about executed files by absolute path (a recording's; `fileCaps` overrides their capabilities). */
  files?: ReadonlyMap<string, FileFacts>;
  /** Working directory the traced program started in. */
  cwd?: string;
  /** Sysctls the runtime consults, as seen from the program's network namespace. */
  sysctl?: Partial<Sysctl>;
  /** Nice value and RLIMIT_NICE of the starting process. */
  nice?: number;
  rlimitNice?: number;
  /**
   * /proc/PID/uid_map and gid_map text of the starting process. Anything but the initial
   * namespace's identity map puts the starting credential in a child user namespace with
   * these maps (the ids in `status` are then the namespace's own).
   */
  uidMap?: string;
  gidMap?: string;
  /** The starting process's /proc/PID/setgroups ("allow" / "deny"). */
  setgroups?: string;
  /**
   * Pointer arguments are printed as addresses (strace -e verbose=none or -e raw=…), not
   * because the memory was unreadable. Detected from the trace when a call with an address
   * for its header succeeds.
   */
  addressesOpaque?: boolean;
  /**
   * `uname -r` of the kernel that ran the trace: rules that changed between releases follow it
   * (kernel-version.ts). Absent or unreadable: Linux 6.18's rules, with a warning.
   */
  kernel?: string;
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
  /** Results strace injected (`(INJECTED)`): not the kernel's answer, so neither judged nor applied. */
  injected: number;
  /** What the replay had to assume (an unknown kernel release, a rule not pinned to a release). */
  warnings: string[];
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

function skip(reason: string): Outcome {
  return { kind: 'skip', reason };
}

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
  /** Replaced (with the session) when a second trace starts in the same input (reusedPid). */
  rt: Runtime;
  /** The runtime plus the trace's pids, sockets, file facts (what dispatch applies calls to). */
  session: RuntimeSession;
  private readonly reader: StraceReader;
  private readonly opts: ReplayOptions;
  private readonly file: string;
  private readonly stats: ReplaySummary;
  bytes = 0;
  /** The syscall record being replayed, for onDecisionAt. */
  private readonly at: TraceLocation;
  /** Pointers are printed as addresses (-e verbose=none / -e raw): an address is not unreadable memory. */
  private opaque: boolean;
  private watchingWrites = false;
  /** The recording kernel's rules and what had to be assumed about them. */
  private readonly kernel: ReturnType<typeof kernelFor>;

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
          this.at.tgid = this.session.tgidPidOf(ev.tid) ?? this.at.pid;
          at(ev, this.at);
        }
      : opts.onDecision;
    this.onDecision = onDecision;
    this.kernel = kernelFor(opts.kernel);
    this.opaque = opts.addressesOpaque ?? false;
    [this.rt, this.session] = this.start();
    // The first process is pid 0 until the trace shows its pid.
    this.session.bind(0, PLACEHOLDER_TID);
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
      injected: 0,
      warnings: this.kernel.warnings,
    };
    // write(2) matters only once an id-map file is open (it is one of the commonest lines).
    this.reader = new StraceReader({ names: WITHOUT_WRITE, onRecord: (rec) => this.onRecord(rec) });
  }

  private readonly onDecision: DecisionListener | undefined;

  /** A runtime holding only the starting process, with the --status credential. */
  private start(): [Runtime, RuntimeSession] {
    const opts = this.opts;
    const rt = new Runtime({
      host: opts.host,
      onDecision: this.onDecision,
      firstId: PLACEHOLDER_TID,
      sysctl: opts.sysctl,
      kernelConfig: this.kernel.config,
    });
    const cred = Credential.fromProcStatus(statusFields(opts.status), opts.securebits ?? 0);
    const ns = startingUserNamespace(opts);
    if (ns !== undefined) inNamespace(cred, ns);
    opts.adjustInitialCredential?.(cred);
    const first = rt.spawn(cred, { tid: PLACEHOLDER_TID });
    if (opts.nice !== undefined) first.nice = opts.nice;
    const session = new RuntimeSession(rt, {
      fileCaps: opts.fileCaps,
      files: opts.files,
      cwd: opts.cwd,
      rlimitNice: opts.rlimitNice,
    });
    return [rt, session];
  }

  /**
   * A pid whose task has exited prints again with no clone the trace showed: the kernel reused
   * it. If no task of the trace is still live, the trace ended and another began (two traces
   * in one file): start over from the --status credential, as a separate file would. Otherwise
   * the new task's creator is outside the trace and its calls are not judged.
   */
  private reusedPid(pid: number): void {
    if (!this.session.unbindIfExited(pid) || this.session.anyLive()) return;
    [this.rt, this.session] = this.start();
    this.session.bind(pid, PLACEHOLDER_TID);
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
      case 'syscall':
        this.onSyscall(rec);
        return;
      case 'firstpid':
        this.opts.onFirstPid?.(rec.pid);
        this.session.firstPid(rec.pid);
        return;
      case 'exit':
        dispatch(this.session, rec.pid, EXIT);
        return;
      case 'alias':
        this.session.alias(rec.pid, rec.as);
        return;
      case 'superseded':
        this.session.superseded(rec.pid, rec.oldPid);
        return;
      case 'malformed':
        this.stats.malformed++;
        if (this.opts.strict) throw new ReplayMalformedError(this.file, rec);
        this.opts.onMalformed?.(rec);
        return;
    }
  }

  private onSyscall(rec: SyscallRecord): void {
    // A result strace injected is not the kernel's: the call did not run.
    if (rec.aux.includes('(INJECTED)')) {
      this.stats.injected++;
      return;
    }
    const call = decodeRecord(rec);
    if (call === undefined || call === null) return;
    if (call.sys === 'open' && !this.watchingWrites && ID_MAP_FILE.test(call.path)) {
      this.watchingWrites = true;
      this.reader.watch('write');
    }
    this.at.line = rec.line;
    this.at.pid = rec.pid;
    this.reusedPid(rec.pid);
    let out: Outcome;
    try {
      if (addressArgument(call) && (this.opaque || (rec.errno === undefined && rec.ret !== undefined))) {
        // A call the kernel accepted with an "unreadable" header: strace printed an address
        // because it was told not to decode (-e verbose=none / -e raw), not because it failed.
        // An accepted capset whose sets were not printed leaves the caller's credential unknown.
        this.opaque = true;
        out = this.judge(
          rec,
          call,
          dispatch(this.session, rec.pid, notModelled(OPAQUE, call.sys === 'capset'), observed(rec)),
        );
      } else if (call.sys === 'execve' && this.session.taskOf(rec.pid) !== undefined) {
        // Only a success or EPERM is judged: any other failure (ENOENT, EACCES, ENOEXEC, …)
        // happens before the credential computation and leaves the task unchanged.
        const e = recordedErrno(rec);
        if (e === undefined || rec.ret === undefined) out = skip('result not printed');
        else if (e !== 0 && e !== EPERM) out = skip(`execve failed for a reason outside the model (${rec.errno})`);
        else out = this.judge(rec, call, dispatch(this.session, rec.pid, call, observed(rec)));
      } else out = this.judge(rec, call, dispatch(this.session, rec.pid, call, observed(rec)));
    } catch (e) {
      // The model refused a state no kernel reaches (the trace contradicts itself): this call
      // is not judged, and the replay goes on to its summary.
      if (!(e instanceof CapctlError)) throw e;
      out = skip(`trace inconsistent with the model (${e.code})`);
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

  /** Compare what dispatch predicted with what the trace recorded. */
  private judge(rec: SyscallRecord, call: RuntimeCall | NotModelled, d: Dispatched): Outcome {
    switch (d.kind) {
      case 'applied':
        return MATCH;
      case 'ignored':
        return null;
      case 'not-modelled':
        return skip(d.reason);
    }
    const p = d.result;
    if (d.decides !== null) return comparePrivileged(rec, p, d.decides);
    const base = compareExact(rec, p);
    if (d.ids !== undefined && base !== null && base.kind === 'match') {
      const got = idListOutput(rec);
      if (got === undefined) return skip(`${rec.name} ids not printed`);
      if (got.length !== d.ids.length || got.some((v, k) => v !== d.ids![k]))
        return { kind: 'diverge', predicted: `${formatResult(p)} [${d.ids.join(', ')}]` };
      return base;
    }
    if (call.sys !== 'capget') return base;
    return compareCapgetData(rec, call, p, base);
  }
}

const EXIT = Object.freeze({ sys: 'exit' as const });
const WITHOUT_WRITE: ReadonlySet<string> = new Set([...DECODED_NAMES].filter((n) => n !== 'write'));
const ID_MAP_FILE = /^\/proc\/[^/]+\/(uid_map|gid_map|setgroups)$/;
const OPAQUE = 'argument printed as an address (strace -e verbose=none or -e raw)';

/** Whether a decoded capget/capset/setgroups took a pointer strace printed as an address. */
function addressArgument(call: RuntimeCall | NotModelled): boolean {
  switch (call.sys) {
    case 'capget':
      return call.header === BAD_ADDRESS || call.data === BAD_ADDRESS;
    case 'capset':
      return call.header === BAD_ADDRESS || call.data === BAD_ADDRESS;
    case 'setgroups':
      return call.list === BAD_ADDRESS;
    default:
      return false;
  }
}

/** The identity map of the initial user namespace, as /proc/PID/uid_map prints it. */
function isInitialMap(text: string | undefined): boolean {
  if (text === undefined) return true;
  const e = parseIdMap(text);
  return e.length === 1 && e[0]![0] === 0 && e[0]![1] === 0 && e[0]![2] === 4294967295;
}

function parseIdMap(text: string): IdExtent[] {
  const out: IdExtent[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [a, b, c] = f.map(Number) as [number, number, number];
    if (![a, b, c].every(Number.isInteger)) throw new ReplayInputError(`id map line not understood: "${line.trim()}"`);
    out.push([a, b, c]);
  }
  return out;
}

/**
 * The user namespace the traced program starts in, from the recording's id maps: a child of
 * the initial namespace (deeper nesting is seen through the maps, which /proc prints relative
 * to the reader's parent — the recording reads its own, so the maps go to the initial one).
 */
function startingUserNamespace(opts: ReplayOptions): UserNamespace | undefined {
  if (isInitialMap(opts.uidMap) && isInitialMap(opts.gidMap)) return undefined;
  const uidMap = parseIdMap(opts.uidMap ?? '');
  const gidMap = parseIdMap(opts.gidMap ?? '');
  const ns = new UserNamespace(0x7ffffff0, INIT_USER_NS, uidMap.find((e) => e[0] === 0)?.[1] ?? 0);
  ns.uidMap = uidMap;
  ns.gidMap = gidMap;
  if (opts.setgroups?.trim() === 'deny') ns.setgroupsAllowed = false;
  return ns;
}

/** Move a credential read inside `ns` (ids as the namespace shows them) into it (kernel ids). */
function inNamespace(c: Credential, ns: UserNamespace): void {
  c.userns = ns;
  c.ruid = ns.toKuid(c.ruid);
  c.euid = ns.toKuid(c.euid);
  c.suid = ns.toKuid(c.suid);
  c.fsuid = ns.toKuid(c.fsuid);
  c.rgid = ns.toKgid(c.rgid);
  c.egid = ns.toKgid(c.egid);
  c.sgid = ns.toKgid(c.sgid);
  c.fsgid = ns.toKgid(c.fsgid);
  c.groups = c.groups.map((g) => ns.toKgid(g)).sort((a, b) => a - b);
}

/** The recorded answer; one object reused (dispatch does not keep it). */
const OBSERVED: { ret: number | undefined; failed: boolean } = { ret: undefined, failed: false };
function observed(rec: SyscallRecord): Observed {
  OBSERVED.ret = rec.ret;
  OBSERVED.failed = rec.errno !== undefined;
  return OBSERVED;
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
    const t = capgetOutputText(rec);
    const w = t !== undefined ? capDataWords(t, 2) : undefined;
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

/** errno name of a record as a number; 0 for a success, undefined for an unknown name. */
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
  const e = recordedErrno(rec);
  if (rec.ret === undefined || e === undefined) return skip('result not printed');
  if (e === p.errno) return MATCH;
  if (e !== 0 && !decides.includes(e)) return skip(`failed for a reason outside the model (${rec.errno})`);
  return { kind: 'diverge', predicted: formatResult(p) };
}

/** capget: besides ret and errno, the three sets it wrote (a `-X raw` lone word may be either half). */
function compareCapgetData(
  rec: SyscallRecord,
  call: Extract<RuntimeCall, { sys: 'capget' }>,
  p: SyscallResult,
  base: Outcome,
): Outcome {
  const data = call.data === BAD_ADDRESS ? null : call.data;
  const hdr = call.header;
  const elements = hdr !== null && hdr !== BAD_ADDRESS ? elementsFor(hdr.version) : 2;
  if (base === null || base.kind !== 'match' || p.errno !== 0 || data === null) {
    if (base !== null && base.kind === 'diverge' && p.errno === 0 && data !== null)
      return { kind: 'diverge', predicted: `${formatResult(p)} ${formatData(data.words, elements)}` };
    return base;
  }
  const dataText = (capgetOutputText(rec) ?? '').trim();
  if (dataText.charCodeAt(0) !== 123) return skip('capget data not printed');
  const ambiguous: number[] = [];
  const got = capDataWords(dataText, elements, ambiguous);
  if (got === undefined) return skip('capget data not decoded');
  const w = data.words;
  const n = elements * 3;
  for (let k = 0; k < n; k++) {
    if (got[k]! >>> 0 === w[k]! >>> 0) continue;
    const f = k % 3;
    if (ambiguous.includes(f) && w[f] === 0 && w[f + 3]! >>> 0 === got[f]! >>> 0 && got[f + 3] === 0) continue;
    return { kind: 'diverge', predicted: `0 ${formatData(w, elements)}` };
  }
  return MATCH;
}

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
