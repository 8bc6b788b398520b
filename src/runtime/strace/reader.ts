/**
 * Streaming strace reader. Feed it text (any chunking); it calls `onRecord` for every
 * completed call of a syscall it was asked for, for exit and exec-handover lines, and for
 * malformed lines. Memory holds only the current partial line, the `<unfinished ...>` calls
 * still waiting for their `<... resumed>` half, the set of live pids, and the lines of children
 * that printed before their parent's clone returned (see `waiting`).
 *
 * Formats (strace 6.1 … 6.13): `-f` with `-o` (a pid column: `1234  capget(…)`), `-f` on
 * stderr (`[pid  1234] ` prefixes, the first process unprefixed until it has company, and
 * strace's own "strace: Process N attached" message spliced into the middle of a call line),
 * `--always-show-pid`, timestamps `-t`/`-tt`/`-ttt`/`-r`, `-T` durations, `-y` fd paths, `-i`
 * instruction pointers and `-n` syscall numbers.
 *
 * Per line, syscalls nobody asked for cost a prefix scan and one map lookup of the name: the
 * rest of the line is never looked at (no regex, no split).
 */

import { PID_MAX_LIMIT } from '../abi.js';

/** Longest line kept (characters): far above any strace line, far below memory trouble. */
const MAX_LINE = 16 << 20;

export interface SyscallRecord {
  readonly kind: 'syscall';
  /** Trace pid (a thread id). 0 is the first process before its pid is known. */
  readonly pid: number;
  /** Line where the call completed (the `resumed` line for split calls). */
  readonly line: number;
  /** Line where the call started. */
  readonly entryLine: number;
  readonly name: string;
  /** Argument text between the parentheses (both halves of a split call joined). */
  readonly args: string;
  /** Return value; undefined for `?`. */
  readonly ret: number | undefined;
  /** Errno name for a failed call (`EPERM`), else undefined. */
  readonly errno: string | undefined;
  /** Text after the return value and errno, e.g. `(SECBIT_KEEP_CAPS)`; -T times removed. */
  readonly aux: string;
  /** The return text as printed, for messages. */
  readonly retText: string;
}

export interface ExitRecord {
  readonly kind: 'exit';
  readonly pid: number;
  readonly line: number;
  /** `exited with N` → N; `killed by SIG…` → the signal name. */
  readonly status: number | string;
}

/** `+++ superseded by execve in pid OLD +++`: thread OLD exec'd and now runs as `pid`. */
export interface SupersededRecord {
  readonly kind: 'superseded';
  readonly pid: number;
  readonly oldPid: number;
  readonly line: number;
}

/**
 * A child's pid as strace shows it (`pid`) differs from what its creating call returned
 * (`as`): the child lives in another pid namespace, where clone() returns the namespace's pid.
 */
export interface AliasRecord {
  readonly kind: 'alias';
  readonly pid: number;
  readonly as: number;
  readonly line: number;
}

/** The first (unprefixed) process's pid became known. */
export interface FirstPidRecord {
  readonly kind: 'firstpid';
  readonly pid: number;
  readonly line: number;
}

export interface MalformedRecord {
  readonly kind: 'malformed';
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

export type TraceRecord =
  | SyscallRecord
  | ExitRecord
  | SupersededRecord
  | FirstPidRecord
  | AliasRecord
  | MalformedRecord;

export interface ReaderOptions {
  /** Syscall names to report. Clone-family calls are always tracked for pid bookkeeping. */
  readonly names: ReadonlySet<string>;
  readonly onRecord: (rec: TraceRecord) => void;
}

/** Calls that create tasks: their return values order children after parents. */
export const CLONE_NAMES: ReadonlySet<string> = new Set(['clone', 'clone3', 'fork', 'vfork']);

/** A child may print this many lines before its parent's clone returns; beyond that, it is malformed input. */
const MAX_WAITING_LINES = 100_000;

interface Pending {
  name: string;
  args: string;
  entryLine: number;
}

/** The index where the run of spaces ending at `end` starts (`end` itself when there is none). */
function spacesBefore(text: string, end: number): number {
  while (end > 0 && text.charCodeAt(end - 1) === 32) end--;
  return end;
}

export class StraceReader {
  /** Names to report, clone-family included: one lookup per line decides. */
  private readonly names: Set<string>;
  private readonly onRecord: (rec: TraceRecord) => void;
  private carry = '';
  private lineNo = 0;
  private spliced = '';
  private splicedLine = 0;

