import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { compileFilter, Summary } from '../../src/audit/query.js';
import { parseAuditLine, readAuditRecords } from '../../src/audit/reader.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { createAuditWriter } from '../../src/audit/writer.js';

const base = {
  verdict: 'denied' as const,
  host: 'linux' as const,
  syscall: 'socket',
  op: 'AF_INET SOCK_RAW',
  cap: 'CAP_NET_RAW',
  capNumber: 13,
  errno: 'EPERM',
  stage: 'capability',
  reason: 'CAP_NET_RAW not in effective set',
  tid: 10,
  tgid: 10,
};

describe('audit writer', () => {
  it('loses nothing when the process exits right after writing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capctl-audit-'));
    const log = join(dir, 'audit.log');
    const script = join(dir, 'w.mts');
    const writer = resolve('src/audit/writer.ts');
    writeFileSync(
      script,
      `import { createAuditWriter } from ${JSON.stringify(writer)};
const w = createAuditWriter({ dest: ${JSON.stringify(log)}, bufferBytes: 65536 });
for (let i = 0; i < 1000; i++) w.write({ ...${JSON.stringify(base)}, tid: i, time: new Date(0).toISOString() });
process.exit(1);`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1000);
    expect(JSON.parse(lines[999]!).tid).toBe(999);
  });

  it('rate-limits per key and summarises what it dropped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capctl-audit-'));
    const log = join(dir, 'audit.log');
    let t = 1_000_000;
    const w = createAuditWriter({ dest: log, ratePerSecond: 3, now: () => t });
    for (let i = 0; i < 10; i++) w.write(base);
    w.write({ ...base, syscall: 'mknod', cap: 'CAP_MKNOD', capNumber: 27 });
    t += 1000;
    w.write(base);
    w.close();
    const recs = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(w.written).toBe(5);
    expect(w.suppressed).toBe(7);
    expect(recs.at(-1)).toMatchObject({
      verdict: 'suppressed',
      suppressed: 7,
      keys: { 'socket:CAP_NET_RAW:denied': 7 },
    });
    expect(recs[0]).toMatchObject(base);
    expect(recs[0].level).toBe('warn');
    // Every line, the suppressed summary included, matches the published schema.
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    ajv.addFormat('date-time', (v: string) => !Number.isNaN(Date.parse(v)));
    const validate = ajv.compile(JSON.parse(readFileSync('schema/audit-record.schema.json', 'utf8')));
    for (const r of recs) expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...recs[0], extra: 1 })).toBe(false);
  });
});

describe('audit reader', () => {
  it('reads AppArmor and SELinux capability denials', () => {
    const aa =
      'audit: type=1400 audit(1700000000.123:42): apparmor="DENIED" operation="capable" class="cap" profile="p" pid=4242 comm="ping" capability=13  capname="net_raw"';
    expect((parseAuditLine(aa) as AuditRecord[])[0]).toMatchObject({
      verdict: 'denied',
      cap: 'CAP_NET_RAW',
      capNumber: 13,
      tgid: 4242,
      comm: 'ping',
      time: '2023-11-14T22:13:20.123Z',
    });
    const se =
      'type=AVC msg=audit(1700000000.5:7): avc:  denied  { sys_nice net_raw } for  pid=77 comm="x" capability=23  scontext=a tcontext=a tclass=capability permissive=1';
    const recs = parseAuditLine(se) as AuditRecord[];
    expect(recs.map((r) => r.cap)).toEqual(['CAP_SYS_NICE', 'CAP_NET_RAW']);
    expect(recs[0]!.verdict).toBe('complain');
    const se2 =
      'avc:  denied  { syslog } for  pid=1 comm="y" capability=34 scontext=a tcontext=a tclass=capability2 permissive=0';
    expect((parseAuditLine(se2) as AuditRecord[])[0]).toMatchObject({ cap: 'CAP_SYSLOG', verdict: 'denied' });
    expect(parseAuditLine('kernel: eth0 link up')).toBeUndefined();
  });

  it('streams, filters and summarises, reporting bad lines by number', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capctl-audit-'));
    const log = join(dir, 'audit.log');
    const w = createAuditWriter({ dest: log });
    w.write({ ...base, time: '2026-01-01T00:00:00.000Z' });
    w.write({ ...base, tid: 11, tgid: 11, time: '2026-01-01T00:01:00.000Z' });
    w.write({
      ...base,
      syscall: 'mknod',
      op: 'S_IFCHR',
      cap: 'CAP_MKNOD',
      capNumber: 27,
      time: '2026-01-01T00:02:00.000Z',
    });
    w.close();
    writeFileSync(log, `${readFileSync(log, 'utf8')}{not json\nrandom words\n`);
    const problems: number[] = [];
    const summary = new Summary();
    const keep = compileFilter({ since: '2026-01-01T00:00:30Z' });
    for await (const r of readAuditRecords(log, (p) => problems.push(p.line))) if (keep(r)) summary.add(r);
    expect(problems).toEqual([4, 5]);
    expect(summary.total).toBe(2);
    expect(summary.rows().map((r) => [r.key, r.count])).toEqual([
      ['CAP_MKNOD', 1],
      ['CAP_NET_RAW', 1],
    ]);
    expect(() => compileFilter({ cap: 'CAP_NET_RWA' })).toThrow(/did you mean/);
    expect(() => compileFilter({ since: 'yesterday-ish' })).toThrow(/not a time/);
  });
});
