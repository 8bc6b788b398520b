/**
 * capctl-oci-runtime without an engine: a bundle from `runc spec`, and a recording "runtime"
 * that writes its argv and inherited descriptors to a file. What the shim hands over, what it
 * writes into config.json, what it refuses, and what it loads on the start path.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRealRuntime, parseShimArgs } from '../../src/live/oci-shim.js';
import { has, root, shim } from './podman-helpers.js';

const made: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'capctl-i10-shim-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A bundle like `runc spec` writes (tab-indented), with the given annotations. */
function bundle(annotations?: Record<string, string>): string {
  const dir = fresh();
  const cfg: Record<string, unknown> = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/bin:/bin'],
      cwd: '/',
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
  };
  if (annotations) cfg.annotations = annotations;
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(cfg, null, '\t')}\n`);
  return dir;
}

/** A fake runtime: records argv and its open descriptors, exits 0. */
function recorder(): { bin: string; log: string } {
  const dir = fresh();
  const log = join(dir, 'log');
  const bin = join(dir, 'fake-runc');
  writeFileSync(bin, `#!/bin/sh\necho "$*" > ${log}\nls /proc/$$/fd | sort -n | tr '\\n' ' ' >> ${log}\n`);
  chmodSync(bin, 0o755);
  return { bin, log };
}

function runShim(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(shim, args, { encoding: 'utf8', env: { ...process.env, ...env } });
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'src', 'live', 'oci-shim.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
}, 180_000);

describe('capctl-oci-runtime command line', () => {
  it('splits its own flags from runc global flags, the command, the bundle and the id', () => {
    const a = parseShimArgs([
      '--root',
      '/run/runc',
      '--runtime-binary=/usr/bin/crun',
      '--capctl-state-dir',
      '/tmp/s',
      '--systemd-cgroup',
      'create',
      '--bundle',
      '/b',
      '--pid-file',
      '/p',
      '--preserve-fds',
      '2',
      'ctr1',
    ]);
    expect(a).toMatchObject({
      command: 'create',
      runtimeBinary: '/usr/bin/crun',
      stateDir: '/tmp/s',
      bundle: '/b',
      containerId: 'ctr1',
      preserveFds: 2,
    });
    expect(a.pass).toEqual([
      '--root',
      '/run/runc',
      '--systemd-cgroup',
      'create',
      '--bundle',
      '/b',
      '--pid-file',
      '/p',
      '--preserve-fds',
      '2',
      'ctr1',
    ]);
  });

  it('finds the real runtime: --runtime-binary, $CAPCTL_OCI_RUNTIME, never itself', () => {
    const r = recorder();
    expect(findRealRuntime(r.bin, {}, shim)).toBe(r.bin);
    expect(findRealRuntime(undefined, { CAPCTL_OCI_RUNTIME: r.bin }, shim)).toBe(r.bin);
    expect(() => findRealRuntime(shim, {}, shim)).toThrow(/not found/);
    expect(() => findRealRuntime(undefined, { PATH: '/nonexistent' }, shim)).toThrow(/no real OCI runtime/);
  });
});