  /** The first process's pid once known; until then its records carry pid 0. */
  private firstPid: number | undefined;
  private firstAlive = true;
  private readonly live = new Set<number>();
  private readonly pending = new Map<number, Pending>();
  private pendingClones = 0;
  /** Lines of pids not yet created by a clone we have seen return. */
  private readonly waiting = new Map<number, { line: number; text: string }[]>();
  private waitingCount = 0;
  /** Children a clone returned but that never printed a line (yet): pid-namespace candidates. */
  private readonly unclaimed: number[] = [];
  /** Clone-family calls that completed with `= ?` (their caller was killed by an exec). */
  private readonly orphanClones: SyscallRecord[] = [];

  /** Number of lines seen so far. */
  get lines(): number {
    return this.lineNo;
  }

  /** Calls waiting for their `<... resumed>` half (bounded by the number of live tasks). */
  get pendingCalls(): number {
    return this.pending.size;
  }

  /** Lines held for children whose creating clone has not returned yet. */
  get waitingLines(): number {
    return this.waitingCount;
  }

  constructor(opts: ReaderOptions) {
    this.names = new Set([...opts.names, ...CLONE_NAMES]);
    this.onRecord = opts.onRecord;
  }

  /** Report `name` from now on too (a call that only matters once something else was seen). */
  watch(name: string): void {
    this.names.add(name);
  }

  /** Feed a chunk of trace text. */
  feed(chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      if (!this.overlong) this.carry += chunk;
      if (this.carry.length > MAX_LINE) this.overlong = true;
      return;
    }
    if (this.overlong) {
      this.endOverlong();
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    } else if (this.carry !== '') {
      const first = this.carry + chunk.slice(0, nl);
      this.carry = '';
      this.physicalLine(first);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    while (nl >= 0) {
      this.physicalLine(chunk.slice(start, nl));
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) this.carry = chunk.slice(start);
  }

  /**
   * A line longer than MAX_LINE (no strace writes one; /dev/zero or a file without newlines
   * does): its text stops being kept, and it becomes one malformed line when it ends.
   */
  private overlong = false;

  private endOverlong(): void {
    this.lineNo++;
    this.malformed(this.lineNo, this.carry.slice(0, 200), `line longer than ${MAX_LINE} characters`);
    this.carry = '';
    this.overlong = false;
  }

  /** End of input: flush the last line, then report children whose parent never returned. */
  end(): void {
    if (this.overlong) this.endOverlong();
    if (this.carry !== '') {
      const c = this.carry;
      this.carry = '';
      this.physicalLine(c);
    }
    if (this.spliced !== '') {
      const s = this.spliced;
      this.spliced = '';
      this.logicalLine(s, this.splicedLine);
    }
    // Children whose creating call never returned in the trace: report their calls anyway
    // under their own pid; replay treats a pid it never saw created as outside the trace.
    for (const [pid, lines] of [...this.waiting]) {
      if (this.adoptOrphan(pid)) continue;
      this.waiting.delete(pid);
      this.waitingCount -= lines.length;
      this.live.add(pid);
      for (const l of lines) this.logicalLine(l.text, l.line, true);
    }
    // Calls that never completed (the trace ends inside them, or their thread was killed by
    // another thread's exec): reported without a result, which replay counts as not modeled.
    for (const [pid, p] of this.pending) {
      this.onRecord({
        kind: 'syscall',
        pid,
        line: p.entryLine,
        entryLine: p.entryLine,
        name: p.name,
        args: p.args,
        ret: undefined,
        errno: undefined,
        aux: '',
        retText: '(never completed)',
      });
    }
    this.pending.clear();
    for (const rec of this.orphanClones.splice(0)) this.onRecord(rec);
  }

