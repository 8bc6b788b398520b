/**
 * Replay fidelity on real programs (issue 11): one test per reader form and per cause of a
 * divergence or a silently skipped call found on recordings of real programs. Each trace is in
 * the form strace 6.1 prints (the lines were taken from real runs on this host and trimmed).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../../src/caps/catalog.js';
import { parseCapText } from '../../src/caps/text.js';
import { decodeFileCaps, encodeFileCaps, type FileCaps, fileCapsFromTriple } from '../../src/caps/xattr.js';
import type { FileFacts } from '../../src/runtime/dispatch.js';
import { parseRecording, recordingOptions } from '../../src/runtime/recording.js';
import { type Divergence, ReplayInputError, type ReplayOptions, replayText } from '../../src/runtime/replay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROOT_STATUS = readFileSync(join(ROOT, 'test', 'fixtures', 'traces', 'root.status'), 'utf8');
const NOBODY = ROOT_STATUS.replace(/^Uid:.*$/m, 'Uid:\t65534\t65534\t65534\t65534')
  .replace(/^Gid:.*$/m, 'Gid:\t65534\t65534\t65534\t65534')
  .replace(/^CapPrm:.*$/m, 'CapPrm:\t0000000000000000')
  .replace(/^CapEff:.*$/m, 'CapEff:\t0000000000000000');

function caps(text: string): FileCaps {
  const p = parseCapText(text);
  return decodeFileCaps(encodeFileCaps(fileCapsFromTriple(p, p.beyond)));
}

/** The bytes setcap writes for `cap_net_raw=ep` (v2), as strace prints them. */
const NET_RAW_XATTR =
  '"\\x01\\x00\\x00\\x02\\x00\\x20\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"';
const NET_RAW_E = '{effective=1<<CAP_NET_RAW, permitted=1<<CAP_NET_RAW, inheritable=0}';
const NONE = '{effective=0, permitted=0, inheritable=0}';
const ALL = CAPABILITIES.map((c) => `1<<${c.name}`).join('|');
const FULL = `{effective=${ALL}, permitted=${ALL}, inheritable=0}`;
const CAPGET = (data: string) => `capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, ${data}) = 0`;
const EXEC = (path: string) => `execve("${path}", ["x"], 0x7ffc /* 20 vars */) = 0`;

function run(lines: string[], opts: Partial<ReplayOptions> = {}) {
  const divergences: Divergence[] = [];
  // Lines without a pid column belong to the first process, 100.
  const s = replayText(`${lines.map((l) => (/^\d+ /.test(l) ? l : `100 ${l}`)).join('\n')}\n`, {
    status: ROOT_STATUS,
    file: 't',
    onDivergence: (d) => divergences.push(d),
    ...opts,
  });
  return { s, divergences, why: s.notModeledReasons };
}

