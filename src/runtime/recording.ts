/**
 * The recording format `capctl record` writes and `capctl replay DIR` reads: a directory with
 *
 *   trace.txt       strace -f -y -s 256 -o output
 *   status.txt      /proc/self/status of the process that started the program
 *   recording.json  every other fact a replay needs (below), pretty-printed with sorted keys
 *
 * This module is pure: it validates the JSON and turns it into ReplayOptions. Gathering the
 * facts (running strace, reading /proc, stat and xattrs) is src/live/record.ts.
 */
import { decodeFileCaps } from '../caps/xattr.js';
import type { FileFacts } from './dispatch.js';
import type { ReplayOptions } from './replay.js';
import { ReplayInputError } from './replay.js';
import type { Sysctl } from './runtime.js';

export const RECORDING_FORMAT = 'capctl-recording/1';

export interface RecordedFile {
  uid: number;
  gid: number;
  /** st_mode in octal ("100755"). */
  mode: string;
  /** security.capability as libcap text, for people (null: none). */
  caps: string | null;
  /** security.capability raw value in hex: what replay uses. */
  capsXattr: string | null;
  /** `#!` interpreter, when the file is a script. */
  interpreter?: string;
  /** Mount point of the file's file system and its per-mount flags. */
  mount: string;
  nosuid: boolean;
  noexec: boolean;
}

export interface Recording {
  format: typeof RECORDING_FORMAT;
  /** The recorded command line. */
  command: string[];
  /** strace's options (besides -o). */
  strace: string[];
  /** The command's exit status (null: killed by a signal). */
  exitCode: number | null;
  /** uname -r of the recording kernel. */
  kernel: string;
  cwd: string;
  securebits: number;
  nice: number;
  /** RLIMIT_NICE soft limit. */
  rlimitNice: number;
  /** /proc/self/uid_map, gid_map and setgroups of the starting process. */
  userns: { uidMap: string; gidMap: string; setgroups: string };
  /** Sysctls the runtime consults, as read in the program's network namespace. */
  sysctl: Record<string, string>;
  /** Executed files (and script interpreters) by the path the trace names them with. */
  files: Record<string, RecordedFile>;
}

function bad(what: string): never {
  throw new ReplayInputError(`recording.json: ${what}`);
}

function hexBytes(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(hex)) bad(`capsXattr is not hex: "${hex}"`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Parse and check recording.json's text. */
export function parseRecording(text: string): Recording {
  let j: Recording;
  try {
    j = JSON.parse(text) as Recording;
  } catch (e) {
    bad(`not JSON (${(e as Error).message})`);
  }
  if (j === null || typeof j !== 'object') bad('not an object');
  if (j.format !== RECORDING_FORMAT) bad(`format is "${String(j.format)}", want "${RECORDING_FORMAT}"`);
  if (!Number.isInteger(j.securebits) || j.securebits < 0 || j.securebits > 0xfff) bad('securebits must be 0..0xfff');
  if (typeof j.cwd !== 'string' || !j.cwd.startsWith('/')) bad('cwd must be an absolute path');
  if (typeof j.files !== 'object' || j.files === null) bad('files must be an object');
  for (const [p, f] of Object.entries(j.files)) {
    if (!Number.isInteger(f.uid) || !Number.isInteger(f.gid) || !/^[0-7]+$/.test(f.mode))
      bad(`files["${p}"] needs integer uid, gid and an octal mode`);
  }
  return j;
}

/** Sysctl values (name → text, as /proc/sys shows them) as the runtime wants them; an absent one keeps the default. */
export function sysctlOptions(s: Record<string, string>): Partial<Sysctl> {
  const out: Partial<Sysctl> = {};
  const nums = (k: string) => {
    const v = s[k];
    if (v === undefined) return undefined;
    const f = v.trim().split(/\s+/).map(Number);
    if (f.some((x) => !Number.isInteger(x))) bad(`sysctl ${k} = "${v}" is not numeric`);
    return f;
  };
  const pgr = nums('net.ipv4.ping_group_range');
  if (pgr) out.pingGroupRange = [pgr[0]!, pgr[1]!];
  const port = nums('net.ipv4.ip_unprivileged_port_start');
  if (port) out.ipUnprivilegedPortStart = port[0]!;
  const dump = nums('fs.suid_dumpable');
  if (dump) out.suidDumpable = dump[0] as 0 | 1 | 2;
  const nrOpen = nums('fs.nr_open');
  if (nrOpen) out.nrOpen = nrOpen[0]!;
  const yama = nums('kernel.yama.ptrace_scope');
  if (yama) out.yamaPtraceScope = yama[0] as 0 | 1 | 2 | 3;
  return out;
}

/** The options a recording supplies (flags given to `capctl replay` override them). */
export function recordingOptions(rec: Recording, status: string): ReplayOptions {
  const files = new Map<string, FileFacts>();
  for (const [p, f] of Object.entries(rec.files)) {
    let caps: FileFacts['caps'] = null;
    if (f.capsXattr !== null && f.capsXattr !== undefined) {
      try {
        caps = decodeFileCaps(hexBytes(f.capsXattr));
      } catch (e) {
        bad(`files["${p}"].capsXattr: ${(e as Error).message}`);
      }
    }
    files.set(p, {
      uid: f.uid,
      gid: f.gid,
      mode: Number.parseInt(f.mode, 8),
      caps,
      interpreter: f.interpreter,
      nosuid: f.nosuid,
    });
  }
  const strace = rec.strace ?? [];
  return {
    status,
    securebits: rec.securebits,
    files,
    cwd: rec.cwd,
    sysctl: sysctlOptions(rec.sysctl ?? {}),
    nice: rec.nice,
    rlimitNice: rec.rlimitNice,
    uidMap: rec.userns?.uidMap,
    gidMap: rec.userns?.gidMap,
    setgroups: rec.userns?.setgroups,
    addressesOpaque: strace.some((a) => /verbose=none|raw=/.test(a)),
    kernel: rec.kernel,
  };
}
