/** Rule-level tests of the privileged operations, the host hook (contract 1) and decision events (contract 2). */
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_PACKET,
  CLONE_NEWNET,
  CLONE_NEWUSER,
  Credential,
  createRuntime,
  type DecisionEvent,
  EACCES,
  EINVAL,
  ENOMEM,
  ENOSYS,
  EPERM,
  ESRCH,
  PR_SET_DUMPABLE,
  type PrivilegeHost,
  SIGCONT,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
} from '../../src/runtime/index.js';
import { caps, HOST_FULL, set3, setup } from './helpers.js';

const e = (x: { ret: number; errno: number; unmodelled?: string }) => (x.unmodelled ? 'unmodelled' : x.errno);

describe('decision events and the host hook', () => {
  it('reports each privileged decision with the syscall, capability and resulting errno', () => {
    const events: DecisionEvent[] = [];
    const { rt, tid } = setup({ effective: caps('NET_RAW') }, { onDecision: (ev) => events.push(ev) });
    expect(e(rt.socket(tid, AF_INET, SOCK_RAW, 1))).toBe(0);
    expect(e(rt.bind(tid, { family: AF_INET, sockType: SOCK_STREAM, port: 80 }))).toBe(EACCES);
    expect(events.map((x) => [x.syscall, x.cap, x.errno, x.host, x.tid])).toEqual([
      ['socket', 13, 0, 'linux', tid],
      ['bind', 10, EACCES, 'linux', tid],
    ]);
    expect(events[1]!.op.detail).toMatch(/port 80/);
  });

  // Issue 8 (one decision path): capset/prctl/set*id used to keep Linux semantics whatever the
  // host said; now their capability tests ask the host too.
  it('a denying host turns privileged operations into the syscall’s own errno, and denies prctl/set*id capability uses', () => {
    const calls: string[] = [];
    const deny: PrivilegeHost = {
      kind: 'freebsd',
      capable(_cred, cap, op) {
        calls.push(`${op.syscall}:${cap}`);
        return { errno: EPERM, stage: 'jail', reason: 'not in a jail that allows it' };
      },
    };
    const events: DecisionEvent[] = [];
    const { rt, tid } = setup({}, { host: deny, onDecision: (ev) => events.push(ev) });
    expect(e(rt.socket(tid, AF_PACKET, SOCK_RAW, 0))).toBe(EPERM);
    expect(e(rt.bind(tid, { family: AF_INET, sockType: SOCK_DGRAM, port: 53 }))).toBe(EACCES);
    expect(e(rt.prctl(tid, 24, 13))).toBe(EPERM); // CAPBSET_DROP: the host refuses CAP_SETPCAP
    expect(e(rt.setresuid(tid, 1000, 1000, 1000))).toBe(EPERM); // the host refuses CAP_SETUID
    // A capset that needs no capability (I within old I | P) does not ask the host.
    expect(set3(rt, tid, { e: 0n, p: HOST_FULL, i: 0n }).errno).toBe(0);
    expect(calls).toEqual(['socket:13', 'bind:10', 'prctl:8', 'setresuid:7']);
    const priv = events.filter((x) => x.host === 'freebsd');
    expect(priv.map((x) => [x.syscall, x.stage, x.errno])).toEqual([
      ['socket', 'jail', EPERM],
      ['bind', 'jail', EACCES],
      ['prctl', 'jail', EPERM],
      ['setresuid', 'jail', EPERM],
    ]);
  });

  it('emits capset and prctl rule decisions, and nothing without a listener', () => {
    const events: DecisionEvent[] = [];
    const { rt, tid } = setup({ effective: 0n }, { onDecision: (ev) => events.push(ev) });
    expect(set3(rt, tid, { e: 0n, p: HOST_FULL, i: caps('KILL') }).errno).toBe(0); // I within P: allowed
    expect(rt.prctl(tid, 24, 5).errno).toBe(EPERM);
    expect(events.map((x) => [x.syscall, x.cap, x.errno])).toEqual([
      ['capset', -1, 0],
      ['prctl', 8, EPERM],
    ]);
    rt.setDecisionListener(undefined);
    rt.prctl(tid, 24, 5);
    expect(events).toHaveLength(2);
  });

  it('set*id reports a denial only when the call is refused', () => {
    const events: DecisionEvent[] = [];
    const { rt, tid } = setup(
      { uid: [1000, 2000, 1000, 2000], effective: 0n, permitted: 0n },
      { onDecision: (ev) => events.push(ev) },
    );
    expect(rt.setuid(tid, 1000).errno).toBe(0); // the unprivileged rule allows it
    expect(events).toEqual([]);
    expect(rt.setuid(tid, 3000).errno).toBe(EPERM);
    expect(events.map((x) => [x.syscall, x.cap, x.errno])).toEqual([['setuid', 7, EPERM]]);
  });
});

