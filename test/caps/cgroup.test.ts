/**
 * containerIdFromCgroup: recorded cgroup files of each engine's layout, then a real podman
 * container whose /proc/PID/cgroup must name the id `podman inspect` reports.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { containerIdFromCgroup } from '../../src/caps/cgroup.js';
import { hasTool, IS_ROOT, withPodmanContainer } from './helpers.js';

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
    withPodmanContainer('cg', (cid, pid) => {
      expect(containerIdFromCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))).toEqual({ engine: 'podman', id: cid });
      expect(containerIdFromCgroup(readFileSync('/proc/self/cgroup', 'utf8'))).toBeUndefined();
    });
  });
});
