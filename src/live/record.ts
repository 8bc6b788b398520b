/**
 * `capctl record`: run a command under strace and gather every fact a replay needs that the
 * trace does not show — the starting credential and securebits, the kernel release, the
 * sysctls the runtime consults (read here, in the command's network namespace), the user
 * namespace's id maps, the working directory, and for every file the trace executes its owner,
 * mode, security.capability, `#!` interpreter and mount flags. The format is described in
 * src/runtime/recording.ts and docs/replay.md.
 *
 * Files are examined after the run (which files run is only known then): a file whose
 * capabilities the trace itself changes is followed by the replay from the trace's own
 * setxattr/removexattr/chown calls.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { getPriority, release } from 'node:os';
import { join, posix } from 'node:path';
import { CapctlError } from '../caps/errors.js';
import { formatCapText } from '../caps/text.js';
import { decodeFileCaps, type FileCaps, fileCapsToTriple, XATTR_NAME_CAPS } from '../caps/xattr.js';
import {
  parseRecording,
  RECORDING_FORMAT,
  type RecordedFile,
  type Recording,
  recordingOptions,
} from '../runtime/recording.js';
import type { ReplayOptions } from '../runtime/replay.js';
import { decodeRecord } from '../runtime/strace/decode.js';
import { StraceReader } from '../runtime/strace/reader.js';
import { readSysctls } from '../sys/proc.js';
import { getSecurebits } from '../sys/securebits.js';
import { getXattr } from '../sys/xattr.js';

/** strace options the reader handles best: follow children, descriptor paths, long strings. */
export const STRACE_DEFAULT_ARGS = ['-f', '-y', '-s', '256'];

export interface RecordOptions {
  /** Output directory (created; must be empty or absent). */
  out: string;
  command: string[];
  /** Extra strace options (after the defaults). */
  straceArgs?: string[];
  /** Where the command's stdio goes (default: inherited). */
  stdio?: 'inherit' | 'ignore';
}

export interface RecordResult {
  dir: string;
  recording: Recording;
}

function readMaybe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** RLIMIT_NICE's soft limit from /proc/self/limits ("Max nice priority  0  0"). */
function rlimitNice(): number {
  const m = /^Max nice priority\s+(\S+)/m.exec(readMaybe('/proc/self/limits') ?? '');
  return m && /^\d+$/.test(m[1]!) ? Number(m[1]) : 0;
}

interface Mount {
  point: string;
  nosuid: boolean;
  noexec: boolean;
}

/** /proc/self/mountinfo: mount point (octal escapes undone) and its per-mount flags. */
function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of (readMaybe('/proc/self/mountinfo') ?? '').split('\n')) {
    const f = line.split(' ');
    if (f.length < 6) continue;
    const point = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    const opts = f[5]!.split(',');
    out.push({ point, nosuid: opts.includes('nosuid'), noexec: opts.includes('noexec') });
  }
  return out;
}

/** The mount a path lives on: the last-mounted longest prefix (later entries cover earlier ones). */
function mountOf(path: string, table: Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of table) {
    const under = m.point === '/' || path === m.point || path.startsWith(`${m.point}/`);
    if (under && (best === undefined || m.point.length >= best.point.length)) best = m;
  }
  return best;
}

/** `#!` interpreter of a script (the first word after `#!`), or undefined. */
function interpreterOf(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n < 3 || buf[0] !== 0x23 || buf[1] !== 0x21) return undefined;
    const line = buf.subarray(2, n).toString('latin1').split('\n')[0]!.trim();
    const word = line.split(/[ \t]/)[0];
    return word === undefined || word === '' ? undefined : word;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Owner, mode, capabilities, interpreter and mount flags of one file, or undefined if it is gone. */
