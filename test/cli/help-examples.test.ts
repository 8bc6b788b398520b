/**
 * Every example in every `capctl ... --help` runs, as a user would paste it, in a fixture
 * directory (profiles, traces, a status file, an audit log, files to set capabilities on) with
 * the state directory inside it. Examples are discovered from the commander definitions, so a
 * command added later is covered without touching this file. Expected exit code: 0, or N when
 * the example's comment says `exit N`. An example that names a host log absent here
 * (/var/log/audit/audit.log) runs in a private mount namespace with a fixture in its place; one
 * naming another absent host file is skipped and listed. The test prints how many ran.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpExamples } from '../../src/cli/help-text.js';
import { buildProgram } from '../../src/cli/main.js';
import { CLI, CLI_BUILT, hasTool, IS_ROOT, ROOT } from '../caps/helpers.js';

const STATUS = readFileSync(join(ROOT, 'test', 'fixtures', 'traces', 'root.status'), 'utf8');
// Bounding-set read of CAP_SYS_RESOURCE: root.status lacks it, the "recorded" kernel had it,
// so the trace has one divergence (what --check documents as exit 1).
const TRACE = [
  '100 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, NULL) = 0',
  '100 prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE) = 1',
  '100 socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = 3',
].join('\n');

/** The fixture directory every example runs in. */
function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-i13-help-'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'capctl'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(dir, 'bin', 'capctl'), 0o755);
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  mkdirSync(join(dir, 'policies'));
  for (const f of [
    'nginx',
    'ping',
    'docker-default',
    'podman-default',
    'k8s-restricted',
    'linux-kmod-build',
    'strict',
  ]) {
    copyFileSync(join(ROOT, 'policies', `${f}.yaml`), join(dir, 'policies', `${f}.yaml`));
    chmodSync(join(dir, 'policies', `${f}.yaml`), 0o644);
  }
  copyFileSync(join(ROOT, 'policies', 'nginx.yaml'), join(dir, 'web.yaml'));
  copyFileSync(join(ROOT, 'policies', 'ping.yaml'), join(dir, 'my-profile.yaml'));
  for (const f of ['web.yaml', 'my-profile.yaml']) chmodSync(join(dir, f), 0o644);
  writeFileSync(join(dir, 'status.txt'), STATUS);
  for (const f of ['trace.txt', 'a.txt', 'b.txt']) writeFileSync(join(dir, f), `${TRACE}\n`);
  // Files to read and set capabilities on: a copy of an ELF, and one with a v3 (rootid) xattr.
  copyFileSync(process.execPath, join(dir, 'ping'));
  writeFileSync(join(dir, 'server'), '');
  writeFileSync(join(dir, 'tool'), '');
  execFileSync('setcap', ['-n', '1000', 'cap_net_raw=ep', join(dir, 'tool')]);
  // An audit log with a denial from now (for --since 1h): replay the trace with --audit.
  const audit = spawnSync(
    process.execPath,
    [CLI, 'replay', 'trace.txt', '--status', 'status.txt', '--audit', 'audit.log'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  if (audit.status !== 0) throw new Error(`fixture audit.log: ${audit.stderr}`);
  return dir;
}

/**
 * Host files examples name that this machine may lack: such an example runs in a private mount
 * namespace (unshare -m) with a tmpfs over the file's top directory holding the fixture, so the
 * command line runs verbatim and the real /var/log is never touched.
 */
const HOST_FIXTURES: Record<string, { mountOn: string; text: string }> = {
  '/var/log/audit/audit.log': {
    mountOn: '/var/log',
    text: [
      'type=AVC msg=audit(1764554400.123:45): avc:  denied  { net_raw } for  pid=1234 comm="ping" capability=13  scontext=system_u:system_r:ping_t:s0 tcontext=system_u:system_r:ping_t:s0 tclass=capability permissive=0',
      'type=AVC msg=audit(1764554401.123:46): apparmor="DENIED" operation="capable" profile="/usr/bin/ping" pid=1235 comm="ping" capability=13  capname="net_raw"',
      '',
    ].join('\n'),
  },
};

/** The example as a bash script: plain, or inside unshare -m with the host fixtures it needs. */
function scriptFor(shell: string, dir: string): string[] {
  const needed = Object.entries(HOST_FIXTURES).filter(([p]) => shell.includes(p) && !existsSync(p));
  if (needed.length === 0 || !hasTool('unshare')) return ['bash', '-o', 'pipefail', '-c', shell];
  const setup = needed.map(([p, f], i) => {
    writeFileSync(join(dir, `host-fixture-${i}`), f.text);
    return `mount -t tmpfs none ${f.mountOn} && mkdir -p ${dirname(p)} && cp host-fixture-${i} ${p}`;
  });
  return ['unshare', '-m', 'bash', '-o', 'pipefail', '-c', `${setup.join(' && ')} && ${shell}`];
}

/** An absolute host path an example names that does not exist here (so the example cannot run). */
function missingHostPath(shell: string): string | undefined {
  for (const m of shell.matchAll(/(?:^|\s)(\/[A-Za-z0-9._/-]+)/g)) {
    const p = m[1]!;
    if (p.startsWith('/jails/') || p.startsWith('/compat/') || p.startsWith('/tmp/')) continue; // paths on the FreeBSD host or bindings only
    if (p in HOST_FIXTURES && IS_ROOT && hasTool('unshare')) continue;
    if (!existsSync(p)) return p;
  }
  return undefined;
}

// Every command's module, loaded once (buildProgram imports them on demand).
const program = await buildProgram();
const CAN_RUN = CLI_BUILT && IS_ROOT && hasTool('setcap') && hasTool('jq');

describe.skipIf(!CAN_RUN)('help examples (need the built CLI, root for setcap/attach, setcap and jq)', () => {
  const examples = helpExamples(program);
  let dir = '';
  const ran: string[] = [];
  const skipped: string[] = [];
  beforeAll(() => {
    dir = fixture();
  }, 120_000);
  afterAll(() => {
    process.stdout.write(
      `help examples: ${ran.length} of ${examples.length} run${skipped.length ? `; skipped (host file missing): ${skipped.join(' | ')}` : ''}\n`,
    );
  });

  it('finds examples in the help of every command that has them', () => {
    expect(examples.length).toBeGreaterThan(50);
  });

  for (const ex of examples) {
    it(`${ex.command}: ${ex.line}`, () => {
      const missing = missingHostPath(ex.shell);
      if (missing !== undefined) {
        skipped.push(`${ex.shell} (${missing})`);
        return;
      }
      const [cmd, ...args] = scriptFor(ex.shell, dir);
      const r = spawnSync(cmd!, args, {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, CAPCTL_STATE_DIR: join(dir, 'state') },
        maxBuffer: 64 * 1024 * 1024,
      });
      ran.push(ex.line);
      expect({ status: r.status, stderr: r.status === ex.exit ? '' : r.stderr }).toEqual({
        status: ex.exit,
        stderr: '',
      });
    });
  }

  it('skips at most a few examples for missing host files', () => {
    expect(skipped.length).toBeLessThanOrEqual(3);
  });
});
