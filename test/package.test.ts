/**
 * The npm package as a user gets it: `npm pack` ships the LICENSE, docs/, the man page, the
 * compiled src, profiles and data, and nothing of bench/ or test/ output and no source map
 * (they would point at src/*.ts, which is not shipped); the tarball installed into an empty
 * directory runs `npx capctl --version` and real commands. Dependencies come from the npm
 * cache `npm ci` filled (--prefer-offline).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, ROOT } from './caps/helpers.js';

const BUILT = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));

describe.skipIf(!BUILT || !hasTool('npm'))('npm pack (needs the build and npm)', () => {
  const work = mkdtempSync(join(tmpdir(), 'capctl-i13-pack-'));
  let files: string[] = [];
  let tarball = '';
  beforeAll(() => {
    // `npm run build` writes the man page; a plain `tsc` build does not.
    if (!existsSync(join(ROOT, 'dist', 'man', 'capctl.1')))
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-man.js')]);
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((f) => f.path);
    tarball = join(work, info!.filename);
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('ships LICENSE, docs, the man page, compiled src, profiles and data', () => {
    for (const f of [
      'LICENSE',
      'package.json',
      'bin/capctl.js',
      'dist/man/capctl.1',
      'dist/src/cli/main.js',
      'docs/policy.md',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('policies/') && f.endsWith('.yaml'))).toBe(true);
    expect(files.some((f) => f.startsWith('data/') && f.endsWith('.tsv'))).toBe(true);
  });

  // The shim's native fast path is built at `npm run build` (prepare); a registry install runs
  // no build, so the tarball carries the binary (static, x86-64 like everything `run` does).
  it.skipIf(!existsSync(join(ROOT, 'dist', 'native', 'capctl-oci-fast')))(
    'ships the OCI shim fast path built here (skipped when this machine had no C compiler)',
    () => {
      expect(files).toContain('dist/native/capctl-oci-fast');
    },
  );

  it('ships no bench or test output, no TypeScript sources and no source maps', () => {
    expect(
      files.filter((f) => /^dist\/(bench|test)\//.test(f) || f.endsWith('.map') || /^(src|test|bench)\//.test(f)),
    ).toEqual([]);
  });

  it('installs into an empty directory and runs: --version, decode, jail create, man page in place', () => {
    const app = mkdtempSync(join(work, 'app-'));
    const inst = spawnSync(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball],
      {
        cwd: app,
        encoding: 'utf8',
      },
    );
    expect(inst.status, inst.stderr).toBe(0);
    const npx = (...args: string[]) =>
      spawnSync('npx', ['--no-install', 'capctl', ...args], { cwd: app, encoding: 'utf8' });
    const v = npx('--version');
    expect(v.stdout.trim()).toBe(
      JSON.parse(execFileSync('npm', ['pkg', 'get', 'version'], { cwd: ROOT, encoding: 'utf8' })),
    );
    expect(npx('decode', '3000').stdout).toBe('0x0000000000003000=cap_net_admin,cap_net_raw\n');
    const jail = npx('jail', 'create', 'pinger', '--profile', 'ping', '--path', '/jails/pinger', '--dry-run');
    expect(jail.stderr).toBe('');
    expect(jail.stdout).toContain('allow.raw_sockets;');
    expect(existsSync(join(app, 'node_modules', 'capctl', 'dist', 'man', 'capctl.1'))).toBe(true);
  }, 300_000);
});
