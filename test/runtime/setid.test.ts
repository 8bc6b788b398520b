/** Spec §8 kernel-confirmed cases, uid changes (A={NBS}, I={CHOWN,NBS} before): one test per bullet. */
import { describe, expect, it } from 'vitest';
import { CLONE_NEWUSER, EINVAL, EPERM, PR_SET_KEEPCAPS, PR_SET_SECUREBITS } from '../../src/runtime/index.js';
import { caps, HOST_FULL, set3, setup } from './helpers.js';

const NBS = caps('NET_BIND_SERVICE');
const I0 = caps('CHOWN', 'NET_BIND_SERVICE');
const start = () => setup({ inheritable: I0, ambient: NBS });
const sets = (rt: ReturnType<typeof setup>['rt'], tid: number) => {
  const c = rt.cred(tid);
  return {
    e: c.effective.toBigInt(),
    p: c.permitted.toBigInt(),
    i: c.inheritable.toBigInt(),
    a: c.ambient.toBigInt(),
  };
};
const ids = (rt: ReturnType<typeof setup>['rt'], tid: number) => {
  const c = rt.cred(tid);
  return [c.ruid, c.euid, c.suid, c.fsuid];
};

describe('§8 uid changes', () => {
  it('setuid(1000) → ids 1000×3, E=P=A=0, I kept; then setuid(0) → EPERM', () => {
    const { rt, tid } = start();
    expect(rt.setuid(tid, 1000).errno).toBe(0);
    expect(ids(rt, tid)).toEqual([1000, 1000, 1000, 1000]);
    expect(sets(rt, tid)).toEqual({ e: 0n, p: 0n, i: I0, a: 0n });
    expect(rt.setuid(tid, 0)).toEqual({ ret: -1, errno: EPERM });
  });

  it('KEEPCAPS + setuid(1000) → P kept, E=0, A=0; KEEPCAPS still set', () => {
    const { rt, tid } = start();
    expect(rt.prctl(tid, PR_SET_KEEPCAPS, 1).errno).toBe(0);
    expect(rt.setuid(tid, 1000).errno).toBe(0);
    expect(sets(rt, tid)).toEqual({ e: 0n, p: HOST_FULL, i: I0, a: 0n });
    expect(rt.cred(tid).securebits).toBe(0x10);
  });

  it('NO_SETUID_FIXUP + setresuid(1000×3) → E, P, A all kept; setfsuid 0↔1000 → E unchanged', () => {
    const { rt, tid } = start();
    expect(rt.prctl(tid, PR_SET_SECUREBITS, 0x4).errno).toBe(0);
    expect(rt.setresuid(tid, 1000, 1000, 1000).errno).toBe(0);
    expect(sets(rt, tid)).toEqual({ e: HOST_FULL, p: HOST_FULL, i: I0, a: NBS });
    const u = start();
    expect(u.rt.prctl(u.tid, PR_SET_SECUREBITS, 0x4).errno).toBe(0);
    expect(u.rt.setfsuid(u.tid, 1000).ret).toBe(0);
    expect(sets(u.rt, u.tid).e).toBe(HOST_FULL);
    expect(u.rt.setfsuid(u.tid, 0).ret).toBe(1000);
    expect(sets(u.rt, u.tid).e).toBe(HOST_FULL);
  });

  it('setresuid(-1,1000,-1) → E=0, P and A kept; setresuid(-1,0,-1) → E=P', () => {
    const { rt, tid } = start();
    expect(rt.setresuid(tid, -1, 1000, -1).errno).toBe(0);
    expect(sets(rt, tid)).toEqual({ e: 0n, p: HOST_FULL, i: I0, a: NBS });
    expect(rt.setresuid(tid, -1, 0, -1).errno).toBe(0);
    expect(sets(rt, tid)).toEqual({ e: HOST_FULL, p: HOST_FULL, i: I0, a: NBS });
  });

  it('setresuid(1000,1000,-1) → E=0, P, A kept (suid still 0); then setresuid(-1,-1,1000) → E=P=A=0', () => {
    const { rt, tid } = start();
    expect(rt.setresuid(tid, 1000, 1000, -1).errno).toBe(0);
    expect(ids(rt, tid)).toEqual([1000, 1000, 0, 1000]);
    expect(sets(rt, tid)).toEqual({ e: 0n, p: HOST_FULL, i: I0, a: NBS });
    expect(rt.setresuid(tid, -1, -1, 1000).errno).toBe(0);
    expect(sets(rt, tid)).toEqual({ e: 0n, p: 0n, i: I0, a: 0n });
  });

  it('setresuid(1000,-1,-1) (only ruid) → no cap change. setreuid(1000,1000) → suid 1000, E=P=A=0. setreuid(-1,1000) → suid 1000 but ruid 0: E=0, P, A kept', () => {
    const a = start();
    expect(a.rt.setresuid(a.tid, 1000, -1, -1).errno).toBe(0);
    expect(sets(a.rt, a.tid)).toEqual({ e: HOST_FULL, p: HOST_FULL, i: I0, a: NBS });
    const b = start();
    expect(b.rt.setreuid(b.tid, 1000, 1000).errno).toBe(0);
    expect(ids(b.rt, b.tid)).toEqual([1000, 1000, 1000, 1000]);
    expect(sets(b.rt, b.tid)).toEqual({ e: 0n, p: 0n, i: I0, a: 0n });
    const c = start();
    expect(c.rt.setreuid(c.tid, -1, 1000).errno).toBe(0);
    expect(ids(c.rt, c.tid)).toEqual([0, 1000, 1000, 1000]);
    expect(sets(c.rt, c.tid)).toEqual({ e: 0n, p: HOST_FULL, i: I0, a: NBS });
  });

  it('KEEPCAPS, ids 1000×3, E=0: setresuid(-1,0,-1) → EPERM (CAP_SETUID must be in E)', () => {
    const { rt, tid } = start();
    rt.prctl(tid, PR_SET_KEEPCAPS, 1);
    expect(rt.setresuid(tid, 1000, 1000, 1000).errno).toBe(0);
    expect(sets(rt, tid).e).toBe(0n);
    expect(sets(rt, tid).p).toBe(HOST_FULL);
    expect(rt.setresuid(tid, -1, 0, -1)).toEqual({ ret: -1, errno: EPERM });
  });

  it('KEEPCAPS, ids 1000×3, E={SETUID}: setresuid(1000,0,1000) → E:=P', () => {
    const { rt, tid } = start();
    rt.prctl(tid, PR_SET_KEEPCAPS, 1);
    expect(rt.setresuid(tid, 1000, 1000, 1000).errno).toBe(0);
    expect(set3(rt, tid, { e: caps('SETUID'), p: HOST_FULL, i: I0 }).errno).toBe(0);
    expect(rt.setresuid(tid, 1000, 0, 1000).errno).toBe(0);
    expect(ids(rt, tid)).toEqual([1000, 0, 1000, 0]);
    expect(sets(rt, tid).e).toBe(HOST_FULL);
  });

  it('setfsuid(1000) → E = 0x1fef6fffde0 (full minus FS_SET incl. MKNOD, MAC_OVERRIDE); setfsuid(0) → E restored; with CHOWN, MKNOD removed from P, setfsuid(1000→2000) → no change, →0 regains only P∩FS_SET', () => {
    const { rt, tid } = setup({ effective: 0x1ffffffffffn, permitted: 0x1ffffffffffn, bounding: 0x1ffffffffffn });
    expect(rt.setfsuid(tid, 1000).ret).toBe(0);
    expect(sets(rt, tid).e).toBe(0x1fef7fffde0n & 0x1ffffffffffn & ~0x10800021fn);
    expect(sets(rt, tid).e).toBe(0x1fef7fffde0n);
    expect(rt.setfsuid(tid, 0).ret).toBe(1000);
    expect(sets(rt, tid).e).toBe(0x1ffffffffffn);
    // The bullet's figure is on the §8 host (no SYS_RESOURCE): full minus FS_SET minus bit 24.
    const h = setup();
    expect(h.rt.setfsuid(h.tid, 1000).ret).toBe(0);
    expect(sets(h.rt, h.tid).e).toBe(0x1fef6fffde0n);
    const p = HOST_FULL & ~caps('CHOWN', 'MKNOD');
    expect(set3(h.rt, h.tid, { e: 0x1fef6fffde0n & p, p, i: 0n }).errno).toBe(0);
    const before = sets(h.rt, h.tid).e;
    expect(h.rt.setfsuid(h.tid, 2000).ret).toBe(1000);
    expect(sets(h.rt, h.tid).e).toBe(before);
    expect(h.rt.setfsuid(h.tid, 0).ret).toBe(2000);
    expect(sets(h.rt, h.tid).e).toBe(before | (p & 0x10800021fn));
    expect(sets(h.rt, h.tid).e & caps('CHOWN', 'MKNOD')).toBe(0n);
  });

  it('setresgid(1000×3)+setgroups(0) as root → no cap change', () => {
    const { rt, tid } = start();
    expect(rt.setresgid(tid, 1000, 1000, 1000).errno).toBe(0);
    expect(rt.setgroups(tid, 0, null).errno).toBe(0);
    expect(sets(rt, tid)).toEqual({ e: HOST_FULL, p: HOST_FULL, i: I0, a: NBS });
    const c = rt.cred(tid);
    expect([c.rgid, c.egid, c.sgid, c.fsgid]).toEqual([1000, 1000, 1000, 1000]);
  });
});

