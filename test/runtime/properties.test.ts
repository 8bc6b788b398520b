/**
 * Property tests: random operation sequences on random credentials keep the kernel's
 * invariants after every operation — A ⊆ P ∩ I, E ⊆ P, capset never grows P, B never grows,
 * securebits locks and no_new_privs are never cleared, and a failed call changes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { encodeFileCaps } from '../../src/caps/xattr.js';
import { Credential, createRuntime, type Runtime, SECURE_ALL_LOCKS } from '../../src/runtime/index.js';
import { V1, V2, V3 } from './helpers.js';

const VALID = (1n << 41n) - 1n;
const capMask = fc.bigInt({ min: 0n, max: VALID });
const anyU32 = fc.integer({ min: 0, max: 0xffffffff });
const id = fc.constantFrom(0, 1000, 2000, 0xffffffff);

type Op =
  | { k: 'capset'; v: number; pid: number; w: number[] }
  | { k: 'capsub'; m: bigint[] }
  | { k: 'prctl'; o: number; a: (number | bigint)[] }
  | { k: 'setid'; f: string; ids: number[] }
  | { k: 'exec'; fcap: { e: boolean; p: bigint; i: bigint } | null; mode: number; owner: number }
  | { k: 'fork' }
  | { k: 'thread' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // capset built from the current sets (most random words are refused; these mostly succeed)
  fc.record({ k: fc.constant('capsub' as const), m: fc.array(capMask, { minLength: 4, maxLength: 4 }) }),
  fc.record({
    k: fc.constant('capset' as const),
    v: fc.constantFrom(V1, V2, V3, 0),
    pid: fc.constantFrom(0, 0, 0, 1, -1),
    w: fc.array(anyU32, { minLength: 6, maxLength: 6 }),
  }),
  fc.record({
    k: fc.constant('prctl' as const),
    o: fc.constantFrom(7, 8, 23, 24, 27, 28, 38, 39, 47, 4, 3),
    a: fc.array(fc.oneof(fc.integer({ min: -1, max: 45 }), fc.constantFrom(0x10, 0x14, 0x2a, 0xfff, 0x500, 0x40)), {
      minLength: 4,
      maxLength: 4,
    }),
  }),
  fc.record({
    k: fc.constant('setid' as const),
    f: fc.constantFrom('setuid', 'setreuid', 'setresuid', 'setfsuid', 'setgid', 'setregid', 'setresgid', 'setfsgid'),
    ids: fc.array(id, { minLength: 3, maxLength: 3 }),
  }),
  fc.record({
    k: fc.constant('exec' as const),
    fcap: fc.option(fc.record({ e: fc.boolean(), p: capMask, i: capMask })),
    mode: fc.constantFrom(0o755, 0o4755, 0o2755, 0o6755),
    owner: id,
  }),
  fc.constant({ k: 'fork' as const }),
  fc.constant({ k: 'thread' as const }),
);

const credArb = fc.record({
  uid: id.filter((x) => x !== 0xffffffff),
  e: capMask,
  p: capMask,
  i: capMask,
  b: capMask,
  a: capMask,
  sb: fc.integer({ min: 0, max: 0xfff }),
  nnp: fc.boolean(),
});

interface Snap {
  e: bigint;
  p: bigint;
  i: bigint;
  b: bigint;
  a: bigint;
  sb: number;
  nnp: boolean;
  ids: string;
}
function snap(rt: Runtime, tid: number): Snap {
  const c = rt.cred(tid);
  return {
    e: c.effective.toBigInt(),
    p: c.permitted.toBigInt(),
    i: c.inheritable.toBigInt(),
    b: c.bounding.toBigInt(),
    a: c.ambient.toBigInt(),
    sb: c.securebits,
    nnp: c.noNewPrivs,
    ids: JSON.stringify([c.ruid, c.euid, c.suid, c.fsuid, c.rgid, c.egid, c.sgid, c.fsgid, c.groups]),
  };
}

function apply(rt: Runtime, tid: number, op: Op): { errno: number; tid: number } {
  switch (op.k) {
    case 'capset': {
      const r = rt.capset(tid, { version: op.v, pid: op.pid === 1 ? tid : op.pid }, { words: Uint32Array.from(op.w) });
      return { errno: r.errno, tid };
    }
    case 'capsub': {
      const c = rt.cred(tid);
      const [mp, me, mi, extra] = op.m as [bigint, bigint, bigint, bigint];
      const p = c.permitted.toBigInt() & mp;
      const e = p & me;
      // Mostly within I ∪ P; sometimes reaching into B or beyond (refused without SETPCAP).
      const i = ((c.inheritable.toBigInt() | c.permitted.toBigInt()) & mi) | (extra & (extra >> 3n) & (extra >> 7n));
      const lo = (v: bigint) => Number(v & 0xffffffffn);
      const hi = (v: bigint) => Number(v >> 32n);
      const words = new Uint32Array([lo(e), lo(p), lo(i), hi(e), hi(p), hi(i)]);
      return { errno: rt.capset(tid, { version: V3, pid: 0 }, { words }).errno, tid };
    }
    case 'prctl': {
      const [a2, a3, a4, a5] = op.a as [number, number, number, number];
      return { errno: rt.prctl(tid, op.o, a2, a3, a4, a5).errno, tid };
    }
    case 'setid': {
      const [x, y, z] = op.ids as [number, number, number];
      const f = op.f;
      const r =
        f === 'setuid'
          ? rt.setuid(tid, x)
          : f === 'setreuid'
            ? rt.setreuid(tid, x, y)
            : f === 'setresuid'
              ? rt.setresuid(tid, x, y, z)
              : f === 'setfsuid'
                ? rt.setfsuid(tid, x)
                : f === 'setgid'
                  ? rt.setgid(tid, x)
                  : f === 'setregid'
                    ? rt.setregid(tid, x, y)
                    : f === 'setresgid'
                      ? rt.setresgid(tid, x, y, z)
                      : rt.setfsgid(tid, x);
      return { errno: r.errno, tid };
    }
    case 'exec': {
      const fileCaps = op.fcap
        ? encodeFileCaps({
            effective: op.fcap.e,
            permitted: CapSet.fromBigInt(op.fcap.p),
            inheritable: CapSet.fromBigInt(op.fcap.i),
          })
        : null;
      const r = rt.execve(tid, { fileCaps, mode: op.mode, uid: op.owner, gid: op.owner });
      return { errno: r.errno, tid: r.tid ?? tid };
    }
    case 'fork':
      return { errno: 0, tid: rt.fork(tid).tid };
    case 'thread':
      return { errno: 0, tid: rt.cloneThread(tid).tid };
  }
}

const sub = (a: bigint, b: bigint) => (a & ~b) === 0n;

describe('credential invariants under random operation sequences', () => {
  it('hold after every operation', () => {
    fc.assert(
      fc.property(credArb, fc.array(opArb, { minLength: 1, maxLength: 40 }), (c, ops) => {
        const rt = createRuntime();
        // A start state that itself satisfies the invariants (the kernel never holds another).
        const p = c.p;
        const i = c.i;
        const cred = Credential.from({
          uid: c.uid,
          gid: c.uid,
          effective: c.e & p,
          permitted: p,
          inheritable: i,
          bounding: c.b,
          ambient: c.a & p & i,
          securebits: c.sb,
          noNewPrivs: c.nnp,
        });
        let tid = rt.spawn(cred).tid;
        for (const op of ops) {
          const before = snap(rt, tid);
          const r = apply(rt, tid, op);
          tid = r.tid;
          const after = snap(rt, tid);
          expect(sub(after.a, after.p & after.i)).toBe(true);
          expect(sub(after.e, after.p)).toBe(true);
          expect(sub(after.b, before.b)).toBe(true);
          expect((after.sb & before.sb & SECURE_ALL_LOCKS) === (before.sb & SECURE_ALL_LOCKS)).toBe(true);
          if (before.nnp) expect(after.nnp).toBe(true);
          if (op.k === 'capset' || op.k === 'capsub' || op.k === 'setid' || op.k === 'prctl')
            expect(sub(after.p, before.p)).toBe(true);
          if (op.k === 'prctl' || op.k === 'capset' || op.k === 'capsub') expect(after.ids).toBe(before.ids);
          if (r.errno !== 0) expect(after).toEqual(before);
          if (op.k === 'fork' || op.k === 'thread') expect(after).toEqual(before);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('capset succeeds exactly when the four cap_capset rules hold', () => {
    const outcomes = new Set<boolean>();
    fc.assert(
      fc.property(credArb, capMask, capMask, capMask, fc.boolean(), (c, me, mp, mi, raw) => {
        // Either raw random sets or ones derived from the current sets, so both outcomes occur.
        const p2 = raw ? mp : c.p & mp;
        const e2 = raw ? me : p2 & me;
        const i2 = raw ? mi : (c.i | c.p) & mi;
        const rt = createRuntime();
        const cred = Credential.from({
          effective: c.e & c.p,
          permitted: c.p,
          inheritable: c.i,
          bounding: c.b,
          ambient: c.a & c.p & c.i,
        });
        const tid = rt.spawn(cred).tid;
        const lo = (v: bigint) => Number(v & 0xffffffffn);
        const hi = (v: bigint) => Number(v >> 32n);
        const words = new Uint32Array([lo(e2), lo(p2), lo(i2), hi(e2), hi(p2), hi(i2)]);
        const r = rt.capset(tid, { version: V3, pid: 0 }, { words });
        const setpcap = ((c.e & c.p) >> 8n) & 1n;
        const ok = (setpcap === 1n || sub(i2, c.i | c.p)) && sub(i2, c.i | c.b) && sub(p2, c.p) && sub(e2, p2);
        expect(r.errno === 0).toBe(ok);
        if (ok) expect(rt.cred(tid).ambient.toBigInt()).toBe(c.a & c.p & c.i & p2 & i2);
        outcomes.add(ok);
      }),
      { numRuns: 2000 },
    );
    expect(outcomes).toEqual(new Set([true, false]));
  });
});