  private physicalLine(text: string): void {
    this.lineNo++;
    // strace on stderr prints "strace: Process N attached" in the middle of the line it was
    // writing; the line continues on the next physical line.
    if (this.spliced !== '') {
      text = this.spliced + text;
      this.spliced = '';
      this.logicalLine(text, this.splicedLine);
      return;
    }
    // A thread killed in the middle of a call (another thread exec'd) leaves its line
    // unterminated on stderr; strace's next "[pid N] " prefix follows on the same line.
    const cut = text.indexOf('[pid ', 1);
    if (cut > 0 && isPidPrefix(text, cut)) {
      this.logicalLine(`${text.slice(0, cut)} <unfinished ...>`, this.lineNo);
      text = text.slice(cut);
    }
    // The same with -o: the unterminated line runs into the next record's pid column, e.g.
    // `… FUTEX_BITSET_MATCH_ANY22220 1795734391.471027 +++ superseded by execve in pid 22223 +++`.
    const glued = this.gluedSuperseded(text);
    if (glued > 0) {
      this.logicalLine(`${text.slice(0, glued)} <unfinished ...>`, this.lineNo);
      text = text.slice(glued);
    }
    const n = text.length;
    if (n > 0 && text.charCodeAt(n - 1) === 100 /* d */ && text.endsWith(' attached')) {
      const k = text.lastIndexOf('strace: Process ');
      if (k > 0) {
        this.spliced = text.slice(0, k);
        this.splicedLine = this.lineNo;
        return;
      }
    }
    this.logicalLine(text, this.lineNo);
  }

  /**
   * Where a `PID [TIMESTAMP] +++ superseded by execve in pid N +++` record starts inside a line
   * that an exec cut short (0 if it is not such a line). The record's pid is the thread-group
   * leader, a live pid; of the digits before the timestamp, the longest suffix naming a live
   * pid is taken, since the cut-off text may itself end in digits.
   */
  private gluedSuperseded(text: string): number {
    // Called for every physical line: the cheap test first.
    if (!text.endsWith(' +++')) return 0;
    const k = text.lastIndexOf('+++ superseded by execve in pid ');
    if (k <= 0) return 0;
    let j = spacesBefore(text, k);
    // -r with -t/-tt/-ttt prints `ABS (+ REL)`: the relative part comes last.
    if (text.charCodeAt(j - 1) === 41 /* ) */) {
      const open = text.lastIndexOf('(+', j - 1);
      if (open < 0 || !/^\(\+ *[0-9.]+\)$/.test(text.slice(open, j))) return 0;
      j = spacesBefore(text, open);
    }
    // A timestamp (-t/-tt/-ttt, or -r alone): digits with ':' or '.'.
    let t = j;
    while (t > 0 && /[0-9.:]/.test(text[t - 1]!)) t--;
    const token = text.slice(t, j);
    if (token.includes('.') || token.includes(':')) {
      // A glued record's pid stands before its timestamp, after a space. A timestamp that
      // starts the line is the record's own (strace drops the pid column with one process
      // left), and its last digits are not a pid, even when they spell a live one (-tt's
      // 18:53:31.641877 with pid 877).
      if (t === 0 || text.charCodeAt(t - 1) !== 32) return 0;
      j = spacesBefore(text, t);
    }
    let d = j;
    while (d > 0 && text.charCodeAt(d - 1) >= 48 && text.charCodeAt(d - 1) <= 57) d--;
    for (let start = d; start < j; start++) {
      if (text.charCodeAt(start) === 48) continue;
      if (this.live.has(Number(text.slice(start, j)))) return start;
    }
    return 0;
  }

