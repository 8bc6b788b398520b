/**
 * `capctl audit` on logs as they are found: wrongly typed records, a torn last line, gaps in a
 * writer's seq, rotated and compressed files, kernel audit records, a log fed through a pipe,
 * and a query without filters over more records than a recursive reader survived.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { generateAuditLog } from '../../bench/audit-gen.js';
import { parseTime, Summary } from '../../src/audit/query.js';
import { AuditLogReader, orderRotated } from '../../src/audit/reader.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { own } from '../../src/audit/scan.js';
import { canonical } from '../../src/audit/writer.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'capctl.js');
const CLI_BUILT = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const FIX = join(ROOT, 'test', 'fixtures', 'auditd');
const dir = mkdtempSync(join(tmpdir(), 'capctl-i12-robust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  verdict: 'denied' as const,
  host: 'linux' as const,
  syscall: 'socket',
  op: 'AF_INET SOCK_RAW',
  cap: 'CAP_NET_RAW',
  capNumber: 13,
  errno: 'EPERM',
  stage: 'capability',
  reason: 'not in the effective set',
  tid: 10,
  tgid: 10,
  comm: 'ping',
};
const rec = (seq: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    ...canonical({ ...base, time: `2026-01-01T00:00:${String(seq % 60).padStart(2, '0')}.000Z` }, seq),
    ...extra,
  });
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, timeout: 60_000 });

async function readAll(files: string[]): Promise<{ recs: AuditRecord[]; reader: AuditLogReader }> {
  const recs: AuditRecord[] = [];
  const reader = new AuditLogReader((r) => recs.push(own(r)));
  await reader.read(files);
  return { recs, reader };
}

describe('audit reader: nothing fatal, everything counted', () => {
  it('wrongly typed fields are skipped and counted, the rest is read', async () => {
    const log = join(dir, 'typed.log');
    writeFileSync(
      log,
      `${[
        rec(1),
        rec(2, { cap: 13 }),
        rec(3, { priv: 497 }),
        rec(4, { capNumber: 1.5 }),
        rec(5, { tid: '7' }),
        rec(6),
      ].join('\n')}\n`,
    );
    const { recs, reader } = await readAll([log]);
    expect(recs.map((r) => r.seq)).toEqual([1, 6]);
    expect(reader.report.invalid).toBe(4);
    expect(reader.report.problems.map((p) => p.why)).toEqual([
      'not a valid audit record: cap',
      'not a valid audit record: priv',
      'not a valid audit record: capNumber',
      'not a valid audit record: tid',
    ]);
  });

  it('a torn last line and a gap in seq are reported with their counts', async () => {
    const log = join(dir, 'gap.log');
    writeFileSync(log, `${[rec(1), rec(2), rec(5), rec(6)].join('\n')}\n${rec(7).slice(0, 40)}`);
    const { recs, reader } = await readAll([log]);
    expect(recs.map((r) => r.seq)).toEqual([1, 2, 5, 6]);
    expect(reader.report).toMatchObject({ gaps: 1, missing: 2, torn: [`${log}:5`], corrupt: 0 });
    // A new writer starting again at 1 is not a gap.
    writeFileSync(log, `${[rec(1), rec(2), rec(1), rec(2)].join('\n')}\n`);
    expect((await readAll([log])).reader.report.gaps).toBe(0);
  });

  it('rotated logs are read oldest first, .gz decompressed, seq followed across the files', async () => {
    const base = join(dir, 'audit.log');
    writeFileSync(`${base}.2.gz`, gzipSync(`${[rec(1), rec(2)].join('\n')}\n`));
    writeFileSync(`${base}.1`, `${[rec(3), rec(4)].join('\n')}\n`);
    writeFileSync(base, `${[rec(5), rec(6)].join('\n')}\n`);
    // As a shell glob lists them.
    const files = [base, `${base}.1`, `${base}.2.gz`];
    expect(orderRotated(files)).toEqual([`${base}.2.gz`, `${base}.1`, base]);
    const { recs, reader } = await readAll(files);
    expect(recs.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(reader.report.gaps).toBe(0);
    writeFileSync(`${base}.1`, `${rec(4)}\n`);
    expect((await readAll(files)).reader.report).toMatchObject({ gaps: 1, missing: 1 });
  });

  it('auditd CAPSET, BPRM_FCAPS and failed SYSCALL records become a process history', async () => {
    const { recs, reader } = await readAll([join(FIX, 'auditd-caps.log')]);
    expect(reader.report.other).toBe(0);
    expect(recs.map((r) => [r.tgid, r.comm, r.exe, r.syscall, r.verdict, r.op, r.errno])).toEqual([
      [4127, 'capsh', '/usr/sbin/capsh', 'capset', 'allowed', 'cap_net_raw=ep', ''],
      [4128, 'ping', '/usr/bin/ping', 'execve', 'allowed', 'cap_net_raw=ep', ''],
      [4129, 'my app', '/usr/local/bin/myapp', 'setuid', 'denied', undefined, 'EPERM'],
      [0, undefined, undefined, 'execve', 'allowed', 'cap_net_bind_service=p', ''],
      [4130, 'ping', undefined, 'capable', 'denied', undefined, 'EPERM'],
    ]);
    expect(recs[1]!.sets).toEqual({
      fp: '2000',
      fi: '0',
      fe: '1',
      old_pp: '0',
      old_pi: '0',
      old_pe: '0',
      old_pa: '0',
      pp: '2000',
      pi: '0',
      pe: '2000',
      pa: '0',
    });
    expect(recs[0]!.time).toBe('2024-11-30T16:00:00.120Z');
  });

  it('--since/--until: RFC 3339 with a zone, a date, or a duration; a zoneless time is refused', () => {
    const now = Date.UTC(2026, 0, 2);
    expect(parseTime('2026-01-01T10:00:00Z', now)).toBe(Date.UTC(2026, 0, 1, 10));
    expect(parseTime('2026-01-01T11:00:00+01:00', now)).toBe(Date.UTC(2026, 0, 1, 10));
    expect(parseTime('2026-01-01', now)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTime('1h30m', now)).toBe(now - 5400e3);
    expect(parseTime('3d', now)).toBe(now - 3 * 86400e3);
    expect(() => parseTime('2026-01-01 10:00', now)).toThrow(/needs T between date and time and a zone/);
    expect(() => parseTime('2026-01-01T10:00:00', now)).toThrow(/not a time/);
    expect(() => parseTime('10', now)).toThrow(/needs a unit/);
    expect(() => parseTime('yesterday', now)).toThrow(/not a time/);
    // parse-duration alone reads these leniently (1e3m = 1000 minutes).
    expect(() => parseTime('1e3m', now)).toThrow(/not a time/);
    expect(() => parseTime('1x', now)).toThrow(/not a time/);
    expect(parseTime('10 m', now)).toBe(now - 600e3);
  });
});

describe.skipIf(!CLI_BUILT)('capctl audit on hostile logs (built CLI; npm run build)', () => {
  it('query, summary and suggest skip a wrongly typed record with a count, exit 0', () => {
    const log = join(dir, 'cli-typed.log');
    writeFileSync(log, `${[rec(1), rec(2, { cap: 13 }), rec(3, { priv: 497 }), rec(4)].join('\n')}\n`);
    for (const cmd of ['query', 'summary', 'suggest']) {
      const r = run(['audit', cmd, log, '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('skipped 2 record(s) failing the schema');
      expect(r.stderr).not.toMatch(/TypeError/);
    }
    const q = run(['audit', 'query', log]);
    expect(q.stdout.split('\n')[0]).toMatch(/^TIME +VERDICT +PID +COMM +SYSCALL/);
    expect(q.stdout).toMatch(/ ping +socket\(AF_INET SOCK_RAW\)/);
  });

  it('reports a torn last line and a seq gap on stderr', () => {
    const log = join(dir, 'cli-gap.log');
    writeFileSync(log, `${[rec(1), rec(3)].join('\n')}\n{"level":"wa`);
    const r = run(['audit', 'summary', log]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`torn last line at ${log}:3`);
    expect(r.stderr).toContain('1 gap(s) in seq: 1 record(s) missing');
  });

  it('query without filters over 130k records: no stack overflow, --json is one valid array', () => {
    const log = join(dir, 'big.log');
    generateAuditLog(log, 130_000);
    const r = spawnSync(process.execPath, [CLI, 'audit', 'query', log, '--json'], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as AuditRecord[];
    expect(rows).toHaveLength(130_000);
    expect(rows[129_999]!.seq).toBe(130_000);
  }, 180_000);

  it('summary of a log big enough to split between two threads = the one-thread answer, gaps and bad lines included', async () => {
    const log = join(dir, 'big.log'); // from the test above (130k records, > 32 MiB: read in segments by two workers)
    const lines = readFileSync(log, 'utf8').split('\n');
    lines.splice(100_000, 1, '{corrupt'); // seq 100001 gone, a corrupt line in its place
    lines.splice(120_000, 0, JSON.stringify({ ...base, cap: 13, time: '2026-01-01T00:00:00Z' })); // wrongly typed, no seq
    writeFileSync(log, lines.join('\n'));
    const r = run(['audit', 'summary', log, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = new Summary();
    const reader = new AuditLogReader((x) => summary.add(x));
    await reader.read([log]); // one thread (the worker runs compiled code only)
    expect(JSON.parse(r.stdout)).toEqual({ total: summary.total, groups: summary.rows() });
    expect(r.stderr).toContain('skipped 1 corrupt line(s), 1 record(s) failing the schema');
    expect(r.stderr).toContain(`${log}:100001: not JSON`);
    expect(r.stderr).toContain('1 gap(s) in seq: 1 record(s) missing');
    expect(r.stderr).toContain(`${log}:120001: not a valid audit record: cap`);
    expect(reader.report).toMatchObject({ corrupt: 1, invalid: 1, gaps: 1, missing: 1 });
  }, 180_000);

  it.skipIf(!CLI_BUILT)(
    'query (--json and table) and summary read in segments by two threads = one thread, byte for byte, stderr included',
    () => {
      const log = join(dir, 'segments.log');
      generateAuditLog(log, 20_000);
      const lines = readFileSync(log, 'utf8').split('\n');
      lines.splice(5_000, 1, '{corrupt'); // a gap and a corrupt line
      lines.splice(9_000, 0, JSON.stringify({ ...base, cap: 13, time: '2026-01-01T00:00:00Z' })); // wrongly typed
      const kernel = readFileSync(join(FIX, 'auditd-caps.log'), 'utf8').trim().split('\n');
      lines.splice(15_000, 0, ...kernel); // auditd lines that share context: read again in order
      writeFileSync(log, `${lines.join('\n').trimEnd()}\n{"level":"warn","seq":9`);
      for (const args of [
        ['audit', 'query', log, '--cap', 'CAP_NET_RAW', '--verdict', 'denied', '--json'],
        ['audit', 'query', log, '--comm', 'ping'],
        ['audit', 'summary', log, '--json'],
        ['audit', 'summary', log, '--verdict', 'complain'],
      ]) {
        const one = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
        const two = spawnSync(process.execPath, [CLI, ...args], {
          encoding: 'utf8',
          maxBuffer: 1 << 28,
          env: { ...process.env, CAPCTL_AUDIT_SEGMENT_BYTES: '65536' }, // ~130 segments
        });
        expect(one.status, one.stderr).toBe(0);
        expect(one.stderr).toContain('1 gap(s) in seq');
        expect(two.status, two.stderr).toBe(0);
        expect(two.stdout).toBe(one.stdout);
        expect(two.stderr).toBe(one.stderr);
      }
    },
    120_000,
  );

  it('query streams from a pipe: the first row is out before the pipe closes', async () => {
    const child = spawn(process.execPath, [CLI, 'audit', 'query', '-', '--json'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const first = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"seq":1,')) resolve();
      }),
    );
    child.stdin.write(`${rec(1)}\n`);
    await first; // stdin is still open
    child.stdin.end(`${rec(2)}\n`);
    await new Promise((r) => child.on('close', r));
    expect(JSON.parse(out).map((x: AuditRecord) => x.seq)).toEqual([1, 2]);
  }, 60_000);
});
