/**
 * strace record → RuntimeCall: the recorded-call front end's decoder. It reads argument text
 * (and, for calls whose useful fact is an output — a clone's child, a reaped pid, an xattr
 * value — the printed result) and never looks at the model. `null` means the record is
 * bookkeeping the model does not need (an open of an ordinary file, a wait that reaped nothing).
 */
import { decodeFileCaps } from '../../caps/xattr.js';
import { type NotModelled, notModelled, type RuntimeCall } from '../call.js';
import { isModelledPrctl, type ULong } from '../prctl.js';
import { BAD_ADDRESS, type BadAddress, type CapUserData, type CapUserHeader } from '../result.js';
import { CAP_VERSION_1 } from './constants.js';
import type { SyscallRecord } from './reader.js';
import {
  evalInt,
  evalULong,
  isAmbiguousRawMask,
  parseCapMask,
  parseCString,
  parseNumber,
  parsePath,
  parseStruct,
  skipString,
  splitArgs,
} from './values.js';

export type Decoded = RuntimeCall | NotModelled | null;

type Decoder = (rec: SyscallRecord, args: string[]) => Decoded;

/** Decode one syscall record; undefined for a syscall no decoder exists for. */
export function decodeRecord(rec: SyscallRecord): Decoded | undefined {
  const f = SCANNERS.get(rec.name);
  if (f !== undefined) return f(rec);
  const d = DECODERS.get(rec.name);
  if (d === undefined) return undefined;
  return d(rec, FAST_SPLIT.has(rec.name) ? splitCapArgs(rec.args) : splitArgs(rec.args));
}

// ==================================================================== frequent calls

/*
 * open, close and write are the commonest lines of any trace and matter only for bookkeeping
 * (the descriptor table, files written, id-map writes), so they are scanned by hand: no
 * argument split, no string decoding unless the path has escapes.
 */

/** The leading decimal integer of `text` from `i` (an fd), or -1. */
function leadingInt(text: string, i: number): number {
  let v = 0;
  let k = i;
  for (; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  return k === i ? -1 : v;
}

/** The string literal opening at `i` as a path (undefined if cut short by strace's -s). */
function pathAt(text: string, i: number): { path: string; end: number } | undefined {
  if (text.charCodeAt(i) !== 34) return undefined;
  const end = skipString(text, i);
  if (text.startsWith('...', end + 1)) return undefined;
  const raw = text.slice(i + 1, end);
  if (raw.indexOf('\\') < 0) return { path: raw, end };
  const p = parsePath(text.slice(i, end + 1));
  return p === undefined ? undefined : { path: p, end };
}

/**
 * A successful open/openat/creat: the descriptor table learns the path (for fchdir, fexecve,
 * fchown, writes to /proc/PID/uid_map); opening for writing or truncating a file makes its
 * recorded capabilities unreliable.
 */
const scanOpen = (rec: SyscallRecord): Decoded => {
  if (rec.ret === undefined || rec.ret < 0) return null;
  const text = rec.args;
  let at = 0;
  let dir: string | undefined;
  if (rec.name === 'openat' || rec.name === 'openat2') {
    const comma = text.indexOf(', ');
    if (comma < 0) return null;
    dir = text.slice(0, comma);
    at = comma + 2;
  }
  const pa = pathAt(text, at);
  if (pa === undefined) return null;
  let path = pa.path;
  if (dir !== undefined && !path.startsWith('/') && !dir.startsWith('AT_FDCWD')) {
    const d = fdPathArg(dir);
    if (d === undefined) return null;
    path = `${d}/${path}`;
  }
  let write = false;
  let truncate = false;
  if (rec.name === 'creat') write = truncate = true;
  else {
    const fe = text.indexOf(',', pa.end + 2);
    const flags = text.slice(pa.end + 1, fe < 0 ? text.length : fe);
    write = flags.includes('O_WRONLY') || flags.includes('O_RDWR');
    truncate = write && flags.includes('O_TRUNC');
  }
  return { sys: 'open', path, write, truncate };
};

const scanClose = (rec: SyscallRecord): Decoded => {
  if (rec.errno !== undefined) return null;
  const fd = leadingInt(rec.args, 0);
  return fd < 0 ? null : { sys: 'close', fd };
};

/**
 * write(2): only writes to /proc/PID/{uid_map,gid_map,setgroups} matter; strace -y names the
 * file, otherwise the session's descriptor table does. The buffer is decoded only when asked.
 */
const scanWrite = (rec: SyscallRecord): Decoded => {
  const a = rec.args;
  const fd = leadingInt(a, 0);
  if (fd < 0) return null;
  let fdPath: string | undefined;
  let i = a.indexOf(',');
  if (a.charCodeAt(String(fd).length) === 60 /* < */) {
    fdPath = fdPathArg(a.slice(0, i));
    if (fdPath === undefined || !fdPath.startsWith('/proc/')) return null;
  }
  if (i < 0) return null;
  i++;
  while (a.charCodeAt(i) === 32) i++;
  const start = i;
  return {
    sys: 'write',
    fd,
    fdPath,
    text: () => {
      const v = parseCString(a.slice(start, skipString(a, start) + 4));
      return v === undefined || v.truncated ? undefined : String.fromCharCode(...v.bytes);
    },
  };
};

const SCANNERS = new Map<string, (rec: SyscallRecord) => Decoded>([
  ['open', scanOpen],
  ['openat', scanOpen],
  ['openat2', scanOpen],
  ['creat', scanOpen],
  ['close', scanClose],
  ['write', scanWrite],
]);

// ==================================================================== capabilities

export function capHeader(text: string | undefined): CapUserHeader | BadAddress | null | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'NULL') return null;
  const s = parseStruct(t);
  if (s === undefined) return parseNumber(t) !== undefined ? BAD_ADDRESS : undefined;
  const v = evalInt(s.get('version') ?? '');
  const pid = parseNumber((s.get('pid') ?? '').split(/[\s<]/)[0] ?? '');
  if (v === undefined || pid === undefined) return undefined;
  return { version: v >>> 0, pid };
}