describe('kill', () => {
  const mk = (sender: number[], target: number[], effective = 0n) => {
    const rt = createRuntime();
    const s = rt.spawn(
      Credential.from({ uid: sender as [number, number, number, number], effective, permitted: effective }),
    );
    const t = rt.spawn(
      Credential.from({ uid: target as [number, number, number, number], effective: 0n, permitted: 0n }),
    );
    return { rt, s: s.tid, t: t.tid };
  };
  it('kill_ok_by_cred: sender euid or ruid against target ruid or suid', () => {
    const ok = [
      [
        [1000, 2000, 2000, 2000],
        [1000, 3000, 3000, 3000],
      ], // ruid = ruid
      [
        [3000, 1000, 1000, 1000],
        [1000, 3000, 3000, 3000],
      ], // euid = ruid
      [
        [3000, 1000, 1000, 1000],
        [4000, 4000, 1000, 4000],
      ], // euid = suid
    ];
    for (const [a, b] of ok) {
      const { rt, s, t } = mk(a!, b!);
      expect(e(rt.kill(s, t, 0))).toBe(0);
    }
    // Target euid does not count.
    const { rt, s, t } = mk([1000, 1000, 1000, 1000], [2000, 1000, 2000, 2000]);
    expect(e(rt.kill(s, t, 9))).toBe(EPERM);
  });
  it('CAP_KILL allows any target; ESRCH before EINVAL before EPERM; SIGCONT needs the session', () => {
    const a = mk([1000, 1000, 1000, 1000], [0, 0, 0, 0], caps('KILL'));
    expect(e(a.rt.kill(a.s, a.t, 15))).toBe(0);
    const b = mk([1000, 1000, 1000, 1000], [0, 0, 0, 0]);
    expect(e(b.rt.kill(b.s, 999999, 99))).toBe(ESRCH);
    expect(e(b.rt.kill(b.s, b.t, 99))).toBe(EINVAL);
    expect(e(b.rt.kill(b.s, b.t, SIGCONT))).toBe('unmodelled');
    expect(e(b.rt.kill(b.s, b.t, SIGCONT, { sameSession: true }))).toBe(0);
    expect(e(b.rt.kill(b.s, b.t, SIGCONT, { sameSession: false }))).toBe(EPERM);
    expect(e(b.rt.kill(b.s, 0, 9))).toBe('unmodelled');
  });
  it('signals within the thread group need no permission; tgkill checks the group', () => {
    const { rt, tid } = setup();
    const th = rt.cloneThread(tid);
    rt.setuid(th.tid, 1000);
    expect(e(rt.kill(th.tid, tid, 9))).toBe(0);
    expect(e(rt.tgkill(th.tid, tid, th.tid, 0))).toBe(0);
    expect(e(rt.tgkill(th.tid, tid + 99, th.tid, 0))).toBe(ESRCH);
    expect(e(rt.tgkill(th.tid, 0, th.tid, 0))).toBe(EINVAL);
  });
});