describe('reader forms', () => {
  it('-e verbose=none: a header printed as an address is not unreadable memory', () => {
    const { s, divergences } = run([
      'capget(0x5615c6e4731c, NULL) = 0',
      'capget(0x5615c6e4731c, 0x5615c6e47324) = 0',
      'capset(0x5615c6e4731c, 0x5615c6e47324) = -1 EPERM (Operation not permitted)',
    ]);
    expect(divergences).toEqual([]);
    expect(s.notModeledReasons['argument printed as an address (strace -e verbose=none or -e raw)']).toBe(3);
  });

  it('-e raw=capget: NULL printed as 0 and the header as a number', () => {
    const { s, divergences } = run(['capget(0x55fbac23431c, 0) = 0', 'capget(0x55fbac23431c, 0x55fbac234324) = 0']);
    expect(divergences).toEqual([]);
    expect(s.notModeled).toBe(2);
  });

  it('(INJECTED) results are counted apart and do not change the model', () => {
    const { s, divergences } = run([
      'setuid(1000) = 0 (INJECTED)',
      'getuid() = 0',
      'setuid(1000) = -1 EPERM (Operation not permitted) (INJECTED)',
      'geteuid() = 0',
    ]);
    expect(divergences).toEqual([]);
    expect([s.injected, s.calls, s.matched]).toEqual([2, 2, 2]);
  });

  it('execveat(fd, "", AT_EMPTY_PATH) with -y takes the file from the descriptor path', () => {
    const { divergences, s } = run(
      ['execveat(3</opt/ping>, "", ["ping"], 0x7ffc /* 1 var */, AT_EMPTY_PATH) = 0', CAPGET(NET_RAW_E)],
      { status: NOBODY, fileCaps: new Map([['/opt/ping', caps('cap_net_raw=ep')]]) },
    );
    expect(divergences).toEqual([]);
    expect(s.matched).toBe(2);
  });

  it('relative paths are resolved against the working directory, followed through chdir', () => {
    const fileCaps = new Map([['/opt/bin/ping', caps('cap_net_raw=ep')]]);
    const lines = ['chdir("bin") = 0', EXEC('./ping'), CAPGET(NET_RAW_E)];
    expect(run(lines, { status: NOBODY, fileCaps, cwd: '/opt' }).divergences).toEqual([]);
    // Without the recording's cwd the file cannot be found, so the prediction is a plain file.
    expect(run(lines, { status: NOBODY, fileCaps }).divergences).toHaveLength(1);
  });

  it('the descriptor table follows openat, dup, fcntl(F_DUPFD_CLOEXEC) and close (fexecve without -y)', () => {
    const { divergences } = run(
      [
        'openat(AT_FDCWD, "/opt/ping", O_RDONLY|O_CLOEXEC) = 3',
        'dup(3) = 4',
        'fcntl(4, F_DUPFD_CLOEXEC, 10) = 10',
        'close(3) = 0',
        'close(4) = 0',
        'openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3',
        'execveat(10, "", ["ping"], 0x7ffc /* 1 var */, AT_EMPTY_PATH) = 0',
        CAPGET(NET_RAW_E),
      ],
      { status: NOBODY, fileCaps: new Map([['/opt/ping', caps('cap_net_raw=ep')]]) },
    );
    expect(divergences).toEqual([]);
  });

  it('complete name tables: CLONE_NEWTIME, IPPROTO_*, netlink families, SUID_DUMP_*', () => {
    const { divergences, s } = run([
      'unshare(CLONE_NEWTIME) = 0',
      'socket(AF_INET, SOCK_RAW, IPPROTO_SCTP) = 3',
      'socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_AUDIT) = 4',
      'prctl(PR_SET_DUMPABLE, SUID_DUMP_USER) = 0',
    ]);
    expect(divergences).toEqual([]);
    expect(s.notModeledReasons['unshare flags not decoded']).toBeUndefined();
    expect(s.notModeledReasons['socket arguments not decoded']).toBeUndefined();
    expect(s.notModeledReasons['prctl argument not decoded']).toBeUndefined();
  });
});

