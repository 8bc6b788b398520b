/**
 * The privileged operations `capctl run` decides beyond sockets, mknod, chroot, kill and host
 * names: setpriority, setrlimit/prlimit64, ptrace attach, setns, mount, umount2, settimeofday,
 * clock_settime, bind
 * (fixtures/privops.c tries each once). With --host linux and no profile the program cannot tell
 * it is supervised; a profile or the FreeBSD host refuses them with the engine's errno and an
 * audit record; --complain lets them through and records them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canSupervise, capctl, has, ROOT, records, superviseSkip } from './run-helpers.js';

const ready = canSupervise && has('gcc');
const skip = canSupervise ? (has('gcc') ? '' : ' — skipped: gcc missing') : superviseSkip;

const dir = mkdtempSync(join(tmpdir(), 'capctl-i14-privops-'));
const bin = join(dir, 'privops');
const mnt = join(dir, 'mnt');
const profile = join(dir, 'deny-privops.yaml');
let native = '';

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** "op: RESULT" lines as a map. */
function results(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(': ') as [string, string]),
  );
}

describe.runIf(ready)(`capctl run: setpriority, setrlimit, ptrace, setns, mount, umount2, clock, bind${skip}`, () => {
  beforeAll(() => {
    execFileSync('gcc', ['-O2', '-o', bin, join(ROOT, 'test', 'live', 'fixtures', 'privops.c')]);
    mkdirSync(mnt);
    writeFileSync(
      profile,
      `name: deny-privops
description: every capability, but not the ones these operations need
capabilities:
  bounding: [ALL]
rules:
  - effect: deny
    caps: [SYS_PTRACE, SYS_NICE, SYS_RESOURCE, SYS_TIME, NET_BIND_SERVICE]
  - effect: deny
    caps: [SYS_ADMIN]
    when:
      syscall: [mount, umount2, setns]
`,
    );
    chmodSync(profile, 0o644);
    const r = spawnSync(bin, [mnt], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    native = r.stdout;
  });

  it('--host linux, no profile: the same results as without capctl, the model never diverges', () => {
    const r = capctl(['run', '--json', '--', bin, mnt]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(native);
    const stats = JSON.parse(r.err.trim().split('\n').pop()!).stats;
    expect(stats.divergences).toBe(0);
    // Each operation was trapped and decided (setrlimit's lowering made by capctl itself).
    expect(stats.notifications).toBeGreaterThanOrEqual(9);
  });

  it('a profile that withholds the capabilities: each refused with the engine errno and one audit record', () => {
    const log = join(dir, 'profile.log');
    const r = capctl(['run', '--profile', profile, '--audit', log, '--', bin, mnt, 'set-clock']);
    expect(r.code, r.err).toBe(0);
    const got = results(r.out);
    const was = results(native);
    expect(got).toMatchObject({
      nice: 'EACCES',
      // capctl, outside the supervised tree: the profile's answer without the target's credential.
      'nice-parent': 'EPERM',
      'rlimit-lower': 'OK',
      'rlimit-raise': 'EPERM',
      // The lowering really happened (made by capctl with the limits it checked); the raise did not.
      'rlimit-hard': 'lowered',
      ptrace: 'EPERM',
      'unshare-uts': 'OK',
      setns: 'EPERM',
      'umount-nomount': 'EPERM',
      // mount(MS_REC|MS_PRIVATE) after unshare is a mount too: refused.
      'unshare-mnt': 'EPERM',
      settimeofday: 'EPERM',
      'clock-monotonic': was['clock-monotonic'],
      'clock-null': was['clock-null'],
      'clock-realtime': 'EPERM',
      // A read needs nothing: made by capctl with the modes it checked, the struct copied back.
      'adjtimex-read': was['adjtimex-read'],
      'adjtimex-write': 'EPERM',
      // Reserved ports, whatever the address says its family is; the rest is the kernel's (via capctl's bind).
      'bind-80': 'EACCES',
      'bind-unspec-81': 'EACCES',
      'bind6-80': 'EACCES',
      'bind-any-port': was['bind-any-port'],
      'bind-badfd': 'EBADF',
      'bind-notsock': 'ENOTSOCK',
      'bind-unix': was['bind-unix'],
    });
    const recs = records(log);
    const bySys = (s: string) => recs.filter((x) => x.syscall === s);
    const expectOne = (sys: string, cap: string, errno: string, nativeOk: boolean) => {
      const hit = bySys(sys);
      expect(hit, sys).toHaveLength(1);
      expect(hit[0]).toMatchObject({ verdict: 'denied', host: 'linux', cap, errno });
      // Where the kernel alone allows it, the refusal is the profile's.
      if (nativeOk) expect(hit[0]).toMatchObject({ stage: 'profile', profile: 'deny-privops' });
    };
    expect(bySys('setpriority')).toHaveLength(2);
    expect(bySys('setpriority')[0]).toMatchObject({ verdict: 'denied', cap: 'CAP_SYS_NICE', errno: 'EACCES' });
    if (was.nice === 'OK') expect(bySys('setpriority')[0]).toMatchObject({ stage: 'profile' });
    const outside = bySys('setpriority').find((x) => String(x.op).includes('outside the supervised tree'));
    expect(outside).toMatchObject({ verdict: 'denied', cap: 'CAP_SYS_NICE', stage: 'profile' });
    expectOne('setrlimit', 'CAP_SYS_RESOURCE', 'EPERM', was['rlimit-raise'] === 'OK');
    expectOne('ptrace', 'CAP_SYS_PTRACE', 'EPERM', was.ptrace === 'OK');
    expectOne('setns', 'CAP_SYS_ADMIN', 'EPERM', was.setns === 'OK');
    expectOne('umount2', 'CAP_SYS_ADMIN', 'EPERM', was['umount-nomount'] === 'EINVAL');
    expectOne('mount', 'CAP_SYS_ADMIN', 'EPERM', was['unshare-mnt'] === 'OK');
    expectOne('settimeofday', 'CAP_SYS_TIME', 'EPERM', was.settimeofday === 'OK');
    expectOne('clock_settime', 'CAP_SYS_TIME', 'EPERM', was.settimeofday === 'OK');
    expectOne('adjtimex', 'CAP_SYS_TIME', 'EPERM', was.settimeofday === 'OK');
    expect(was['adjtimex-read']).toBe('OK');
    const binds = bySys('bind');
    // bind-80, bind-unspec-81 (and the second bind on that still unbound socket), bind6-80.
    expect(binds.map((x) => x.op)).toEqual([
      'port 80 < ip_unprivileged_port_start 1024',
      'port 81 < ip_unprivileged_port_start 1024',
      'port 81 < ip_unprivileged_port_start 1024',
      'port 80 < ip_unprivileged_port_start 1024',
    ]);
    for (const b of binds) expect(b).toMatchObject({ verdict: 'denied', cap: 'CAP_NET_BIND_SERVICE', errno: 'EACCES' });
    if (was['bind-80'] === 'OK') expect(binds[0]).toMatchObject({ stage: 'profile' });
  });

  it('--complain with that profile: the program sees the native results; the log holds each would-be refusal', () => {
    const log = join(dir, 'complain.log');
    const r = capctl(['run', '--complain', '--profile', profile, '--audit', log, '--', bin, mnt]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(native);
    const sys = new Set(records(log).map((x) => (x.verdict === 'complain' ? x.syscall : undefined)));
    for (const s of ['setpriority', 'ptrace', 'setns', 'umount2', 'mount', 'settimeofday', 'bind'])
      expect(sys.has(s), s).toBe(true);
  });

  it('--host freebsd: the jail refuses them, by priv(9) name and stage', () => {
    const log = join(dir, 'freebsd.log');
    const r = capctl(['run', '--host', 'freebsd', '--audit', log, '--', bin, mnt, 'set-clock']);
    expect(r.code, r.err).toBe(0);
    expect(results(r.out)).toMatchObject({
      nice: 'EACCES',
      // Outside the jail: invisible.
      'nice-parent': 'ESRCH',
      ptrace: 'EPERM',
      setns: 'EPERM',
      'umount-nomount': 'EPERM',
      settimeofday: 'EPERM',
      'clock-realtime': 'EPERM',
      'adjtimex-read': 'OK',
      'adjtimex-write': 'EPERM',
      // The jail lets root bind reserved ports (PRIV_NETINET_RESERVEDPORT is always allowed).
      'bind-80': results(native)['bind-80'],
    });
    const recs = records(log);
    const one = (sys: string) => recs.find((x) => x.syscall === sys);
    expect(one('setpriority')).toMatchObject({ priv: 'PRIV_SCHED_SETPRIORITY', stage: 'jail', errno: 'EACCES' });
    // The child switched to uid 65534; the jail reports no CAP_SYS_PTRACE to root.
    expect(one('ptrace')).toMatchObject({ priv: 'PRIV_DEBUG_DIFFCRED', stage: 'capability', errno: 'EPERM' });
    expect(one('umount2')).toMatchObject({ priv: 'PRIV_VFS_UNMOUNT', stage: 'jail' });
    expect(one('setns')).toMatchObject({ priv: 'PRIV_JAIL_ATTACH', errno: 'EPERM' });
    expect(one('settimeofday')).toMatchObject({ priv: 'PRIV_SETTIMEOFDAY', stage: 'jail' });
    expect(one('clock_settime')).toMatchObject({ priv: 'PRIV_CLOCK_SETTIME', stage: 'jail' });
  });
});
