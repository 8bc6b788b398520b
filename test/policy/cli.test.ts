/**
 * The built CLI (node bin/capctl.js, after `npm run build`): concurrent attach processes, exit
 * codes, JSON output, jail create. Builds dist/ first if it is missing.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/policy/paths.js';
import { stockDir } from './helpers.js';

const root = packageRoot();
const bin = join(root, 'bin', 'capctl.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
const fresh = () => mkdtempSync(join(tmpdir(), 'capctl-cli-'));
// Copies with mode 0644 for everything that attaches (as root, attach checks modes).
const stock = stockDir();

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
}, 180_000);

describe('capctl attach under concurrency', () => {
  it('keeps all 20 bindings from 20 concurrent attach processes on one state directory', async () => {
    const state = fresh();
    const exec = promisify(execFile);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        exec(
          process.execPath,
          [bin, 'attach', '--container', `c${i}`, '--state-dir', state, join(stock, 'docker-default.yaml')],
          {
            cwd: root,
          },
        ),
      ),
    );
    for (const r of results) expect(r.stdout).toMatch(/^attached docker-default/);
    const listed = JSON.parse(run(['bindings', '--json', '--state-dir', state]).stdout) as {
      target: string;
      status: string;
    }[];
    expect(listed.map((b) => b.target).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`).sort());
    expect(listed.every((b) => b.status === 'ok')).toBe(true);
  }, 180_000);
});

describe('capctl profile', () => {
  it('validate: exit 0 for the stock profiles, 2 with every error for a bad one', () => {
    expect(run(['profile', 'validate', 'policies/docker-default.yaml', 'ping']).status).toBe(0);
    const dir = fresh();
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\ncapabilities:\n  bounding: [NET_RAWW]\nmode: enforcing\n');
    const r = run(['profile', 'validate', join(dir, 'bad.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'bad.yaml:3:14: capabilities.bounding[0]: unknown capability "NET_RAWW" (did you mean NET_RAW?)',
    );
    expect(r.stderr).toContain(
      'bad.yaml:4:7: mode: string "enforcing" is not one of enforce, complain (did you mean "enforce"?)',
    );
    const j = JSON.parse(run(['profile', 'validate', '--json', join(dir, 'bad.yaml')]).stdout);
    expect(j[0]).toMatchObject({ valid: false });
    expect(j[0].errors).toHaveLength(2);
    expect(j[0].errors[0]).toMatchObject({ line: 3, col: 14, path: 'capabilities.bounding[0]' });
  });

  it('show prints a profile that loads back to the same decisions', () => {
    const dir = fresh();
    const shown = run(['profile', 'show', 'nginx']).stdout;
    writeFileSync(join(dir, 'nginx-resolved.yaml'), shown);
    expect(run(['profile', 'validate', join(dir, 'nginx-resolved.yaml')]).status).toBe(0);
    const d = run(['profile', 'diff', 'nginx', join(dir, 'nginx-resolved.yaml')]);
    expect(d.stdout).toBe('profiles decide the same\n');
    expect(d.status).toBe(0);
  });

  it('diff lists set differences and exits 1', () => {
    const r = run(['profile', 'diff', '--json', 'docker-default', 'podman-default']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.same).toBe(false);
    expect(j.sets.bounding.onlyA.sort()).toEqual(['CAP_AUDIT_WRITE', 'CAP_MKNOD', 'CAP_NET_RAW']);
    expect(j.sets.bounding.onlyB).toEqual([]);
  });

  it('compile --json exposes the tables', () => {
    const j = JSON.parse(run(['profile', 'compile', '--json', 'docker-default']).stdout);
    expect(j.capabilities.allow).toBe('00000000a80425fb');
    expect(j.privPolicy.capAllow).toBe('00000000a80425fb');
  });

  it('explain names the deciding rule, agrees with casbin, exits 1 on deny', () => {
    const r = run(['profile', 'explain', 'nginx', 'NET_BIND_SERVICE', 'uid=101']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /decision: deny\nrule: +deny CAP_CHOWN.* when uid 1-4294967294 at policies\/nginx\.yaml:12:5/,
    );
    expect(r.stdout).toContain('(agrees)');
    const ok = JSON.parse(
      run(['profile', 'explain', '--json', 'ping', 'PRIV_NETINET_RAW', '--syscall', 'socket']).stdout,
    );
    expect(ok).toMatchObject({
      denied: false,
      casbin: { allow: true, agrees: true },
      rule: { effect: 'allow', priority: 10 },
    });
    expect(run(['profile', 'explain', 'ping', 'CAP_NET_RAWW']).status).toBe(2);
  });
});

describe('capctl jail create', () => {
  it('derives allow.* from the profile (NET_RAW -> allow.raw_sockets), turns off unneeded defaults, records the binding', () => {
    const state = fresh();
    const dry = run([
      'jail',
      'create',
      'pinger',
      '--profile',
      'ping',
      '--path',
      '/jails/pinger',
      '--dry-run',
      '--state-dir',
      state,
      '--format',
      'jail-c',
    ]);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain(
      "jail -c name=pinger path=/jails/pinger host.hostname=pinger mount.devfs devfs_ruleset=4 'exec.start=/bin/sh /etc/rc' 'exec.stop=/bin/sh /etc/rc.shutdown' exec.clean allow.noreserved_ports allow.raw_sockets\n",
    );
    const conf = run(['jail', 'create', 'pinger', '--profile', 'ping', '--path', '/jails/pinger', '--dry-run']);
    expect(conf.stdout).toMatch(/pinger \{\n {4}path = "\/jails\/pinger"; +# root directory on the host\n/);
    expect(conf.stdout).toMatch(/\n {4}allow\.raw_sockets; +# PRIV_NETINET_RAW/);
    expect(existsSync(join(state, 'bindings.json'))).toBe(false);
    const j = JSON.parse(
      run([
        'jail',
        'create',
        'web',
        '--profile',
        join(stock, 'docker-default.yaml'),
        '--path',
        '/jails/web',
        '--json',
        '--state-dir',
        state,
      ]).stdout,
    );
    // exec.start (rc) runs the jail, so the plan's `persist` is not needed.
    expect(j.privileges.map((p: { key: string }) => p.key)).toEqual(['allow.raw_sockets', 'allow.reserved_ports']);
    expect(j.cannotExpress.map((c: { subject: string }) => c.subject)).toEqual(
      expect.arrayContaining(['CAP_SETPCAP', 'PRIV_VFS_MKNOD_DEV', 'PRIV_AUDIT_SUBMIT']),
    );
    const b = JSON.parse(readFileSync(join(state, 'bindings.json'), 'utf8'));
    expect(b.bindings).toMatchObject([{ kind: 'jail', target: 'web', profileName: 'docker-default' }]);
  });

  it('strict needs no allow.* at all', () => {
    const j = JSON.parse(
      run(['jail', 'create', 's', '--profile', 'strict', '--path', '/j/s', '--dry-run', '--json']).stdout,
    );
    expect(j.privileges.map((p: { key: string }) => p.key)).toEqual(['allow.noreserved_ports']);
  });
});
