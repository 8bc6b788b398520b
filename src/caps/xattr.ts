/**
 * The `security.capability` extended attribute: `struct vfs_cap_data` / `vfs_ns_cap_data` from
 * include/uapi/linux/capability.h. Pure encode/decode of the on-disk bytes; reading and writing
 * the attribute on a real file lives in src/sys/xattr.ts.
 *
 * Layout (little-endian u32 words):
 *
 *   @0  magic_etc   revision in the top byte (VFS_CAP_REVISION_MASK), bit 0 = fE
 *   @4  permitted[0]    caps 0..31
 *   @8  inheritable[0]
 *   @12 permitted[1]    caps 32..63            (v2, v3)
 *   @16 inheritable[1]
 *   @20 rootid          uid that counts as root (v3 only)
 *
 * Decoding mirrors what the kernel's get_vfs_caps_from_disk() and libcap's _fcaps_load() accept:
 * the revision alone selects the size, and the size must match it exactly; other bits of
 * magic_etc besides fE are ignored on read. Encoding mirrors libcap's _fcaps_save(): v2 unless a
 * rootid is given (then v3), and fE set when any effective bit is set — which is only legal when
 * the effective set covers permitted | inheritable (the kernel has a single fE bit, not a set).
 */
import { CapSet, VALID_HI } from './capset.js';
import { capTextName } from './catalog.js';
import { inputError } from './errors.js';
import type { BeyondBits, CapTriple } from './text.js';

export const XATTR_NAME_CAPS = 'security.capability';

export const VFS_CAP_REVISION_MASK = 0xff000000;
export const VFS_CAP_REVISION_1 = 0x01000000;
export const VFS_CAP_REVISION_2 = 0x02000000;
export const VFS_CAP_REVISION_3 = 0x03000000;
export const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;

export const XATTR_CAPS_SZ_1 = 12;
export const XATTR_CAPS_SZ_2 = 20;
export const XATTR_CAPS_SZ_3 = 24;

const BEYOND_MASK = ~VALID_HI >>> 0;

export type FileCapsVersion = 1 | 2 | 3;

/** A decoded security.capability value. */
export interface FileCaps {
  readonly version: FileCapsVersion;
  /** fE: at exec, the new effective set is the new permitted set (all or nothing). */
  readonly effective: boolean;
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
  /** v3 only; 0 for v1 and v2 (they mean "root of the file system's user namespace"). */
  readonly rootid: number;
  /**
   * Bits 41..63 stored in the high words (positions as in the high word, like text.ts's
   * BeyondBits). The kernel stores them but ignores them at exec; getcap prints them by number.
   */
  readonly beyond: { readonly permitted: number; readonly inheritable: number };
}

function revisionName(magic: number): string {
  return `0x${(magic >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Decode the raw attribute bytes. Throws CapctlError 'bad-xattr-magic' for an unknown revision
 * and 'bad-xattr-length' when the size does not match the revision (kernel and libcap: EINVAL).
 */
export function decodeFileCaps(bytes: Uint8Array): FileCaps {
  if (bytes.length < 4) {
    throw inputError(
      'bad-xattr-length',
      `security.capability value is ${bytes.length} bytes; too short to hold magic_etc (need 12, 20 or 24)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  const revision = (magic & VFS_CAP_REVISION_MASK) >>> 0;
  let version: FileCapsVersion;
  let size: number;
  if (revision === VFS_CAP_REVISION_1) (version = 1), (size = XATTR_CAPS_SZ_1);
  else if (revision === VFS_CAP_REVISION_2) (version = 2), (size = XATTR_CAPS_SZ_2);
  else if (revision === VFS_CAP_REVISION_3) (version = 3), (size = XATTR_CAPS_SZ_3);
  else {
    throw inputError(
      'bad-xattr-magic',
      `security.capability has unknown revision in magic_etc ${revisionName(magic)} (want 0x01, 0x02 or 0x03 in the top byte)`,
    );
  }
  if (bytes.length !== size) {
    throw inputError(
      'bad-xattr-length',
      `security.capability revision ${version} must be ${size} bytes, got ${bytes.length}`,
    );
  }
  const pLo = view.getUint32(4, true);
  const iLo = view.getUint32(8, true);
  const pHi = version === 1 ? 0 : view.getUint32(12, true);
  const iHi = version === 1 ? 0 : view.getUint32(16, true);
  return {
    version,
    effective: (magic & VFS_CAP_FLAGS_EFFECTIVE) !== 0,
    permitted: CapSet.fromWords(pLo, pHi),
    inheritable: CapSet.fromWords(iLo, iHi),
    rootid: version === 3 ? view.getUint32(20, true) : 0,
    beyond: { permitted: (pHi & BEYOND_MASK) >>> 0, inheritable: (iHi & BEYOND_MASK) >>> 0 },
  };
}

