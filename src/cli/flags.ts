/**
 * The one parser for numeric flags and numeric arguments (pids, uids, securebits, rootids).
 * JavaScript's Number() takes '' as 0, '1e3' as 1000, ' 7 ' as 7, '0b1' as 1 and a
 * million digits as Infinity; a flag that selects a process or sets a credential must not guess.
 * So: plain decimal digits (or 0x hex where the flag says so), no sign, no leading zero that
 * could be read as octal, at most 16 digits (within Number's exact range), then a range check.
 */
import { inputError } from '../caps/errors.js';

export { UID_MAX } from '../policy/types.js';
export { PID_MAX_LIMIT } from '../runtime/abi.js';

export interface IntFlagSpec {
  /** Smallest accepted value (default 0). */
  min?: number;
  /** Largest accepted value (inclusive). */
  max: number;
  /** Also accept 0x-prefixed hexadecimal (masks, bit fields). */
  hex?: boolean;
  /** What the value is, for the error ("a pid", "a uid"). */
  what?: string;
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const HEX = /^0[xX][0-9a-fA-F]{1,13}$/;

/** `text` as an integer in [min, max], or a one-line input error naming `flag`. */
export function parseIntFlag(flag: string, text: string, spec: IntFlagSpec): number {
  const min = spec.min ?? 0;
  const what = spec.what ?? 'an integer';
  const range = spec.hex ? `${min}..0x${spec.max.toString(16)}` : `${min}..${spec.max}`;
  const shown =
    text.length > 40
      ? `${JSON.stringify(text.slice(0, 40)).slice(0, -1)}…" (${text.length} characters)`
      : JSON.stringify(text);
  const ok = DECIMAL.test(text) || (spec.hex === true && HEX.test(text));
  if (!ok) {
    const hint = /^0[0-9]+$/.test(text) ? ' (no leading zeros: octal or decimal?)' : '';
    throw inputError('bad-number', `${flag} wants ${what} (${range}), not ${shown}${hint}`);
  }
  const n = Number(text);
  if (n < min || n > spec.max)
    throw inputError('bad-number', `${flag} wants ${what} (${range}), not ${shown}: out of range`);
  return n;
}
