import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SYSCALLS_X86_64 } from '../../src/caps/syscalls-x86_64.generated.js';
import { GENERATED, render } from './gen-syscalls.js';

describe('x86_64 syscall names (data/syscalls-x86_64.tsv)', () => {
  it('the generated module is current', () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(render());
  });
  it('names the calls auditd logs for capability changes', () => {
    expect([SYSCALLS_X86_64[126], SYSCALLS_X86_64[59], SYSCALLS_X86_64[105], SYSCALLS_X86_64[322]]).toEqual([
      'capset',
      'execve',
      'setuid',
      'execveat',
    ]);
  });
});
