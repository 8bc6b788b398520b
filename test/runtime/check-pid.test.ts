/**
 * `capctl check --pid PID` (issue 13) against live processes, and `check`'s default host: the
 * host capctl runs on. The kernel is the oracle: the process's CapEff from /proc decides.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/policy/paths.js';

const root = packageRoot();
const bin = join(root, 'bin', 'capctl.js');
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
const IS_ROOT = process.getuid?.() === 0;
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
const HAS_CAPSH = spawnSync('capsh', ['--print'], { stdio: 'ignore' }).status === 0;

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
}, 180_000);

/** Start `cmd`, wait until it has exec'd (its /proc comm is `comm`), return it. */
async function started(cmd: string, args: string[], comm: string) {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === comm) return child;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  throw new Error(`${cmd} did not start`);
}

describe('check defaults to the host it runs on', () => {
  it.skipIf(process.platform !== 'linux')('on Linux, `check CAP_NET_RAW` answers for linux (no jail stage)', () => {
    const r = run(['check', '--json', '--uid', '0', 'CAP_NET_RAW']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ decision: 'allowed', stage: 'capability' });
    const fb = run(['check', '--json', '--host', 'freebsd', 'CAP_NET_RAW']);
    expect(JSON.parse(fb.stdout)[0]).toMatchObject({ decision: 'denied', stage: 'jail' });
  });
});

describe.skipIf(!IS_ROOT || !HAS_CAPSH)('check --pid (needs root and capsh)', () => {
  it("answers from the live process's effective set, as the kernel holds it", async () => {
    // A process whose bounding set lost CAP_NET_RAW and CAP_SYS_ADMIN before it exec'd sleep.
    const child = await started('capsh', ['--drop=cap_net_raw,cap_sys_admin', '--', '-c', 'exec sleep 30'], 'sleep');
    try {
      const eff = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]!;
      // The kernel's view: CHOWN held, NET_RAW (13) not.
      expect(BigInt(`0x${eff}`) & 1n).toBe(1n);
      expect((BigInt(`0x${eff}`) >> 13n) & 1n).toBe(0n);
      const r = run(['check', '--json', '--host', 'linux', '--pid', String(child.pid), 'CAP_CHOWN', 'CAP_NET_RAW']);
      expect(r.status).toBe(1);
      expect(JSON.parse(r.stdout).map((d: { decision: string }) => d.decision)).toEqual(['allowed', 'denied']);
      // with a profile: the profile restricts what the process holds
      const p = run([
        'check',
        '--json',
        '--host',
        'linux',
        '--pid',
        String(child.pid),
        '--profile',
        'strict',
        'CAP_CHOWN',
      ]);
      expect(JSON.parse(p.stdout)[0]).toMatchObject({ decision: 'denied', stage: 'profile' });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.skipIf(!BUSYBOX)("a chrooted process is checked under its chroot's bound profile (verified)", async () => {
    const jailRoot = mkdtempSync(join(tmpdir(), 'capctl-i8-chroot-'));
    mkdirSync(join(jailRoot, 'bin'));
    copyFileSync(BUSYBOX!, join(jailRoot, 'bin', 'busybox'));
    execFileSync('chmod', ['0755', join(jailRoot, 'bin', 'busybox')]);
    const state = mkdtempSync(join(tmpdir(), 'capctl-i8-state-'));
    const prof = mkdtempSync(join(tmpdir(), 'capctl-i8-prof-'));
    writeFileSync(join(prof, 'build.yaml'), 'name: build\ncapabilities:\n  bounding: [CHOWN]\n');
    expect(run(['attach', '--chroot', jailRoot, '--state-dir', state, join(prof, 'build.yaml')]).status).toBe(0);
    const child = await started('chroot', [jailRoot, '/bin/busybox', 'sleep', '30'], 'busybox');
    try {
      const args = ['check', '--json', '--host', 'linux', '--state-dir', state, '--pid', String(child.pid)];
      const r = run([...args, 'CAP_CHOWN', 'CAP_SYS_ADMIN']);
      expect(r.stderr).toContain(`chroot ${jailRoot}: profile build`);
      expect(JSON.parse(r.stdout).map((d: { decision: string }) => d.decision)).toEqual(['allowed', 'denied']);
      // The profile changes after attach: the binding is refused, everything denied.
      writeFileSync(join(prof, 'build.yaml'), 'name: build\ncapabilities:\n  bounding: ALL\n');
      const changed = run([...args, 'CAP_CHOWN']);
      expect(changed.stderr).toMatch(/changed since it was attached/);
      expect(JSON.parse(changed.stdout)[0]).toMatchObject({ decision: 'denied' });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a bad or missing pid, and --pid with --caps', () => {
    expect(run(['check', '--pid', '99999999999', 'CAP_CHOWN']).status).toBe(2);
    expect(run(['check', '--pid', '1e3', 'CAP_CHOWN']).status).toBe(2);
    expect(run(['check', '--pid', '1', '--caps', '=ep', 'CAP_CHOWN']).status).toBe(2);
  });
});
