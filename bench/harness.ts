/**
 * Benchmark harness. Every figure is reported with a baseline measured in the same run, because
 * these machines are noisy: absolute times alone mean little, ratios travel.
 *
 * A bench module (bench/*.bench.ts) exports `run(): Promise<BenchRow[]>`; bench/run.ts runs them
 * all and prints one Markdown table per module, ready for BENCHMARKS.md.
 */
import { performance } from 'node:perf_hooks';

export interface BenchRow {
  /** What was measured. */
  name: string;
  /** Throughput figure and its unit, e.g. 12.3e6 'ops/s' or 80 'MB/s'. */
  value: number;
  unit: string;
  /** The in-run baseline: what it is and its figure in the same unit. */
  baseline?: { name: string; value: number };
  /** Target from the issue, in the same unit, if there is one. */
  target?: number;
  /** Free-form note (sizes, iterations). */
  note?: string;
}

/**
 * Run `fn` in batches until `minMs` has passed (after a warm-up) and return operations per
 * second, counting `opsPerCall` operations per call. The best of `rounds` rounds is reported,
 * which is the usual way to read through scheduler noise.
 */
export function opsPerSecond(fn: () => void, opsPerCall = 1, minMs = 400, rounds = 3): number {
  let batch = 1;
  // Warm-up and batch sizing: grow until one batch takes ~10 ms.
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    if (performance.now() - t0 > 10) break;
    batch *= 2;
  }
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < minMs) {
      for (let i = 0; i < batch; i++) fn();
      calls += batch;
      t = performance.now();
    }
    best = Math.max(best, (calls * opsPerCall * 1000) / (t - t0));
  }
  return best;
}

/** Wall time of an async or sync job in milliseconds (best of `rounds`). */
export async function bestMs(fn: () => unknown, rounds = 3): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(v < 10 ? 2 : 1);
}

export function markdownTable(title: string, rows: BenchRow[]): string {
  const lines = [
    `### ${title}`,
    '',
    '| measure | value | baseline (same run) | ratio | target | note |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const base = r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)} ${r.unit}` : '';
    const ratio = r.baseline ? `${(r.value / r.baseline.value).toFixed(2)}×` : '';
    const target =
      r.target !== undefined ? `${fmt(r.target)} ${r.unit} ${r.value >= r.target ? '(met)' : '(missed)'}` : '';
    lines.push(`| ${r.name} | ${fmt(r.value)} ${r.unit} | ${base} | ${ratio} | ${target} | ${r.note ?? ''} |`);
  }
  return lines.join('\n');
}
