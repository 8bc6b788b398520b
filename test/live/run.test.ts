/**
 * `capctl run` end to end: the jail answers a real ping, profile rules limited to one system
 * call are enforced on the live program, --complain lets it run and logs what enforce mode
 * would refuse, and the program never outlives its supervisor.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { parseCapText } from '../../src/caps/text.js';
import { reportableCaps } from '../../src/priv/bridge.js';
import { compilePrison } from '../../src/priv/check.js';
import { makeJailConfig } from '../../src/priv/jail.js';
import { CLI, canSupervise, capctl, has, ROOT, records, superviseSkip } from './run-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'capctl-i14-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const canPing = has('ping') && spawnSync('ping', ['-c1', '-W1', '127.0.0.1'], { stdio: 'ignore' }).status === 0;

describe.runIf(canSupervise)(`capctl run${superviseSkip}`, () => {
  it.runIf(canPing)(
    'freebsd host without allow.raw_sockets: ping fails with its own EPERM, audit names PRIV_NETINET_RAW at the jail stage',
    () => {
      const log = join(dir, 'ping-denied.log');
      const r = capctl(['run', '--host', 'freebsd', '--audit', log, '--', 'ping', '-c1', '127.0.0.1']);
      expect(r.code).not.toBe(0);
      expect(r.err).toContain('ping: socket: Operation not permitted');
      const recs = records(log);
      // ping tries a raw IPv4 and a raw IPv6 socket: each is refused, each is one record.
      expect(recs.length).toBeGreaterThanOrEqual(1);
      for (const rec of recs) {
        expect(rec).toMatchObject({ verdict: 'denied', host: 'freebsd', syscall: 'socket', errno: 'EPERM' });
        expect(rec).toMatchObject({ priv: 'PRIV_NETINET_RAW', stage: 'jail', cap: 'CAP_NET_RAW' });
      }
      expect(recs.filter((x) => x.op === 'AF_INET SOCK_RAW 1')).toHaveLength(1);
    },
  );

  it.runIf(canPing)('freebsd host with allow.raw_sockets=1: the same ping succeeds, nothing refused', () => {
    const log = join(dir, 'ping-allowed.log');
    const r = capctl([
      'run',
      '--host',
      'freebsd',
      '--jail-param',
      'allow.raw_sockets=1',
      '--audit',
      log,
      '--',
      'ping',
      '-c1',
      '127.0.0.1',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('1 received');
    expect(records(log)).toEqual([]);
  });

  it.runIf(has('capsh'))('freebsd host: capsh --print inside shows the bridged sets, not the host root ones', () => {
    const r = capctl(['run', '--host', 'freebsd', '--', 'capsh', '--print']);
    expect(r.code).toBe(0);
    const current = /^Current: (.*)$/m.exec(r.out)?.[1] ?? '';
    // The default jail: no raw sockets, no module loading, no mknod of devices.
    expect(current).toContain('cap_chown');
    expect(current).not.toContain('cap_net_raw');
    expect(current).not.toContain('cap_sys_module');
    expect(current).not.toContain('cap_mknod');
    const bounding = /^Bounding set =(.*)$/m.exec(r.out)?.[1] ?? '';
    expect(bounding).not.toContain('cap_net_raw');
    // With raw sockets allowed the capability appears.
    const raw = capctl(['run', '--host', 'freebsd', '--jail-param', 'allow.raw_sockets=1', '--', 'capsh', '--print']);
    expect(/^Current: (.*)$/m.exec(raw.out)?.[1]).toContain('cap_net_raw');
  });

  it.runIf(has('capsh'))(
    `freebsd host, ping.yaml + allow.raw_sockets=1: capsh --print shows only cap_net_raw; strict.yaml none; no profile what the bridge reports${has('capsh') ? '' : ' — skipped: capsh not installed'}`,
    () => {
      const capsh = (extra: string[]) => {
        const r = capctl(['run', '--host', 'freebsd', ...extra, '--', 'capsh', '--print']);
        expect(r.code, r.err).toBe(0);
        const current = parseCapText(/^Current: (.*)$/m.exec(r.out)?.[1] ?? 'x');
        const bounding = (/^Bounding set =(.*)$/m.exec(r.out)?.[1] ?? 'x').split(',').filter((x) => x !== '');
        return { current, bounding };
      };
      const raw = ['--jail-param', 'allow.raw_sockets=1'];
      // ping.yaml allows PRIV_NETINET_RAW only in socket(2) and vetoes PRIV_*: reporting asks the
      // jail, the profile's set is {NET_RAW} (docs/priv.md, "capget reporting").
      const ping = capsh([...raw, '--profile', join(ROOT, 'policies', 'ping.yaml')]);
      expect(ping.current.effective.toNames()).toEqual(['CAP_NET_RAW']);
      expect(ping.current.permitted.toNames()).toEqual(['CAP_NET_RAW']);
      expect(ping.current.inheritable.size).toBe(0);
      expect(ping.bounding).toEqual(['cap_net_raw']);
      const strict = capsh([...raw, '--profile', join(ROOT, 'policies', 'strict.yaml')]);
      expect(strict.current.permitted.size).toBe(0);
      expect(strict.bounding).toEqual([]);
      // No profile: exactly the bridge's reportable set for this jail.
      const w = reportableCaps(compilePrison(makeJailConfig({ 'allow.raw_sockets': '1' })));
      const bridge = CapSet.fromWords(w.lo, w.hi);
      const none = capsh(raw);
      expect(none.current.effective.toNames()).toEqual(bridge.toNames());
      expect(none.current.permitted.toNames()).toEqual(bridge.toNames());
      expect(none.bounding).toEqual(bridge.toNames().map((n) => n.toLowerCase()));
      expect(bridge.has(13)).toBe(true);
    },
  );

  it.runIf(canPing)(
    'freebsd host, ping.yaml + allow.raw_sockets=1: ping works with exactly the one capability it was reported',
    () => {
      const log = join(dir, 'ping-yaml.log');
      const args = ['--host', 'freebsd', '--profile', join(ROOT, 'policies', 'ping.yaml')];
      const r = capctl([
        'run',
        ...args,
        '--jail-param',
        'allow.raw_sockets=1',
        '--audit',
        log,
        '--',
        'ping',
        '-c1',
        '127.0.0.1',
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('1 received');
      expect(records(log)).toEqual([]);
    },
  );

  const profile = join(dir, 'no-raw-socket.yaml');
  writeFileSync(
    profile,
    `name: no-raw-socket
description: CAP_NET_RAW may not open sockets; every other use stays Linux's decision
rules:
  - effect: deny
    caps: [NET_RAW]
    when:
      syscall: [socket]
    comment: limited to socket(2)
`,
  );

  it.runIf(canPing)('a profile rule limited to socket(2) is enforced on the live program', () => {
    const log = join(dir, 'syscall-rule.log');
    const r = capctl(['run', '--profile', profile, '--audit', log, '--', 'ping', '-c1', '127.0.0.1']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('Operation not permitted');
    const recs = records(log);
    expect(recs.length).toBeGreaterThanOrEqual(1);
    expect(recs[0]).toMatchObject({
      verdict: 'denied',
      host: 'linux',
      syscall: 'socket',
      stage: 'profile',
      cap: 'CAP_NET_RAW',
      profile: 'no-raw-socket',
    });
    // The rule names socket(2) only: capget still shows the capability held.
    const caps = capctl(['run', '--profile', profile, '--', 'sh', '-c', 'getpcaps $$']);
    expect(caps.out).toMatch(/=ep/);
  });

  it.runIf(canPing)('--complain: the program runs to completion and the log holds what enforce mode refuses', () => {
    const log = join(dir, 'complain.log');
    const r = capctl(['run', '--complain', '--profile', profile, '--audit', log, '--', 'ping', '-c1', '127.0.0.1']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('1 received');
    const recs = records(log);
    expect(recs.length).toBeGreaterThanOrEqual(1);
    expect(recs[0]).toMatchObject({ verdict: 'complain', syscall: 'socket', cap: 'CAP_NET_RAW' });
    expect(String(recs[0]!.reason)).toContain('would refuse');
  });

  it.runIf(has('gcc'))(
    'a program that asks capget first takes the other branch in the jail, and its capset drop is real',
    () => {
      const bin = join(dir, 'jail-aware');
      spawnSync('gcc', ['-o', bin, join(ROOT, 'examples', 'jail-aware.c')]);
      const log = join(dir, 'jail-aware.log');
      const jailed = capctl(['run', '--host', 'freebsd', '--audit', log, '--', bin]);
      expect(jailed.code, jailed.err).toBe(0);
      expect(jailed.out).toContain('no CAP_NET_RAW: not trying a raw socket');
      expect(jailed.out).toContain('after dropping: 0000000000000000');
      expect(jailed.out).toMatch(/kernel CapPrm:\s+0000000000000000/);
      // Nothing was refused: the program never tried.
      expect(records(log)).toEqual([]);
      const allowed = capctl(['run', '--host', 'freebsd', '--jail-param', 'allow.raw_sockets=1', '--', bin]);
      expect(allowed.code, allowed.err).toBe(0);
      expect(allowed.out).toContain('CAP_NET_RAW held: raw ICMP socket opened');
      expect(allowed.out).toMatch(/kernel CapPrm:\s+0000000000000000/);
    },
  );

  it('the program dies with its supervisor (kill -9 of capctl)', async () => {
    const pidfile = join(dir, 'child.pid');
    const sup = spawn(
      process.execPath,
      [CLI, 'run', '--', 'sh', '-c', `echo $$ > ${pidfile}; while :; do sleep 0.05; done`],
      {
        stdio: 'ignore',
      },
    );
    let pid = 0;
    for (let i = 0; i < 200 && pid === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(pidfile)) pid = Number(readFileSync(pidfile, 'utf8').trim()) || 0;
    }
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    sup.kill('SIGKILL');
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const st = existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
      alive = st !== '' && !/State:\s+Z/.test(st);
    }
    expect(alive).toBe(false);
  });

  it('--user: the program runs as that user with no capability, and the engine followed the launch', () => {
    const r = capctl(['run', '--json', '--user', 'nobody', '--', 'sh', '-c', 'id -u; grep CapPrm /proc/self/status']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^65534\nCapPrm:\s+0000000000000000\n$/);
    // The launch steps (setgroups, setresgid, setresuid, capset) went through the engine.
    const stats = JSON.parse(r.err.trim().split('\n').pop()!).stats;
    expect(stats.continued).toBeGreaterThanOrEqual(4);
    expect(stats.divergences).toBe(0);
  });

  it('bad input is exit 2 with one line', () => {
    const r = capctl(['run', '--jail-param', 'allow.raw_sockets=1', '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    const missing = capctl(['run', '--', 'capctl-i14-no-such-command']);
    expect(missing.code).toBe(2);
  });

  it('the exit status is the program’s', () => {
    expect(capctl(['run', '--', 'sh', '-c', 'exit 7']).code).toBe(7);
    expect(ROOT).toBeTruthy();
  });
});
