/**
 * A private mount namespace in which every mount is nosuid, for the calling process: what the
 * launcher does under `capctl run --host freebsd`, because the Linuxulator applies no Linux file
 * capabilities (get_file_caps() ignores them on a nosuid mount: mnt_may_suid()). Set-id bits
 * are ignored there too — the model is told the same (ExecFile.nosuid).
 *
 * Any mount that cannot be made nosuid fails the whole step: a program that could still gain
 * file capabilities would escape the jail's decisions.
 */
import { readFileSync } from 'node:fs';
import { lastErrno, libcFunc, OsError, strerror } from './libc.js';

const unshareFn = libcFunc<(flags: number) => number>('int unshare(int flags)');
const mountFn = libcFunc<
  (src: string | null, target: string, type: string | null, flags: number, data: null) => number
>('int mount(const char *src, const char *target, const char *type, unsigned long flags, const void *data)');

const CLONE_NEWNS = 0x00020000;
const MS_RDONLY = 1;
const MS_NOSUID = 2;
const MS_REMOUNT = 32;
const MS_BIND = 4096;
const MS_REC = 16384;
const MS_PRIVATE = 1 << 18;

/** Per-mount options of /proc/self/mountinfo (field 6) that a bind remount must keep. */
const KEEP: Readonly<Record<string, number>> = {
  ro: MS_RDONLY,
  nodev: 4,
  noexec: 8,
  nosymfollow: 256,
  noatime: 1024,
  nodiratime: 2048,
  relatime: 1 << 21,
  strictatime: 1 << 24,
};

/** The mount points of this namespace with their per-mount flags, from /proc/self/mountinfo. */
function mounts(): { target: string; flags: number }[] {
  const out: { target: string; flags: number }[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 6) continue;
    // Octal escapes (\040 for a space) as the kernel writes them.
    const target = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    let flags = 0;
    for (const o of f[5]!.split(',')) flags |= KEEP[o] ?? 0;
    out.push({ target, flags });
  }
  return out;
}

export function enterNosuidMountNamespace(): void {
  if (unshareFn(CLONE_NEWNS) !== 0) {
    const e = lastErrno();
    throw new OsError('unshare', e, `unshare(CLONE_NEWNS): ${strerror(e)}`);
  }
  // Changes stay in this namespace.
  if (mountFn(null, '/', null, MS_REC | MS_PRIVATE, null) !== 0) {
    const e = lastErrno();
    throw new OsError('mount', e, `mount --make-rprivate /: ${strerror(e)}`);
  }
  for (const m of mounts()) {
    if (mountFn(null, m.target, null, MS_REMOUNT | MS_BIND | MS_NOSUID | m.flags, null) !== 0) {
      const e = lastErrno();
      throw new OsError('mount', e, `remount ${m.target} nosuid: ${strerror(e)}`);
    }
  }
}
