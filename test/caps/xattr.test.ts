import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { formatCapText, parseCapText } from '../../src/caps/text.js';
import {
  decodeFileCaps,
  encodeFileCaps,
  fileCapsFromTriple,
  fileCapsToTriple,
  VFS_CAP_FLAGS_EFFECTIVE,
  VFS_CAP_REVISION_1,
  VFS_CAP_REVISION_2,
  VFS_CAP_REVISION_3,
} from '../../src/caps/xattr.js';

function bytes(...words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => {
    v.setUint32(i * 4, w >>> 0, true);
  });
  return out;
}

const textOf = (b: Uint8Array) => {
  const { sets, beyond } = fileCapsToTriple(decodeFileCaps(b));
  return formatCapText(sets, beyond);
};

describe('security.capability decode', () => {
  it('reads v2 (20 bytes) with and without fE', () => {
    const raw = bytes(VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 1 << 13, 0, 0, 0);
    const d = decodeFileCaps(raw);
    expect(d.version).toBe(2);
    expect(d.effective).toBe(true);
    expect(d.permitted.toArray()).toEqual([13]);
    expect(d.rootid).toBe(0);
    expect(textOf(raw)).toBe('cap_net_raw=ep');
    expect(textOf(bytes(VFS_CAP_REVISION_2, 1 << 13, 1, 0, 1 << 8))).toBe(
      'cap_chown,cap_checkpoint_restore=i cap_net_raw+p',
    );
  });

  it('reads v3 (24 bytes) with its rootid', () => {
    const d = decodeFileCaps(bytes(VFS_CAP_REVISION_3, 0x21, 0, 0x100, 0, 1000));
    expect(d.version).toBe(3);
    expect(d.rootid).toBe(1000);
    expect(d.effective).toBe(false);
    expect(d.permitted.toArray()).toEqual([0, 5, 40]);
  });

  it('reads v1 (12 bytes, caps 0..31 only)', () => {
    const d = decodeFileCaps(bytes(VFS_CAP_REVISION_1 | VFS_CAP_FLAGS_EFFECTIVE, 0x20, 0x20));
    expect(d.version).toBe(1);
    expect(textOf(bytes(VFS_CAP_REVISION_1 | VFS_CAP_FLAGS_EFFECTIVE, 0x20, 0x20))).toBe('cap_kill=eip');
    expect(d.permitted.hi).toBe(0);
  });

  it('keeps bits 41..63 for printing by number, as getcap shows them', () => {
    // Bit 45 is bit 13 of the high word.
    const raw = bytes(VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 1, 0, 1 << 13, 0);
    const d = decodeFileCaps(raw);
    expect(d.permitted.toArray()).toEqual([0]);
    expect(d.beyond.permitted).toBe(1 << 13);
    expect(textOf(raw)).toBe('cap_chown=ep 45+ep');
  });

  it('ignores magic_etc bits other than the revision and fE, like the kernel and libcap', () => {
    expect(decodeFileCaps(bytes(VFS_CAP_REVISION_2 | 0x10, 1, 0, 0, 0)).permitted.toArray()).toEqual([0]);
  });

  it('rejects unknown revisions and wrong sizes with clear errors', () => {
    expect(() => decodeFileCaps(bytes(0x04000000, 0, 0, 0, 0))).toThrow(/unknown revision.*0x04000000/);
    expect(() => decodeFileCaps(bytes(0, 0, 0, 0, 0))).toThrow(/unknown revision/);
    expect(() => decodeFileCaps(bytes(VFS_CAP_REVISION_2, 0, 0, 0, 0, 0))).toThrow(
      /revision 2 must be 20 bytes, got 24/,
    );
    expect(() => decodeFileCaps(bytes(VFS_CAP_REVISION_3, 0, 0, 0, 0))).toThrow(/revision 3 must be 24 bytes, got 20/);
    expect(() => decodeFileCaps(bytes(VFS_CAP_REVISION_1, 0, 0, 0, 0))).toThrow(/revision 1 must be 12 bytes/);
    expect(() => decodeFileCaps(new Uint8Array(3))).toThrow(/too short/);
    let err: unknown;
    try {
      decodeFileCaps(bytes(0x05000000));
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string } | undefined)?.code).toBe('bad-xattr-magic');
  });
});

