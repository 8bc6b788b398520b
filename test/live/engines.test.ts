/**
 * docker and containerd end to end through capctl-oci-runtime, registered the way
 * docs/containers.md tells operators to: docker through daemon.json's `runtimes` (with
 * `runtimeArgs` naming the state directory), containerd through the runc shim's binary
 * (`ctr run --runc-binary`, the same option as CRI's `BinaryName`). A private dockerd (with the
 * containerd it starts) runs on temporary directories and sockets, so the host's engines, if
 * any, are never touched. What the container's first process holds is read from its own
 * /proc/self/status: the kernel is the oracle.
 *
 * Debian 12's dockerd (20.10) predates `docker run --annotation` (API 1.43) and moby puts no
 * container name into the bundle, so with docker the profile is bound to the full container id
 * between `docker create` and `docker start` (docs/containers.md); ctr passes annotations.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRootfsTar, capctlRun, capLines, has, isRoot, root, shim } from './podman-helpers.js';

function unusable(): string | undefined {
  if (!isRoot) return 'not root';
  for (const t of ['dockerd', 'docker', 'ctr', 'runc', 'tar']) if (!has(t)) return `${t} is not installed (docker.io)`;
  return undefined;
}
const why = unusable();

const SCRIPT =
  'grep Cap /proc/self/status; if ping -c1 -W2 127.0.0.1 >/dev/null 2>&1; then echo PING-OK; else echo PING-FAIL; fi';
const ZERO = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map((k) => `${k}:\t0000000000000000`).join('\n');

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe.skipIf(why !== undefined)(
  `docker and containerd through capctl-oci-runtime${why ? ` (skipped: ${why})` : ''}`,
  () => {
    const prefix = `capctl-eng-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    let dir = '';
    let stateDir = '';
    let sock = '';
    let ctrSock = '';
    let daemon: ChildProcess | undefined;
    let image = '';
    let ctrImage = '';
    const ns = prefix;

    const docker = (args: string[]) =>
      spawnSync('docker', ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', timeout: 60_000 });
    const ctr = (args: string[], input?: Buffer) =>
      spawnSync('ctr', ['-a', ctrSock, '-n', ns, ...args], { encoding: 'utf8', timeout: 60_000, input });

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
      chmodSync(dir, 0o755);
      stateDir = join(dir, 'state');
      sock = join(dir, 'docker.sock');
      const exec = join(dir, 'exec');
      ctrSock = join(exec, 'containerd', 'containerd.sock');
      writeFileSync(
        join(dir, 'daemon.json'),
        JSON.stringify({ runtimes: { capctl: { path: shim, runtimeArgs: ['--capctl-state-dir', stateDir] } } }),
      );
      const log = openSync(join(dir, 'dockerd.log'), 'w');
      daemon = spawn(
        'dockerd',
        [
          '--config-file',
          join(dir, 'daemon.json'),
          '--data-root',
          join(dir, 'data'),
          '--exec-root',
          exec,
          '--pidfile',
          join(dir, 'dockerd.pid'),
          '-H',
          `unix://${sock}`,
          '--iptables=false',
          '--ip6tables=false',
          '--bridge=none',
        ],
        // ctr's containers reach the shim through this dockerd's containerd, which inherits this
        // environment: the state directory for them comes from $CAPCTL_STATE_DIR.
        { stdio: ['ignore', log, log], env: { ...process.env, CAPCTL_STATE_DIR: stateDir } },
      );
      for (let i = 0; i < 120 && docker(['version']).status !== 0; i++) sleep(250);
      const v = docker(['version']);
      if (v.status !== 0) throw new Error(`dockerd did not start: ${readFileSync(join(dir, 'dockerd.log'), 'utf8')}`);
      const { tar } = buildRootfsTar(dir);
      image = `${prefix}:1`;
      const imp = docker(['import', tar, image]);
      if (imp.status !== 0) throw new Error(`docker import: ${imp.stderr}`);
      const saved = spawnSync('docker', ['-H', `unix://${sock}`, 'save', image], { maxBuffer: 64 << 20 });
      const ci = ctr(['images', 'import', '-'], saved.stdout);
      if (ci.status !== 0) throw new Error(`ctr images import: ${ci.stderr}`);
      ctrImage = ctr(['images', 'ls', '-q']).stdout.trim().split('\n')[0]!;
    }, 120_000);

    afterAll(() => {
      if (sock) {
        const ids = docker(['ps', '-aq']).stdout.trim().split('\n').filter(Boolean);
        if (ids.length) docker(['rm', '-f', ...ids]);
        for (const c of ctr(['containers', 'ls', '-q']).stdout.trim().split('\n').filter(Boolean)) {
          ctr(['tasks', 'kill', '-s', 'KILL', c]);
          ctr(['containers', 'rm', c]);
        }
        if (ctrImage) ctr(['images', 'rm', '--sync', ctrImage]);
        if (image) docker(['rmi', '-f', image]);
      }
      if (daemon?.pid !== undefined && daemon.exitCode === null) {
        daemon.kill('SIGTERM');
        for (
          let i = 0;
          i < 80 && daemon.exitCode === null && spawnSync('kill', ['-0', String(daemon.pid)]).status === 0;
          i++
        )
          sleep(250);
      }
      // Whatever the daemons left mounted below the directory must go before it can be removed.
      const mounts = readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[1] ?? '')
        .filter((m) => dir !== '' && m.startsWith(dir))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) spawnSync('umount', ['-l', m]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    /** docker create through the shim, bind PROFILE to the full id, docker start: the output and status. */
    function dockerBound(profile: string) {
      const c = docker(['create', '--runtime', 'capctl', '--network', 'none', image, 'sh', '-c', SCRIPT]);
      expect(c.status, c.stderr).toBe(0);
      const id = c.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const a = capctlRun(['attach', '--container', id, '--state-dir', stateDir, profile]);
      expect(a.status, a.stderr).toBe(0);
      const s = docker(['start', '-a', id]);
      docker(['rm', '-f', id]);
      return s;
    }

    it('docker, ping bound to the container id: CapEff 0000000000002000 and the ping works', () => {
      const s = dockerBound('ping');
      expect(s.status, s.stderr).toBe(0);
      expect(capLines(s.stdout)).toBe(
        'CapInh:\t0000000000000000\nCapPrm:\t0000000000002000\nCapEff:\t0000000000002000\nCapBnd:\t0000000000002000\nCapAmb:\t0000000000000000\n',
      );
      expect(s.stdout).toContain('PING-OK');
    });

    it('docker, strict bound: every cap line is 0 and the ping fails', () => {
      const s = dockerBound('strict');
      expect(capLines(s.stdout)).toBe(`${ZERO}\n`);
      expect(s.stdout).toContain('PING-FAIL');
    });

    it('docker without a profile: the container runs unchanged with docker defaults (CapBnd 00000000a80425fb)', () => {
      const r = docker(['run', '--rm', '--runtime', 'capctl', '--network', 'none', image, 'sh', '-c', SCRIPT]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('CapBnd:\t00000000a80425fb');
    });

    it('docker, a bound profile changed after attach: docker start fails with capctl reason, nothing runs', () => {
      const pdir = mkdtempSync(join(tmpdir(), `${prefix}-prof-`));
      chmodSync(pdir, 0o755);
      const prof = join(pdir, 'mine.yaml');
      copyFileSync(join(root, 'policies', 'ping.yaml'), prof);
      chmodSync(prof, 0o644);
      const c = docker(['create', '--runtime', 'capctl', '--network', 'none', image, 'sh', '-c', 'echo RAN']);
      const id = c.stdout.trim();
      expect(capctlRun(['attach', '--container', id, '--state-dir', stateDir, prof]).status).toBe(0);
      writeFileSync(prof, `${readFileSync(prof, 'utf8')}\n# edited after attach\n`);
      const s = docker(['start', '-a', id]);
      docker(['rm', '-f', id]);
      rmSync(pdir, { recursive: true, force: true });
      expect(s.status).not.toBe(0);
      expect(s.stdout).not.toContain('RAN');
      expect(s.stderr).toMatch(/capctl-oci-runtime: .*changed since `capctl attach`/);
    });

    it('containerd (ctr run --runc-binary SHIM), the io.capctl.profile annotation: ping and docker-default', () => {
      const run = (profile: string) =>
        ctr([
          'run',
          '--rm',
          '--runc-binary',
          shim,
          '--annotation',
          `io.capctl.profile=${profile}`,
          ctrImage,
          `${prefix}-${profile}`,
          'sh',
          '-c',
          SCRIPT,
        ]);
      const p = run('ping');
      expect(p.status, p.stderr).toBe(0);
      expect(p.stdout).toContain('CapEff:\t0000000000002000');
      expect(p.stdout).toContain('CapBnd:\t0000000000002000');
      expect(p.stdout).toContain('PING-OK');
      const d = run('docker-default');
      expect(d.status, d.stderr).toBe(0);
      expect(d.stdout).toContain('CapBnd:\t00000000a80425fb');
      const s = run('strict');
      expect(capLines(s.stdout)).toBe(`${ZERO}\n`);
      expect(s.stdout).toContain('PING-FAIL');
    });
  },
);