describe('ptrace attach', () => {
  it('same ids and a permitted subset allow it; otherwise CAP_SYS_PTRACE', () => {
    const rt = createRuntime();
    const u = Credential.from({ uid: 1000, gid: 1000, effective: 0n, permitted: 0n });
    const a = rt.spawn(u).tid;
    const b = rt.spawn(u).tid;
    expect(e(rt.ptraceAttach(a, b))).toBe(0);
    expect(e(rt.ptraceAttach(a, b))).toBe(EPERM); // already traced
    const c = rt.spawn(Credential.from({ uid: 1000, gid: 1000, effective: 0n, permitted: caps('KILL') })).tid;
    expect(e(rt.ptraceAttach(a, c))).toBe(EPERM); // target P ⊄ tracer P
    const d = rt.spawn(Credential.from({ uid: 2000, gid: 1000, effective: 0n, permitted: 0n })).tid;
    expect(e(rt.ptraceAttach(a, d))).toBe(EPERM);
    const root = rt.spawn(Credential.root()).tid;
    expect(e(rt.ptraceAttach(root, d))).toBe(0);
    expect(e(rt.ptraceAttach(a, 777777))).toBe(ESRCH);
    expect(e(rt.ptraceAttach(a, a))).toBe(EPERM);
    // Detach, or the tracer's exit, frees the tracee for another tracer.
    rt.ptraceDetach(root, d);
    expect(e(rt.ptraceAttach(root, d))).toBe(0);
    rt.exitGroup(root);
    const other = rt.spawn(Credential.root()).tid;
    expect(e(rt.ptraceAttach(other, d))).toBe(0);
  });
  it('a non-dumpable target needs CAP_SYS_PTRACE; Yama scope 1 limits to descendants', () => {
    const rt = createRuntime({ sysctl: { yamaPtraceScope: 1 } });
    const u = Credential.from({ uid: 1000, gid: 1000, effective: 0n, permitted: 0n });
    const a = rt.spawn(u).tid;
    const child = rt.fork(a).tid;
    const stranger = rt.spawn(u).tid;
    expect(e(rt.ptraceAttach(a, stranger))).toBe(EPERM);
    expect(rt.prctl(child, PR_SET_DUMPABLE, 0).errno).toBe(0);
    expect(e(rt.ptraceAttach(a, child))).toBe(EPERM);
    expect(rt.prctl(child, PR_SET_DUMPABLE, 1).errno).toBe(0);
    expect(e(rt.ptraceAttach(a, child))).toBe(0);
  });
});

