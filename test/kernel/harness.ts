/**
 * Shared helpers for the kernel-differential tests: build the C generator, prepare exec
 * targets with file capabilities, record traces under strace with varied output options, and
 * replay them through the library.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Divergence, type ReplaySummary, replayFile } from '../../src/runtime/replay.js';

export const HERE = dirname(fileURLToPath(import.meta.url));

/** Whether a command is on PATH. */
export function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const isRoot = process.getuid?.() === 0;
export const haveGcc = has('gcc');
export const haveStrace = has('strace');
export const haveSetcap = has('setcap');
export const canRunKernelTests = isRoot && haveGcc && haveStrace && haveSetcap;
export const skipReason = !isRoot
  ? 'needs root'
  : !haveGcc
    ? 'needs gcc'
    : !haveStrace
      ? 'needs strace'
      : !haveSetcap
        ? 'needs setcap'
        : '';

/** Exec targets: name -> libcap text for setcap ('' = plain file; `-n 1000 …` = v3 rootid). */
export const TARGETS: ReadonlyArray<readonly [string, string]> = [
  ['plain', ''],
  ['raw_ep', 'cap_net_raw=ep'],
  ['raw_p', 'cap_net_raw=p'],
  ['raw_kill_i', 'cap_net_raw,cap_kill=i'],
  ['raw_nbs_ei', 'cap_net_raw,cap_net_bind_service=ei'],
  ['resource_ep', 'cap_sys_resource=ep'],
  ['setid_eip', 'cap_setuid,cap_setgid,cap_setpcap,cap_sys_chroot,cap_mknod=eip'],
  ['v3_rootid1000', '-n 1000 cap_net_raw=ep'],
];

export interface Workspace {
  dir: string;
  bin: string;
  nodes: string;
  targets: string[];
}

/** Compile gen.c and lay out the exec targets in a fresh directory. */
export function buildWorkspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-kernel-'));
  chmodSync(dir, 0o755);
  const bin = join(dir, 'gen');
  execFileSync('gcc', ['-O1', '-o', bin, join(HERE, 'gen.c'), '-lpthread'], { stdio: 'pipe' });
  const nodes = join(dir, 'nodes');
  mkdirSync(nodes);
  chmodSync(nodes, 0o1777);
  const targets: string[] = [];
  for (const [name, caps] of TARGETS) {
    const p = join(dir, `gen_${name}`);
    copyFileSync(bin, p);
    chmodSync(p, 0o755);
    if (caps !== '') execFileSync('setcap', [...caps.split(' '), p]);
    targets.push(p);
  }
  return { dir, bin, nodes, targets };
}

export function removeWorkspace(ws: Workspace): void {
  if (existsSync(ws.dir)) rmSync(ws.dir, { recursive: true, force: true });
}

/** strace output styles, cycled through by seed. */
export const STYLES: ReadonlyArray<{ toFile: boolean; flags: string[] }> = [
  { toFile: true, flags: [] },
  { toFile: false, flags: [] },
  { toFile: true, flags: ['-tt', '-T'] },
  { toFile: false, flags: ['-t', '-y'] },
  { toFile: true, flags: ['-ttt', '-y'] },
  { toFile: false, flags: ['-tt', '-T', '-y'] },
  { toFile: true, flags: ['-r'] },
  { toFile: false, flags: ['-ttt'] },
  { toFile: true, flags: ['-t', '-r', '-T'] },
  { toFile: false, flags: ['-Y', '-tt'] },
  { toFile: true, flags: ['-Y', '-y'] },
  { toFile: true, flags: ['-i', '-n'] },
  { toFile: false, flags: ['-qq', '-tt'] },
  { toFile: true, flags: ['-X', 'verbose'] },
  { toFile: true, flags: ['-X', 'raw'] },
  { toFile: false, flags: ['-v', '-s', '256', '-xx'] },
];

/**
 * Run `argv` under `strace -f` in `style`, writing the trace to `out`. With toFile, strace's
 * `-o`; otherwise strace writes to stderr, which is redirected to the file (the traced program
 * must not write to stderr itself).
 */
export function recordTrace(
  argv: string[],
  out: string,
  style: { toFile: boolean; flags: string[] },
  cwd?: string,
): Promise<number> {
  const args = ['-f', ...style.flags, ...(style.toFile ? ['-o', out] : []), '--', ...argv];
  return new Promise((resolve, reject) => {
    const errFd = style.toFile ? 'ignore' : 'pipe';
    const child = spawn('strace', args, { stdio: ['ignore', 'ignore', errFd], cwd });
    let chunks: Buffer[] = [];
    if (!style.toFile) child.stderr?.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (!style.toFile) {
        writeFileSync(out, Buffer.concat(chunks));
        chunks = [];
      }
      resolve(code ?? -1);
    });
  });
}

export function selfStatus(): string {
  return readFileSync('/proc/self/status', 'utf8');
}

export async function replayCollect(
  trace: string,
  status: string,
): Promise<{ summary: ReplaySummary; divergences: Divergence[]; malformed: string[] }> {
  const divergences: Divergence[] = [];
  const malformed: string[] = [];
  const summary = await replayFile(trace, {
    status,
    onDivergence: (d) => divergences.push(d),
    onMalformed: (m) => malformed.push(`${trace}:${m.line}: ${m.reason}: ${m.text.slice(0, 200)}`),
  });
  return { summary, divergences, malformed };
}
