/**
 * `capctl run` costs (needs root, gcc and seccomp user notification; skipped otherwise):
 *  - intercepted calls: a capget loop under `capctl run` (decode → runtime → answer in the
 *    supervisor's worker) against the same loop run natively;
 *  - calls that are not intercepted: a getpid loop under `capctl run` (the filter says ALLOW;
 *    the kernel's action cache skips the program) against native.
 * The loop program (bench/live-loop.c) times itself, so process start-up is not counted.
 * Best of three runs each.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cli = join(root, 'bin', 'capctl.js');

function best(argv: string[], rounds = 3): number {
  let top = 0;
  for (let r = 0; r < rounds; r++)
    top = Math.max(top, Number(execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).trim()));
  return top;
}

export async function run(): Promise<BenchRow[]> {
  const actions = existsSync('/proc/sys/kernel/seccomp/actions_avail');
  if (process.getuid?.() !== 0 || !actions) return [];
  const dir = mkdtempSync(join(tmpdir(), 'capctl-i14-bench-'));
  try {
    const bin = join(dir, 'live-loop');
    execFileSync('gcc', ['-O2', '-o', bin, join(root, 'bench', 'live-loop.c')]);
    const supervised = (what: string, n: number) => best([process.execPath, cli, 'run', '--', bin, what, String(n)]);
    const native = (what: string, n: number) => best([bin, what, String(n)]);
    const capNative = native('capget', 1_000_000);
    const capRun = supervised('capget', 50_000);
    const pidNative = native('getpid', 2_000_000);
    const pidRun = supervised('getpid', 2_000_000);
    return [
      {
        name: 'capget under capctl run (emulated, answered by the supervisor)',
        value: capRun,
        unit: 'calls/s',
        baseline: { name: 'native capget', value: capNative },
        target: 100_000,
        note: '50k calls; each is NOTIF_RECV, process_vm_readv, ID_VALID, process_vm_writev, NOTIF_SEND',
      },
      {
        name: 'getpid under capctl run (not intercepted)',
        value: pidRun,
        unit: 'calls/s',
        baseline: { name: 'native getpid', value: pidNative },
        note: `2M calls; cost ${(pidNative / pidRun).toFixed(3)}× native (target ≤ 1.1×)`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
