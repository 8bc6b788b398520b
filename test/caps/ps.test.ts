/**
 * `capctl ps` against /proc (read independently here) and against getpcaps, for every live
 * process and thread. Other tests run in parallel and processes change their capabilities
 * (capsh --caps) or exit while we look, so a disagreement counts only if it persists when
 * both sides are asked again; processes that are gone are skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, capctl, hasTool, IS_ROOT, run } from './helpers.js';

interface Row {
  ppid: number;
  pid: number;
  tid?: number;
  uid: number;
  command: string;
  text: string;
  effective: string;
  permitted: string;
  inheritable: string;
  bounding: string;
  ambient: string;
  noNewPrivs: boolean;
  seccomp: number;
}

const HAVE_GETPCAPS = hasTool('getpcaps');
const HAVE_SETPRIV = IS_ROOT && hasTool('setpriv');

/** getpcaps for many ids in one process: id -> text; ids that vanished are absent. */
function getpcaps(ids: number[]): Map<number, string> {
  const out = new Map<number, string>();
  for (let k = 0; k < ids.length; k += 2000) {
    const r = run('getpcaps', ids.slice(k, k + 2000).map(String));
    for (const line of r.stdout.split('\n')) {
      const m = /^(\d+): (.*)$/.exec(line);
      if (m) out.set(Number(m[1]), m[2]!);
    }
  }
  return out;
}

/** The status fields read straight from /proc with a regex, independent of src/caps. */
function procFields(path: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const get = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return {
    ppid: get('PPid'),
    uid: get('Uid').split(/\s+/)[1]!,
    command: /^Name:\t(.*)$/m.exec(text)?.[1] ?? '',
    effective: get('CapEff'),
    permitted: get('CapPrm'),
    inheritable: get('CapInh'),
    bounding: get('CapBnd'),
    ambient: get('CapAmb'),
    noNewPrivs: get('NoNewPrivs'),
    seccomp: get('Seccomp'),
  };
}

function rowFields(r: Row): Record<string, string> {
  return {
    ppid: String(r.ppid),
    uid: String(r.uid),
    command: r.command,
    effective: r.effective,
    permitted: r.permitted,
    inheritable: r.inheritable,
    bounding: r.bounding,
    ambient: r.ambient,
    noNewPrivs: r.noNewPrivs ? '1' : '0',
    seccomp: String(r.seccomp),
  };
}

function psJson(args: string[], mayBeGone = false): Row[] {
  const r = capctl(['ps', '--json', ...args]);
  // A named process that exited in the meantime is "no such process" (exit 2): nothing to compare.
  if (mayBeGone && r.status === 2 && /no such process/.test(r.stderr)) return [];
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Row[];
}

/**
 * Compare each row with /proc and getpcaps; a row that disagrees is asked again (capctl ps of
 * that id, /proc, getpcaps). Returns the persistent disagreements and how many rows compared.
 */
function crossCheck(rows: Row[], threads: boolean): { bad: string[]; compared: number; changed: number } {
  const idOf = (r: Row) => (threads ? r.tid! : r.pid);
  const pathOf = (r: Row) => (threads ? `/proc/${r.pid}/task/${r.tid}/status` : `/proc/${r.pid}/status`);
  const texts = getpcaps(rows.map(idOf));
  const bad: string[] = [];
  let compared = 0;
  let changed = 0;
  for (const r of rows) {
    const proc = procFields(pathOf(r));
    const text = texts.get(idOf(r));
    if (proc === undefined || text === undefined) continue; // exited meanwhile
    compared++;
    if (JSON.stringify(proc) === JSON.stringify(rowFields(r)) && text === r.text) continue;
    // Ask everyone again (up to three times): a process that changed its state, exec'd, or (a
    // kworker) renamed itself between the reads agrees on a later round.
    let last = '';
    let settled = false;
    let gone = false;
    for (let round = 0; round < 3 && !settled && !gone; round++) {
      const again = psJson(threads ? ['--threads', String(r.pid)] : [String(idOf(r))], true).find(
        (x) => idOf(x) === idOf(r),
      );
      const proc2 = procFields(pathOf(r));
      const text2 = getpcaps([idOf(r)]).get(idOf(r));
      if (again === undefined || proc2 === undefined || text2 === undefined) gone = true;
      else if (JSON.stringify(proc2) === JSON.stringify(rowFields(again)) && text2 === again.text) settled = true;
      else
        last = `${idOf(r)}: capctl ${JSON.stringify(rowFields(again))} ${again.text} / proc ${JSON.stringify(proc2)} / getpcaps ${text2}`;
    }
    if (settled) changed++;
    else if (!gone) bad.push(last);
  }
  return { bad, compared, changed };
}