/**
 * The six data words from a printed `{effective=…, permitted=…, inheritable=…}`, found with
 * indexOf rather than a general struct parse (these are the longest lines in a trace).
 * `ambiguous` receives which of E, P, I (0, 1, 2) could be either word (`-X raw`).
 */
export function capDataWords(text: string, elements: number, ambiguous?: number[]): number[] | undefined {
  const t = text.trim();
  if (t.charCodeAt(0) !== 123 || t.charCodeAt(t.length - 1) !== 125) return undefined;
  const e0 = t.indexOf('effective=');
  const p0 = t.indexOf(', permitted=', e0);
  const i0 = t.indexOf(', inheritable=', p0);
  if (e0 !== 1 || p0 < 0 || i0 < 0) return undefined;
  const et = t.slice(e0 + 10, p0);
  const pt = t.slice(p0 + 12, i0);
  const it = t.slice(i0 + 14, t.length - 1);
  const e = parseCapMask(et);
  const p = parseCapMask(pt);
  const i = parseCapMask(it);
  if (!e || !p || !i) return undefined;
  // Only v2/v3 have a high word.
  if (ambiguous && elements === 2) {
    if (isAmbiguousRawMask(et)) ambiguous.push(0);
    if (isAmbiguousRawMask(pt)) ambiguous.push(1);
    if (isAmbiguousRawMask(it)) ambiguous.push(2);
  }
  if (elements === 1) return [e.lo, p.lo, i.lo, 0, 0, 0];
  return [e.lo, p.lo, i.lo, e.hi, p.hi, i.hi];
}

export function elementsFor(version: number): number {
  return version === CAP_VERSION_1 ? 1 : 2;
}

/** capget/capset print `HEADER, DATA`: the header is a short struct, NULL or an address. */
const FAST_SPLIT: ReadonlySet<string> = new Set(['capget', 'capset']);

/**
 * Split capget/capset arguments without scanning the (long) data struct: the header ends at
 * its first `}` (it holds no nested braces), or at the first comma when it is not a struct.
 */
export function splitCapArgs(text: string): string[] {
  const end = text.charCodeAt(0) === 123 /* { */ ? text.indexOf('}') + 1 : text.indexOf(',');
  if (end <= 0) return splitArgs(text);
  const comma = text.indexOf(',', end);
  if (comma < 0) return [text.slice(0, end)];
  return [text.slice(0, end), text.slice(comma + 1).trim()];
}

/** What a recorded capget wrote back: the data text as printed (or undefined). */
export function capgetOutputText(rec: SyscallRecord): string | undefined {
  return splitCapArgs(rec.args)[1];
}

