/**
 * Where capability checks come from (src/live/cap-source.ts): the tracepoint, the kprobe
 * fallback for kernels before 6.14, or a one-line error naming the version. The selection runs
 * on tracefs-shaped directories; the kprobe definitions are checked as written to a
 * kprobe_events file; the records are decoded from ring-buffer pages laid out by the kprobe
 * events' format files, as kernel/trace/trace_kprobe.c defines them on x86-64 (__probe_ip, or
 * __probe_func and __probe_ret_ip, then the fetch arguments in order). This kernel has no
 * kprobe_events (CONFIG_KPROBE_EVENTS off), so those texts are written from the kernel's
 * layout, not recorded, and the live test below skips here, saying why; the fallback runs for
 * real on Debian's 6.1 kernel under qemu in test/live/kprobe-vm.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEventFormat } from '../../src/caps/ringbuf.js';
import {
  CAP_TRACEPOINT_SINCE,
  CapEvents,
  checkFilter,
  chooseCapSource,
  KPROBE_DEFS,
} from '../../src/live/cap-source.js';
import { decodePages, type Ev, type Formats } from '../../src/live/rawevents.js';
import { capctl, isRoot } from './helpers.js';
import { TRACING, tracefsReady } from './tracefs-ready.js';

// Mounted before asking what this kernel offers (the tests that need it skip without it).
tracefsReady();
const hasKprobeEvents = existsSync(join(TRACING, 'kprobe_events'));

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A tracefs-shaped directory with the given files. */
function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'capctl-i9-capsrc-'));
  made.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

const TRACEPOINT = { 'events/capability/cap_capable/format': 'name: cap_capable\nID: 2073\n' };

describe('choosing the source of capability checks', () => {
  it('the tracepoint when the kernel has it, even with kprobe_events', () => {
    expect(chooseCapSource(fakeRoot(TRACEPOINT), 'x64', undefined)).toBe('tracepoint');
    expect(chooseCapSource(fakeRoot({ ...TRACEPOINT, kprobe_events: '' }), 'x64', undefined)).toBe('tracepoint');
  });

  it('kprobes on cap_capable without the tracepoint (x86-64), or when forced', () => {
    expect(chooseCapSource(fakeRoot({ kprobe_events: '' }), 'x64', undefined)).toBe('kprobe');
    expect(chooseCapSource(fakeRoot({ ...TRACEPOINT, kprobe_events: '' }), 'x64', 'kprobe')).toBe('kprobe');
  });

  it('neither: one line naming the version the tracepoint appeared in', () => {
    const err = (() => {
      try {
        chooseCapSource(fakeRoot({ available_events: '' }), 'x64', undefined);
      } catch (e) {
        return e as Error & { code: string };
      }
      return undefined;
    })();
    expect(err?.code).toBe('no-tracepoint');
    expect(err?.message).toBe(
      `this kernel has no capability:cap_capable tracepoint (it appeared in Linux ${CAP_TRACEPOINT_SINCE}), and it offers no kprobe_events to probe cap_capable instead (CONFIG_KPROBE_EVENTS)`,
    );
    expect(CAP_TRACEPOINT_SINCE).toBe('6.14');
  });

  it('kprobes on another architecture: refused (the argument registers are x86-64 ones)', () => {
    expect(() => chooseCapSource(fakeRoot({ kprobe_events: '' }), 'arm64', undefined)).toThrow(
      /Linux 6\.14.*x86-64 argument registers: this is arm64/,
    );
    expect(() => chooseCapSource(fakeRoot(TRACEPOINT), 'x64', 'bpf')).toThrow(/CAPCTL_CAP_SOURCE/);
    expect(() => chooseCapSource(fakeRoot(TRACEPOINT), 'x64', 'kprobe')).toThrow(
      /^CAPCTL_CAP_SOURCE=kprobe, and it offers no kprobe_events/,
    );
  });

  it.skipIf(!existsSync(join(TRACING, 'events/capability/cap_capable')))(
    'this machine: the tracepoint (needs the cap_capable tracepoint)',
    () => {
      expect(chooseCapSource(TRACING, process.arch, undefined)).toBe('tracepoint');
    },
  );

  it('filters: the tracepoint takes all three; with kprobes, cap is kept out of the kernel', () => {
    expect(checkFilter({})).toBeUndefined();
    expect(checkFilter({ refusedOnly: true, cap: 13, comm: 'ping' })).toBe('ret != 0 && cap == 13 && comm == "ping"');
    expect(() => checkFilter({ comm: 'a"b' })).toThrow();
  });
});

