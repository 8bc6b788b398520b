/**
 * Live reads of /proc for `capctl ps`: which processes and threads exist, and their status
 * files parsed by src/caps/procstatus.ts. Processes come and go while we scan, so a task that
 * vanishes between listing and reading is reported as `null`, never as an error.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { CapctlError } from '../caps/errors.js';
import { type ProcStatus, parseProcStatus } from '../caps/procstatus.js';

export const PROC_ROOT = '/proc';

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  // ENOENT: reaped; ESRCH: exiting while we read; EINVAL: status of a zombie thread mid-teardown.
  return code === 'ENOENT' || code === 'ESRCH' || code === 'EINVAL';
}

function numericEntries(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if (isGone(err)) return [];
    throw new CapctlError('proc-unreadable', `cannot list ${dir}: ${(err as Error).message}`, 'io');
  }
  const out: number[] = [];
  for (const n of names) if (/^\d+$/.test(n)) out.push(Number(n));
  return out.sort((a, b) => a - b);
}

/** Process ids (thread-group leaders) currently in /proc, ascending. */
export function listPids(root = PROC_ROOT): number[] {
  return numericEntries(root);
}

/** Thread ids of process `pid`, ascending; empty if the process is gone. */
export function listTids(pid: number, root = PROC_ROOT): number[] {
  return numericEntries(`${root}/${pid}/task`);
}

/**
 * /proc/PID/status, or /proc/PID/task/TID/status when `tid` is given. Returns null when the
 * task no longer exists; other read failures (e.g. EACCES) throw an 'io' CapctlError.
 */
export function readProcStatus(pid: number, tid?: number, root = PROC_ROOT): ProcStatus | null {
  const path = tid === undefined ? `${root}/${pid}/status` : `${root}/${pid}/task/${tid}/status`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isGone(err)) return null;
    throw new CapctlError('proc-unreadable', `cannot read ${path}: ${(err as Error).message}`, 'io');
  }
  return parseProcStatus(text);
}

/**
 * /proc/PID/auxv: the ELF auxiliary vector of the process's current image. It is rebuilt at
 * every successful execve (with ASLR its stack addresses differ), so comparing two reads tells
 * whether an exec happened in between. Null when the process is gone.
 */
export function readAuxv(pid: number, root = PROC_ROOT): Buffer | null {
  try {
    return readFileSync(`${root}/${pid}/auxv`);
  } catch (err) {
    if (isGone(err)) return null;
    throw new CapctlError('proc-unreadable', `cannot read ${root}/${pid}/auxv: ${(err as Error).message}`, 'io');
  }
}

/** The file a process is running (/proc/PID/exe followed): mode, owner, group; null when gone. */
export function statExe(
  pid: number,
  root = PROC_ROOT,
): { path: string; mode: number; uid: number; gid: number } | null {
  const path = `${root}/${pid}/exe`;
  try {
    const st = statSync(path);
    return { path, mode: st.mode, uid: st.uid, gid: st.gid };
  } catch (err) {
    if (isGone(err)) return null;
    throw new CapctlError('proc-unreadable', `cannot stat ${path}: ${(err as Error).message}`, 'io');
  }
}

function taskPath(pid: number, tid: number | undefined, root: string): string {
  return tid === undefined ? `${root}/${pid}` : `${root}/${pid}/task/${tid}`;
}

/**
 * The inode of the task's user namespace (the number in `user:[N]`), or null when the task is
 * gone or its namespace link may not be read (another user's process without CAP_SYS_PTRACE).
 */
