/**
 * capctl priv / cap explain / check, run in-process through the real commander program
 * (src/cli/main.ts), with stdout, stderr and the exit code captured.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ROOT } from './gen-tables.js';

interface Run {
  out: string;
  err: string;
  code: number;
}

async function capctl(...args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => {
    out += String(s);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await main(['node', 'capctl', ...args]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

afterEach(() => {
  process.exitCode = 0;
});

describe('capctl priv', () => {
  it('lists all 246 privileges; --group filters; --json has the jail rule and capabilities', async () => {
    const all = await capctl('priv', 'list', '--json');
    expect(all.code).toBe(0);
    const list = JSON.parse(all.out) as {
      name: string;
      number: number;
      jail: { rule: string };
      capabilities: unknown[];
    }[];
    expect(list).toHaveLength(246);
    expect(list.find((p) => p.name === 'PRIV_NETINET_RAW')).toMatchObject({ number: 497, jail: { rule: 'param' } });
    const ipv4 = await capctl('priv', 'list', '--group', 'ipv4');
    expect(ipv4.out.split('\n').filter((l) => /^\d/.test(l))).toHaveLength(19);
    const bad = await capctl('priv', 'list', '--group', 'Netwrk stack');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/did you mean "Network stack"\?/);
  });
  it('explains one privilege: capabilities, jail rule and parameter', async () => {
    const r = await capctl('priv', 'explain', 'vfs_mount');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^PRIV_VFS_MOUNT \(333\)/);
    expect(r.out).toMatch(/jail: {4}param: allow\.mount&enforce_statfs<2/);
    expect(r.out).toMatch(/parameters: allow\.mount \(default 0\), enforce_statfs<2 \(default 2\)/);
    expect(r.out).toMatch(/CAP_SYS_ADMIN \[high\]/);
    const rd = JSON.parse((await capctl('priv', 'explain', 'PRIV_VFS_READ_DIR', '--json')).out);
    expect(rd.linuxless).toBe(true);
    expect(rd.notes.join(' ')).toMatch(/refuses it to jailed root/);
    expect((await capctl('priv', 'explain', 'PRIV_NOPE')).code).toBe(2);
  });
});

describe('capctl cap explain', () => {
  it('shows privileges, unlocking parameters and capget reporting for a jail', async () => {
    const d = JSON.parse((await capctl('cap', 'explain', 'CAP_SYS_ADMIN', '--json')).out);
    expect(d.privileges.map((p: { priv: string }) => p.priv)).toContain('PRIV_VFS_MOUNT');
    expect(d.unlockingParameters).toEqual(expect.arrayContaining(['allow.mount', 'enforce_statfs<2']));
    expect(d.neverInJail).toContain('PRIV_SWAPON');
    expect(d.capget.reportable).toBe(false);
    const raw = await capctl('cap', 'explain', 'net_raw', '--jail-param', 'allow.raw_sockets=1');
    expect(raw.out).toMatch(/capget in a jail with allow\.raw_sockets=1: reported/);
    const lease = await capctl('cap', 'explain', 'CAP_LEASE');
    expect(lease.out).toMatch(/no counterpart — FreeBSD has no file leases/);
    expect((await capctl('cap', 'explain', 'CAP_NET_RAWW')).err).toMatch(/did you mean CAP_NET_RAW\?/);
  });
});

describe('capctl check', () => {
  it('exit 1 and the jail stage for a raw socket in a default jail', async () => {
    const r = await capctl('check', '--host', 'freebsd', '--json', 'PRIV_NETINET_RAW');
    expect(r.code).toBe(1);
    const [d] = JSON.parse(r.out);
    expect(d).toMatchObject({ request: 'PRIV_NETINET_RAW', decision: 'denied', stage: 'jail' });
    expect(d.reason).toMatch(/allow\.raw_sockets=0: EPERM/);
  });
  it('exit 0 when all are allowed; the capability stage when the thread dropped the cap', async () => {
    const ok = await capctl(
      'check',
      '--host',
      'freebsd',
      '--jail-param',
      'allow.raw_sockets=1',
      'CAP_NET_RAW',
      'PRIV_NETINET_RAW',
    );
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/PRIV_NETINET_RAW: allowed \(capability\)/);
    const dropped = await capctl(
      'check',
      '--host',
      'freebsd',
      '--json',
      '--jail-param',
      'allow.raw_sockets',
      '--caps',
      '=ep cap_net_raw-e',
      'PRIV_NETINET_RAW',
    );
    expect(dropped.code).toBe(1);
    expect(JSON.parse(dropped.out)[0]).toMatchObject({ decision: 'denied', stage: 'capability' });
  });
  it('vnet, allow.suser=0, reserved-port EACCES, mount with enforce_statfs=2', async () => {
    expect((await capctl('check', '--host', 'freebsd', '--jail-param', 'vnet=new', 'PRIV_NETINET_RAW')).code).toBe(0);
    const nosu = JSON.parse(
      (
        await capctl(
          'check',
          '--host',
          'freebsd',
          '--json',
          '--native',
          '--jail-param',
          'allow.suser=0',
          'PRIV_CRED_SETUID',
        )
      ).out,
    )[0];
    expect(nosu).toMatchObject({ decision: 'denied', stage: 'superuser' });
    const port = JSON.parse(
      (
        await capctl(
          'check',
          '--host',
          'freebsd',
          '--json',
          '--jail-param',
          'allow.reserved_ports=0',
          'PRIV_NETINET_RESERVEDPORT',
        )
      ).out,
    )[0];
    expect(port).toMatchObject({ decision: 'denied', stage: 'jail', errno: 13 });
    const mount = await capctl('check', '--host', 'freebsd', '--jail-param', 'allow.mount=1', 'PRIV_VFS_MOUNT');
    expect(mount.code).toBe(1);
    expect(mount.out).toMatch(/enforce_statfs=2: EPERM/);
  });
  it('exit 2 on bad input: unknown request, bad K=V, unknown parameter, bad host', async () => {
    const cases: [string[], RegExp][] = [
      [['check', '--host', 'freebsd', 'PRIV_NETINET_RAWW'], /did you mean PRIV_NETINET_RAW\?/],
      [['check', '--host', 'freebsd', 'CAP_NET_RAWW'], /did you mean CAP_NET_RAW\?/],
      [
        ['check', '--host', 'freebsd', '--jail-param', 'allow.raw_sockts=1', 'CAP_NET_RAW'],
        /did you mean allow\.raw_sockets\?/,
      ],
      [['check', '--host', 'freebsd', '--jail-param', 'enforce_statfs=7', 'CAP_NET_RAW'], /outside 0\.\.2/],
      [['check', '--host', 'freebsd', '--jail-param', '=1', 'CAP_NET_RAW'], /not K=V/],
      [['check', '--host', 'solaris', 'CAP_NET_RAW'], /--host must be linux or freebsd/],
      [['check', '--host', 'linux', '--jail-param', 'vnet=new', 'CAP_NET_RAW'], /needs --host freebsd/],
      [['check', '--host', 'freebsd', '--uid', '-1', 'CAP_NET_RAW'], /--uid/],
      [['check', '--host', 'freebsd', '--caps', 'cap_bogus=ep', 'CAP_NET_RAW'], /unknown capability/],
    ];
    for (const [args, msg] of cases) {
      const r = await capctl(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
    }
  });
  it('--host linux answers from the effective set', async () => {
    const r = await capctl(
      'check',
      '--host',
      'freebsd',
      '--json',
      '--host',
      'linux',
      '--caps',
      'cap_net_bind_service=ep',
      'CAP_NET_BIND_SERVICE',
      'PRIV_NETINET_RESERVEDPORT',
      'CAP_NET_RAW',
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).map((d: { decision: string }) => d.decision)).toEqual(['allowed', 'allowed', 'denied']);
  });
  it('--profile loads a profile with loadProfile and applies its veto', async () => {
    const ping = join(ROOT, 'policies', 'ping.yaml');
    const r = await capctl(
      'check',
      '--host',
      'freebsd',
      '--json',
      '--profile',
      ping,
      '--jail-param',
      'allow.raw_sockets=1',
      'PRIV_NETINET_RAW',
      'PRIV_CRED_SETUID',
    );
    const out = JSON.parse(r.out);
    expect(out[1]).toMatchObject({ request: 'PRIV_CRED_SETUID', decision: 'denied', stage: 'policy' });
    expect(r.code).toBe(1);
    const missing = await capctl(
      'check',
      '--host',
      'freebsd',
      '--profile',
      join(ROOT, 'policies', 'nope.yaml'),
      'CAP_NET_RAW',
    );
    expect(missing.code).toBe(2);
  });
});