const decodeCapget: Decoder = (rec, args) => {
  const header = capHeader(args[0]);
  if (header === undefined) return notModelled('capget header not decoded');
  const dataText = (args[1] ?? '').trim();
  if (dataText === 'NULL') return { sys: 'capget', header, data: null };
  // A failed capget prints its data pointer as an address whatever the memory was; EFAULT says
  // the kernel could not write there — after its checks passed (LTP capget02).
  if (rec.errno === 'EFAULT' && dataText.charCodeAt(0) !== 123 && parseNumber(dataText) !== undefined)
    return { sys: 'capget', header, data: BAD_ADDRESS };
  return { sys: 'capget', header, data: { words: [0, 0, 0, 0, 0, 0] } };
};

const decodeCapset: Decoder = (_rec, args) => {
  const header = capHeader(args[0]);
  if (header === undefined) return notModelled('capset header not decoded');
  const dataText = (args[1] ?? '').trim();
  let data: CapUserData | BadAddress | null;
  if (dataText === 'NULL') data = null;
  else if (dataText.charCodeAt(0) !== 123) {
    // strace prints the address when it could not read the data: so could not the kernel.
    if (parseNumber(dataText) === undefined) return notModelled('capset data not decoded');
    data = BAD_ADDRESS;
  } else {
    const el = header !== null && header !== BAD_ADDRESS ? elementsFor(header.version) : 2;
    const ambiguous: number[] = [];
    const w = capDataWords(dataText, el, ambiguous);
    if (w === undefined) return notModelled('capset data not decoded');
    // The trace does not say which word the kernel was given. A refused capset changed
    // nothing; an accepted one leaves this thread's sets unknown from here on.
    if (ambiguous.length > 0) return notModelled('capset mask ambiguous in -X raw output', true);
    data = { words: w };
  }
  return { sys: 'capset', header, data };
};

const decodePrctl: Decoder = (_rec, args) => {
  const option = evalULong(args[0] ?? '');
  // Only modelled options have an argument layout worth decoding.
  if (option === undefined || !isModelledPrctl(option)) return notModelled('prctl option not modelled');
  const a: ULong[] = [];
  for (let k = 1; k < 5; k++) {
    const t = args[k];
    if (t === undefined) {
      a.push(0n);
      continue;
    }
    const v = evalULong(t);
    if (v === undefined) return notModelled('prctl argument not decoded');
    a.push(v);
  }
  return { sys: 'prctl', option, args: [a[0]!, a[1]!, a[2]!, a[3]!] };
};

// ==================================================================== ids

function stripCommentText(t: string): string {
  const k = t.indexOf('/*');
  return (k < 0 ? t : t.slice(0, k)).trim();
}

const SETID_ARITY: Record<string, number> = {
  setuid: 1,
  setreuid: 2,
  setresuid: 3,
  setfsuid: 1,
  setgid: 1,
  setregid: 2,
  setresgid: 3,
  setfsgid: 1,
};

const decodeSetid: Decoder = (rec, args) => {
  const ids: number[] = [];
  for (const a of args) {
    const v = parseNumber(stripCommentText(a));
    if (v === undefined) return notModelled(`${rec.name} argument not decoded`);
    ids.push(v);
  }
  if (ids.length !== SETID_ARITY[rec.name]) return notModelled(`${rec.name} argument count`);
  switch (rec.name) {
    case 'setuid':
    case 'setgid':
    case 'setfsuid':
    case 'setfsgid':
      return { sys: rec.name, id: ids[0]! };
    case 'setreuid':
    case 'setregid':
      return { sys: rec.name, r: ids[0]!, e: ids[1]! };
    default:
      return { sys: rec.name as 'setresuid' | 'setresgid', r: ids[0]!, e: ids[1]!, s: ids[2]! };
  }
};

const decodeSetgroups: Decoder = (_rec, args) => {
  const size = parseNumber(args[0] ?? '');
  if (size === undefined) return notModelled('setgroups size not decoded');
  const t = (args[1] ?? '').trim();
  let list: readonly number[] | BadAddress | null;
  if (t === 'NULL') list = null;
  else if (t.startsWith('[')) {
    if (t.includes('...')) return notModelled('setgroups list abbreviated by strace');
    const inner = t.slice(1, -1).trim();
    const out: number[] = [];
    for (const g of inner === '' ? [] : inner.split(',')) {
      const v = parseNumber(g);
      if (v === undefined) return notModelled('setgroups list not decoded');
      out.push(v);
    }
    list = out;
  } else if (parseNumber(t) !== undefined) list = BAD_ADDRESS;
  else return notModelled('setgroups list not decoded');
  return { sys: 'setgroups', size, list };
};

