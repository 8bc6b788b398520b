/**
 * capctl learn on real programs: the learnt profile is exactly what they need. Each learnt
 * profile is then checked independently of learn's own verification: the command succeeds
 * under `capctl exec --profile LEARNT`, and fails with each learnt capability removed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bin, capctl, ensureBuilt, has, isRoot, root } from './helpers.js';

const TRACING = '/sys/kernel/tracing';
const tracepoint = () =>
  existsSync(`${TRACING}/events/capability/cap_capable`) ||
  // not mounted yet: the commands mount it themselves; look at the kernel's list instead
  (isRoot && !existsSync(`${TRACING}/instances`));
const work = mkdtempSync(join(tmpdir(), 'capctl-i9-learn-'));
const ours = () =>
  existsSync(`${TRACING}/instances`)
    ? readdirSync(`${TRACING}/instances`).filter((n) => n.startsWith('capctl-learn'))
    : [];

beforeAll(() => {
  ensureBuilt();
  if (has('gcc'))
    execFileSync('gcc', ['-O2', '-o', join(work, 'bind80'), join(root, 'test', 'live', 'fixtures', 'bind80.c')]);
  writeFileSync(join(work, 'file'), '');
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function profileCaps(file: string): string[] {
  const doc = parse(readFileSync(file, 'utf8')) as { capabilities: { permitted: string[] } };
  return doc.capabilities.permitted;
}

/** The command's outcome under a profile with exactly `caps`: [exit status, stderr]. */
function under(caps: string[], cmd: string[]): [number | null, string] {
  const f = join(work, `p-${Math.random().toString(36).slice(2)}.yaml`);
  const list = `[${caps.join(', ')}]`;
  writeFileSync(
    f,
    `name: t\ncapabilities:\n  bounding: ${list}\n  permitted: ${list}\n  effective: ${list}\n  inheritable: []\n  ambient: []\n`,
    { mode: 0o644 },
  );
  const r = capctl(['exec', '--profile', f, '--', ...cmd]);
  return [r.status, r.stderr];
}

const programs: { name: string; cmd: () => string[]; want: string[]; skip: boolean }[] = [
  { name: 'ping -c1 127.0.0.1', cmd: () => ['ping', '-c1', '127.0.0.1'], want: ['NET_RAW'], skip: !has('ping') },
  { name: 'chown 1:1 FILE', cmd: () => ['chown', '1:1', join(work, 'file')], want: ['CHOWN'], skip: false },
  {
    name: 'a server binding port 80',
    cmd: () => [join(work, 'bind80')],
    want: ['NET_BIND_SERVICE'],
    skip: !has('gcc'),
  },
  { name: 'nice -n -5 true', cmd: () => ['nice', '-n', '-5', 'true'], want: ['SYS_NICE'], skip: false },
];