  private logicalLine(s: string, line: number, replaying = false): void {
    const n = s.length;
    let i = 0;
    let pid = -1;
    let c = s.charCodeAt(0);
    if (c === 91 /* [ */ && s.startsWith('[pid ')) {
      i = 5;
      while (s.charCodeAt(i) === 32) i++;
      let v = 0;
      let digits = 0;
      for (c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) {
        v = v * 10 + (c - 48);
        digits++;
      }
      const close = s.indexOf(']', i);
      if (digits === 0 || close < 0) {
        this.malformed(line, s, 'bad [pid N] prefix');
        return;
      }
      if (v > PID_MAX_LIMIT) {
        this.malformed(line, s, 'pid above the kernel limit');
        return;
      }
      pid = v;
      i = close + 1;
    } else if (c >= 48 && c <= 57) {
      // `-o` with -f: a pid column. A timestamp also starts with a digit but has ':' or '.'.
      let v = 0;
      let j = 0;
      for (; c >= 48 && c <= 57; c = s.charCodeAt(++j)) v = v * 10 + (c - 48);
      if (c === 60 /* < */) {
        // -Y: `1234<comm> `
        const gt = s.indexOf('> ', j);
        if (gt > 0) {
          j = gt + 1;
          c = 32;
        }
      }
      if (c === 32) {
        if (v > PID_MAX_LIMIT) {
          this.malformed(line, s, 'pid above the kernel limit');
          return;
        }
        pid = v;
        i = j;
      }
    }
    while (s.charCodeAt(i) === 32) i++;
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // Timestamp: -t 12:34:56, -tt 12:34:56.123456, -ttt 1700000000.123456, -r 0.000123.
      let j = i;
      for (; j < n; j++) {
        const d = s.charCodeAt(j);
        if (!((d >= 48 && d <= 57) || d === 58 || d === 46)) break;
      }
      if (s.charCodeAt(j) !== 32) {
        this.malformed(line, s, 'bad timestamp');
        return;
      }
      i = j;
      while (s.charCodeAt(i) === 32) i++;
      c = s.charCodeAt(i);
    }
    if (c === 40 /* ( */ && s.charCodeAt(i + 1) === 43 /* + */) {
      // -t with -r: `12:34:56 (+     0.000123) name(`
      const e = s.indexOf(') ', i);
      if (e < 0) {
        this.malformed(line, s, 'bad relative timestamp');
        return;
      }
      i = e + 2;
      c = s.charCodeAt(i);
    }
    // -i `[00007f0123456789] ` (instruction pointer) and -n `[  59] ` (syscall number, with a
    // personality as `[x32:  59]`), in either order: brackets of hex digits, ':', 'x' and spaces
    // (`[????????????????]` where strace has no instruction pointer, as on exit lines).
    while (c === 91 /* [ */) {
      let j = i + 1;
      for (; j < n && j - i < 26; j++) {
        const d = s.charCodeAt(j);
        const lower = d | 0x20;
        const ok = (d >= 48 && d <= 57) || (lower >= 97 && lower <= 102) || lower === 120 || d === 58 || d === 32;
        if (!ok && d !== 63 /* ? */) break;
      }
      if (s.charCodeAt(j) !== 93 /* ] */ || s.charCodeAt(j + 1) !== 32) break;
      i = j + 2;
      while (s.charCodeAt(i) === 32) i++;
      c = s.charCodeAt(i);
    }
    if (i >= n) {
      if (n === 0 || pid >= 0) {
        this.malformed(line, s, 'empty line');
        return;
      }
      this.malformed(line, s, 'blank line');
      return;
    }

    if (c === 60 /* < */) {
      // `<... NAME resumed>REST`
      if (!s.startsWith('<... ', i)) {
        this.malformed(line, s, 'expected "<... NAME resumed>"');
        return;
      }
      const e = s.indexOf(' resumed>', i + 5);
      if (e < 0) {
        this.malformed(line, s, 'expected "<... NAME resumed>"');
        return;
      }
      const name = s.slice(i + 5, e);
      if (!this.names.has(name)) return;
      const who = this.resolvePid(pid, s, line, replaying, name, true);
      if (who === undefined) return;
      const p = this.pending.get(who);
      if (p === undefined || p.name !== name) {
        this.malformed(line, s, `"${name}" resumed for pid ${who} without its start`);
        return;
      }
      this.pending.delete(who);
      if (CLONE_NAMES.has(name)) this.pendingClones--;
      let rest = s.slice(e + 9);
      if (rest.startsWith(' ')) rest = rest.slice(1);
      // `<... clone3 resumed> <unfinished ...>) = ?`: the caller was killed inside the call.
      if (rest.startsWith('<unfinished ...>')) rest = rest.slice(16);
      if (rest.endsWith('<unfinished ...>')) {
        // Resumed and interrupted again (rare: a signal during a restarted call).
        this.pending.set(who, { name, args: p.args + rest.slice(0, rest.length - 16), entryLine: p.entryLine });
        if (CLONE_NAMES.has(name)) this.pendingClones++;
        return;
      }
      this.complete(who, name, p.args, rest, 0, line, p.entryLine, s);
      return;
    }
    if (c === 45 /* - */) {
      if (s.startsWith('---', i)) return; // signal delivery / stop: does not change credentials
      this.malformed(line, s, 'unrecognised line');
      return;
    }
    if (c === 43 /* + */) {
      this.exitLine(pid, s, i, line, replaying);
      return;
    }

