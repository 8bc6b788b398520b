/**
 * The recorded Linux traces replayed under the FreeBSD host. In prison0 the bridge must give
 * exactly Linux's answers (0 divergences). In a permissive jail the only differences are the
 * capability-set calls that follow from capget reporting what the jail gives (docs/priv.md,
 * "Linux checks that differ under the bridge").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JAIL_PARAMS } from '../../src/priv/jail.js';
import type { Credential } from '../../src/runtime/credential.js';
import { createFreeBSDHost, reportableCapsFor } from '../../src/runtime/freebsd-host.js';
import { replayText } from '../../src/runtime/replay.js';
import { ROOT } from './gen-tables.js';

const dir = join(ROOT, 'test', 'fixtures', 'traces');
const traces = ['capsh-nobody.strace', 'setpriv-ambient.stderr.strace', 'gen-threads-exec.stderr.strace'];
const status = readFileSync(join(dir, 'root.status'), 'utf8');

function replayUnder(jailParams: Record<string, string>, file: string) {
  const host = createFreeBSDHost({ jailParams });
  const allow = reportableCapsFor(host);
  // As capctl replay --host freebsd does: the starting credential holds at most what the jail reports.
  const adjust = (c: Credential) => {
    for (const k of ['eff', 'prm', 'inh', 'bnd', 'amb'] as const) {
      c[`${k}Lo`] &= allow.lo;
      c[`${k}Hi`] &= allow.hi;
    }
  };
  return replayText(readFileSync(join(dir, file), 'utf8'), { status, host, file, adjustInitialCredential: adjust });
}

const permissive: Record<string, string> = {
  ...Object.fromEntries(JAIL_PARAMS.filter((p) => p.name.startsWith('allow.')).map((p) => [p.name, '1'])),
  vnet: 'new',
  enforce_statfs: '1',
  'children.max': '10',
  root_is_mountpoint: '1',
};

describe('recorded traces under --host freebsd', () => {
  for (const file of traces) {
    it(`${file}: prison0 gives Linux's answers (0 divergences)`, () => {
      const s = replayUnder({ jailed: '0' }, file);
      expect(s.calls).toBeGreaterThan(50);
      expect(s.diverged).toBe(0);
    });
    it(`${file}: a permissive jail differs only in capability-set calls, the set*id calls they decide and the get*id calls reading those ids`, () => {
      const s = replayUnder(permissive, file);
      const diverged = Object.entries(s.bySyscall)
        .filter(([, v]) => v.diverged > 0)
        .map(([k]) => k);
      expect(diverged.length).toBeGreaterThan(0);
      for (const sc of diverged)
        expect([
          'capget',
          'capset',
          'prctl',
          'setresgid',
          'setgroups',
          'setresuid',
          'getuid',
          'geteuid',
          'getgid',
          'getegid',
          'getresuid',
          'getresgid',
          'getgroups',
        ]).toContain(sc);
    });
  }
});
