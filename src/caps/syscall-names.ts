/**
 * System call names a profile may name in `when: syscall:`, for the architecture capctl
 * models (x86_64), with did-you-mean for a misspelt one.
 */
import { closestName } from './catalog.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';

const NAMES: ReadonlySet<string> = new Set(SYSCALLS_X86_64.map(([, name]) => name));
const BY_NUMBER: ReadonlyMap<number, string> = new Map(SYSCALLS_X86_64);
const BY_NAME: ReadonlyMap<string, number> = new Map(SYSCALLS_X86_64.map(([nr, name]) => [name, nr]));

export const SYSCALL_ARCH = 'x86_64';

export function isSyscallName(name: string): boolean {
  return NAMES.has(name);
}

/** The closest real name, for "unknown system call" errors. */
export function suggestSyscall(name: string): string | undefined {
  return closestName(name, NAMES);
}

/** The name of x86_64 system call `nr` (auditd's syscall=N), or undefined for a number no entry has. */
export function syscallNameOf(nr: number): string | undefined {
  return BY_NUMBER.get(nr);
}

/** The x86_64 number of system call `name`; a name the table lacks is a programming error. */
export function syscallNumber(name: string): number {
  const nr = BY_NAME.get(name);
  if (nr === undefined) throw new Error(`no x86_64 system call named ${name}`);
  return nr;
}
