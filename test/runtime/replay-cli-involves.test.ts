/**
 * `capctl replay` output: a divergence names the capability (or privilege), the host's stage and
 * reason and the profile rule involved; and the recording recipe in `replay --help` runs as
 * written here (root, strace, capsh, ping) and replays with no divergence.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, CLI_BUILT, hasTool, IS_ROOT } from '../caps/helpers.js';

const ROOT_STATUS = readFileSync(join(__dirname, '..', 'fixtures', 'traces', 'root.status'), 'utf8');
const USER_STATUS = ROOT_STATUS.replace(/^Uid:.*$/m, 'Uid:\t1000\t1000\t1000\t1000')
  .replace(/^Gid:.*$/m, 'Gid:\t1000\t1000\t1000\t1000')
  .replace(/^CapPrm:.*$/m, 'CapPrm:\t0000000000000000')
  .replace(/^CapEff:.*$/m, 'CapEff:\t0000000000000000');

const TRACE = [
  '200 execve("/opt/ping", ["ping"], 0x1 /* 0 vars */) = 0',
  '200 socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = 3',
  '200 prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE) = 1',
].join('\n');

function replay(dir: string, ...args: string[]) {
  return spawnSync(process.execPath, [CLI, 'replay', join(dir, 't.txt'), '--status', join(dir, 's.txt'), ...args], {
    encoding: 'utf8',
    cwd: dir,
  });
}

describe.runIf(CLI_BUILT)('replay divergences name what was involved', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-i13-replay-'));
  writeFileSync(join(dir, 't.txt'), `${TRACE}\n`);
  writeFileSync(join(dir, 's.txt'), USER_STATUS);

  it('the capability and the host’s reason; a line without a decision names none', () => {
    const r = replay(dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      't.txt:2: pid 200: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)\n  recorded:  3\n  predicted: -1 EPERM\n  involves:  CAP_NET_RAW (denied by capability: capability not in effective set)\n',
    );
    // The bounding-set read diverges (root.status lacks CAP_SYS_RESOURCE) with no decision made.
    expect(r.stdout).toMatch(
      /t\.txt:3: pid 200: prctl\(PR_CAPBSET_READ, CAP_SYS_RESOURCE\)\n {2}recorded: {2}1\n {2}predicted: 0\nreplayed/,
    );
  });

  it('with a profile, the rule that governs the capability; --json carries the same list', () => {
    // The synthetic trace names no kernel: --kernel says which rules (else a warning on stderr).
    const r = replay(dir, '--profile', 'ping', '--json', '--kernel', '6.18.0');
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout) as { divergences: { line: number; involves: string[] }[] };
    expect(j.divergences.map((d) => [d.line, d.involves])).toEqual([
      [2, [expect.stringMatching(/^CAP_NET_RAW \(denied by capability: .*\); profile ping: allow CAP_NET_RAW/)]],
      [3, []],
    ]);
  });

  it('FreeBSD host: the privilege and the jail rule', () => {
    const r = replay(dir, '--host', 'freebsd');
    expect(r.stdout).toMatch(/involves: {2}PRIV_NETINET_RAW \(denied by jail: .*allow\.raw_sockets=0: EPERM\)/);
  });

  const HAVE = IS_ROOT && hasTool('strace') && hasTool('capsh') && hasTool('ping');
  it.skipIf(!HAVE)(
    'the recording recipe of `replay --help` runs and replays with no divergence (root, strace, capsh, ping)',
    () => {
      const help = spawnSync(process.execPath, [CLI, 'replay', '--help'], { encoding: 'utf8' }).stdout;
      const recipe = help.split('\n').filter((l) => /^ {2}(cat|strace) /.test(l));
      expect(recipe).toHaveLength(2);
      const work = mkdtempSync(join(tmpdir(), 'capctl-i13-recipe-'));
      try {
        for (const line of recipe) {
          const r = spawnSync('bash', ['-c', line.trim()], { cwd: work, encoding: 'utf8' });
          expect(r.status, `${line}\n${r.stderr}`).toBe(0);
        }
        const r = spawnSync(process.execPath, [CLI, 'replay', 'trace.txt', '--status', 'status.txt', '--check'], {
          cwd: work,
          encoding: 'utf8',
        });
        expect(r.stdout).toMatch(/replayed \d+ calls: \d+ matched, 0 diverged/);
        expect(r.status).toBe(0);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  );
});
