/** Spec §8 kernel-confirmed cases, prctl section: one test per bullet. */
import { describe, expect, it } from 'vitest';
import {
  EINVAL,
  EPERM,
  isModelledPrctl,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  PR_CAP_AMBIENT_IS_SET,
  PR_CAP_AMBIENT_LOWER,
  PR_CAP_AMBIENT_RAISE,
  PR_CAPBSET_DROP,
  PR_CAPBSET_READ,
  PR_GET_KEEPCAPS,
  PR_GET_NO_NEW_PRIVS,
  PR_GET_SECUREBITS,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_SECUREBITS,
} from '../../src/runtime/index.js';
import { caps, get3, HOST_FULL, set3, setup } from './helpers.js';

const r = (x: { ret: number; errno: number }) => ({ ret: x.ret, errno: x.errno });
const ok = (ret = 0) => ({ ret, errno: 0 });
const err = (errno: number) => ({ ret: -1, errno });
const CHOWN = 0;
const KILL = 5;
const NET_RAW = 13;
const NBS = 10;
const SYS_RESOURCE = 24;

describe('§8 prctl', () => {
  it('CAPBSET_READ: CHOWN→1, SYS_RESOURCE→0, 40→1, 41/-1→EINVAL; junk arg3..5 ignored', () => {
    const { rt, tid } = setup();
    expect(r(rt.prctl(tid, PR_CAPBSET_READ, CHOWN))).toEqual(ok(1));
    expect(r(rt.prctl(tid, PR_CAPBSET_READ, SYS_RESOURCE))).toEqual(ok(0));
    expect(r(rt.prctl(tid, PR_CAPBSET_READ, 40))).toEqual(ok(1));
    expect(r(rt.prctl(tid, PR_CAPBSET_READ, 41))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAPBSET_READ, -1))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAPBSET_READ, CHOWN, 7, -1, 0xdeadn))).toEqual(ok(1));
  });

  it('CAPBSET_DROP(KILL) → 0 twice; (41) → EINVAL; E/P unchanged. Without SETPCAP in E: DROP(NET_RAW) → EPERM, DROP(41) → EPERM', () => {
    const { rt, tid } = setup();
    expect(r(rt.prctl(tid, PR_CAPBSET_DROP, KILL))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_CAPBSET_DROP, KILL))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_CAPBSET_DROP, 41))).toEqual(err(EINVAL));
    expect(rt.cred(tid).hasBounding(KILL)).toBe(false);
    expect(get3(rt, tid).e).toBe(HOST_FULL);
    expect(get3(rt, tid).p).toBe(HOST_FULL);
    expect(set3(rt, tid, { e: HOST_FULL & ~caps('SETPCAP'), p: HOST_FULL, i: 0n }).errno).toBe(0);
    expect(r(rt.prctl(tid, PR_CAPBSET_DROP, NET_RAW))).toEqual(err(EPERM));
    expect(r(rt.prctl(tid, PR_CAPBSET_DROP, 41))).toEqual(err(EPERM));
  });

  it('SET_KEEPCAPS(2) / (-1) → EINVAL; (1, junk args) → 0, GET_SECUREBITS=0x10; uid 1000 with E=0 may set/clear it', () => {
    const { rt, tid } = setup();
    expect(r(rt.prctl(tid, PR_SET_KEEPCAPS, 2))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_SET_KEEPCAPS, -1))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_SET_KEEPCAPS, 1, 9, 9, 9))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_GET_SECUREBITS))).toEqual(ok(0x10));
    expect(r(rt.prctl(tid, PR_GET_KEEPCAPS))).toEqual(ok(1));
    const u = setup({ uid: 1000, effective: 0n, permitted: 0n });
    expect(r(u.rt.prctl(u.tid, PR_SET_KEEPCAPS, 1))).toEqual(ok());
    expect(r(u.rt.prctl(u.tid, PR_GET_KEEPCAPS))).toEqual(ok(1));
    expect(r(u.rt.prctl(u.tid, PR_SET_KEEPCAPS, 0))).toEqual(ok());
    expect(r(u.rt.prctl(u.tid, PR_GET_KEEPCAPS))).toEqual(ok(0));
  });

  it('securebits KEEP_CAPS|KEEP_CAPS_LOCKED → SET_KEEPCAPS(0) and (1) → EPERM; (2) → EINVAL', () => {
    const { rt, tid } = setup({ securebits: 0x30 });
    expect(r(rt.prctl(tid, PR_SET_KEEPCAPS, 0))).toEqual(err(EPERM));
    expect(r(rt.prctl(tid, PR_SET_KEEPCAPS, 1))).toEqual(err(EPERM));
    expect(r(rt.prctl(tid, PR_SET_KEEPCAPS, 2))).toEqual(err(EINVAL));
  });

  it('as root: SET_SECUREBITS(0) no-op → 0; (1<<12) → EPERM; (0xfff) → 0; then any different value, 0x1fff, -1, bit 32 → EPERM', () => {
    const { rt, tid } = setup();
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 1 << 12))).toEqual(err(EPERM));
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0xfff))).toEqual(ok());
    for (const v of [0xffe, 0x555, 0, 0x1fff, -1, 1n << 32n, 0xfffn | (1n << 32n)]) {
      expect(r(rt.prctl(tid, PR_SET_SECUREBITS, v))).toEqual(err(EPERM));
    }
    expect(r(rt.prctl(tid, PR_GET_SECUREBITS))).toEqual(ok(0xfff));
  });

  it('E=0: SET_SECUREBITS(0) (no change) → EPERM; (KEEP_CAPS) → EPERM; (0x100) → 0; (0x100) again → EPERM; (0xd00) → 0; (0x900) → EPERM; after SET_KEEPCAPS(1) → word 0xd10', () => {
    const { rt, tid } = setup({ effective: 0n });
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0))).toEqual(err(EPERM));
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0x10))).toEqual(err(EPERM));
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0x100))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0x100))).toEqual(err(EPERM));
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0xd00))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0x900))).toEqual(err(EPERM));
    expect(r(rt.prctl(tid, PR_SET_KEEPCAPS, 1))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_GET_SECUREBITS))).toEqual(ok(0xd10));
  });

  it('PR_CAP_AMBIENT RAISE(NET_RAW) with NET_RAW ∉ I → EPERM; after I gains it → 0 (twice OK); IS_SET → 1/0', () => {
    const { rt, tid } = setup();
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, NET_RAW))).toEqual(err(EPERM));
    expect(set3(rt, tid, { e: HOST_FULL, p: HOST_FULL, i: caps('NET_RAW') }).errno).toBe(0);
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, NET_RAW))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, NET_RAW))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, NET_RAW))).toEqual(ok(1));
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, KILL))).toEqual(ok(0));
  });

  it('AMBIENT RAISE(41), arg4=1, arg5=1, arg2=9 or 0, CLEAR_ALL arg3=1, IS_SET(41) → EINVAL; LOWER absent cap → 0', () => {
    const { rt, tid } = setup({ inheritable: caps('NET_RAW') });
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 41))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, NET_RAW, 1))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, NET_RAW, 0, 1))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, 9, NET_RAW))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, 0, NET_RAW))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 41))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, KILL))).toEqual(ok());
    expect(rt.cred(tid).ambient.isEmpty()).toBe(true);
  });

  it('dropping KILL from B leaves it in A; RAISE(KILL) with KILL ∈ P∩I, ∉ B → 0; RAISE with E=0 → 0', () => {
    const { rt, tid } = setup({ inheritable: caps('KILL', 'CHOWN'), ambient: caps('KILL') });
    expect(r(rt.prctl(tid, PR_CAPBSET_DROP, KILL))).toEqual(ok());
    expect(rt.cred(tid).hasAmbient(KILL)).toBe(true);
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, KILL))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, KILL))).toEqual(ok());
    expect(rt.cred(tid).hasAmbient(KILL)).toBe(true);
    expect(set3(rt, tid, { e: 0n, p: HOST_FULL, i: caps('KILL', 'CHOWN') }).errno).toBe(0);
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CHOWN))).toEqual(ok());
  });

  it('NO_CAP_AMBIENT_RAISE set → existing A kept; after LOWER, RAISE → EPERM. Setting that bit with E=0 → EPERM', () => {
    const { rt, tid } = setup({ inheritable: caps('NET_BIND_SERVICE'), ambient: caps('NET_BIND_SERVICE') });
    expect(r(rt.prctl(tid, PR_SET_SECUREBITS, 0x40))).toEqual(ok());
    expect(rt.cred(tid).hasAmbient(NBS)).toBe(true);
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, NBS))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, NBS))).toEqual(err(EPERM));
    const u = setup({ effective: 0n });
    expect(r(u.rt.prctl(u.tid, PR_SET_SECUREBITS, 0x40))).toEqual(err(EPERM));
  });

  it('SET_NO_NEW_PRIVS (0),(2),(1,1),(1,0,0,1) and GET(1) → EINVAL; SET(1) → 0 twice, GET → 1; needs no caps', () => {
    const { rt, tid } = setup({ uid: 1000, effective: 0n, permitted: 0n });
    expect(r(rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 0))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 2))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 1, 1))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 1))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_GET_NO_NEW_PRIVS, 1))).toEqual(err(EINVAL));
    expect(r(rt.prctl(tid, PR_GET_NO_NEW_PRIVS))).toEqual(ok(0));
    expect(r(rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 1))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_SET_NO_NEW_PRIVS, 1))).toEqual(ok());
    expect(r(rt.prctl(tid, PR_GET_NO_NEW_PRIVS))).toEqual(ok(1));
  });
});

describe('prctl modelling boundary', () => {
  it('unknown options answer EINVAL but are reported as not modelled', () => {
    const { rt, tid } = setup();
    expect(r(rt.prctl(tid, 0x12345))).toEqual(err(EINVAL));
    expect(isModelledPrctl(0x12345)).toBe(false);
    expect(isModelledPrctl(15 /* PR_SET_NAME */)).toBe(false);
    expect(isModelledPrctl(PR_CAP_AMBIENT)).toBe(true);
  });
  it('the option is a C int: only the low 32 bits of the register count', () => {
    const { rt, tid } = setup();
    expect(isModelledPrctl(PR_CAPBSET_READ + 2 ** 32)).toBe(true);
    expect(r(rt.prctl(tid, (1n << 32n) | 23n, 0))).toEqual(ok(1));
  });
});
