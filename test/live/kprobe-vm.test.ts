/**
 * The kprobe fallback of learn and audit follow, run for real: this machine's kernel has the
 * cap_capable tracepoint and no kprobe_events, so the test boots Debian's own kernel (bookworm:
 * 6.1, before the tracepoint) under qemu, with the host's root shared read-only, and runs
 * test/vm/kprobe-guest.sh there. capctl picks kprobes by itself in that guest; the records the
 * guest wrote are judged here. .ci/guest-kernel unpacks the kernel; without it (or qemu) the
 * test skips, saying which.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGuestKernel, type GuestKernel, type GuestRun, runGuest } from '../vm/kernel-vm.js';
import { ensureBuilt, has, isRoot, root } from './helpers.js';

const kernel = isRoot ? findGuestKernel() : 'not root (qemu shares the host root as root)';
const skip = typeof kernel === 'string' ? ` (skipped: ${kernel})` : '';

interface LearnJson {
  exitStatus: number | null;
  candidates: string[];
  needed?: string[];
  verified: boolean;
  lost: { overrun: number; dropped: number };
}

describe.skipIf(typeof kernel === 'string')(`the kprobe fallback on an older kernel, in qemu${skip}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'capctl-i9-vm-'));
  const out = join(work, 'out');
  let run: GuestRun;
  const file = (name: string) => readFileSync(join(out, name), 'utf8');
  /** A result file, or '' when the guest never wrote it (the console then says why). */
  const maybe = (name: string) => {
    try {
      return file(name);
    } catch {
      return '';
    }
  };
  /** What a failed expectation shows: capctl's stderr, the guest's steps and its console. */
  const why = (name: string) =>
    `${maybe(name)}\n--- guest steps (seconds since boot) ---\n${maybe('steps')}--- guest console (${run.ms} ms) ---\n${run.console.slice(-4000)}`;

  beforeAll(() => {
    ensureBuilt();
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    if (has('gcc')) {
      execFileSync('gcc', ['-O2', '-o', join(out, 'bind80'), join(root, 'test', 'live', 'fixtures', 'bind80.c')]);
    }
    run = runGuest(kernel as GuestKernel, join(root, 'test', 'vm', 'kprobe-guest.sh'), out, work, 400_000);
  }, 420_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('the guest ran its kernel, without the tracepoint, with kprobe_events', () => {
    expect(run.status, why('source')).toBe(0);
    expect(file('uname').trim()).toBe((kernel as GuestKernel).release);
    expect(file('source').trim()).toBe('no tracepoint');
  });

  const programs = [
    { name: 'chown', what: 'chown 1:1 FILE', cap: 'CAP_CHOWN', skip: false },
    { name: 'ping', what: 'ping -c1 127.0.0.1', cap: 'CAP_NET_RAW', skip: false },
    { name: 'nice', what: 'nice -n -5 true', cap: 'CAP_SYS_NICE', skip: false },
    { name: 'bind80', what: 'a server binding port 80', cap: 'CAP_NET_BIND_SERVICE', skip: !has('gcc') },
  ];
  for (const { name, what, cap, skip } of programs) {
    it.skipIf(skip)(
      `learn through kprobes: ${what} -> ${cap.slice(4)}, verified sufficient and minimal${skip ? ' (skipped: no gcc)' : ''}`,
      () => {
        expect(file(`${name}.status`).trim(), why(`${name}.err`)).toBe('0');
        const r = JSON.parse(file(`${name}.json`)) as LearnJson;
        expect(r.exitStatus).toBe(0);
        expect(r.needed, why(`${name}.err`)).toEqual([cap]);
        expect(r.verified).toBe(true);
        expect([r.lost.overrun, r.lost.dropped]).toEqual([0, 0]);
        expect(file(`${name}.yaml`)).toMatch(new RegExp(`permitted: \\[${cap.slice(4)}\\]`));
      },
    );
  }

  it('audit follow through kprobes: the refusal is recorded with its cap, comm and user; SIGTERM removes instance and probes', () => {
    expect(file('denied.status').trim(), why('denied.err')).not.toBe('0');
    expect(file('follow.status').trim(), why('follow.err')).toBe('0');
    expect(file('follow.err')).toMatch(/ 0 lost/);
    const recs = file('follow.log')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const chown = recs.find((r) => r.cap === 'CAP_CHOWN' && r.comm === 'chown');
    expect(chown, JSON.stringify(recs)).toBeDefined();
    expect(chown!.verdict).toBe('denied');
    expect(chown!.exe).toMatch(/chown$/);
    // chown is gone before the emulated guest's follow reads its refusal: its euid can only be
    // left out (it was root's until capctl exec's setresuid), never another uid.
    if ('euid' in chown!) expect(chown!.euid).toBe(65534);
    // perl is still there when it is read.
    expect(file('denied-perl.status').trim()).toBe('0');
    const perl = recs.find((r) => r.cap === 'CAP_CHOWN' && r.comm === 'perl');
    expect(perl, JSON.stringify(recs)).toBeDefined();
    expect(perl!.euid).toBe(65534);
    expect(perl!.exe).toMatch(/perl$/);
    expect(file('instances-after').trim()).toBe('');
    expect(file('kprobes-after')).not.toMatch(/capctl/);
  });
});
