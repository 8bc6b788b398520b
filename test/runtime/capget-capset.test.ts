/**
 * Spec §8 kernel-confirmed cases, capget/capset section: one test per bullet, named after it.
 */
import { describe, expect, it } from 'vitest';
import { BAD_ADDRESS, EFAULT, EINVAL, EPERM, ESRCH } from '../../src/runtime/index.js';
import { caps, get3, HOST_FULL, set3, setup, V1, V2, V3 } from './helpers.js';

const r = (x: { ret: number; errno: number }) => ({ ret: x.ret, errno: x.errno });
const OK = { ret: 0, errno: 0 };
const err = (errno: number) => ({ ret: -1, errno });

describe('§8 capget', () => {
  it('capget v=0, data≠NULL → -1 EINVAL; hdr.version becomes 0x20080522', () => {
    const { rt, tid } = setup();
    const hdr = { version: 0, pid: 0 };
    expect(r(rt.capget(tid, hdr, { words: new Uint32Array(6) }))).toEqual(err(EINVAL));
    expect(hdr.version).toBe(V3);
  });

  it('capget v=0x12345678, data=NULL → 0; version written back 0x20080522 (also with pid=-5)', () => {
    const { rt, tid } = setup();
    for (const pid of [0, -5]) {
      const hdr = { version: 0x12345678, pid };
      expect(r(rt.capget(tid, hdr, null))).toEqual(OK);
      expect(hdr.version).toBe(V3);
    }
  });

  it('capget bad version with read-only header → EFAULT (also with data=NULL), version unchanged', () => {
    const { rt, tid } = setup();
    for (const data of [{ words: new Uint32Array(6) }, null]) {
      const hdr = { version: 0x12345678, pid: 0, writable: false };
      expect(r(rt.capget(tid, hdr, data))).toEqual(err(EFAULT));
      expect(hdr.version).toBe(0x12345678);
    }
  });

  it('capget v3, pid=-1 or 999999, data=NULL → 0 (pid unchecked)', () => {
    const { rt, tid } = setup();
    expect(r(rt.capget(tid, { version: V3, pid: -1 }, null))).toEqual(OK);
    expect(r(rt.capget(tid, { version: V3, pid: 999999 }, null))).toEqual(OK);
  });

  it('capget NULL header, header addr 1, data addr 8 → EFAULT', () => {
    const { rt, tid } = setup();
    expect(r(rt.capget(tid, null, { words: new Uint32Array(6) }))).toEqual(err(EFAULT));
    expect(r(rt.capget(tid, BAD_ADDRESS, { words: new Uint32Array(6) }))).toEqual(err(EFAULT));
    expect(r(rt.capget(tid, { version: V3, pid: 0 }, BAD_ADDRESS))).toEqual(err(EFAULT));
  });

  it('capget header whose pid word is unmapped: data=NULL → 0; data≠NULL → EFAULT; bad version → EINVAL + write-back', () => {
    const { rt, tid } = setup();
    expect(r(rt.capget(tid, { version: V3, pid: 0, pidReadable: false }, null))).toEqual(OK);
    expect(r(rt.capget(tid, { version: V3, pid: 0, pidReadable: false }, { words: new Uint32Array(6) }))).toEqual(
      err(EFAULT),
    );
    const hdr = { version: 7, pid: 0, pidReadable: false };
    expect(r(rt.capget(tid, hdr, { words: new Uint32Array(6) }))).toEqual(err(EINVAL));
    expect(hdr.version).toBe(V3);
  });

  it('capget v3 pid=-1 → EINVAL; pid=999999 → ESRCH; pid of a reaped child → ESRCH', () => {
    const { rt, tid } = setup();
    expect(get3(rt, tid, -1).errno).toBe(EINVAL);
    expect(get3(rt, tid, 999999).errno).toBe(ESRCH);
    const child = rt.fork(tid, 1001);
    rt.exitGroup(child.tid);
    expect(get3(rt, tid, 1001).errno).toBe(0); // zombie: still visible
    rt.reap(1001);
    expect(get3(rt, tid, 1001).errno).toBe(ESRCH);
  });

  it('capget of a child with E={KILL}, P={KILL,CHOWN,MAC_ADMIN}, I={NET_RAW} → E 0x20/0, P 0x21/0x2, I 0x2000/0', () => {
    const { rt, tid } = setup();
    const child = rt.fork(tid, 1001);
    expect(set3(rt, child.tid, { e: caps('KILL'), p: caps('KILL', 'CHOWN', 'MAC_ADMIN'), i: caps('NET_RAW') })).toEqual(
      OK,
    );
    const words = new Uint32Array(6);
    expect(r(rt.capget(tid, { version: V3, pid: 1001 }, { words }))).toEqual(OK);
    expect([...words]).toEqual([0x20, 0x21, 0x2000, 0, 0x2, 0]);
  });

  it('capget by uid 1000 with E=0 on pid 1 → 0 (no permission check)', () => {
    const { rt } = setup();
    rt.spawn(undefined, { tid: 1 });
    const u = rt.spawn(undefined, { tid: 2000 });
    rt.setresuid(u.tid, 1000, 1000, 1000);
    expect(rt.cred(u.tid).effective.isEmpty()).toBe(true);
    const g = get3(rt, u.tid, 1);
    expect(g.errno).toBe(0);
    expect(g.e).toBe(0x1ffffffffffn);
  });

  it('capget v1 writes 12 bytes (element 1 untouched), v2/v3 24; a 12-byte buffer at a page end: v1 → 0, v3 → EFAULT', () => {
    const { rt, tid } = setup();
    const w1 = new Uint32Array(6).fill(0xaaaaaaaa);
    expect(r(rt.capget(tid, { version: V1, pid: 0 }, { words: w1 }))).toEqual(OK);
    expect([...w1]).toEqual([0xfeffffff, 0xfeffffff, 0, 0xaaaaaaaa, 0xaaaaaaaa, 0xaaaaaaaa]);
    for (const v of [V2, V3]) {
      const w = new Uint32Array(6).fill(0xaaaaaaaa);
      expect(r(rt.capget(tid, { version: v, pid: 0 }, { words: w }))).toEqual(OK);
      expect([...w]).toEqual([0xfeffffff, 0xfeffffff, 0, 0x1ff, 0x1ff, 0]);
    }
    expect(r(rt.capget(tid, { version: V1, pid: 0 }, { words: new Uint32Array(3), accessibleBytes: 12 }))).toEqual(OK);
    expect(r(rt.capget(tid, { version: V3, pid: 0 }, { words: new Uint32Array(6), accessibleBytes: 12 }))).toEqual(
      err(EFAULT),
    );
  });
});

