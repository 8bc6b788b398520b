import { describe, expect, it } from 'vitest';
import { StraceReader, type TraceRecord } from '../../src/runtime/strace/reader.js';
import {
  evalInt,
  evalULong,
  parseCapMask,
  parseCString,
  parseStruct,
  splitArgs,
} from '../../src/runtime/strace/values.js';

const NAMES = new Set(['capget', 'capset', 'prctl', 'getpid', 'execve', 'setresuid', 'wait4', 'clone3', 'vfork']);

function read(text: string, chunk = 0): TraceRecord[] {
  const out: TraceRecord[] = [];
  const r = new StraceReader({ names: NAMES, onRecord: (x) => out.push(x) });
  if (chunk <= 0) r.feed(text);
  else for (let i = 0; i < text.length; i += chunk) r.feed(text.slice(i, i + chunk));
  r.end();
  return out;
}

function calls(recs: TraceRecord[]) {
  return recs.flatMap((r) =>
    r.kind === 'syscall' ? [{ pid: r.pid, name: r.name, ret: r.ret, errno: r.errno, line: r.line }] : [],
  );
}

describe('strace reader: line formats', () => {
  it('reads the -o pid column with strace\'s padding before " = "', () => {
    const recs = read('4242  getpid()                          = 4242\n4242  setresuid(-1, 1000, -1)           = 0\n');
    expect(calls(recs)).toEqual([
      { pid: 4242, name: 'getpid', ret: 4242, errno: undefined, line: 1 },
      { pid: 4242, name: 'setresuid', ret: 0, errno: undefined, line: 2 },
    ]);
    expect(recs[0]).toEqual({ kind: 'firstpid', pid: 4242, line: 1 });
  });

  it('skips -t, -tt, -ttt and -r timestamps, strips -T durations and -y fd paths', () => {
    const text = [
      '10 21:36:55 getpid() = 10',
      '10 21:36:55.368686 prctl(PR_GET_KEEPCAPS) = 1 <0.000012>',
      '10 1764193015.368686 prctl(PR_GET_SECUREBITS) = 0x10 (SECBIT_KEEP_CAPS) <0.000008>',
      '10      0.000054 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, NULL) = 0',
      '10 21:36:55.1 setresuid(0, 0, 0) = -1 EPERM (Operation not permitted) <0.000010>',
      '10 21:36:55 (+     0.000054) getpid() = 10',
    ].join('\n');
    const c = read(text).filter((r) => r.kind === 'syscall');
    expect(c.map((r) => (r.kind === 'syscall' ? [r.name, r.ret, r.errno, r.aux] : []))).toEqual([
      ['getpid', 10, undefined, ''],
      ['prctl', 1, undefined, ''],
      ['prctl', 0x10, undefined, '(SECBIT_KEEP_CAPS)'],
      ['capget', 0, undefined, ''],
      ['setresuid', -1, 'EPERM', '(Operation not permitted)'],
      ['getpid', 10, undefined, ''],
    ]);
  });

  it('-Y: pids followed by <comm>, in the pid column, [pid N<comm>] and return values', () => {
    const recs = read('16894<gen> getpid()   = 16894<gen>\n[pid 16916<gen>] setresuid(-1, 0, -1) = 0\n');
    expect(calls(recs).map((c) => [c.pid, c.name, c.ret])).toEqual([
      [16894, 'getpid', 16894],
      [16916, 'setresuid', 0],
    ]);
  });

  it('joins <unfinished ...> and <... resumed> halves, whatever the chunking', () => {
    const text =
      '7 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0},  <unfinished ...>\n' +
      '8 getpid() = 8\n' +
      '7 <... capget resumed>{effective=1<<CAP_CHOWN, permitted=1<<CAP_CHOWN, inheritable=0}) = 0\n';
    for (const chunk of [0, 1, 7, 64]) {
      const c = read(text, chunk).filter((r) => r.kind === 'syscall');
      const cap = c.find((r) => r.kind === 'syscall' && r.name === 'capget');
      expect(cap).toMatchObject({
        pid: 7,
        line: 3,
        entryLine: 1,
        args: '{version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_CHOWN, permitted=1<<CAP_CHOWN, inheritable=0}',
        ret: 0,
      });
    }
  });

  it('stderr -f: first process unprefixed, [pid N] prefixes, and the spliced "strace: Process N attached"', () => {
    const text = [
      'execve("./a", ["./a"], 0x7ffe /* 35 vars */) = 0',
      'clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTIDstrace: Process 501 attached',
      ', child_tidptr=0x7f00) = 501',
      '[pid   501] getpid()    = 501',
      '[pid   500] wait4(-1,  <unfinished ...>',
      '[pid   501] +++ exited with 3 +++',
      '<... wait4 resumed>NULL, 0, NULL) = 501',
      '--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=501} ---',
      '+++ exited with 0 +++',
    ].join('\n');
    const recs = read(text);
    expect(recs.filter((r) => r.kind === 'malformed')).toEqual([]);
    const seq = recs.map((r) =>
      r.kind === 'syscall'
        ? `${r.pid}:${r.name}=${r.ret}`
        : r.kind === 'exit'
          ? `${r.pid}:exit ${r.status}`
          : `${r.kind}:${'pid' in r ? r.pid : ''}`,
    );
    // Records come in completion order: the child's exit (line 6) before wait4 returns (line 7).
    expect(seq).toEqual([
      '0:execve=0',
      '0:clone=501',
      '501:getpid=501',
      'firstpid:500',
      '501:exit 3',
      '500:wait4=501',
      '500:exit 0',
    ]);
    // The clone call text lost the splice.
    const clone = recs.find((r) => r.kind === 'syscall' && r.name === 'clone');
    expect(clone && clone.kind === 'syscall' && clone.args).toBe(
      'child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID, child_tidptr=0x7f00',
    );
  });

  it("holds a child's lines until its parent's clone returns, so the child is created first", () => {
    const text = [
      '[pid 10] clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0} <unfinished ...>',
      '[pid 11] getpid() = 10',
      '[pid 11] setresuid(-1, 1000, -1) = 0',
      '[pid 10] <... clone3 resumed> => {parent_tid=[11]}, 88) = 11',
    ].join('\n');
    const recs = read(text);
    const seq = calls(recs).map((c) => `${c.pid}:${c.name}@${c.line}`);
    expect(seq).toEqual(['10:clone3@4', '11:getpid@2', '11:setresuid@3']);
  });

  it('moves a pending execve to the leader on "superseded by execve"', () => {
    const text = [
      '20 getpid() = 20',
      '21 execve("/bin/true", ["true"], 0x7ffe /* 0 vars */ <unfinished ...>',
      '20 +++ superseded by execve in pid 21 +++',
      '20 <... execve resumed>) = 0',
    ].join('\n');
    const recs = read(text);
    expect(recs.filter((r) => r.kind === 'malformed')).toEqual([]);
    expect(recs.find((r) => r.kind === 'superseded')).toEqual({ kind: 'superseded', pid: 20, oldPid: 21, line: 3 });
    expect(calls(recs).at(-1)).toEqual({ pid: 20, name: 'execve', ret: 0, errno: undefined, line: 4 });
  });

  it("a thread that execs before its creator's clone3 returns: the clone is inferred from the thread", () => {
    // Recorded on 6.18 / strace 6.1 (stderr): the new thread runs and execs; the leader's
    // clone3 never reports the child's tid because the exec kills the leader first.
    const text = [
      '1795730156.833887 clone3({flags=CLONE_VM|CLONE_FS|CLONE_THREAD, exit_signal=0}strace: Process 22221 attached',
      ' <unfinished ...>',
      '[pid 22221] 1795730156.834432 setresuid(-1, 0, -1) = 0',
      '[pid 22221] 1795730156.834801 execve("/bin/true", ["true"], 0x7ffe /* 0 vars */ <unfinished ...>',
      '[pid 22210] 1795730156.835004 <... clone3 resumed> <unfinished ...>) = ?',
      '1795730156.835236 +++ superseded by execve in pid 22221 +++',
      '1795730156.835305 <... execve resumed>) = 0',
    ].join('\n');
    const recs = read(text);
    expect(recs.filter((r) => r.kind === 'malformed')).toEqual([]);
    const seq = recs.map((r) =>
      r.kind === 'syscall'
        ? `${r.pid}:${r.name}=${r.ret}`
        : r.kind === 'superseded'
          ? `superseded ${r.oldPid}->${r.pid}`
          : r.kind,
    );
    expect(seq).toEqual([
      'firstpid',
      '22210:clone3=22221',
      '22221:setresuid=0',
      'superseded 22221->22210',
      '22210:execve=0',
    ]);
    // The inferred clone keeps its arguments (CLONE_THREAD: the child is a thread).
    const clone = recs.find((r) => r.kind === 'syscall' && r.name === 'clone3');
    expect(clone?.kind === 'syscall' && clone.args).toBe('{flags=CLONE_VM|CLONE_FS|CLONE_THREAD, exit_signal=0}');
  });

  it('-tt: a "superseded" line whose timestamp ends in the digits of a live pid is not a glued record', () => {
    // Recorded (CI, kernel differential seed 245, stderr -tt -T -y): the microseconds 641877
    // end in the leader's pid 877, and the line was split at "877" as if a cut-off line had
    // run into a "PID TIMESTAMP +++" record.
    const text = [
      '[pid   877] 18:53:31.631666 futex(0x7f06, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 899, NULL, FUTEX_BITSET_MATCH_ANY <unfinished ...>',
      '[pid   899] 18:53:31.637079 capget({version=_LINUX_CAPABILITY_VERSION_1, pid=899}, {effective=0, permitted=0, inheritable=0}) = 0 <0.000014>',
      '[pid   899] 18:53:31.637302 execve("/bin/true", ["true"], 0x7f06 /* 0 vars */ <unfinished ...>',
      '[pid   877] 18:53:31.637541 <... futex resumed>) = ?',
      '18:53:31.641877 +++ superseded by execve in pid 899 +++',
      '18:53:31.641939 <... execve resumed>)   = 0 <0.004617>',
    ].join('\n');
    const recs = read(
      `[pid   877] 18:53:31.600000 getpid() = 877\n[pid   899] 18:53:31.600001 getpid() = 899\n${text}`,
    );
    expect(recs.filter((r) => r.kind === 'malformed')).toEqual([]);
    expect(recs.find((r) => r.kind === 'superseded')).toEqual({ kind: 'superseded', pid: 877, oldPid: 899, line: 7 });
    expect(calls(recs).at(-1)).toEqual({ pid: 877, name: 'execve', ret: 0, errno: undefined, line: 8 });
  });

  it('stderr: a line cut short by a thread killed mid-call, with the next "[pid N]" line glued on', () => {
    // Recorded: the leader sat in futex() when another thread exec'd.
    const text = [
      '[pid 27466] 1.1 getpid() = 27466',
      '[pid 27469] 1.2 execve("/bin/true", ["true"], 0x7f /* 0 vars */ <unfinished ...>',
      '[pid 27466] 1.3 futex(0x7fd4, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 27469, NULL, FUTEX_BITSET_MATCH_ANY[pid 27466] 1.4 +++ superseded by execve in pid 27469 +++',
      '[pid 27466] 1.5 <... execve resumed>) = 0',
      '[pid 27466] 1.6 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, NULL <unfinished ...>',
    ].join('\n');
    const recs = read(text);
    expect(recs.filter((r) => r.kind === 'malformed')).toEqual([]);
    expect(recs.find((r) => r.kind === 'superseded')).toEqual({
      kind: 'superseded',
      pid: 27466,
      oldPid: 27469,
      line: 3,
    });
    expect(calls(recs).map((c) => `${c.pid}:${c.name}=${c.ret}`)).toEqual([
      '27466:getpid=27466',
      '27466:execve=0',
      // the trace ends inside this call: reported without a result
      '27466:capget=undefined',
    ]);
  });

  it('-o: an exec from a thread ends its line with "<pid changed to N ...>" and resumes as N', () => {
    const text = [
      '31361 getpid() = 31361',
      '31381 execve("/bin/true", ["true"], 0x7f60 /* 0 vars */ <pid changed to 31361 ...>',
      '31361 +++ superseded by execve in pid 31381 +++',
      '31361 <... execve resumed>)             = 0',
    ].join('\n');
    const recs = read(text);
    expect(recs.filter((r) => r.kind === 'malformed')).toEqual([]);
    expect(calls(recs).at(-1)).toEqual({ pid: 31361, name: 'execve', ret: 0, errno: undefined, line: 4 });
    expect(recs.find((r) => r.kind === 'superseded')).toEqual({
      kind: 'superseded',
      pid: 31361,
      oldPid: 31381,
      line: 3,
    });
  });

  it('a child in another pid namespace: clone returns its namespace pid, strace shows the global one', () => {
    // Recorded: `unshare --pid --fork sh -c capsh`; sh (pid 1 inside) vforks capsh, which is 2 inside.
    const text = [
      '20587 vfork( <unfinished ...>',
      '20588 execve("/usr/sbin/capsh", ["capsh"], 0x55 /* 35 vars */ <unfinished ...>',
      '20587 <... vfork resumed>)              = 2',
      '20588 <... execve resumed>)             = 0',
    ].join('\n');
    const recs = read(text);
    expect(recs.filter((r) => r.kind === 'malformed')).toEqual([]);
    const seq = recs.map((r) =>
      r.kind === 'syscall' ? `${r.pid}:${r.name}=${r.ret}` : r.kind === 'alias' ? `alias ${r.pid} as ${r.as}` : r.kind,
    );
    expect(seq).toEqual(['firstpid', '20587:vfork=2', 'alias 20588 as 2', '20588:execve=0']);
  });

  it('parses "?" returns, killed-by lines and restart errnos', () => {
    const recs = read(
      '5 getpid() = 5\n5 prctl(PR_GET_KEEPCAPS) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)\n5 +++ killed by SIGKILL (core dumped) +++\n',
    );
    expect(calls(recs)[1]).toMatchObject({ ret: undefined, errno: 'ERESTARTSYS' });
    expect(recs.at(-1)).toEqual({ kind: 'exit', pid: 5, line: 3, status: 'SIGKILL' });
  });

  it('reports malformed lines with their numbers and keeps going', () => {
    const recs = read(
      '5 getpid() = 5\nUnable to set group list for user\n5 capget(NULL, NULL\n5 prctl(PR_GET_KEEPCAPS) = 0\n',
    );
    const bad = recs.filter((r) => r.kind === 'malformed');
    expect(bad.map((b) => b.kind === 'malformed' && b.line)).toEqual([2, 3]);
    expect(calls(recs).map((c) => c.name)).toEqual(['getpid', 'prctl']);
  });

  it('skips syscalls nobody asked for without parsing them, including their resumed halves', () => {
    const recs = read(
      '5 read(3, "x) = 7", 1 <unfinished ...>\n5 <... read resumed>) = 1\n5 mmap(NULL, 8192) = 0x7f00\n',
    );
    expect(recs).toEqual([]);
  });

  it('memory stays flat: only pending calls and waiting child lines are held', () => {
    const out: TraceRecord[] = [];
    const r = new StraceReader({ names: NAMES, onRecord: (x) => out.push(x) });
    const block = '9 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, NULL) = 0\n9 read(0, "", 1) = 0\n';
    for (let i = 0; i < 20000; i++) r.feed(block);
    expect(r.pendingCalls).toBe(0);
    expect(r.waitingLines).toBe(0);
    r.end();
    expect(out.filter((x) => x.kind === 'syscall').length).toBe(20000);
  });
});

