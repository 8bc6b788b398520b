import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCapText } from '../../src/caps/text.js';
import { decodeFileCaps, encodeFileCaps, fileCapsFromTriple } from '../../src/caps/xattr.js';
import {
  type Divergence,
  Replayer,
  ReplayInputError,
  ReplayMalformedError,
  replayFile,
  replayText,
} from '../../src/runtime/replay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'traces');
const ROOT_STATUS = readFileSync(join(FIX, 'root.status'), 'utf8');
const CLI = join(ROOT, 'bin', 'capctl.js');
const CLI_BUILT = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));

/** A /proc status for uid 1000 with no capabilities (bounding as on the recording host). */
const USER_STATUS = ROOT_STATUS.replace(/^Uid:.*$/m, 'Uid:\t1000\t1000\t1000\t1000')
  .replace(/^Gid:.*$/m, 'Gid:\t1000\t1000\t1000\t1000')
  .replace(/^CapPrm:.*$/m, 'CapPrm:\t0000000000000000')
  .replace(/^CapEff:.*$/m, 'CapEff:\t0000000000000000');

function replay(
  text: string,
  status = ROOT_STATUS,
  extra: Parameters<typeof replayText>[1] extends infer O ? Partial<O> : never = {},
) {
  const divergences: Divergence[] = [];
  const s = replayText(text, { status, file: 't', onDivergence: (d) => divergences.push(d), ...extra });
  return { s, divergences };
}

describe('replay: recorded fixtures', () => {
  const cases: [string, number, number, number][] = [
    ['capsh-nobody.strace', 246, 246, 0],
    ['setpriv-ambient.stderr.strace', 225, 218, 7],
    ['gen-threads-exec.stderr.strace', 92, 89, 3],
  ];
  for (const [file, calls, matched, notModeled] of cases) {
    it(`${file}: ${calls} calls, 0 diverged`, async () => {
      const divergences: Divergence[] = [];
      const s = await replayFile(join(FIX, file), { status: ROOT_STATUS, onDivergence: (d) => divergences.push(d) });
      expect(divergences).toEqual([]);
      expect(s.malformed).toBe(0);
      expect([s.calls, s.matched, s.diverged, s.notModeled]).toEqual([calls, matched, 0, notModeled]);
    });
  }

  it('the generator fixture exercises threads, exec from a thread and file-capability execs', async () => {
    const s = await replayFile(join(FIX, 'gen-threads-exec.stderr.strace'), { status: ROOT_STATUS });
    for (const name of ['clone3', 'vfork', 'execve', 'getxattr', 'capset', 'setresuid'])
      expect(s.bySyscall[name]?.matched ?? 0, name).toBeGreaterThan(0);
  });
});

