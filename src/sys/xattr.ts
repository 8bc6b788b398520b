/**
 * Extended-attribute I/O through libc (getxattr(2), setxattr(2), removexattr(2)) via koffi FFI.
 * Node has no xattr API and capctl does not shell out to getcap/setcap, so this is the one place
 * that touches the system calls. The pure format lives in src/caps/xattr.ts.
 *
 * libc is bound lazily on first use so commands that never touch xattrs do not load it.
 * Failures become OsError values (a CapctlError of kind 'io', exit 2) carrying the errno.
 */
import type Koffi from 'koffi';
import { ENODATA, EOPNOTSUPP, ERANGE, errnoName } from '../caps/errno.js';
import { CapctlError } from '../caps/errors.js';
import { decodeFileCaps, type FileCaps, XATTR_NAME_CAPS } from '../caps/xattr.js';
import { lazyRequire } from '../util/lazy.js';

const koffi = lazyRequire<typeof Koffi>('koffi');

export class OsError extends CapctlError {
  readonly errno: number;
  readonly errnoName: string;
  readonly syscall: string;
  constructor(syscall: string, errno: number, message: string) {
    super(`os-${errnoNameOf(errno).toLowerCase()}`, message, 'io');
    this.errno = errno;
    this.errnoName = errnoNameOf(errno);
    this.syscall = syscall;
  }
}

interface Libc {
  getxattr: (path: string, name: string, value: Buffer | null, size: number) => number;
  setxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
  removexattr: (path: string, name: string) => number;
  strerror: (errnum: number) => string;
}

let libc: Libc | undefined;

function bind(): Libc {
  if (libc) return libc;
  let lib: ReturnType<typeof Koffi.load>;
  try {
    lib = koffi().load('libc.so.6');
  } catch (err) {
    throw new CapctlError('no-libc', `cannot load libc.so.6 for xattr calls: ${(err as Error).message}`, 'io');
  }
  libc = {
    getxattr: lib.func('long getxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
    setxattr: lib.func('int setxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    removexattr: lib.func('int removexattr(const char *path, const char *name)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  };
  return libc;
}

function errnoNameOf(errno: number): string {
  // ENOTSUP and EOPNOTSUPP share 95 on Linux; prefer the name the man pages use for xattrs.
  if (errno === EOPNOTSUPP) return 'ENOTSUP';
  return errnoName(errno);
}

/** strerror(3) text, as getcap/setcap print it ("No such file or directory"). */
export function strerror(errno: number): string {
  return bind().strerror(errno);
}

function fail(syscall: string, path: string, errno: number): never {
  const why =
    errno === EOPNOTSUPP
      ? 'the file system does not support security.capability extended attributes'
      : bind().strerror(errno);
  throw new OsError(syscall, errno, `${path}: ${why}`);
}

/** The raw value of xattr `name` on `path` (symlinks followed), or null if it has none (ENODATA). */
export function getXattr(path: string, name: string): Uint8Array | null {
  const c = bind();
  for (let attempt = 0; attempt < 4; attempt++) {
    const size = c.getxattr(path, name, null, 0);
    if (size < 0) {
      const e = koffi().errno();
      if (e === ENODATA) return null;
      fail('getxattr', path, e);
    }
    const buf = Buffer.alloc(size);
    const got = size === 0 ? 0 : c.getxattr(path, name, buf, size);
    if (got >= 0) return new Uint8Array(buf.buffer, buf.byteOffset, got);
    const e = koffi().errno();
    if (e === ENODATA) return null;
    // ERANGE: the value grew between the two calls; ask for the size again.
    if (e !== ERANGE) fail('getxattr', path, e);
  }
  fail('getxattr', path, ERANGE);
}

export function setXattr(path: string, name: string, value: Uint8Array): void {
  const c = bind();
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (c.setxattr(path, name, buf, buf.length, 0) !== 0) fail('setxattr', path, koffi().errno());
}

/** Remove xattr `name`; throws OsError ENODATA when there is none. */
export function removeXattr(path: string, name: string): void {
  if (bind().removexattr(path, name) !== 0) fail('removexattr', path, koffi().errno());
}

/**
 * The file capabilities of `path` as cap_get_file() reads them, or null when the file has no
 * security.capability attribute. Malformed values throw the decode error with the path.
 */
export function getFileCaps(path: string): FileCaps | null {
  const raw = getXattr(path, XATTR_NAME_CAPS);
  if (raw === null) return null;
  try {
    return decodeFileCaps(raw);
  } catch (err) {
    throw new CapctlError((err as CapctlError).code ?? 'bad-xattr', `${path}: ${(err as Error).message}`, 'io');
  }
}

export function setFileCaps(path: string, value: Uint8Array): void {
  setXattr(path, XATTR_NAME_CAPS, value);
}

export function removeFileCaps(path: string): void {
  removeXattr(path, XATTR_NAME_CAPS);
}
