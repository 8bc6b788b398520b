/**
 * `jail create` as a FreeBSD administrator receives it: golden jail.conf, `jail -c` and ocijail
 * texts for every stock profile, native and Linux (the Handbook's Linux jail mounts), and the
 * refusals for input that would make an unsafe or ambiguous jail. Golden files are rewritten
 * with CAPCTL_UPDATE_GOLDEN=1 (review the diff: jail planning changes show up here).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile, planJail } from '../../src/policy/index.js';
import { formatJailCommand, formatJailConf, formatOcijail, formatOcijailText } from '../../src/policy/jail-format.js';
import { buildJailSpec, type JailOptions } from '../../src/policy/jail-spec.js';
import { packageRoot, policiesDir } from '../../src/policy/paths.js';

const root = packageRoot();
const GOLDEN = join(root, 'test', 'fixtures', 'golden', 'jail');
const UPDATE = process.env.CAPCTL_UPDATE_GOLDEN === '1';
const STOCK = readdirSync(policiesDir())
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();

function golden(file: string, text: string): void {
  const path = join(GOLDEN, file);
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, `${text}\n`);
  }
  expect(existsSync(path), `${path} missing: run with CAPCTL_UPDATE_GOLDEN=1 and review it`).toBe(true);
  expect(`${text}\n`).toBe(readFileSync(path, 'utf8'));
}

const VARIANTS: Record<string, Omit<JailOptions, 'name' | 'path'>> = {
  native: { ip4: ['192.0.2.10'], interface: 'em0' },
  linux: { ip4: ['192.0.2.11'], interface: 'em0', linux: { root: '/compat/ubuntu', osrelease: '5.15.0' } },
};

const loaded = new Map<string, ReturnType<typeof loadProfile>>();
const load = (profile: string) => {
  if (!loaded.has(profile)) loaded.set(profile, loadProfile(join(policiesDir(), `${profile}.yaml`)));
  return loaded.get(profile)!;
};

function spec(profile: string, variant: string) {
  const p = load(profile);
  const o = {
    name: profile.replace(/[^A-Za-z0-9_-]/g, '_'),
    path: `/usr/local/jails/containers/${profile}`,
    ...VARIANTS[variant],
  };
  return buildJailSpec(planJail(p, o.name, o.path, { vnet: o.vnet !== undefined }), o);
}

describe('jail create golden outputs, every stock profile', () => {
  it('has at least the seven stock profiles', () => {
    expect(STOCK.length).toBeGreaterThanOrEqual(7);
  });
  for (const profile of STOCK) {
    for (const variant of Object.keys(VARIANTS)) {
      it(`${profile}, ${variant}: jail.conf and jail -c`, () => {
        const s = spec(profile, variant);
        golden(`${profile}.${variant}.jail.conf`, formatJailConf(s));
        const script = formatJailCommand(s);
        golden(`${profile}.${variant}.jail-c.sh`, script);
        // The script parses as sh (the heredoc, quoting) without running anything.
        expect(spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' }).stderr).toBe('');
      });
    }
    it(`${profile}: ocijail annotations`, () => {
      golden(`${profile}.ocijail.txt`, formatOcijailText(formatOcijail(spec(profile, 'native'))));
    });
  }
});

describe('jail create: the Handbook recipe and the jail(8) rules', () => {
  it('a Linux tree under /compat gets the Handbook mounts, devfs with the jail ruleset, and no allow.mount.*', () => {
    const s = spec('ping', 'linux');
    expect(s.mounts.map((m) => `${m.fstype} ${m.target} ${m.options}`)).toEqual([
      'devfs /usr/local/jails/containers/ping/compat/ubuntu/dev rw,ruleset=4',
      'tmpfs /usr/local/jails/containers/ping/compat/ubuntu/dev/shm rw,size=1g,mode=1777',
      'fdescfs /usr/local/jails/containers/ping/compat/ubuntu/dev/fd rw,linrdlnk',
      'linprocfs /usr/local/jails/containers/ping/compat/ubuntu/proc rw',
      'linsysfs /usr/local/jails/containers/ping/compat/ubuntu/sys rw',
    ]);
    const keys = [...s.stmts, ...s.privileges].map((x) => x.key);
    expect(keys).toEqual(expect.arrayContaining(['mount.devfs', 'devfs_ruleset', 'exec.start', 'linux.osrelease']));
    expect(keys.filter((k) => k.startsWith('allow.mount'))).toEqual([]);
  });

  it('a Linux root mounts devfs itself, first, since jail(8) mounts mount.devfs after fstab entries', () => {
    const p = load('ping');
    const s = buildJailSpec(planJail(p, 'lx', '/j/lx'), { name: 'lx', path: '/j/lx', linux: { root: '/' } });
    expect(s.stmts.map((x) => x.key)).not.toContain('mount.devfs');
    expect(s.mounts[0]).toMatchObject({ fstype: 'devfs', target: '/j/lx/dev', options: 'rw,ruleset=4' });
    // No rc(8) in a Linux root: nothing is started, so the jail persists.
    expect(s.privileges.map((x) => x.key)).toContain('persist');
    expect(s.stmts.map((x) => x.key)).not.toContain('exec.start');
  });

  it('a vnet jail gets vnet.interface and the vnet devfs ruleset; ocijail gets org.freebsd.jail.vnet', () => {
    const p = load('ping');
    const s = buildJailSpec(planJail(p, 'v', '/j/v', { vnet: true }), { name: 'v', path: '/j/v', vnet: 'epair0b' });
    expect(s.stmts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'vnet', value: null }),
        expect.objectContaining({ key: 'vnet.interface', value: 'epair0b' }),
        expect.objectContaining({ key: 'devfs_ruleset', value: '5' }),
      ]),
    );
    expect(formatOcijail(s).annotations['org.freebsd.jail.vnet']).toBe('new');
  });

  it('a child jail a.b is written quoted in jail.conf and names its parent for ocijail', () => {
    const p = load('ping');
    const s = buildJailSpec(planJail(p, 'web.app', '/j/web/app'), { name: 'web.app', path: '/j/web/app' });
    expect(s.parent).toBe('web');
    expect(formatJailConf(s).split('\n')[0]).toBe('"web.app" {');
    expect(formatOcijail(s).annotations['org.freebsd.parentJail']).toBe('web');
    expect(s.notes.join('\n')).toContain('children.max');
  });

  it('ocijail: what annotations cannot say is listed (allow.no*, enforce_statfs, raw sockets it always sets)', () => {
    const o = formatOcijail(spec('strict', 'native'));
    expect(o.annotations).toEqual({});
    expect(o.cannotExpress.map((c) => c.subject)).toEqual(
      expect.arrayContaining(['allow.noreserved_ports', 'allow.raw_sockets']),
    );
  });
});

describe('jail create CLI: refusals exit 2 with one line', () => {
  const bin = join(root, 'bin', 'capctl.js');
  const run = (args: string[]) =>
    spawnSync(process.execPath, [bin, 'jail', 'create', ...args, '--dry-run'], { encoding: 'utf8' });
  it.each([
    [['j', '--profile', 'ping', '--path', 'jails/j'], 'must be an absolute path'],
    [['j', '--profile', 'ping', '--path', '/jails/../etc'], 'not normalised'],
    [['j', '--profile', 'ping', '--path', '/jails/a b'], 'has characters'],
    [['a..b', '--profile', 'ping', '--path', '/j'], 'is not a jail name'],
    [['a.12', '--profile', 'ping', '--path', '/j'], 'is not a jail name'],
    [['j', '--profile', 'ping', '--path', '/j', '--vnet', 'epair0b', '--ip4', '192.0.2.1'], '--vnet gives the jail'],
    [['j', '--profile', 'ping', '--path', '/j', '--ip4', '300.1.1.1'], 'is not an IPv4 address'],
    [['j', '--profile', 'ping', '--path', '/j', '--exec-start', 'sh -c "$X"'], "has quotes, '$'"],
    [['j', '--profile', 'ping', '--path', '/j', '--linux-osrelease', '5.15'], 'need --linux'],
    [['j', '--profile', 'ping', '--path', '/j', '--format', 'yaml'], 'Allowed choices are'],
  ])('%j', (args, msg) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('records the binding of a child jail under its dotted name', () => {
    const state = mkdtempSync(join(tmpdir(), 'capctl-i13-jail-'));
    const r = spawnSync(
      process.execPath,
      [bin, 'jail', 'create', 'web.app', '--profile', 'ping', '--path', '/j/web/app', '--state-dir', state, '--json'],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'web.app', parent: 'web', format: 'jail.conf' });
    const b = JSON.parse(readFileSync(join(state, 'bindings.json'), 'utf8'));
    expect(b.bindings).toMatchObject([{ kind: 'jail', target: 'web.app' }]);
  });
});
