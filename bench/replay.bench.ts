/**
 * Replay throughput: MB/s of strace text through `replayFile` (read from disk, parsed,
 * modelled, compared), against `wc -l` on the same file as the I/O floor of the same run.
 *
 * The trace is generated here (~40 MB, not committed): one root process and its threads in
 * `strace -f -o -tt -T` style, mostly the calls a real program makes that capctl does not model
 * (mmap, read, openat, futex …) with every 6th line a modelled one (capget with its data,
 * capset, prctl reads, getpid, raw socket, set*id), all consistent with the starting
 * credential so that the replay matches every call (the bench asserts it).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayFile } from '../src/runtime/replay.js';
import { StraceReader } from '../src/runtime/strace/reader.js';
import { type BenchRow, bestMs } from './harness.js';

const TARGET_BYTES = 40e6;

const FULL =
  '1<<CAP_CHOWN|1<<CAP_DAC_OVERRIDE|1<<CAP_DAC_READ_SEARCH|1<<CAP_FOWNER|1<<CAP_FSETID|1<<CAP_KILL|1<<CAP_SETGID|1<<CAP_SETUID|1<<CAP_SETPCAP|1<<CAP_LINUX_IMMUTABLE|1<<CAP_NET_BIND_SERVICE|1<<CAP_NET_BROADCAST|1<<CAP_NET_ADMIN|1<<CAP_NET_RAW|1<<CAP_IPC_LOCK|1<<CAP_IPC_OWNER|1<<CAP_SYS_MODULE|1<<CAP_SYS_RAWIO|1<<CAP_SYS_CHROOT|1<<CAP_SYS_PTRACE|1<<CAP_SYS_PACCT|1<<CAP_SYS_ADMIN|1<<CAP_SYS_BOOT|1<<CAP_SYS_NICE|1<<CAP_SYS_RESOURCE|1<<CAP_SYS_TIME|1<<CAP_SYS_TTY_CONFIG|1<<CAP_MKNOD|1<<CAP_LEASE|1<<CAP_AUDIT_WRITE|1<<CAP_AUDIT_CONTROL|1<<CAP_SETFCAP|1<<CAP_MAC_OVERRIDE|1<<CAP_MAC_ADMIN|1<<CAP_SYSLOG|1<<CAP_WAKE_ALARM|1<<CAP_BLOCK_SUSPEND|1<<CAP_AUDIT_READ|1<<CAP_PERFMON|1<<CAP_BPF|1<<CAP_CHECKPOINT_RESTORE';

const STATUS = [
  'Name:\tbench',
  'Uid:\t0\t0\t0\t0',
  'Gid:\t0\t0\t0\t0',
  'Groups:\t',
  'CapInh:\t0000000000000000',
  'CapPrm:\t000001ffffffffff',
  'CapEff:\t000001ffffffffff',
  'CapBnd:\t000001ffffffffff',
  'CapAmb:\t0000000000000000',
  'NoNewPrivs:\t0',
  '',
].join('\n');

/** Write the synthetic trace; returns its size in bytes. */
export function generate(path: string): number {
  const fd = openSync(path, 'w');
  let size = 0;
  let t = 0;
  const ts = () => {
    t += 37;
    const us = t % 1_000_000;
    const s = 10 * 3600 + Math.floor(t / 1_000_000);
    return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}.${String(us).padStart(6, '0')}`;
  };
  const P = 4000;
  const T = 4001;
  let buf = `${P}  ${ts()} execve("/usr/bin/bench", ["bench"], 0x7ffd3a1c2e60 /* 24 vars */) = 0 <0.000410>\n`;
  buf += `${P}  ${ts()} clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f5c1a9ff990, parent_tid=0x7f5c1a9ff990, exit_signal=0, stack=0x7f5c1a1ff000, stack_size=0x7fff80, tls=0x7f5c1a9ff6c0} => {parent_tid=[${T}]}, 88) = ${T} <0.000052>\n`;
  const unmodelled = [
    (p: number) =>
      `${p}  ${ts()} read(3, "\\177ELF\\2\\1\\1\\3\\0\\0\\0\\0\\0\\0\\0\\0\\3\\0>\\0\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0"..., 832) = 832 <0.000011>\n`,
    (p: number) =>
      `${p}  ${ts()} mmap(NULL, 2170256, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = 0x7f5c1a600000 <0.000014>\n`,
    (p: number) =>
      `${p}  ${ts()} openat(AT_FDCWD, "/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3 <0.000019>\n`,
    (p: number) =>
      `${p}  ${ts()} futex(0x7f5c1a9ff990, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, ${T}, NULL, FUTEX_BITSET_MATCH_ANY) = 0 <0.000102>\n`,
    (p: number) => `${p}  ${ts()} close(3)                = 0 <0.000008>\n`,
    (p: number) =>
      `${p}  ${ts()} newfstatat(3, "", {st_mode=S_IFREG|0755, st_size=2125328, ...}, AT_EMPTY_PATH) = 0 <0.000009>\n`,
    (p: number) => `${p}  ${ts()} write(1, "capability bench line of output\\n", 32) = 32 <0.000013>\n`,
    (p: number) => `${p}  ${ts()} rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0 <0.000007>\n`,
  ];
  const modelled = [
    (p: number) =>
      `${p}  ${ts()} capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=${FULL}, permitted=${FULL}, inheritable=0}) = 0 <0.000009>\n`,
    (p: number) => `${p}  ${ts()} prctl(PR_CAPBSET_READ, CAP_NET_RAW) = 1 <0.000007>\n`,
    (p: number) => `${p}  ${ts()} prctl(PR_GET_KEEPCAPS)  = 0 <0.000006>\n`,
    (p: number) =>
      `${p}  ${ts()} capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=${FULL}, permitted=${FULL}, inheritable=0}) = 0 <0.000010>\n`,
    (p: number) => `${p}  ${ts()} getpid()                = ${P} <0.000005>\n`,
    (p: number) => `${p}  ${ts()} socket(AF_INET, SOCK_RAW|SOCK_CLOEXEC, IPPROTO_ICMP) = 5 <0.000031>\n`,
    (p: number) => `${p}  ${ts()} setresuid(-1, -1, -1)   = 0 <0.000006>\n`,
    (p: number) => `${p}  ${ts()} prctl(PR_GET_SECUREBITS) = 0 <0.000006>\n`,
  ];
  let i = 0;
  while (size < TARGET_BYTES) {
    const p = i % 3 === 0 ? T : P;
    buf += i % 6 === 5 ? modelled[((i / 6) % modelled.length) | 0]!(p) : unmodelled[i % unmodelled.length]!(p);
    i++;
    if (buf.length > 1 << 20) {
      size += writeSync(fd, buf);
      buf = '';
    }
  }
  buf += `${T}  ${ts()} exit(0)                 = ?\n${T}  ${ts()} +++ exited with 0 +++\n${P}  ${ts()} exit_group(0)           = ?\n${P}  ${ts()} +++ exited with 0 +++\n`;
  size += writeSync(fd, buf);
  closeSync(fd);
  return size;
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-bench-replay-'));
  const file = join(dir, 'trace.txt');
  try {
    generate(file);
    const bytes = statSync(file).size;
    const mb = bytes / 1e6;
    let summary: Awaited<ReturnType<typeof replayFile>> | undefined;
    const replayMs = await bestMs(async () => {
      summary = await replayFile(file, { status: STATUS });
    });
    if (summary?.diverged !== 0 || summary.malformed !== 0 || summary.matched < 10_000) {
      throw new Error(`bench trace did not replay cleanly: ${JSON.stringify(summary)}`);
    }
    const wcMs = await bestMs(() => {
      const r = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error('wc -l failed');
    });
    const text = readFileSync(file, 'latin1');
    const names = new Set(['capget', 'capset', 'prctl', 'getpid', 'socket', 'setresuid', 'execve']);
    const readerMs = await bestMs(() => {
      const r = new StraceReader({ names, onRecord: () => {} });
      for (let k = 0; k < text.length; k += 1 << 20) r.feed(text.slice(k, k + (1 << 20)));
      r.end();
    });
    const wc = mb / (wcMs / 1000);
    return [
      {
        name: 'capctl replay (file → reader → runtime → compare)',
        value: mb / (replayMs / 1000),
        unit: 'MB/s',
        baseline: { name: 'wc -l', value: wc },
        target: 50,
        note: `${mb.toFixed(1)} MB, ${summary.lines} lines, ${summary.calls} modelled calls, 0 diverged`,
      },
      {
        name: 'strace reader only (in-memory text)',
        value: mb / (readerMs / 1000),
        unit: 'MB/s',
        baseline: { name: 'wc -l', value: wc },
        note: 'line split, prefix/timestamp scan, name lookup; records for modelled calls',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
