/**
 * Spec §8 kernel-confirmed cases, execve section (shows E/P/I/A after exec; uid 1000 sets
 * obtained via KEEPCAPS + setresuid + capset, built here directly): one test per bullet.
 */
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { encodeFileCaps } from '../../src/caps/xattr.js';
import {
  CLONE_NEWUSER,
  type CredentialInit,
  EINVAL,
  EPERM,
  type ExecFile,
  PR_SET_NO_NEW_PRIVS,
  type Runtime,
} from '../../src/runtime/index.js';
import { caps, HOST_FULL, setup } from './helpers.js';

const NBS = caps('NET_BIND_SERVICE');
const NET_RAW = caps('NET_RAW');

/** File capabilities like setcap's text: fcap(caps('NET_RAW'), 'ep'). */
function fcap(set: bigint, flags: string, rootid = 0): Uint8Array {
  const s = CapSet.fromBigInt(set);
  return encodeFileCaps({
    effective: flags.includes('e'),
    permitted: flags.includes('p') ? s : CapSet.EMPTY,
    inheritable: flags.includes('i') ? s : CapSet.EMPTY,
    rootid,
  });
}

function state(rt: Runtime, tid: number) {
  const c = rt.cred(tid);
  return {
    e: c.effective.toBigInt(),
    p: c.permitted.toBigInt(),
    i: c.inheritable.toBigInt(),
    a: c.ambient.toBigInt(),
    ids: [c.ruid, c.euid, c.suid, c.fsuid],
  };
}

function run(init: CredentialInit, file: ExecFile = {}, nnp = false) {
  const { rt, tid } = setup(init);
  if (nnp) expect(rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 1).errno).toBe(0);
  const res = rt.execve(tid, file);
  return { res, ...state(rt, tid), rt, tid };
}

/** uid 1000 with the given sets (ids 1000×4). */
const user = (x: CredentialInit = {}): CredentialInit => ({ uid: 1000, effective: 0n, permitted: 0n, ...x });