describe('replay: predictions, divergences and not-modeled calls', () => {
  const trace = [
    '100 execve("/bin/x", ["x"], 0x1 /* 0 vars */) = 0',
    '100 capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_CHOWN, permitted=1<<CAP_CHOWN, inheritable=0}) = 0',
    '100 capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_KILL, permitted=1<<CAP_KILL, inheritable=0}) = 0',
    '100 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_CHOWN, permitted=1<<CAP_CHOWN, inheritable=0}) = 0',
    '100 prctl(PR_SET_NAME, "x") = 0',
    '100 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=4242}, 0x7ffe0000) = -1 ESRCH (No such process)',
    '100 prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE) = 1',
  ].join('\n');

  it('counts matched, diverged and not modeled, and reports each divergence with its line', () => {
    const { s, divergences } = replay(trace);
    expect([s.calls, s.matched, s.diverged, s.notModeled]).toEqual([7, 3, 2, 2]);
    expect(divergences.map((d) => [d.line, d.syscall, d.recorded, d.predicted])).toEqual([
      [3, 'capset', '0', '-1 EPERM'],
      // this host's bounding set (root.status) lacks CAP_SYS_RESOURCE
      [7, 'prctl', '1', '0'],
    ]);
    expect(s.notModeledReasons).toEqual({ 'prctl option not modelled': 1, 'capget of a pid outside the trace': 1 });
  });

  it('compares the data capget returns, not only its return value', () => {
    const { divergences } = replay(
      [
        '100 capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_CHOWN, permitted=1<<CAP_CHOWN|1<<CAP_KILL, inheritable=0}) = 0',
        '100 capget({version=_LINUX_CAPABILITY_VERSION_1, pid=0}, {effective=1<<CAP_CHOWN|1<<CAP_KILL, permitted=1<<CAP_CHOWN|1<<CAP_KILL, inheritable=0}) = 0',
      ].join('\n'),
    );
    expect(divergences).toHaveLength(1);
    expect(divergences[0]).toMatchObject({ line: 2, recorded: '0 {effective=0x21, permitted=0x21, inheritable=0x0}' });
    expect(divergences[0]!.predicted).toBe('0 {effective=0x1, permitted=0x21, inheritable=0x0}');
  });

  it('credentials are per thread: a thread drops its caps, the leader still has them, capset on another tid is EPERM', () => {
    const full =
      'effective=1<<CAP_CHOWN|1<<CAP_DAC_OVERRIDE|1<<CAP_DAC_READ_SEARCH|1<<CAP_FOWNER|1<<CAP_FSETID|1<<CAP_KILL|1<<CAP_SETGID|1<<CAP_SETUID|1<<CAP_SETPCAP|1<<CAP_LINUX_IMMUTABLE|1<<CAP_NET_BIND_SERVICE|1<<CAP_NET_BROADCAST|1<<CAP_NET_ADMIN|1<<CAP_NET_RAW|1<<CAP_IPC_LOCK|1<<CAP_IPC_OWNER|1<<CAP_SYS_MODULE|1<<CAP_SYS_RAWIO|1<<CAP_SYS_CHROOT|1<<CAP_SYS_PTRACE|1<<CAP_SYS_PACCT|1<<CAP_SYS_ADMIN|1<<CAP_SYS_BOOT|1<<CAP_SYS_NICE|1<<CAP_SYS_TIME|1<<CAP_SYS_TTY_CONFIG|1<<CAP_MKNOD|1<<CAP_LEASE|1<<CAP_AUDIT_WRITE|1<<CAP_AUDIT_CONTROL|1<<CAP_SETFCAP|1<<CAP_MAC_OVERRIDE|1<<CAP_MAC_ADMIN|1<<CAP_SYSLOG|1<<CAP_WAKE_ALARM|1<<CAP_BLOCK_SUSPEND|1<<CAP_AUDIT_READ|1<<CAP_PERFMON|1<<CAP_BPF|1<<CAP_CHECKPOINT_RESTORE';
    const { s, divergences } = replay(
      [
        '[pid 10] clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, exit_signal=0}, 88) = 11',
        '[pid 11] capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=0, permitted=0, inheritable=0}) = 0',
        '[pid 11] getpid() = 10',
        `[pid 10] capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {${full}, permitted=${full.slice(10)}, inheritable=0}) = 0`,
        '[pid 10] capget({version=_LINUX_CAPABILITY_VERSION_3, pid=11}, {effective=0, permitted=0, inheritable=0}) = 0',
        '[pid 11] capset({version=_LINUX_CAPABILITY_VERSION_3, pid=10}, {effective=0, permitted=0, inheritable=0}) = -1 EPERM (Operation not permitted)',
        '[pid 10] setresuid(1000, 1000, 1000) = 0',
        // thread 11 still has ids 0/0/0 but no CAP_SETUID: euid 1000 is not one of its ids
        '[pid 11] setresuid(-1, 1000, -1) = -1 EPERM (Operation not permitted)',
      ].join('\n'),
      // the full set without SYS_RESOURCE is what root.status holds
      ROOT_STATUS,
    );
    expect(divergences.map((d) => `${d.line} ${d.recorded} / ${d.predicted}`)).toEqual([]);
    expect([s.calls, s.matched]).toEqual([8, 8]);
  });

  it("takes an executed file's capabilities from the trace's getxattr, else from --file-caps", () => {
    const exec = [
      '200 execve("/opt/ping", ["ping"], 0x1 /* 0 vars */) = 0',
      '200 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_NET_RAW, permitted=1<<CAP_NET_RAW, inheritable=0}) = 0',
      '200 socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = 3',
    ];
    const getxattr =
      '200 getxattr("/opt/ping", "security.capability", "\\1\\0\\0\\2\\0 \\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0", 64) = 20';
    const withX = replay([getxattr, ...exec].join('\n'), USER_STATUS);
    expect(withX.divergences).toEqual([]);
    expect([withX.s.calls, withX.s.matched]).toEqual([4, 4]);

    const plain = replay(exec.join('\n'), USER_STATUS);
    expect(plain.divergences.map((d) => [d.line, d.predicted])).toEqual([
      [2, '0 {effective=0x0, permitted=0x0, inheritable=0x0}'],
      [3, '-1 EPERM'],
    ]);

    const t = parseCapText('cap_net_raw=ep');
    const fc = decodeFileCaps(encodeFileCaps(fileCapsFromTriple(t, t.beyond)));
    const flag = replay(exec.join('\n'), USER_STATUS, { fileCaps: new Map([['/opt/ping', fc]]) });
    expect(flag.divergences).toEqual([]);
  });

  it('an execve that failed before the credential computation changes nothing and is not modeled', () => {
    const { s, divergences } = replay(
      [
        '300 execve("/nope", ["nope"], 0x1 /* 0 vars */) = -1 ENOENT (No such file or directory)',
        '300 setuid(1000) = 0',
        '300 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=0, permitted=0, inheritable=0}) = 0',
      ].join('\n'),
    );
    expect(divergences).toEqual([]);
    expect([s.calls, s.matched, s.notModeled]).toEqual([3, 2, 1]);
  });

  it('malformed lines are counted and skipped, or fatal with strict', () => {
    const text = '100 getpid() = 100\nUnable to set group list for user\n100 prctl(PR_GET_KEEPCAPS) = 0\n';
    const lines: number[] = [];
    const s = replayText(text, { status: ROOT_STATUS, onMalformed: (m) => lines.push(m.line) });
    expect(s.malformed).toBe(1);
    expect(lines).toEqual([2]);
    expect(s.matched).toBe(2);
    expect(() => replayText(text, { status: ROOT_STATUS, strict: true, file: 'x.txt' })).toThrow(ReplayMalformedError);
    expect(() => replayText(text, { status: ROOT_STATUS, strict: true, file: 'x.txt' })).toThrow(
      /x\.txt:2: malformed line/,
    );
  });

  it('memory follows the live tasks, not the trace: 20000 short-lived children leave one task behind', () => {
    const r = new Replayer({ status: ROOT_STATUS });
    for (let i = 0; i < 20000; i++) {
      const c = 1000 + i;
      r.feed(
        `100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = ${c}\n` +
          `${c} getpid() = ${c}\n${c} capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, NULL) = 0\n` +
          `${c} +++ exited with 0 +++\n100 wait4(${c}, NULL, 0, NULL) = ${c}\n`,
      );
    }
    r.feed('100 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=1000}, 0x7ffe0000) = -1 ESRCH (No such process)\n');
    const s = r.end();
    expect(r.rt.tids()).toEqual([r.rt.tids()[0]]);
    expect([s.calls, s.matched, s.diverged]).toEqual([60001, 60001, 0]);
  });

  it('rejects a status text without the credential fields', () => {
    expect(() => replayText('', { status: 'Name:\tbash\n' })).toThrow(ReplayInputError);
  });
});

