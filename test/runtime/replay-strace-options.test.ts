/**
 * strace output options found by running the kernel generator under more strace flags than
 * the CI styles: -i / -n prefixes, -qq (no exit lines), -X raw (ambiguous high-word masks), and
 * records an exec glued onto a cut-off line.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { replayText } from '../../src/runtime/replay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const status = readFileSync(join(ROOT, 'test', 'fixtures', 'traces', 'root.status'), 'utf8');
const run = (lines: string[]) => replayText(`${lines.join('\n')}\n`, { status });

describe('strace output options', () => {
  it('-i instruction pointers and -n syscall numbers are skipped before the call', () => {
    const s = run([
      '100   [  125] [00007f1234567890] capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, NULL) = 0',
      '100   12:00:00.000001 [  157] [00007f1234567890] prctl(PR_CAPBSET_READ, CAP_NET_RAW) = 1',
      '100   [????????????????] +++ exited with 0 +++',
    ]);
    expect([s.calls, s.matched, s.malformed]).toEqual([2, 2, 0]);
  });

  it('-qq (no exit lines): a pid that wait4 returned is gone', () => {
    const s = run([
      '100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0) = 101',
      '101 exit_group(0) = ?',
      '100 wait4(-1, NULL, 0, NULL) = 101',
      '100 kill(101, 0) = -1 ESRCH (No such process)',
      '100 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=101}, NULL) = 0',
      '100 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=101}, 0x7ffd0) = -1 ESRCH (No such process)',
    ]);
    expect(s.diverged).toBe(0);
    expect(s.matched).toBeGreaterThanOrEqual(4);
  });

  it('-X raw: a lone number may be either word; matching accepts both, a capset is not guessed', () => {
    const s = run([
      '100 capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_MAC_OVERRIDE, permitted=1<<CAP_MAC_OVERRIDE, inheritable=0}) = 0',
      // Raw: 0x1 could be CAP_CHOWN (low word) or CAP_MAC_OVERRIDE (high word).
      '100 capget({version=0x20080522, pid=0}, {effective=0x1, permitted=0x1, inheritable=0}) = 0',
      // Not 0x2 in either word: a divergence.
      '100 capget({version=0x20080522, pid=0}, {effective=0x2, permitted=0x1, inheritable=0}) = 0',
    ]);
    expect([s.matched, s.diverged]).toEqual([2, 1]);
    const t = run([
      '100 capset({version=0x20080522, pid=0}, {effective=0x1, permitted=0x1, inheritable=0}) = 0',
      '100 capget({version=0x20080522, pid=0}, {effective=0x1, permitted=0x1, inheritable=0}) = 0',
      '100 capset({version=0x20080522, pid=0}, {effective=0xfeffffff|0x1ff, permitted=0xfeffffff|0x1ff, inheritable=0}) = -1 EPERM (Operation not permitted)',
    ]);
    // The accepted ambiguous capset leaves the sets unknown: nothing after it is judged.
    expect([t.diverged, t.notModeled]).toEqual([0, 3]);
    expect(t.notModeledReasons['capset mask ambiguous in -X raw output']).toBe(1);
  });

  it('-o: a line an exec cut short runs into the superseded record; both are read', () => {
    const s = run([
      '100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f81cb55e990, parent_tid=0x7f81cb55e990, exit_signal=0, stack=0x7f81cad5e000, stack_size=0x7fff80, tls=0x7f81cb55e6c0} => {parent_tid=[101]}, 88) = 101',
      '101 execve("/bin/true", ["true"], 0x7ffd0 /* 0 vars */ <unfinished ...>',
      // The digits right before the pid must not be taken for part of it (…0x1f then 100).
      '100 futex(0x7f81cb55e990, FUTEX_WAIT_BITSET, 0x1f100 1795734391.471027 +++ superseded by execve in pid 101 +++',
      '100 <... execve resumed>) = 0',
      '100 prctl(PR_CAPBSET_READ, CAP_NET_RAW) = 1',
    ]);
    expect([s.malformed, s.diverged]).toEqual([0, 0]);
    expect(s.bySyscall.execve).toEqual({ matched: 1, diverged: 0, notModeled: 0 });
  });

  it('-o -t -r: the superseded record glued on carries "ABS (+ REL)" before its +++', () => {
    // Recorded (kernel differential soak, seed 1752, strace -o -t -r -T): the cut-off line and
    // the record were read as one rt_sigprocmask line, and the execve resumed without a start.
    const s = run([
      '100 19:19:20 (+     0.000109) clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7fac2d5c6990, parent_tid=0x7fac2d5c6990, exit_signal=0, stack=0x7fac2cdc6000, stack_size=0x7fff80, tls=0x7fac2d5c66c0} <unfinished ...>',
      '101 19:19:20 (+     0.000228) execve("/bin/true", ["true"], 0x7ffd0 /* 0 vars */ <unfinished ...>',
      '100 19:19:20 (+     0.000180) <... clone3 resumed> => {parent_tid=[101]}, 88) = 101 <0.000784>',
      '100 19:19:20 (+     0.000036) rt_sigprocmask(SIG_SETMASK, [], 100 19:19:20 (+     0.000939) +++ superseded by execve in pid 101 +++',
      '100 19:19:20 (+     0.000104) <... execve resumed>) = 0 <0.001235>',
      '100 19:19:20 (+     0.000130) prctl(PR_CAPBSET_READ, CAP_NET_RAW) = 1 <0.000016>',
    ]);
    expect([s.malformed, s.diverged]).toEqual([0, 0]);
    expect(s.bySyscall.execve).toEqual({ matched: 1, diverged: 0, notModeled: 0 });
    expect(s.bySyscall.prctl).toEqual({ matched: 1, diverged: 0, notModeled: 0 });
  });
});
