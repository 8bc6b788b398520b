/**
 * bind(2) on a descriptor taken from the supervised program (pidfd_getfd), for the seccomp
 * supervisor: an inet bind the engine has allowed is made by capctl with the address it read
 * and decided on, so the program cannot change the port in its memory after the check.
 */
import { lastErrno, libcFunc } from './libc.js';

const bindFn = libcFunc<(fd: number, addr: Uint8Array, len: number) => number>(
  'int bind(int fd, const void *addr, uint32_t len)',
);

/** bind(fd, addr, len); 0 or the errno it failed with. */
export function bindSocket(fd: number, addr: Uint8Array, len: number): number {
  return bindFn(fd, addr, len) === 0 ? 0 : lastErrno();
}
