/**
 * Transparency: with --host linux and no profile a program cannot tell it is supervised. The
 * kernel-differential generator (test/kernel/gen.c: threads, forks, exec of files with file
 * capabilities) runs natively and under `capctl run`, both under `strace -f`; every
 * capget/capset/prctl/set*id result must be identical, task by task. And the capability tools
 * print the same inside and outside.
 *
 * CI: 100 seeds in one supervised run (20 s on an idle 2-core machine, 60 s when shared). CAPCTL_SOAK=1 runs 2000; =N runs N.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorkspace, canRunKernelTests, removeWorkspace, type Workspace } from '../kernel/harness.js';
import { CLI, canSupervise, capctl, firstDifference, has, sequences, superviseSkip } from './run-helpers.js';

const soak = process.env.CAPCTL_SOAK;
const SEEDS = soak === undefined ? 100 : soak === '1' ? 2000 : Number(soak);
const STEPS = 70;

describe.runIf(canSupervise && canRunKernelTests)(`capctl run is transparent${superviseSkip}`, () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = buildWorkspace();
  });
  afterAll(() => {
    if (ws) removeWorkspace(ws);
  });

  it(`gen under strace: ${SEEDS} seeds give identical capget/capset/prctl/set*id results natively and supervised`, () => {
    // One shell loop per mode: one supervisor for all seeds keeps CI time down.
    const loop = (dir: string) =>
      `for s in $(seq 1 ${SEEDS}); do strace -f -o ${dir}/t.$s ${ws.targets[0]} $s ${STEPS} ${ws.nodes} ${ws.targets.join(' ')}; done`;
    spawnSync('mkdir', ['-p', join(ws.dir, 'native'), join(ws.dir, 'live')]);
    const native = spawnSync('sh', ['-c', loop(join(ws.dir, 'native'))], { stdio: 'ignore', timeout: 300_000 });
    expect(native.status).toBe(0);
    const live = spawnSync(process.execPath, [CLI, 'run', '--json', '--', 'sh', '-c', loop(join(ws.dir, 'live'))], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(live.status, live.stderr).toBe(0);
    const stats = JSON.parse(live.stderr.trim().split('\n').pop()!).stats;
    // The run really was supervised: every seed's calls went through the engine.
    expect(stats.emulated).toBeGreaterThan(SEEDS * 10);
    expect(stats.divergences).toBe(0);
    let compared = 0;
    const failures: string[] = [];
    for (let s = 1; s <= SEEDS; s++) {
      const a = sequences(readFileSync(join(ws.dir, 'native', `t.${s}`), 'utf8'));
      const b = sequences(readFileSync(join(ws.dir, 'live', `t.${s}`), 'utf8'));
      for (const v of a.calls.values()) compared += v.length;
      const d = firstDifference(a, b);
      if (d !== undefined) failures.push(`seed ${s}: ${d}`);
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(compared).toBeGreaterThan(SEEDS * 20);
  }, 600_000);

  const tools: [string, string][] = [
    ['capsh --print', 'capsh --print'],
    ['setpriv -d', 'setpriv -d'],
    ['getpcaps of the shell', 'getpcaps $$ | sed "s/^[0-9]*//"'],
    [
      'capsh dropping to nobody with kept caps',
      'capsh --drop=cap_net_raw --caps="cap_setuid,cap_setgid+eip" --keep=1 --user=nobody -- -c "getpcaps \\$\\$ | sed s/^[0-9]*//; grep Cap /proc/self/status"',
    ],
  ];
  for (const [name, cmd] of tools) {
    it.runIf(has('capsh') && has('setpriv') && has('getpcaps'))(`${name} prints the same inside and outside`, () => {
      const outside = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
      const inside = capctl(['run', '--', 'sh', '-c', cmd]);
      expect(inside.code).toBe(outside.status);
      expect(inside.out).toBe(outside.stdout);
      expect(outside.stdout.length).toBeGreaterThan(10);
    });
  }
});
