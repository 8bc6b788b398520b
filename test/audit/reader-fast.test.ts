/**
 * The reader's fast paths (the writer-shape regex and the character scanner) give exactly the
 * answers of a plain reference — split on newlines, JSON.parse every line, type-check against
 * the published schema with ajv — whatever the key order, spacing or escaping, on generated
 * logs mixed with corrupt lines, wrongly typed records and a torn last line. Also: checkRecord
 * (the reader's hand-written schema check) agrees with ajv on the schema itself.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { attachRecordLine } from '../../src/audit/attach-record.js';
import { type HelperFactory, segmented, segmentRunner } from '../../src/audit/parallel.js';
import {
  compileAttachFilter,
  compileFilter,
  Summary,
  type SummaryRow,
  type SummaryState,
} from '../../src/audit/query.js';
import { QueryOut, QueryRows } from '../../src/audit/query-rows.js';
import { AuditLogReader } from '../../src/audit/reader.js';
import { type AuditRecord, checkRecord } from '../../src/audit/record.js';
import { own, ScannedRecord } from '../../src/audit/scan.js';
import { canonical } from '../../src/audit/writer.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'capctl-i12-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ajv = new Ajv2020({ allErrors: true, strict: false });
ajv.addFormat('date-time', (v: string) => !Number.isNaN(Date.parse(v)));
const schemaValid = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'audit-record.schema.json'), 'utf8')));

// Small alphabets so groups collide; strings that need escaping (quotes, backslashes,
// control characters, non-ASCII, astral) appear often.
const text = fc.oneof(
  fc.constantFrom('', 'nginx', 'ping', 'a"b', 'back\\slash', 'tab\there', 'ünï', '😀x', 'new\nline', 'CAP_X'),
  fc.string({ maxLength: 12 }),
);
const record = fc.record(
  {
    verdict: fc.constantFrom('denied', 'complain', 'allowed'),
    host: fc.constantFrom('linux', 'freebsd'),
    syscall: fc.constantFrom('socket', 'bind', 'mount', 'capset', 'x"y'),
    op: text,
    cap: fc.constantFrom('CAP_NET_RAW', 'CAP_SYS_ADMIN', 'CAP_CHOWN'),
    capNumber: fc.constantFrom(0, 13, 21, 63),
    priv: fc.constantFrom('PRIV_NETINET_RAW', 'PRIV_VFS_MOUNT'),
    privNumber: fc.integer({ min: 1, max: 700 }),
    errno: fc.constantFrom('', 'EPERM', 'EACCES'),
    stage: text,
    reason: text,
    tid: fc.integer({ min: 1, max: 40 }),
    tgid: fc.integer({ min: 1, max: 40 }),
    euid: fc.integer({ min: 0, max: 2000 }),
    comm: text,
    profile: fc.constantFrom('nginx', 'ping', 'strict'),
    source: fc.record({ file: text, line: fc.integer({ min: 1, max: 9999 }) }),
    time: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }).map((t) => new Date(t).toISOString()),
  },
  // syscall is optional: audit follow's records have none.
  { requiredKeys: ['verdict', 'host', 'errno', 'stage', 'reason', 'tid', 'tgid', 'time'] },
);

/** JSON with `\uXXXX` for some characters (JSON.stringify never writes those). */
function escapeSome(json: string, mask: number): string {
  let i = 0;
  return json.replace(/[a-zA-Z]/g, (c) =>
    (mask >> (i++ % 30)) & 1 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c,
  );
}

/** One record as some writer might print it. */
const line = fc
  .tuple(
    record,
    fc.integer({ min: 0, max: 5 }),
    fc.integer({ min: 0, max: 2 ** 30 }),
    fc.integer({ min: 1, max: 1e6 }),
    fc.boolean(),
  )
  .map(([r, style, mask, seq, withSeq]) => {
    const rec = r as unknown as AuditRecord;
    switch (style) {
      case 0:
      case 1: // the writer's own line, escapes only where JSON.stringify needs them
        return JSON.stringify(canonical(rec, seq));
      case 2: {
        // shuffled keys
        const keys = Object.keys(rec).sort((a, b) => ((mask >> a.length) & 1) - ((mask >> b.length) & 1));
        const o: Record<string, unknown> = withSeq ? { seq } : {};
        for (const k of keys) o[k] = (rec as unknown as Record<string, unknown>)[k];
        return JSON.stringify(o);
      }
      case 3: // spaces and tabs
        return JSON.stringify(rec, null, '\t').replace(/\n/g, mask & 1 ? ' ' : '');
      case 4: // unicode escapes in keys and values
        return escapeSome(JSON.stringify(canonical(rec, seq)), mask);
      default: // wrongly typed field: cap as a number, tid as a string, capNumber 1.5, priv 497
        return JSON.stringify({
          ...canonical(rec, seq),
          ...[{ cap: 13 }, { tid: '7' }, { capNumber: 1.5 }, { priv: 497 }, { extra: 1 }][mask % 5],
        });
    }
  });

