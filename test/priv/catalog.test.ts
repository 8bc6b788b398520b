import { describe, expect, it } from 'vitest';
import * as C from '../../src/priv/catalog.js';
import {
  PRIV_HIGHEST,
  PRIV_MARKERS,
  PRIVS,
  parsePrivName,
  privByName,
  privInfo,
  privName,
  privValid,
} from '../../src/priv/catalog.js';
import { readTsv } from './gen-tables.js';

const tsv = readTsv('freebsd-priv.tsv', ['name', 'value', 'group', 'meaning']);

describe('privilege catalog', () => {
  it('has every PRIV_* of freebsd-priv.tsv with its number and group, and nothing else', () => {
    const want = tsv.filter((r) => r[0]!.startsWith('PRIV_'));
    expect(want).toHaveLength(246);
    expect(PRIVS).toHaveLength(246);
    for (const [name, value, group] of want) {
      const p = privByName(name!);
      expect(p, name).toBeDefined();
      expect(p!.name).toBe(name);
      expect(p!.number, name).toBe(Number(value));
      expect(p!.group, name).toBe(group);
    }
  });
  it('keeps the 26 _PRIV_* markers apart from the privileges', () => {
    expect(PRIV_MARKERS).toHaveLength(26);
    expect(PRIV_MARKERS.every((m) => m.name.startsWith('_PRIV_'))).toBe(true);
    expect(PRIVS.some((p) => p.name.startsWith('_'))).toBe(false);
  });
  it('has 245 distinct values because PRIV_NET_SETVLANPCP aliases 421', () => {
    expect(new Set(PRIVS.map((p) => p.number)).size).toBe(245);
    const alias = privByName('PRIV_NET_SETVLANPCP')!;
    expect(alias.kind).toBe('alias');
    expect(alias.aliasOf).toBe('PRIV_NET_SETLANPCP');
    expect(alias.number).toBe(421);
    expect(privName(421)).toBe('PRIV_NET_SETLANPCP');
    expect(privInfo(421)!.kind).toBe('priv');
  });
  it('marks PRIV_VMM_PPTDEV provisional and admits it through PRIV_VALID', () => {
    const v = privByName('PRIV_VMM_PPTDEV')!;
    expect(v.kind).toBe('provisional');
    expect(v.number).toBe(710);
    expect(privValid(710)).toBe(true);
    expect(PRIV_HIGHEST).toBeGreaterThan(710);
    expect(PRIVS.filter((p) => p.kind === 'provisional').map((p) => p.name)).toEqual(['PRIV_VMM_PPTDEV']);
  });
  it('knows the ABI-stable values', () => {
    expect(privByName('PRIV_NETINET_RAW')!.number).toBe(497);
    expect(privByName('PRIV_NETINET_RESERVEDPORT')!.number).toBe(490);
    expect(privByName('PRIV_VFS_MOUNT')!.number).toBe(333);
    expect(privByName('PRIV_VM_MLOCK')!.number).toBe(361);
    expect(privByName('PRIV_ACCT')!.number).toBe(2);
    expect(privByName('PRIV_PIPEBUF')!.number).toBe(560);
    expect(privByName('PRIV_NET_GENEVE')!.number).toBe(425);
    expect(privByName('PRIV_VERIEXEC_CONTROL')!.number).toBe(702);
  });
  it('named constants in catalog.ts agree with the table', () => {
    for (const [k, v] of Object.entries(C)) {
      if (!/^PRIV_[A-Z0-9_]+$/.test(k) || typeof v !== 'number') continue;
      if (k === 'PRIV_LOWEST' || k === 'PRIV_HIGHEST' || k === 'PRIV_HIGHEST_READ') continue;
      expect(privByName(k)?.number, k).toBe(v);
    }
  });
  it('PRIV_VALID is 1 < p < _PRIV_HIGHEST', () => {
    expect(privValid(1)).toBe(false);
    expect(privValid(2)).toBe(true);
    expect(privValid(PRIV_HIGHEST)).toBe(false);
    expect(privValid(2.5)).toBe(false);
  });
  it('looks names up in any case, with or without PRIV_, and by number', () => {
    expect(privByName('netinet_raw')!.number).toBe(497);
    expect(privByName('Priv_Netinet_Raw')!.number).toBe(497);
    expect(privByName('497')!.name).toBe('PRIV_NETINET_RAW');
    expect(privByName('PRIV_BOGUS')).toBeUndefined();
  });
  it('errors with a did-you-mean for misspelt names', () => {
    expect(() => parsePrivName('PRIV_NETINET_RAWW')).toThrow(/did you mean PRIV_NETINET_RAW\?/);
    expect(() => parsePrivName('vfs_mont')).toThrow(/did you mean vfs_mount\?/);
    expect(() => parsePrivName('7')).toThrow(/no privilege has number 7/);
  });
});
