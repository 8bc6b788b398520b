/**
 * Every audit record of a multi-threaded replay names the right thread (tid) and process
 * (tgid), checked against an independent reading of the trace: a line's pid is its tid (the
 * first process's lines carry no pid in strace's stderr style); a clone/clone3/fork/vfork child
 * is a thread of its creator's process with CLONE_THREAD, else a process of its own; a thread
 * that execs takes over its leader's pid ("superseded by execve"). A child runs as soon as the
 * kernel has made it, so its lines may come before its creator's clone result (the creator's
 * "<unfinished ...>" entry line already names CLONE_THREAD): a pid first seen before the
 * clone that returns it is that clone's child from its first line on. On stderr, strace splices
 * "strace: Process N attached" into the line it was writing and prints the rest of that line,
 * unprefixed, on the next one: that rest is still the caller's (often the clone's result, so
 * also the line that says its child is not the first process).
 * The reading is itself checked against the kernel: every getpid()/gettid() answer in a trace
 * must equal the tgid/tid it derives for that line.
 *
 * Threads made by clone3(... CLONE_THREAD ...) in the first process used to get tgid
 * 0x3ff00000, the runtime's placeholder for a pid the trace had not named yet.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayAuditSink } from '../../src/audit/from-decision.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { replayFile } from '../../src/runtime/replay.js';
import {
  buildWorkspace,
  canRunKernelTests,
  recordTrace,
  removeWorkspace,
  STYLES,
  selfStatus,
  skipReason,
  type Workspace,
} from '../kernel/harness.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'traces');

/** trace line number -> [tid, tgid], read from the trace text alone. */
function identities(text: string): Map<number, [number, number]> {
  const lines = text.split('\n');
  const pidOf = (l: string): number | undefined => {
    const m = /^(?:\[pid\s+(\d+)\]|(\d+)\s)/.exec(l);
    return m ? Number(m[1] ?? m[2]) : undefined;
  };
  // strace on stderr splices "strace: Process N attached" into the line it was writing and
  // goes on with that line, unprefixed, on the next one: the rest of the same call.
  const cont = lines.map((l, i) => i > 0 && / attached$/.test(lines[i - 1]!) && pidOf(l) === undefined);
  // The first process: the first pid shown that no clone returned (stderr style prints its
  // own lines without a pid).
  const returned = new Set<number>();
  lines.forEach((l, i) => {
    const m = /(?:(?:clone3?|v?fork)\b.*|^\s*=>.*)=\s+(\d+)(?:\s|$)/.exec(cont[i] ? lines[i - 1] + l : l);
    if (m) returned.add(Number(m[1]));
  });
  let first = 0;
  for (const l of lines) {
    const p = pidOf(l);
    if (p !== undefined && !returned.has(p)) {
      first = p;
      break;
    }
  }
  const pids: number[] = [];
  lines.forEach((l, i) => {
    pids.push(cont[i] ? pids[i - 1]! : (pidOf(l) ?? first));
  });
  // Who created whom. A clone's result may come on a later line of the same pid (a
  // "<... clone3 resumed>" line, or the rest of the line after strace's "Process N attached").
  const CLONE = /(?:^|[\s\]])(?:clone3?|v?fork)\(/;
  const RESULT = /=\s+(\d+)(?:\s|$)/;
  const created: { line: number; child: number; thread: boolean; creator: number }[] = [];
  const pending = new Map<number, boolean>();
  lines.forEach((l, i) => {
    const pid = pids[i]!;
    if (CLONE.test(l)) pending.set(pid, /CLONE_THREAD/.test(l));
    if (!pending.has(pid)) return;
    const r = RESULT.exec(l);
    if (r && !/unfinished \.\.\.>/.test(l)) {
      created.push({ line: i + 1, child: Number(r[1]), thread: pending.get(pid)!, creator: pid });
      pending.delete(pid);
    }
  });
  const tgid = new Map<number, number>([[first, first]]);
  const byLine = new Map(created.map((c) => [c.line, c]));
  const out = new Map<number, [number, number]>();
  lines.forEach((_, i) => {
    const pid = pids[i]!;
    if (!tgid.has(pid)) {
      // Seen before the clone that returns it (its creator is inside that clone now).
      const c = created.find((k) => k.child === pid && k.line > i + 1);
      tgid.set(pid, c?.thread ? (tgid.get(c.creator) ?? c.creator) : pid);
    }
    out.set(i + 1, [pid, tgid.get(pid)!]);
    const c = byLine.get(i + 1);
    if (c) tgid.set(c.child, c.thread ? tgid.get(pid)! : c.child);
  });
  return out;
}

async function auditedReplay(trace: string, status: string): Promise<AuditRecord[]> {
  // Every decision, allowed or not ('all'): the most records, threads' included; the sink is
  // what replay --audit writes through.
  const recs: AuditRecord[] = [];
  const sink = new ReplayAuditSink('all', {}, (r) => recs.push({ ...r, time: '' }));
  await replayFile(trace, {
    status,
    file: trace,
    onDecisionAt: (ev, where) => sink.decision(ev, where),
    onFirstPid: (pid) => sink.firstPid(pid),
  });
  sink.end();
  return recs;
}

