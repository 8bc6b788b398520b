import type { Command } from 'commander';
import { type CapSet, parseCapName } from '../caps/capset.js';
import { CAP_COUNT, CAPABILITIES } from '../caps/catalog.js';
import { type ContainerRef, containerIdFromCgroup } from '../caps/cgroup.js';
import { inputError } from '../caps/errors.js';
import { formatIabText } from '../caps/iab.js';
import type { ProcStatus } from '../caps/procstatus.js';
import { formatCapText } from '../caps/text.js';
import { initUserNs, kernelCapCount, listPids, listTids, readCgroup, readProcStatus, readUserNs } from '../sys/proc.js';
import { PID_MAX_LIMIT, parseIntFlag } from './flags.js';
import { formatTable, printJson } from './output.js';

const SORT_FIELDS = ['pid', 'ppid', 'uid', 'command', 'caps'] as const;
type SortField = (typeof SORT_FIELDS)[number];

interface PsOpts {
  threads?: boolean;
  long?: boolean;
  cap?: string;
  sort?: string;
  json?: boolean;
}

export interface PsRow {
  ppid: number;
  /** Process id (thread-group id). */
  pid: number;
  /** Thread id; only with --threads. */
  tid?: number;
  /** Effective uid (the one permission checks use), as ps(1)'s UID column. */
  uid: number;
  command: string;
  /** cap_to_text of (effective, permitted, inheritable): what getpcaps prints. */
  text: string;
  /** libcap's IAB text (inheritable, ambient `^`, bounding drops `!`): what `getpcaps --iab` prints. */
  iab: string;
  /** Inode of the task's user namespace; null when it may not be read. */
  userns: number | null;
  /** The container the task runs in, from its cgroup; null on the host. */
  container: ContainerRef | null;
  status: ProcStatus;
}

function parsePid(arg: string): number {
  return parseIntFlag('process id', arg, { min: 1, max: PID_MAX_LIMIT, what: 'a positive decimal number' });
}

function rowOf(st: ProcStatus, withTid: boolean, capCount: number): PsRow {
  const pid = withTid ? st.tgid : st.pid;
  const tid = withTid ? st.pid : undefined;
  const cgroup = readCgroup(pid, tid);
  const row: PsRow = {
    ppid: st.ppid,
    pid,
    uid: st.uid.effective,
    command: st.name,
    text: formatCapText(st),
    iab: formatIabText(st, capCount),
    userns: readUserNs(pid, tid),
    container: (cgroup === null ? undefined : containerIdFromCgroup(cgroup)) ?? null,
    status: st,
  };
  if (withTid) row.tid = st.pid;
  return row;
}

/**
 * Scan the requested processes (or all of /proc). Tasks that vanish mid-scan are skipped; a
 * PID the user named that does not exist is an input error (exit 2).
 */
export function scanProcesses(pids: number[] | undefined, threads: boolean): PsRow[] {
  const rows: PsRow[] = [];
  const explicit = pids !== undefined;
  // Without cap_last_cap, the catalog's count (the kernel this model describes).
  const capCount = kernelCapCount() ?? CAP_COUNT;
  // In a full scan a task we may not read (hidepid=1 gives EACCES) is skipped like one that
  // exited; a PID the user named is reported.
  const read = (pid: number, tid?: number) => {
    try {
      return readProcStatus(pid, tid);
    } catch (err) {
      if (explicit) throw err;
      return null;
    }
  };
  for (const pid of pids ?? listPids()) {
    if (!threads) {
      const st = read(pid);
      if (st === null) {
        if (explicit) throw inputError('no-such-process', `no such process: ${pid}`);
        continue;
      }
      rows.push(rowOf(st, false, capCount));
      continue;
    }
    const tids = listTids(pid);
    if (tids.length === 0 && explicit) throw inputError('no-such-process', `no such process: ${pid}`);
    for (const tid of tids) {
      const st = read(pid, tid);
      if (st !== null) rows.push(rowOf(st, true, capCount));
    }
  }
  return rows;
}

function sortRows(rows: PsRow[], field: SortField): void {
  const byId = (a: PsRow, b: PsRow) => a.pid - b.pid || (a.tid ?? 0) - (b.tid ?? 0);
  const cmp: Record<SortField, (a: PsRow, b: PsRow) => number> = {
    pid: byId,
    ppid: (a, b) => a.ppid - b.ppid || byId(a, b),
    uid: (a, b) => a.uid - b.uid || byId(a, b),
    command: (a, b) => (a.command < b.command ? -1 : a.command > b.command ? 1 : 0) || byId(a, b),
    // Most privileged first: permitted size, then effective size.
    caps: (a, b) =>
      b.status.permitted.size - a.status.permitted.size ||
      b.status.effective.size - a.status.effective.size ||
      byId(a, b),
  };
  rows.sort(cmp[field]);
}

function toJson(r: PsRow, initNs: number) {
  const s = r.status;
  return {
    ppid: r.ppid,
    pid: r.pid,
    ...(r.tid !== undefined ? { tid: r.tid } : {}),
    uid: r.uid,
    command: r.command,
    text: r.text,
    iab: r.iab,
    userns: r.userns,
    /** null when the namespace may not be read. */
    initUserns: r.userns === null ? null : r.userns === initNs,
    container: r.container,
    uids: s.uid,
    gids: s.gid,
    groups: s.groups,
    effective: s.effective.toHex(),
    permitted: s.permitted.toHex(),
    inheritable: s.inheritable.toHex(),
    bounding: s.bounding.toHex(),
    ambient: s.ambient.toHex(),
    noNewPrivs: s.noNewPrivs,
    seccomp: s.seccomp,
  };
}

