/** Spec §9: the LTP capget/capset cases (testcases/kernel/syscalls/capget, capset, prctl). */
import { describe, expect, it } from 'vitest';
import {
  BAD_ADDRESS,
  EFAULT,
  EINVAL,
  EPERM,
  ESRCH,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_RAISE,
  PR_CAPBSET_DROP,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_SECUREBITS,
  SECBIT_NO_CAP_AMBIENT_RAISE,
} from '../../src/runtime/index.js';
import { caps, get3, HOST_FULL, set3, setup, V1, V2, V3 } from './helpers.js';

describe('LTP capget', () => {
  it('capget01: v1, v2, v3 with pid=getpid() succeed; pE lacks NET_RAW after it is dropped', () => {
    const { rt, tid } = setup();
    const p = HOST_FULL;
    expect(set3(rt, tid, { e: p & ~caps('NET_RAW'), p, i: 0n }).errno).toBe(0);
    for (const version of [V1, V2, V3]) {
      const words = new Uint32Array(6);
      expect(rt.capget(tid, { version, pid: tid }, { words }).errno).toBe(0);
      expect(words[0]! & (1 << 13)).toBe(0);
    }
  });

  it('capget02: NULL header → EFAULT; bad data → EFAULT; version 0 → EINVAL; pid -1 → EINVAL; unused pid → ESRCH; version reads 0x20080522 after each', () => {
    const { rt, tid } = setup();
    const cases: [string, number, () => { hdr: { version: number; pid: number } | null; data: unknown }][] = [
      ['NULL header', EFAULT, () => ({ hdr: null, data: { words: new Uint32Array(6) } })],
      ['bad data', EFAULT, () => ({ hdr: { version: V3, pid: tid }, data: BAD_ADDRESS })],
      ['version 0', EINVAL, () => ({ hdr: { version: 0, pid: tid }, data: { words: new Uint32Array(6) } })],
      ['pid -1', EINVAL, () => ({ hdr: { version: V3, pid: -1 }, data: { words: new Uint32Array(6) } })],
      ['unused pid', ESRCH, () => ({ hdr: { version: V3, pid: 4_000_000 }, data: { words: new Uint32Array(6) } })],
    ];
    for (const [name, errno, mk] of cases) {
      const { hdr, data } = mk();
      const r = rt.capget(tid, hdr, data as never);
      expect({ name, ret: r.ret, errno: r.errno }).toEqual({ name, ret: -1, errno });
      if (hdr) expect(hdr.version).toBe(V3);
    }
  });
});

describe('LTP capset', () => {
  it('capset01: capget then capset of the same data with v1, v2, v3 (pid=getpid()) succeeds; v1 drops caps 32..40', () => {
    const { rt, tid } = setup();
    for (const version of [V1, V2, V3]) {
      const words = new Uint32Array(6);
      expect(rt.capget(tid, { version, pid: tid }, { words }).errno).toBe(0);
      expect(rt.capset(tid, { version, pid: tid }, { words }).errno).toBe(0);
    }
    expect(get3(rt, tid).p).toBe(HOST_FULL & 0xffffffffn);
  });

  it('capset02: bad header/data → EFAULT; version 0 → EINVAL + write-back; E ⊄ P, P ⊄ old P, I adding KILL (∉ I ∪ B) → EPERM', () => {
    const s = caps('NET_RAW', 'CHOWN', 'SETPCAP');
    const { rt, tid } = setup();
    expect(set3(rt, tid, { e: s, p: s, i: s }).errno).toBe(0);
    expect(rt.prctl(tid, PR_CAPBSET_DROP, 5).errno).toBe(0);
    const w = () => ({ words: new Uint32Array([Number(s), Number(s), Number(s), 0, 0, 0]) });
    expect(rt.capset(tid, BAD_ADDRESS, w()).errno).toBe(EFAULT);
    expect(rt.capset(tid, { version: V3, pid: 0 }, BAD_ADDRESS).errno).toBe(EFAULT);
    const hdr = { version: 0, pid: 0 };
    expect(rt.capset(tid, hdr, w()).errno).toBe(EINVAL);
    expect(hdr.version).toBe(V3);
    expect(set3(rt, tid, { e: s | caps('KILL'), p: s, i: s }).errno).toBe(EPERM);
    expect(set3(rt, tid, { e: s, p: s | caps('KILL'), i: s }).errno).toBe(EPERM);
    expect(set3(rt, tid, { e: s, p: s, i: s | caps('KILL') }).errno).toBe(EPERM);
  });

  it('capset03: E=P=I={KILL}: I={KILL,NET_RAW} without SETPCAP → EPERM', () => {
    const k = caps('KILL');
    const { rt, tid } = setup();
    expect(set3(rt, tid, { e: k, p: k, i: k }).errno).toBe(0);
    expect(set3(rt, tid, { e: k, p: k, i: k | caps('NET_RAW') }).errno).toBe(EPERM);
  });

  it("capset04: capset on a forked child's pid → EPERM", () => {
    const { rt, tid } = setup();
    const child = rt.fork(tid);
    expect(set3(rt, tid, { e: HOST_FULL, p: HOST_FULL, i: 0n }, child.tid).errno).toBe(EPERM);
  });
});

describe('LTP prctl (related)', () => {
  it('prctl02: EPERM for SET_SECUREBITS(0) / CAPBSET_DROP without SETPCAP; EINVAL for bad AMBIENT/NNP args', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    expect(rt.prctl(tid, PR_SET_SECUREBITS, 0).errno).toBe(EPERM);
    expect(rt.prctl(tid, PR_CAPBSET_DROP, 13).errno).toBe(EPERM);
    expect(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 13, 1).errno).toBe(EINVAL);
    expect(rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 0).errno).toBe(EINVAL);
    expect(rt.prctl(tid, PR_SET_KEEPCAPS, 3).errno).toBe(EINVAL);
  });

  it('prctl07: ambient raise needs P and I; NO_CAP_AMBIENT_RAISE → EPERM', () => {
    const { rt, tid } = setup({ inheritable: caps('CHOWN') });
    expect(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 0).errno).toBe(0);
    expect(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 13).errno).toBe(EPERM);
    expect(rt.prctl(tid, PR_SET_SECUREBITS, SECBIT_NO_CAP_AMBIENT_RAISE).errno).toBe(0);
    expect(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 0).errno).toBe(EPERM);
    expect(rt.cred(tid).hasAmbient(0)).toBe(true);
  });
});
