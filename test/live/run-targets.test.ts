/**
 * `capctl run --jail NAME` / `--chroot DIR`: the profile attached with `capctl attach` (the
 * lookup `capctl exec` uses), the program chrooted for --chroot, and every doubt about the
 * binding refused before anything runs (exit 2).
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canSupervise, capctl, has, ROOT, records, superviseSkip } from './run-helpers.js';

const BUSYBOX = '/bin/busybox';
const ready = canSupervise && existsSync(BUSYBOX);
const skip = ready ? '' : existsSync(BUSYBOX) ? superviseSkip : ' — skipped: /bin/busybox missing';

const dir = mkdtempSync(join(tmpdir(), 'capctl-i14-targets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A chroot holding only a static busybox, a state directory, and a private copy of ping.yaml. */
function setup(name: string) {
  const base = join(dir, name);
  const root = join(base, 'root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  const profile = join(base, 'ping.yaml');
  copyFileSync(join(ROOT, 'policies', 'ping.yaml'), profile);
  chmodSync(profile, 0o644);
  return { base, root, profile, state: join(base, 'state') };
}

/** The one-line refusal: exit 2, nothing executed (the marker file was never written). */
function expectRefused(r: { code: number; out: string; err: string }, marker: string, why: RegExp) {
  expect(r.code, r.err).toBe(2);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(why);
  expect(r.out).toBe('');
  expect(existsSync(marker)).toBe(false);
}

describe.runIf(ready)(`capctl run --jail / --chroot${skip}`, () => {
  it('--chroot DIR: runs chrooted under the attached profile; no binding, a changed profile, corrupt bindings: exit 2, nothing runs', () => {
    const t = setup('chroot');
    const marker = join(t.root, 'ran');
    const touch = ['--', '/bin/busybox', 'touch', '/ran'];
    expectRefused(
      capctl(['run', '--chroot', t.root, '--state-dir', t.state, ...touch]),
      marker,
      /refusing to run: no profile is attached to chroot/,
    );
    expect(capctl(['attach', '--chroot', t.root, '--state-dir', t.state, t.profile]).code).toBe(0);
    const log = join(t.base, 'audit.log');
    const r = capctl([
      'run',
      '--chroot',
      t.root,
      '--state-dir',
      t.state,
      '--audit',
      log,
      '--',
      '/bin/busybox',
      'sh',
      '-c',
      'ls /; busybox mknod /null c 1 3; echo mknod=$?',
    ]);
    expect(r.code, r.err).toBe(0);
    // The program's root is the chroot (only bin/), and ping.yaml decided its mknod.
    expect(r.out).toBe('bin\nmknod=1\n');
    expect(r.err).toContain('Operation not permitted');
    expect(records(log)).toEqual([
      expect.objectContaining({
        verdict: 'denied',
        syscall: 'mknod',
        cap: 'CAP_MKNOD',
        stage: 'profile',
        profile: 'ping',
      }),
    ]);
    // The profile changed after attach: refused until re-attached.
    writeFileSync(t.profile, `${readFileSync(t.profile, 'utf8')}# edited\n`);
    expectRefused(
      capctl(['run', '--chroot', t.root, '--state-dir', t.state, ...touch]),
      marker,
      /refusing to run: profile ping .* changed since it was attached to chroot/,
    );
    // A corrupt bindings file is not read as "no bindings".
    writeFileSync(join(t.state, 'bindings.json'), '{"version":1,"bindings":[');
    expectRefused(
      capctl(['run', '--chroot', t.root, '--state-dir', t.state, ...touch]),
      marker,
      /refusing to run: .*bindings\.json is not valid JSON/,
    );
  });

  it.runIf(has('capsh'))(
    `--jail NAME: the attached profile, as in the jail (--host freebsd, the profile's allow.* plan; capsh shows only cap_net_raw); a changed profile: exit 2${has('capsh') ? '' : ' — skipped: capsh not installed'}`,
    () => {
      const t = setup('jail');
      const jail = `capctl-i14-${process.pid}`;
      const marker = join(t.base, 'ran');
      const touch = ['--', BUSYBOX, 'touch', marker];
      expectRefused(
        capctl(['run', '--jail', jail, '--state-dir', t.state, ...touch]),
        marker,
        /refusing to run: no profile is attached to jail/,
      );
      expect(capctl(['attach', '--jail', jail, '--state-dir', t.state, t.profile]).code).toBe(0);
      const raw = ['--host', 'freebsd', '--jail-param', 'allow.raw_sockets=1'];
      const r = capctl(['run', '--jail', jail, '--state-dir', t.state, ...raw, '--', 'capsh', '--print']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^Current: cap_net_raw=ep$/m);
      expect(r.out).toMatch(/^Bounding set =cap_net_raw$/m);
      // Without --host: the jail as `capctl jail create` makes it from ping.yaml, so --host
      // freebsd with allow.raw_sockets (its plan) and the same bridged sets.
      const asJail = capctl(['run', '--jail', jail, '--state-dir', t.state, '--', 'capsh', '--print']);
      expect(asJail.code, asJail.err).toBe(0);
      expect(asJail.out).toMatch(/^Current: cap_net_raw=ep$/m);
      expect(asJail.out).toMatch(/^Bounding set =cap_net_raw$/m);
      // A later --jail-param overrides the plan: without raw sockets the jail reports nothing.
      const noRaw = capctl([
        'run',
        '--jail',
        jail,
        '--state-dir',
        t.state,
        '--jail-param',
        'allow.noraw_sockets',
        '--',
        'capsh',
        '--print',
      ]);
      expect(noRaw.code, noRaw.err).toBe(0);
      expect(noRaw.out).toMatch(/^Current: =$/m);
      // --host linux: Linux's capable() under the attached profile; capget answers as Linux does
      // (the program keeps capctl's own sets, not the jail's bridged ones).
      const onLinux = capctl([
        'run',
        '--jail',
        jail,
        '--host',
        'linux',
        '--state-dir',
        t.state,
        '--',
        'capsh',
        '--print',
      ]);
      expect(onLinux.code, onLinux.err).toBe(0);
      expect(onLinux.out).toMatch(/^Current: =ep/m);
      writeFileSync(t.profile, `${readFileSync(t.profile, 'utf8')}# edited\n`);
      expectRefused(
        capctl(['run', '--jail', jail, '--state-dir', t.state, ...raw, ...touch]),
        marker,
        /refusing to run: profile ping .* changed since it was attached to jail/,
      );
      // --profile and --jail are alternatives; a --chroot that is no directory is bad input.
      expectRefused(
        capctl(['run', '--jail', jail, '--profile', 'ping', '--state-dir', t.state, ...touch]),
        marker,
        /--profile and --jail are alternatives/,
      );
      expectRefused(
        capctl(['run', '--chroot', join(t.base, 'none'), '--profile', 'ping', ...touch]),
        marker,
        /not a directory/,
      );
    },
  );
});
