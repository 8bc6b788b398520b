/**
 * capctl replay --audit: every denial the replay predicts becomes one schema-valid record that
 * points back at the trace line; a complain-mode profile produces 'complain' records and lets
 * the calls through.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'bin', 'capctl.js');
const CLI_BUILT = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const EX = join(ROOT, 'examples');
const TRACE = join(EX, 'drop-raw.strace');

function records(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe.skipIf(!CLI_BUILT)('capctl replay --audit (built CLI; npm run build)', () => {
  const dir = CLI_BUILT ? mkdtempSync(join(tmpdir(), 'capctl-replay-audit-')) : '';
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const ajv = new Ajv2020({ allErrors: true });
  ajv.addFormat('date-time', (v: string) => !Number.isNaN(Date.parse(v)));
  const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'audit-record.schema.json'), 'utf8')));

  it('a Linux program in a jail without allow.raw_sockets: the raw socket is denied at the jail stage', () => {
    const log = join(dir, 'jail.log');
    const args = ['replay', TRACE, '--status', join(EX, 'drop-raw.status'), '--host', 'freebsd'];
    const r = run([...args, '--profile', join(ROOT, 'policies', 'ping.yaml'), '--audit', log]);
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^replayed 13 calls: \d+ matched, \d+ diverged, 0 not modeled$/,
    );
    const recs = records(log);
    expect(r.stderr).toContain(`${recs.length} audit record(s) appended to ${log}`);
    for (const rec of recs) expect(validate(rec), JSON.stringify(validate.errors)).toBe(true);
    const first = recs[0]!;
    expect(first).toMatchObject({
      verdict: 'denied',
      host: 'freebsd',
      syscall: 'socket',
      cap: 'CAP_NET_RAW',
      priv: 'PRIV_NETINET_RAW',
      privNumber: 497,
      errno: 'EPERM',
      stage: 'jail',
      tid: 19737,
      tgid: 19737,
      profile: 'ping',
      source: { file: TRACE, line: 30 },
    });
    expect(recs.filter((x) => x.syscall === 'socket' && x.stage === 'jail').length).toBeGreaterThanOrEqual(2);
    // With the parameter the jail lets raw sockets through: no socket is denied at the jail stage.
    const log2 = join(dir, 'jail2.log');
    const ping = join(ROOT, 'policies', 'ping.yaml');
    expect(run([...args, '--jail-param', 'allow.raw_sockets=1', '--profile', ping, '--audit', log2]).status).toBe(0);
    const recs2 = existsSync(log2) ? records(log2) : [];
    expect(recs2.filter((x) => x.syscall === 'socket' && x.stage === 'jail')).toEqual([]);
  });

  it('complain mode lets the calls through and records what enforce mode would deny', () => {
    const profile = join(dir, 'complain.yaml');
    writeFileSync(profile, 'name: watch\nmode: complain\ncapabilities:\n  bounding: [CHOWN]\n');
    const log = join(dir, 'complain.log');
    const r = run([
      'replay',
      TRACE,
      '--status',
      join(EX, 'drop-raw.status'),
      '--profile',
      profile,
      '--audit',
      log,
      '--check',
    ]);
    expect(r.stdout).toBe('replayed 13 calls: 13 matched, 0 diverged, 0 not modeled\n');
    expect(r.status).toBe(0);
    const recs = records(log);
    const complain = recs.filter((x) => x.verdict === 'complain');
    expect(complain.map((x) => x.cap)).toContain('CAP_NET_RAW');
    expect(complain.every((x) => x.errno === '' && x.stage === 'profile-complain')).toBe(true);
    // Enforce mode with the same sets refuses the socket the trace shows succeeding.
    writeFileSync(profile, 'name: watch\nmode: enforce\ncapabilities:\n  bounding: [CHOWN]\n');
    expect(
      run(['replay', TRACE, '--status', join(EX, 'drop-raw.status'), '--profile', profile, '--check']).status,
    ).toBe(1);
  });

  it('complain mode on the FreeBSD host records the privilege enforce mode would veto', () => {
    const profile = join(dir, 'complain-bsd.yaml');
    writeFileSync(profile, 'name: watch\nmode: complain\nrules:\n  - effect: deny\n    privs: [PRIV_NETINET_RAW]\n');
    const log = join(dir, 'complain-bsd.log');
    const args = ['replay', TRACE, '--status', join(EX, 'drop-raw.status'), '--host', 'freebsd'];
    const r = run([...args, '--jail-param', 'allow.raw_sockets=1', '--profile', profile, '--audit', log]);
    expect(r.status).toBe(0);
    const sockets = records(log).filter((x) => x.syscall === 'socket' && x.verdict === 'complain');
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets[0]).toMatchObject({
      errno: '',
      stage: 'profile-complain',
      priv: 'PRIV_NETINET_RAW',
      source: { line: 30 },
    });
    // Enforce mode vetoes it before the jail filter.
    writeFileSync(profile, 'name: watch\nrules:\n  - effect: deny\n    privs: [PRIV_NETINET_RAW]\n');
    const log2 = join(dir, 'enforce-bsd.log');
    run([...args, '--jail-param', 'allow.raw_sockets=1', '--profile', profile, '--audit', log2]);
    expect(records(log2).find((x) => x.syscall === 'socket')).toMatchObject({ verdict: 'denied', stage: 'policy' });
  });

  it('audit suggest turns the jail denials into a profile that validates', () => {
    const log = join(dir, 'jail.log');
    const out = run(['audit', 'suggest', log, '--name', 'pinger', '--extends', 'docker-default']);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('PRIV_NETINET_RAW');
    expect(out.stdout).toContain('allow.raw_sockets');
    const file = join(dir, 'pinger.yaml');
    writeFileSync(file, out.stdout);
    expect(run(['profile', 'validate', file]).status).toBe(0);
  });
});
