/**
 * capctl audit follow against the kernel: a refusal inside a podman container and one on the
 * host both become records with the right capability, comm and container id; after SIGTERM
 * the follower's tracing instance is gone. Plus the cgroup-path parser on each engine's form.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditWriter } from '../../src/audit/writer.js';
import { containerIdFromCgroup } from '../../src/caps/cgroup.js';
import { followFilter } from '../../src/live/follow.js';
import { bin, capctl, ensureBuilt, has, isRoot, root } from './helpers.js';

const ID = 'f46174d7e8fb9755bd7f4f7ef9cda1bd2f090f8dba963b95025e3e14ccb46620';

describe('container id from /proc/PID/cgroup', () => {
  it('podman (systemd and cgroupfs drivers), docker, containerd, CRI-O, and none', () => {
    expect(containerIdFromCgroup(`0::/machine.slice/libpod-${ID}.scope/container\n`)).toEqual({
      engine: 'podman',
      id: ID,
    });
    expect(containerIdFromCgroup(`4:memory:/libpod_parent/libpod-${ID}\n0::/libpod_parent/libpod-${ID}\n`)).toEqual({
      engine: 'podman',
      id: ID,
    });
    expect(containerIdFromCgroup(`0::/system.slice/docker-${ID}.scope\n`)).toEqual({ engine: 'docker', id: ID });
    expect(containerIdFromCgroup(`12:pids:/docker/${ID}\n`)).toEqual({ engine: 'docker', id: ID });
    expect(
      containerIdFromCgroup(
        `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-pod1.slice/cri-containerd-${ID}.scope\n`,
      ),
    ).toEqual({ engine: 'containerd', id: ID });
    expect(containerIdFromCgroup(`0::/kubepods.slice/crio-${ID}.scope\n`)).toEqual({ engine: 'crio', id: ID });
    // conmon's own scope, a short id, and the host are not containers
    expect(containerIdFromCgroup(`0::/machine.slice/libpod-conmon-${ID}.scope\n`)).toBeUndefined();
    expect(containerIdFromCgroup('0::/system.slice/docker-abc123.scope\n')).toBeUndefined();
    expect(containerIdFromCgroup('0::/user.slice/user-0.slice/session-1.scope\n')).toBeUndefined();
  });

  it('a loss line (writer.note) is bookkeeping the reader counts and reports, not a bad record', () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'capctl-i9-lost-'));
    const log = join(dir, 'a.log');
    const w = createAuditWriter({ dest: log });
    const rec = {
      verdict: 'denied' as const,
      host: 'linux' as const,
      // As follow writes them: no syscall (the tracepoint does not name it).
      cap: 'CAP_SETUID',
      capNumber: 7,
      errno: 'EPERM',
      stage: 'kernel',
      reason: 'the kernel refused CAP_SETUID (capability:cap_capable)',
      tid: 1,
      tgid: 1,
    };
    w.write(rec);
    w.note({
      host: 'linux',
      tracer: 'tracefs t',
      lost: 3,
      lostTotal: 3,
      overrun: 0,
      dropped: 3,
      perCpu: [{ cpu: 1, overrun: 0, dropped: 3 }],
      reason: 'buffer full',
    });
    w.write(rec);
    w.close();
    expect(w.written).toBe(2);
    const r = capctl(['audit', 'summary', log, '--json']);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { total: number }).total).toBe(2);
    expect(r.stderr).toContain('3 event(s) were lost by the tracer before they became records (1 loss line(s))');
    expect(r.stderr).not.toMatch(/schema|gap/);
  });

  it('the in-kernel filter', () => {
    expect(followFilter({})).toBe('ret != 0');
    expect(followFilter({ cap: 13, comm: 'ping' })).toBe('ret != 0 && cap == 13 && comm == "ping"');
    expect(() => followFilter({ comm: 'a"b' })).toThrow();
  });
});

const TRACING = '/sys/kernel/tracing';
const canTrace =
  isRoot && (existsSync(`${TRACING}/events/capability/cap_capable`) || !existsSync(`${TRACING}/instances`));
const canPodman = canTrace && has('podman') && has('runc') && existsSync('/bin/busybox');
const image = `localhost/capctl-i9-busybox:${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'capctl-i9-follow-'));

interface Rec {
  verdict: string;
  cap?: string;
  comm?: string;
  subject?: string;
  reason?: string;
  exe?: string;
  euid?: number;
}

describe.skipIf(!canPodman)('capctl audit follow (needs root, tracefs, podman, runc, busybox-static)', () => {
  beforeAll(() => {
    ensureBuilt();
    // A one-binary image: busybox-static with the applets the test calls.
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    mkdirSync(join(rootfs, 'tmp'));
    execFileSync('cp', ['/bin/busybox', join(rootfs, 'bin', 'busybox')]);
    for (const a of ['sh', 'ping']) symlinkSync('busybox', join(rootfs, 'bin', a));
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
    execFileSync('podman', ['import', join(work, 'rootfs.tar'), image], { stdio: 'ignore' });
  }, 180_000);

  afterAll(() => {
    spawnSync('podman', ['rmi', '-f', image], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });

  it('a denial in a container and one on the host are both recorded; SIGTERM removes the instance', async () => {
    const log = join(work, 'follow.log');
    const follow = spawn(process.execPath, [bin, 'audit', 'follow', '--out', log, '--rate', '0'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    follow.stderr.on('data', (b) => (stderr += b));
    const mine = () => readdirSync(`${TRACING}/instances`).filter((n) => n.startsWith(`capctl-follow-${follow.pid}-`));
    const exited = new Promise<number | null>((r) => follow.on('exit', (c) => r(c)));
    let cid = '';
    try {
      const deadline = Date.now() + 30_000;
      while ((!existsSync(`${TRACING}/instances`) || mine().length === 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(mine().length).toBe(1);
      await new Promise((r) => setTimeout(r, 500)); // tracing_on is set just after the mkdir

      // In the container: busybox ping needs CAP_NET_RAW, which podman's default set lacks.
      // runc: crun refuses this machine's hybrid cgroup layout.
      const cidfile = join(work, 'cid');
      const run = spawnSync(
        'podman',
        [
          'run',
          '--rm',
          '--runtime',
          'runc',
          '--cidfile',
          cidfile,
          '--ulimit',
          'nofile=1024:1024',
          '--ulimit',
          'nproc=1024:1024',
          image,
          '/bin/ping',
          '-c1',
          '-W1',
          '127.0.0.1',
        ],
        { encoding: 'utf8' },
      );
      expect(run.status, run.stderr).not.toBe(0);
      cid = readFileSync(cidfile, 'utf8').trim();
      expect(cid).toMatch(/^[0-9a-f]{64}$/);

      // On the host: chown as nobody needs CAP_CHOWN.
      const file = join(work, 'owned');
      writeFileSync(file, '');
      chmodSync(work, 0o755); // nobody must reach the file for the kernel to ask for CAP_CHOWN
      const host = capctl(['exec', '--profile', 'strict', '--user', '65534', '--', 'chown', '0', file]);
      expect(host.status).not.toBe(0);

      await new Promise((r) => setTimeout(r, 500));
    } catch (err) {
      follow.kill('SIGTERM'); // a failed step must not leave a follower (and its instance) behind
      throw err;
    }
    follow.kill('SIGTERM');
    const code = await exited;
    expect(code, stderr).toBe(0);
    expect(mine()).toEqual([]);
    expect(stderr).toMatch(/ 0 lost/);

    const recs = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Rec);
    const inBox = recs.find((r) => r.cap === 'CAP_NET_RAW' && r.comm === 'ping' && r.subject === `container ${cid}`);
    expect(inBox, JSON.stringify(recs.filter((r) => r.cap === 'CAP_NET_RAW'))).toBeDefined();
    expect(inBox!.reason).toContain(`in podman container ${cid.slice(0, 12)}`);
    const onHost = recs.find((r) => r.cap === 'CAP_CHOWN' && r.comm === 'chown');
    expect(onHost).toBeDefined();
    expect(onHost!.subject).toBeUndefined();
    expect(onHost!.euid).toBe(65534);
    expect(onHost!.exe).toMatch(/chown$/);
    // No invented syscall ("capable" is none): the field is left out.
    for (const r of recs) if (r.verdict === 'denied') expect(r).not.toHaveProperty('syscall');

    // audit summary reads them.
    const sum = capctl(['audit', 'summary', log, '--json']);
    expect(sum.status).toBe(0);
    const keys = (JSON.parse(sum.stdout) as { groups: { key: string }[] }).groups.map((g) => g.key);
    expect(keys).toEqual(expect.arrayContaining(['CAP_NET_RAW', 'CAP_CHOWN']));
  }, 180_000);
});
