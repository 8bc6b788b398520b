/**
 * capctl oci apply|check from the CLI, and oci check against real runc: bundles whose
 * entrypoint carries file capabilities (setcap), run with `runc run`, must show exactly the
 * lines oci check predicted — including the exec that fails with EPERM and no_new_privs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/policy/paths.js';

const root = packageRoot();
const cli = join(root, 'bin', 'capctl.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
const made: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'capctl-i10-oci-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const has = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'oci-cmd.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
}, 180_000);

/** A compact config.json as engines write it. */
function engineBundle(extra: Record<string, unknown> = {}): { dir: string; text: string } {
  const dir = fresh();
  const text = JSON.stringify({
    ociVersion: '1.0.2-dev',
    process: {
      user: { uid: 0, gid: 0, umask: 18 },
      args: ['/bin/sh'],
      env: ['PATH=/bin'],
      cwd: '/',
      capabilities: { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'] },
    },
    root: { path: '/nonexistent' },
    hostname: 'x',
    ...extra,
  });
  writeFileSync(join(dir, 'config.json'), text);
  return { dir, text };
}

describe('capctl oci apply', () => {
  it('writes the profile, keeps every other member in order and the compact layout', () => {
    const b = engineBundle({ annotations: { a: 'b' } });
    const r = run(['oci', 'apply', '--profile', 'docker-default', b.dir]);
    expect(r.status).toBe(0);
    const text = readFileSync(join(b.dir, 'config.json'), 'utf8');
    expect(text.includes('\n')).toBe(false);
    const before = JSON.parse(b.text);
    const after = JSON.parse(text);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    expect(Object.keys(after.process)).toEqual(Object.keys(before.process));
    expect(after.annotations).toEqual({ a: 'b' });
    expect(after.process.capabilities.bounding).toHaveLength(14);
    expect(after.process.capabilities.ambient).toEqual([]);
    expect({ ...after, process: { ...after.process, capabilities: null } }).toEqual({
      ...before,
      process: { ...before.process, capabilities: null },
    });
  });

  it('--dry-run prints a unified diff and leaves the file; --json says what changed', () => {
    const b = engineBundle();
    const r = run(['oci', 'apply', '--profile', 'k8s-restricted', b.dir, '--dry-run']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^-{3} a\/config\.json/m);
    expect(r.stdout).toMatch(/^\+{3} b\/config\.json/m);
    expect(r.stdout).toMatch(/^-\s+"CAP_CHOWN"/m);
    expect(r.stdout).toMatch(/^\+\s+"CAP_NET_BIND_SERVICE"/m);
    expect(r.stdout).toMatch(/^\+\s+"noNewPrivileges": true/m);
    expect(readFileSync(join(b.dir, 'config.json'), 'utf8')).toBe(b.text);
    const j = JSON.parse(run(['oci', 'apply', '--profile', 'k8s-restricted', b.dir, '--json']).stdout);
    expect(j).toMatchObject({ profile: 'k8s-restricted', written: true });
    expect(j.changed).toEqual(['process.capabilities', 'process.noNewPrivileges']);
  });

  it('FreeBSD bundles: spec allow fields and the ocijail annotations', () => {
    const b = engineBundle({ freebsd: { jail: { allow: { chflags: true } } } });
    expect(run(['oci', 'apply', '--profile', 'ping', b.dir]).status).toBe(0);
    const c = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
    expect(c.freebsd.jail.allow).toMatchObject({ chflags: true, rawSockets: true, reservedPorts: false });
    // ocijail reads allow.* annotations only as "true": the off parameter is in the spec only.
    expect(c.annotations).toEqual({ 'org.freebsd.jail.allow.raw_sockets': 'true' });
    const linux = engineBundle();
    expect(run(['oci', 'apply', '--profile', 'ping', '--platform', 'freebsd', linux.dir]).status).toBe(0);
    expect(JSON.parse(readFileSync(join(linux.dir, 'config.json'), 'utf8')).freebsd.jail.allow.rawSockets).toBe(true);
  });

  it('exit 2 with one line and the file untouched: invalid profile, no config.json, broken JSON', () => {
    const b = engineBundle();
    const bad = join(fresh(), 'bad.yaml');
    writeFileSync(bad, 'name: bad\ncapabilities:\n  bounding: [NET_RAWW]\n', { mode: 0o644 });
    const r = run(['oci', 'apply', '--profile', bad, b.dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/NET_RAWW/);
    expect(readFileSync(join(b.dir, 'config.json'), 'utf8')).toBe(b.text);
    expect(readdirSync(b.dir)).toEqual(['config.json']);
    const empty = fresh();
    const n = run(['oci', 'apply', '--profile', 'ping', empty]);
    expect([n.status, n.stderr.trim().split('\n').length]).toEqual([2, 1]);
    expect(n.stderr).toMatch(/no readable config\.json/);
    writeFileSync(join(empty, 'config.json'), '{"process": ');
    expect(run(['oci', 'apply', '--profile', 'ping', empty]).status).toBe(2);
    expect(readFileSync(join(empty, 'config.json'), 'utf8')).toBe('{"process": ');
  });
});

describe('capctl profile export|import', () => {
  it('a lossy export prints nothing and exits 1 with the reason, unless --lossy', () => {
    const r = run(['profile', 'export', '--format', 'docker', 'nginx']);
    expect([r.status, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toMatch(/docker cannot express: .* uid or system call condition/);
    const l = run(['profile', 'export', '--format', 'docker', 'nginx', '--lossy']);
    expect(l.status).toBe(0);
    expect(l.stdout).toMatch(/^--cap-drop=ALL --cap-add=CHOWN/);
  });

  it('import prints a profile that validates; bad input is exit 2', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'run.txt'), 'podman run --cap-drop=ALL --cap-add=NET_RAW img\n');
    const r = run(['profile', 'import', '--from', 'podman', join(dir, 'run.txt'), '--name', 'ping2']);
    expect(r.status).toBe(0);
    writeFileSync(join(dir, 'ping2.yaml'), r.stdout, { mode: 0o644 });
    const v = run(['profile', 'validate', join(dir, 'ping2.yaml')]);
    expect(v.status).toBe(0);
    writeFileSync(join(dir, 'bad.txt'), 'docker run --cap-add NET_RAWW img\n');
    const b = run(['profile', 'import', '--from', 'docker', join(dir, 'bad.txt')]);
    expect([b.status, b.stderr.trim()]).toEqual([2, 'capctl: --cap-add: unknown capability "NET_RAWW"']);
  });
});

const runcUnusable =
  process.getuid?.() !== 0
    ? 'not root'
    : !has('runc')
      ? 'runc is not installed'
      : !has('setcap')
        ? 'setcap is not installed'
        : !existsSync('/bin/busybox')
          ? 'busybox-static is not installed'
          : undefined;

describe.skipIf(runcUnusable !== undefined)(
  `oci check against runc run${runcUnusable ? ` (skipped: ${runcUnusable})` : ''}`,
  () => {
    let dir: string;
    let n = 0;
    beforeAll(() => {
      dir = fresh();
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** A bundle whose entrypoint /capbin/busybox has `fileCaps`, running `grep Cap /proc/self/status` itself. */
    function capBundle(fileCaps: string | null, proc: Record<string, unknown>): string {
      const b = join(dir, `b${++n}`);
      const rootfs = join(b, 'rootfs');
      mkdirSync(join(rootfs, 'capbin'), { recursive: true });
      mkdirSync(join(rootfs, 'proc'));
      copyFileSync('/bin/busybox', join(rootfs, 'capbin', 'busybox'));
      if (fileCaps) execFileSync('setcap', [fileCaps, join(rootfs, 'capbin', 'busybox')]);
      execFileSync('runc', ['spec', '--bundle', b]);
      const cfg = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
      cfg.process = {
        ...cfg.process,
        terminal: false,
        args: ['/capbin/busybox', 'grep', 'Cap', '/proc/self/status'],
        // runc spec turns no_new_privs on; these cases say when they want it.
        noNewPrivileges: false,
        ...proc,
      };
      writeFileSync(join(b, 'config.json'), JSON.stringify(cfg, null, '\t'));
      return b;
    }

    function both(b: string) {
      const real = spawnSync('runc', ['run', '--bundle', b, `capctl-i10-${process.pid}-${n}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      });
      spawnSync('runc', ['delete', '--force', `capctl-i10-${process.pid}-${n}`]);
      const check = run(['oci', 'check', b]);
      return { real, check };
    }

    const caps = (l: string[]) => ({ bounding: l, effective: l, permitted: l, inheritable: [], ambient: [] });

    it('a non-root user gains CAP_NET_RAW from the entrypoint file capabilities (=ep), as predicted', () => {
      const { real, check } = both(
        capBundle('cap_net_raw=ep', {
          user: { uid: 65534, gid: 65534 },
          capabilities: { ...caps([]), bounding: ['CAP_NET_RAW'] },
        }),
      );
      expect(real.status).toBe(0);
      expect(real.stdout).toContain('CapEff:\t0000000000002000');
      expect(check.status).toBe(0);
      expect(check.stdout).toBe(real.stdout);
    });

    it('file capabilities outside the bounding set: exec fails with EPERM, and oci check says so (exit 1)', () => {
      const { real, check } = both(capBundle('cap_sys_admin=ep', { capabilities: caps(['CAP_NET_RAW']) }));
      expect(real.status).not.toBe(0);
      expect(real.stderr).toMatch(/operation not permitted/i);
      expect(check.status).toBe(1);
      expect(check.stderr).toMatch(/EPERM/);
    });

    it('noNewPrivileges: file capabilities raise nothing beyond the pre-exec permitted set, as predicted (with the warning)', () => {
      // Bounding allows NET_RAW, nothing is permitted before exec: without no_new_privs the file's
      // =ep grants it (first case above); with it, the exec gains nothing.
      const pre = { bounding: ['CAP_NET_RAW'], effective: [], permitted: [], inheritable: [], ambient: [] };
      const gain = both(capBundle('cap_net_raw=ep', { user: { uid: 65534, gid: 65534 }, capabilities: pre }));
      expect(gain.real.stdout).toContain('CapEff:\t0000000000002000');
      expect(gain.check.stdout).toBe(gain.real.stdout);
      const { real, check } = both(
        capBundle('cap_net_raw=ep', { user: { uid: 65534, gid: 65534 }, noNewPrivileges: true, capabilities: pre }),
      );
      expect(real.status).toBe(0);
      expect(real.stdout).toContain('CapEff:\t0000000000000000');
      expect(real.stdout).toContain('CapPrm:\t0000000000000000');
      expect(check.stdout).toBe(real.stdout);
      expect(check.stderr).toMatch(/noNewPrivileges/);
    });

    it("runc spec's own default (ambient without inheritable), root: as predicted, with the ambient warning", () => {
      const { real, check } = both(capBundle(null, {}));
      expect(real.status).toBe(0);
      expect(check.stdout).toBe(real.stdout);
      expect(check.stderr).toMatch(/ambient has .* not in both inheritable and permitted/);
    });
  },
);
