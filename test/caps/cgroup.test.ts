/**
 * containerIdFromCgroup: recorded cgroup files of each engine's layout, then a real podman
 * container whose /proc/PID/cgroup must name the id `podman inspect` reports.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerIdFromCgroup } from '../../src/caps/cgroup.js';
import { hasTool, IS_ROOT, run } from './helpers.js';

const ID = 'c3f2d8e1a9b04756c3f2d8e1a9b04756c3f2d8e1a9b04756c3f2d8e1a9b04756';

describe('containerIdFromCgroup', () => {
  it.each([
    ['podman, systemd driver (v2)', `0::/machine.slice/libpod-${ID}.scope/container\n`, 'podman'],
    [
      'podman, cgroupfs driver (v1 + v2)',
      `4:memory:/libpod_parent/libpod-${ID}\n0::/libpod_parent/libpod-${ID}\n`,
      'podman',
    ],
    ['docker, systemd driver', `0::/system.slice/docker-${ID}.scope\n`, 'docker'],
    ['docker, cgroupfs driver (v1)', `12:pids:/docker/${ID}\n1:name=systemd:/docker/${ID}\n`, 'docker'],
    [
      'containerd CRI under kubepods',
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-${ID}.scope\n`,
      'containerd',
    ],
    ['CRI-O', `0::/kubepods.slice/kubepods-pod1.slice/crio-${ID}.scope\n`, 'crio'],
  ])('%s', (_name, text, engine) => {
    expect(containerIdFromCgroup(text)).toEqual({ engine, id: ID });
  });

  it.each([
    ['the host', '0::/init.scope\n'],
    ["podman's conmon (beside the container, not in it)", `0::/machine.slice/libpod-conmon-${ID}.scope\n`],
    ['a short id', '0::/system.slice/docker-abc123.scope\n'],
    ['an empty file', ''],
  ])('no container for %s', (_name, text) => {
    expect(containerIdFromCgroup(text)).toBeUndefined();
  });

  it('prefers the cgroup v2 line when v1 lines disagree', () => {
    const other = ID.replace(/c/g, 'd');
    expect(containerIdFromCgroup(`4:memory:/docker/${other}\n0::/machine.slice/libpod-${ID}.scope\n`)).toEqual({
      engine: 'podman',
      id: ID,
    });
  });

  const HAVE_PODMAN = IS_ROOT && hasTool('podman') && hasTool('busybox');
  it.skipIf(!HAVE_PODMAN)('a real podman container (skipped without root, podman and busybox)', () => {
    const tag = `localhost/capctl-i13-cg-${process.pid}:1`;
    const dir = mkdtempSync(join(tmpdir(), 'capctl-i13-cg-'));
    let cid = '';
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(run('sh', ['-c', 'command -v busybox']).stdout.trim(), join(dir, 'bin', 'busybox'));
      symlinkSync('busybox', join(dir, 'bin', 'sleep'));
      run('tar', ['-C', dir, '-cf', `${dir}.tar`, '.']);
      expect(run('podman', ['import', '-q', `${dir}.tar`, tag]).status).toBe(0);
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
      expect(r.stderr).toBe('');
      cid = r.stdout.trim();
      const pid = run('podman', ['inspect', '-f', '{{.State.Pid}}', cid]).stdout.trim();
      const text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      expect(containerIdFromCgroup(text)).toEqual({ engine: 'podman', id: cid });
      expect(containerIdFromCgroup(readFileSync('/proc/self/cgroup', 'utf8'))).toBeUndefined();
    } finally {
      if (cid) run('podman', ['rm', '-f', '-t', '0', cid]);
      run('podman', ['rmi', '-f', tag]);
      rmSync(`${dir}.tar`, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