describe('the kprobe events', () => {
  it('are appended to kprobe_events under a group of their own, and deleted the same way', () => {
    const root = fakeRoot({ kprobe_events: 'p:other/probe do_sys_open\n' });
    const src = new CapEvents(root, 'kprobe');
    const text = readFileSync(join(root, 'kprobe_events'), 'utf8');
    const m =
      /^p:other\/probe do_sys_open\np:(capctl_\d+_[a-z0-9]+)\/cap_entry cap_capable cred=%di:x64 cap=%dx:s32 opts=%cx:u32\nr:\1\/cap_ret cap_capable ret=\$retval:s32\n$/.exec(
        text,
      );
    expect(m, text).not.toBeNull();
    const group = m![1]!;
    expect(group).toContain(`_${process.pid}_`);
    // kprobe_profile: "EVENT hits nmissed"; only our group's misses count.
    writeFileSync(
      join(root, 'kprobe_profile'),
      `  other/probe   100  7\n  ${group}/cap_entry   5000  2\n  ${group}/cap_ret   4998  3\n`,
    );
    expect(src.missed()).toBe(5);
    src.remove();
    src.remove(); // idempotent
    expect(readFileSync(join(root, 'kprobe_events'), 'utf8')).toBe(`${text}-:${group}/cap_entry\n-:${group}/cap_ret\n`);
    expect(KPROBE_DEFS.map((d) => d.symbol)).toEqual(['cap_capable', 'cap_capable']);
  });
});

// The format files of the two events, as trace_kprobe.c lays them out on x86-64.
const ENTRY_FORMAT = `name: cap_entry
ID: 2301
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;
\tfield:u64 cred;\toffset:16;\tsize:8;\tsigned:0;
\tfield:s32 cap;\toffset:24;\tsize:4;\tsigned:1;
\tfield:u32 opts;\toffset:28;\tsize:4;\tsigned:0;

print fmt: "(%lx) cred=0x%Lx cap=%d opts=%u", REC->__probe_ip, REC->cred, REC->cap, REC->opts
`;
const RET_FORMAT = `name: cap_ret
ID: 2302
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;
\tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;
\tfield:s32 ret;\toffset:24;\tsize:4;\tsigned:1;

print fmt: "(%lx <- %lx) ret=%d", REC->__probe_func, REC->__probe_ret_ip, REC->ret
`;

/** One ring-buffer page (events/header_page): timestamp, commit, then events of type_len words. */
function page(events: Buffer[]): Buffer {
  const p = Buffer.alloc(4096);
  p.writeBigUInt64LE(1_000_000n, 0);
  let off = 16;
  for (const e of events) {
    p.writeUInt32LE(((1 << 5) | (e.length / 4)) >>> 0, off); // delta 1, type_len = words
    e.copy(p, off + 4);
    off += 4 + e.length;
  }
  p.writeUInt32LE(off - 16, 8);
  return p;
}

function entry(tid: number, cap: number, opts: number, cred = 0xffff888100aa5500n): Buffer {
  const d = Buffer.alloc(32);
  d.writeUInt16LE(2301, 0);
  d.writeInt32LE(tid, 4);
  d.writeBigUInt64LE(0xffffffff81500000n, 8);
  d.writeBigUInt64LE(cred, 16);
  d.writeInt32LE(cap, 24);
  d.writeUInt32LE(opts, 28);
  return d;
}