export function readUserNs(pid: number, tid?: number, root = PROC_ROOT): number | null {
  try {
    const m = /^user:\[(\d+)\]$/.exec(readlinkSync(`${taskPath(pid, tid, root)}/ns/user`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The kernel's fixed inode for the initial user namespace (PROC_USER_INIT_INO in
 * include/linux/proc_ns.h); used when init's own link cannot be read (a sandbox that hides
 * PID 1's namespaces from us).
 */
export const INIT_USER_NS_INO = 0xeffffffd;

/** The user namespace `ps` calls "init": PID 1's when readable, else the kernel's initial one. */
export function initUserNs(root = PROC_ROOT): number {
  return readUserNs(1, undefined, root) ?? INIT_USER_NS_INO;
}

/** The text of /proc/PID/cgroup, or null when the task is gone or unreadable. */
export function readCgroup(pid: number, tid?: number, root = PROC_ROOT): string | null {
  try {
    return readFileSync(`${taskPath(pid, tid, root)}/cgroup`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * cap_last_cap + 1: how many capabilities the running kernel knows; undefined when
 * /proc/sys is not readable (some sandboxes mask it).
 */
export function kernelCapCount(root = PROC_ROOT): number | undefined {
  try {
    const n = Number(readFileSync(`${root}/sys/kernel/cap_last_cap`, 'utf8').trim());
    return Number.isInteger(n) && n >= 0 ? n + 1 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where /proc/PID/root points (the process's root directory: '/' unless it is chrooted), or
 * null when the process is gone or the link cannot be read.
 */
export function readProcRoot(pid: number, root = PROC_ROOT): string | null {
  try {
    return readlinkSync(`${root}/${pid}/root`);
  } catch {
    return null;
  }
}

function readMaybe(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isGone(err)) return null;
    throw new CapctlError('proc-unreadable', `cannot read ${path}: ${(err as Error).message}`, 'io');
  }
}

const RLIM_INFINITY = 0xffffffffffffffffn;

/**
 * The soft and hard limits of `resource` (RLIMIT_* number) for process `pid`, from
 * /proc/PID/limits, whose rows are the limits in RLIMIT_* order; RLIM_INFINITY as a bigint.
 * Null when the process is gone or the row is not understood.
 */
export function readLimit(
  pid: number,
  resource: number,
  root = PROC_ROOT,
): { soft: bigint | number; hard: bigint | number } | null {
  const text = readMaybe(`${root}/${pid}/limits`);
  if (text === null) return null;
  // The header line, then one row per resource: "Max cpu time  unlimited  unlimited  seconds".
  const row = text.split('\n')[resource + 1];
  if (row === undefined || !row.startsWith('Max ')) return null;
  const value = (v: string | undefined) =>
    v === 'unlimited' ? RLIM_INFINITY : v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  const cols = row.slice(26).trim().split(/\s+/);
  const soft = value(cols[0]);
  const hard = value(cols[1]);
  return soft === null || hard === null ? null : { soft, hard };
}

/** /proc/PID/stat's 19th field: the task's nice value. Null when gone. */
export function readNice(tid: number, root = PROC_ROOT): number | null {
  const text = readMaybe(`${root}/${tid}/stat`);
  if (text === null) return null;
  // The command name (field 2) may hold spaces and parentheses: fields count from its last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const nice = Number(f[16]);
  return Number.isInteger(nice) ? nice : null;
}

/** /proc/PID/status's TracerPid (0: not traced). Null when gone. */
export function readTracerPid(pid: number, root = PROC_ROOT): number | null {
  const text = readMaybe(`${root}/${pid}/status`);
  if (text === null) return null;
  const m = /^TracerPid:\s+(\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** The owner uid of /proc/PID (root while the process is not dumpable). Null when gone. */
export function procOwner(pid: number, root = PROC_ROOT): number | null {
  try {
    return statSync(`${root}/${pid}`).uid;
  } catch (err) {
    if (isGone(err)) return null;
    throw new CapctlError('proc-unreadable', `cannot stat ${root}/${pid}: ${(err as Error).message}`, 'io');
  }
}

/** The sysctls the runtime consults, by name → /proc/sys path. */
const SYSCTLS: Record<string, string> = {
  'net.ipv4.ping_group_range': 'net/ipv4/ping_group_range',
  'net.ipv4.ip_unprivileged_port_start': 'net/ipv4/ip_unprivileged_port_start',
  'fs.suid_dumpable': 'fs/suid_dumpable',
  'fs.nr_open': 'fs/nr_open',
  'kernel.yama.ptrace_scope': 'kernel/yama/ptrace_scope',
};

/**
 * Those sysctls as this process sees them (the net ones in its network namespace), one space
 * between fields; an absent one (no Yama) or an unreadable one is left out.
 */
export function readSysctls(root = PROC_ROOT): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(SYSCTLS)) {
    try {
      out[name] = readFileSync(`${root}/sys/${path}`, 'utf8').trim().replace(/\s+/g, ' ');
    } catch {
      // absent or unreadable: the runtime keeps its default
    }
  }
  return out;
}

/**
 * The namespace behind descriptor `fd` of task `tid` ("net:[4026531840]" as kind and inode), or
 * null when it is not a namespace file (a pidfd, a regular file) or the task is gone.
 */
export function readFdNamespace(tid: number, fd: number, root = PROC_ROOT): { kind: string; inode: number } | null {
  let link: string;
  try {
    link = readlinkSync(`${root}/${tid}/fd/${fd}`);
  } catch {
    return null;
  }
  const m = /^([a-z_]+):\[(\d+)\]$/.exec(link);
  return m && m[1] !== 'socket' && m[1] !== 'pipe' ? { kind: m[1]!, inode: Number(m[2]) } : null;
}

/** The inode of namespace `kind` of task `tid` (`/proc/TID/ns/KIND`), or null when gone. */
export function readNamespace(tid: number, kind: string, root = PROC_ROOT): number | null {
  try {
    const m = /\[(\d+)\]$/.exec(readlinkSync(`${root}/${tid}/ns/${kind}`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