const logLine = fc.oneof(
  { weight: 12, arbitrary: line },
  { weight: 1, arbitrary: fc.constantFrom('{not json', '', '   ', 'random words', '{"verdict":"den', '[1,2]') },
);

/** The reference: every line through JSON.parse and the schema (ajv). */
function reference(lines: string[]): { records: AuditRecord[]; bad: number } {
  const records: AuditRecord[] = [];
  let bad = 0;
  for (const l of lines) {
    if (l.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      bad++;
      continue;
    }
    if (schemaValid(v) && (v as { verdict: string }).verdict !== 'suppressed') records.push(v as AuditRecord);
    else bad++;
  }
  return { records, bad };
}

/** Counts per (cap or priv or syscall, verdict), as `audit summary` defines them, from plain records. */
function referenceSummary(recs: AuditRecord[]): SummaryRow[] {
  const g = new Map<string, SummaryRow & { tg: Set<number>; sc: Set<string> }>();
  for (const r of recs) {
    const key = r.cap && r.priv ? `${r.cap} (${r.priv})` : (r.cap ?? r.priv ?? `syscall ${r.syscall ?? '(unknown)'}`);
    const id = JSON.stringify([key, r.verdict]);
    let row = g.get(id);
    if (!row) {
      row = {
        key,
        verdict: r.verdict,
        count: 0,
        syscalls: [],
        processes: 0,
        first: r.time,
        last: r.time,
        tg: new Set(),
        sc: new Set(),
      };
      g.set(id, row);
    }
    row.count++;
    row.tg.add(r.tgid);
    if (r.syscall !== undefined) row.sc.add(r.op ? `${r.syscall}(${r.op})` : r.syscall);
    if (r.time < row.first) row.first = r.time;
    if (r.time > row.last) row.last = r.time;
  }
  return [...g.values()]
    .map(({ tg, sc, ...row }) => ({ ...row, syscalls: [...sc].sort(), processes: tg.size }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

describe('fast reader = JSON.parse + schema reference', () => {
  it('summary, query and counts agree on generated logs (any key order, spacing, escaping, bad lines)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(logLine, { maxLength: 60 }), fc.boolean(), async (lines, torn) => {
        const file = join(dir, `log-${n++}`);
        const body = lines.map((l) => `${l}\n`).join('') + (torn ? '{"level":"warn","seq":3,"verd' : '');
        writeFileSync(file, body);
        const ref = reference(body.split('\n').slice(0, torn ? -1 : undefined));
        // summary
        const summary = new Summary();
        const got: AuditRecord[] = [];
        let printedRaw = 0;
        const reader = new AuditLogReader((r) => {
          summary.add(r);
          got.push(own(r));
          // query --json prints a writer-shape line as it is: it must be what stringify gives.
          const raw = r instanceof ScannedRecord ? r.canonicalLine() : undefined;
          if (raw !== undefined) {
            expect(raw).toBe(JSON.stringify(own(r)));
            printedRaw++;
          }
        });
        const report = await reader.read([file]);
        expect(got).toEqual(ref.records);
        expect(summary.rows()).toEqual(referenceSummary(ref.records));
        expect(report.records).toBe(ref.records.length);
        expect(report.corrupt + report.invalid + report.other).toBe(ref.bad);
        expect(report.torn.length).toBe(torn ? 1 : 0);
        expect(printedRaw).toBeLessThanOrEqual(got.length);
        // query: one capability and verdict
        const keep = compileFilter({ cap: 'CAP_NET_RAW', verdict: 'denied' });
        const rows: AuditRecord[] = [];
        await new AuditLogReader((r) => {
          if (keep(r)) rows.push(own(r));
        }).read([file]);
        expect(rows).toEqual(ref.records.filter((r) => r.capNumber === 13 && r.verdict === 'denied'));
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('checkRecord agrees with ajv on the schema', () => {
    fc.assert(
      fc.property(line, (l) => {
        const v = JSON.parse(l);
        const c = checkRecord(v);
        expect(typeof c === 'object' && !('invalid' in c), l).toBe(schemaValid(v));
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * The two-thread read (parallel.ts): any segment size, the other thread answering in any order
 * or dying midway, auditd lines that share context across a segment boundary — the rows (bytes
 * and order), the summary and the whole read report (counts, gaps, torn line, located problems)
 * are those of one thread reading the file. The helper here runs in-process (segmentRunner,
 * what the worker runs); test/audit/reader-robust.test.ts runs the real worker through the CLI.
 */
describe('segmented read = one-thread read', () => {
  const kernelLines = readFileSync(join(ROOT, 'test', 'fixtures', 'auditd', 'auditd-caps.log'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const attachLines = ['ping', 'strict'].map((profile, i) =>
    attachRecordLine({
      time: `2026-11-0${i + 1}T10:00:00.000Z`,
      verdict: 'attached',
      profile,
      profileFile: `/etc/capctl/${profile}.yaml`,
      sha256: 'a'.repeat(64),
      containerId: `${i}`.repeat(64),
      via: 'annotation',
    }).trimEnd(),
  );
  const anyLine = fc.oneof(
    { weight: 10, arbitrary: logLine },
    { weight: 3, arbitrary: fc.constantFrom(...kernelLines) },
    { weight: 1, arbitrary: fc.constantFrom(...attachLines) },
  );

  /** A helper answering after a random delay (so out of order), dying after `dieAfter` answers. */
  function fakeHelper(delays: number[], dieAfter: number): HelperFactory {
    return (job, onResult, onGone) => {
      const run = segmentRunner(job, new AuditLogReader(() => {}));
      let answered = 0;
      let dead = false;
      const timers = new Set<NodeJS.Timeout>();
      return {
        assign(plan, k) {
          const t = setTimeout(
            () => {
              timers.delete(t);
              if (dead) return;
              if (answered++ === dieAfter) {
                dead = true;
                onGone(new Error('helper died'));
                return;
              }
              onResult(structuredClone(run(plan, k)));
            },
            delays[k % delays.length],
          );
          timers.add(t);
        },
        close() {
          for (const t of timers) clearTimeout(t);
        },
      };
    };
  }

  async function query(file: string, helper?: HelperFactory): Promise<{ out: string; report: unknown }> {
    // Decision records and attach records of one profile: both kinds of row.
    const filter = { profile: 'ping' };
    const keep = compileFilter(filter);
    const chunks: Buffer[] = [];
    const rows = new QueryRows(true);
    const out = new QueryOut(true, (b) => {
      chunks.push(Buffer.from(b));
    });
    const flush = () => out.rows(rows.take());
    const keepAttached = compileAttachFilter(filter);
    const reader = new AuditLogReader(
      (r) => {
        if (keep(r)) rows.add(r);
      },
      (a) => {
        if (keepAttached(a)) rows.addAttached(a);
      },
    );
    const report = await reader.read([file], {
      afterChunk: flush,
      ...(helper
        ? {
            segments: segmented(
              {
                job: { kind: 'query', filter, now: 0, json: true },
                afterChunk: flush,
                apply: async (b) => {
                  await flush();
                  await out.rows(b as Uint8Array);
                },
              },
              helper,
            ),
          }
        : {}),
    });
    await flush();
    await out.end();
    return { out: Buffer.concat(chunks).toString(), report };
  }

  async function summary(file: string, helper?: HelperFactory): Promise<{ rows: SummaryRow[]; report: unknown }> {
    const s = new Summary();
    const reader = new AuditLogReader(
      (r) => s.add(r),
      (a) => s.addAttached(a),
    );
    const report = await reader.read(
      [file],
      helper
        ? {
            segments: segmented(
              { job: { kind: 'summary', filter: {}, now: 0 }, apply: (st) => s.merge(st as SummaryState) },
              helper,
            ),
          }
        : {},
    );
    return { rows: s.rows(), report };
  }

  it('rows, summary and report agree for any segment size and any order of answers', async () => {
    let n = 0;
    const saved = process.env.CAPCTL_AUDIT_SEGMENT_BYTES;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(anyLine, { maxLength: 80 }),
          fc.boolean(),
          fc.integer({ min: 1, max: 3000 }),
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
          fc.integer({ min: 0, max: 40 }),
          async (lines, torn, seg, delays, dieAfter) => {
            const file = join(dir, `seg-${n++}`);
            writeFileSync(file, lines.map((l) => `${l}\n`).join('') + (torn ? '{"level":"warn","seq":3,"verd' : ''));
            delete process.env.CAPCTL_AUDIT_SEGMENT_BYTES;
            const q1 = await query(file);
            const s1 = await summary(file);
            expect(JSON.parse(q1.out)).toBeInstanceOf(Array);
            process.env.CAPCTL_AUDIT_SEGMENT_BYTES = String(seg);
            const q2 = await query(file, fakeHelper(delays, dieAfter));
            const s2 = await summary(file, fakeHelper(delays, dieAfter));
            expect(q2.out).toBe(q1.out);
            expect(q2.report).toEqual(q1.report);
            expect(s2.rows).toEqual(s1.rows);
            expect(s2.report).toEqual(s1.report);
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      if (saved === undefined) delete process.env.CAPCTL_AUDIT_SEGMENT_BYTES;
      else process.env.CAPCTL_AUDIT_SEGMENT_BYTES = saved;
    }
  }, 120_000);
});
