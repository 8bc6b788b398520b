/**
 * The README's quick start, as written: its first command (after `npm ci`, which CI has just
 * run) replays the bundled recording and summarises the audit log. It must exit 0, print no
 * warning (the first thing a new user would see), and give the figures the
 * README describes. The audit path is moved to a temporary file so runs never share one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { packageRoot } from '../src/policy/paths.js';

const root = packageRoot();

function quickStart(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /## Quick start\n+```sh\n([^\n]+)\n([^\n]+)\n```/.exec(readme);
  if (!m) throw new Error('README has no two-line quick start');
  return [m[1]!, m[2]!];
}

it('the quick start is two commands: the bundled example, then npm test', () => {
  const [first, second] = quickStart();
  expect(first.startsWith('npm ci && ')).toBe(true);
  expect(second).toBe('npm test');
});

it('the quick start first command runs: 7 divergences, 9 audit records summarised, no warning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-quickstart-'));
  try {
    const log = join(dir, 'audit.log');
    const cmd = quickStart()[0]!
      .replace(/^npm ci && /, '')
      .replaceAll('/tmp/capctl-audit.log', log);
    expect(cmd).toContain(log);
    const r = spawnSync('bash', ['-c', cmd], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    // stderr carries the one status line of the audit writer and nothing else (no warning).
    expect(r.stderr).toBe(`capctl: 9 audit record(s) appended to ${log}\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('replayed 13 calls: 6 matched, 7 diverged, 0 not modeled');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(9);
    // audit summary groups them: the raw socket refused at the jail stage is among them.
    expect(r.stdout).toMatch(/PRIV_NETINET_RAW/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
