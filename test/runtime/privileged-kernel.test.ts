/**
 * Live-kernel differential for the privileged operations: privileged-kernel.c performs each
 * operation under four fixed credentials (root; root with E = 0; uid 1000 without caps; uid
 * 1000 with E = P = root's set) and twelve random ones, and the runtime must predict the same
 * return value and errno.
 * Needs root and gcc.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  AF_UNIX,
  CLONE_NEWNET,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  Credential,
  createRuntime,
  type Runtime,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  type SyscallResult,
} from '../../src/runtime/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const isRoot = process.getuid?.() === 0;
const haveGcc = spawnSync('gcc', ['--version']).status === 0;
const canRun = isRoot && haveGcc;

const OPS = [
  'sock_raw4',
  'sock_raw6',
  'sock_packet',
  'sock_packet_stream',
  'sock_ping',
  'sock_tcp',
  'sock_unix',
  'sock_raw_badproto',
  'sock_badflags',
  'sock_raw_proto0',
  'sock_stream_udp',
  'sock_dgram_tcp',
  'sock_ping6_wrong_icmp',
  'sock_rdm',
  'sock_inet_packet',
  'sock_inet6_packet',
  'sock_unix_raw',
  'sock_unix_badproto',
  'bind6_7',
  'bind_raw_7',
  'mknod_regular0',
  'mknod_sock',
  'mknod_missing_parent',
  'kill_parent_negsig',
  'nice_clamp_high',
  'nice_badwhich',
  'clock_settime_16',
  'settimeofday_badtz',
  'reboot_unknown_cmd',
  'unshare_user_ns',
  'unshare_ipc',
  'chroot_missing',
  'bind_0',
  'bind_7',
  'bind_1023',
  'mknod_chr',
  'mknod_blk',
  'mknod_whiteout',
  'mknod_fifo',
  'mknod_dir',
  'chroot',
  'kill_parent',
  'kill_parent_badsig',
  'kill_missing',
  'sethostname_same',
  'sethostname_long',
  'setdomainname_long',
  'mount_nouser',
  'umount_badflags',
  'nice_lower',
  'nice_raise',
  'nice_parent',
  'chown_root_file',
  'chgrp_root_file',
  'chown_noop',
  'reboot_badmagic',
  'reboot_cad_on',
  'settimeofday_null',
  'settimeofday_badusec',
  'clock_settime_mono',
  'clock_settime_badnsec',
  'iopl3',
  'ioperm_on',
  'swapon_badflags',
  'swapoff',
  'rlimit_raise_nofile',
  'rlimit_lower_nofile',
  'rlimit_nofile_over_nr_open',
  'mlock_zero_limit',
  'unshare_uts',
  'unshare_user',
  'unshare_user_net_raw',
  'unshare_user_sethostname',
  'unshare_user_then_raw',
  'ptrace_missing',
  'setxattr_caps_badsize',
  'setxattr_caps_v2',
  'ptrace_seize_uid1000',
  'ptrace_seize_uid1000_dumpable',
  'uidtarget_kill',
  'uidtarget_kill_cont',
  'uidtarget_nice',
  'setns_user_of_child',
  'setns_net_of_child',
  'setns_net_wrong_type',
  'setns_user_then_net',
] as const;

function statusField(name: string): string {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${name}:\\s*(.*)$`, 'm'));
  if (!m) throw new Error(`no ${name} in /proc/self/status`);
  return m[1]!.trim();
}

function nofileHard(): bigint {
  const m = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\S+)\s+(\S+)/m);
  if (!m) throw new Error('no Max open files');
  return m[2] === 'unlimited' ? (1n << 64n) - 1n : BigInt(m[2]!);
}

interface Env {
  rt: Runtime;
  parent: number;
  child: number;
  nofileMax: bigint;
}

function makeEnv(cfg: string, iopl: boolean): Env {
  const range = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
  const rt = createRuntime({
    sysctl: {
      ipUnprivilegedPortStart: Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')),
      pingGroupRange: [range[0]!, range[1]!],
      nrOpen: Number(readFileSync('/proc/sys/fs/nr_open', 'utf8')),
    },
    kernelConfig: { x86IoplIoperm: iopl },
  });
  const p = statusField('CapPrm');
  const b = statusField('CapBnd');
  const root = Credential.from({ effective: p, permitted: p, bounding: b, groups: [] });
  const parent = rt.spawn(root, { tid: 10 }).tid;
  const mask = cfg.length > 1 ? BigInt(`0x${cfg.slice(1)}`) & BigInt(`0x${p}`) : 0n;
  const cred =
    cfg === 'A'
      ? root
      : cfg === 'B'
        ? Credential.from({ effective: 0n, permitted: p, bounding: b })
        : cfg === 'C'
          ? Credential.from({ uid: 1000, effective: 0n, permitted: 0n, bounding: b })
          : cfg === 'D'
            ? Credential.from({ uid: 1000, effective: p, permitted: p, bounding: b, securebits: 0x10 })
            : cfg[0] === 'E'
              ? Credential.from({ effective: mask, permitted: p, bounding: b })
              : Credential.from({ uid: 1000, effective: mask, permitted: mask, bounding: b, securebits: 0x10 });
  const child = rt.spawn(cred, { tid: 11, ppid: parent }).tid;
  return { rt, parent, child, nofileMax: nofileHard() };
}

function predict(env: Env, op: (typeof OPS)[number]): SyscallResult {
  const { rt, child: t, parent } = env;
  const rootFile = { fileUid: 0, fileGid: 0 };
  switch (op) {
    case 'sock_raw4':
      return rt.socket(t, AF_INET, SOCK_RAW, 1);
    case 'sock_raw6':
      return rt.socket(t, AF_INET6, SOCK_RAW, 58);
    case 'sock_packet':
      return rt.socket(t, AF_PACKET, SOCK_RAW, 0);
    case 'sock_packet_stream':
      return rt.socket(t, AF_PACKET, SOCK_STREAM, 0);
    case 'sock_ping':
      return rt.socket(t, AF_INET, SOCK_DGRAM, 1);
    case 'sock_tcp':
      return rt.socket(t, AF_INET, SOCK_STREAM, 0);
    case 'sock_unix':
      return rt.socket(t, AF_UNIX, SOCK_DGRAM, 0);
    case 'sock_raw_badproto':
      return rt.socket(t, AF_INET, SOCK_RAW, 300);
    case 'sock_badflags':
      return rt.socket(t, AF_INET, SOCK_STREAM | 0x10, 0);
    case 'sock_raw_proto0':
      return rt.socket(t, AF_INET6, SOCK_RAW, 0);
    case 'sock_stream_udp':
      return rt.socket(t, AF_INET, SOCK_STREAM, 17);
    case 'sock_dgram_tcp':
      return rt.socket(t, AF_INET6, SOCK_DGRAM, 6);
    case 'sock_ping6_wrong_icmp':
      return rt.socket(t, AF_INET6, SOCK_DGRAM, 1);
    case 'sock_rdm':
      return rt.socket(t, AF_INET, 4, 0);
    case 'sock_inet_packet':
      return rt.socket(t, AF_INET, 10, 0);
    case 'sock_inet6_packet':
      return rt.socket(t, AF_INET6, 10, 0);
    case 'sock_unix_raw':
      return rt.socket(t, AF_UNIX, SOCK_RAW, 0);
    case 'sock_unix_badproto':
      return rt.socket(t, AF_UNIX, SOCK_STREAM, 5);
    case 'bind6_7':
      return rt.bind(t, { family: AF_INET6, sockType: SOCK_DGRAM, port: 7 });
    case 'bind_raw_7': {
      const r = rt.socket(t, AF_INET, SOCK_RAW, 1);
      return r.errno ? { ret: -2, errno: r.errno } : rt.bind(t, { family: AF_INET, sockType: SOCK_RAW, port: 7 });
    }
    case 'mknod_regular0':
      return rt.mknod(t, { mode: 0o600 });
    case 'mknod_sock':
      return rt.mknod(t, { mode: 0o140600 });
    case 'mknod_missing_parent':
      return rt.mknod(t, { mode: S_IFCHR | 0o600, dev: 0x103, parentExists: false });
    case 'kill_parent_negsig':
      return rt.kill(t, parent, -1);
    case 'nice_clamp_high':
      return rt.setpriority(t, 0, 0, 100);
    case 'nice_badwhich':
      return rt.setpriority(t, 7, 0, 0);
    case 'clock_settime_16':
      return rt.clockSettime(t, 16, { sec: 1, nsec: 0 });
    case 'settimeofday_badtz':
      return rt.settimeofday(t, null, { minuteswest: 16 * 60 });
    case 'reboot_unknown_cmd':
      return rt.reboot(t, 0xfee1dead, 672274793, 0x12345);
    case 'unshare_user_ns':
      return rt.unshare(t, CLONE_NEWUSER | 0x20000);
    case 'unshare_ipc':
      return rt.unshare(t, 0x08000000);
    case 'chroot_missing':
      return rt.chroot(t, { exists: false });
    case 'bind_0':
      return rt.bind(t, { family: AF_INET, sockType: SOCK_STREAM, port: 0 });
    case 'bind_7':
      return rt.bind(t, { family: AF_INET, sockType: SOCK_STREAM, port: 7 });
    case 'bind_1023':
      return rt.bind(t, { family: AF_INET, sockType: SOCK_STREAM, port: 1023 });
    case 'mknod_chr':
      return rt.mknod(t, { mode: S_IFCHR | 0o600, dev: 0x103 });
    case 'mknod_blk':
      return rt.mknod(t, { mode: S_IFBLK | 0o600, dev: 0x700 });
    case 'mknod_whiteout':
      return rt.mknod(t, { mode: S_IFCHR | 0o600, dev: 0 });
    case 'mknod_fifo':
      return rt.mknod(t, { mode: S_IFIFO | 0o600 });
    case 'mknod_dir':
      return rt.mknod(t, { mode: S_IFDIR | 0o700 });
    case 'chroot':
      return rt.chroot(t);
    case 'kill_parent':
      return rt.kill(t, parent, 0);
    case 'kill_parent_badsig':
      return rt.kill(t, parent, 99);
    case 'kill_missing':
      return rt.kill(t, 4000000, 0);
    case 'sethostname_same':
      return rt.sethostname(t, 5);
    case 'sethostname_long':
      return rt.sethostname(t, 100);
    case 'setdomainname_long':
      return rt.setdomainname(t, 65);
    case 'mount_nouser':
      return rt.mount(t, { flags: 0x80000000 });
    case 'umount_badflags':
      return rt.umount2(t, { flags: 0x100 });
    case 'nice_lower':
      return rt.setpriority(t, 0, 0, -1);
    case 'nice_raise':
      return rt.setpriority(t, 0, 0, 5);
    case 'nice_parent':
      return rt.setpriority(t, 0, parent, 0);
    case 'chown_root_file':
      return rt.chown(t, { ...rootFile, uid: 1000, gid: -1 });
    case 'chgrp_root_file':
      return rt.chown(t, { ...rootFile, uid: -1, gid: 0 });
    case 'chown_noop':
      return rt.chown(t, { ...rootFile, uid: -1, gid: -1 });
    case 'reboot_badmagic':
      return rt.reboot(t, 0, 0, 0);
    case 'reboot_cad_on':
      return rt.reboot(t, 0xfee1dead, 672274793, 0x89abcdef);
    case 'settimeofday_null':
      return rt.settimeofday(t, null, null);
    case 'settimeofday_badusec':
      return rt.settimeofday(t, { sec: 0, usec: 2000000 });
    case 'clock_settime_mono':
      return rt.clockSettime(t, 1, { sec: 1, nsec: 0 });
    case 'clock_settime_badnsec':
      return rt.clockSettime(t, 0, { sec: 1, nsec: 2e9 });
    case 'iopl3':
      return rt.iopl(t, 3);
    case 'ioperm_on':
      return rt.ioperm(t, 0x80, 1, 1);
    case 'swapon_badflags':
      return rt.swapon(t, 0x80000);
    case 'swapoff':
      return rt.swapoff(t);
    case 'rlimit_raise_nofile':
      return rt.setrlimit(t, 7, { cur: env.nofileMax, max: env.nofileMax + 1n }, env.nofileMax);
    case 'rlimit_lower_nofile':
      return rt.setrlimit(t, 7, { cur: env.nofileMax - 1n, max: env.nofileMax - 1n }, env.nofileMax);
    case 'rlimit_nofile_over_nr_open':
      return rt.setrlimit(t, 7, { cur: 1024, max: 1048577 }, env.nofileMax);
    case 'mlock_zero_limit':
      return rt.mlock(t, 0, 4096, { memlockLimit: 0 });
    case 'unshare_uts':
      return rt.unshare(t, CLONE_NEWUTS);
    case 'unshare_user':
      return rt.unshare(t, CLONE_NEWUSER);
    case 'unshare_user_net_raw': {
      const r = rt.unshare(t, CLONE_NEWUSER | CLONE_NEWNET);
      return r.errno ? r : rt.socket(t, AF_INET, SOCK_RAW, 1);
    }
    case 'unshare_user_sethostname': {
      const r = rt.unshare(t, CLONE_NEWUSER | CLONE_NEWUTS);
      return r.errno ? r : rt.sethostname(t, 11);
    }
    case 'unshare_user_then_raw': {
      const r = rt.unshare(t, CLONE_NEWUSER);
      return r.errno ? r : rt.socket(t, AF_INET, SOCK_RAW, 1);
    }
    case 'ptrace_missing':
      return rt.ptraceAttach(t, 4000000);
    case 'setxattr_caps_badsize':
      return rt.setxattrCaps(t, new Uint8Array([0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]));
    case 'ptrace_seize_uid1000':
    case 'ptrace_seize_uid1000_dumpable': {
      // The target was forked as root and became uid 1000 (non-dumpable), maybe dumpable again.
      const target = rt.spawn(Credential.from({ bounding: rt.cred(parent).bounding, groups: [] }), {
        tid: 12,
        ppid: t,
      });
      rt.setresuid(target.tid, 1000, 1000, 1000);
      if (op.endsWith('_dumpable')) rt.prctl(target.tid, 4, 1);
      return rt.ptraceAttach(t, target.tid);
    }
    case 'uidtarget_kill':
    case 'uidtarget_kill_cont':
    case 'uidtarget_nice': {
      const target = rt.spawn(Credential.from({ bounding: rt.cred(parent).bounding, groups: [] }), {
        tid: 12,
        ppid: t,
      });
      rt.setresuid(target.tid, 1000, 1000, 1000);
      // The target is the probe's own child: same session, so SIGCONT is always allowed.
      if (op === 'uidtarget_kill') return rt.kill(t, target.tid, 0);
      if (op === 'uidtarget_kill_cont') return rt.kill(t, target.tid, 18, { sameSession: true });
      return rt.setpriority(t, 0, target.tid, 3);
    }
    case 'setns_user_of_child':
    case 'setns_net_of_child':
    case 'setns_net_wrong_type':
    case 'setns_user_then_net': {
      // The target was forked as root, became uid 1000 and unshared a user and a net namespace.
      const target = rt.spawn(Credential.from({ bounding: rt.cred(parent).bounding, groups: [] }), {
        tid: 12,
        ppid: t,
      });
      rt.setresuid(target.tid, 1000, 1000, 1000);
      rt.unshare(target.tid, CLONE_NEWUSER | CLONE_NEWNET);
      if (op === 'setns_user_of_child') return rt.setns(t, { kind: 'user', ofTid: target.tid }, CLONE_NEWUSER);
      if (op === 'setns_net_of_child') return rt.setns(t, { kind: 'net', ofTid: target.tid });
      if (op === 'setns_net_wrong_type') return rt.setns(t, { kind: 'net', ofTid: target.tid }, CLONE_NEWUTS);
      const r = rt.setns(t, { kind: 'user', ofTid: target.tid }, CLONE_NEWUSER);
      return r.errno ? { ret: -2, errno: r.errno } : rt.setns(t, { kind: 'net', ofTid: target.tid }, CLONE_NEWNET);
    }
    case 'setxattr_caps_v2':
      return rt.setxattrCaps(t, new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  }
}

describe.runIf(canRun)(
  `privileged operations vs the live kernel${canRun ? '' : ' — skipped: needs root and gcc'}`,
  () => {
    let dir = '';
    let bin = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'capctl-priv-'));
      chmodSync(dir, 0o777);
      bin = join(dir, 'probe');
      execFileSync('gcc', ['-O1', '-o', bin, join(HERE, 'privileged-kernel.c')]);
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('predicts every operation under fixed and random credentials', () => {
      const scratch = join(dir, 'scratch');
      execFileSync('mkdir', ['-m', '777', scratch]);
      // Besides the four fixed credentials, random effective sets (root, and uid 1000 with
      // E = P): each operation then sees its capability both present and absent, which catches
      // an operation checking the wrong capability. Deterministic masks (xorshift64).
      let x = 0x2545f4914f6cdd1dn;
      const next = () => {
        x ^= (x << 13n) & 0xffffffffffffffffn;
        x ^= x >> 7n;
        x ^= (x << 17n) & 0xffffffffffffffffn;
        return x & 0x1ffffffffffn;
      };
      const configs = ['A', 'B', 'C', 'D'];
      for (let i = 0; i < 6; i++) configs.push(`E${next().toString(16)}`, `U${next().toString(16)}`);
      const out = execFileSync(bin, [scratch, configs.join(','), ...OPS], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(configs.length * OPS.length);
      // CONFIG_X86_IOPL_IOPERM is a kernel build option: an input, read off root's iopl result.
      const iopl = !/^A iopl3 -1 38$/m.test(out);
      const mismatches: string[] = [];
      let compared = 0;
      for (const line of lines) {
        const [cfg, op, ret, errno] = line.split(' ') as [string, (typeof OPS)[number], string, string];
        expect(ret, line).not.toBe('setup-failed');
        const p = predict(makeEnv(cfg, iopl), op);
        if (p.unmodelled) continue;
        compared++;
        const got = { ret: Number(ret) < 0 ? -1 : Number(ret) > 0 ? 1 : 0, errno: Number(errno) };
        // The probe prints 1 for a positive return (a descriptor); the model returns 0 for "a new descriptor".
        const want = {
          ret: p.ret < 0 ? -1 : got.ret === 1 && p.ret === 0 && p.errno === 0 ? 1 : p.ret,
          errno: p.errno,
        };
        if (got.ret !== want.ret || got.errno !== want.errno) {
          mismatches.push(`${cfg} ${op}: kernel ${got.ret}/${got.errno}, model ${want.ret}/${want.errno}`);
        }
      }
      expect(mismatches).toEqual([]);
      expect(compared).toBeGreaterThan(configs.length * (OPS.length - 4));
    });
  },
);