describe('file capabilities follow the trace', () => {
  const fileCaps = new Map<string, FileCaps>();
  const setcap = `setxattr("/opt/ping", "security.capability", ${NET_RAW_XATTR}, 20, 0) = 0`;

  it('setxattr then exec: the new capabilities count; removexattr: gone again', () => {
    const { divergences, s } = run(
      [
        setcap,
        'clone(child_stack=NULL, flags=SIGCHLD) = 101',
        '101 setresuid(65534, 65534, 65534) = 0',
        `101 ${EXEC('/opt/ping')}`,
        `101 ${CAPGET(NET_RAW_E)}`,
        'removexattr("/opt/ping", "security.capability") = 0',
        'clone(child_stack=NULL, flags=SIGCHLD) = 102',
        '102 setresuid(65534, 65534, 65534) = 0',
        `102 ${EXEC('/opt/ping')}`,
        `102 ${CAPGET(NONE)}`,
      ],
      { fileCaps },
    );
    expect(divergences).toEqual([]);
    expect(s.bySyscall.setxattr).toEqual({ matched: 1, diverged: 0, notModeled: 0 });
  });

  it('setxattr of security.capability without CAP_SETFCAP is EPERM', () => {
    const { divergences, s } = run(
      [`setxattr("/tmp/f", "security.capability", ${NET_RAW_XATTR}, 20, 0) = -1 EPERM (Operation not permitted)`],
      { status: NOBODY },
    );
    expect(divergences).toEqual([]);
    expect(s.matched).toBe(1);
  });

  it('chown (even to the same owner) removes the capabilities', () => {
    const files = new Map<string, FileFacts>([
      ['/opt/ping', { uid: 0, gid: 0, mode: 0o755, caps: caps('cap_net_raw=ep') }],
    ]);
    const { divergences, s } = run(
      ['chown("/opt/ping", 0, 0) = 0', 'setresuid(65534, 65534, 65534) = 0', EXEC('/opt/ping'), CAPGET(NONE)],
      { files },
    );
    expect(divergences).toEqual([]);
    expect(s.bySyscall.chown).toEqual({ matched: 1, diverged: 0, notModeled: 0 });
  });

  it('opening for writing with O_TRUNC removes them; without, they become unknown', () => {
    const files = new Map<string, FileFacts>([
      ['/opt/ping', { uid: 0, gid: 0, mode: 0o755, caps: caps('cap_net_raw=ep') }],
    ]);
    const a = run(
      [
        'openat(AT_FDCWD, "/opt/ping", O_WRONLY|O_CREAT|O_TRUNC, 0755) = 3',
        'setresuid(65534, 65534, 65534) = 0',
        EXEC('/opt/ping'),
        CAPGET(NONE),
      ],
      { files },
    );
    expect(a.divergences).toEqual([]);
    const b = run(['openat(AT_FDCWD, "/opt/ping", O_RDWR) = 3', EXEC('/opt/ping')], { files });
    expect(b.why['executed file was opened for writing in the trace (capabilities unknown)']).toBe(1);
  });
});

describe('executables', () => {
  const suid: FileFacts = { uid: 0, gid: 0, mode: 0o104755, caps: null };

  it('a set-user-ID root executable run by nobody: euid 0 and full sets', () => {
    const { divergences } = run([EXEC('/usr/bin/su'), 'geteuid() = 0', 'getuid() = 65534'], {
      status: NOBODY,
      files: new Map([['/usr/bin/su', suid]]),
    });
    expect(divergences).toEqual([]);
  });

  it('on a nosuid mount the set-user-ID bit is ignored', () => {
    const { divergences } = run([EXEC('/mnt/su'), 'geteuid() = 65534'], {
      status: NOBODY,
      files: new Map([['/mnt/su', { ...suid, nosuid: true }]]),
    });
    expect(divergences).toEqual([]);
  });

  it('a #! script: the interpreter capabilities count, not the script', () => {
    const files = new Map<string, FileFacts>([
      ['/opt/s.sh', { uid: 0, gid: 0, mode: 0o755, caps: caps('cap_sys_admin=ep'), interpreter: '/opt/sh' }],
      ['/opt/sh', { uid: 0, gid: 0, mode: 0o755, caps: caps('cap_net_raw=ep') }],
    ]);
    const { divergences } = run([EXEC('/opt/s.sh'), CAPGET(NET_RAW_E)], { status: NOBODY, files });
    expect(divergences).toEqual([]);
  });
});

