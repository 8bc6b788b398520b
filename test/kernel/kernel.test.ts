/**
 * Kernel-differential test: random syscall sequences run on the live kernel under strace -f
 * (varied output styles), then replayed; the model must predict every modelled call.
 *
 * CI: 800 seeds (~150k modelled calls) in about half a minute on 2 cores. CAPCTL_SOAK=1 runs
 * 6000 seeds; CAPCTL_SOAK=N runs N.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Divergence } from '../../src/runtime/replay.js';
import {
  buildWorkspace,
  canRunKernelTests,
  HERE,
  recordTrace,
  removeWorkspace,
  replayCollect,
  STYLES,
  selfStatus,
  skipReason,
  type Workspace,
} from './harness.js';

const CLI_BUILT = existsSync(join(HERE, '..', '..', 'dist', 'src', 'cli', 'main.js'));
const KEEP_DIR = join(tmpdir(), 'capctl-kernel-failures');
const soak = process.env.CAPCTL_SOAK;
const SEEDS = soak === undefined ? 800 : soak === '1' ? 6000 : Number(soak);
const STEPS = 70;
const CONCURRENCY = 2;

describe.runIf(canRunKernelTests)(
  `kernel differential (root, gcc, strace, setcap)${skipReason ? ` — skipped: ${skipReason}` : ''}`,
  () => {
    let ws: Workspace;
    const status = canRunKernelTests ? selfStatus() : '';

    beforeAll(() => {
      ws = buildWorkspace();
    });
    afterAll(() => {
      if (ws) removeWorkspace(ws);
    });

    it(`replays ${SEEDS} generated traces with 0 divergences`, async () => {
      const failures: string[] = [];
      const by: Record<string, number> = {};
      let calls = 0;
      let matched = 0;
      let traces = 0;
      let next = 1;
      const worker = async () => {
        for (;;) {
          const seed = next++;
          if (seed > SEEDS) return;
          const style = STYLES[seed % STYLES.length]!;
          const out = join(ws.dir, `trace-${seed}.txt`);
          // The first exec target is the plain copy; the others carry file capabilities.
          await recordTrace([ws.targets[0]!, String(seed), String(STEPS), ws.nodes, ...ws.targets], out, style);
          const r = await replayCollect(out, status);
          traces++;
          calls += r.summary.calls;
          matched += r.summary.matched;
          for (const [k, v] of Object.entries(r.summary.bySyscall)) by[k] = (by[k] ?? 0) + v.matched;
          if (r.summary.diverged > 0 || r.summary.malformed > 0) {
            // Keep the trace for a post-mortem: the workspace is removed after the run.
            mkdirSync(KEEP_DIR, { recursive: true });
            copyFileSync(out, join(KEEP_DIR, `seed-${seed}.strace`));
            writeFileSync(join(KEEP_DIR, `seed-${seed}.status`), status);
            const show = (d: Divergence) =>
              `  ${d.line}: ${d.call.slice(0, 160)}\n    recorded ${d.recorded}\n    predicted ${d.predicted}`;
            failures.push(
              `seed ${seed} (strace ${style.toFile ? '-o' : 'stderr'} ${style.flags.join(' ')}; kept in ${KEEP_DIR}): ${r.summary.diverged} diverged, ${r.summary.malformed} malformed\n${r.divergences.slice(0, 3).map(show).join('\n')}${r.malformed.slice(0, 3).join('\n')}`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
      expect(traces).toBe(SEEDS);
      if (SEEDS >= 300) expect(calls).toBeGreaterThan(20_000);
      // Nearly everything the generator does is modelled; the rest are its deliberate
      // unmodelled calls (PR_SET_NAME, PR_GET_DUMPABLE's kin, unshare).
      expect(matched / calls).toBeGreaterThan(0.9);
      // The generator must keep covering every family of calls.
      for (const name of [
        'capget',
        'capset',
        'prctl',
        'setresuid',
        'setuid',
        'setfsuid',
        'setgroups',
        'execve',
        'clone',
        'clone3',
        'getxattr',
      ])
        expect(by[name] ?? 0, `${name} matched`).toBeGreaterThan(0);
    }, 600_000);

    it.skipIf(!CLI_BUILT)(
      'capctl replay --check agrees (exit 0, the summary line) on a generated trace (needs npm run build)',
      async () => {
        const cli = join(HERE, '..', '..', 'bin', 'capctl.js');
        const out = join(ws.dir, 'cli-trace.txt');
        await recordTrace([ws.targets[0]!, '424242', '60', ws.nodes, ...ws.targets], out, STYLES[1]!);
        const st = join(ws.dir, 'status.txt');
        spawnSync('sh', ['-c', `cat /proc/self/status > ${st}`]);
        // The status of the sh above is this process's credential too (root, same sets).
        // Recorded on this kernel: --kernel says so (a plain trace otherwise gets a warning).
        const r = spawnSync(process.execPath, [cli, 'replay', out, '--status', st, '--kernel', release(), '--check'], {
          encoding: 'utf8',
        });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^replayed (\d+) calls: \d+ matched, 0 diverged, \d+ not modeled\n$/);
        expect(readFileSync(out, 'utf8').length).toBeGreaterThan(0);
      },
    );
  },
);
