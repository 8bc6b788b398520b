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

/** Per-task call sequences of one trace, and the tasks an exec may have cut short. */
export interface Sequences {
  calls: Map<string, string[]>;
  /**
   * Threads killed when another thread of their process exec'd (de_thread): where each one
   * stopped depends on timing, so only the calls both runs have are compared for them.
   */
  cut: Set<string>;
}

/**
 * Per-task sequences of `name(args) = result` for CRED_CALLS. A task's key is its path in the
 * process tree ("r", "r.0", "r.0.2", …: the n-th clone of its creator), so pids, which differ
 * between runs, never appear; pid arguments are rewritten to keys, pointers to "P".
 */
export function sequences(trace: string): Sequences {
  const key = new Map<number, string>();
  const clones = new Map<string, number>();
  const seqs = new Map<string, string[]>();
  /** task key → the key of its thread group's first task. */
  const group = new Map<string, string>();
  const cut = new Set<string>();
  const keyOf = (pid: number) => {
    let k = key.get(pid);
    if (k === undefined) {
      k = key.size === 0 ? 'r' : `?${pid}`;
      key.set(pid, k);
    }
    return k;
  };
  const groupOf = (k: string) => group.get(k) ?? k;
  const reader = new StraceReader({
    names: CRED_CALLS,
    onRecord: (rec) => {
      if (rec.kind === 'superseded') {
        const k = key.get(rec.oldPid);
        if (k !== undefined) {
          // Every other thread of the group was killed wherever it happened to be.
          const g = groupOf(k);
          for (const [t, tg] of [...group.entries(), [g, g] as const]) if (tg === g && t !== k) cut.add(t);
          key.set(rec.pid, k);
        }
        return;
      }
      if (rec.kind !== 'syscall') return;
      const k = keyOf(rec.pid);
      if (CLONE_NAMES.has(rec.name)) {
        if (rec.ret !== undefined && rec.ret > 0) {
          const n = clones.get(k) ?? 0;
          clones.set(k, n + 1);
          const child = `${k}.${n}`;
          key.set(rec.ret, child);
          group.set(child, rec.args.includes('CLONE_THREAD') ? groupOf(k) : child);
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
  return { calls: seqs, cut };
}

/**
 * The first difference between two runs' sequences, or undefined when equal. A thread cut short
 * by another thread's exec in either run is compared over the calls both runs made.
 */
export function firstDifference(a: Sequences, b: Sequences): string | undefined {
  const keys = new Set([...a.calls.keys(), ...b.calls.keys()]);
  for (const k of [...keys].sort()) {
    const x = a.calls.get(k) ?? [];
    const y = b.calls.get(k) ?? [];
    const n = a.cut.has(k) || b.cut.has(k) ? Math.min(x.length, y.length) : Math.max(x.length, y.length);
    for (let i = 0; i < n; i++) {
      if (x[i] !== y[i]) return `task ${k}, call ${i}:\n  native:     ${x[i]}\n  supervised: ${y[i]}`;
    }
  }
  return undefined;
}

/** The records of an audit log a test run wrote (none when it was never created). */
export function records(log: string): Record<string, unknown>[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