    // NAME(ARGS) = RET …  |  NAME(ARGS <unfinished ...>
    let j = i;
    for (; j < n; j++) {
      const d = s.charCodeAt(j);
      if (!((d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95 || (d >= 65 && d <= 90) || d === 63)) break;
    }
    if (s.charCodeAt(j) !== 40 /* ( */) {
      if (s.startsWith('strace: ', i)) return; // strace's own messages (attached/detached/...)
      this.malformed(line, s, 'expected NAME(');
      return;
    }
    const name = s.slice(i, j);
    if (!this.names.has(name)) return;
    const who = this.resolvePid(pid, s, line, replaying, name, false);
    if (who === undefined) return;
    if (s.charCodeAt(s.length - 1) === 62 /* > */ && s.endsWith(' ...>')) {
      // -o: an exec by a non-leader thread ends its line with " <pid changed to LEADER ...>";
      // the call resumes under the leader's pid.
      const pc = s.lastIndexOf(' <pid changed to ');
      if (pc > j) {
        const to = Number(s.slice(pc + 17, s.length - 5));
        if (Number.isInteger(to) && to > 0) {
          this.pending.set(to, { name, args: s.slice(j + 1, pc), entryLine: line });
          return;
        }
      }
    }
    if (s.endsWith('<unfinished ...>')) {
      // strace writes "ARGS <unfinished ...>" (ARGS ending ", " when cut between arguments).
      let a = s.length - 16;
      if (a > j + 1 && s.charCodeAt(a - 1) === 32) a--;
      this.pending.set(who, { name, args: s.slice(j + 1, a), entryLine: line });
      if (CLONE_NAMES.has(name)) this.pendingClones++;
      return;
    }
    this.complete(who, name, '', s, j + 1, line, line, s);
  }

  /**
   * Which task a line belongs to. Unprefixed lines belong to the first process (pid 0 until
   * known) or, once it is gone, to the only process left. A prefixed pid never seen before is
   * the first process showing its pid, or a child printing before its parent's clone returned —
   * its lines wait until that clone's return value names it.
   */
  private resolvePid(
    pid: number,
    s: string,
    line: number,
    replaying: boolean,
    name: string,
    resumed: boolean,
  ): number | undefined {
    if (pid < 0) {
      if (this.firstAlive || this.live.size !== 1) return this.firstPid ?? 0;
      for (const p of this.live) return p;
      return 0;
    }
    if (pid === this.firstPid || this.live.has(pid) || replaying) {
      if (this.unclaimed.length > 0) this.claim(pid);
      return pid;
    }
    if (this.firstPid === undefined && this.firstAlive) {
      const p0 = this.pending.get(0);
      const resumesFirst = resumed && p0 !== undefined && p0.name === name;
      if (resumesFirst || this.pendingClones === 0) {
        this.bindFirst(pid, line);
        return pid;
      }
    }
    if (this.pendingClones > 0) {
      let w = this.waiting.get(pid);
      if (w === undefined) this.waiting.set(pid, (w = []));
      if (++this.waitingCount > MAX_WAITING_LINES) {
        this.malformed(line, s, `too many lines from pid ${pid} before its creating clone returned`);
        return undefined;
      }
      w.push({ line, text: s });
      return undefined;
    }
    // A child that printed nothing before, while a clone returned a pid nobody printed under:
    // the same task, seen from two pid namespaces.
    const as = this.unclaimed.shift();
    if (as !== undefined) {
      this.live.add(pid);
      this.live.delete(as);
      this.onRecord({ kind: 'alias', pid, as, line });
      return pid;
    }
    // A pid that no clone in the trace created (strace -p, or a trace cut at the start).
    this.live.add(pid);
    return pid;
  }

  private bindFirst(pid: number, line: number): void {
    this.firstPid = pid;
    this.live.add(pid);
    const p0 = this.pending.get(0);
    if (p0 !== undefined) {
      this.pending.delete(0);
      this.pending.set(pid, p0);
    }
    this.onRecord({ kind: 'firstpid', pid, line });
  }

