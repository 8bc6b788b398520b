/**
 * `verdict: "attached"` records (a container capctl-oci-runtime started under a profile) in the
 * audit log: the schema, the reader's hand-written check (agreeing with ajv on generated and
 * mutated records), `audit query --verdict attached` (table and JSON, in log order among the
 * decision records, and the filters that apply to them), `audit summary` (a row per profile
 * counting containers, through the worker's state/merge too), and that a log mixing both kinds
 * reads with no record failing the schema.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type AttachRecord, attachRecordLine } from '../../src/audit/attach-record.js';
import { compileAttachFilter, Summary } from '../../src/audit/query.js';
import { AuditLogReader } from '../../src/audit/reader.js';
import { checkRecord } from '../../src/audit/record.js';
import { canonical } from '../../src/audit/writer.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'capctl.js');
const CLI_BUILT = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const dir = mkdtempSync(join(tmpdir(), 'capctl-i10-attached-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ajv = new Ajv2020({ allErrors: true, strict: false });
ajv.addFormat('date-time', (v: string) => !Number.isNaN(Date.parse(v)));
const schemaValid = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'audit-record.schema.json'), 'utf8')));
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

const SHA = 'ab'.repeat(32);
const attach = (i: number, profile: string, extra: Partial<AttachRecord> = {}): AttachRecord => ({
  time: `2026-01-01T00:01:${String(i).padStart(2, '0')}.000Z`,
  verdict: 'attached',
  profile,
  profileFile: `/p/${profile}.yaml`,
  sha256: SHA,
  containerId: `c${i}${'0'.repeat(20)}`,
  containerName: `web-${i}`,
  via: 'annotation',
  bundle: `/b/${i}`,
  ...extra,
});
const denial = (seq: number, profile?: string) =>
  JSON.stringify(
    canonical(
      {
        verdict: 'denied',
        host: 'linux',
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
        ...(profile ? { profile } : {}),
        time: `2026-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`,
      },
      seq,
    ),
  );

describe('attached records: schema and reader check', () => {
  it("the shim's line is valid under the schema and the reader's check", () => {
    for (const r of [
      attach(1, 'ping'),
      { ...attach(2, 'strict'), containerName: undefined, via: 'binding' as const },
    ]) {
      const v = JSON.parse(attachRecordLine(r));
      expect(schemaValid(v), JSON.stringify(schemaValid.errors)).toBe(true);
      expect(checkRecord(v)).toBe('attached');
    }
  });

  it('the check agrees with ajv on generated and mutated attach records', () => {
    const mutation = fc.constantFrom(
      {},
      { via: 'podman' },
      { sha256: 'xyz' },
      { sha256: SHA.toUpperCase() },
      { containerId: '' },
      { containerId: 3 },
      { profile: null },
      { time: '2026-01-01 00:00:00' },
      { extra: 1 },
      { seq: 0 },
      { seq: 4 },
      { level: 'debug' },
      { containerName: 5 },
      { bundle: ['x'] },
      { syscall: 'socket' },
    );
    const drop = fc.subarray(['profileFile', 'sha256', 'containerName', 'bundle', 'profile', 'via', 'time']);
    fc.assert(
      fc.property(fc.nat(59), fc.string(), mutation, drop, (i, profile, m, d) => {
        const v: Record<string, unknown> = { level: 'info', ...attach(i, profile), ...m };
        for (const k of d) delete v[k];
        const c = checkRecord(JSON.parse(JSON.stringify(v)));
        expect(c === 'attached', JSON.stringify(v)).toBe(schemaValid(JSON.parse(JSON.stringify(v))));
      }),
      { numRuns: 500 },
    );
  });

  it('the reader hands attach records to their own callback, in order, and counts them', async () => {
    const log = join(dir, 'mixed.log');
    const lines = [
      denial(1, 'ping'),
      attachRecordLine(attach(1, 'ping')).trim(),
      denial(2),
      attachRecordLine(attach(2, 'strict')).trim(),
    ];
    writeFileSync(log, `${lines.join('\n')}\n`);
    const seen: string[] = [];
    const reader = new AuditLogReader(
      (r) => seen.push(`${r.verdict}:${r.syscall}`),
      (a) => seen.push(`${a.verdict}:${a.profile}`),
    );
    const report = await reader.read([log]);
    expect(seen).toEqual(['denied:socket', 'attached:ping', 'denied:socket', 'attached:strict']);
    expect(report).toMatchObject({ records: 2, attached: 2, invalid: 0, corrupt: 0, gaps: 0 });
    // A reader that does not ask for them only counts them (no "failing the schema").
    const plain = new AuditLogReader(() => {});
    expect(await plain.read([log])).toMatchObject({ records: 2, attached: 2, invalid: 0 });
  });

  it('the filter: verdict, profile and time apply; capability, syscall, process, command, executable exclude', () => {
    const r = attach(5, 'ping');
    expect(compileAttachFilter({})(r)).toBe(true);
    expect(compileAttachFilter({ verdict: 'attached' })(r)).toBe(true);
    expect(compileAttachFilter({ verdict: 'denied' })(r)).toBe(false);
    expect(compileAttachFilter({ profile: 'ping' })(r)).toBe(true);
    expect(compileAttachFilter({ profile: 'strict' })(r)).toBe(false);
    expect(compileAttachFilter({ since: '2026-01-01T00:01:05Z' })(r)).toBe(true);
    expect(compileAttachFilter({ since: '2026-01-01T00:01:06Z' })(r)).toBe(false);
    expect(compileAttachFilter({ until: '2026-01-01T00:01:04Z' })(r)).toBe(false);
    for (const f of [{ cap: 'CAP_NET_RAW' }, { syscall: 'socket' }, { tgid: 1 }, { comm: 'x' }, { exe: '/x' }])
      expect(compileAttachFilter(f)(r)).toBe(false);
  });

  it("summary: a row per profile counting containers, and the same through a worker's state and merge", () => {
    const a = new Summary();
    const b = new Summary();
    a.addAttached(attach(1, 'ping'));
    a.addAttached(attach(1, 'ping')); // the same container created twice
    b.addAttached(attach(3, 'ping'));
    b.addAttached(attach(4, 'strict'));
    a.merge(JSON.parse(JSON.stringify(b.state())));
    expect(a.total).toBe(4);
    expect(a.rows()).toEqual([
      {
        key: 'profile ping',
        verdict: 'attached',
        count: 3,
        syscalls: [],
        processes: 2,
        first: attach(1, 'x').time,
        last: attach(3, 'x').time,
      },
      {
        key: 'profile strict',
        verdict: 'attached',
        count: 1,
        syscalls: [],
        processes: 1,
        first: attach(4, 'x').time,
        last: attach(4, 'x').time,
      },
    ]);
  });
});

describe.skipIf(!CLI_BUILT)(
  `audit query and summary on attach records${CLI_BUILT ? '' : ' (skipped: run tsc first)'}`,
  () => {
    const log = join(dir, 'cli.log');
    const lines = [
      denial(1, 'ping'),
      attachRecordLine(attach(1, 'ping')).trim(),
      denial(2),
      attachRecordLine(attach(2, 'strict', { containerName: undefined })).trim(),
      attachRecordLine(attach(3, 'ping')).trim(),
    ];
    writeFileSync(log, `${lines.join('\n')}\n`);

    it('query --verdict attached: exactly the attach records, as written, in log order', () => {
      const r = run(['audit', 'query', log, '--verdict', 'attached', '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([lines[1], lines[3], lines[4]].map((l) => JSON.parse(l!)));
      const d = JSON.parse(run(['audit', 'query', log, '--verdict', 'denied', '--json']).stdout) as unknown[];
      expect(d).toHaveLength(2);
      const all = JSON.parse(run(['audit', 'query', log, '--json']).stdout) as { verdict: string }[];
      expect(all.map((x) => x.verdict)).toEqual(['denied', 'attached', 'denied', 'attached', 'attached']);
      const ping = JSON.parse(run(['audit', 'query', log, '--profile', 'ping', '--json']).stdout) as {
        verdict: string;
      }[];
      expect(ping.map((x) => x.verdict)).toEqual(['denied', 'attached', 'attached']);
      const cap = JSON.parse(run(['audit', 'query', log, '--cap', 'CAP_NET_RAW', '--json']).stdout) as unknown[];
      expect(cap).toHaveLength(2);
    });

    it('query table: the profile and the container in the decision columns', () => {
      const r = run(['audit', 'query', log, '--verdict', 'attached']);
      expect(r.status).toBe(0);
      const rows = r.stdout.trim().split('\n');
      expect(rows).toHaveLength(4);
      expect(rows[1]).toMatch(
        /^2026-01-01T00:01:01\.000Z\s+attached\s+-\s+-\s+-\s+profile ping\s+-\s+container web-1 \(c10000000000\) via annotation$/,
      );
      expect(rows[2]).toMatch(/profile strict\s+-\s+container c20000000000 via annotation$/);
    });

    it('summary: one row per profile with its containers, beside the denials; --verdict attached alone', () => {
      const r = run(['audit', 'summary', log, '--json']);
      expect(r.stderr).toBe('');
      const s = JSON.parse(r.stdout) as {
        total: number;
        groups: { key: string; verdict: string; count: number; processes: number }[];
      };
      expect(s.total).toBe(5);
      expect(s.groups.map((g) => [g.key, g.verdict, g.count, g.processes])).toEqual([
        ['CAP_NET_RAW', 'denied', 2, 1],
        ['profile ping', 'attached', 2, 2],
        ['profile strict', 'attached', 1, 1],
      ]);
      const only = run(['audit', 'summary', log, '--verdict', 'attached']);
      expect(only.status).toBe(0);
      expect(only.stdout).toMatch(/profile ping\s+attached\s+2\s+2/);
      expect(only.stdout).not.toMatch(/CAP_NET_RAW/);
      expect(only.stdout).toMatch(/3 record\(s\)/);
    });

    it('--verdict still refuses anything else, naming attached among the choices', () => {
      const r = run(['audit', 'query', log, '--verdict', 'attach']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--verdict must be denied, complain, allowed or attached/);
    });
  },
);
