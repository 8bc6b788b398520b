/**
 * System call names in `when: syscall:` are checked against the x86_64 table, so a misspelt
 * or invented name is an error with did-you-mean (issue 8: `syscall: [capable]` validated and
 * silently never matched).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSyscallName, suggestSyscall } from '../../src/caps/syscall-names.js';
import { SYSCALLS_X86_64 } from '../../src/caps/syscalls-x86_64.js';
import { loadResolvedProfile, ProfileError } from '../../src/policy/load.js';

const dir = mkdtempSync(join(tmpdir(), 'capctl-i8b-sc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function profileWith(calls: string[]): string {
  const f = join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    f,
    `name: t\ncapabilities:\n  bounding: [CAP_NET_RAW]\nrules:\n  - effect: allow\n    caps: [CAP_NET_RAW]\n    when:\n      syscall: [${calls.join(', ')}]\n`,
  );
  return f;
}

describe('the x86_64 system call table', () => {
  it('has the kernel numbers of well-known entries and no x32 or reserved ones', () => {
    const byName = new Map<string, number>(SYSCALLS_X86_64.map(([n, name]) => [name, n]));
    expect(byName.get('read')).toBe(0);
    expect(byName.get('socket')).toBe(41);
    expect(byName.get('capset')).toBe(126);
    expect(byName.get('prctl')).toBe(157);
    expect(byName.get('umount2')).toBe(166);
    expect(byName.get('clone3')).toBe(435);
    expect(byName.get('file_setattr')).toBe(469);
    const numbers = SYSCALLS_X86_64.map(([n]) => n);
    expect(numbers.some((n) => n >= 337 && n <= 423)).toBe(false);
    expect(numbers.some((n) => n >= 512)).toBe(false);
    expect(new Set(SYSCALLS_X86_64.map(([, name]) => name)).size).toBe(SYSCALLS_X86_64.length);
  });

  it('knows the names strace prints and suggests the closest for a typo', () => {
    for (const n of ['setresuid', 'newfstatat', 'pread64', 'execveat', 'mknodat']) expect(isSyscallName(n)).toBe(true);
    for (const n of ['capable', 'umount', 'sockt', 'SOCKET', '']) expect(isSyscallName(n)).toBe(false);
    expect(suggestSyscall('sockt')).toBe('socket');
    expect(suggestSyscall('x'.repeat(100_000))).toBeUndefined();
  });
});

describe('profile validation', () => {
  it.each([
    [['sockt'], /unknown system call "sockt" on x86_64 \(did you mean socket\?\)/],
    [['capable'], /unknown system call "capable" on x86_64/],
    [['socket', 'bnid'], /unknown system call "bnid" on x86_64 \(did you mean bind\?\)/],
    [['frobnicate'], /unknown system call "frobnicate" on x86_64$/],
  ])('%j is an error at the name', (calls, msg) => {
    let err: unknown;
    try {
      loadResolvedProfile(profileWith(calls));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProfileError);
    const issue = (err as ProfileError).issues.find((i) => msg.test(i.message));
    expect(issue, (err as Error).message).toMatchObject({ line: 8, severity: 'error' });
    expect(issue!.path).toMatch(/^rules\[0\]\.when\.syscall\[\d\]$/);
  });

  it('real names validate', () => {
    expect(loadResolvedProfile(profileWith(['socket', 'bind', 'setsockopt'])).rules).toHaveLength(1);
  });
});