  private complete(
    pid: number,
    name: string,
    head: string,
    s: string,
    from: number,
    line: number,
    entryLine: number,
    raw: string,
  ): void {
    // strace pads short calls to a column: `getpid()                = 42`.
    const k = s.lastIndexOf(' = ');
    let close = k;
    while (close > from && s.charCodeAt(close - 1) === 32) close--;
    if (k < 0 || close <= from - 1 || s.charCodeAt(close - 1) !== 41 /* ) */) {
      this.malformed(line, raw, 'expected ") = RESULT"');
      return;
    }
    const args = head + s.slice(from, close - 1);
    const res = parseResult(s, k + 3);
    if (res === undefined) {
      this.malformed(line, raw, 'unrecognised return value');
      return;
    }
    const rec: SyscallRecord = {
      kind: 'syscall',
      pid,
      line,
      entryLine,
      name,
      args,
      ret: res.ret,
      errno: res.errno,
      aux: res.aux,
      retText: res.text,
    };
    if (CLONE_NAMES.has(name) && res.ret !== undefined && res.ret > PID_MAX_LIMIT) {
      // No kernel hands out such a pid: the line was not written by strace.
      this.malformed(line, raw, `${name} returned ${res.ret}, above the kernel's pid limit`);
      return;
    }
    if (CLONE_NAMES.has(name) && res.ret === undefined) {
      // `<... clone3 resumed> <unfinished ...>) = ?`: the caller died (another thread exec'd)
      // after the kernel made the child but before strace saw the return value. The child's
      // lines are waiting; pair it with this call when it shows itself (adoptOrphan).
      this.orphanClones.push(rec);
      return;
    }
    if (pid === 0 && name === 'getpid' && res.ret !== undefined && res.ret > 0 && this.firstPid === undefined) {
      this.bindFirst(res.ret, line);
      this.onRecord({ ...rec, pid: res.ret });
      return;
    }
    this.onRecord(rec);
    if (CLONE_NAMES.has(name) && res.ret !== undefined && res.ret > 0) this.childCreated(res.ret);
  }

  private childCreated(child: number): void {
    this.live.add(child);
    const w = this.waiting.get(child);
    if (w !== undefined) {
      this.waiting.delete(child);
      this.waitingCount -= w.length;
      for (const l of w) this.logicalLine(l.text, l.line, true);
      return;
    }
    if (this.pendingClones === 0 && this.waiting.size > 0) {
      // Every clone has returned, yet a child still waits: it is this one under its pid in
      // another namespace (clone returns the child's pid in the caller's namespace).
      const [other, lines] = this.waiting.entries().next().value as [number, { line: number; text: string }[]];
      this.waiting.delete(other);
      this.waitingCount -= lines.length;
      this.live.delete(child);
      this.live.add(other);
      this.onRecord({ kind: 'alias', pid: other, as: child, line: lines[0]?.line ?? 0 });
      for (const l of lines) this.logicalLine(l.text, l.line, true);
      return;
    }
    if (this.unclaimed.length >= 64) this.unclaimed.shift();
    this.unclaimed.push(child);
  }

  private claim(pid: number): void {
    const k = this.unclaimed.indexOf(pid);
    if (k >= 0) this.unclaimed.splice(k, 1);
  }

  /**
   * A waiting child whose creating call ended without a return value: report that call as
   * having returned the child's pid (the kernel did create it: it ran), then its lines.
   */
  private adoptOrphan(child: number): boolean {
    const rec = this.orphanClones.shift();
    if (rec === undefined) return false;
    this.onRecord({ ...rec, ret: child, retText: `${child} (inferred: the caller died before the return)` });
    this.childCreated(child);
    return true;
  }

