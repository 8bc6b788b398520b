/** Jail planning: allow.* derived from what the profile allows, through the priv layer's jail rules. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile, planJail } from '../../src/policy/index.js';
import { formatJailCommand, formatJailConf } from '../../src/policy/jail-format.js';
import { buildJailSpec } from '../../src/policy/jail-spec.js';
import { policiesDir } from '../../src/policy/paths.js';
import { profileDir } from './helpers.js';

const plan = (yaml: string) => planJail(loadProfile(join(profileDir({ 'p.yaml': yaml }), 'p.yaml')), 'j', '/jails/j');
/** The jail.conf and `jail -c` text of a plan with nothing but persist (no exec.start). */
const texts = (p: ReturnType<typeof plan>) => {
  const spec = buildJailSpec(p, { name: p.name, path: p.path, execStart: undefined });
  const privOnly = { ...spec, stmts: [] };
  return { conf: formatJailConf(privOnly), command: formatJailCommand(privOnly) };
};
const keys = (p: ReturnType<typeof plan>) => p.params.map((x) => (x.value === null ? x.key : `${x.key}=${x.value}`));

describe('default deny in jail planning (issue 8)', () => {
  it('a profile with only a jail: section plans no allow.* parameter (it used to plan eight)', () => {
    const p = plan('name: j\njail:\n  vnet: new\n');
    expect(keys(p).filter((k) => k.startsWith('allow.') && !k.startsWith('allow.no'))).toEqual([]);
    expect(keys(p)).toContain('allow.noreserved_ports');
  });
});

describe('jail create planning', () => {
  it('mount needs allow.mount and enforce_statfs below 2 (an AND condition)', () => {
    const p = plan('name: p\ncapabilities:\n  bounding: []\nrules:\n  - effect: allow\n    privs: [PRIV_VFS_MOUNT]\n');
    expect(keys(p)).toEqual(['allow.mount', 'allow.noreserved_ports', 'enforce_statfs=1', 'persist']);
    expect(texts(p).conf).toContain('enforce_statfs = 1;');
  });

  it('prefers allow.raw_sockets over a vnet, and uses a vnet only when the profile asks for one', () => {
    expect(keys(plan('name: p\ncapabilities:\n  bounding: [NET_RAW]\n'))).toContain('allow.raw_sockets');
    const noVnet = plan(
      'name: p\ncapabilities:\n  bounding: []\nrules:\n  - effect: allow\n    privs: [PRIV_NET_SETIFMTU]\n',
    );
    expect(noVnet.cannotExpress).toContainEqual({
      subject: 'PRIV_NET_SETIFMTU',
      why: expect.stringContaining('only a vnet jail passes it'),
    });
    const vnet = plan(
      'name: p\ncapabilities:\n  bounding: []\nrules:\n  - effect: allow\n    privs: [PRIV_NET_SETIFMTU]\njail:\n  vnet: new\n',
    );
    expect(vnet.cannotExpress.map((c) => c.subject)).not.toContain('PRIV_NET_SETIFMTU');
    expect(keys(vnet)).toContain('vnet=new');
  });

  it('a privilege the profile vetoes for everyone is not needed even if an allowed cap maps to it', () => {
    const p = plan(
      'name: p\ncapabilities:\n  bounding: [NET_RAW]\nrules:\n  - effect: deny\n    privs: [PRIV_NETINET_RAW]\n',
    );
    expect(keys(p)).not.toContain('allow.raw_sockets');
  });

  it('jails never grant PRIV_KLD_LOAD: SYS_MODULE is listed as not expressible', () => {
    const p = plan('name: p\ncapabilities:\n  bounding: [SYS_MODULE]\n');
    expect(p.cannotExpress).toContainEqual({
      subject: 'PRIV_KLD_LOAD',
      why: 'needed for CAP_SYS_MODULE, but jailed root never gets it',
    });
  });

  it('keeps the profile’s own parameters and writes booleans the jail(8) way', () => {
    const p = plan(
      'name: p\ncapabilities:\n  bounding: []\njail:\n  allow.mount.devfs: true\n  persist: false\n  host.hostname: "a b"\n',
    );
    expect(keys(p)).toEqual(['allow.mount.devfs', 'allow.noreserved_ports', 'host.hostname=a b', 'nopersist']);
    expect(texts(p).command).toContain("'host.hostname=a b'");
    expect(texts(p).conf).toContain('host.hostname = "a b";');
  });

  it('docker-default needs raw sockets and reserved ports, nothing else', () => {
    const p = planJail(loadProfile(join(policiesDir(), 'docker-default.yaml')), 'web', '/jails/web');
    expect(keys(p)).toEqual(['allow.raw_sockets', 'allow.reserved_ports', 'persist']);
    const spec = buildJailSpec(p, { name: 'web', path: '/jails/web', execStart: '/bin/true' });
    expect(formatJailCommand({ ...spec, stmts: [] }).split('\n')[0]).toBe(
      'jail -c name=web path=/jails/web allow.raw_sockets allow.reserved_ports',
    );
  });
});