function examine(path: string, table: Mount[]): RecordedFile | undefined {
  let st: ReturnType<typeof statSync>;
  let real: string;
  try {
    st = statSync(path);
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  // The raw value is kept (exact, v3 rootid included); the text is for people reading the file.
  let raw: Uint8Array | null = null;
  let caps: FileCaps | null = null;
  try {
    raw = getXattr(path, XATTR_NAME_CAPS);
    caps = raw === null ? null : decodeFileCaps(raw);
  } catch {
    caps = null;
  }
  const m = mountOf(real, table);
  const f: RecordedFile = {
    uid: st.uid,
    gid: st.gid,
    mode: st.mode.toString(8),
    caps: caps ? formatCapText(fileCapsToTriple(caps).sets, fileCapsToTriple(caps).beyond) : null,
    capsXattr: raw ? hex(raw) : null,
    mount: m?.point ?? '/',
    nosuid: m?.nosuid ?? false,
    noexec: m?.noexec ?? false,
  };
  const interp = interpreterOf(path);
  if (interp !== undefined) f.interpreter = interp;
  return f;
}

/**
 * The files a trace executes, as it names them (relative names resolved against the start
 * directory and the directories chdir'd to, since the recording cannot know which applies).
 */
export function executedPaths(traceText: string, cwd: string): string[] {
  const out = new Set<string>();
  const dirs = [cwd];
  const reader = new StraceReader({
    names: new Set(['execve', 'execveat', 'chdir']),
    onRecord: (rec) => {
      if (rec.kind !== 'syscall') return;
      const call = decodeRecord(rec);
      if (call === null || call === undefined) return;
      if (call.sys === 'chdir' && call.path !== undefined) {
        dirs.push(call.path.startsWith('/') ? call.path : posix.join(dirs[dirs.length - 1]!, call.path));
      } else if (call.sys === 'execve') {
        if (call.fdPath !== undefined)
          out.add(call.path === undefined ? call.fdPath : posix.join(call.fdPath, call.path));
        else if (call.path !== undefined) {
          if (call.path.startsWith('/')) out.add(posix.normalize(call.path));
          else for (const d of dirs) out.add(posix.join(d, call.path));
        }
      }
    },
  });
  reader.feed(traceText);
  reader.end();
  return [...out];
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** Run the command under strace and write the recording directory. */
export function record(opts: RecordOptions): RecordResult {
  if (opts.command.length === 0) throw new CapctlError('usage', 'record needs a command after --');
  const dir = opts.out;
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new CapctlError('usage', `--out ${dir} exists and is not a directory`);
    if (existsSync(join(dir, 'trace.txt')) || existsSync(join(dir, 'recording.json')))
      throw new CapctlError('usage', `--out ${dir} already holds a recording`);
  } else mkdirSync(dir, { recursive: true });

  // The starting facts are this process's: strace runs the command with its credential, in its
  // namespaces and working directory.
  const status = readFileSync('/proc/self/status', 'utf8');
  const cwd = process.cwd();
  const sysctl = readSysctls();
  const base: Omit<Recording, 'exitCode' | 'files'> = {
    format: RECORDING_FORMAT,
    command: opts.command,
    strace: [...STRACE_DEFAULT_ARGS, ...(opts.straceArgs ?? [])],
    kernel: release(),
    cwd,
    securebits: getSecurebits(),
    nice: getPriority(0),
    rlimitNice: rlimitNice(),
    userns: {
      uidMap: (readMaybe('/proc/self/uid_map') ?? '').trim().replace(/[ \t]+/g, ' '),
      gidMap: (readMaybe('/proc/self/gid_map') ?? '').trim().replace(/[ \t]+/g, ' '),
      setgroups: (readMaybe('/proc/self/setgroups') ?? 'allow').trim(),
    },
    sysctl: sortKeys(sysctl),
  };
  const trace = join(dir, 'trace.txt');
  const r = spawnSync('strace', [...base.strace, '-o', trace, '--', ...opts.command], {
    stdio: opts.stdio ?? 'inherit',
  });
  if (r.error) throw new CapctlError('io', `cannot run strace: ${r.error.message}`, 'io');
  if (!existsSync(trace)) throw new CapctlError('io', `strace wrote no trace (exit ${r.status})`, 'io');

  const table = mounts();
  const files: Record<string, RecordedFile> = {};
  const todo = executedPaths(readFileSync(trace, 'latin1'), cwd);
  for (let i = 0; i < todo.length; i++) {
    const p = todo[i]!;
    if (files[p] !== undefined) continue;
    const f = examine(p, table);
    if (f === undefined) continue;
    files[p] = f;
    if (f.interpreter !== undefined && !todo.includes(f.interpreter)) todo.push(f.interpreter);
  }
  const recording: Recording = { ...base, exitCode: r.status, files: sortKeys(files) };
  writeFileSync(join(dir, 'status.txt'), status);
  writeFileSync(join(dir, 'recording.json'), `${JSON.stringify(recording, null, 2)}\n`);
  return { dir, recording };
}

/** Whether `path` is a recording directory (has recording.json). */
export function isRecording(path: string): boolean {
  try {
    return statSync(path).isDirectory() && existsSync(join(path, 'recording.json'));
  } catch {
    return false;
  }
}

/** A recording's trace path and replay options. */
export function loadRecording(dir: string): { trace: string; options: ReplayOptions; recording: Recording } {
  const rec = parseRecording(readFileSync(join(dir, 'recording.json'), 'utf8'));
  const status = readFileSync(join(dir, 'status.txt'), 'utf8');
  return { trace: join(dir, 'trace.txt'), options: recordingOptions(rec, status), recording: rec };
}