/** The trace's own getpid()/gettid() answers (the kernel's tgid and tid) against identities(). */
function checkKernelAnswers(text: string, ids: Map<number, [number, number]>, trace: string): number {
  let n = 0;
  text.split('\n').forEach((l, i) => {
    const m = /(?:^|[\s\]])(getpid|gettid)\(\)\s+=\s+(\d+)(?:\s|$)/.exec(l);
    if (!m) return;
    const [tid, tgid] = ids.get(i + 1)!;
    expect(Number(m[2]), `${trace}:${i + 1} ${m[1]}`).toBe(m[1] === 'getpid' ? tgid : tid);
    n++;
  });
  return n;
}

function check(trace: string, recs: AuditRecord[]): number {
  const text = readFileSync(trace, 'utf8');
  const ids = identities(text);
  expect(checkKernelAnswers(text, ids, trace)).toBeGreaterThan(0);
  let threads = 0;
  for (const r of recs) {
    const [tid, tgid] = ids.get(r.source!.line)!;
    expect([r.tid, r.tgid], `${trace}:${r.source!.line} ${r.syscall}`).toEqual([tid, tgid]);
    if (tid !== tgid) threads++;
  }
  return threads;
}

describe('audit records name the right thread and process', () => {
  it('the recorded multi-threaded fixture (clone, clone3 CLONE_THREAD, exec by a thread): every record', async () => {
    const trace = join(FIX, 'gen-threads-exec.stderr.strace');
    const recs = await auditedReplay(trace, readFileSync(join(FIX, 'root.status'), 'utf8'));
    expect(recs.length).toBeGreaterThan(20);
    expect(check(trace, recs)).toBeGreaterThan(0); // records of non-leader threads were checked
    expect(recs.every((r) => r.tgid < 0x3ff00000 && r.tid < 0x3ff00000)).toBe(true);
  });

  // Recorded excerpts where the trace's order or layout hides who a line belongs to; each names
  // one record and the kernel's word on it (the task's own getpid() in the same excerpt).
  const EXCERPTS = [
    {
      // Lines 4-8: thread 7068 calls gettid, mknodat, unlink, setuid, capget while the first
      // process's clone3(CLONE_THREAD) is "<unfinished ...>"; line 9 returns 7068; line 11 is
      // the thread's getpid() = 7064.
      what: "a thread whose calls come before its creator's clone3 result",
      file: 'thread-before-clone3-returns.stderr.strace',
      record: { line: 5, syscall: 'mknod', tid: 7068, tgid: 7064 },
      threadRecords: 2, // mknodat (CAP_MKNOD), setuid (CAP_SETUID)
    },
    {
      // Line 10: 30408's clone3(CLONE_THREAD …}strace: Process 30412 attached; line 11 is the
      // rest of that call, unprefixed (" => {parent_tid=[30412]}, 88) = 30412"), not the first
      // process's; line 15 is the thread's getpid() = 30408.
      what: 'a thread made by a clone3 line strace split at "Process N attached"',
      file: 'thread-attached-splice.stderr.strace',
      record: { line: 17, syscall: 'prctl', tid: 30412, tgid: 30408 },
      threadRecords: 1, // PR_CAP_AMBIENT_RAISE
    },
    {
      // Line 8 (", child_tidptr=…) = 10763") is the rest of the first process's clone on line
      // 7, so 10763, the first pid a prefix shows, is its child and not the first process
      // (whose getpid() = 10761 on lines 2 and 15).
      what: 'the first process, whose only fork strace split at "Process N attached"',
      file: 'fork-attached-splice.stderr.strace',
      record: { line: 4, syscall: 'setresuid', tid: 10761, tgid: 10761 },
      threadRecords: 0,
    },
  ];
  for (const x of EXCERPTS) {
    it(`${x.what} (recorded): its records name its thread and process`, async () => {
      const trace = join(FIX, x.file);
      const recs = await auditedReplay(trace, readFileSync(join(FIX, 'root.status'), 'utf8'));
      const r = recs.find((k) => k.source!.line === x.record.line);
      expect([r?.syscall, r?.tid, r?.tgid]).toEqual([x.record.syscall, x.record.tid, x.record.tgid]);
      expect(identities(readFileSync(trace, 'utf8')).get(x.record.line)).toEqual([x.record.tid, x.record.tgid]);
      expect(check(trace, recs)).toBe(x.threadRecords);
    });
  }

  describe.skipIf(!canRunKernelTests)(
    `freshly recorded traces in several strace styles (${skipReason || 'root, gcc, strace, setcap'})`,
    () => {
      let ws: Workspace;
      beforeAll(() => {
        ws = buildWorkspace();
      }, 60_000);
      afterAll(() => removeWorkspace(ws));
      // -o file (pid on every line), stderr ([pid N] prefixes, first process bare), -i -n, -qq.
      for (const k of [0, 1, 11, 12]) {
        it(`style ${JSON.stringify(STYLES[k])}`, async () => {
          const dir = join(ws.dir, `id-${k}`);
          mkdirSync(dir);
          const trace = join(dir, 'trace');
          let threads = 0;
          for (const seed of [7, 4242]) {
            await recordTrace([ws.targets[0]!, String(seed), '40', ws.nodes, ...ws.targets], trace, STYLES[k]!);
            const recs = await auditedReplay(trace, selfStatus());
            expect(recs.length).toBeGreaterThan(0);
            threads += check(trace, recs);
          }
          expect(threads).toBeGreaterThan(0);
        }, 60_000);
      }
    },
  );
});
