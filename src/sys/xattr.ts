/**
 * Extended-attribute I/O through libc (getxattr(2), setxattr(2), removexattr(2)) via koffi FFI.
 * Node has no xattr API and capctl does not shell out to getcap/setcap, so this is the one place
 * that touches the system calls. The pure format lives in src/caps/xattr.ts.
 *
 * Failures become OsError values (a CapctlError of kind 'io', exit 2) carrying the errno.
 */
import { ENODATA, EOPNOTSUPP, ERANGE } from '../caps/errno.js';
import { CapctlError } from '../caps/errors.js';
import { decodeFileCaps, type FileCaps, XATTR_NAME_CAPS } from '../caps/xattr.js';
import { lastErrno, libcFunc, OsError, strerror } from './libc.js';

export { OsError, strerror };

const getxattr = libcFunc<(path: string, name: string, value: Buffer | null, size: number) => number>(
  'long getxattr(const char *path, const char *name, _Out_ void *value, size_t size)',
);
const setxattr = libcFunc<(path: string, name: string, value: Buffer, size: number, flags: number) => number>(
  'int setxattr(const char *path, const char *name, const void *value, size_t size, int flags)',
);
const removexattr = libcFunc<(path: string, name: string) => number>(
  'int removexattr(const char *path, const char *name)',
);

function fail(syscall: string, path: string, errno: number): never {
  const why =
    errno === EOPNOTSUPP ? 'the file system does not support security.capability extended attributes' : strerror(errno);
  throw new OsError(syscall, errno, `${path}: ${why}`);
}

/** The raw value of xattr `name` on `path` (symlinks followed), or null if it has none (ENODATA). */
export function getXattr(path: string, name: string): Uint8Array | null {
  for (let attempt = 0; attempt < 4; attempt++) {
    const size = getxattr(path, name, null, 0);
    if (size < 0) {
      const e = lastErrno();
      if (e === ENODATA) return null;
      fail('getxattr', path, e);
    }
    const buf = Buffer.alloc(size);
    const got = size === 0 ? 0 : getxattr(path, name, buf, size);
    if (got >= 0) return new Uint8Array(buf.buffer, buf.byteOffset, got);
    const e = lastErrno();
    if (e === ENODATA) return null;
    // ERANGE: the value grew between the two calls; ask for the size again.
    if (e !== ERANGE) fail('getxattr', path, e);
  }
  fail('getxattr', path, ERANGE);
}

export function setXattr(path: string, name: string, value: Uint8Array): void {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (setxattr(path, name, buf, buf.length, 0) !== 0) fail('setxattr', path, lastErrno());
}

/** Remove xattr `name`; throws OsError ENODATA when there is none. */
export function removeXattr(path: string, name: string): void {
  if (removexattr(path, name) !== 0) fail('removexattr', path, lastErrno());
}

/**
 * The file capabilities of `path` as cap_get_file() reads them, or null when the file has no
 * security.capability attribute. Malformed values throw the decode error with the path.
 */
export function getFileCaps(path: string): FileCaps | null {
  return decodeAt(path, getXattr(path, XATTR_NAME_CAPS));
}

/** `raw` decoded; a malformed value throws the decode error with the path. */
function decodeAt(path: string, raw: Uint8Array | null): FileCaps | null {
  if (raw === null) return null;
  try {
    return decodeFileCaps(raw);
  } catch (err) {
    throw new CapctlError((err as CapctlError).code ?? 'bad-xattr', `${path}: ${(err as Error).message}`, 'io');
  }
}

/**
 * security.capability's raw value as execve reads it (get_vfs_caps_from_disk): on a file system
 * without extended attributes (EOPNOTSUPP: ramfs, 9p exported without them, some FUSE and NFS
 * mounts) the file has no capabilities, as when the attribute is missing (ENODATA), and the
 * exec goes on; any other failure fails the exec, so it is thrown.
 */
export function getExecCapsXattr(path: string): Uint8Array | null {
  try {
    return getXattr(path, XATTR_NAME_CAPS);
  } catch (err) {
    if (err instanceof OsError && err.errno === EOPNOTSUPP) return null;
    throw err;
  }
}

/** getFileCaps as execve reads the attribute (see getExecCapsXattr). */
export function getExecFileCaps(path: string): FileCaps | null {
  return decodeAt(path, getExecCapsXattr(path));
}

export function setFileCaps(path: string, value: Uint8Array): void {
  setXattr(path, XATTR_NAME_CAPS, value);
}

export function removeFileCaps(path: string): void {
  removeXattr(path, XATTR_NAME_CAPS);
}
