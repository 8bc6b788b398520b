/**
 * Bad input to every caps command exits 2 with exactly one line on stderr and no stack trace,
 * run through the built CLI as a user would.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, CLI_BUILT, capctl, hasTool, IS_ROOT, type RunResult, run } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'capctl-clierr-'));
const plain = join(dir, 'plain');
writeFileSync(plain, '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));

/** [args, what stderr must say]. */
const CASES: [string[], RegExp][] = [
  // text
  [['text', 'cap_net_rwa+ep'], /unknown capability "cap_net_rwa" \(did you mean cap_net_raw\?\)/],
  [['text', 'CAP_SYS_ADMN+p'], /did you mean CAP_SYS_ADMIN\?/],
  [['text', 'net_raw+ep'], /libcap names need the cap_ prefix: cap_net_raw/],
  [['text', 'cap_chown+x'], /at character 11.*bad flag "x"/],
  [['text', 'cap_chown+E'], /bad flag "E"/],
  [['text', 'cap_chown,,cap_kill+p'], /expected a capability name after ","/],
  [['text', '+ep'], /"\+" needs a capability list/],
  [['text', 'cap_chown'], /missing operator/],
  [['text', 'cap_chown+'], /needs at least one flag/],
  [['text', '64+ep'], /capability number 64 is out of range/],
  [['text', '0x40+e'], /capability number 0x40 is out of range/],
  [['text', '--effective', 'xyz'], /not a capability mask: "xyz"/],
  [['text', '--permitted', '12345678901234567'], /not a capability mask/],
  [['text'], /no TEXT given/],
  [['text', '--bogus'], /unknown option '--bogus'/],
  // decode
  [['decode', 'zz'], /not a capability mask: "zz"/],
  [['decode', '0x1ffffffffffffffff'], /not a capability mask/],
  [['decode', ''], /not a capability mask/],
  [['decode'], /missing required argument 'HEX'/],
  // ps
  [['ps', String(pidMax + 1)], new RegExp(`no such process: ${pidMax + 1}`)],
  [['ps', '--threads', String(pidMax + 1)], /no such process/],
  [['ps', 'abc'], /process id wants a positive decimal number \(1\.\.4194304\), not "abc"/],
  [['ps', '--cap', 'cap_net_rwa'], /did you mean cap_net_raw\?/],
  [['ps', '--cap', '41'], /capability number 41 is out of range/],
  [['ps', '--sort', 'size'], /cannot sort by "size"/],
  // getcap
  [['getcap', join(dir, 'missing')], /missing: No such file or directory/],
  [['getcap', `${plain}/x`], /plain\/x: Not a directory/],
  [['getcap', '/proc/self/status'], /does not support security\.capability extended attributes/],
  [['getcap'], /missing required argument 'FILE'/],
  // setcap
  [['setcap', 'cap_net_raw+ep', join(dir, 'missing')], /missing: No such file or directory/],
  [['setcap', 'cap_foo+ep', plain], /unknown capability "cap_foo"/],
  [
    ['setcap', 'cap_net_raw+p cap_chown+ep', plain],
    /effective bits must be empty or cover .* not effective: cap_net_raw/,
  ],
  [
    ['setcap', '-n', '0', 'cap_kill+p', plain],
    /-n wants a rootid, a uid other than 0 \(1\.\.4294967294\), not "0": out of range/,
  ],
  [['setcap', '-n', 'x', 'cap_kill+p', plain], /-n wants a rootid, a uid other than 0 \(1\.\.4294967294\), not "x"/],
  [['setcap', 'cap_kill+p', dir], /is a directory/],
  [['setcap', 'cap_kill+p'], /need TEXT and at least one FILE/],
  [['setcap', '-n'], /argument missing/],
];

const ROOT_CASES: [string[], RegExp][] = [
  [['setcap', '-r', plain], /has no file capabilities to remove/],
  [['setcap', 'cap_kill+p', '/proc/self/status'], /does not support security\.capability/],
];

