/**
 * What capctl-oci-runtime adds to a container's life: create + start + delete of the same
 * container (busybox `true`, a bundle from `runc spec`) through the shim with the `ping` profile
 * annotated, against plain runc on the same bundle, 20 runs each, interleaved so that machine
 * noise hits all alike. The shim runs twice: as installed (create/run through the native fast
 * path, dist/native/capctl-oci-fast) and with CAPCTL_OCI_FAST=0 (the Node path, the reference).
 * The shim's compiled profile is stored before timing starts (as `capctl attach` or the first
 * container would leave it). Needs root and runc.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageRoot } from '../src/policy/paths.js';
import type { BenchRow } from './harness.js';

const RUNS = 20;

/**
 * Run a runtime command. Its stdio must not be a pipe: `create` hands the container its stdio,
 * and the container's init would hold a pipe open until it exits, so spawnSync would wait for it.
 * Errors go to a file instead.
 */
let errFile = '/dev/null';
function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const fd = openSync(errFile, 'w');
  try {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', fd], env });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${readFileSync(errFile, 'utf8').trim()}`);
  } finally {
    closeSync(fd);
  }
}

function bundle(dir: string): string {
  const b = join(dir, 'bundle');
  const rootfs = join(b, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', join(rootfs, 'bin', 'true'));
  sh('runc', ['spec', '--bundle', b]);
  const cfg = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
  cfg.process.terminal = false;
  cfg.process.args = ['/bin/true'];
  cfg.annotations = { 'io.capctl.profile': 'ping' };
  writeFileSync(join(b, 'config.json'), JSON.stringify(cfg, null, '\t'));
  return b;
}

/** One container's life in ms: create, start, delete --force (the engine's sequence). */
function life(runtime: string[], b: string, id: string, env?: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  sh(runtime[0]!, [...runtime.slice(1), 'create', '--bundle', b, id], env);
  sh(runtime[0]!, [...runtime.slice(1), 'start', id], env);
  sh(runtime[0]!, [...runtime.slice(1), 'delete', '--force', id], env);
  return performance.now() - t0;
}

/**
 * CPU time (user + system, ms) of this process's waited-for children so far (/proc/self/stat
 * cutime + cstime, in clock ticks of 10 ms). Wall time on a loaded machine is mostly waiting
 * for a CPU; CPU time shows what each variant costs by itself.
 */
function childCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8')
    .slice(readFileSync('/proc/self/stat', 'utf8').lastIndexOf(')') + 2)
    .split(' ');
  // Fields after the command: state is 3, so cutime (16) and cstime (17) are at 13 and 14.
  return (Number(f[13]) + Number(f[14])) * 10;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

export async function run(): Promise<BenchRow[]> {
  if (process.getuid?.() !== 0 || spawnSync('runc', ['--version']).status !== 0) {
    process.stderr.write('oci-shim: skipped (needs root and runc)\n');
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'capctl-i10-bench-'));
  try {
    errFile = join(dir, 'stderr');
    const b = bundle(dir);
    const pristine = readFileSync(join(b, 'config.json'), 'utf8');
    const state = join(dir, 'state');
    const shim = [
      join(packageRoot(), 'bin', 'capctl-oci-runtime'),
      '--capctl-state-dir',
      state,
      '--runtime-binary',
      'runc',
    ];
    const plain = ['runc'];
    const fast = existsSync(join(packageRoot(), 'dist', 'native', 'capctl-oci-fast'));
    const nodeEnv = { ...process.env, CAPCTL_OCI_FAST: '0' };
    life(shim, b, `capctl-i10-warm-${process.pid}`, nodeEnv); // the Node path stores the compiled profile
    const kinds = fast ? (['fast', 'node', 'plain'] as const) : (['node', 'plain'] as const);
    const t: Record<'fast' | 'node' | 'plain', number[]> = { fast: [], node: [], plain: [] };
    const cpu: Record<'fast' | 'node' | 'plain', number> = { fast: 0, node: 0, plain: 0 };
    for (let i = 0; i < RUNS; i++) {
      // Rotate the order so that no variant always runs first (or right after another).
      for (let j = 0; j < kinds.length; j++) {
        const k = kinds[(i + j) % kinds.length]!;
        writeFileSync(join(b, 'config.json'), pristine); // each create starts from the engine's file
        const id = `capctl-i10-${k}-${process.pid}-${i}`;
        const c0 = childCpuMs();
        t[k].push(k === 'plain' ? life(plain, b, id) : life(shim, b, id, k === 'node' ? nodeEnv : process.env));
        cpu[k] += childCpuMs() - c0;
      }
    }
    // What Node's own start-up costs on this machine now: the floor for any Node-based shim.
    const node: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      sh(process.execPath, ['-e', '0']);
      node.push(performance.now() - t0);
    }
    const mp = mean(t.plain);
    const row = (k: 'fast' | 'node', what: string): BenchRow => {
      const ms = mean(t[k]);
      const diff = ms - mp;
      return {
        name: `container create+start+delete through capctl-oci-runtime, ${what} (ping profile) vs plain runc, ms per container (mean)`,
        value: ms,
        unit: 'ms',
        baseline: { name: 'plain runc, same bundle, same run', value: mp },
        note: `${RUNS} runs each, interleaved; medians ${median(t[k]).toFixed(1)} vs ${median(t.plain).toFixed(1)} ms; ratio ${(ms / mp).toFixed(2)}x; shim adds ${diff.toFixed(1)} ms per container (target ≤ 50 ms: ${diff <= 50 ? 'met' : 'missed'}; lower is better); CPU time of the runtime processes ${(cpu[k] / RUNS).toFixed(1)} vs ${(cpu.plain / RUNS).toFixed(1)} ms per container; load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}`,
      };
    };
    if (!fast)
      process.stderr.write('oci-shim: no dist/native/capctl-oci-fast (no C compiler at build): Node path only\n');
    return [
      ...(fast ? [row('fast', 'native fast path')] : []),
      row('node', 'Node path (CAPCTL_OCI_FAST=0)'),
      {
        name: 'node -e 0 (Node start-up alone, once per create through the Node path), ms',
        value: mean(node),
        unit: 'ms',
        baseline: { name: "the Node path's added time per container", value: mean(t.node) - mp },
        note: `${RUNS} runs; median ${median(node).toFixed(1)} ms`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