describe('strace reader: values', () => {
  it('splits arguments at top-level commas only', () => {
    expect(splitArgs('{a=1, b={c, d}}, "x, y)", [1, 2], 0x10 /* a, b */')).toEqual([
      '{a=1, b={c, d}}',
      '"x, y)"',
      '[1, 2]',
      '0x10 /* a, b */',
    ]);
    expect(parseStruct('{version=_LINUX_CAPABILITY_VERSION_3, pid=0}')?.get('pid')).toBe('0');
  });

  it('decodes capability masks as strace prints them (low word named, high-word remainder in hex)', () => {
    expect(parseCapMask('0')).toEqual({ lo: 0, hi: 0 });
    expect(parseCapMask('1<<CAP_CHOWN|1<<CAP_NET_RAW')).toEqual({ lo: 0x2001, hi: 0 });
    expect(parseCapMask('1<<CAP_MAC_OVERRIDE|1<<CAP_CHECKPOINT_RESTORE')).toEqual({ lo: 0, hi: 0x101 });
    // caps 41..63 have no name: strace prints the high word's remainder
    expect(parseCapMask('1<<CAP_CHOWN|0xfe00 /* CAP_??? */')).toEqual({ lo: 1, hi: 0xfe00 });
    expect(parseCapMask('0xfe00 /* CAP_??? */')).toEqual({ lo: 0, hi: 0xfe00 });
    expect(parseCapMask('1<<CAP_MAC_OVERRIDE|1<<CAP_CHECKPOINT_RESTORE|0xfe00')).toEqual({ lo: 0, hi: 0xff01 });
    // -X raw: low word, then high word
    expect(parseCapMask('0x1|0xfe00')).toEqual({ lo: 1, hi: 0xfe00 });
    // -X verbose: the comment names the bits
    expect(parseCapMask('0xff01 /* 1<<CAP_MAC_OVERRIDE|1<<CAP_CHECKPOINT_RESTORE|0xfe00 */')).toEqual({
      lo: 0,
      hi: 0xff01,
    });
    expect(parseCapMask('0x1 /* 1<<CAP_CHOWN */')).toEqual({ lo: 1, hi: 0 });
    expect(parseCapMask('1<<CAP_NO_SUCH')).toBeUndefined();
  });

  it('evaluates flag and constant expressions', () => {
    expect(evalInt('SECBIT_NOROOT|SECBIT_KEEP_CAPS|0x1100')).toBe(0x1111);
    expect(evalInt('0x29 /* CAP_??? */')).toBe(41);
    expect(evalInt('PR_CAP_AMBIENT')).toBe(47);
    expect(evalInt('CAP_NET_RAW')).toBe(13);
    expect(evalInt('-1')).toBe(-1);
    expect(evalInt('S_IFCHR|0600')).toBe(0o20600);
    expect(evalInt('CLONE_VM|CLONE_THREAD|SIGCHLD')).toBe(0x100 | 0x10000 | 17);
    expect(evalInt('PR_SOMETHING_NEW')).toBeUndefined();
    expect(evalInt('SIGRT_1')).toBe(33);
    expect(evalInt('SIGKILL')).toBe(9);
    expect(evalULong('0xffffffffffffffff /* CAP_??? */')).toBe(2n ** 64n - 1n);
    expect(evalULong('-1')).toBe(2n ** 64n - 1n);
    expect(evalULong('0x2f /* PR_CAP_AMBIENT */')).toBe(47n);
  });

  it('decodes C string literals with octal and hex escapes', () => {
    expect(parseCString('"\\1\\0\\0\\2\\0 \\0"')).toEqual({ bytes: [1, 0, 0, 2, 0, 32, 0], truncated: false });
    expect(parseCString('"\\x01\\x00ab\\n"')).toEqual({ bytes: [1, 0, 97, 98, 10], truncated: false });
    expect(parseCString('"abc"...')?.truncated).toBe(true);
    expect(parseCString('0x7ffe0000')).toBeUndefined();
  });
});
