/** Credential construction, errno table, task bookkeeping and exec details beyond §8. */
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { parseProcStatus } from '../../src/caps/procstatus.js';
import {
  Credential,
  createRuntime,
  EACCES,
  EOVERFLOW,
  EPERM,
  ERRNO_NAMES,
  errnoByName,
  errnoName,
  PR_GET_DUMPABLE,
  PR_SET_NO_NEW_PRIVS,
} from '../../src/runtime/index.js';
import { caps, setup } from './helpers.js';

const STATUS = `Name:\tcat
Umask:\t0022
State:\tR (running)
Tgid:\t4242
Ngid:\t0
Pid:\t4242
PPid:\t1
TracerPid:\t0
Uid:\t1000\t1001\t1002\t1003
Gid:\t100\t101\t102\t103
FDSize:\t64
Groups:\t4 24 27
CapInh:\t0000000000000400
CapPrm:\t0000000000003400
CapEff:\t0000000000001000
CapBnd:\t000001fffeffffff
CapAmb:\t0000000000000400
NoNewPrivs:\t1
Seccomp:\t0
`;

describe('Credential', () => {
  it('builds from /proc status fields, raw or parsed by parseProcStatus', () => {
    const raw = Credential.fromProcStatus(
      {
        Uid: '1000\t1001\t1002\t1003',
        Gid: '100\t101\t102\t103',
        Groups: '27 4 24',
        CapInh: '0000000000000400',
        CapPrm: '0000000000003400',
        CapEff: '0000000000001000',
        CapBnd: '000001fffeffffff',
        CapAmb: '0000000000000400',
        NoNewPrivs: '1',
      },
      0x10,
    );
    const parsed = Credential.fromStatus(parseProcStatus(STATUS), 0x10);
    for (const c of [raw, parsed]) {
      expect([c.ruid, c.euid, c.suid, c.fsuid]).toEqual([1000, 1001, 1002, 1003]);
      expect([c.rgid, c.egid, c.sgid, c.fsgid]).toEqual([100, 101, 102, 103]);
      expect(c.groups).toEqual([4, 24, 27]);
      expect(c.permitted.toBigInt()).toBe(caps('NET_BIND_SERVICE', 'NET_ADMIN', 'NET_RAW'));
      expect(c.effective.toBigInt()).toBe(caps('NET_ADMIN'));
      expect(c.ambient.toBigInt()).toBe(caps('NET_BIND_SERVICE'));
      expect(c.bounding.has(24)).toBe(false);
      expect(c.noNewPrivs).toBe(true);
      expect(c.securebits).toBe(0x10);
    }
    expect(raw.toJSON()).toEqual(parsed.toJSON());
  });
  it('rejects malformed ids and securebits', () => {
    expect(() => Credential.from({ uid: [1, 2, 3] as unknown as [number, number, number, number] })).toThrow(/4 ids/);
    expect(() => Credential.from({ securebits: 0x1000 })).toThrow(/securebits/);
    expect(() => Credential.fromProcStatus({ Groups: 'a b' })).toThrow(/Groups/);
  });
  it('accepts sets as CapSet, bigint or hex', () => {
    const c = Credential.from({ effective: CapSet.of(13), permitted: 0x2000n, inheritable: '2000' });
    expect([c.hasEffective(13), c.hasPermitted(13), c.hasInheritable(13), c.hasEffective(41)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });
});

describe('errno table', () => {
  it('maps numbers and names both ways', () => {
    expect([EPERM, EACCES, EOVERFLOW]).toEqual([1, 13, 75]);
    expect(errnoName(14)).toBe('EFAULT');
    expect(errnoByName('ESRCH')).toBe(3);
    expect(errnoByName('EWOULDBLOCK')).toBe(11);
    expect(errnoByName('ENOTSUP')).toBe(95);
    expect(errnoName(999)).toBe('errno 999');
    for (const [n, name] of Object.entries(ERRNO_NAMES)) expect(errnoByName(name)).toBe(Number(n));
  });
});

describe('tasks', () => {
  it('ids are caller-chosen or allocated; reuse and unknown callers are errors', () => {
    const rt = createRuntime({ firstId: 500 });
    const a = rt.spawn();
    expect(a.tid).toBe(500);
    const b = rt.fork(a.tid, 900);
    expect([b.tid, b.tgid, rt.process(900)!.ppid]).toEqual([900, 900, 500]);
    expect(rt.fork(a.tid).tid).toBe(901);
    expect(() => rt.fork(a.tid, 900)).toThrow(/in use/);
    expect(() => rt.capget(12345, null, null)).toThrow(/no live thread/);
    const th = rt.cloneThread(b.tid);
    expect(th.tgid).toBe(900);
    rt.exit(th.tid);
    expect(rt.findThread(th.tid)).toBeUndefined();
  });
  it('a leader that exits stays visible until the group has exited and been reaped', () => {
    const rt = createRuntime();
    const p = rt.spawn();
    const th = rt.cloneThread(p.tid);
    rt.exit(p.tid);
    expect(rt.findThread(p.tid)).toBeDefined();
    expect(rt.process(p.tid)!.zombie).toBe(false);
    expect(() => rt.setuid(p.tid, 1)).toThrow();
    rt.exit(th.tid);
    expect(rt.process(p.tid)!.zombie).toBe(true);
    rt.reap(p.tid);
    expect(rt.findThread(p.tid)).toBeUndefined();
  });
});

describe('execve details', () => {
  it('unsafe exec (shared fs, unprivileged tracer) caps P at the old P and resets set-id without CAP_SETUID', () => {
    const user = { uid: 1000, effective: 0n, permitted: 0n };
    for (const opts of [{ sharedFs: true }, { tracedByUnprivileged: true }]) {
      const { rt, tid } = setup(user);
      expect(rt.execve(tid, { mode: 0o4755, uid: 0 }, opts).errno).toBe(0);
      const c = rt.cred(tid);
      expect([c.euid, c.permitted.toBigInt()]).toEqual([1000, 0n]);
    }
    // With CAP_SETUID in E (and no no_new_privs) the ids still change; P is still capped.
    const { rt, tid } = setup({ uid: 1000, effective: caps('SETUID'), permitted: caps('SETUID') });
    rt.execve(tid, { mode: 0o4755, uid: 0 }, { sharedFs: true });
    expect([rt.cred(tid).euid, rt.cred(tid).permitted.toBigInt()]).toEqual([0, caps('SETUID')]);
  });
  it('sharing the fs_struct with another process (clone CLONE_FS) makes exec unsafe; threads of the group do not', () => {
    const user = { uid: 1000, effective: 0n, permitted: 0n };
    const a = setup(user);
    a.rt.cloneThread(a.tid); // pthread: CLONE_FS within the group
    a.rt.execve(a.tid, { mode: 0o4755, uid: 0 });
    expect(a.rt.cred(a.tid).euid).toBe(0);
    const b = setup(user);
    const sharer = b.rt.clone(b.tid, 0x200 /* CLONE_FS */ | 17);
    b.rt.execve(b.tid, { mode: 0o4755, uid: 0 });
    expect(b.rt.cred(b.tid).euid).toBe(1000);
    b.rt.exit(sharer.tid);
    b.rt.execve(b.tid, { mode: 0o4755, uid: 0 });
    expect(b.rt.cred(b.tid).euid).toBe(0);
  });
  it('file caps are ignored when disabled at boot; exec of a set-id file leaves the process non-dumpable', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    const fcaps = {
      version: 2 as const,
      effective: true,
      permitted: CapSet.of(13),
      inheritable: CapSet.EMPTY,
      rootid: 0,
      beyond: { permitted: 0, inheritable: 0 },
    };
    rt.execve(tid, { fileCaps: fcaps }, { fileCapsDisabled: true });
    expect(rt.cred(tid).permitted.isEmpty()).toBe(true);
    expect(rt.prctl(tid, PR_GET_DUMPABLE).ret).toBe(1);
    rt.execve(tid, { fileCaps: fcaps });
    expect(rt.cred(tid).permitted.has(13)).toBe(true);
    expect(rt.prctl(tid, PR_GET_DUMPABLE).ret).toBe(0);
    rt.execve(tid, {});
    expect(rt.prctl(tid, PR_GET_DUMPABLE).ret).toBe(1);
  });
  it('no_new_privs survives exec; set-gid without group-execute is ignored', () => {
    const { rt, tid } = setup({ uid: 1000, gid: 1000, effective: 0n, permitted: 0n });
    rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 1);
    rt.execve(tid, {});
    expect(rt.cred(tid).noNewPrivs).toBe(true);
    const u = setup({ uid: 1000, gid: 1000, effective: 0n, permitted: 0n });
    u.rt.execve(u.tid, { mode: 0o2745, gid: 5 });
    expect(u.rt.cred(u.tid).egid).toBe(1000);
    u.rt.execve(u.tid, { mode: 0o2755, gid: 5 });
    expect(u.rt.cred(u.tid).egid).toBe(5);
  });
});
