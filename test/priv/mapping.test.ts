import { describe, expect, it } from 'vitest';
import { CAP_COUNT, capByName } from '../../src/caps/catalog.js';
import { PRIVS, privByName } from '../../src/priv/catalog.js';
import {
  CAP_PRIV_MAP,
  capHasNoCounterpart,
  capsForPriv,
  PRIV_CAP_ALL,
  privIsLinuxless,
  privsForCap,
  rowsForCap,
  rowsForPriv,
} from '../../src/priv/mapping.js';

const P = (n: string) => privByName(n)!.number;
const CAP = (n: string) => capByName(n)!;

describe('cap <-> priv mapping: completeness', () => {
  it('every capability maps to privileges or is marked as having no FreeBSD counterpart, with a reason', () => {
    for (let c = 0; c < CAP_COUNT; c++) {
      const rows = rowsForCap(c);
      expect(rows.length, `cap ${c}`).toBeGreaterThan(0);
      const none = rows.filter((r) => r.priv === null);
      if (none.length > 0) {
        expect(rows, `cap ${c}: a NONE row must be the only row`).toHaveLength(1);
        expect(none[0]!.note.length, `cap ${c}: reason`).toBeGreaterThan(10);
      }
    }
  });
  it('every privilege (all 246 names) maps to capabilities or is marked Linux-less, with a reason', () => {
    for (const p of PRIVS) {
      const rows = CAP_PRIV_MAP.filter((r) => r.privName === p.name);
      expect(rows.length, p.name).toBeGreaterThan(0);
      if (rows.some((r) => r.cap === null)) {
        expect(rows, `${p.name}: a NONE row must be the only row`).toHaveLength(1);
        expect(rows[0]!.note.length, `${p.name}: reason`).toBeGreaterThan(10);
      }
    }
  });
  it('has no duplicate rows, valid confidences, and one combine mode per privilege', () => {
    const seen = new Set<string>();
    for (const r of CAP_PRIV_MAP) {
      const k = `${r.capName}/${r.privName}`;
      expect(seen.has(k), k).toBe(false);
      seen.add(k);
      expect(['high', 'medium', 'low']).toContain(r.confidence);
    }
    for (const p of PRIVS) {
      const modes = new Set(rowsForPriv(p.number).map((r) => r.combine));
      expect(modes.size, p.name).toBeLessThanOrEqual(1);
    }
  });
  it('marks exactly the seven capabilities without a counterpart', () => {
    const none = [...Array(CAP_COUNT).keys()].filter(capHasNoCounterpart);
    expect(none).toEqual(
      [
        'CAP_SETPCAP',
        'CAP_NET_BROADCAST',
        'CAP_LEASE',
        'CAP_WAKE_ALARM',
        'CAP_BLOCK_SUSPEND',
        'CAP_AUDIT_READ',
        'CAP_CHECKPOINT_RESTORE',
      ]
        .map(CAP)
        .sort((a, b) => a - b),
    );
  });
  it('marks 28 privileges Linux-less; the alias maps through 421 instead', () => {
    const linuxless = PRIVS.filter((p) => p.kind !== 'alias' && privIsLinuxless(p.number));
    expect(linuxless).toHaveLength(28);
    expect(privIsLinuxless(P('PRIV_NET_SETVLANPCP'))).toBe(false);
    expect(privIsLinuxless(P('PRIV_VFS_READ_DIR'))).toBe(true);
    expect(privIsLinuxless(P('PRIV_MODULE15'))).toBe(true);
  });
});

describe('cap <-> priv mapping: values', () => {
  it('maps the core privileges with high confidence', () => {
    const conf = (cap: string, priv: string) =>
      CAP_PRIV_MAP.find((r) => r.capName === cap && r.privName === priv)?.confidence;
    expect(conf('CAP_NET_RAW', 'PRIV_NETINET_RAW')).toBe('high');
    expect(conf('CAP_NET_BIND_SERVICE', 'PRIV_NETINET_RESERVEDPORT')).toBe('high');
    expect(conf('CAP_SYS_ADMIN', 'PRIV_VFS_MOUNT')).toBe('high');
    expect(conf('CAP_IPC_LOCK', 'PRIV_VM_MLOCK')).toBe('high');
    expect(conf('CAP_MKNOD', 'PRIV_VFS_MKNOD_DEV')).toBe('high');
    expect(conf('CAP_SETUID', 'PRIV_CRED_SETUID')).toBe('high');
  });
  it('applies the reviewed changes (data/cap-priv-map.CHANGES.md)', () => {
    // 1-3: capabilities Linux does not accept were removed
    expect(capsForPriv(P('PRIV_MAXFILES'))).toEqual([CAP('CAP_SYS_ADMIN')]);
    expect(capsForPriv(P('PRIV_IPC_ADMIN'))).toEqual([CAP('CAP_SYS_ADMIN')]);
    expect(capsForPriv(P('PRIV_VM_SWAP_NOQUOTA'))).toEqual([CAP('CAP_SYS_ADMIN')]);
    // 4-8: second capabilities Linux accepts
    expect(capsForPriv(P('PRIV_PMC_SYSTEM')).sort()).toEqual([CAP('CAP_SYS_ADMIN'), CAP('CAP_PERFMON')].sort());
    expect(capsForPriv(P('PRIV_MSGBUF'))).toContain(CAP('CAP_SYS_ADMIN'));
    expect(capsForPriv(P('PRIV_PIPEBUF'))).toContain(CAP('CAP_SYS_ADMIN'));
    expect(capsForPriv(P('PRIV_VFS_STAT'))).toContain(CAP('CAP_DAC_OVERRIDE'));
    // 11-12: both capabilities required
    expect(PRIV_CAP_ALL[P('PRIV_JAIL_ATTACH')]).toBe(1);
    expect(PRIV_CAP_ALL[P('PRIV_CRED_SETCRED')]).toBe(1);
    expect(PRIV_CAP_ALL[P('PRIV_PROC_LIMIT')]).toBe(0);
    // 20: Bluetooth raw no longer decides whether NET_RAW is reported
    expect(privsForCap(CAP('CAP_NET_RAW'), 'high')).toEqual([P('PRIV_NETINET_RAW'), P('PRIV_NETINET_SETHDROPTS')]);
  });
  it('ORs capabilities for a privilege where Linux does (RLIMIT_NPROC: SYS_RESOURCE or SYS_ADMIN)', () => {
    expect(capsForPriv(P('PRIV_PROC_LIMIT')).sort((a, b) => a - b)).toEqual([
      CAP('CAP_SYS_ADMIN'),
      CAP('CAP_SYS_RESOURCE'),
    ]);
  });
});