/** The user-namespace marker: `-` init's namespace, `U` another one, `?` not readable. */
function nsMark(r: PsRow, initNs: number): string {
  return r.userns === null ? '?' : r.userns === initNs ? '-' : 'U';
}

/** Compact: cap_to_text, then the IAB tuple when any of I, A or a bounding drop is present. */
function compactCaps(r: PsRow): string {
  return r.iab === '' ? r.text : `${r.text} [${r.iab}]`;
}

/** One set as capsh lists it (`capsh --decode`): libcap names joined by commas. */
const names = (set: CapSet) =>
  set
    .toArray()
    .map((c) => CAPABILITIES[c]!.libcapName)
    .join(',');

function longBlock(r: PsRow, initNs: number): string {
  const s = r.status;
  const ids = `PID ${r.pid}${r.tid !== undefined ? ` TID ${r.tid}` : ''} PPID ${r.ppid} UID ${r.uid}`;
  const ns = r.userns === null ? 'unreadable' : `${r.userns}${r.userns === initNs ? " (init's)" : " (not init's)"}`;
  const ctr = r.container === null ? '-' : `${r.container.engine} ${r.container.id}`;
  return [
    `${ids} ${r.command}`,
    `  user namespace  ${ns}`,
    `  container       ${ctr}`,
    `  Effective set   =${names(s.effective)}`,
    `  Permitted set   =${names(s.permitted)}`,
    `  Inheritable set =${names(s.inheritable)}`,
    `  Bounding set    =${names(s.bounding)}`,
    `  Ambient set     =${names(s.ambient)}`,
    `  IAB             ${r.iab}`,
    `  NoNewPrivs ${s.noNewPrivs ? 1 : 0}  Seccomp ${s.seccomp}`,
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('ps')
    .description('show the capabilities of live processes (or threads) from /proc, like pscap/getpcaps')
    .argument('[PID...]', 'process ids (default: every process)')
    .option('--threads', 'one row per thread, from /proc/PID/task/TID/status')
    .option('--long', 'one block per task: each of the five sets by name, user namespace, container')
    .option('--cap <CAP>', 'only tasks holding CAP in their effective or permitted set (e.g. CAP_NET_RAW)')
    .option('--sort <FIELD>', `sort by ${SORT_FIELDS.join(', ')} (caps: most permitted caps first)`, 'pid')
    .option(
      '--json',
      'print JSON: ids, command, libcap and IAB text, all five sets as hex, user namespace, container, NoNewPrivs, Seccomp',
    )
    .addHelpText(
      'after',
      `
The CAPABILITIES column is libcap's text of (effective, permitted, inheritable), the text
getpcaps prints, followed in brackets by the IAB tuple \`getpcaps --iab\` prints when it is not
empty: a bare name is inheritable, ^ ambient, ! dropped from the bounding set. So all five sets
show on one line. NS is - for init's user namespace, U for another (a rootless container),
? when it may not be read. CONTAINER is the short id of the podman, docker, containerd or
CRI-O container, from /proc/PID/cgroup. Processes that exit during the scan are skipped.

Examples:
  capctl ps                          # every process
  capctl ps $$ 1                     # these processes
  capctl ps --long 1                 # each set by name, as capsh --print lists them
  capctl ps --cap cap_net_raw        # who holds CAP_NET_RAW (effective or permitted)
  capctl ps --threads --sort caps
  capctl ps --json | jq '.[] | select(.ambient != "0000000000000000")'`,
    )
    .action((pidArgs: string[], opts: PsOpts) => {
      const sort = opts.sort ?? 'pid';
      if (!(SORT_FIELDS as readonly string[]).includes(sort)) {
        throw inputError('bad-sort', `cannot sort by "${sort}" (choose one of: ${SORT_FIELDS.join(', ')})`);
      }
      const cap = opts.cap === undefined ? undefined : parseCapName(opts.cap);
      const pids = pidArgs.length > 0 ? pidArgs.map(parsePid) : undefined;
      let rows = scanProcesses(pids, opts.threads === true);
      if (cap !== undefined) rows = rows.filter((r) => r.status.effective.has(cap) || r.status.permitted.has(cap));
      sortRows(rows, sort as SortField);
      const initNs = initUserNs();
      if (opts.json) {
        printJson(rows.map((r) => toJson(r, initNs)));
        return;
      }
      if (opts.long) {
        process.stdout.write(rows.map((r) => `${longBlock(r, initNs)}\n`).join('\n'));
        return;
      }
      const header = opts.threads
        ? ['PPID', 'PID', 'TID', 'UID', 'NS', 'CONTAINER', 'COMMAND', 'CAPABILITIES']
        : ['PPID', 'PID', 'UID', 'NS', 'CONTAINER', 'COMMAND', 'CAPABILITIES'];
      const table = rows.map((r) => {
        const ids = [String(r.ppid), String(r.pid)];
        if (opts.threads) ids.push(String(r.tid));
        const ctr = r.container === null ? '-' : r.container.id.slice(0, 12);
        return [...ids, String(r.uid), nsMark(r, initNs), ctr, r.command, compactCaps(r)];
      });
      process.stdout.write(`${formatTable(header, table)}\n`);
    });
}