const decodeGetid: Decoder = (rec) => {
  if (rec.ret === undefined) return notModelled('result not printed');
  return { sys: rec.name as 'getuid' | 'geteuid' | 'getgid' | 'getegid' };
};

const decodeGetresid: Decoder = (rec) => {
  if (rec.ret === undefined) return notModelled('result not printed');
  return { sys: rec.name as 'getresuid' | 'getresgid' };
};

const decodeGetgroups: Decoder = (rec, args) => {
  const size = parseNumber(args[0] ?? '');
  if (size === undefined || rec.ret === undefined) return notModelled('getgroups not decoded');
  return { sys: 'getgroups', size };
};

/** The ids a getresuid/getresgid/getgroups wrote, as printed (`[0], [0], [0]` / `[4, 24]`). */
export function idListOutput(rec: SyscallRecord): number[] | undefined {
  const args = rec.name === 'getgroups' ? splitArgs(rec.args).slice(1) : splitArgs(rec.args);
  const out: number[] = [];
  for (const a of args) {
    const t = a.trim();
    if (t.charCodeAt(0) !== 91 || t.includes('...')) return undefined;
    const inner = t.slice(1, -1).trim();
    if (inner === '') continue;
    for (const x of inner.split(',')) {
      const v = parseNumber(x);
      if (v === undefined) return undefined;
      out.push(v >>> 0);
    }
  }
  return out;
}

// ==================================================================== tasks

function cloneFlags(rec: SyscallRecord, args: string[]): number {
  if (rec.name === 'fork' || rec.name === 'vfork') return 0;
  let text: string | undefined;
  if (rec.name === 'clone3') {
    const s = parseStruct(args[0] ?? '');
    text = s?.get('flags');
  } else {
    for (const a of args) if (a.startsWith('flags=')) text = a.slice(6);
  }
  if (text === undefined) return 0;
  // The exit signal shares clone()'s flags word: `CLONE_…|SIGCHLD`.
  return evalInt(text) ?? 0;
}

const decodeClone: Decoder = (rec, args) => ({
  sys: 'clone',
  name: rec.name as 'clone' | 'clone3' | 'fork' | 'vfork',
  flags: cloneFlags(rec, args),
  child: rec.ret !== undefined && rec.ret > 0 ? rec.ret : undefined,
});

const decodeWait: Decoder = (rec) => (rec.ret !== undefined && rec.ret > 0 ? { sys: 'wait', reaped: rec.ret } : null);

const decodeGetpid: Decoder = (rec) => {
  if (rec.ret === undefined) return notModelled('result not printed');
  return { sys: rec.name as 'getpid' | 'gettid' };
};

/**
 * execve/execveat: the path when the file can be named (execveat relative to AT_FDCWD or with
 * an absolute name).
 */
const decodeExecve: Decoder = (rec, args) => {
  if (rec.name !== 'execveat') return { sys: 'execve', name: 'execve', path: parsePath(args[0] ?? '') };
  const dir = (args[0] ?? '').trim();
  const name = parsePath(args[1] ?? '');
  if (name !== undefined && (name.startsWith('/') || dir.startsWith('AT_FDCWD')))
    return { sys: 'execve', name: 'execveat', path: name };
  // AT_EMPTY_PATH (the descriptor is the file) or a name relative to a directory descriptor.
  const fd = fdArg(dir);
  const fdPath = fdPathArg(dir);
  return { sys: 'execve', name: 'execveat', path: name === '' ? undefined : name, fd, fdPath };
};

// ==================================================================== files