describe('§8 execve', () => {
  it('root, plain file → E=P=B|I, A kept; root with P={CHOWN} (no NNP) → back to E=P=B', () => {
    const a = run({ inheritable: caps('KILL', 'NET_BIND_SERVICE'), ambient: NBS });
    expect(a.res.errno).toBe(0);
    expect([a.e, a.p, a.a]).toEqual([HOST_FULL, HOST_FULL, NBS]);
    const b = run({ effective: caps('CHOWN'), permitted: caps('CHOWN') });
    expect([b.e, b.p]).toEqual([HOST_FULL, HOST_FULL]);
  });

  it('root, I={KILL,NBS} then KILL,NBS dropped from B, A={NBS} → P=E=B|I (includes KILL,NBS), A={NBS}', () => {
    const i = caps('KILL', 'NET_BIND_SERVICE');
    const b = HOST_FULL & ~i;
    const r = run({ bounding: b, inheritable: i, ambient: NBS });
    expect([r.e, r.p, r.a]).toEqual([b | i, b | i, NBS]);
  });

  it('root + NNP, P={CHOWN,KILL}, E={CHOWN} → E=P={CHOWN,KILL}. Root + NNP, A={NBS} → E=P=B, A kept', () => {
    const r = run({ effective: caps('CHOWN'), permitted: caps('CHOWN', 'KILL') }, {}, true);
    expect([r.e, r.p]).toEqual([caps('CHOWN', 'KILL'), caps('CHOWN', 'KILL')]);
    const s = run({ inheritable: NBS, ambient: NBS }, {}, true);
    expect([s.e, s.p, s.a]).toEqual([HOST_FULL, HOST_FULL, NBS]);
  });

  it('ruid 0/euid 1000, A={NBS} → P=B|I, E=A={NBS}, A kept. ruid 1000/euid 0 → E=P=B|I, A kept', () => {
    const r = run({ uid: [0, 1000, 1000, 1000], effective: 0n, inheritable: NBS, ambient: NBS });
    expect([r.p, r.e, r.a]).toEqual([HOST_FULL, NBS, NBS]);
    const s = run({ uid: [1000, 0, 0, 0], inheritable: NBS, ambient: NBS });
    expect([s.e, s.p, s.a]).toEqual([HOST_FULL, HOST_FULL, NBS]);
  });

  it('ruid 1000/euid 0, file with NET_RAW=ep → ids kept, E=P={NET_RAW}. ruid 0/euid 1000, same file → E=P=full', () => {
    const r = run({ uid: [1000, 0, 0, 0] }, { fileCaps: fcap(NET_RAW, 'ep') });
    expect(r.ids).toEqual([1000, 0, 0, 0]);
    expect([r.e, r.p]).toEqual([NET_RAW, NET_RAW]);
    const s = run({ uid: [0, 1000, 1000, 1000], effective: 0n }, { fileCaps: fcap(NET_RAW, 'ep') });
    expect([s.e, s.p]).toEqual([HOST_FULL, HOST_FULL]);
  });

  it('SECBIT_NOROOT root, A={NBS}, plain → E=P=A={NBS}; NET_RAW=ep → E=P={NET_RAW}; NET_RAW=p → P={NET_RAW}, E=0', () => {
    const base = { securebits: 0x1, inheritable: NBS, ambient: NBS };
    const r = run(base);
    expect([r.e, r.p, r.a]).toEqual([NBS, NBS, NBS]);
    const s = run(base, { fileCaps: fcap(NET_RAW, 'ep') });
    expect([s.e, s.p]).toEqual([NET_RAW, NET_RAW]);
    const t = run(base, { fileCaps: fcap(NET_RAW, 'p') });
    expect([t.e, t.p]).toEqual([0n, NET_RAW]);
  });

  it('uid 1000, P={NBS,NET_RAW,KILL}, I={NBS,KILL}, A={NBS} → E=P=A={NBS}, I kept, securebits 0x10→0', () => {
    const r = run(
      user({
        permitted: caps('NET_BIND_SERVICE', 'NET_RAW', 'KILL'),
        inheritable: caps('NET_BIND_SERVICE', 'KILL'),
        ambient: NBS,
        securebits: 0x10,
      }),
    );
    expect([r.e, r.p, r.a, r.i]).toEqual([NBS, NBS, NBS, caps('NET_BIND_SERVICE', 'KILL')]);
    expect(r.rt.cred(r.tid).securebits).toBe(0);
  });

  it('uid 1000, no A → E=P=0, I kept', () => {
    const r = run(user({ permitted: caps('KILL'), inheritable: caps('KILL') }));
    expect([r.e, r.p, r.i]).toEqual([0n, 0n, caps('KILL')]);
  });

  it('uid 1000, A={NBS}, file NET_RAW=ep → E=P={NET_RAW}, A=0; NET_RAW=p → P={NET_RAW}, E=0, A=0', () => {
    const u = user({ permitted: NBS, inheritable: NBS, ambient: NBS });
    const r = run(u, { fileCaps: fcap(NET_RAW, 'ep') });
    expect([r.e, r.p, r.a]).toEqual([NET_RAW, NET_RAW, 0n]);
    const s = run(u, { fileCaps: fcap(NET_RAW, 'p') });
    expect([s.e, s.p, s.a]).toEqual([0n, NET_RAW, 0n]);
  });

  it('uid 1000, I={NET_RAW}, file NET_RAW=i → P={NET_RAW}, E=0; =ei → E=P={NET_RAW}; I=0 & file =ei → success, all 0', () => {
    const r = run(user({ inheritable: NET_RAW }), { fileCaps: fcap(NET_RAW, 'i') });
    expect([r.e, r.p]).toEqual([0n, NET_RAW]);
    const s = run(user({ inheritable: NET_RAW }), { fileCaps: fcap(NET_RAW, 'ei') });
    expect([s.e, s.p]).toEqual([NET_RAW, NET_RAW]);
    const t = run(user(), { fileCaps: fcap(NET_RAW, 'ei') });
    expect(t.res.errno).toBe(0);
    expect([t.e, t.p, t.a]).toEqual([0n, 0n, 0n]);
  });

  it('file SYS_RESOURCE=ep (∉ B) → execve EPERM for uid 1000 and for root; SYS_RESOURCE=p → success, P=0', () => {
    const sr = caps('SYS_RESOURCE');
    const u = run(user(), { fileCaps: fcap(sr, 'ep') });
    expect(u.res).toEqual({ ret: -1, errno: EPERM });
    const r = run({}, { fileCaps: fcap(sr, 'ep') });
    expect(r.res).toEqual({ ret: -1, errno: EPERM });
    expect([r.e, r.p]).toEqual([HOST_FULL, HOST_FULL]); // nothing changed
    const p = run(user(), { fileCaps: fcap(sr, 'p') });
    expect(p.res.errno).toBe(0);
    expect(p.p).toBe(0n);
  });

  it('NET_RAW dropped from B, uid 1000, file NET_RAW=ep → EPERM; same but NET_RAW ∈ old I and file NET_RAW=eip → E=P={NET_RAW}', () => {
    const b = HOST_FULL & ~NET_RAW;
    expect(run(user({ bounding: b }), { fileCaps: fcap(NET_RAW, 'ep') }).res.errno).toBe(EPERM);
    const s = run(user({ bounding: b, inheritable: NET_RAW }), { fileCaps: fcap(NET_RAW, 'eip') });
    expect(s.res.errno).toBe(0);
    expect([s.e, s.p]).toEqual([NET_RAW, NET_RAW]);
  });

  it('root, file NET_RAW=p with A={NBS} → E=P=B, A=0', () => {
    const r = run({ inheritable: NBS, ambient: NBS }, { fileCaps: fcap(NET_RAW, 'p') });
    expect([r.e, r.p, r.a]).toEqual([HOST_FULL, HOST_FULL, 0n]);
  });

  it('uid 1000 + NNP, A={NBS}, file NET_RAW=ep → E=P=A=0; NNP + file SYS_RESOURCE=ep → EPERM (uid 1000 and root). uid 1000 + NNP, A={NBS}, plain → A kept, E=P={NBS}', () => {
    const u = user({ permitted: NBS, inheritable: NBS, ambient: NBS });
    const r = run(u, { fileCaps: fcap(NET_RAW, 'ep') }, true);
    expect([r.e, r.p, r.a]).toEqual([0n, 0n, 0n]);
    expect(run(user(), { fileCaps: fcap(caps('SYS_RESOURCE'), 'ep') }, true).res.errno).toBe(EPERM);
    expect(run({}, { fileCaps: fcap(caps('SYS_RESOURCE'), 'ep') }, true).res.errno).toBe(EPERM);
    const s = run(u, {}, true);
    expect([s.e, s.p, s.a]).toEqual([NBS, NBS, NBS]);
  });

  it('uid 1000 → setuid-root file → ids 1000/0/0, E=P=B|I, A=0. With NNP → ids 1000×3, all 0', () => {
    const suidRoot: ExecFile = { mode: 0o4755, uid: 0, gid: 0 };
    const r = run(user({ permitted: NBS, inheritable: NBS, ambient: NBS }), suidRoot);
    expect(r.ids).toEqual([1000, 0, 0, 0]);
    expect([r.e, r.p, r.a]).toEqual([HOST_FULL, HOST_FULL, 0n]);
    expect(r.res.atSecure).toBe(true);
    const s = run(user(), suidRoot, true);
    expect(s.ids).toEqual([1000, 1000, 1000, 1000]);
    expect([s.e, s.p, s.a]).toEqual([0n, 0n, 0n]);
  });

  it('uid 1000 → setuid-root file that also has NET_RAW=ep → ids 1000/0/0, E=P={NET_RAW} (mixed-case warning)', () => {
    const r = run(user(), { mode: 0o4755, uid: 0, fileCaps: fcap(NET_RAW, 'ep') });
    expect(r.ids).toEqual([1000, 0, 0, 0]);
    expect([r.e, r.p]).toEqual([NET_RAW, NET_RAW]);
  });

  it('uid 1000, A={NBS} → setgid(3000) file: not in groups → A=0, E=P=0; 3000 in supplementary groups → A kept, E=P={NBS}, AT_SECURE=1; fsgid=3000 → A kept', () => {
    const sgid: ExecFile = { mode: 0o2755, uid: 0, gid: 3000 };
    const u = user({ gid: 1000, permitted: NBS, inheritable: NBS, ambient: NBS });
    const r = run(u, sgid);
    expect([r.e, r.p, r.a]).toEqual([0n, 0n, 0n]);
    expect(r.rt.cred(r.tid).egid).toBe(3000);
    const s = run({ ...u, groups: [3000] }, sgid);
    expect([s.e, s.p, s.a]).toEqual([NBS, NBS, NBS]);
    expect(s.res.atSecure).toBe(true);
    const f = run({ ...u, gid: [1000, 1000, 1000, 3000] }, sgid);
    expect(f.a).toBe(NBS);
  });

  it('ruid 1000/euid 2000 (KEEPCAPS), A={NBS}, plain → ids kept, E=P=A={NBS}, AT_SECURE=1; same with NNP → euid stays 2000', () => {
    const u = user({ uid: [1000, 2000, 2000, 2000], permitted: NBS, inheritable: NBS, ambient: NBS, securebits: 0x10 });
    const r = run(u);
    expect(r.ids).toEqual([1000, 2000, 2000, 2000]);
    expect([r.e, r.p, r.a]).toEqual([NBS, NBS, NBS]);
    expect(r.res.atSecure).toBe(true);
    const s = run(u, {}, true);
    expect(s.ids[1]).toBe(2000);
  });

  it('same ids → setuid-2000 file: A kept; setuid-1000 file: euid 1000, A=0; setuid-3000: A=0', () => {
    const u = user({ uid: [1000, 2000, 2000, 2000], permitted: NBS, inheritable: NBS, ambient: NBS });
    expect(run(u, { mode: 0o4755, uid: 2000 }).a).toBe(NBS);
    const r = run(u, { mode: 0o4755, uid: 1000 });
    expect(r.ids[1]).toBe(1000);
    expect(r.a).toBe(0n);
    expect(run(u, { mode: 0o4755, uid: 3000 }).a).toBe(0n);
  });

  it('ruid 1000/euid 0 → setuid-1000 file → ids 1000×3, A=0, AT_SECURE=1. ids 1000×3 → setuid-1000 file → A kept, AT_SECURE=0', () => {
    const r = run({ uid: [1000, 0, 0, 0], inheritable: NBS, ambient: NBS }, { mode: 0o4755, uid: 1000 });
    expect(r.ids).toEqual([1000, 1000, 1000, 1000]);
    expect(r.a).toBe(0n);
    expect(r.res.atSecure).toBe(true);
    const s = run(user({ permitted: NBS, inheritable: NBS, ambient: NBS }), { mode: 0o4755, uid: 1000 });
    expect(s.a).toBe(NBS);
    expect(s.res.atSecure).toBe(false);
  });

  it('NOROOT root, A={NBS} → setuid-root file (euid already 0) → A kept, E=P={NBS}', () => {
    const r = run({ securebits: 0x1, inheritable: NBS, ambient: NBS }, { mode: 0o4755, uid: 0 });
    expect([r.e, r.p, r.a]).toEqual([NBS, NBS, NBS]);
  });

  it('securebits 0x134 → after exec 0x124', () => {
    const r = run({ securebits: 0x134 });
    expect(r.rt.cred(r.tid).securebits).toBe(0x124);
  });

  it('nosuid tmpfs: NET_RAW=ep file and setuid-root file → both ignored for uid 1000', () => {
    const r = run(user(), { nosuid: true, fileCaps: fcap(NET_RAW, 'ep') });
    expect([r.e, r.p]).toEqual([0n, 0n]);
    const s = run(user(), { nosuid: true, mode: 0o4755, uid: 0 });
    expect(s.ids).toEqual([1000, 1000, 1000, 1000]);
    expect([s.e, s.p]).toEqual([0n, 0n]);
  });

  it('v3 xattr rootid=1000 → ignored (uid 1000 gets nothing; root gets root rules); rootid=0 → honoured', () => {
    const u = run(user(), { fileCaps: fcap(NET_RAW, 'ep', 1000) });
    expect([u.e, u.p]).toEqual([0n, 0n]);
    const r = run({ inheritable: NBS, ambient: NBS }, { fileCaps: fcap(NET_RAW, 'ep', 1000) });
    expect([r.e, r.p, r.a]).toEqual([HOST_FULL, HOST_FULL, NBS]); // plain exec: no has_fcap, A kept
    const v3root = encodeFileCaps({
      effective: true,
      permitted: CapSet.fromBigInt(NET_RAW),
      inheritable: CapSet.EMPTY,
      version: 3,
    });
    const h = run(user(), { fileCaps: v3root });
    expect([h.e, h.p]).toEqual([NET_RAW, NET_RAW]);
  });

  it('unshare(CLONE_NEWUSER) by uid 1000 (E=P=0, securebits 0x14) → E=P=B=0x1ffffffffff, I=A=0, securebits 0; exec without uid map → E=P=A=0', () => {
    const { rt, tid } = setup(user({ securebits: 0x14 }));
    expect(rt.unshare(tid, CLONE_NEWUSER).errno).toBe(0);
    const c = rt.cred(tid);
    expect([c.effective.toBigInt(), c.permitted.toBigInt(), c.bounding.toBigInt()]).toEqual([
      0x1ffffffffffn,
      0x1ffffffffffn,
      0x1ffffffffffn,
    ]);
    expect([c.inheritable.toBigInt(), c.ambient.toBigInt(), BigInt(c.securebits)]).toEqual([0n, 0n, 0n]);
    expect(rt.execve(tid, {}).errno).toBe(0);
    const s = state(rt, tid);
    expect([s.e, s.p, s.a]).toEqual([0n, 0n, 0n]);
  });
});