describe('uid family: kernel/sys.c rules beyond §8', () => {
  it('setuid(-1) and setgid(-1) are EINVAL (INVALID_UID); setre*id(-1,-1) is a no-op', () => {
    const { rt, tid } = setup();
    expect(rt.setuid(tid, -1)).toEqual({ ret: -1, errno: EINVAL });
    expect(rt.setgid(tid, 0xffffffff)).toEqual({ ret: -1, errno: EINVAL });
    expect(rt.setreuid(tid, -1, -1).errno).toBe(0);
    expect(rt.setfsuid(tid, -1).ret).toBe(0);
  });
  it('unprivileged setuid may go to ruid or suid only; setreuid swaps ruid and euid', () => {
    const { rt, tid } = setup({ uid: [1000, 2000, 3000, 2000], effective: 0n, permitted: 0n });
    expect(rt.setuid(tid, 4000).errno).toBe(EPERM);
    expect(rt.setuid(tid, 3000).errno).toBe(0);
    expect(ids(rt, tid)).toEqual([1000, 3000, 3000, 3000]);
    expect(rt.setreuid(tid, 3000, 1000).errno).toBe(0);
    expect(ids(rt, tid)).toEqual([3000, 1000, 1000, 1000]);
    expect(rt.setreuid(tid, 2000, -1).errno).toBe(EPERM);
  });
  it('setfsuid to a foreign id without CAP_SETUID changes nothing and still returns the old fsuid', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    expect(rt.setfsuid(tid, 5).ret).toBe(1000);
    expect(rt.cred(tid).fsuid).toBe(1000);
  });
  it('setgroups needs CAP_SETGID, limits the size, faults on short lists and sorts', () => {
    const { rt, tid } = setup();
    expect(rt.setgroups(tid, 65537, []).errno).toBe(EINVAL);
    expect(rt.setgroups(tid, -1, []).errno).toBe(EINVAL);
    expect(rt.setgroups(tid, 3, [1, 2]).errno).toBe(14);
    expect(rt.setgroups(tid, 3, [30, 10, 20]).errno).toBe(0);
    expect(rt.cred(tid).groups).toEqual([10, 20, 30]);
    expect(rt.setgroups(tid, 1, [-1]).errno).toBe(EINVAL);
    const u = setup({ uid: 1000, effective: 0n, permitted: 0n });
    expect(u.rt.setgroups(u.tid, 0, null).errno).toBe(EPERM);
  });
  it('only the calling thread changes (raw syscall semantics)', () => {
    const { rt, tid } = setup();
    const th = rt.cloneThread(tid);
    expect(rt.setuid(th.tid, 1000).errno).toBe(0);
    expect(rt.cred(th.tid).euid).toBe(1000);
    expect(rt.cred(tid).euid).toBe(0);
  });
  it('a credential change that moves euid makes the process non-dumpable (fs.suid_dumpable 0)', () => {
    const { rt, tid } = setup();
    expect(rt.prctl(tid, 3).ret).toBe(1);
    rt.setresuid(tid, -1, 1000, -1);
    expect(rt.prctl(tid, 3).ret).toBe(0);
  });
  it('in a child user namespace without maps (checked on 6.18): ids are EINVAL, setgroups EPERM, setfs*id report overflowuid 65534', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    expect(rt.unshare(tid, CLONE_NEWUSER).errno).toBe(0);
    expect(rt.setfsuid(tid, 0)).toEqual({ ret: 65534, errno: 0 });
    expect(rt.setfsuid(tid, -1)).toEqual({ ret: 65534, errno: 0 });
    expect(rt.setfsgid(tid, 5)).toEqual({ ret: 65534, errno: 0 });
    expect(rt.setgroups(tid, 0, null)).toEqual({ ret: -1, errno: EPERM });
    expect(rt.setuid(tid, 0)).toEqual({ ret: -1, errno: EINVAL });
    expect(rt.setresuid(tid, -1, -1, -1)).toEqual({ ret: 0, errno: 0 });
    expect(rt.setgid(tid, 0)).toEqual({ ret: -1, errno: EINVAL });
  });
  it('unshare -r: id maps written by the creator make it root in the namespace (checked on 6.18)', () => {
    const { rt, tid } = setup({ uid: 1000, gid: 0, effective: 0n, permitted: 0n });
    expect(rt.unshare(tid, CLONE_NEWUSER).errno).toBe(0);
    expect(rt.writeIdMap(tid, tid, 'gid', [[0, 0, 1]]).errno).toBe(EPERM); // setgroups not yet denied
    expect(rt.writeSetgroups(tid, tid, 'deny').errno).toBe(0);
    expect(rt.writeIdMap(tid, tid, 'uid', [[0, 1001, 1]]).errno).toBe(EPERM); // not its own euid
    expect(rt.writeIdMap(tid, tid, 'uid', [[0, 1000, 1]]).errno).toBe(0);
    expect(rt.writeIdMap(tid, tid, 'uid', [[0, 1000, 1]]).errno).toBe(EPERM); // written once
    expect(rt.writeIdMap(tid, tid, 'gid', [[0, 0, 1]]).errno).toBe(0);
    expect(rt.setgroups(tid, 0, null).errno).toBe(EPERM);
    expect(rt.setfsuid(tid, -1)).toEqual({ ret: 0, errno: 0 });
    expect(rt.setuid(tid, 0).errno).toBe(0);
    expect(rt.setuid(tid, 5).errno).toBe(EINVAL);
    expect(rt.execve(tid, {}).errno).toBe(0);
    const c = rt.cred(tid);
    expect([c.ruid, c.euid, c.effective.toBigInt(), c.permitted.toBigInt()]).toEqual([
      1000,
      1000,
      0x1ffffffffffn,
      0x1ffffffffffn,
    ]);
  });
  it('id map writes: root of the parent may map ranges; malformed maps are EINVAL', () => {
    const { rt, tid } = setup();
    const child = rt.clone(tid, CLONE_NEWUSER | 17).tid;
    expect(rt.writeIdMap(tid, child, 'uid', [[0, 100000, 0]]).errno).toBe(EINVAL);
    expect(
      rt.writeIdMap(tid, child, 'uid', [
        [0, 100000, 10],
        [5, 200000, 10],
      ]).errno,
    ).toBe(EINVAL);
    expect(rt.writeIdMap(tid, child, 'uid', [[0, 100000, 65536]]).errno).toBe(0);
    expect(rt.writeIdMap(tid, child, 'gid', [[0, 100000, 65536]]).errno).toBe(0);
    expect(rt.cred(child).userns.toKuid(1000)).toBe(101000);
    expect(rt.cred(child).userns.fromKuid(100005)).toBe(5);
    // A process without CAP_SETUID in the parent cannot map a range onto other users' ids.
    const u = setup({ uid: 1000, effective: 0n, permitted: 0n });
    const uc = u.rt.clone(u.tid, CLONE_NEWUSER | 17).tid;
    expect(u.rt.writeIdMap(u.tid, uc, 'uid', [[0, 100000, 65536]]).errno).toBe(EPERM);
    expect(u.rt.writeIdMap(u.tid, uc, 'uid', [[0, 1000, 1]]).errno).toBe(0);
  });
});
