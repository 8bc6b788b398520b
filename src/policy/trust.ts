/**
 * Trusted files: what capctl reads before a decision (profiles, their `extends` parents, the
 * state directory and bindings.json) must be something only the administrator could have
 * written. As root (the case where a profile becomes a security boundary) this is sshd's
 * StrictModes rule: the file and every directory above it are owned by root or by the invoking
 * user, and none of them can be written by group or others (a root-owned sticky directory such
 * as /tmp is allowed: others cannot rename or replace what they do not own there).
 *
 * Whatever the uid, only regular files are read, with a size limit, through one descriptor:
 * opened with O_NONBLOCK (a FIFO never blocks the open) and O_NOFOLLOW on the final component,
 * then fstat'ed — type, owner, mode and size are checked on the object actually opened, never on
 * a path that could be swapped between the check and the read.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CapctlError } from '../caps/errors.js';

/** Profiles are small hand-written files; the stock ones are under 4 KiB. */
export const PROFILE_MAX_BYTES = 1 << 20;
/** bindings.json: one ~300-byte record per target. */
export const BINDINGS_MAX_BYTES = 16 << 20;

export interface TrustOptions {
  /** Effective uid of this process (ownership rules apply only to root). */
  uid?: number;
  /** Other owners trusted besides root (default: the real uid and $SUDO_UID, the invoking user). */
  trustedUids?: readonly number[];
  env?: NodeJS.ProcessEnv;
}

function euid(opts: TrustOptions): number {
  return opts.uid ?? process.geteuid?.() ?? -1;
}

/** root, and the user who ran capctl (directly, or through sudo). */
export function trustedOwners(opts: TrustOptions = {}): Set<number> {
  const out = new Set<number>([0]);
  for (const u of opts.trustedUids ?? []) out.add(u);
  if (opts.trustedUids === undefined) {
    const real = process.getuid?.();
    if (real !== undefined) out.add(real);
    // Strictly decimal: Number() would read "1e3" as uid 1000 and "" as root.
    const sudo = (opts.env ?? process.env).SUDO_UID;
    if (sudo !== undefined && /^\d{1,10}$/.test(sudo) && Number(sudo) <= 0xfffffffe) out.add(Number(sudo));
  }
  return out;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Why `st` cannot be trusted, or undefined when it can. `what` names the object for a directory
 * above the file ("directory /srv"); '' for the file itself (the caller has named it).
 */
function untrustedReason(
  st: Stats,
  path: string,
  what: string,
  owners: Set<number>,
  isDir: boolean,
): string | undefined {
  const subject = what ? `${what} ` : '';
  if (!owners.has(st.uid)) return `${subject}owned by uid ${st.uid}, not by root or the invoking user`;
  const writable = st.mode & 0o022;
  if (writable === 0) return undefined;
  // A root-owned sticky directory (/tmp): others may create entries but not replace ours.
  if (isDir && (st.mode & 0o1000) !== 0 && st.uid === 0) return undefined;
  const who = [(st.mode & 0o020) !== 0 ? 'its group' : '', (st.mode & 0o002) !== 0 ? 'others' : '']
    .filter(Boolean)
    .join(' and ');
  return `${subject}mode ${octal(st.mode)} lets ${who} change it (run: chmod go-w ${path})`;
}

/**
 * As root: every directory from `/` down to `dir` (after resolving symlinks) is owned by a
 * trusted uid and not writable by group or others. Throws CapctlError('untrusted-path').
 */
export function checkTrustedDir(dir: string, opts: TrustOptions = {}, label = dir): void {
  if (euid(opts) !== 0) return;
  const owners = trustedOwners(opts);
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    throw new CapctlError('io', `cannot resolve ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 'io');
  }
  const chain: string[] = [];
  for (let d = real; ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of chain) {
    const why = untrustedReason(lstatSync(d), d, `directory ${d}`, owners, true);
    if (why) throw new CapctlError('untrusted-path', `refusing ${label}: ${why}`);
  }
}

export interface ReadTrustedOptions extends TrustOptions {
  /** What the file is, for messages ("profile", "bindings file"). */
  what: string;
  maxBytes: number;
  /** Refuse a symlink as the last component (bindings.json); profiles may be symlinks. */
  noFollow?: boolean;
}

/**
 * Read a regular file that only trusted users could have written. Never blocks on a FIFO or
 * device, never reads more than `maxBytes`, and never puts the file's content in an error.
 * Returns the bytes read (as UTF-8 text) and the path actually opened.
 */
export function readTrustedFile(path: string, opts: ReadTrustedOptions): { text: string; real: string } {
  const abs = resolve(path);
  let real = abs;
  if (!opts.noFollow) {
    try {
      real = realpathSync(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CapctlError(
        'io',
        code === 'ENOENT' ? `${opts.what} not found: ${path}` : `cannot read ${opts.what} ${path}: ${code}`,
        'io',
      );
    }
  }
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ELOOP'
        ? 'it is a symbolic link (refused: the file must be a regular file)'
        : code === 'ENOENT'
          ? 'no such file'
          : code === 'EISDIR'
            ? 'it is a directory, not a file'
            : (code ?? 'error');
    throw new CapctlError('io', `cannot read ${opts.what} ${path}: ${why}`, 'io');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory()
        ? 'a directory'
        : st.isFIFO()
          ? 'a FIFO'
          : st.isCharacterDevice() || st.isBlockDevice()
            ? 'a device'
            : st.isSocket()
              ? 'a socket'
              : 'not a regular file';
      throw new CapctlError('not-regular-file', `refusing ${opts.what} ${path}: it is ${kind}, not a regular file`);
    }
    if (st.size > opts.maxBytes) {
      throw new CapctlError(
        'file-too-large',
        `refusing ${opts.what} ${path}: ${st.size} bytes, above the ${opts.maxBytes}-byte limit`,
      );
    }
    if (euid(opts) === 0) {
      const owners = trustedOwners(opts);
      const why = untrustedReason(st, real, '', owners, false);
      if (why) throw new CapctlError('untrusted-path', `refusing ${opts.what} ${path}: ${why}`);
      checkTrustedDir(dirname(real), opts, `${opts.what} ${path}`);
    }
    // Read at most maxBytes + 1 even if the file grew after fstat (e.g. /proc files report 0).
    const buf = Buffer.alloc(Math.min(opts.maxBytes + 1, Math.max(st.size, 4096) + 1));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > opts.maxBytes || (n === buf.length && n > st.size)) {
      throw new CapctlError('file-too-large', `refusing ${opts.what} ${path}: larger than it said when opened`);
    }
    return { text: buf.subarray(0, n).toString('utf8'), real };
  } finally {
    closeSync(fd);
  }
}
