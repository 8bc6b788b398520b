/**
 * Shared helpers for the caps tests: run the built CLI, find the libcap tools, a seeded PRNG,
 * and what this process may hold (its own /proc status), so differential tests stay within
 * sets capsh can actually set here.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapSet } from '../../src/caps/capset.js';
import { parseProcStatus } from '../../src/caps/procstatus.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'bin', 'capctl.js');
/** The CLI runs from dist/; `npm test` builds first. */
export const CLI_BUILT = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function capctl(args: string[], input?: string): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function run(cmd: string, args: string[], input?: string): RunResult {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

export const IS_ROOT = process.getuid?.() === 0;

/** mulberry32: small, fast, seedable; failures print the seed so they can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SEED = Number(process.env.CAPCTL_TEST_SEED ?? Date.now() % 1_000_000);

export function selfStatus() {
  return parseProcStatus(readFileSync('/proc/self/status', 'utf8'));
}

/**
 * The (e, p, i) a child capsh can reach with cap_set_proc from this process's state, per
 * kernel/capability.c cap_capset() (security/commoncap.c):
 *   pP' ⊆ pP;  pE' ⊆ pP';  pI' ⊆ pI | bset;  and without CAP_SETPCAP also pI' ⊆ pI | pP.
 * capsh raises CAP_SETPCAP in pE first when pP has it (will_need_setpcap).
 */
export function holdable(): { permitted: CapSet; inheritable: CapSet } {
  const st = selfStatus();
  const setpcap = st.permitted.has(8);
  const inh = st.inheritable.union(setpcap ? st.bounding : st.bounding.intersect(st.permitted));
  return { permitted: st.permitted, inheritable: inh };
}

/**
 * Run `body(containerId, hostPid)` against a real podman container (busybox `sleep`), built
 * from a local image named capctl-i13-NAME-PID, and remove both afterwards.
 */
export function withPodmanContainer(name: string, body: (cid: string, pid: number) => void): void {
  const tag = `localhost/capctl-i13-${name}-${process.pid}:1`;
  const dir = mkdtempSync(join(tmpdir(), `capctl-i13-${name}-`));
  let cid = '';
  try {
    mkdirSync(join(dir, 'bin'));
    copyFileSync(run('sh', ['-c', 'command -v busybox']).stdout.trim(), join(dir, 'bin', 'busybox'));
    symlinkSync('busybox', join(dir, 'bin', 'sleep'));
    run('tar', ['-C', dir, '-cf', `${dir}.tar`, '.']);
    const imp = run('podman', ['import', '-q', `${dir}.tar`, tag]);
    if (imp.status !== 0) throw new Error(`podman import: ${imp.stderr}`);
    // runc: crun refuses this machine's hybrid cgroup layout; the ulimits stay within the
    // bounding set, which lacks CAP_SYS_RESOURCE here.
    const r = run('podman', [
      'run',
      '-d',
      '--rm',
      '--runtime',
      'runc',
      '--ulimit',
      'nofile=1024:1024',
      '--ulimit',
      'nproc=1024:1024',
      tag,
      '/bin/sleep',
      '60',
    ]);
    if (r.status !== 0) throw new Error(`podman run: ${r.stderr}`);
    cid = r.stdout.trim();
    body(cid, Number(run('podman', ['inspect', '-f', '{{.State.Pid}}', cid]).stdout.trim()));
  } finally {
    if (cid) run('podman', ['rm', '-f', '-t', '0', cid]);
    run('podman', ['rmi', '-f', tag]);
    rmSync(`${dir}.tar`, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