describe.skipIf(!isRoot || !tracepoint())('capctl learn (needs root and the cap_capable tracepoint)', () => {
  for (const p of programs) {
    it.skipIf(p.skip)(
      `${p.name} -> ${p.want.join(', ')}; sufficient and minimal under capctl exec`,
      () => {
        const out = join(work, `${p.want[0]}.yaml`);
        const log = join(work, `${p.want[0]}.log`);
        const r = capctl(['learn', '--out', out, '--audit', log, '--', ...p.cmd()]);
        expect(r.status, r.stderr).toBe(0);
        expect(profileCaps(out)).toEqual(p.want);
        expect(readFileSync(out, 'utf8')).toContain('# verified:');
        // The profile loads, and the command succeeds under it with nothing on stderr.
        const ok = capctl(['exec', '--profile', out, '--', ...p.cmd()]);
        expect(ok.status, ok.stderr).toBe(0);
        expect(ok.stderr).toBe('');
        // Each learnt capability removed: the command fails (exit status, or nice's complaint).
        for (const c of p.want) {
          const [status, stderr] = under(
            p.want.filter((x) => x !== c),
            p.cmd(),
          );
          expect(status !== 0 || stderr !== '', `${p.name} without ${c}`).toBe(true);
        }
        // The audit log has the check that mattered, granted, with its syscall.
        const recs = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { cap: string; verdict: string; stage: string; syscall: string });
        expect(
          recs.some((x) => x.cap === `CAP_${p.want[0]}` && x.verdict === 'allowed' && x.stage === 'learn:candidate'),
        ).toBe(true);
        expect(ours()).toEqual([]);
      },
      120_000,
    );
  }

  it('--user 65534: ping needs NET_RAW as nobody too', () => {
    const out = join(work, 'nobody-ping.yaml');
    const r = capctl(['learn', '--user', '65534', '--out', out, '--', 'ping', '-c1', '127.0.0.1']);
    expect(r.status, r.stderr).toBe(0);
    expect(profileCaps(out)).toEqual(['NET_RAW']);
  }, 120_000);

  it('--format prints the learnt profile exactly as profile export prints the --out file, for every format', () => {
    const file = join(work, 'file');
    // One verified run; the other formats from traced-only runs, whose candidates are more than
    // CHOWN (SYS_ADMIN: the kernel's noaudit probes in mmap), which is all the same to export.
    for (const [i, f] of ['k8s', 'oci', 'podman', 'docker', 'compose', 'systemd'].entries()) {
      const out = join(work, `fmt-${f}.yaml`);
      const r = capctl([
        'learn',
        ...(i === 0 ? [] : ['--no-verify']),
        '--out',
        out,
        '--format',
        f,
        '--',
        'chown',
        '1:1',
        file,
      ]);
      expect(r.status, r.stderr).toBe(0);
      if (i === 0) expect(profileCaps(out)).toEqual(['CHOWN']);
      else expect(profileCaps(out)).toContain('CHOWN');
      const e = capctl(['profile', 'export', '--format', f, out]);
      expect(e.status, e.stderr).toBe(0);
      expect(r.stdout, f).toBe(e.stdout);
      expect(r.stdout).toMatch(/CHOWN/);
      // The summary moves to stderr, so stdout is the export alone (pipeable into a file).
      expect(r.stderr).toMatch(i === 0 ? /minimal set: CAP_CHOWN\n/ : /unverified set: CAP_CHOWN/);
    }
  }, 120_000);

  it("--json: the command's own stdout goes to stderr, so stdout is the JSON alone", () => {
    const r = capctl([
      'learn',
      '--no-verify',
      '--json',
      '--',
      'sh',
      '-c',
      'echo from-the-command; chown 1:1 "$0"',
      join(work, 'file'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { candidates: string[] };
    expect(j.candidates).toContain('CAP_CHOWN');
    expect(r.stderr).toMatch(/^from-the-command$/m);
  }, 60_000);

  it('--format with --json: the learn result with the export as profile export --json has it', () => {
    const out = join(work, 'json-export.yaml');
    const r = capctl([
      'learn',
      '--no-verify',
      '--out',
      out,
      '--format',
      'podman',
      '--json',
      '--',
      'chown',
      '1:1',
      join(work, 'file'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { candidates: string[]; export: { text: string } };
    expect(j.candidates).toContain('CAP_CHOWN');
    const e = capctl(['profile', 'export', '--format', 'podman', '--json', out]);
    expect(e.status, e.stderr).toBe(0);
    expect(j.export).toEqual(JSON.parse(e.stdout));
    expect(j.export.text).toMatch(/^--cap-drop=ALL --cap-add=CHOWN/);
  }, 60_000);

  it('--pid --duration --format: a running process tree observed and exported (unverified, said on stderr)', async () => {
    const file = join(work, 'file');
    const loop = spawn('sh', ['-c', `while :; do chown 1:1 ${file}; sleep 0.05; done`], { stdio: 'ignore' });
    try {
      const out = join(work, 'observed.yaml');
      const r = capctl(['learn', '--pid', String(loop.pid), '--duration', '1', '--out', out, '--format', 'docker']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^--cap-drop=ALL --cap-add=CHOWN/);
      expect(r.stdout).toBe(capctl(['profile', 'export', '--format', 'docker', out]).stdout);
      expect(r.stderr).toMatch(/unverified set: CAP_CHOWN/);
    } finally {
      loop.kill('SIGKILL');
    }
    expect(ours()).toEqual([]);
  }, 60_000);

  it('a bad --format is exit 2 with one line, before anything is traced', () => {
    const r = capctl(['learn', '--format', 'rkt', '--', 'touch', join(work, 'not-run')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(work, 'not-run'))).toBe(false);
  });

  it('SIGTERM while learning: the command is stopped and the tracing instance removed', async () => {
    const child = spawn(process.execPath, [bin, 'learn', '--', 'sleep', '30'], { cwd: root, stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    while (ours().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(ours().length).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1); // the command did not complete: nothing verified
    expect(ours()).toEqual([]);
  }, 60_000);
});
