/**
 * libcap itself, loaded through koffi, as a test oracle for the text format: the same
 * cap_from_text/cap_to_text that capsh uses, but callable for any set (capsh can only print
 * sets the running process can hold). Returns undefined when libcap.so.2 is not installed.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface LibcapOracle {
  /** cap_to_text(cap_from_text(text)), or null where cap_from_text fails (EINVAL). */
  roundTrip(text: string): string | null;
  version: string;
}

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
  return {
    version: 'libcap.so.2',
    roundTrip(text: string): string | null {
      const cap = capFromText(text);
      if (cap === null) return null;
      const out = capToText(cap, null);
      const str = koffi.decode(out, 'char', -1) as string;
      capFree(out);
      capFree(cap);
      return str;
    },
  };
}