describe('setpriority, chown, mlock, iopl, xattrs', () => {
  it('lowering nice needs CAP_SYS_NICE unless RLIMIT_NICE allows it', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    expect(e(rt.setpriority(tid, 0, 0, 10))).toBe(0);
    expect(e(rt.setpriority(tid, 0, 0, 5))).toBe(EACCES);
    expect(e(rt.setpriority(tid, 0, 0, 5, { rlimitNice: 15 }))).toBe(0);
    expect(e(rt.setpriority(tid, 0, 0, -30, { rlimitNice: 40 }))).toBe(0);
    expect(rt.findThread(tid)!.nice).toBe(-20);
    expect(e(rt.setpriority(tid, 7, 0, 0))).toBe(EINVAL);
    expect(e(rt.setpriority(tid, 0, 999999, 0))).toBe(ESRCH);
  });
  it('chown: the owner may chgrp to its own groups; anything else needs CAP_CHOWN', () => {
    const { rt, tid } = setup({ uid: 1000, gid: 1000, groups: [50], effective: 0n, permitted: 0n });
    const f = { fileUid: 1000, fileGid: 1000 };
    expect(e(rt.chown(tid, { ...f, uid: -1, gid: 50 }))).toBe(0);
    expect(e(rt.chown(tid, { ...f, uid: 1000, gid: -1 }))).toBe(0);
    expect(e(rt.chown(tid, { ...f, uid: -1, gid: 51 }))).toBe(EPERM);
    expect(e(rt.chown(tid, { ...f, uid: 2000, gid: -1 }))).toBe(EPERM);
    expect(e(rt.chown(tid, { fileUid: 0, fileGid: 50, uid: -1, gid: 50 }))).toBe(EPERM);
  });
  it('mlock beyond RLIMIT_MEMLOCK is ENOMEM without CAP_IPC_LOCK; a zero limit is EPERM', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    expect(e(rt.mlock(tid, 0, 4096, { memlockLimit: 65536 }))).toBe(0);
    expect(e(rt.mlock(tid, 100, 4096, { memlockLimit: 8192, lockedPages: 1 }))).toBe(ENOMEM);
    expect(e(rt.mlock(tid, 0, 4096, { memlockLimit: 0 }))).toBe(EPERM);
    const r = setup();
    expect(e(r.rt.mlock(r.tid, 0, 1 << 30, { memlockLimit: 0 }))).toBe(0);
  });
  it('iopl/ioperm: ENOSYS without CONFIG_X86_IOPL_IOPERM; with it, raising needs CAP_SYS_RAWIO', () => {
    const a = setup();
    expect(e(a.rt.iopl(a.tid, 3))).toBe(ENOSYS);
    const { rt, tid } = setup({ effective: caps('SYS_RAWIO') }, { kernelConfig: { x86IoplIoperm: true } });
    expect(e(rt.iopl(tid, 4))).toBe(EINVAL);
    expect(e(rt.iopl(tid, 3))).toBe(0);
    expect(set3(rt, tid, { e: 0n, p: HOST_FULL, i: 0n }).errno).toBe(0);
    expect(e(rt.iopl(tid, 1))).toBe(0); // lowering is free
    expect(e(rt.iopl(tid, 2))).toBe(EPERM);
    expect(e(rt.ioperm(tid, 0, 0, 1))).toBe(EINVAL);
    expect(e(rt.ioperm(tid, 0x80, 1, 0))).toBe(0);
    expect(e(rt.ioperm(tid, 0x80, 1, 1))).toBe(EPERM);
  });
  it('security.capability: header validity (EINVAL) before CAP_SETFCAP (EPERM) before write access (EACCES)', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    const v3 = new Uint8Array(24);
    v3[3] = 3;
    expect(e(rt.setxattrCaps(tid, v3.slice(0, 20)))).toBe(EINVAL);
    const flagged = v3.slice();
    flagged[0] = 2; // a flag bit other than VFS_CAP_FLAGS_EFFECTIVE
    expect(e(rt.setxattrCaps(tid, flagged))).toBe(EINVAL);
    expect(e(rt.setxattrCaps(tid, v3, { fileWritable: false }))).toBe(EPERM);
    expect(e(rt.removexattrCaps(tid, { fileWritable: false }))).toBe(EACCES);
    expect(e(rt.removexattrCaps(tid))).toBe(EPERM);
    const r = setup();
    expect(e(r.rt.setxattrCaps(r.tid, v3, { fileWritable: false }))).toBe(EACCES);
    expect(e(r.rt.removexattrCaps(r.tid, { present: false }))).toBe(61);
  });
});

describe('namespaces', () => {
  it('unshare of a multi-threaded process with CLONE_NEWUSER is EINVAL', () => {
    const { rt, tid } = setup();
    rt.cloneThread(tid);
    expect(e(rt.unshare(tid, CLONE_NEWUSER))).toBe(EINVAL);
  });
  it('clone(CLONE_NEWUSER|CLONE_NEWNET) gives the child full capabilities over its own net namespace only', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    const child = rt.clone(tid, CLONE_NEWUSER | CLONE_NEWNET | 17).tid;
    expect(rt.cred(child).effective.toBigInt()).toBe(0x1ffffffffffn);
    expect(e(rt.socket(child, AF_INET, SOCK_RAW, 1))).toBe(0);
    expect(e(rt.sethostname(child, 4))).toBe(EPERM); // UTS namespace still the initial one
    expect(e(rt.socket(tid, AF_INET, SOCK_RAW, 1))).toBe(EPERM);
  });
});
