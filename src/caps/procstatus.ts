/**
 * /proc/PID/status and /proc/PID/task/TID/status, the fields that describe a task's credential.
 * Pure: takes the text, so tests and recorded snapshots parse the same way as live reads
 * (the reading lives in src/sys/proc.ts).
 *
 * The kernel writes these lines in fs/proc/array.c: task_state() (Name, Pid, Tgid, PPid, Uid,
 * Gid, Groups), task_cap() via render_cap_t() (CapInh, CapPrm, CapEff, CapBnd, CapAmb as 16 hex
 * digits) and task_seccomp() (NoNewPrivs, Seccomp). Uid/Gid carry four ids each: real,
 * effective, saved set, filesystem.
 */
import { CapSet } from './capset.js';
import { inputError } from './errors.js';

export interface IdQuad {
  readonly real: number;
  readonly effective: number;
  readonly saved: number;
  readonly fs: number;
}

export interface ProcStatus {
  /** The comm (at most 15 bytes), as the kernel escapes it in status (`\n` -> `\\n`). */
  readonly name: string;
  /** Thread id of this task (equals tgid for a thread-group leader). */
  readonly pid: number;
  readonly tgid: number;
  readonly ppid: number;
  readonly uid: IdQuad;
  readonly gid: IdQuad;
  readonly groups: readonly number[];
  readonly inheritable: CapSet;
  readonly permitted: CapSet;
  readonly effective: CapSet;
  readonly bounding: CapSet;
  /** Empty on kernels before 4.3, which have no CapAmb line (and no ambient set). */
  readonly ambient: CapSet;
  /** False when the line is missing (kernels before 4.10 do not print it). */
  readonly noNewPrivs: boolean;
  /** 0 disabled, 1 strict, 2 filter; 0 when the kernel is built without seccomp. */
  readonly seccomp: number;
}

const REQUIRED = ['Name', 'Pid', 'Tgid', 'PPid', 'Uid', 'Gid', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd'] as const;

function bad(field: string, why: string): never {
  throw inputError('bad-proc-status', `bad /proc status: ${field}: ${why}`);
}

function parseId(field: string, v: string): number {
  if (!/^\d+$/.test(v)) bad(field, `not a number: "${v}"`);
  const n = Number(v);
  if (n > 0xffffffff) bad(field, `out of range: ${v}`);
  return n;
}

function parseQuad(field: string, v: string): IdQuad {
  const parts = v.trim().split(/\s+/);
  if (parts.length !== 4) bad(field, `want 4 ids (real, effective, saved, fs), got "${v.trim()}"`);
  const [real, effective, saved, fs] = parts.map((p) => parseId(field, p)) as [number, number, number, number];
  return { real, effective, saved, fs };
}

function parseCaps(field: string, v: string): CapSet {
  const t = v.trim();
  if (!/^[0-9a-f]{16}$/.test(t)) bad(field, `want 16 lowercase hex digits, got "${t}"`);
  return CapSet.fromHex(t);
}

/** Parse the text of a status file. Throws CapctlError 'bad-proc-status' naming the field. */
export function parseProcStatus(text: string): ProcStatus {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    // Only the first occurrence counts; status never repeats a key.
    if (!fields.has(key)) fields.set(key, line.slice(colon + 1));
  }
  for (const k of REQUIRED) if (!fields.has(k)) bad(k, 'line missing');
  const get = (k: string) => fields.get(k) as string;

  // Name is "Name:\t<comm>"; the comm may itself contain spaces, so only the tab is stripped.
  const name = get('Name').replace(/^\t/, '');
  const groupsText = (fields.get('Groups') ?? '').trim();
  const groups = groupsText === '' ? [] : groupsText.split(/\s+/).map((g) => parseId('Groups', g));
  const nnp = fields.get('NoNewPrivs')?.trim();
  if (nnp !== undefined && nnp !== '0' && nnp !== '1') bad('NoNewPrivs', `want 0 or 1, got "${nnp}"`);
  const seccompText = fields.get('Seccomp')?.trim();
  const seccomp = seccompText === undefined ? 0 : parseId('Seccomp', seccompText);
  return {
    name,
    pid: parseId('Pid', get('Pid').trim()),
    tgid: parseId('Tgid', get('Tgid').trim()),
    ppid: parseId('PPid', get('PPid').trim()),
    uid: parseQuad('Uid', get('Uid')),
    gid: parseQuad('Gid', get('Gid')),
    groups,
    inheritable: parseCaps('CapInh', get('CapInh')),
    permitted: parseCaps('CapPrm', get('CapPrm')),
    effective: parseCaps('CapEff', get('CapEff')),
    bounding: parseCaps('CapBnd', get('CapBnd')),
    ambient: fields.has('CapAmb') ? parseCaps('CapAmb', get('CapAmb')) : CapSet.EMPTY,
    noNewPrivs: nnp === '1',
    seccomp,
  };
}

/** The five capability sets of a task, as task_cap() prints them. */
export interface CapSets {
  readonly inheritable: CapSet;
  readonly permitted: CapSet;
  readonly effective: CapSet;
  readonly bounding: CapSet;
  readonly ambient: CapSet;
}

/**
 * The CapInh..CapAmb lines exactly as /proc/PID/status shows them (render_cap_t(): the name, a
 * colon, a tab, 16 lowercase hex digits), one per line with a trailing newline.
 */
export function formatCapStatus(s: CapSets): string {
  return (
    `CapInh:\t${s.inheritable.toHex()}\nCapPrm:\t${s.permitted.toHex()}\nCapEff:\t${s.effective.toHex()}\n` +
    `CapBnd:\t${s.bounding.toHex()}\nCapAmb:\t${s.ambient.toHex()}\n`
  );
}
