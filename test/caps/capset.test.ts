import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { CAP_LAST_CAP, CAPABILITIES, capByName } from '../../src/caps/catalog.js';

describe('capability catalog', () => {
  it('has all 41 capabilities numbered 0..40 in order', () => {
    expect(CAPABILITIES).toHaveLength(41);
    expect(CAP_LAST_CAP).toBe(40);
    for (const [i, c] of CAPABILITIES.entries()) expect(c.number).toBe(i);
    expect(CAPABILITIES[0]!.name).toBe('CAP_CHOWN');
    expect(CAPABILITIES[13]!.name).toBe('CAP_NET_RAW');
    expect(CAPABILITIES[40]!.name).toBe('CAP_CHECKPOINT_RESTORE');
  });
  it('looks names up in any case, with or without the prefix', () => {
    expect(capByName('CAP_NET_RAW')).toBe(13);
    expect(capByName('cap_net_raw')).toBe(13);
    expect(capByName('Net_Raw')).toBe(13);
    expect(capByName('cap_bogus')).toBeUndefined();
  });
});

describe('CapSet', () => {
  it('keeps bits above CAP_LAST_CAP out', () => {
    const s = CapSet.fromWords(0xffffffff, 0xffffffff);
    expect(s.toHex()).toBe('000001ffffffffff');
    expect(s.size).toBe(41);
    expect(CapSet.fromHex('ffffffffffffffff').equals(CapSet.FULL)).toBe(true);
  });
  it('round-trips /proc hex and names', () => {
    const s = CapSet.fromHex('000001fffeffffff');
    expect(s.has(24)).toBe(false);
    expect(s.has(40)).toBe(true);
    expect(s.size).toBe(40);
    expect(CapSet.fromNames(['CAP_KILL', 'cap_chown']).toNames()).toEqual(['CAP_CHOWN', 'CAP_KILL']);
    expect(CapSet.of(0, 5).toHex()).toBe('0000000000000021');
  });
  it('does set algebra', () => {
    const a = CapSet.of(1, 2, 33);
    const b = CapSet.of(2, 33, 40);
    expect(a.union(b).toArray()).toEqual([1, 2, 33, 40]);
    expect(a.intersect(b).toArray()).toEqual([2, 33]);
    expect(a.minus(b).toArray()).toEqual([1]);
    expect(a.intersect(b).isSubsetOf(a)).toBe(true);
    expect(a.isSubsetOf(b)).toBe(false);
    expect(a.complement().has(1)).toBe(false);
    expect(a.complement().size).toBe(38);
    expect(a.add(40).remove(1).toArray()).toEqual([2, 33, 40]);
  });
  it('rejects bad hex and bad numbers with clear errors', () => {
    expect(() => CapSet.fromHex('xyz')).toThrow(/not a capability mask/);
    expect(() => CapSet.fromHex('12345678901234567')).toThrow(/not a capability mask/);
    expect(() => CapSet.of(41)).toThrow(/out of range/);
    expect(() => CapSet.fromNames(['cap_net_rwa'])).toThrow(/did you mean cap_net_raw/);
  });
});
