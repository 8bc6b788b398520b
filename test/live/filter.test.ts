/**
 * The seccomp filter as data: run the generated classic-BPF program with a small interpreter
 * (the kernel's semantics for the four instructions it uses) over every syscall number and
 * the prctl options, and check each lands on the right action. No root needed.
 */
import { describe, expect, it } from 'vitest';
import { TRAPPED_PRCTL_OPTIONS, TRAPPED_SYSCALLS } from '../../src/live/supervisor.js';
import {
  AUDIT_ARCH_X86_64,
  buildFilter,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_USER_NOTIF,
  X32_SYSCALL_BIT,
  X86_64_SYSCALLS,
} from '../../src/sys/seccomp.js';

/** seccomp_data: nr, arch, ip (u64), args[6] (u64): little-endian words. */
function run(prog: Buffer, nr: number, arch: number, arg0 = 0): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  data.writeUInt32LE(arg0 >>> 0, 16);
  let a = 0;
  for (let pc = 0; pc < prog.length / 8; ) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: // BPF_LD | BPF_W | BPF_ABS
        a = data.readUInt32LE(k);
        pc++;
        break;
      case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
        pc += 1 + (a === k ? jt : jf);
        break;
      case 0x35: // BPF_JMP | BPF_JGE | BPF_K
        pc += 1 + (a >>> 0 >= k ? jt : jf);
        break;
      case 0x06: // BPF_RET | BPF_K
        return k >>> 0;
      default:
        throw new Error(`unexpected opcode ${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('fell off the end of the program');
}

describe('the seccomp filter capctl run installs', () => {
  const prog = buildFilter({ trap: TRAPPED_SYSCALLS, prctlOptions: TRAPPED_PRCTL_OPTIONS });
  const trapped = new Set(TRAPPED_SYSCALLS.map((s) => X86_64_SYSCALLS[s]));

  it('every trapped syscall goes to the supervisor, every other number is allowed', () => {
    const wrong: string[] = [];
    for (let nr = 0; nr < 600; nr++) {
      if (nr === X86_64_SYSCALLS.prctl) continue;
      const want = trapped.has(nr) ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW;
      if (run(prog, nr, AUDIT_ARCH_X86_64) !== want) wrong.push(String(nr));
    }
    expect(wrong).toEqual([]);
    expect(run(prog, X86_64_SYSCALLS.capget, AUDIT_ARCH_X86_64)).toBe(SECCOMP_RET_USER_NOTIF);
    expect(run(prog, 39 /* getpid */, AUDIT_ARCH_X86_64)).toBe(SECCOMP_RET_ALLOW);
  });

  it('prctl: only the capability, securebits, keepcaps and no_new_privs options are trapped', () => {
    for (let opt = 0; opt < 80; opt++) {
      const want = (TRAPPED_PRCTL_OPTIONS as readonly number[]).includes(opt)
        ? SECCOMP_RET_USER_NOTIF
        : SECCOMP_RET_ALLOW;
      expect(run(prog, X86_64_SYSCALLS.prctl, AUDIT_ARCH_X86_64, opt), `option ${opt}`).toBe(want);
    }
    // PR_SET_PDEATHSIG (1) and PR_SET_NAME (15) never leave the kernel.
    expect(run(prog, X86_64_SYSCALLS.prctl, AUDIT_ARCH_X86_64, 15)).toBe(SECCOMP_RET_ALLOW);
  });

  it('foreign-architecture and x32 calls fail with ENOSYS (the supervisor could not decode them)', () => {
    const enosys = (SECCOMP_RET_ERRNO | 38) >>> 0;
    expect(run(prog, X86_64_SYSCALLS.capget, 0x40000003 /* AUDIT_ARCH_I386 */)).toBe(enosys);
    expect(run(prog, X32_SYSCALL_BIT | X86_64_SYSCALLS.capset, AUDIT_ARCH_X86_64)).toBe(enosys);
    expect(run(prog, X32_SYSCALL_BIT | 39, AUDIT_ARCH_X86_64)).toBe(enosys);
  });

  it('clone, exec, set*id and the privileged operations are in the trapped set', () => {
    for (const s of [
      'capget',
      'capset',
      'execve',
      'execveat',
      'clone',
      'clone3',
      'fork',
      'vfork',
      'setresuid',
      'setgroups',
      'socket',
      'mknodat',
      'unshare',
      // capctl makes an allowed inet bind and setrlimit itself, with the values it checked.
      'bind',
      'setrlimit',
      'prlimit64',
      'setpriority',
      'ptrace',
      'mount',
      'umount2',
      'settimeofday',
      'clock_settime',
    ] as const)
      expect(TRAPPED_SYSCALLS).toContain(s);
    // Never trapped: calls the runtime does not model (getpid is the benchmark's untrapped call).
    expect(TRAPPED_SYSCALLS as string[]).not.toContain('getpid');
  });
});
