/**
 * capctl exec against the kernel: the sets a command really gets (its own /proc/self/status)
 * equal the runtime model's prediction (--dry-run) for every stock profile, as root and as
 * nobody, and refusals (a step, or execve itself) happen where the prediction says.
 */

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bin, capctl, capctlAsync, capLines, ensureBuilt, has, isRoot, root } from './helpers.js';

beforeAll(() => ensureBuilt(), 180_000);

const stock = readdirSync(join(root, 'policies'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5));

describe.skipIf(!isRoot)('capctl exec (needs root)', () => {
  it('ping profile as root: CapPrm, CapEff and CapBnd are 0x2000', () => {
    const r = capctl(['exec', '--profile', 'policies/ping.yaml', '--', 'cat', '/proc/self/status']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(capLines(r.stdout)).toBe(
      [
        'CapInh:\t0000000000000000',
        'CapPrm:\t0000000000002000',
        'CapEff:\t0000000000002000',
        'CapBnd:\t0000000000002000',
        'CapAmb:\t0000000000000000',
      ].join('\n'),
    );
  });

  it('ping profile as 65534: CapEff and CapAmb are 0x2000, ids and groups changed', () => {
    const r = capctl(['exec', '--profile', 'policies/ping.yaml', '--user', '65534', '--', 'cat', '/proc/self/status']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^CapEff:\t0000000000002000$/m);
    expect(r.stdout).toMatch(/^CapAmb:\t0000000000002000$/m);
    expect(r.stdout).toMatch(/^Uid:\t65534\t65534\t65534\t65534$/m);
    expect(r.stdout).toMatch(/^Gid:\t65534\t65534\t65534\t65534$/m);
    expect(r.stdout).toMatch(/^Groups:\s*$/m);
  });

  for (const user of ['0', '65534']) {
    it(`every stock profile as uid ${user}: the real five lines equal --dry-run's`, async () => {
      const runs = stock.map(async (p) => {
        const args = ['--profile', p, ...(user === '0' ? [] : ['--user', user]), '--', 'cat', '/proc/self/status'];
        const [real, dry] = await Promise.all([
          capctlAsync(['exec', ...args]),
          capctlAsync(['exec', '--dry-run', ...args]),
        ]);
        expect(dry.status, `${p}: ${dry.stderr}`).toBe(real.status);
        expect(real.status, `${p}: ${real.stderr}`).toBe(0);
        expect(capLines(real.stdout), p).toBe(dry.stdout.trimEnd());
        expect(capLines(real.stdout)).toMatch(/^CapInh:/);
      });
      await Promise.all(runs);
    }, 120_000);
  }

  it.skipIf(!has('ping'))('ping -c1 127.0.0.1 works under ping and fails with EPERM under strict', () => {
    const ok = capctl(['exec', '--profile', 'policies/ping.yaml', '--', 'ping', '-c1', '127.0.0.1']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('1 received');
    const no = capctl(['exec', '--profile', 'strict', '--', 'ping', '-c1', '127.0.0.1']);
    expect(no.status).toBe(1);
    expect(no.stderr).toContain('EPERM');
    expect(no.stdout).toBe('');
    // The model predicted exactly this refusal.
    const dry = capctl(['exec', '--profile', 'strict', '--dry-run', '--', 'ping', '-c1', '127.0.0.1']);
    expect(dry.status).toBe(1);
    expect(dry.stderr).toContain('execve /usr/bin/ping would fail with EPERM');
  });

  it.skipIf(!has('capsh'))('a step the kernel refuses is named with its errno and nothing runs', () => {
    // Without CAP_SETPCAP the first bounding drop fails; the prediction, made from the real
    // starting credential, names the same step and errno.
    const under = (dry: string[]) =>
      spawnSync(
        'capsh',
        [
          '--drop=cap_setpcap',
          '--',
          '-c',
          [process.execPath, bin, 'exec', ...dry, '--profile', 'ping', '--', 'echo', 'RAN'].join(' '),
        ],
        {
          encoding: 'utf8',
          cwd: root,
        },
      );
    const r = under([]);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain('RAN');
    expect(r.stderr).toMatch(/drop CAP_CHOWN from the bounding set: prctl failed with EPERM; nothing was executed/);
    const d = under(['--dry-run']);
    expect(d.status).toBe(1);
    expect(d.stderr).toMatch(/drop CAP_CHOWN from the bounding set: prctl would fail with EPERM/);
  });

  it('--no-new-privs reaches the command', () => {
    const r = capctl(['exec', '--profile', 'strict', '--no-new-privs', '--', 'cat', '/proc/self/status']);
    expect(r.stdout).toMatch(/^NoNewPrivs:\t1$/m);
  });

  it.skipIf(!has('mount'))(
    'a command on a file system without xattrs (ramfs) runs, as the kernel runs it: no file capabilities',
    () => {
      // getxattr says EOPNOTSUPP there; execve reads that as "no attribute" and goes on
      // (get_vfs_caps_from_disk), so capctl must neither refuse nor guess.
      const mnt = mkdtempSync(join(tmpdir(), 'capctl-i9-ramfs-'));
      expect(spawnSync('mount', ['-t', 'ramfs', 'ramfs', mnt]).status).toBe(0);
      try {
        copyFileSync('/bin/cat', join(mnt, 'cat'));
        chmodSync(join(mnt, 'cat'), 0o755);
        for (const user of [[], ['--user', '65534']]) {
          const args = ['--profile', 'policies/ping.yaml', ...user, '--', join(mnt, 'cat'), '/proc/self/status'];
          const real = capctl(['exec', ...args]);
          expect(real.status, real.stderr).toBe(0);
          expect(capLines(real.stdout)).toMatch(/^CapEff:\t0000000000002000$/m);
          const dry = capctl(['exec', '--dry-run', ...args]);
          expect(dry.status, dry.stderr).toBe(0);
          expect(capLines(real.stdout)).toBe(capLines(dry.stdout));
        }
      } finally {
        spawnSync('umount', [mnt]);
      }
    },
  );

  it('--container without a binding fails closed', () => {
    const state = mkdtempSync(join(tmpdir(), 'capctl-i9-state-'));
    const r = capctl(['exec', '--container', 'capctl-i9-none', '--state-dir', state, '--', 'echo', 'RAN']);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('refusing to run: no profile is attached to container capctl-i9-none');
  });
});

describe.skipIf(!isRoot || !existsSync('/bin/busybox'))('capctl exec --chroot (the chroot binding made real)', () => {
  it('runs inside the attached chroot under its profile; refuses once the profile changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capctl-i9-chroot-'));
    const jail = join(dir, 'root');
    mkdirSync(join(jail, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(jail, 'bin', 'busybox'));
    chmodSync(join(jail, 'bin', 'busybox'), 0o755);
    const state = join(dir, 'state');
    const profile = join(dir, 'ping.yaml');
    copyFileSync(join(root, 'policies', 'ping.yaml'), profile);
    chmodSync(profile, 0o644);
    const att = capctl(['attach', '--chroot', jail, '--state-dir', state, profile]);
    expect(att.status, att.stderr).toBe(0);
    const r = capctl(['exec', '--chroot', jail, '--state-dir', state, '--', '/bin/busybox', 'ls', '/']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('bin');
    const dry = capctl(['exec', '--chroot', jail, '--state-dir', state, '--dry-run', '--', '/bin/busybox', 'true']);
    expect(dry.stdout).toMatch(/^CapBnd:\t0000000000002000$/m);
    writeFileSync(profile, `${readFileSync(profile, 'utf8')}\n# changed\n`);
    const no = capctl(['exec', '--chroot', jail, '--state-dir', state, '--', '/bin/busybox', 'true']);
    expect(no.status).toBe(1);
    expect(no.stderr).toMatch(/^capctl: refusing to run: profile ping .* changed since it was attached/);
  });
});
