/**
 * Where the mapping is exact, the bridge must answer capability checks as Linux does. In prison0
 * (no jail filter) every operation rule of src/priv/ops.ts is checked with a thread holding only
 * the rule's capability and with a thread holding none; the answers must equal linuxHost's except
 * for the differences listed here, which docs/priv.md explains.
 */
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { privName } from '../../src/priv/catalog.js';
import { capsForPriv, PRIV_CAP_ALL } from '../../src/priv/mapping.js';
import { OP_RULE_SPECS, OP_RULES } from '../../src/priv/ops.js';
import { Credential } from '../../src/runtime/credential.js';
import { createFreeBSDHost } from '../../src/runtime/freebsd-host.js';
import { linuxHost } from '../../src/runtime/host.js';

/** Privileges FreeBSD grants without any capability in prison0 (kern_priv.c sysctl/grant stages). */
const GRANTED_WITHOUT_CAPS = new Set(['PRIV_VM_MLOCK', 'PRIV_MSGBUF']);

describe('bridge parity with Linux in prison0', () => {
  const host = createFreeBSDHost({ jailParams: { jailed: '0' } });
  it('answers every operation rule like linuxHost, except the listed differences', () => {
    const differences: string[] = [];
    OP_RULES.forEach((rule, i) => {
      const spec = OP_RULE_SPECS[i]!;
      const syscall = spec.syscalls[0]!;
      const detail = spec.detail
        ? spec.detail.source
            .replace(/\\b|\\/g, '')
            .split('|')[0]!
            .replace(/[()?*.+]/g, '')
        : '';
      const op = { syscall, detail };
      const only = Credential.from({ uid: 0, effective: CapSet.of(rule.cap), permitted: CapSet.of(rule.cap) });
      const none = Credential.from({ uid: 0, effective: CapSet.EMPTY });
      for (const [label, cred] of [
        ['only', only],
        ['none', none],
      ] as const) {
        const fb = host.capable(cred, rule.cap, op).errno === 0;
        const lx = linuxHost.capable(cred, rule.cap, op).errno === 0;
        if (fb !== lx) differences.push(`${label} ${spec.cap} ${syscall} -> ${privName(rule.priv)}`);
      }
    });
    const expected = OP_RULES.flatMap((r, i) => {
      const spec = OP_RULE_SPECS[i]!;
      const out: string[] = [];
      if (PRIV_CAP_ALL[r.priv] === 1) out.push(`only ${spec.cap} ${spec.syscalls[0]} -> ${privName(r.priv)}`);
      if (GRANTED_WITHOUT_CAPS.has(privName(r.priv)))
        out.push(`none ${spec.cap} ${spec.syscalls[0]} -> ${privName(r.priv)}`);
      return out;
    });
    expect(differences.sort()).toEqual(expected.sort());
    // The list is not empty: the differences are real and named.
    expect(expected).toEqual(
      expect.arrayContaining([
        'only CAP_SYS_ADMIN setns -> PRIV_JAIL_ATTACH',
        'none CAP_IPC_LOCK mlock -> PRIV_VM_MLOCK',
        'none CAP_SYSLOG syslog -> PRIV_MSGBUF',
      ]),
    );
  });
});

describe('operation rules', () => {
  it("name a privilege the rule's capability actually maps to", () => {
    OP_RULES.forEach((r, i) => {
      const caps = capsForPriv(r.priv);
      expect(caps, `${OP_RULE_SPECS[i]!.cap} ${OP_RULE_SPECS[i]!.syscalls[0]} -> ${r.privName}`).toContain(r.cap);
    });
  });
});
