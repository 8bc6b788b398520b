/**
 * `capctl ps` against /proc (read independently here) and against getpcaps, for every live
 * process and thread. Other tests run in parallel and processes change their capabilities
 * (capsh --caps) or exit while we look, so a disagreement counts only if it persists when
 * both sides are asked again; processes that are gone are skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { formatIabText } from '../../src/caps/iab.js';
import { CLI_BUILT, capctl, hasTool, IS_ROOT, run, selfStatus, withPodmanContainer } from './helpers.js';

interface Row {
  ppid: number;
  pid: number;
  tid?: number;
  uid: number;
  command: string;
  text: string;
  iab: string;
  userns: number | null;
  initUserns: boolean | null;
  container: { engine: string; id: string } | null;
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
const HAVE_PODMAN = IS_ROOT && hasTool('podman') && hasTool('busybox');

/**
 * `getpcaps --iab` for many ids in one process: id -> "TEXT [IAB]" as capctl's compact column
 * prints it (getpcaps quotes the text and omits an empty IAB); ids that vanished are absent.
 */
function getpcaps(ids: number[]): Map<number, string> {
  const out = new Map<number, string>();
  for (let k = 0; k < ids.length; k += 2000) {
    const r = run('getpcaps', ['--iab', ...ids.slice(k, k + 2000).map(String)]);
    for (const line of r.stdout.split('\n')) {
      const m = /^(\d+): "(.*)"(?: \[(.*)\])?$/.exec(line);
      if (m) out.set(Number(m[1]), m[3] ? `${m[2]} [${m[3]}]` : m[2]!);
    }
  }
  return out;
}

const compact = (r: Row) => (r.iab === '' ? r.text : `${r.text} [${r.iab}]`);

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
    if (JSON.stringify(proc) === JSON.stringify(rowFields(r)) && text === compact(r)) continue;
    // Ask everyone again (up to five times): a process that changed its state, exec'd, or (a
    // kworker) renamed itself between the reads agrees on a later round.
    let last = '';
    let settled = false;
    let gone = false;
    for (let round = 0; round < 5 && !settled && !gone; round++) {
      const again = psJson(threads ? ['--threads', String(r.pid)] : [String(idOf(r))], true).find(
        (x) => idOf(x) === idOf(r),
      );
      const proc2 = procFields(pathOf(r));
      const text2 = getpcaps([idOf(r)]).get(idOf(r));
      if (again === undefined || proc2 === undefined || text2 === undefined) gone = true;
      else if (JSON.stringify(proc2) === JSON.stringify(rowFields(again)) && text2 === compact(again)) settled = true;
      else
        last = `${idOf(r)}: capctl ${JSON.stringify(rowFields(again))} ${compact(again)} / proc ${JSON.stringify(proc2)} / getpcaps ${text2}`;
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
    expect(table.stdout.split('\n')[0]).toMatch(/^PPID\s+PID\s+UID\s+NS\s+CONTAINER\s+COMMAND\s+CAPABILITIES$/);
    // The IAB in brackets: NET_RAW is ambient (^), and what this test runs without in its
    // bounding set is dropped (!) for the child too.
    const drops = formatIabText({ ...selfStatus(), inheritable: CapSet.EMPTY, ambient: CapSet.EMPTY });
    const iab = ['^cap_net_raw', drops].filter((x) => x !== '').join(',');
    expect(table.stdout.split('\n')[1]).toMatch(
      new RegExp(
        `^\\d+\\s+${pid}\\s+1000\\s+-\\s+-\\s+sleep\\s+cap_net_raw=eip \\[${iab.replace(/[\^$]/g, '\\$&')}\\]$`,
      ),
    );
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

  it.runIf(HAVE_GETPCAPS && IS_ROOT && hasTool('capsh'))(
    'IAB: a capability dropped from bounding but still inheritable is !% as getpcaps --iab prints it',
    async () => {
      const sleeper = spawn('capsh', ['--inh=cap_net_raw', '--drop=cap_net_raw', '--', '-c', 'exec sleep 60'], {
        stdio: 'ignore',
      });
      try {
        for (let k = 0; k < 100; k++) {
          try {
            if (readFileSync(`/proc/${sleeper.pid}/status`, 'utf8').startsWith('Name:\tsleep')) break;
          } catch {}
          await new Promise((r) => setTimeout(r, 20));
        }
        const [row] = psJson([String(sleeper.pid)]);
        expect(row!.iab).toContain('!%cap_net_raw');
        expect(compact(row!)).toBe(getpcaps([sleeper.pid!]).get(sleeper.pid!));
      } finally {
        sleeper.kill();
      }
    },
  );

  it.runIf(HAVE_GETPCAPS)('--long lists each of the five sets as capsh --decode names them', () => {
    const ids = [1, process.pid, ...(child?.pid ? [child.pid] : [])];
    const out = capctl(['ps', '--long', ...ids.map(String)]);
    expect(out.status).toBe(0);
    const blocks = out.stdout.trim().split('\n\n');
    expect(blocks).toHaveLength(ids.length);
    for (const block of blocks) {
      const pid = Number(/^PID (\d+)/.exec(block)![1]);
      const proc = procFields(`/proc/${pid}/status`)!;
      for (const [label, hex] of [
        ['Effective', proc.effective],
        ['Permitted', proc.permitted],
        ['Inheritable', proc.inheritable],
        ['Bounding', proc.bounding],
        ['Ambient', proc.ambient],
      ] as const) {
        const decoded = run('capsh', [`--decode=${hex}`])
          .stdout.trim()
          .replace(/^0x[0-9a-f]+=/, '');
        expect(block).toMatch(new RegExp(`^  ${label} set\\s+=${decoded}$`, 'm'));
      }
    }
  });

  it.runIf(IS_ROOT && hasTool('unshare'))(
    'marks a process in its own user namespace (skipped without root/unshare)',
    async () => {
      const sleeper = spawn('unshare', ['--user', 'sleep', '60'], { stdio: 'ignore' });
      try {
        for (let k = 0; k < 100; k++) {
          try {
            if (readFileSync(`/proc/${sleeper.pid}/status`, 'utf8').startsWith('Name:\tsleep')) break;
          } catch {}
          await new Promise((r) => setTimeout(r, 20));
        }
        const [row] = psJson([String(sleeper.pid)]);
        const ino = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${sleeper.pid}/ns/user`))![1]);
        expect(row).toMatchObject({ userns: ino, initUserns: false });
        const [me] = psJson([String(process.pid)]);
        expect(me!.initUserns).toBe(true);
        const line = capctl(['ps', String(sleeper.pid)]).stdout.split('\n')[1]!;
        expect(line.split(/\s+/)[3]).toBe('U');
      } finally {
        sleeper.kill();
      }
    },
  );

  it.runIf(HAVE_PODMAN)('names the podman container a process runs in (skipped without root/podman/busybox)', () => {
    withPodmanContainer('ps', (cid, pid) => {
      const [row] = psJson([String(pid)]);
      expect(row!.container).toEqual({ engine: 'podman', id: cid });
      const line = capctl(['ps', String(pid)]).stdout.split('\n')[1]!;
      expect(line.split(/\s+/)[4]).toBe(cid.slice(0, 12));
      expect(psJson([String(process.pid)])[0]!.container).toBeNull();
    });
  });
});
