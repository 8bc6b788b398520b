import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.js';
import { SuggestBuilder, suggestionYaml } from '../../src/audit/suggest.js';
import { suggestBase } from '../../src/cli/suggest-base.js';
import { CAP_ALLOW, CAP_DENY } from '../../src/policy/compile.js';
import { loadProfile } from '../../src/policy/index.js';
import { PRIV_NETINET_RAW } from '../../src/priv/catalog.js';
import { POLICY_DENY, POLICY_GRANT } from '../../src/priv/policy-hook.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const rec = (over: Partial<AuditRecord>): AuditRecord => ({
  time: '2026-01-01T00:00:00.000Z',
  verdict: 'denied',
  host: 'linux',
  syscall: 'socket',
  errno: 'EPERM',
  stage: 'capability',
  reason: 'not in effective set',
  tid: 5,
  tgid: 5,
  ...over,
});

describe('audit suggest', () => {
  it('writes a valid profile that allows exactly what was denied, narrowed to the syscalls', () => {
    const b = new SuggestBuilder({
      name: 'pinger',
      extends: { ref: 'k8s-restricted', base: suggestBase(loadProfile(join(ROOT, 'policies', 'k8s-restricted.yaml'))) },
      target: 'jail',
    });
    b.add(rec({ cap: 'CAP_NET_RAW', capNumber: 13, op: 'AF_INET SOCK_RAW' }));
    b.add(rec({ cap: 'CAP_NET_RAW', capNumber: 13, tid: 6, tgid: 6 }));
    b.add(rec({ syscall: 'bind', cap: 'CAP_NET_BIND_SERVICE', capNumber: 10, errno: 'EACCES', verdict: 'complain' }));
    b.add(
      rec({
        host: 'freebsd',
        cap: 'CAP_NET_RAW',
        capNumber: 13,
        priv: 'PRIV_NETINET_RAW',
        privNumber: 497,
        stage: 'jail',
      }),
    );
    b.add(rec({ syscall: 'mknod', host: 'freebsd', priv: 'PRIV_VFS_MKNOD_DEV', stage: 'jail' }));
    b.add(rec({ syscall: 'capset', stage: 'permitted', reason: 'new permitted exceeds old permitted' }));
    b.add(rec({ verdict: 'allowed', cap: 'CAP_KILL', capNumber: 5, errno: '' }));
    const s = b.build();
    expect(s.caps).toEqual(['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW']);
    expect(s.privs).toEqual(['PRIV_NETINET_RAW', 'PRIV_VFS_MKNOD_DEV']);
    expect(s.jailParams).toEqual(['allow.raw_sockets']);
    expect(s.cannot.map((c) => c.subject)).toEqual(['PRIV_VFS_MKNOD_DEV']);
    expect(s.ignored).toHaveLength(1);

    const dir = mkdtempSync(join(tmpdir(), 'capctl-suggest-'));
    const file = join(dir, 'pinger.yaml');
    writeFileSync(file, suggestionYaml(s, ['audit.log']));
    const p = loadProfile(file);
    expect(p.decideCap(13, 0, 'socket')).toBe(CAP_ALLOW);
    expect(p.decideCap(10, 0, 'bind')).toBe(CAP_ALLOW);
    // Narrow: the same capability for another syscall stays denied (k8s-restricted drops ALL).
    expect(p.decideCap(13, 0, 'bind')).toBe(CAP_DENY);
    expect(p.decideCap(5, 0, 'kill')).toBe(CAP_DENY);
    // The parent's `deny PRIV_*` is outranked for socket only.
    expect(p.decidePriv(PRIV_NETINET_RAW, 0, 'socket')).toBe(POLICY_GRANT);
    expect(p.decidePriv(PRIV_NETINET_RAW, 0, 'bind')).toBe(POLICY_DENY);
  });

  it('from an empty log suggests a profile that allows nothing, every set stated', () => {
    const s = new SuggestBuilder({ name: 'x' }).build();
    expect(s.profile).toEqual({
      name: 'x',
      description: 'suggested by capctl audit suggest from 0 record(s)',
      capabilities: { bounding: [], permitted: [], effective: [], inheritable: [], ambient: [] },
      rules: [
        { effect: 'deny', caps: ['ALL'], privs: ['PRIV_*'], priority: 0, comment: 'everything the log did not show' },
      ],
    });
  });
});
