/**
 * A synthetic capctl audit log shaped like `replay --audit` output: denials and complain-mode
 * passes over a handful of capabilities, FreeBSD privileges and syscalls, many processes and
 * threads, with a source location on every record (as replay writes it). Deterministic (seeded).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { canonical } from '../src/audit/writer.js';

const CAPS: [string, number, string, string][] = [
  ['CAP_NET_RAW', 13, 'socket', 'AF_INET SOCK_RAW 1'],
  ['CAP_NET_BIND_SERVICE', 10, 'bind', 'bind port 80'],
  ['CAP_SYS_ADMIN', 21, 'mount', 'proc on /proc'],
  ['CAP_SETUID', 7, 'setuid', 'uid 0'],
  ['CAP_SYS_NICE', 23, 'setpriority', 'nice -5'],
  ['CAP_MKNOD', 27, 'mknod', 'S_IFCHR'],
  ['CAP_CHOWN', 0, 'chown', '/var/lib/x'],
  ['CAP_SYS_CHROOT', 18, 'chroot', '/srv'],
];
const PRIVS = ['PRIV_NETINET_RAW', 'PRIV_VFS_MOUNT', 'PRIV_CRED_SETUID'];

/** xorshift32: small, fast, seeded. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function auditRecord(i: number, r: () => number): Record<string, unknown> {
  const [cap, capNumber, syscall, op] = CAPS[Math.floor(r() * CAPS.length)]!;
  const verdict = r() < 0.8 ? 'denied' : 'complain';
  const tgid = 1000 + Math.floor(r() * 5000);
  const tid = r() < 0.7 ? tgid : tgid + 1 + Math.floor(r() * 8);
  const rec: Record<string, unknown> = {
    level: verdict === 'denied' ? 'warn' : 'info',
    seq: i + 1,
    verdict,
    host: r() < 0.9 ? 'linux' : 'freebsd',
    syscall,
    errno: verdict === 'denied' ? 'EPERM' : '',
    stage: verdict === 'denied' ? 'capability' : 'profile-complain',
    reason: `${cap} not in the effective set (profile would deny ${syscall})`,
    tid,
    tgid,
  };
  if (r() < 0.9) rec.op = op;
  if (r() < 0.97) {
    rec.cap = cap;
    rec.capNumber = capNumber;
  }
  if (rec.host === 'freebsd') {
    const p = Math.floor(r() * PRIVS.length);
    rec.priv = PRIVS[p];
    rec.privNumber = 490 + p;
  }
  rec.comm = ['nginx', 'ping', 'postgres', 'sshd'][Math.floor(r() * 4)];
  if (r() < 0.8) rec.profile = ['nginx', 'ping', 'strict'][Math.floor(r() * 3)];
  rec.source = { file: `/var/tmp/traces/app-${tgid % 50}.strace`, line: 1 + Math.floor(r() * 1e6) };
  rec.time = new Date(Date.UTC(2026, 10, 1) + i * 37).toISOString();
  return rec;
}

/** Write `n` records to `path`; returns the size in bytes. */
export function generateAuditLog(path: string, n: number, seed = 12): number {
  const r = rng(seed);
  const fd = openSync(path, 'w');
  let bytes = 0;
  let chunk: string[] = [];
  for (let i = 0; i < n; i++) {
    const rec = auditRecord(i, r) as Parameters<typeof canonical>[0] & { seq?: number };
    chunk.push(JSON.stringify(canonical(rec, rec.seq ?? i + 1)));
    if (chunk.length === 10000 || i === n - 1) {
      const s = `${chunk.join('\n')}\n`;
      bytes += writeSync(fd, s);
      chunk = [];
    }
  }
  closeSync(fd);
  return bytes;
}