describe('calls that were silently skipped', () => {
  it('sysctls from the recording: ping_group_range allows the ICMP datagram socket', () => {
    const line = 'socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) = 3';
    expect(run([line], { status: NOBODY, sysctl: { pingGroupRange: [0, 2147483647] } }).divergences).toEqual([]);
    expect(run([line], { status: NOBODY }).divergences).toHaveLength(1);
  });

  it('get*id results are compared: a contradiction is a divergence (a set-user-ID exec the recording missed)', () => {
    const ok = run(['getuid() = 0', 'getresuid([0], [0], [0]) = 0', 'getgroups(0, NULL) = 0', 'getgid() = 0']);
    expect([ok.s.matched, ok.divergences]).toEqual([4, []]);
    const bad = run([EXEC('/usr/bin/su'), 'geteuid() = 0'], { status: NOBODY });
    expect(bad.divergences.map((d) => d.predicted)).toEqual(['65534']);
  });

  it('capget whose data pointer faulted (EFAULT after the checks, LTP capget02) matches', () => {
    const { divergences, s } = run([
      'capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, 0x1) = -1 EFAULT (Bad address)',
    ]);
    expect([divergences, s.matched]).toEqual([[], 1]);
  });

  it('setpriority, clock_settime, clock_adjtime, mount, umount2 and chown are judged or counted with a reason', () => {
    const { divergences, s } = run(
      [
        'clock_settime(CLOCK_REALTIME, {tv_sec=0, tv_nsec=0}) = -1 EPERM (Operation not permitted)',
        'clock_adjtime(CLOCK_REALTIME, 0x7ffd0df6bf40) = -1 EPERM (Operation not permitted)',
        'clock_adjtime(CLOCK_REALTIME, {modes=0, offset=0, freq=0}) = 5 (TIME_ERROR)',
        'settimeofday({tv_sec=0, tv_usec=0}, NULL) = -1 EPERM (Operation not permitted)',
        'setpriority(PRIO_PROCESS, 0, -5) = -1 EACCES (Permission denied)',
        'setpriority(PRIO_PROCESS, 0, 5) = 0',
        'mount("none", "/mnt", "tmpfs", MS_NOSUID, NULL) = -1 EPERM (Operation not permitted)',
        'umount2("/mnt", MNT_DETACH) = -1 EPERM (Operation not permitted)',
        'chown("/etc/passwd", -1, -1) = 0',
        'chown("/etc/passwd", 0, 0) = -1 EPERM (Operation not permitted)',
      ],
      { status: NOBODY },
    );
    expect(divergences).toEqual([]);
    expect(s.matched).toBe(8); // the clock_adjtime read (modes=0) checks no capability: not counted
    expect(s.notModeledReasons).toEqual({ 'chown of a file the recording has no owner for': 1 });
    const root = run(['mount("none", "/mnt", "tmpfs", 0, NULL) = 0']);
    expect(Object.keys(root.why)).toEqual(['mount allowed; whether it succeeds depends on the file system']);
  });
});

describe('user namespaces', () => {
  it('a recording that starts inside unshare -U -r: capabilities in the namespace, none over the initial one', () => {
    const { divergences, s } = run(
      [
        'getuid() = 0',
        CAPGET(FULL),
        'socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = -1 EPERM (Operation not permitted)',
        'setuid(0) = 0',
      ],
      {
        status: ROOT_STATUS.replace(/fffeffffff/g, 'ffffffffff'),
        uidMap: '         0       1000          1\n',
        gidMap: '         0       1000          1\n',
        setgroups: 'deny',
      },
    );
    expect(divergences).toEqual([]);
    expect(s.matched).toBe(4);
  });

  it('uid_map and gid_map written in the trace are followed', () => {
    const { divergences, s } = run([
      'setresuid(1000, 1000, 1000) = 0',
      'unshare(CLONE_NEWUSER) = 0',
      'openat(AT_FDCWD, "/proc/self/setgroups", O_WRONLY) = 3',
      'write(3, "deny", 4) = 4',
      'close(3) = 0',
      'openat(AT_FDCWD, "/proc/self/uid_map", O_WRONLY) = 3',
      'write(3, "0 1000 1", 8) = 8',
      'close(3) = 0',
      'openat(AT_FDCWD, "/proc/self/gid_map", O_WRONLY) = 3',
      'write(3, "0 0 1", 5) = 5',
      'close(3) = 0',
      'getuid() = 0',
      'getgid() = 0',
      'setuid(0) = 0',
    ]);
    expect(divergences).toEqual([]);
    expect(s.notModeled).toBe(0);
  });
});

