/**
 * Shared helpers for the live tests (`capctl run`): the CLI, a check that this machine can
 * supervise (root, seccomp user notification), and a trace normaliser that turns an
 * `strace -f` trace into per-task call sequences keyed by the task's place in the process tree,
 * so a native run and a supervised run of the same program can be compared line for line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLONE_NAMES, StraceReader } from '../../src/runtime/strace/reader.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'bin', 'capctl.js');

const actions = existsSync('/proc/sys/kernel/seccomp/actions_avail')
  ? readFileSync('/proc/sys/kernel/seccomp/actions_avail', 'utf8')
  : '';
export const canSupervise =
  process.getuid?.() === 0 && actions.includes('user_notif') && existsSync(join(ROOT, 'dist', 'src', 'live', 'run.js'));
export const superviseSkip = canSupervise ? '' : ' — skipped: needs root, user_notif and a build (dist/)';

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function capctl(
  args: string[],
  opts: { input?: string; timeout?: number } = {},
): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: opts.timeout ?? 60_000,
    input: opts.input,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The credential calls whose results must not change under supervision. */
export const CRED_CALLS = new Set([
  'capget',
  'capset',
  'prctl',
  'setuid',
  'setgid',
  'setreuid',
  'setregid',
  'setresuid',
  'setresgid',
  'setfsuid',
  'setfsgid',
  'setgroups',
]);

/**
 * Per-task sequences of `name(args) = result` for CRED_CALLS. A task's key is its path in the
 * process tree ("r", "r.0", "r.0.2", …: the n-th clone of its creator), so pids, which differ
 * between runs, never appear; pid arguments are rewritten to keys, pointers to "P".
 */
export function sequences(trace: string): Map<string, string[]> {
  const key = new Map<number, string>();
  const clones = new Map<string, number>();
  const seqs = new Map<string, string[]>();
  const keyOf = (pid: number) => {
    let k = key.get(pid);
    if (k === undefined) {
      k = key.size === 0 ? 'r' : `?${pid}`;
      key.set(pid, k);
    }
    return k;
  };
  const reader = new StraceReader({
    names: CRED_CALLS,
    onRecord: (rec) => {
      if (rec.kind === 'superseded') {
        const k = key.get(rec.oldPid);
        if (k !== undefined) key.set(rec.pid, k);
        return;
      }
      if (rec.kind !== 'syscall') return;
      const k = keyOf(rec.pid);
      if (CLONE_NAMES.has(rec.name)) {
        if (rec.ret !== undefined && rec.ret > 0) {
          const n = clones.get(k) ?? 0;
          clones.set(k, n + 1);
          key.set(rec.ret, `${k}.${n}`);
        }
        return;
      }
      const args = rec.args
        .replace(/0x[0-9a-f]{6,}/g, 'P')
        .replace(/pid=(\d+)/g, (_, p: string) => `pid=${p === '0' ? '0' : (key.get(Number(p)) ?? 'other')}`);
      const line = `${rec.name}(${args}) = ${rec.retText}`;
      let s = seqs.get(k);
      if (s === undefined) seqs.set(k, (s = []));
      s.push(line);
    },
  });
  reader.feed(trace);
  reader.end();
  return seqs;
}

/** The first difference between two sequence maps, or undefined when equal. */
export function firstDifference(a: Map<string, string[]>, b: Map<string, string[]>): string | undefined {
  const keys = new Set([...a.keys(), ...b.keys()]);
  for (const k of [...keys].sort()) {
    const x = a.get(k) ?? [];
    const y = b.get(k) ?? [];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      if (x[i] !== y[i]) return `task ${k}, call ${i}:\n  native:     ${x[i]}\n  supervised: ${y[i]}`;
    }
  }
  return undefined;
}