describe.skipIf(!CLI_BUILT)('capctl replay (built CLI; npm run build)', () => {
  const dir = CLI_BUILT ? mkdtempSync(join(tmpdir(), 'capctl-replay-')) : '';
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'replay', ...args], { encoding: 'utf8' });
  const status = join(FIX, 'root.status');

  it('prints each divergence, then exactly one summary line; --check exits 1', () => {
    const t = join(dir, 'div.txt');
    writeFileSync(
      t,
      '100 capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_CHOWN, permitted=1<<CAP_CHOWN, inheritable=0}) = 0\n' +
        '100 capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_KILL, permitted=1<<CAP_KILL, inheritable=0}) = 0\n',
    );
    const r = run([t, '--status', status]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `${t}:2: pid 100: capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_KILL, permitted=1<<CAP_KILL, inheritable=0})`,
    );
    expect(lines[1]).toBe('  recorded:  0');
    expect(lines[2]).toBe('  predicted: -1 EPERM');
    expect(lines.at(-1)).toBe('replayed 2 calls: 1 matched, 1 diverged, 0 not modeled');
    expect(lines.filter((l) => l.startsWith('replayed '))).toHaveLength(1);
    expect(run([t, '--status', status, '--check']).status).toBe(1);
  });

  it('sums several traces into one summary line; --json has per-trace summaries', () => {
    const a = join(FIX, 'capsh-nobody.strace');
    const b = join(FIX, 'setpriv-ambient.stderr.strace');
    const r = run([a, b, '--status', status, '--check']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('replayed 471 calls: 464 matched, 0 diverged, 7 not modeled\n');
    const j = JSON.parse(run([a, b, '--status', status, '--json']).stdout);
    expect(j.traces.map((t: { calls: number }) => t.calls)).toEqual([246, 225]);
    expect(j.total).toMatchObject({ calls: 471, diverged: 0 });
  });

  it('input errors exit 2 with one line: missing --status, unreadable trace, bad --file-caps, --strict on a malformed line', () => {
    const r1 = run([join(FIX, 'capsh-nobody.strace')]);
    expect(r1.status).toBe(2);
    const r2 = run(['/nonexistent/trace', '--status', status]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/cannot read \/nonexistent\/trace/);
    const r3 = run([join(FIX, 'capsh-nobody.strace'), '--status', status, '--file-caps', 'nopath']);
    expect(r3.status).toBe(2);
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '100 getpid() = 100\ngarbage here\n');
    const r4 = run([bad, '--status', status, '--strict']);
    expect(r4.status).toBe(2);
    expect(r4.stderr).toMatch(/bad\.txt:2: malformed line/);
    const r5 = run([bad, '--status', status]);
    expect(r5.status).toBe(0);
    expect(r5.stderr).toMatch(/bad\.txt:2: malformed line skipped/);
  });

  it('--securebits sets the starting securebits, which /proc/PID/status does not show', () => {
    const t = join(dir, 'secbits.txt');
    writeFileSync(t, '100 prctl(PR_GET_SECUREBITS) = 0x10 (SECBIT_KEEP_CAPS)\n100 prctl(PR_GET_KEEPCAPS) = 1\n');
    expect(run([t, '--status', status, '--securebits', '0x10', '--check']).stdout).toBe(
      'replayed 2 calls: 2 matched, 0 diverged, 0 not modeled\n',
    );
    expect(run([t, '--status', status, '--check']).status).toBe(1);
    expect(run([t, '--status', status, '--securebits', '0x1000']).status).toBe(2);
  });

  it('--profile on the Linux host: a capability outside the profile is denied, in prctl and set*id too', () => {
    const ex = join(ROOT, 'examples');
    const args = [join(ex, 'drop-raw.strace'), '--status', join(ex, 'drop-raw.status'), '--check'];
    // drop-raw drops CAP_NET_RAW from the bounding set (CAP_SETPCAP), switches to uid 1000
    // (CAP_SETUID), then fails to open a raw socket. A profile allowing those three matches it.
    const dir = mkdtempSync(join(tmpdir(), 'capctl-i8-replay-'));
    writeFileSync(join(dir, 'dropper.yaml'), 'name: dropper\ncapabilities:\n  bounding: [NET_RAW, SETPCAP, SETUID]\n');
    const ok = run([...args, '--profile', join(dir, 'dropper.yaml')]);
    expect(ok.stdout).toBe('replayed 13 calls: 13 matched, 0 diverged, 0 not modeled\n');
    expect(ok.status).toBe(0);
    // ping allows only NET_RAW: the prctl and setresuid uses are now decided by the profile
    // (issue 8: they tested the effective set directly and matched).
    const ping = run([...args, '--profile', join(ROOT, 'policies', 'ping.yaml')]);
    expect(ping.status).toBe(1);
    expect(ping.stdout).toMatch(/prctl\(PR_CAPBSET_DROP, CAP_NET_RAW\)\n {2}recorded: {2}0\n {2}predicted: -1 EPERM/);
    expect(ping.stdout).toMatch(/setresuid\(1000, 1000, 1000\)\n {2}recorded: {2}0\n {2}predicted: -1 EPERM/);
    const strict = run([...args, '--profile', join(ROOT, 'policies', 'strict.yaml')]);
    expect(strict.status).toBe(1);
    expect(strict.stdout).toMatch(/prctl\(PR_CAPBSET_DROP, CAP_NET_RAW\)\n {2}recorded: {2}0\n {2}predicted: -1 EPERM/);
  });

  it('--host freebsd replays through the FreeBSD host (divergences are expected: the trace is Linux)', () => {
    const r = run([join(FIX, 'capsh-nobody.strace'), '--status', status, '--host', 'freebsd', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).total.calls).toBe(246);
    expect(
      run([join(FIX, 'capsh-nobody.strace'), '--status', status, '--jail-param', 'allow.raw_sockets=1']).status,
    ).toBe(2);
  });
});
