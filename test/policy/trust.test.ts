/**
 * Fail closed on the way from a file to a decision (issue 8, "trusted files only"; issue 13,
 * "one resolver"): the profile resolver's two rules, file type/size/owner checks (sshd
 * StrictModes as root), content never echoed from a file that is not a profile, bindings
 * verified at use (sha256) and corrupt bindings refused with one line.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addBinding,
  attach,
  denyAllPolicy,
  findContainerBinding,
  findProfile,
  listProfiles,
  profileForTarget,
  readBindings,
  resolveProfile,
  validateTarget,
} from '../../src/policy/index.js';
import { packageRoot, policiesDir } from '../../src/policy/paths.js';
import { trustedOwners } from '../../src/policy/trust.js';
import { errorOf } from './helpers.js';

const root = packageRoot();
const bin = join(root, 'bin', 'capctl.js');
const IS_ROOT = process.getuid?.() === 0;
const fresh = () => mkdtempSync(join(tmpdir(), 'capctl-i8-trust-'));
const run = (args: string[], cwd = root, env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
}, 180_000);

describe('trusted owners', () => {
  it('$SUDO_UID counts only as a plain decimal uid', () => {
    const owners = (v: string) => [...trustedOwners({ env: { SUDO_UID: v } })].filter((u) => u !== process.getuid?.());
    expect(owners('1000')).toEqual([1000]);
    for (const bad of ['1e3', '', ' 1000', '0x3e8', '-1', '4294967295']) expect(owners(bad)).toEqual([]);
  });
});

describe('one profile resolver: a bare name is a profile name, anything else a path', () => {
  const noEnv = { env: {}, stateDir: fresh() };

  it('finds stock profiles by name and files by path, saying which rule applied', () => {
    expect(findProfile('ping', noEnv)).toMatchObject({ file: join(policiesDir(), 'ping.yaml'), rule: 'name' });
    expect(findProfile('policies/ping.yaml', { ...noEnv, cwd: root })).toMatchObject({ rule: 'path' });
    expect(errorOf(() => findProfile('pnig', noEnv))).toMatch(
      /^no profile named pnig \(did you mean ping\?\): a bare name \(no "\/", no \.yaml\/\.yml suffix\) is a profile name, looked up in /,
    );
    expect(errorOf(() => findProfile('nope/x.yaml', noEnv))).toBe(
      'profile file not found: nope/x.yaml (an argument with "/" or a .yaml/.yml suffix is a path)',
    );
  });

  it('a file named ping in the working directory does not shadow stock ping (write ./ping for it)', () => {
    const cwd = fresh();
    writeFileSync(join(cwd, 'ping'), '\x7fELF\x02\x01\x01\0binary');
    expect(findProfile('ping', { ...noEnv, cwd }).file).toBe(join(policiesDir(), 'ping.yaml'));
    expect(errorOf(() => findProfile('pingg', { ...noEnv, cwd }))).not.toContain('ELF');
    const r = run(['profile', 'explain', 'ping', 'NET_RAW'], cwd);
    expect(r.status).toBe(0);
    // ./ping is a path: an ELF is refused without printing a byte of it.
    const p = run(['profile', 'validate', './ping'], cwd);
    expect(p.status).toBe(2);
    expect(p.stderr + p.stdout).toContain('is not a capctl profile');
    expect(p.stderr + p.stdout).not.toContain('ELF');
  });

  it('a directory named nginx: the name still means stock nginx; ./nginx is a clear error, not EISDIR', () => {
    const cwd = fresh();
    mkdirSync(join(cwd, 'nginx'));
    expect(findProfile('nginx', { ...noEnv, cwd }).rule).toBe('name');
    expect(errorOf(() => findProfile('./nginx', { ...noEnv, cwd }))).toBe(
      './nginx is a directory, not a profile file (an argument with "/" or a .yaml/.yml suffix is a path)',
    );
    const r = run(['check', '--profile', './nginx', 'CAP_CHOWN'], cwd);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toContain('EISDIR');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('$CAPCTL_PROFILE_PATH and STATE/profiles come before the stock profiles, and profile list shows it', () => {
    const mine = fresh();
    const state = fresh();
    mkdirSync(join(state, 'profiles'));
    writeFileSync(join(mine, 'ping.yaml'), 'name: my-ping\ncapabilities:\n  bounding: []\n');
    writeFileSync(join(state, 'profiles', 'web.yml'), 'name: web\n');
    const opts = { env: { CAPCTL_PROFILE_PATH: `relative/ignored:${mine}` }, stateDir: state };
    expect(resolveProfile('ping', opts).name).toBe('my-ping');
    expect(resolveProfile('web', opts).name).toBe('web');
    const listed = listProfiles(opts);
    expect(listed.find((p) => p.name === 'ping' && p.source === 'stock')?.shadowedBy).toBe(join(mine, 'ping.yaml'));
    expect(listed.find((p) => p.name === 'web')).toMatchObject({ source: 'state' });
    const j = JSON.parse(
      run(['profile', 'list', '--json', '--state-dir', state], root, { CAPCTL_PROFILE_PATH: mine }).stdout,
    ) as { name: string; source: string }[];
    expect(j.filter((p) => p.name === 'ping')).toEqual([
      { name: 'ping', file: join(mine, 'ping.yaml'), source: 'CAPCTL_PROFILE_PATH' },
    ]);
    expect(j.map((p) => p.name)).toEqual(expect.arrayContaining(['strict', 'nginx', 'web']));
  });

  it('every command taking a profile accepts stock names (check and replay used to say "not found")', () => {
    expect(run(['check', '--host', 'linux', '--profile', 'podman-default', 'CAP_CHOWN']).status).toBe(0);
    const r = spawnSync(
      process.execPath,
      [bin, 'replay', '--host', 'linux', '--profile', 'ping', '--status', 'test/fixtures/traces/root.status', '-'],
      {
        cwd: root,
        encoding: 'utf8',
        input: '1 getpid() = 1\n',
      },
    );
    expect(r.stderr).not.toContain('not found');
    expect(r.status).toBe(0);
  });
});

describe('only regular files of bounded size; never echo a file that is not a profile', () => {
  it('a FIFO as the profile or as a parent is refused at once (no hang)', () => {
    const dir = fresh();
    execFileSync('mkfifo', [join(dir, 'f.yaml')]);
    writeFileSync(join(dir, 'child.yaml'), `name: c\nextends: ${join(dir, 'f.yaml')}\n`);
    const t0 = Date.now();
    expect(errorOf(() => resolveProfile(join(dir, 'f.yaml')))).toMatch(/is not a regular file|it is a FIFO/);
    expect(errorOf(() => resolveProfile(join(dir, 'child.yaml')))).toMatch(/it is a FIFO, not a regular file/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('devices are refused, and a profile above the size limit is refused without reading it', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'z.yaml'), 'name: z\nextends: /dev/zero\n');
    expect(errorOf(() => resolveProfile(join(dir, 'z.yaml')))).toContain('/dev/zero: it is a device');
    writeFileSync(join(dir, 'big.yaml'), `name: big\n#${'x'.repeat(1 << 20)}\n`);
    expect(errorOf(() => resolveProfile(join(dir, 'big.yaml')))).toMatch(/above the 1048576-byte limit/);
  });

  it('extends: /etc/shadow or /proc/self/environ names the file but prints none of it', () => {
    const dir = fresh();
    const secret = 'capctl-i8-secret-value';
    writeFileSync(join(dir, 'fake-shadow'), `root:$6$${secret}:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n`);
    chmodSync(join(dir, 'fake-shadow'), 0o600);
    writeFileSync(join(dir, 's.yaml'), `name: s\nextends: ${join(dir, 'fake-shadow')}\n`);
    const e = errorOf(() => resolveProfile(join(dir, 's.yaml')));
    expect(e).toContain('fake-shadow is not a capctl profile');
    expect(e).not.toContain(secret);
    writeFileSync(join(dir, 'e.yaml'), 'name: e\nextends: /proc/self/environ\n');
    const r = run(['profile', 'validate', join(dir, 'e.yaml')], root, { CAPCTL_I8_SECRET: secret });
    expect(r.status).toBe(2);
    expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('a symlinked non-JSON bindings.json is refused in one line without its bytes', () => {
    const state = fresh();
    writeFileSync(join(state, 'elsewhere'), 'SECRET-BYTES not json');
    symlinkSync(join(state, 'elsewhere'), join(state, 'bindings.json'));
    const r = run(['bindings', '--state-dir', state]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^capctl: .*bindings\.json: it is a symbolic link/);
    expect(r.stderr).not.toContain('SECRET');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe.skipIf(!IS_ROOT)('as root: StrictModes for profiles, parents, the state directory and bindings.json', () => {
  const profileText = 'name: p\ncapabilities:\n  bounding: [CHOWN]\n';

  it('refuses a profile owned by another user, and a parent owned by another user', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'p.yaml'), profileText);
    chownSync(join(dir, 'p.yaml'), 1000, 1000);
    expect(errorOf(() => resolveProfile(join(dir, 'p.yaml')))).toMatch(
      /refusing profile .*p\.yaml: owned by uid 1000, not by root or the invoking user/,
    );
    writeFileSync(join(dir, 'c.yaml'), `name: c\nextends: ${join(dir, 'p.yaml')}\n`);
    expect(errorOf(() => resolveProfile(join(dir, 'c.yaml')))).toMatch(/owned by uid 1000/);
  });

  it('refuses a profile in a world-writable non-sticky directory (a sticky root-owned one like /tmp is fine)', () => {
    const dir = fresh();
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    writeFileSync(join(open, 'p.yaml'), profileText);
    expect(errorOf(() => resolveProfile(join(open, 'p.yaml')))).toMatch(
      /refusing profile .*: directory .*open mode 0777 lets its group and others change it/,
    );
    chmodSync(open, 0o1777);
    expect(resolveProfile(join(open, 'p.yaml')).name).toBe('p');
  });

  it('refuses a 0777 state directory and a bindings.json planted by another user (bindings listed them as ok)', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'p.yaml'), profileText);
    const state = join(fresh(), 'state');
    mkdirSync(state);
    chmodSync(state, 0o777);
    await expect(attach(state, 'container', 'c1', join(dir, 'p.yaml'))).rejects.toThrow(/mode 0777 lets/);
    chmodSync(state, 0o755);
    await attach(state, 'container', 'c1', join(dir, 'p.yaml'));
    chownSync(join(state, 'bindings.json'), 1000, 1000);
    expect(errorOf(() => readBindings(state))).toMatch(/refusing bindings file .*owned by uid 1000/);
    const r = run(['bindings', '--state-dir', state]);
    expect(r.status).toBe(2);
    expect(r.stdout).not.toContain('ok');
    const use = profileForTarget(state, 'container', 'c1');
    expect(use.policy).toBe(denyAllPolicy);
    expect(use.error?.message).toMatch(/owned by uid 1000/);
  });
});

describe('bindings are verified at use', () => {
  it('a profile rewritten after attach is refused (deny-all with a reason) until re-attached', async () => {
    const dir = fresh();
    const state = fresh();
    const f = join(dir, 'p.yaml');
    writeFileSync(f, 'name: p\ncapabilities:\n  bounding: [CHOWN]\n');
    await attach(state, 'jail', 'j1', f);
    expect(profileForTarget(state, 'jail', 'j1').policy.name).toBe('p');
    // The rewrite that the other user made: still a valid profile, now allowing all.
    writeFileSync(f, 'name: p\ncapabilities:\n  bounding: ALL\nrules:\n  - effect: allow\n    caps: [ALL]\n');
    const used = profileForTarget(state, 'jail', 'j1');
    expect(used.policy).toBe(denyAllPolicy);
    expect(used.error?.code).toBe('profile-changed');
    expect(used.error?.message).toMatch(/changed since it was attached to jail j1 .* re-attached/);
    expect(run(['bindings', '--state-dir', state]).stdout).toContain('modified since attach');
    await attach(state, 'jail', 'j1', f);
    expect(profileForTarget(state, 'jail', 'j1').policy.name).toBe('p');
  });

  const corrupt: [string, string][] = [
    ['[null]', '{"version":1,"bindings":[null]}'],
    ['"profile":5', ''],
    ['"target":{}', ''],
    ['not JSON', '{"version":1,"bindings":[{'],
    ['a newline in a target', ''],
  ];
  const good = {
    kind: 'container',
    target: 'c1',
    profile: '/p.yaml',
    profileName: 'p',
    sha256: 'a'.repeat(64),
    attachedAt: new Date(0).toISOString(),
  };
  corrupt[1]![1] = JSON.stringify({ version: 1, bindings: [{ ...good, profile: 5 }] });
  corrupt[2]![1] = JSON.stringify({ version: 1, bindings: [{ ...good, target: {} }] });
  corrupt[4]![1] = JSON.stringify({ version: 1, bindings: [{ ...good, target: 'c1\ncontainer  evil' }] });

  it.each(corrupt)('a bindings.json with %s fails closed with one line, never a TypeError', async (_, text) => {
    const state = fresh();
    writeFileSync(join(state, 'bindings.json'), text);
    const e = errorOf(() => readBindings(state));
    expect(e).toMatch(/bindings\.json(: binding 0| is not)/);
    expect(e.split('\n')).toHaveLength(1);
    const use = profileForTarget(state, 'container', 'c1');
    expect(use.policy).toBe(denyAllPolicy);
    expect(use.error?.code).toBe('corrupt-bindings');
    for (const args of [
      ['bindings', '--state-dir', state],
      ['attach', '--container', 'c2', '--state-dir', state, 'strict'],
      ['detach', '--container', 'c1', '--state-dir', state],
    ]) {
      const r = run(args);
      expect(r.status).toBe(2);
      expect(r.stderr).not.toMatch(/TypeError|at .*\.js:\d+/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readFileSync(join(state, 'bindings.json'), 'utf8')).toBe(text);
  });
});

describe('a container process finds its binding by id (check --pid)', () => {
  it('matches the full id or a unique 12+ digit prefix, never a shorter or ambiguous one', async () => {
    const id = 'ab'.repeat(32);
    const rec = (target: string) => ({
      kind: 'container' as const,
      target,
      profile: '/p.yaml',
      profileName: 'p',
      sha256: 'a'.repeat(64),
      attachedAt: new Date(0).toISOString(),
    });
    const state = fresh();
    await addBinding(state, rec('ababab'));
    expect(findContainerBinding(state, id)).toBeUndefined();
    await addBinding(state, rec(id.slice(0, 12)));
    expect(findContainerBinding(state, id)?.target).toBe(id.slice(0, 12));
    await addBinding(state, rec(id.slice(0, 14)));
    expect(findContainerBinding(state, id)).toBeUndefined(); // two prefixes: ambiguous
    await addBinding(state, rec(id));
    expect(findContainerBinding(state, id)?.target).toBe(id);
  });
});

describe('target names are validated', () => {
  it('refuses control characters (a newline forged a row in `capctl bindings`) and overlong names', () => {
    for (const kind of ['jail', 'chroot', 'container'] as const) {
      expect(errorOf(() => validateTarget(kind, 'a\nchroot  /  strict'))).toMatch(/control character|not a/);
      expect(errorOf(() => validateTarget(kind, `/${'a'.repeat(10_000)}`))).toMatch(/at most|not a/);
    }
    const state = fresh();
    const r = run(['attach', '--chroot', '/srv/x\n/forged', '--state-dir', state, 'linux-kmod-build']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('control character');
    expect(existsSync(join(state, 'bindings.json'))).toBe(false);
  });
});
