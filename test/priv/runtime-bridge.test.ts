/**
 * The bridge through the runtime: a thread started with initialCredentialFor() sees, through
 * capget, what the jail really allows; capset within it succeeds; raising beyond it fails;
 * dropping works as on Linux, and the dropped capability then fails at priv_check.
 */
import { describe, expect, it } from 'vitest';
import { capByName } from '../../src/caps/catalog.js';
import { createFreeBSDHost, initialCredentialFor, reportableCapsFor } from '../../src/runtime/freebsd-host.js';
import { Credential, createRuntime } from '../../src/runtime/index.js';

const V3 = 0x20080522;
const NET_RAW = capByName('CAP_NET_RAW')!;
const MKNOD = capByName('CAP_MKNOD')!;

function get(rt: ReturnType<typeof createRuntime>, tid: number) {
  const words = new Uint32Array(6);
  const r = rt.capget(tid, { version: V3, pid: 0 }, { words });
  return { r, e: [words[0]!, words[3]!], p: [words[1]!, words[4]!], i: [words[2]!, words[5]!] };
}

function set(rt: ReturnType<typeof createRuntime>, tid: number, e: number[], p: number[], i: number[] = [0, 0]) {
  const words = new Uint32Array([e[0]!, p[0]!, i[0]!, e[1]!, p[1]!, i[1]!]);
  return rt.capset(tid, { version: V3, pid: 0 }, { words });
}

describe('bridge through the runtime (capget/capset keep Linux semantics)', () => {
  const host = createFreeBSDHost({ jailParams: { 'allow.raw_sockets': '1' } });
  const reportable = reportableCapsFor(host);

  it('capget reports the jail-derived permitted set instead of the Linuxulator zeros', () => {
    const rt = createRuntime({ host });
    const t = rt.spawn(initialCredentialFor(host, 0));
    const g = get(rt, t.tid);
    expect(g.r.ret).toBe(0);
    expect(g.p).toEqual([reportable.lo, reportable.hi]);
    expect(g.e).toEqual([reportable.lo, reportable.hi]);
    expect((g.p[0]! >>> NET_RAW) & 1).toBe(1);
    expect((g.p[0]! >>> MKNOD) & 1).toBe(0);
  });

  it('capset within the sets succeeds, raising beyond them fails, and a dropped cap is refused by priv_check', () => {
    const rt = createRuntime({ host });
    const t = rt.spawn(initialCredentialFor(host, 0));
    const lo = reportable.lo;
    const noRaw = (lo & ~(1 << NET_RAW)) >>> 0;
    expect(set(rt, t.tid, [noRaw, reportable.hi], [lo, reportable.hi]).ret).toBe(0);
    const op = { syscall: 'socket', detail: 'AF_INET SOCK_RAW' };
    expect(host.capable(t.cred, NET_RAW, op)).toMatchObject({ errno: 1, stage: 'capability' });
    // Raise it again: still in permitted, so capset allows it and the socket works.
    expect(set(rt, t.tid, [lo, reportable.hi], [lo, reportable.hi]).ret).toBe(0);
    expect(host.capable(t.cred, NET_RAW, op)).toMatchObject({ errno: 0, stage: 'capability' });
    // MKNOD was never permitted in this jail: capset cannot add it.
    const withMknod = (lo | (1 << MKNOD)) >>> 0;
    expect(set(rt, t.tid, [withMknod, reportable.hi], [withMknod, reportable.hi]).ret).toBe(-1);
    // Drop NET_RAW from permitted: it cannot come back.
    expect(set(rt, t.tid, [noRaw, reportable.hi], [noRaw, reportable.hi]).ret).toBe(0);
    expect(set(rt, t.tid, [lo, reportable.hi], [lo, reportable.hi]).ret).toBe(-1);
  });
});

describe('runtime privileged syscalls on the FreeBSD host (ops reach the right privilege)', () => {
  function run(params: Record<string, string>) {
    const host = createFreeBSDHost({ jailParams: params });
    const events: { syscall: string; errno: number; stage: string; reason: string; host: string }[] = [];
    const rt = createRuntime({ host, onDecision: (ev) => events.push(ev) });
    const t = rt.spawn(initialCredentialFor(host, 0));
    return { rt, tid: t.tid, events };
  }
  const AF_INET = 2;
  const SOCK_STREAM = 1;
  const SOCK_RAW = 3;
  const IPPROTO_ICMP = 1;
  const S_IFCHR = 0o020000;

  it('socket(AF_INET, SOCK_RAW, ICMP): denied at the jail stage by default, allowed with allow.raw_sockets', () => {
    const denied = run({});
    expect(denied.rt.socket(denied.tid, AF_INET, SOCK_RAW, IPPROTO_ICMP).errno).toBe(1);
    expect(denied.events.at(-1)).toMatchObject({ syscall: 'socket', stage: 'jail', host: 'freebsd' });
    expect(denied.events.at(-1)!.reason).toMatch(/PRIV_NETINET_RAW/);
    const ok = run({ 'allow.raw_sockets': '1' });
    expect(ok.rt.socket(ok.tid, AF_INET, SOCK_RAW, IPPROTO_ICMP).errno).toBe(0);
    expect(ok.events.at(-1)).toMatchObject({ stage: 'capability', errno: 0 });
  });
  it('bind to port 80 with allow.reserved_ports=0: EACCES, decided by the jail', () => {
    const r = run({ 'allow.reserved_ports': '0' });
    expect(r.rt.bind(r.tid, { family: AF_INET, sockType: SOCK_STREAM, port: 80 }).errno).toBe(13);
    expect(r.events.at(-1)).toMatchObject({ syscall: 'bind', stage: 'jail' });
    expect(r.events.at(-1)!.reason).toMatch(/PRIV_NETINET_RESERVEDPORT/);
  });
  it('mknod of a character device: denied at the jail stage', () => {
    const r = run({});
    expect(r.rt.mknod(r.tid, { mode: S_IFCHR | 0o600, dev: 0x0103 }).errno).toBe(1);
    expect(r.events.at(-1)).toMatchObject({ syscall: 'mknod', stage: 'jail' });
    expect(r.events.at(-1)!.reason).toMatch(/PRIV_VFS_MKNOD_DEV/);
  });
  it('sethostname: allowed in a default jail (allow.set_hostname=1), refused by the caller without it', () => {
    // CAP_SYS_ADMIN is not reportable in a jail, so give the thread the capability explicitly:
    // the point here is the caller check after priv_check.
    const host = createFreeBSDHost({ jailParams: { 'allow.set_hostname': '0' } });
    const events: { stage: string; reason: string }[] = [];
    const rt = createRuntime({ host, onDecision: (ev) => events.push(ev) });
    const t = rt.spawn(Credential.root());
    expect(rt.sethostname(t.tid, 4).errno).toBe(1);
    expect(events.at(-1)).toMatchObject({ stage: 'caller' });
    expect(events.at(-1)!.reason).toMatch(/allow\.set_hostname=1/);
  });
});
