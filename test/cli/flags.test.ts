/**
 * Numeric flags are strict integers everywhere (issue 8: `--securebits ''` was 0, `1e3` was
 * 1000, a million-digit pid was Infinity). One parser, src/cli/flags.ts, used by every command.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIntFlag } from '../../src/cli/flags.js';
import { capctlInProcess } from '../fuzz/inproc.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'traces');
const dir = mkdtempSync(join(tmpdir(), 'capctl-i8b-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const trace = join(dir, 't.strace');
writeFileSync(trace, '1 setuid(0) = 0\n');
const status = join(FIX, 'root.status');
const log = join(dir, 'a.log');
writeFileSync(log, '');
const plain = join(dir, 'plain');
writeFileSync(plain, '');
const big = '9'.repeat(1_000_000);

describe('parseIntFlag', () => {
  it.each([
    ['0', 0],
    ['4095', 4095],
    ['0x10', 16],
    ['0XfFf', 0xfff],
  ])('accepts %s', (t, n) => {
    expect(parseIntFlag('--x', t, { max: 0xfff, hex: true })).toBe(n);
  });
  it.each([
    '',
    ' 1',
    '1 ',
    '1e3',
    '+1',
    '-1',
    '1.0',
    '0b1',
    '0o7',
    '010',
    '0x',
    'Infinity',
    'NaN',
    '4096',
    '0x1000',
    big,
  ])('refuses %j', (t) => {
    expect(() => parseIntFlag('--x', t.length > 50 ? t : t, { max: 0xfff, hex: true })).toThrow(/--x wants/);
  });
  it('the error stays one short line for a million digits', () => {
    try {
      parseIntFlag('--pid', big, { min: 1, max: 10 });
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(200);
      expect((e as Error).message).toMatch(/1000000 characters/);
    }
  });
  it('hex is refused where the flag is decimal', () => {
    expect(() => parseIntFlag('--uid', '0x10', { max: 10 })).toThrow(/--uid wants/);
  });
});

describe('every command parses numbers with it', () => {
  it.each([
    [['replay', trace, '--status', status, '--securebits', ''], /--securebits wants securebits/],
    [['replay', trace, '--status', status, '--securebits', '1e3'], /--securebits wants securebits .*"1e3"/],
    [['replay', trace, '--status', status, '--securebits', '0x1000'], /out of range/],
    [['audit', 'query', log, '--pid', big], /--pid wants a pid .*1000000 characters/],
    [['audit', 'query', log, '--pid', '1e3'], /--pid wants a pid/],
    [['audit', 'query', log, '--pid', '0'], /out of range/],
    [['audit', 'summary', log, '--pid', '99999999'], /out of range/],
    [['ps', big], /process id wants/],
    [['ps', '1e3'], /process id wants/],
    [['setcap', '-n', '1e3', 'cap_kill+p', plain], /-n wants a rootid/],
    [['setcap', '-n', '4294967295', 'cap_kill+p', plain], /out of range/],
    [['check', '--uid', '1e3', 'CAP_KILL'], /--uid wants a uid/],
    [['check', '--uid', '', 'CAP_KILL'], /--uid wants a uid/],
    [['profile', 'explain', 'strict', 'CAP_KILL', '--uid', '0x10'], /uid wants a uid/],
    [['audit', 'suggest', log, '--name', 'Bad Name\nx'], /--name must match .* not "Bad Name\\nx"/],
    [
      ['jail', 'create', 'w', '--profile', 'ping', '--path', dir, '--devfs-ruleset', '1e3', '--dry-run'],
      /--devfs-ruleset wants a ruleset number/,
    ],
    [
      ['jail', 'create', 'w', '--profile', 'ping', '--path', dir, '--devfs-ruleset', '70000', '--dry-run'],
      /out of range/,
    ],
  ])('%j exits 2: %s', async (args, want) => {
    const r = await capctlInProcess(args);
    expect(r.thrown).toBeUndefined();
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(want);
  });

  it('a good --securebits still works (hex and decimal)', async () => {
    for (const v of ['0x10', '16']) {
      const r = await capctlInProcess(['replay', trace, '--status', status, '--securebits', v, '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).total.calls).toBe(1);
    }
    expect(readFileSync(trace, 'utf8')).toContain('setuid');
  });
});

describe('audit --since/--until', () => {
  it.each(['1', '2001', `${'9'.repeat(400)}d`, ''])('refuses %j as a time', async (t) => {
    const r = await capctlInProcess(['audit', 'query', log, '--since', t]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a time/);
  });
  it.each(['10m', '2026-11-26T10:00:00Z', '2026-11-26'])('accepts %j', async (t) => {
    expect((await capctlInProcess(['audit', 'query', log, '--until', t])).code).toBe(0);
  });
});

describe('replay --status is read bounded', () => {
  it.each([
    ['/dev/zero', /cannot read --status \/dev\/zero: not a regular file/],
    [dir, /not a regular file/],
    [join(dir, 'missing'), /cannot read --status .*missing: ENOENT/],
  ])('%s exits 2 with one line', async (path, want) => {
    const r = await capctlInProcess(['replay', trace, '--status', path]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(want);
  });

  it('a FIFO with no writer is refused instead of blocking', async () => {
    const fifo = join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const r = await capctlInProcess(['replay', trace, '--status', fifo]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a regular file/);
  });

  it('a status file above 64 KiB is refused', async () => {
    const big = join(dir, 'big.status');
    writeFileSync(big, `${readFileSync(status, 'utf8')}${'x'.repeat(70_000)}\n`);
    const r = await capctlInProcess(['replay', trace, '--status', big]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/larger than 65536 bytes/);
  });

  it('/proc/self/status (size 0 in stat) is read', async () => {
    const r = await capctlInProcess(['replay', trace, '--status', '/proc/self/status']);
    expect(r.code).toBe(0);
  });
});
