import type { Command } from 'commander';
import { parseCapName } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import type { ProcStatus } from '../caps/procstatus.js';
import { formatCapText } from '../caps/text.js';
import { listPids, listTids, readProcStatus } from '../sys/proc.js';
import { PID_MAX_LIMIT, parseIntFlag } from './flags.js';
import { formatTable, printJson } from './output.js';

const SORT_FIELDS = ['pid', 'ppid', 'uid', 'command', 'caps'] as const;
type SortField = (typeof SORT_FIELDS)[number];

interface PsOpts {
  threads?: boolean;
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
  status: ProcStatus;
}

function parsePid(arg: string): number {
  return parseIntFlag('process id', arg, { min: 1, max: PID_MAX_LIMIT, what: 'a positive decimal number' });
}

function rowOf(st: ProcStatus, withTid: boolean): PsRow {
  const row: PsRow = {
    ppid: st.ppid,
    pid: withTid ? st.tgid : st.pid,
    uid: st.uid.effective,
    command: st.name,
    text: formatCapText(st),
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
      rows.push(rowOf(st, false));
      continue;
    }
    const tids = listTids(pid);
    if (tids.length === 0 && explicit) throw inputError('no-such-process', `no such process: ${pid}`);
    for (const tid of tids) {
      const st = read(pid, tid);
      if (st !== null) rows.push(rowOf(st, true));
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

function toJson(r: PsRow) {
  const s = r.status;
  return {
    ppid: r.ppid,
    pid: r.pid,
    ...(r.tid !== undefined ? { tid: r.tid } : {}),
    uid: r.uid,
    command: r.command,
    text: r.text,
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

export function register(program: Command): void {
  program
    .command('ps')
    .description('show the capabilities of live processes (or threads) from /proc, like pscap/getpcaps')
    .argument('[PID...]', 'process ids (default: every process)')
    .option('--threads', 'one row per thread, from /proc/PID/task/TID/status')
    .option('--cap <CAP>', 'only tasks holding CAP in their effective or permitted set (e.g. CAP_NET_RAW)')
    .option('--sort <FIELD>', `sort by ${SORT_FIELDS.join(', ')} (caps: most permitted caps first)`, 'pid')
    .option('--json', 'print JSON: ids, command, libcap text and all five sets as hex, NoNewPrivs, Seccomp')
    .addHelpText(
      'after',
      `
The CAPABILITIES column is libcap's text of (effective, permitted, inheritable), the same text
getpcaps prints. Processes that exit during the scan are skipped.

Examples:
  capctl ps                          # every process
  capctl ps $$ 1                     # these processes
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
      if (opts.json) {
        printJson(rows.map(toJson));
        return;
      }
      const header = opts.threads
        ? ['PPID', 'PID', 'TID', 'UID', 'COMMAND', 'CAPABILITIES']
        : ['PPID', 'PID', 'UID', 'COMMAND', 'CAPABILITIES'];
      const table = rows.map((r) => {
        const ids = [String(r.ppid), String(r.pid)];
        if (opts.threads) ids.push(String(r.tid));
        return [...ids, String(r.uid), r.command, r.text];
      });
      process.stdout.write(`${formatTable(header, table)}\n`);
    });
}
