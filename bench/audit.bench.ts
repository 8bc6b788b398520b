/**
 * `capctl audit summary` and `audit query` against jq on the same file and the same question,
 * end to end (process start, read, parse, answer, print), with peak RSS:
 *   - summary: counts per capability-or-privilege-or-syscall and verdict;
 *   - query:   the records of one capability and verdict (CAP_NET_RAW, denied).
 * The answers are checked equal before any figure is reported. The log (1M records by default,
 * CAPCTL_AUDIT_BENCH_RECORDS to change) is generated in a temp dir; a second, >= 1 GB log made
 * of copies of it is used for RSS only (jq on it would take minutes). Each command runs once:
 * jq alone takes 10+ s here, and the ratio is what travels.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAuditLog } from './audit-gen.js';
import type { BenchRow } from './harness.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'capctl.js');
const RECORDS = Number(process.env.CAPCTL_AUDIT_BENCH_RECORDS ?? 1_000_000);

/** Run under GNU time: wall seconds, CPU seconds (user+sys, all threads), peak RSS (MB), stdout. */
/**
 * Run and time one command. Its output goes to a file, not to a pipe this process drains: the
 * query prints tens of MB, and draining them here took a share of the 2 CPUs the command itself
 * was timed on (1.09 s measured through the pipe against 0.7 s to a file, same query).
 */
function timed(outFile: string, argv: string[]): { s: number; cpu: number; rssMb: number; out: string } {
  const fd = openSync(outFile, 'w');
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...argv], { encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] });
  } finally {
    closeSync(fd);
  }
  const err = String(r.stderr);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${err.slice(-500)}`);
  const [s, u, sys, kb] = err.trim().split('\n').at(-1)!.split(' ').map(Number);
  const out = readFileSync(outFile, 'utf8');
  rmSync(outFile, { force: true });
  return { s: s!, cpu: u! + sys!, rssMb: kb! / 1024, out };
}

/**
 * The fastest pure-jq summary found (same machine, 250k records, user CPU): nested keys 4.4 s;
 * one interpolated "cap (priv) verdict" key 5.4 s. The nested counts are flattened below into
 * capctl's keys for the comparison.
 */
const JQ_SUMMARY =
  'reduce inputs as $r ({}; .[$r.cap // "-"][$r.priv // "-"][if $r.cap or $r.priv then "-" else $r.syscall end][$r.verdict] += 1)';

function flattenJq(
  nested: Record<string, Record<string, Record<string, Record<string, number>>>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cap, byPriv] of Object.entries(nested))
    for (const [priv, bySys] of Object.entries(byPriv))
      for (const [sys, byVerdict] of Object.entries(bySys))
        for (const [verdict, n] of Object.entries(byVerdict)) {
          const key =
            cap !== '-' && priv !== '-'
              ? `${cap} (${priv})`
              : cap !== '-'
                ? cap
                : priv !== '-'
                  ? priv
                  : `syscall ${sys}`;
          out[`${key} ${verdict}`] = (out[`${key} ${verdict}`] ?? 0) + n;
        }
  return out;
}
/** The same question and the same answer as capctl's query: the matching records themselves. */
const JQ_QUERY = 'select(.capNumber == 13 and .verdict == "denied")';

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-bench-audit-'));
  try {
    const file = join(dir, 'audit.log');
    const out = join(dir, 'command.out');
    generateAuditLog(file, RECORDS);
    const mb = statSync(file).size / 1e6;

    const jqSum = timed(out, ['jq', '-n', '-c', JQ_SUMMARY, file]);
    const capSum = timed(out, [process.execPath, CLI, 'audit', 'summary', file, '--json']);
    const want = flattenJq(JSON.parse(jqSum.out));
    const got: Record<string, number> = {};
    for (const g of (JSON.parse(capSum.out) as { groups: { key: string; verdict: string; count: number }[] }).groups)
      got[`${g.key} ${g.verdict}`] = g.count;
    if (JSON.stringify(Object.entries(got).sort()) !== JSON.stringify(Object.entries(want).sort()))
      throw new Error(`summary differs from jq: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);

    const jqQ = timed(out, ['jq', '-c', JQ_QUERY, file]);
    const capQ = timed(out, [
      process.execPath,
      CLI,
      'audit',
      'query',
      file,
      '--cap',
      'CAP_NET_RAW',
      '--verdict',
      'denied',
      '--json',
    ]);
    const wantSeq = jqQ.out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    const gotSeq = (JSON.parse(capQ.out) as { seq: number }[]).map((r) => r.seq);
    if (JSON.stringify(gotSeq) !== JSON.stringify(wantSeq))
      throw new Error(`query differs from jq: ${gotSeq.length} vs ${wantSeq.length} rows`);

    // RSS on a log of at least 1 GB: copies of the same log (each copy's seq restarts at 1, as a
    // new writer's does, so no gaps are reported).
    const big = join(dir, 'audit-1g.log');
    const text = readFileSync(file);
    while (!statSync(big, { throwIfNoEntry: false }) || statSync(big).size < 1e9) appendFileSync(big, text);
    const gb = statSync(big).size / 1e9;
    const bigSum = timed(out, [process.execPath, CLI, 'audit', 'summary', big, '--json']);
    const bigQ = timed(out, [
      process.execPath,
      CLI,
      'audit',
      'query',
      big,
      '--cap',
      'CAP_NET_RAW',
      '--verdict',
      'denied',
      '--json',
    ]);

    const rate = (s: number) => RECORDS / s;
    return [
      {
        name: 'audit summary --json (counts per cap/priv/syscall and verdict)',
        value: rate(capSum.s),
        unit: 'records/s',
        baseline: { name: 'jq reduce', value: rate(jqSum.s) },
        target: rate(jqSum.s) * 10,
        note: `${RECORDS} records, ${mb.toFixed(0)} MB: capctl ${capSum.s} s (CPU ${capSum.cpu.toFixed(2)} s), RSS ${capSum.rssMb.toFixed(0)} MB; jq ${jqSum.s} s (CPU ${jqSum.cpu.toFixed(2)} s), RSS ${jqSum.rssMb.toFixed(0)} MB; same counts; ${gb.toFixed(2)} GB log: ${bigSum.s} s, RSS ${bigSum.rssMb.toFixed(0)} MB`,
      },
      {
        name: 'audit query --cap CAP_NET_RAW --verdict denied --json',
        value: rate(capQ.s),
        unit: 'records/s',
        baseline: { name: 'jq select', value: rate(jqQ.s) },
        target: rate(jqQ.s) * 10,
        note: `${wantSeq.length} rows: capctl ${capQ.s} s (CPU ${capQ.cpu.toFixed(2)} s), RSS ${capQ.rssMb.toFixed(0)} MB; jq ${jqQ.s} s (CPU ${jqQ.cpu.toFixed(2)} s), RSS ${jqQ.rssMb.toFixed(0)} MB; same rows; ${gb.toFixed(2)} GB log: ${bigQ.s} s, RSS ${bigQ.rssMb.toFixed(0)} MB`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