let child: ChildProcess | undefined;
beforeAll(async () => {
  if (!HAVE_SETPRIV) return;
  // A process with distinctive sets: uid 1000, I=P=E=A={NET_RAW}, no_new_privs.
  child = spawn(
    'setpriv',
    [
      '--reuid=1000',
      '--regid=1000',
      '--clear-groups',
      '--inh-caps=+net_raw',
      '--ambient-caps=+net_raw',
      '--no-new-privs',
      'sleep',
      '60',
    ],
    { stdio: 'ignore' },
  );
  // Wait until the exec into sleep has happened.
  for (let k = 0; k < 100; k++) {
    try {
      if (readFileSync(`/proc/${child.pid}/status`, 'utf8').startsWith('Name:\tsleep')) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 20));
  }
});
afterAll(() => {
  child?.kill();
});

describe.runIf(CLI_BUILT)('capctl ps', () => {
  it.runIf(HAVE_GETPCAPS)('agrees with /proc and getpcaps for every live process', () => {
    const rows = psJson([]);
    const pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    expect(rows.length).toBeGreaterThan(pids * 0.8);
    const { bad, compared, changed } = crossCheck(rows, false);
    expect(bad).toEqual([]);
    expect(compared).toBeGreaterThan(rows.length * 0.8);
    expect(changed).toBeLessThan(Math.max(5, compared * 0.25));
  });

  it.runIf(HAVE_GETPCAPS)('agrees with /proc/PID/task/TID and getpcaps TID for every live thread', () => {
    const rows = psJson(['--threads']);
    expect(rows.every((r) => typeof r.tid === 'number')).toBe(true);
    // This node process has several threads; all are listed, with pid = tgid.
    const mine = rows.filter((r) => r.pid === process.pid).map((r) => r.tid);
    expect(mine).toContain(process.pid);
    expect(mine.length).toBeGreaterThan(1);
    const { bad, compared } = crossCheck(rows, true);
    expect(bad).toEqual([]);
    expect(compared).toBeGreaterThan(rows.length * 0.8);
  });

  it.runIf(HAVE_SETPRIV)('shows a process with ambient caps, uid 1000 and no_new_privs, and --cap finds it', () => {
    const pid = child!.pid!;
    const [row] = psJson([String(pid)]);
    expect(row).toMatchObject({
      pid,
      uid: 1000,
      command: 'sleep',
      text: 'cap_net_raw=eip',
      ambient: '0000000000002000',
      noNewPrivs: true,
    });
    const table = capctl(['ps', String(pid)]);
    expect(table.stdout.split('\n')[0]).toMatch(/^PPID\s+PID\s+UID\s+COMMAND\s+CAPABILITIES$/);
    expect(table.stdout.split('\n')[1]).toMatch(new RegExp(`^\\d+\\s+${pid}\\s+1000\\s+sleep\\s+cap_net_raw=eip$`));
    const holders = psJson(['--cap', 'CAP_NET_RAW']);
    expect(holders.some((r) => r.pid === pid)).toBe(true);
    expect(holders.every((r) => BigInt(`0x${r.effective}`) & 0x2000n || BigInt(`0x${r.permitted}`) & 0x2000n)).toBe(
      true,
    );
    const kill = psJson(['--cap', 'kill']);
    expect(kill.some((r) => r.pid === pid)).toBe(false);
  });

  it('sorts by the requested field', () => {
    const byUid = psJson(['--sort', 'uid']);
    for (let k = 1; k < byUid.length; k++) expect(byUid[k - 1]!.uid).toBeLessThanOrEqual(byUid[k]!.uid);
    const byCmd = psJson(['--sort', 'command']);
    for (let k = 1; k < byCmd.length; k++) expect(byCmd[k - 1]!.command <= byCmd[k]!.command).toBe(true);
    const byPid = psJson(['1', String(process.pid)]);
    expect(byPid.map((r) => r.pid)).toEqual([1, process.pid].sort((a, b) => a - b));
  });
});
