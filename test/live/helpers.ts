/** Shared by the live tests: the built CLI, root and tool checks. */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/policy/paths.js';

export const root = packageRoot();
export const bin = join(root, 'bin', 'capctl.js');
export const isRoot = process.getuid?.() === 0;

/** Run the built CLI synchronously. */
export function capctl(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    timeout: 60_000,
  });
}

/** Build dist/ once if missing (CI runs `npm test`, which builds first). */
export function ensureBuilt(): void {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
}

export function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** The five capability lines of a /proc/PID/status text. */
export function capLines(status: string): string {
  return status
    .split('\n')
    .filter((l) => /^Cap(Inh|Prm|Eff|Bnd|Amb):/.test(l))
    .join('\n');
}

/** Run the built CLI without blocking (for running several at once). */
export function capctlAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ status: code, stdout, stderr });
      },
    );
  });
}