describe('execve: beyond §8', () => {
  it('in a child user namespace (no uid map) a v2 file capability is honoured: its rootid 0 is root of an ancestor (checked on 6.18)', () => {
    const { rt, tid } = setup(user());
    expect(rt.unshare(tid, CLONE_NEWUSER).errno).toBe(0);
    expect(rt.execve(tid, { fileCaps: fcap(NET_RAW, 'ep') }).errno).toBe(0);
    const s = state(rt, tid);
    expect([s.e, s.p, s.a]).toEqual([NET_RAW, NET_RAW, 0n]);
    // A set-uid-root file is ignored there: its owner has no mapping in the namespace.
    const u = setup(user());
    u.rt.unshare(u.tid, CLONE_NEWUSER);
    u.rt.execve(u.tid, { mode: 0o4755, uid: 0 });
    expect(state(u.rt, u.tid).ids).toEqual([1000, 1000, 1000, 1000]);
    expect(state(u.rt, u.tid).p).toBe(0n);
  });

  it('a malformed security.capability fails the exec with EINVAL', () => {
    expect(run(user(), { fileCaps: new Uint8Array([1, 2, 3]) }).res.errno).toBe(EINVAL);
    expect(run(user(), { fileCaps: new Uint8Array(20).fill(0xff) }).res.errno).toBe(EINVAL);
    // Longer than XATTR_CAPS_SZ: getxattr into the kernel's 24-byte buffer is ERANGE.
    expect(run(user(), { fileCaps: new Uint8Array(28) }).res.errno).toBe(34);
  });
  it('exec from a non-leader thread makes it the leader and removes the other threads', () => {
    const { rt, tid } = setup();
    const t2 = rt.cloneThread(tid, 1001);
    const t3 = rt.cloneThread(tid, 1002);
    rt.setuid(t2.tid, 1000);
    const res = rt.execve(t2.tid, {});
    expect(res.tid).toBe(tid);
    expect(rt.findThread(1001)).toBeUndefined();
    expect(rt.findThread(t3.tid)).toBeUndefined();
    expect(rt.cred(tid).euid).toBe(1000);
    expect(rt.process(tid)!.threads.size).toBe(1);
  });
  it('a failed exec changes nothing (no de_thread before the point of no return)', () => {
    const { rt, tid } = setup();
    rt.cloneThread(tid, 1001);
    expect(rt.execve(1001, { fileCaps: fcap(caps('SYS_RESOURCE'), 'ep') }).errno).toBe(EPERM);
    expect(rt.findThread(1001)).toBeDefined();
  });
});
