/**
 * libcap itself, loaded through koffi, as a test oracle for the text format: the same
 * cap_from_text/cap_to_text that capsh uses, but callable for any set (capsh can only print
 * sets the running process can hold). Returns undefined when libcap.so.2 is not installed.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A 64-bit libcap set as two u32 words (bits 0..31, 32..63), bits 41..63 included. */
export interface Words {
  lo: number;
  hi: number;
}

export interface OracleSets {
  effective: Words;
  permitted: Words;
  inheritable: Words;
}

export interface LibcapOracle {
  /** cap_to_text(cap_from_text(text)), or null where cap_from_text fails (EINVAL). */
  roundTrip(text: string): string | null;
  /** The three sets cap_from_text(text) builds (all 64 bits), or null where it fails. */
  parse(text: string): OracleSets | null;
  /** cap_to_text of sets built with cap_init + cap_set_flag (all 64 bits). */
  format(sets: OracleSets): string;
  version: string;
}

// cap_flag_t in <sys/capability.h>.
const CAP_EFFECTIVE = 0;
const CAP_PERMITTED = 1;
const CAP_INHERITABLE = 2;
const CAP_SET = 1;

export function loadLibcap(): LibcapOracle | undefined {
  let koffi: typeof import('koffi');
  try {
    koffi = require('koffi');
  } catch {
    return undefined;
  }
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libcap.so.2');
  } catch {
    return undefined;
  }
  const capFromText = lib.func('void *cap_from_text(const char *)');
  const capToText = lib.func('void *cap_to_text(void *, void *)');
  const capFree = lib.func('int cap_free(void *)');
  const capInit = lib.func('void *cap_init()');
  const capSetFlag = lib.func('int cap_set_flag(void *, int flag, int ncap, const int *caps, int value)');
  const capGetFlag = lib.func('int cap_get_flag(void *, int cap, int flag, _Out_ int *value)');

  const toText = (cap: unknown): string => {
    const out = capToText(cap, null);
    const str = koffi.decode(out, 'char', -1) as string;
    capFree(out);
    return str;
  };
  const one = [0];
  const readSet = (cap: unknown, flag: number): Words => {
    let lo = 0;
    let hi = 0;
    for (let n = 0; n < 64; n++) {
      if (capGetFlag(cap, n, flag, one) !== 0) throw new Error(`cap_get_flag(${n}) failed`);
      if (one[0]) {
        if (n < 32) lo |= 1 << n;
        else hi |= 1 << (n - 32);
      }
    }
    return { lo: lo >>> 0, hi: hi >>> 0 };
  };
  const setBits = (cap: unknown, flag: number, w: Words) => {
    const caps: number[] = [];
    for (let n = 0; n < 64; n++) if (((n < 32 ? w.lo >>> n : w.hi >>> (n - 32)) & 1) === 1) caps.push(n);
    // cap_set_flag takes fewer than 64 values per call.
    for (let i = 0; i < caps.length; i += 32) {
      const chunk = caps.slice(i, i + 32);
      if (capSetFlag(cap, flag, chunk.length, chunk, CAP_SET) !== 0) throw new Error('cap_set_flag failed');
    }
  };

  return {
    version: 'libcap.so.2',
    roundTrip(text: string): string | null {
      const cap = capFromText(text);
      if (cap === null) return null;
      const str = toText(cap);
      capFree(cap);
      return str;
    },
    parse(text: string): OracleSets | null {
      const cap = capFromText(text);
      if (cap === null) return null;
      const sets = {
        effective: readSet(cap, CAP_EFFECTIVE),
        permitted: readSet(cap, CAP_PERMITTED),
        inheritable: readSet(cap, CAP_INHERITABLE),
      };
      capFree(cap);
      return sets;
    },
    format(sets: OracleSets): string {
      const cap = capInit();
      setBits(cap, CAP_EFFECTIVE, sets.effective);
      setBits(cap, CAP_PERMITTED, sets.permitted);
      setBits(cap, CAP_INHERITABLE, sets.inheritable);
      const str = toText(cap);
      capFree(cap);
      return str;
    },
  };
}
