import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcStatus } from '../../src/caps/procstatus.js';

// A status file as fs/proc/array.c writes it (6.18), trimmed of unrelated lines.
const SAMPLE = `Name:\tmy prog
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4242
Ngid:\t0
Pid:\t4243
PPid:\t1
TracerPid:\t0
Uid:\t1000\t0\t0\t1000
Gid:\t100\t100\t101\t100
FDSize:\t64
Groups:\t4 24 27 
NStgid:\t4242
CapInh:\t0000000000002000
CapPrm:\t0000000000003000
CapEff:\t0000000000001000
CapBnd:\t000001fffeffffff
CapAmb:\t0000000000002000
NoNewPrivs:\t1
Seccomp:\t2
Seccomp_filters:\t1
Speculation_Store_Bypass:\tthread vulnerable
`;

describe('parseProcStatus', () => {
  it('reads ids, groups, the five sets, NoNewPrivs and Seccomp', () => {
    const s = parseProcStatus(SAMPLE);
    expect(s.name).toBe('my prog');
    expect([s.pid, s.tgid, s.ppid]).toEqual([4243, 4242, 1]);
    expect(s.uid).toEqual({ real: 1000, effective: 0, saved: 0, fs: 1000 });
    expect(s.gid).toEqual({ real: 100, effective: 100, saved: 101, fs: 100 });
    expect(s.groups).toEqual([4, 24, 27]);
    expect(s.inheritable.toNames()).toEqual(['CAP_NET_RAW']);
    expect(s.permitted.toNames()).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW']);
    expect(s.effective.toNames()).toEqual(['CAP_NET_ADMIN']);
    expect(s.bounding.has(24)).toBe(false);
    expect(s.bounding.size).toBe(40);
    expect(s.ambient.toNames()).toEqual(['CAP_NET_RAW']);
    expect(s.noNewPrivs).toBe(true);
    expect(s.seccomp).toBe(2);
  });

  it('reads an empty Groups line and older kernels without CapAmb/NoNewPrivs/Seccomp', () => {
    const old = SAMPLE.replace('Groups:\t4 24 27 ', 'Groups:\t')
      .replace(/CapAmb:.*\n/, '')
      .replace(/NoNewPrivs:.*\n/, '')
      .replace(/Seccomp:.*\n/, '');
    const s = parseProcStatus(old);
    expect(s.groups).toEqual([]);
    expect(s.ambient.isEmpty()).toBe(true);
    expect(s.noNewPrivs).toBe(false);
    expect(s.seccomp).toBe(0);
  });

  it('names the field that is missing or malformed', () => {
    expect(() => parseProcStatus(SAMPLE.replace(/CapEff:.*\n/, ''))).toThrow(/CapEff: line missing/);
    expect(() => parseProcStatus(SAMPLE.replace('0000000000001000', '00000000001000'))).toThrow(/CapEff: want 16/);
    expect(() => parseProcStatus(SAMPLE.replace('0000000000001000', '000000000000100g'))).toThrow(/CapEff/);
    expect(() => parseProcStatus(SAMPLE.replace('Uid:\t1000\t0\t0\t1000', 'Uid:\t1000\t0'))).toThrow(/Uid: want 4 ids/);
    expect(() => parseProcStatus(SAMPLE.replace('Pid:\t4243', 'Pid:\tx'))).toThrow(/Pid: not a number/);
    expect(() => parseProcStatus(SAMPLE.replace('NoNewPrivs:\t1', 'NoNewPrivs:\t7'))).toThrow(/NoNewPrivs/);
  });

  it('parses this process and its threads as the kernel reports them', () => {
    const text = readFileSync('/proc/self/status', 'utf8');
    const s = parseProcStatus(text);
    expect(s.pid).toBe(process.pid);
    expect(s.tgid).toBe(process.pid);
    expect(s.uid.effective).toBe(process.geteuid?.());
    expect(s.effective.toHex()).toBe(/CapEff:\s*([0-9a-f]+)/.exec(text)![1]);
    const tstat = parseProcStatus(readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8'));
    expect(tstat.pid).toBe(process.pid);
  });
});