  private exitLine(pid: number, s: string, i: number, line: number, replaying: boolean): void {
    // +++ exited with N +++ | +++ killed by SIGX [(core dumped)] +++ | +++ superseded by execve in pid N +++
    const body = s.slice(i + 4, s.endsWith(' +++') ? s.length - 4 : s.length);
    const who = this.resolvePid(pid, s, line, replaying, '', false);
    if (who === undefined) return; // a child not created yet: replayed after its clone returns
    if (body.startsWith('exited with ')) {
      const st = Number(body.slice(12));
      this.exited(who);
      this.onRecord({ kind: 'exit', pid: who, line, status: Number.isFinite(st) ? st : body });
      return;
    }
    if (body.startsWith('killed by ')) {
      this.exited(who);
      this.onRecord({ kind: 'exit', pid: who, line, status: body.slice(10).split(' ')[0] ?? body });
      return;
    }
    if (body.startsWith('superseded by execve in pid ')) {
      const old = Number(body.slice(28));
      if (this.waiting.has(old)) this.adoptOrphan(old);
      if (!Number.isInteger(old)) {
        this.malformed(line, s, 'bad "superseded by execve" line');
        return;
      }
      const p = this.pending.get(old);
      if (p !== undefined) {
        this.pending.delete(old);
        this.pending.set(who, p);
      }
      this.live.delete(old);
      this.onRecord({ kind: 'superseded', pid: who, oldPid: old, line });
      return;
    }
    this.malformed(line, s, 'unrecognised +++ line');
  }

  private exited(pid: number): void {
    if (pid === 0 || pid === this.firstPid) this.firstAlive = false;
    this.live.delete(pid);
    const p = this.pending.get(pid);
    if (p !== undefined) {
      this.pending.delete(pid);
      if (CLONE_NAMES.has(p.name)) this.pendingClones--;
    }
  }

  private malformed(line: number, text: string, reason: string): void {
    this.onRecord({ kind: 'malformed', line, text, reason });
  }
}

/** `[pid` + spaces + a digit at `k`: strace's prefix, not text inside an argument. */
function isPidPrefix(s: string, k: number): boolean {
  let j = k + 5;
  while (s.charCodeAt(j) === 32) j++;
  const c = s.charCodeAt(j);
  return c >= 48 && c <= 57;
}

interface ParsedResult {
  ret: number | undefined;
  errno: string | undefined;
  aux: string;
  text: string;
}

/**
 * The text after ") = ": `0`, `-1 EPERM (Operation not permitted)`, `?`, `0x10 (SECBIT_…)`,
 * `3</dev/null>` (-y), `? ERESTARTSYS (…)`, each optionally followed by ` <0.000012>` (-T).
 */
export function parseResult(s: string, i: number): ParsedResult | undefined {
  let end = s.length;
  // -T: a trailing " <seconds>"
  if (s.charCodeAt(end - 1) === 62 /* > */) {
    const lt = s.lastIndexOf(' <');
    if (lt >= i) {
      const inner = s.charCodeAt(lt + 2);
      if ((inner >= 48 && inner <= 57) || s.startsWith('unavailable>', lt + 2)) end = lt;
    }
  }
  const text = s.slice(i, end);
  let ret: number | undefined;
  let j = i;
  if (s.charCodeAt(j) === 63 /* ? */) {
    j++;
  } else {
    let neg = false;
    if (s.charCodeAt(j) === 45) {
      neg = true;
      j++;
    }
    let v = 0;
    const st = j;
    if (s.charCodeAt(j) === 48 && s.charCodeAt(j + 1) === 120) {
      j += 2;
      for (;;) {
        const d = s.charCodeAt(j);
        const h = d >= 48 && d <= 57 ? d - 48 : d >= 97 && d <= 102 ? d - 87 : d >= 65 && d <= 70 ? d - 55 : -1;
        if (h < 0) break;
        v = v * 16 + h;
        j++;
      }
    } else {
      for (let d = s.charCodeAt(j); d >= 48 && d <= 57; d = s.charCodeAt(++j)) v = v * 10 + (d - 48);
    }
    if (j === st) return undefined;
    ret = neg ? -v : v;
    // -y: fd annotation `3</path>` or `3<socket:[1234]>`
    if (s.charCodeAt(j) === 60) {
      const gt = s.lastIndexOf('>', end - 1);
      j = gt < j ? end : gt + 1;
    }
  }
  let errno: string | undefined;
  if (s.charCodeAt(j) === 32 && s.charCodeAt(j + 1) === 69 /* E */) {
    let k = j + 1;
    for (let d = s.charCodeAt(k); (d >= 65 && d <= 90) || (d >= 48 && d <= 57) || d === 95; d = s.charCodeAt(++k));
    errno = s.slice(j + 1, k);
    j = k;
  }
  const aux = j < end ? s.slice(j, end).trim() : '';
  return { ret, errno, aux, text };
}