describe('security.capability encode', () => {
  it('writes v2 unless a rootid asks for v3, byte for byte', () => {
    const v2 = encodeFileCaps({ effective: true, permitted: CapSet.of(13, 40), inheritable: CapSet.of(0) });
    expect(Buffer.from(v2).toString('hex')).toBe('0100000200200000010000000001000000000000');
    const v3 = encodeFileCaps({ effective: false, permitted: CapSet.of(1), inheritable: CapSet.EMPTY, rootid: 1000 });
    expect(Buffer.from(v3).toString('hex')).toBe(`00000003${'02000000'}${'00000000'.repeat(3)}e8030000`);
  });

  it('refuses v1 and a rootid in v2', () => {
    expect(() =>
      encodeFileCaps({ effective: false, permitted: CapSet.EMPTY, inheritable: CapSet.EMPTY, version: 1 as 2 }),
    ).toThrow(/revision 1/);
    expect(() =>
      encodeFileCaps({ effective: false, permitted: CapSet.EMPTY, inheritable: CapSet.EMPTY, rootid: 5, version: 2 }),
    ).toThrow(/needs revision 3/);
    expect(() =>
      encodeFileCaps({ effective: false, permitted: CapSet.EMPTY, inheritable: CapSet.EMPTY, rootid: -1 }),
    ).toThrow(/not a uid/);
  });

  it('round-trips any value through decode', () => {
    const word = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(
        word,
        word,
        word,
        word,
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffffffff }),
        (pl, ph, il, ih, e, r) => {
          const enc = encodeFileCaps({
            effective: e,
            permitted: CapSet.fromWords(pl, ph),
            inheritable: CapSet.fromWords(il, ih),
            rootid: r,
            beyond: { permitted: ph, inheritable: ih },
          });
          const d = decodeFileCaps(enc);
          expect(d.version).toBe(r === 0 ? 2 : 3);
          expect(d.effective).toBe(e);
          expect(d.rootid).toBe(r);
          expect(d.permitted.equals(CapSet.fromWords(pl, ph))).toBe(true);
          expect(d.inheritable.equals(CapSet.fromWords(il, ih))).toBe(true);
          expect((d.permitted.hi | d.beyond.permitted) >>> 0).toBe(ph >>> 0);
          expect((d.inheritable.hi | d.beyond.inheritable) >>> 0).toBe(ih >>> 0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('text -> file capabilities (libcap _fcaps_save rule)', () => {
  const fromText = (t: string, rootid = 0) => {
    const p = parseCapText(t);
    return fileCapsFromTriple(p, p.beyond, rootid);
  };
  it('sets fE exactly when some effective bit is set', () => {
    expect(fromText('cap_net_raw+ep').effective).toBe(true);
    expect(fromText('cap_net_raw+p').effective).toBe(false);
    expect(fromText('cap_net_raw,cap_kill=eip').effective).toBe(true);
    expect(fromText('=').effective).toBe(false);
  });
  it('rejects e bits that do not cover p | i, naming the caps', () => {
    expect(() => fromText('cap_net_raw+p cap_chown+ep')).toThrow(/not effective: cap_net_raw/);
    expect(() => fromText('cap_kill=ep cap_chown+i')).toThrow(/not effective: cap_chown$/);
    expect(() => fromText('cap_chown+ep 45+p')).toThrow(/not effective: 45/);
  });
  it('accepts e beyond p | i and drops it (cap_net_raw+e reads back as "=")', () => {
    const v = fromText('cap_net_raw+e');
    expect(v.effective).toBe(true);
    const raw = encodeFileCaps(v);
    expect(textOf(raw)).toBe('=');
  });
  it('keeps a rootid', () => {
    expect(decodeFileCaps(encodeFileCaps(fromText('cap_kill+p', 1000))).rootid).toBe(1000);
  });
});