/** The leading integer of an fd or pid argument (`3`, `3<socket:[1234]>` with -y, `1234<comm>` with -Y). */
function fdArg(text: string | undefined): number | undefined {
  const m = /^\s*(-?\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The path strace -y prints after a descriptor (`3</usr/bin/ping>`), if it is a file path. */
function fdPathArg(text: string | undefined): string | undefined {
  const t = (text ?? '').trim();
  const k = t.indexOf('</');
  if (k < 0 || t.charCodeAt(t.length - 1) !== 62) return undefined;
  return t.slice(k + 1, t.length - 1);
}

/** A path argument, or for the f*-variants the -y path of the descriptor. */
function pathOrFd(rec: SyscallRecord, text: string | undefined): { path?: string; fd?: number } {
  if (rec.name.charCodeAt(0) === 102 /* f */ && !rec.name.endsWith('at')) {
    const p = fdPathArg(text);
    return p !== undefined ? { path: p } : { fd: fdArg(text) };
  }
  return { path: parsePath(text ?? '') };
}

/** The value a setxattr wrote (strace prints it as a C string without trailing NULs). */
function xattrValue(args: string[], sizeArg: number, valueArg: number): Uint8Array | undefined {
  const size = evalInt(args[sizeArg] ?? '');
  const v = parseCString(args[valueArg] ?? '');
  if (size === undefined || v === undefined || v.truncated || size > 64) return undefined;
  const bytes = new Uint8Array(size);
  bytes.set(v.bytes.slice(0, size));
  return bytes;
}

const decodeSetxattr: Decoder = (rec, args) => {
  if (parsePath(args[1] ?? '') !== 'security.capability') return null;
  const { path, fd } = pathOrFd(rec, args[0]);
  const value = xattrValue(args, 3, 2);
  if (value === undefined) return notModelled('setxattr value not printed');
  return { sys: 'setxattr-caps', path, fd, value };
};

const decodeRemovexattr: Decoder = (rec, args) => {
  if (parsePath(args[1] ?? '') !== 'security.capability') return null;
  return { sys: 'removexattr-caps', ...pathOrFd(rec, args[0]) };
};

/** chown(path, u, g), lchown, fchown(fd, u, g), fchownat(dir, path, u, g, flags). */
const decodeChown: Decoder = (rec, args) => {
  let path: string | undefined;
  let fd: number | undefined;
  let rest: string[];
  if (rec.name === 'fchownat') {
    const name = parsePath(args[1] ?? '');
    const dir = (args[0] ?? '').trim();
    if (name === '' && /AT_EMPTY_PATH/.test(args[4] ?? '')) path = fdPathArg(dir);
    else if (name !== undefined && (name.startsWith('/') || dir.startsWith('AT_FDCWD'))) path = name;
    else if (name !== undefined) {
      const d = fdPathArg(dir);
      path = d === undefined ? undefined : `${d}/${name}`;
    }
    rest = args.slice(2);
  } else {
    ({ path, fd } = pathOrFd(rec, args[0]));
    rest = args.slice(1);
  }
  const uid = parseNumber(stripCommentText(rest[0] ?? ''));
  const gid = parseNumber(stripCommentText(rest[1] ?? ''));
  if (uid === undefined || gid === undefined) return notModelled('chown ids not decoded');
  return { sys: 'chown', path, fd, uid, gid };
};

const decodeTruncate: Decoder = (rec, args) => {
  if (rec.errno !== undefined) return null;
  return { sys: 'truncate', ...pathOrFd(rec, args[0]) };
};

const decodeGetxattr: Decoder = (rec, args) => {
  const name = parsePath(args[1] ?? '');
  if (name !== 'security.capability') return null;
  let path: string | undefined;
  if (rec.name === 'fgetxattr') {
    const m = /<(.*)>$/.exec((args[0] ?? '').trim());
    path = m?.[1];
  } else path = parsePath(args[0] ?? '');
  if (path === undefined) return notModelled('getxattr path not decoded');
  if (rec.errno === 'ENODATA') return { sys: 'getxattr-caps', path, caps: null };
  if (rec.ret === undefined || rec.ret <= 0) return notModelled('getxattr failed');
  const size = evalInt(args[3] ?? '') ?? 0;
  const v = parseCString(args[2] ?? '');
  if (size < rec.ret || v === undefined || v.truncated) return notModelled('getxattr value not printed');
  // strace omits the value's trailing NUL bytes; the return value is its length.
  const bytes = new Uint8Array(rec.ret);
  bytes.set(v.bytes.slice(0, rec.ret));
  try {
    return { sys: 'getxattr-caps', path, caps: decodeFileCaps(bytes) };
  } catch {
    return notModelled('security.capability value not decodable');
  }
};

/** dup/dup2/dup3 and fcntl(fd, F_DUPFD / F_DUPFD_CLOEXEC, …): the new descriptor is the result. */
const decodeDup: Decoder = (rec, args) => {
  if (rec.ret === undefined || rec.ret < 0) return null;
  if (rec.name === 'fcntl' && !/^\s*F_DUPFD/.test(args[1] ?? '')) return null;
  const fd = fdArg(args[0]);
  return fd === undefined ? null : { sys: 'dup', fd };
};

const decodeChdir: Decoder = (rec, args) => {
  if (rec.errno !== undefined || rec.ret === undefined) return null;
  if (rec.name === 'fchdir') return { sys: 'chdir', path: fdPathArg(args[0]), fd: fdArg(args[0]) };
  return { sys: 'chdir', path: parsePath(args[0] ?? '') };
};

// ==================================================================== privileged operations

const decodeSocket: Decoder = (_rec, args) => {
  const domain = evalInt(args[0] ?? '');
  const type = evalInt(args[1] ?? '');
  const protocol = evalInt(args[2] ?? '0');
  if (domain === undefined || type === undefined || protocol === undefined)
    return notModelled('socket arguments not decoded');
  return { sys: 'socket', domain, type, protocol };
};

const decodeBind: Decoder = (_rec, args) => {
  const fd = fdArg(args[0]);
  const addr = parseStruct(args[1] ?? '');
  if (addr === undefined) return { sys: 'bind', fd, port: undefined, addrDecoded: false };
  const portText = addr.get('sin_port') ?? addr.get('sin6_port');
  const m = /htons\((\d+)\)/.exec(portText ?? '');
  return { sys: 'bind', fd, port: m ? Number(m[1]) : undefined, addrDecoded: true };
};

const decodeMknod: Decoder = (rec, args) => {
  const a = rec.name === 'mknodat' ? args.slice(1) : args;
  const mode = evalInt(a[1] ?? '');
  if (mode === undefined) return notModelled('mknod mode not decoded');
  const dm = /makedev\((0x[0-9a-f]+|\d+),\s*(0x[0-9a-f]+|\d+)\)/.exec(a[2] ?? '');
  const dev = dm ? Number(dm[1]) * 256 + Number(dm[2]) : (parseNumber(a[2] ?? '0') ?? 0);
  return { sys: 'mknod', mode, dev };
};

const decodeChroot: Decoder = () => ({ sys: 'chroot' });

const decodeKill: Decoder = (_rec, args) => {
  const pid = fdArg(args[0]);
  const sig = evalInt(args[1] ?? '');
  if (pid === undefined || sig === undefined) return notModelled('kill arguments not decoded');
  return { sys: 'kill', pid, sig };
};

const decodeTgkill: Decoder = (_rec, args) => {
  const tgid = fdArg(args[0]);
  const tid = fdArg(args[1]);
  const sig = evalInt(args[2] ?? '');
  if (tgid === undefined || tid === undefined || sig === undefined) return notModelled('tgkill arguments not decoded');
  return { sys: 'tgkill', tgid, tid, sig };
};

const decodeSethostname: Decoder = (rec, args) => {
  const len = parseNumber(args[1] ?? '');
  if (len === undefined) return notModelled('sethostname length not decoded');
  const readable = (args[0] ?? '').trim() !== 'NULL';
  return { sys: rec.name as 'sethostname' | 'setdomainname', len, readable };
};

const decodeUnshare: Decoder = (_rec, args) => {
  const flags = evalInt(args[0] ?? '');
  if (flags === undefined) return notModelled('unshare flags not decoded');
  return { sys: 'unshare', flags };
};

const decodeSetpriority: Decoder = (_rec, args) => {
  const which = evalInt(args[0] ?? '');
  const who = fdArg(args[1]);
  const prio = parseNumber(args[2] ?? '');
  if (which === undefined || who === undefined || prio === undefined)
    return notModelled('setpriority arguments not decoded');
  return { sys: 'setpriority', which, who, prio };
};

function timeField(s: Map<string, string> | undefined, key: string): number | undefined {
  const t = s?.get(key);
  return t === undefined ? undefined : parseNumber(stripCommentText(t));
}

const decodeSettimeofday: Decoder = (_rec, args) => {
  const a = (args[0] ?? '').trim();
  const tzGiven = (args[1] ?? 'NULL').trim() !== 'NULL';
  if (a === 'NULL') return { sys: 'settimeofday', tv: null, tzGiven };
  const st = parseStruct(a);
  const sec = timeField(st, 'tv_sec');
  const usec = timeField(st, 'tv_usec');
  if (sec === undefined || usec === undefined) return notModelled('settimeofday time not decoded');
  return { sys: 'settimeofday', tv: { sec, usec }, tzGiven };
};

const decodeClockSettime: Decoder = (_rec, args) => {
  const clock = evalInt(args[0] ?? '');
  const st = parseStruct(args[1] ?? '');
  const sec = timeField(st, 'tv_sec');
  const nsec = timeField(st, 'tv_nsec');
  if (clock === undefined || sec === undefined || nsec === undefined)
    return notModelled('clock_settime arguments not decoded');
  return { sys: 'clock_settime', clock, sec, nsec };
};

const decodeAdjtimex: Decoder = (rec, args) => {
  const st = parseStruct(rec.name === 'clock_adjtime' ? (args[1] ?? '') : (args[0] ?? ''));
  const modes = evalInt(st?.get('modes') ?? '');
  // strace prints a failed call's struct as an address; only a call that sets something can
  // fail with EPERM, so its modes are "some setting" (-1).
  if (modes === undefined)
    return rec.errno === 'EPERM' ? { sys: 'adjtimex', modes: -1 } : notModelled('adjtimex modes not decoded');
  return { sys: 'adjtimex', modes };
};

const decodeMount: Decoder = (rec, args) => {
  const flags = evalInt((rec.name === 'mount' ? args[3] : args[1]) ?? '0');
  if (flags === undefined) return notModelled(`${rec.name} flags not decoded`);
  return { sys: rec.name as 'mount' | 'umount2', flags };
};

const DECODERS = new Map<string, Decoder>([
  ['getuid', decodeGetid],
  ['geteuid', decodeGetid],
  ['getgid', decodeGetid],
  ['getegid', decodeGetid],
  ['getresuid', decodeGetresid],
  ['getresgid', decodeGetresid],
  ['getgroups', decodeGetgroups],
  ['setxattr', decodeSetxattr],
  ['lsetxattr', decodeSetxattr],
  ['fsetxattr', decodeSetxattr],
  ['removexattr', decodeRemovexattr],
  ['lremovexattr', decodeRemovexattr],
  ['fremovexattr', decodeRemovexattr],
  ['chown', decodeChown],
  ['lchown', decodeChown],
  ['fchown', decodeChown],
  ['fchownat', decodeChown],
  ['truncate', decodeTruncate],
  ['ftruncate', decodeTruncate],
  ['dup', decodeDup],
  ['dup2', decodeDup],
  ['dup3', decodeDup],
  ['fcntl', decodeDup],
  ['chdir', decodeChdir],
  ['fchdir', decodeChdir],
  ['setpriority', decodeSetpriority],
  ['settimeofday', decodeSettimeofday],
  ['clock_settime', decodeClockSettime],
  ['adjtimex', decodeAdjtimex],
  ['clock_adjtime', decodeAdjtimex],
  ['mount', decodeMount],
  ['umount2', decodeMount],
  ['clone', decodeClone],
  ['clone3', decodeClone],
  ['fork', decodeClone],
  ['vfork', decodeClone],
  ['getpid', decodeGetpid],
  ['gettid', decodeGetpid],
  ['getxattr', decodeGetxattr],
  ['lgetxattr', decodeGetxattr],
  ['fgetxattr', decodeGetxattr],
  ['wait4', decodeWait],
  ['waitid', decodeWait],
  ['capget', decodeCapget],
  ['capset', decodeCapset],
  ['prctl', decodePrctl],
  ['unshare', decodeUnshare],
  ['setuid', decodeSetid],
  ['setreuid', decodeSetid],
  ['setresuid', decodeSetid],
  ['setfsuid', decodeSetid],
  ['setgid', decodeSetid],
  ['setregid', decodeSetid],
  ['setresgid', decodeSetid],
  ['setfsgid', decodeSetid],
  ['setgroups', decodeSetgroups],
  ['execve', decodeExecve],
  ['execveat', decodeExecve],
  ['socket', decodeSocket],
  ['bind', decodeBind],
  ['mknod', decodeMknod],
  ['mknodat', decodeMknod],
  ['chroot', decodeChroot],
  ['kill', decodeKill],
  ['tgkill', decodeTgkill],
  ['sethostname', decodeSethostname],
  ['setdomainname', decodeSethostname],
]);

/** Syscall names the decoder understands (what the reader is asked to report). */
export const DECODED_NAMES: ReadonlySet<string> = new Set([...DECODERS.keys(), ...SCANNERS.keys()]);