export interface EncodeFileCapsInput {
  readonly effective: boolean;
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
  /** Non-zero selects v3. */
  readonly rootid?: number;
  /** Force the revision; 2 is refused with a non-zero rootid, 1 is never written (the kernel refuses it). */
  readonly version?: 2 | 3;
  readonly beyond?: { readonly permitted: number; readonly inheritable: number };
}

/** Encode a value the kernel's setxattr accepts: 20 bytes (v2) or 24 bytes (v3 with rootid). */
export function encodeFileCaps(fc: EncodeFileCapsInput): Uint8Array {
  const rootid = fc.rootid ?? 0;
  if (!Number.isInteger(rootid) || rootid < 0 || rootid > 0xffffffff) {
    throw inputError('bad-rootid', `rootid ${rootid} is not a uid (0..4294967295)`);
  }
  const version = fc.version ?? (rootid !== 0 ? 3 : 2);
  if ((version as number) === 1) {
    throw inputError(
      'bad-xattr-version',
      'revision 1 security.capability values are read-only (setxattr rejects them)',
    );
  }
  if (version === 2 && rootid !== 0) {
    throw inputError('bad-xattr-version', `a rootid (${rootid}) needs revision 3; revision 2 has no rootid field`);
  }
  const size = version === 3 ? XATTR_CAPS_SZ_3 : XATTR_CAPS_SZ_2;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const magic =
    (version === 3 ? VFS_CAP_REVISION_3 : VFS_CAP_REVISION_2) | (fc.effective ? VFS_CAP_FLAGS_EFFECTIVE : 0);
  view.setUint32(0, magic >>> 0, true);
  view.setUint32(4, fc.permitted.lo, true);
  view.setUint32(8, fc.inheritable.lo, true);
  view.setUint32(12, (fc.permitted.hi | ((fc.beyond?.permitted ?? 0) & BEYOND_MASK)) >>> 0, true);
  view.setUint32(16, (fc.inheritable.hi | ((fc.beyond?.inheritable ?? 0) & BEYOND_MASK)) >>> 0, true);
  if (version === 3) view.setUint32(20, rootid >>> 0, true);
  return out;
}

/**
 * The (e, p, i) triple libcap reports for a file, as cap_get_file() builds it:
 * e = fE ? (p | i) : 0, word by word (so bits 41..63 follow the same rule).
 */
export function fileCapsToTriple(fc: FileCaps): { sets: CapTriple; beyond: BeyondBits } {
  const e = fc.effective ? fc.permitted.union(fc.inheritable) : CapSet.EMPTY;
  return {
    sets: { effective: e, permitted: fc.permitted, inheritable: fc.inheritable },
    beyond: {
      effective: fc.effective ? (fc.beyond.permitted | fc.beyond.inheritable) >>> 0 : 0,
      permitted: fc.beyond.permitted,
      inheritable: fc.beyond.inheritable,
    },
  };
}

/**
 * From a parsed capability text to what setcap writes, with libcap _fcaps_save()'s rule:
 *
 *   fE = (e != 0);  if fE and ((p | i) & ~e) != 0  ->  EINVAL
 *
 * i.e. the effective set must be empty or cover permitted | inheritable. Effective bits outside
 * p | i are accepted and lost (`cap_net_raw+e` alone is stored as fE with empty sets, and reads
 * back as `=`), exactly as setcap does.
 */
export function fileCapsFromTriple(
  sets: CapTriple,
  beyond: BeyondBits = { effective: 0, permitted: 0, inheritable: 0 },
  rootid = 0,
): EncodeFileCapsInput {
  const e = sets.effective;
  const eBeyond = beyond.effective & BEYOND_MASK;
  const fE = !e.isEmpty() || eBeyond !== 0;
  if (fE) {
    const pi = sets.permitted.union(sets.inheritable);
    const missing = pi.minus(e);
    const missingBeyond = (beyond.permitted | beyond.inheritable) & BEYOND_MASK & ~eBeyond;
    if (!missing.isEmpty() || missingBeyond !== 0) {
      const names = [...missing, ...beyondNumbers(missingBeyond)].map(capTextName).join(',');
      throw inputError(
        'partial-effective',
        `file effective bits must be empty or cover every permitted and inheritable cap (the kernel keeps one fE bit); not effective: ${names}`,
      );
    }
  }
  return {
    effective: fE,
    permitted: sets.permitted,
    inheritable: sets.inheritable,
    rootid,
    beyond: { permitted: beyond.permitted & BEYOND_MASK, inheritable: beyond.inheritable & BEYOND_MASK },
  };
}

function beyondNumbers(hiBits: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < 32; b++) if ((hiBits >>> b) & 1) out.push(32 + b);
  return out;
}