function ret(tid: number, r: number): Buffer {
  const d = Buffer.alloc(28 + 4); // 28 bytes of fields, padded to whole words
  d.writeUInt16LE(2302, 0);
  d.writeInt32LE(tid, 4);
  d.writeBigUInt64LE(0xffffffff81500000n, 8);
  d.writeBigUInt64LE(0xffffffff81234567n, 16);
  d.writeInt32LE(r, 24);
  return d;
}

describe('kprobe records into check events', () => {
  const formats: Formats = { kentry: parseEventFormat(ENTRY_FORMAT), kret: parseEventFormat(RET_FORMAT) };
  const source = () => new CapEvents(fakeRoot({ kprobe_events: '' }), 'kprobe');
  const run = (src: CapEvents, batches: Buffer[][]) => {
    const out: Ev[] = [];
    for (const b of batches) {
      for (const e of decodePages([{ cpu: 0, page: page(b) }], formats)) {
        const c = src.feed(e);
        if (c) out.push(c);
      }
    }
    return out;
  };

  it('decodes both events by the format files', () => {
    const evs = decodePages([{ cpu: 0, page: page([entry(41, 13, 2), ret(41, -1)]) }], formats);
    expect(evs).toEqual([
      { ts: 1_000_001, kind: 'kentry', tid: 41, cred: 'ffff888100aa5500', cap: 13, opts: 2 },
      { ts: 1_000_002, kind: 'kret', tid: 41, ret: -1 },
    ]);
  });

  it('pairs each return with its thread’s entry, across batches and interleaved threads', () => {
    const got = run(source(), [[entry(41, 13, 0), entry(42, 21, 0), ret(42, 0)], [ret(41, -1)]]);
    expect(got.map((e) => e.kind === 'cap' && [e.tid, e.cap, e.ret, e.cred])).toEqual([
      [42, 21, 0, 'ffff888100aa5500'],
      [41, 13, -1, 'ffff888100aa5500'],
    ]);
  });

  it('refused only (returns filtered in the kernel): a granted call’s entry never names a later refusal', () => {
    // Thread 41: CAP_SYS_ADMIN granted (its return filtered out), then CAP_NET_RAW refused.
    const got = run(source(), [[entry(41, 21, 0)], [entry(41, 13, 0), ret(41, -1)]]);
    expect(got).toEqual([
      { ts: 1_000_002, kind: 'cap', tid: 41, cred: 'ffff888100aa5500', cap: 13, ret: -1, capableNsNull: false },
    ]);
    // A return without an entry (lost, or probes added mid-call) makes nothing.
    expect(run(source(), [[ret(43, -1)]])).toEqual([]);
  });

  it('--cap with kprobes is applied to the pair, not to the entry in the kernel', () => {
    const src = source();
    src.enable({ enableEvent: () => {} } as unknown as Parameters<CapEvents['enable']>[0], {
      refusedOnly: true,
      cap: 13,
    });
    const got = run(src, [[entry(41, 21, 0), ret(41, -1), entry(41, 13, 0), ret(41, -1)]]);
    expect(got.map((e) => e.kind === 'cap' && e.cap)).toEqual([13]);
  });

  it('other events pass through unchanged', () => {
    const e: Ev = { ts: 1, kind: 'exit', tid: 5, nr: 59, ret: 0 };
    expect(source().feed(e)).toBe(e);
  });
});

describe.skipIf(!isRoot || !hasKprobeEvents)(
  'learn through kprobes (needs kprobe_events, absent on this kernel)',
  () => {
    it('chown 1:1 FILE -> CHOWN with CAPCTL_CAP_SOURCE=kprobe', () => {
      const dir = mkdtempSync(join(tmpdir(), 'capctl-i9-kprobe-'));
      made.push(dir);
      writeFileSync(join(dir, 'file'), '');
      const out = join(dir, 'p.yaml');
      const r = capctl(['learn', '--out', out, '--', 'chown', '1:1', join(dir, 'file')], {
        env: { CAPCTL_CAP_SOURCE: 'kprobe' },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(out, 'utf8')).toMatch(/permitted: \[CHOWN\]/);
      expect(readFileSync(join(TRACING, 'kprobe_events'), 'utf8')).not.toMatch(/capctl_/);
    });
  },
);
