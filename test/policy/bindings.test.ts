/** The bindings store: state-dir precedence, atomic writes, the lock, stale locks, file modes. */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addBinding,
  attach,
  type Binding,
  checkProfileFileModes,
  denyAllPolicy,
  profileForTarget,
  readBindings,
  removeBinding,
  resolveStateDir,
  withStateLock,
} from '../../src/policy/index.js';
import { policiesDir } from '../../src/policy/paths.js';
import { errorOf, profileDir, stockDir } from './helpers.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'capctl-state-'));
const binding = (i: number): Binding => ({
  kind: 'container',
  target: `c${i}`,
  profile: '/p.yaml',
  profileName: 'p',
  sha256: 'a'.repeat(64),
  attachedAt: new Date(0).toISOString(),
});

describe('state directory', () => {
  it('takes --state-dir, then CAPCTL_STATE_DIR, then /var/db/capctl for root, ~/.local/state/capctl otherwise', () => {
    expect(resolveStateDir({ stateDir: '/a', env: { CAPCTL_STATE_DIR: '/b' } })).toBe('/a');
    expect(resolveStateDir({ env: { CAPCTL_STATE_DIR: '/b' }, uid: 0 })).toBe('/b');
    expect(resolveStateDir({ env: {}, uid: 0 })).toBe('/var/db/capctl');
    expect(resolveStateDir({ env: {}, uid: 1000 })).toMatch(/\/\.local\/state\/capctl$/);
  });
});

describe('bindings store', () => {
  it('keeps every one of 50 concurrent updates from one process, leaving no temp or lock files', async () => {
    const dir = fresh();
    await Promise.all(Array.from({ length: 50 }, (_, i) => addBinding(dir, binding(i))));
    expect(
      readBindings(dir)
        .map((b) => b.target)
        .sort(),
    ).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`).sort());
    expect(readdirSync(dir)).toEqual(['bindings.json']);
    expect(await removeBinding(dir, 'container', 'c7')).toMatchObject({ target: 'c7' });
    expect(await removeBinding(dir, 'container', 'c7')).toBeUndefined();
    expect(readBindings(dir)).toHaveLength(49);
  });

  it('replaces the binding of the same target', async () => {
    const dir = fresh();
    await addBinding(dir, binding(1));
    const old = await addBinding(dir, { ...binding(1), profileName: 'q' });
    expect(old?.profileName).toBe('p');
    expect(readBindings(dir)).toEqual([{ ...binding(1), profileName: 'q' }]);
  });

  it('breaks a lock whose owner stopped refreshing it (proper-lockfile: mtime older than 10 s)', async () => {
    const dir = fresh();
    // What a capctl killed while holding the lock leaves: the lock directory, never refreshed.
    const lock = join(dir, 'bindings.json.lock');
    mkdirSync(lock);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await addBinding(dir, binding(1));
    expect(readBindings(dir)).toHaveLength(1);
    expect(existsSync(lock)).toBe(false);
  });

  it('waits for a live owner (a fresh lock) and then says the state directory is locked', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'bindings.json.lock'));
    await expect(withStateLock(dir, () => 1, 200)).rejects.toThrow(
      `state directory ${dir} is locked by another capctl`,
    );
  });

  it('removes temp files left by a writer killed mid-write, under the lock', async () => {
    const dir = fresh();
    // write-file-atomic's temp name, and the name the previous hand-written writer used.
    writeFileSync(join(dir, 'bindings.json.123456789'), '{"version":1,"bindings":[');
    writeFileSync(join(dir, '.bindings.json.4242.abc.tmp'), '{');
    await addBinding(dir, binding(1));
    expect(readdirSync(dir)).toEqual(['bindings.json']);
  });

  it('refuses, as root, profiles that group or others can write, naming the file and mode', () => {
    const dir = profileDir({ 'p.yaml': 'name: p\n' });
    const f = join(dir, 'p.yaml');
    chmodSync(f, 0o664);
    expect(errorOf(() => checkProfileFileModes([f], 0))).toMatch(
      /refusing profile .*p\.yaml: mode 0664 lets its group change it \(run: chmod go-w /,
    );
    chmodSync(f, 0o646);
    expect(errorOf(() => checkProfileFileModes([f], 0))).toMatch(/mode 0646 lets others change it/);
    // Not root: no check (the file is only as trusted as its owner anyway).
    expect(() => checkProfileFileModes([f], 1000)).not.toThrow();
    chmodSync(f, 0o644);
    expect(() => checkProfileFileModes([f], 0)).not.toThrow();
  });

  it('never attaches an invalid profile, and a runtime with a broken binding denies everything', async () => {
    const state = fresh();
    const dir = profileDir({ 'p.yaml': 'name: p\ncapabilities:\n  bounding: [CHOWN]\n' });
    chmodSync(join(dir, 'p.yaml'), 0o644);
    await attach(state, 'chroot', '/srv/build', join(dir, 'p.yaml'));
    expect(profileForTarget(state, 'chroot', '/srv/build').policy.name).toBe('p');
    writeFileSync(join(dir, 'p.yaml'), 'name: p\ncapabilities:\n  bounding: [CHOWNN]\n');
    const broken = profileForTarget(state, 'chroot', '/srv/build');
    expect(broken.policy).toBe(denyAllPolicy);
    expect(broken.error?.message).toContain('did you mean CHOWN?');
    await expect(attach(state, 'chroot', '/srv/other', join(dir, 'p.yaml'))).rejects.toThrow(
      'unknown capability "CHOWNN"',
    );
    expect(readBindings(state).map((b) => b.target)).toEqual(['/srv/build']);
    expect(profileForTarget(state, 'container', 'nobody').policy).toBe(denyAllPolicy);
  });

  it('refuses a profile made for another kind of target (a container profile fits a jail: ocijail, runj)', async () => {
    await expect(attach(fresh(), 'chroot', '/srv/x', join(policiesDir(), 'nginx.yaml'))).rejects.toThrow(
      'profile nginx is for a container',
    );
    await expect(attach(fresh(), 'container', 'c', join(policiesDir(), 'linux-kmod-build.yaml'))).rejects.toThrow(
      'profile linux-kmod-build is for a chroot',
    );
    expect((await attach(fresh(), 'jail', 'j', join(stockDir(), 'nginx.yaml'))).binding.kind).toBe('jail');
  });
});