describe('capctl-oci-runtime create', () => {
  it('passes every other command through unchanged, descriptors included', () => {
    const r = recorder();
    const out = runShim([
      '--runtime-binary',
      r.bin,
      '--capctl-state-dir=/x',
      '--capctl-audit',
      '/y.log',
      '--log',
      '/x.log',
      'delete',
      '--force',
      'abc',
    ]);
    expect(out.status).toBe(0);
    const [argv, fds] = readFileSync(r.log, 'utf8').split('\n');
    expect(argv).toBe('--log /x.log delete --force abc');
    expect(fds!.trim().split(' ').slice(0, 3)).toEqual(['0', '1', '2']);
  });

  it('the front keeps arguments whole (spaces, empty ones) and only removes its own flags before the command', () => {
    const dir = fresh();
    const log = join(dir, 'argv');
    const bin = join(dir, 'echo-runc');
    writeFileSync(bin, `#!/bin/sh\nfor a do printf '[%s]' "$a"; done > ${log}\n`);
    chmodSync(bin, 0o755);
    const out = runShim([
      `--runtime-binary=${bin}`,
      '--capctl-audit',
      '/y',
      '--root',
      '/r x',
      'kill',
      'a b',
      '',
      '--capctl-audit',
      'z',
    ]);
    expect(out.status).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('[--root][/r x][kill][a b][][--capctl-audit][z]');
  });

  it('a container without a profile: config.json is left byte for byte', () => {
    const r = recorder();
    const b = bundle();
    const before = readFileSync(join(b, 'config.json'), 'utf8');
    const out = runShim(['--runtime-binary', r.bin, '--capctl-state-dir', fresh(), 'create', '--bundle', b, 'c1']);
    expect(out.status).toBe(0);
    expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(before);
    expect(readFileSync(r.log, 'utf8')).toMatch(/^create --bundle .* c1\n/);
  });

  it('the annotation: the profile is written (key order and layout kept), audited, and the runtime runs', () => {
    const r = recorder();
    const state = fresh();
    const b = bundle({ 'io.capctl.profile': 'ping' });
    const out = runShim(['--runtime-binary', r.bin, '--capctl-state-dir', state, 'create', '--bundle', b, 'c2']);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const text = readFileSync(join(b, 'config.json'), 'utf8');
    expect(text).toMatch(/^\{\n\t"ociVersion"/);
    const cfg = JSON.parse(text);
    expect(Object.keys(cfg)).toEqual(['ociVersion', 'process', 'root', 'hostname', 'annotations']);
    expect(Object.keys(cfg.process)).toEqual([
      'terminal',
      'user',
      'args',
      'env',
      'cwd',
      'capabilities',
      'noNewPrivileges',
    ]);
    expect(cfg.process.capabilities).toEqual({
      bounding: ['CAP_NET_RAW'],
      effective: ['CAP_NET_RAW'],
      permitted: ['CAP_NET_RAW'],
      inheritable: [],
      ambient: [],
    });
    const rec = JSON.parse(readFileSync(join(state, 'audit.log'), 'utf8').trim());
    expect(rec).toMatchObject({ verdict: 'attached', profile: 'ping', containerId: 'c2', via: 'annotation' });
    // The record is an audit record: audit query finds it by its verdict.
    const q = spawnSync(
      process.execPath,
      [join(root, 'bin', 'capctl.js'), 'audit', 'query', join(state, 'audit.log'), '--verdict', 'attached', '--json'],
      { encoding: 'utf8' },
    );
    expect(q.stderr).toBe('');
    expect(JSON.parse(q.stdout)).toEqual([rec]);
    // --capctl-audit names another log (the flag never reaches the real runtime).
    const other = join(fresh(), 'sub', 'containers.log');
    const b2 = bundle({ 'io.capctl.profile': 'ping' });
    const out2 = runShim([
      '--runtime-binary',
      r.bin,
      '--capctl-state-dir',
      state,
      '--capctl-audit',
      other,
      'create',
      '--bundle',
      b2,
      'c2b',
    ]);
    expect(out2.status).toBe(0);
    expect(JSON.parse(readFileSync(other, 'utf8'))).toMatchObject({ verdict: 'attached', containerId: 'c2b' });
    expect(readFileSync(r.log, 'utf8')).toMatch(/^create --bundle \S+ c2b\n/);
    expect(readdirSync(join(state, 'compiled'))).toHaveLength(1);
    expect(existsSync(r.log)).toBe(true);
  });

  it.skipIf(!has('strace'))(
    'Node start path (CAPCTL_OCI_FAST=0) with a stored profile loads no YAML parser, ajv, casbin or pino (strace openat)',
    () => {
      const r = recorder();
      const state = fresh();
      const b = bundle({ 'io.capctl.profile': 'docker-default' });
      const args = ['--runtime-binary', r.bin, '--capctl-state-dir', state, 'create', '--bundle', b, 'c3'];
      expect(runShim(args).status).toBe(0); // compiles and stores
      const trace = join(fresh(), 'trace');
      const t = spawnSync('strace', ['-f', '-e', 'trace=openat', '-o', trace, shim, ...args], {
        encoding: 'utf8',
        env: { ...process.env, CAPCTL_OCI_FAST: '0' },
      });
      expect(t.status).toBe(0);
      const opened = readFileSync(trace, 'utf8');
      expect(opened).toContain('container/profile.js'); // the trace saw the shim's modules
      for (const heavy of ['node_modules/yaml/', 'node_modules/ajv/', 'node_modules/casbin/', 'node_modules/pino/']) {
        expect(opened).not.toContain(heavy);
      }
    },
  );

  it('fail closed: an invalid profile, a relative path, an unknown stock name, a changed bound profile', () => {
    const r = recorder();
    const state = fresh();
    const dir = fresh();
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\ncapabilities:\n  bounding: [NET_RAWW]\n');
    chmodSync(bad, 0o644);
    for (const [ref, why] of [
      [bad, /profile is not valid.*NET_RAWW/],
      ['policies/ping.yaml', /neither a profile name nor an absolute path/],
      ['no-such-profile', /no-such-profile/],
    ] as const) {
      const b = bundle({ 'io.capctl.profile': ref });
      const before = readFileSync(join(b, 'config.json'), 'utf8');
      const out = runShim(['--runtime-binary', r.bin, '--capctl-state-dir', state, 'create', '--bundle', b, 'c4']);
      expect(out.status).not.toBe(0);
      expect(out.stderr).toMatch(why);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
      expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(before);
      expect(readdirSync(b)).toEqual(['config.json']);
      expect(existsSync(r.log)).toBe(false); // the real runtime never ran
    }
    // A binding whose profile changed after attach: refused until attached again.
    const good = join(dir, 'mine.yaml');
    writeFileSync(good, 'name: mine\ncapabilities:\n  bounding: [KILL]\n  text: cap_kill=ep\n');
    chmodSync(good, 0o644);
    const cli = join(root, 'bin', 'capctl.js');
    expect(spawnSync(process.execPath, [cli, 'attach', '--container', 'c5', '--state-dir', state, good]).status).toBe(
      0,
    );
    writeFileSync(good, 'name: mine\ncapabilities:\n  bounding: [KILL, SYS_ADMIN]\n  text: cap_kill=ep\n');
    const b = bundle();
    const before = readFileSync(join(b, 'config.json'), 'utf8');
    const out = runShim(['--runtime-binary', r.bin, '--capctl-state-dir', state, 'create', '--bundle', b, 'c5']);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/changed since `capctl attach`/);
    expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(before);
  });
});