describe('kernel releases', () => {
  const FULL_STATUS = ROOT_STATUS.replace(/fffeffffff/g, 'ffffffffff');
  it('CAP_PERFMON, CAP_BPF (5.8) and CAP_CHECKPOINT_RESTORE (5.9) exist only from their releases', () => {
    const lines = [
      'prctl(PR_CAPBSET_READ, CAP_CHECKPOINT_RESTORE) = -1 EINVAL (Invalid argument)',
      'prctl(PR_CAPBSET_READ, CAP_BPF) = 1',
    ];
    expect(run(lines, { status: FULL_STATUS, kernel: '5.8.0-63-generic' }).divergences).toEqual([]);
    expect(run(lines, { status: FULL_STATUS, kernel: '6.18.44' }).divergences).toHaveLength(1);
    expect(
      run(['prctl(PR_CAPBSET_READ, CAP_PERFMON) = -1 EINVAL (Invalid argument)'], { kernel: '5.4.0' }).divergences,
    ).toEqual([]);
  });

  it('the EXEC_* securebits (6.14) are unsupported bits before 6.14', () => {
    const lines = [
      'setresuid(1000, 1000, 1000) = 0',
      'prctl(PR_SET_SECUREBITS, SECBIT_EXEC_RESTRICT_FILE) = -1 EPERM (Operation not permitted)',
    ];
    expect(run(lines, { kernel: '6.12.1' }).divergences).toEqual([]);
    expect(
      run(['prctl(PR_SET_SECUREBITS, SECBIT_EXEC_RESTRICT_FILE) = 0'], { status: NOBODY, kernel: '6.18.0' })
        .divergences,
    ).toEqual([]);
  });

  it('PR_CAP_AMBIENT does not exist before 4.3', () => {
    expect(
      run(['prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN) = -1 EINVAL (Invalid argument)'], {
        kernel: '4.2.0',
      }).divergences,
    ).toEqual([]);
  });

  it('an unknown or unrecorded release is a warning, never a silent guess', () => {
    expect(run([], { kernel: 'weird' }).s.warnings).toEqual([
      'kernel release "weird" not understood: Linux 6.18 rules assumed',
    ]);
    expect(run([]).s.warnings).toEqual(['kernel release not recorded: Linux 6.18 rules assumed']);
    expect(run([], { kernel: '6.18.44-fc' }).s.warnings).toEqual([]);
    expect(run([], { kernel: '5.10.0' }).s.warnings[0]).toMatch(/older than the model's reference 6.18/);
  });
});

describe('recording format', () => {
  it('recording.json is validated: a wrong format, bad securebits or a file without an octal mode is refused', () => {
    const good = {
      format: 'capctl-recording/1',
      command: ['true'],
      strace: ['-f'],
      exitCode: 0,
      kernel: '6.18.0',
      cwd: '/',
      securebits: 0,
      nice: 0,
      rlimitNice: 0,
      userns: { uidMap: '0 0 4294967295', gidMap: '0 0 4294967295', setgroups: 'allow' },
      sysctl: { 'net.ipv4.ping_group_range': '0 2147483647' },
      files: {
        '/usr/bin/ping': {
          uid: 0,
          gid: 0,
          mode: '100755',
          caps: 'cap_net_raw=ep',
          capsXattr: '0100000200200000000000000000000000000000',
          mount: '/',
          nosuid: false,
          noexec: false,
        },
      },
    };
    const o = recordingOptions(parseRecording(JSON.stringify(good)), ROOT_STATUS);
    expect(o.sysctl).toEqual({ pingGroupRange: [0, 2147483647] });
    expect(o.files?.get('/usr/bin/ping')?.mode).toBe(0o100755);
    expect(o.files?.get('/usr/bin/ping')?.caps?.permitted.lo).toBe(1 << 13);
    expect(() => parseRecording(JSON.stringify({ ...good, format: 'x' }))).toThrow(ReplayInputError);
    expect(() => parseRecording(JSON.stringify({ ...good, securebits: 0x1000 }))).toThrow(/securebits/);
    expect(() =>
      parseRecording(JSON.stringify({ ...good, files: { '/x': { ...good.files['/usr/bin/ping'], mode: '9' } } })),
    ).toThrow(/octal mode/);
    expect(() => parseRecording('{')).toThrow(/not JSON/);
  });
});
