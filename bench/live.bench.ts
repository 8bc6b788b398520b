/**
 * The live host (issue 9), needs root and the cap_capable tracepoint:
 *  - `audit follow` under a flood of refusals from bench/fixtures/flood.c (setuid(0) as uid
 *    65534 in a loop, one refused CAP_SETUID check per call): refusals handled per second and
 *    events lost, against the flood's own rate without follow (the baseline). The flood runs at
 *    full speed and, separately, paced at 100k/s.
 *  - `learn`'s overhead: wall time of `chown -R 1:1` over many files (one CAP_CHOWN check per
 *    file) with and without `capctl learn --no-verify` around it, end to end (capctl's own start
 *    included); and a full learn, verification runs included, for scale.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchRow, bestMs } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const bin = join(repo, 'bin', 'capctl.js');

function canRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (existsSync('/sys/kernel/tracing/instances') && !existsSync('/sys/kernel/tracing/events/capability/cap_capable')) {
    return 'no capability:cap_capable tracepoint (Linux 6.14+)';
  }
  if (spawnSync('sh', ['-c', 'command -v gcc']).status !== 0) return 'no gcc';
  return undefined;
}

function flood(exe: string, n: number, rate: number): { rate: number; seconds: number } {
  const out = execFileSync(exe, [String(n), String(rate)], { encoding: 'utf8' })
    .trim()
    .split(' ');
  return { seconds: Number(out[1]), rate: Number(out[2]) };
}

interface FollowStats {
  events: number;
  lastEventAt?: number;
  lost: number;
  written: number;
  suppressed: number;
}

/** Run `capctl audit follow --comm flood` around one flood; its closing counts and the flood's rate. */
async function followFlood(
  exe: string,
  n: number,
  rate: number,
  log: string,
): Promise<{ stats: FollowStats; flood: { rate: number; seconds: number }; handledPerS: number }> {
  const child = spawn(process.execPath, [bin, 'audit', 'follow', '--comm', 'flood', '--json', '--out', log], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (b) => (err += b));
  const instances = () =>
    existsSync('/sys/kernel/tracing/instances')
      ? execFileSync('ls', ['/sys/kernel/tracing/instances'], { encoding: 'utf8' })
      : '';
  const deadline = Date.now() + 30_000;
  while (!instances().includes(`capctl-follow-${child.pid}-`) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  const f = flood(exe, n, rate);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  const stats = JSON.parse(err.trim().split('\n').pop() ?? '{}') as FollowStats;
  // Handled per second: from the flood's start until follow had handled its last refusal.
  const ms = (stats.lastEventAt ?? Date.now()) - t0;
  return { stats, flood: f, handledPerS: stats.events / (ms / 1000) };
}

export async function run(): Promise<BenchRow[]> {
  const why = canRun();
  if (why) return [{ name: `live (skipped: ${why})`, value: 0, unit: '-' }];
  const dir = mkdtempSync(join(tmpdir(), 'capctl-bench-live-'));
  try {
    const exe = join(dir, 'flood');
    execFileSync('gcc', ['-O2', '-o', exe, join(repo, 'bench', 'fixtures', 'flood.c')]);
    const rows: BenchRow[] = [];

    // --- follow ---
    const N = 1_000_000;
    const alone = flood(exe, N, 0);
    const full = await followFlood(exe, N, 0, join(dir, 'full.log'));
    rows.push({
      name: 'audit follow: refusals handled, flood at full speed',
      value: full.handledPerS,
      unit: 'refusals/s',
      baseline: { name: 'the flood alone (no follow)', value: alone.rate },
      target: Math.min(100_000, full.flood.rate),
      note: `${full.stats.events} of ${N} read, ${full.stats.lost} lost; flood ran at ${Math.round(full.flood.rate)}/s under follow; ${full.stats.written} written, ${full.stats.suppressed} rate-limited`,
    });
    const paced = await followFlood(exe, 500_000, 100_000, join(dir, 'paced.log'));
    rows.push({
      name: 'audit follow: refusals handled, flood paced at 100k/s',
      value: paced.handledPerS,
      unit: 'refusals/s',
      baseline: { name: 'the flood, as paced', value: paced.flood.rate },
      target: Math.min(100_000, paced.flood.rate),
      note: `${paced.stats.events} of 500000 read, ${paced.stats.lost} lost`,
    });

    // --- learn ---
    const files = join(dir, 'files');
    mkdirSync(files);
    for (let i = 0; i < 20_000; i++) writeFileSync(join(files, String(i)), '');
    const reset = () => execFileSync('chown', ['-R', '0:0', files]);
    const plain = await bestMs(() => {
      reset();
      execFileSync('chown', ['-R', '1:1', files]);
    });
    const resetMs = await bestMs(reset);
    const traced = await bestMs(() => {
      reset();
      execFileSync(process.execPath, [bin, 'learn', '--no-verify', '--', 'chown', '-R', '1:1', files], {
        stdio: 'ignore',
      });
    });
    // As runs per second, so that "higher is better" holds like every other row: the target is
    // the plain command's rate divided by 1.2 (learn at most 1.2x slower).
    const perS = (ms: number) => 1000 / (ms - resetMs);
    // learn's fixed cost (node's start, the instance's setup and removal) on a command that
    // makes no checks: what is left above it is the tracing's cost per syscall.
    const fixed = await bestMs(() => {
      execFileSync(process.execPath, [bin, 'learn', '--no-verify', '--', 'true'], { stdio: 'ignore' });
    });
    rows.push({
      name: 'learn --no-verify around chown -R over 20,000 files',
      value: perS(traced),
      unit: 'runs/s',
      baseline: { name: 'chown -R alone', value: perS(plain) },
      target: perS(plain) / 1.2,
      note: `wall ${((traced - resetMs) / 1000).toFixed(2)} s vs ${((plain - resetMs) / 1000).toFixed(2)} s alone; of it ${(fixed / 1000).toFixed(2)} s is learn's fixed cost (learn --no-verify -- true), so the tracing itself costs ${((traced - resetMs - fixed) / (plain - resetMs)).toFixed(2)}x`,
    });
    const fullLearn = await bestMs(() => {
      reset();
      execFileSync(process.execPath, [bin, 'learn', '--', 'chown', '-R', '1:1', files], { stdio: 'ignore' });
    }, 1);
    rows.push({
      name: 'learn with verification (trace + re-runs under exec), same command',
      value: perS(fullLearn),
      unit: 'runs/s',
      baseline: { name: 'chown -R alone', value: perS(plain) },
      note: `wall ${((fullLearn - resetMs) / 1000).toFixed(2)} s, one run; each candidate costs one more run of the command under capctl exec`,
    });
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