function expectOneLineError(args: string[], re: RegExp, input?: string): RunResult {
  const r = capctl(args, input);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(re);
  expect(r.stderr.split('\n')).toHaveLength(2); // one line plus its newline
  expect(r.stderr).toMatch(/^(capctl|error): /);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
  return r;
}

describe.runIf(CLI_BUILT)('bad input: exit 2, one line, no stack trace', () => {
  it.each(CASES)('capctl %j', (args, re) => {
    expect(expectOneLineError(args, re).stdout).toBe('');
  });

  it.runIf(IS_ROOT).each(ROOT_CASES)('capctl %j (root)', (args, re) => {
    expectOneLineError(args, re);
  });

  it.runIf(IS_ROOT && hasTool('setpriv'))('as uid 1000: unreadable file, and setcap without CAP_SETFCAP', () => {
    chmodSync(dir, 0o755); // mkdtemp makes it 0700; uid 1000 must reach `plain`
    const secret = join(dir, 'secret');
    mkdirSync(secret, { mode: 0o700 });
    writeFileSync(join(secret, 'f'), '');
    const asUser = (args: string[]) =>
      run('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', process.execPath, CLI, ...args]);
    const a = asUser(['getcap', join(secret, 'f')]);
    expect(a.status).toBe(2);
    expect(a.stderr).toBe(`capctl: ${join(secret, 'f')}: Permission denied\n`);
    const b = asUser(['setcap', 'cap_kill+p', plain]);
    expect(b.status).toBe(2);
    expect(b.stderr).toBe(
      `capctl: ${plain}: Operation not permitted (writing security.capability needs CAP_SETFCAP in the effective set)\n`,
    );
  });

  it('a reader closing the pipe early ends output quietly (no EPIPE stack trace)', () => {
    const r = run('bash', [
      '-c',
      `yes cap_chown+p | head -n 100000 | "${process.execPath}" "${CLI}" text - | head -n 1; echo "rc=\${PIPESTATUS[2]}"`,
    ]);
    expect(r.stdout).toBe('cap_chown=p\nrc=0\n');
    expect(r.stderr).toBe('');
  });

  it('a bad line in stdin batch mode names the line; earlier lines are printed', () => {
    const r = capctl(['text', '-'], 'cap_chown+p\ncap_chown+ep x\n=ep\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('cap_chown=p\n');
    expect(r.stderr).toMatch(
      /^capctl: stdin line 2: bad capability text at character 14, in clause "x": unknown capability "x"/,
    );
    expect(r.stderr.split('\n')).toHaveLength(2);
  });

  it('--keep-going reports each bad line and keeps stdout aligned with the input', () => {
    const r = capctl(['text', '-k', '-'], 'cap_chown+p\nbogus+p\n=ep\n64+p\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('cap_chown=p\n\n=ep\n\n');
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^capctl: stdin line 2: .*unknown capability "bogus"/),
      expect.stringMatching(/^capctl: stdin line 4: .*out of range/),
    ]);
    const j = JSON.parse(capctl(['text', '-k', '--json', '-'], 'cap_chown+p\nbogus+p\n').stdout);
    expect(j).toEqual([
      {
        input: 'cap_chown+p',
        text: 'cap_chown=p',
        effective: '0000000000000000',
        permitted: '0000000000000001',
        inheritable: '0000000000000000',
      },
      { input: 'bogus+p', error: expect.stringMatching(/stdin line 2/) },
    ]);
  });

  it('with several TEXT arguments, the ones before the bad one are printed', () => {
    const r = expectOneLineError(['text', 'cap_chown=p', '0x40+e'], /argument "0x40\+e": .*out of range/);
    expect(r.stdout).toBe('cap_chown=p\n');
  });

  it('getcap prints the good operands and exits 2 for the bad one', () => {
    const r = capctl(['getcap', '-v', plain, join(dir, 'missing')]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe(`${plain}\n`);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });
});