describe('§8 capset', () => {
  it('capset v=0 → EINVAL + write-back (also with data=NULL); v3 & data=NULL → EFAULT; NULL header → EFAULT', () => {
    const { rt, tid } = setup();
    for (const data of [{ words: new Uint32Array(6) }, null]) {
      const hdr = { version: 0, pid: 0 };
      expect(r(rt.capset(tid, hdr, data))).toEqual(err(EINVAL));
      expect(hdr.version).toBe(V3);
    }
    expect(r(rt.capset(tid, { version: V3, pid: 0 }, null))).toEqual(err(EFAULT));
    expect(r(rt.capset(tid, null, { words: new Uint32Array(6) }))).toEqual(err(EFAULT));
  });

  it('capset pid=1 with data=NULL → EPERM; pid=-1, 999999, other live pid → EPERM; pid=getpid() from main thread → 0', () => {
    const { rt, tid } = setup();
    rt.spawn(undefined, { tid: 1 });
    const other = rt.fork(tid, 1001);
    expect(r(rt.capset(tid, { version: V3, pid: 1 }, null))).toEqual(err(EPERM));
    for (const pid of [-1, 999999, other.tid]) {
      expect(set3(rt, tid, { e: 0n, p: HOST_FULL, i: 0n }, pid)).toEqual(err(EPERM));
    }
    expect(set3(rt, tid, { e: HOST_FULL, p: HOST_FULL, i: 0n }, tid)).toEqual(OK);
  });

  it("second thread: capset pid=getpid() → EPERM, pid=gettid() → 0 (only that thread changes); its capget(getpid()) shows the leader's sets", () => {
    const { rt, tid } = setup();
    const th = rt.cloneThread(tid, 1001);
    expect(set3(rt, th.tid, { e: 0n, p: caps('CHOWN'), i: 0n }, tid)).toEqual(err(EPERM));
    expect(set3(rt, th.tid, { e: 0n, p: caps('CHOWN'), i: 0n }, th.tid)).toEqual(OK);
    expect(get3(rt, th.tid).p).toBe(caps('CHOWN'));
    const leader = get3(rt, th.tid, tid);
    expect(leader.p).toBe(HOST_FULL);
    expect(leader.e).toBe(HOST_FULL);
  });

  it('P={CHOWN,KILL}: adding NET_RAW to P → EPERM; E={NET_RAW}, P={CHOWN} → EPERM', () => {
    const { rt, tid } = setup({ effective: caps('CHOWN', 'KILL'), permitted: caps('CHOWN', 'KILL') });
    expect(set3(rt, tid, { e: 0n, p: caps('CHOWN', 'KILL', 'NET_RAW'), i: 0n })).toEqual(err(EPERM));
    expect(set3(rt, tid, { e: caps('NET_RAW'), p: caps('CHOWN'), i: 0n })).toEqual(err(EPERM));
  });

  it('no SETPCAP, I=0: capset I={CHOWN,KILL} with P={CHOWN} → EPERM; I={CHOWN} → 0', () => {
    const { rt, tid } = setup({ effective: 0n, permitted: caps('CHOWN') });
    expect(set3(rt, tid, { e: 0n, p: caps('CHOWN'), i: caps('CHOWN', 'KILL') })).toEqual(err(EPERM));
    expect(set3(rt, tid, { e: 0n, p: caps('CHOWN'), i: caps('CHOWN') })).toEqual(OK);
  });

  it('P=0, I={CHOWN}: repeating I={CHOWN} → 0; after I=0, I={CHOWN} → EPERM', () => {
    const { rt, tid } = setup({ effective: 0n, permitted: 0n, inheritable: caps('CHOWN') });
    expect(set3(rt, tid, { e: 0n, p: 0n, i: caps('CHOWN') })).toEqual(OK);
    expect(set3(rt, tid, { e: 0n, p: 0n, i: 0n })).toEqual(OK);
    expect(set3(rt, tid, { e: 0n, p: 0n, i: caps('CHOWN') })).toEqual(err(EPERM));
  });

  it('E=P={SETPCAP}: I={NET_ADMIN,MKNOD,CHECKPOINT_RESTORE} → 0 (I ⊄ P allowed); I={SYS_RESOURCE} (∉ B) → EPERM', () => {
    const { rt, tid } = setup({ effective: caps('SETPCAP'), permitted: caps('SETPCAP') });
    const sp = caps('SETPCAP');
    expect(set3(rt, tid, { e: sp, p: sp, i: caps('NET_ADMIN', 'MKNOD', 'CHECKPOINT_RESTORE') })).toEqual(OK);
    expect(set3(rt, tid, { e: sp, p: sp, i: caps('SYS_RESOURCE') })).toEqual(err(EPERM));
  });

  it('capset with bits 41/45/50/63 set in E/P/I → 0; readback has them cleared', () => {
    const { rt, tid } = setup();
    const junk = (1n << 41n) | (1n << 45n) | (1n << 50n) | (1n << 63n);
    const base = caps('CHOWN');
    expect(set3(rt, tid, { e: base | junk, p: base | junk, i: base | junk })).toEqual(OK);
    const g = get3(rt, tid);
    expect([g.e, g.p, g.i]).toEqual([base, base, base]);
  });

  it('v1 capset with low words of full sets and I=KILL → E=P=0xfeffffff (caps 32..40 lost); I=KILL', () => {
    const { rt, tid } = setup();
    const words = new Uint32Array([0xfeffffff, 0xfeffffff, 0x20]);
    expect(r(rt.capset(tid, { version: V1, pid: 0 }, { words }))).toEqual(OK);
    const g = get3(rt, tid);
    expect([g.e, g.p, g.i]).toEqual([0xfeffffffn, 0xfeffffffn, caps('KILL')]);
  });

  it('I={CHOWN,MAC_ADMIN}, A={CHOWN,MAC_ADMIN}; v1 capset(I=CHOWN) → A={CHOWN}', () => {
    const both = caps('CHOWN', 'MAC_ADMIN');
    const { rt, tid } = setup({ inheritable: both, ambient: both });
    const words = new Uint32Array([0xfeffffff, 0xfeffffff, Number(caps('CHOWN'))]);
    expect(r(rt.capset(tid, { version: V1, pid: 0 }, { words }))).toEqual(OK);
    expect(rt.cred(tid).ambient.toBigInt()).toBe(caps('CHOWN'));
  });

  it('A={NET_RAW,KILL,NBS}; capset dropping NET_RAW from P → A={KILL,NBS}', () => {
    const a = caps('NET_RAW', 'KILL', 'NET_BIND_SERVICE');
    const { rt, tid } = setup({ inheritable: a, ambient: a });
    const p = HOST_FULL & ~caps('NET_RAW');
    expect(set3(rt, tid, { e: p, p, i: a })).toEqual(OK);
    expect(rt.cred(tid).ambient.toBigInt()).toBe(caps('KILL', 'NET_BIND_SERVICE'));
  });
});
