/**
 * podman end to end through capctl-oci-runtime (podman --runtime SHIM, with runc underneath):
 * the profile named by the io.capctl.profile annotation, or bound with `capctl attach
 * --container NAME`, is what the container's first process holds, read from its own
 * /proc/self/status; and `capctl oci check` on the bundle the runtime got predicted exactly
 * those five lines. The kernel is the oracle for the prediction.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  capctlRun,
  capLines,
  checkCopy,
  ociConfigOf,
  podman,
  podmanUnusable,
  root,
  shim,
  statusText,
  type TestImage,
  ULIMITS,
} from './podman-helpers.js';

const unusable = podmanUnusable();
const fastBin = join(root, 'dist', 'native', 'capctl-oci-fast');

describe.skipIf(unusable !== undefined)(
  `podman through capctl-oci-runtime${unusable ? ` (skipped: ${unusable})` : ''}`,
  () => {
    let img: TestImage;
    let n = 0;
    beforeAll(() => {
      if (!readdirSync(join(root, 'dist', 'src', 'live')).includes('oci-shim.js')) {
        execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
      }
      img = buildImage();
    }, 180_000);
    afterAll(() => img?.remove());

    const SCRIPT =
      'grep Cap /proc/self/status; if ping -c1 -W2 127.0.0.1 >/dev/null 2>&1; then echo PING-OK; else echo PING-FAIL; fi';

    /** Run SCRIPT in a fresh container through the shim; returns its output and its bundle's config. */
    function viaShim(opts: string[], runtime = shim) {
      const name = `${img.prefix}-${++n}`;
      const r = podman([
        '--runtime',
        runtime,
        '--runtime-flag',
        `capctl-state-dir=${img.stateDir}`,
        'run',
        '--name',
        name,
        ...ULIMITS,
        ...opts,
        img.image,
        'sh',
        '-c',
        SCRIPT,
      ]);
      return { name, ...r };
    }

    function expectPredicted(name: string, out: string) {
      const check = checkCopy(ociConfigOf(name), img.rootfs);
      expect(check.status).toBe(0);
      expect(statusText(check.json.status)).toBe(capLines(out));
      podman(['rm', '-f', name]);
      return check.json;
    }

    it('ping: the ping works and CapEff is 0000000000002000, as oci check predicted', () => {
      const r = viaShim(['--annotation', 'io.capctl.profile=ping']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('CapEff:\t0000000000002000');
      expect(r.stdout).toContain('PING-OK');
      expectPredicted(r.name, r.stdout);
      // One audit record for the container, with the profile and its name.
      const audit = readFileSync(join(img.stateDir, 'audit.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(audit.at(-1)).toMatchObject({
        verdict: 'attached',
        profile: 'ping',
        via: 'annotation',
        containerName: r.name,
      });
    });

    it.skipIf(!existsSync(fastBin))(
      'the native fast path under podman: ping containers without Node, the same lines and the same record',
      () => {
        // podman passes the runtime no environment of ours: a wrapper sets the debug log.
        const dbg = join(dirname(img.rootfs), 'fast-debug.log');
        const wrap = join(dirname(img.rootfs), 'shim-debug');
        writeFileSync(wrap, `#!/bin/sh\nCAPCTL_OCI_FAST_DEBUG=${dbg} exec ${shim} "$@"\n`, { mode: 0o755 });
        viaShim(['--annotation', 'io.capctl.profile=ping'], wrap); // stores the compiled form if not yet
        const r = viaShim(['--annotation', 'io.capctl.profile=ping'], wrap);
        expect(readFileSync(dbg, 'utf8').trim().split('\n').at(-1)).toBe(
          'capctl-oci-fast: fast path: profile ping applied',
        );
        expect(r.stdout).toContain('CapEff:\t0000000000002000');
        expect(r.stdout).toContain('PING-OK');
        const id = podman(['inspect', '--format', '{{.Id}}', r.name]).stdout.trim();
        expectPredicted(r.name, r.stdout);
        const last = JSON.parse(readFileSync(join(img.stateDir, 'audit.log'), 'utf8').trim().split('\n').at(-1)!);
        expect(last).toMatchObject({
          verdict: 'attached',
          profile: 'ping',
          via: 'annotation',
          containerId: id,
          containerName: r.name, // read from containers-storage by the C program
        });
      },
    );

    it('strict: the same ping fails and every cap line is 0, as predicted', () => {
      const r = viaShim(['--annotation', 'io.capctl.profile=strict']);
      expect(r.stdout).toContain('PING-FAIL');
      for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
        expect(r.stdout).toContain(`${k}:\t0000000000000000`);
      }
      expectPredicted(r.name, r.stdout);
    });

    it('docker-default: CapBnd 00000000a80425fb, as predicted', () => {
      const r = viaShim(['--annotation', 'io.capctl.profile=docker-default']);
      expect(r.stdout).toContain('CapBnd:\t00000000a80425fb');
      expect(r.stdout).toContain('PING-OK'); // docker's 14 include NET_RAW
      expectPredicted(r.name, r.stdout);
    });

    it('k8s-restricted as --user 65534: CapEff 0, predicted with the ambient warning', () => {
      const r = viaShim(['--annotation', 'io.capctl.profile=k8s-restricted', '--user', '65534']);
      expect(r.stdout).toContain('CapEff:\t0000000000000000');
      expect(r.stdout).toContain('CapBnd:\t0000000000000400');
      const check = expectPredicted(r.name, r.stdout);
      expect(check.warnings.join('\n')).toMatch(/user 65534 is not root and ambient is empty/);
    });

    it('a binding made with capctl attach --container NAME, no annotation: the profile applies and the id is recorded', () => {
      const name = `${img.prefix}-bound`;
      const a = capctlRun(['attach', '--container', name, '--state-dir', img.stateDir, 'ping']);
      expect(a.status).toBe(0);
      const r = podman([
        '--runtime',
        shim,
        '--runtime-flag',
        `capctl-state-dir=${img.stateDir}`,
        'run',
        '--name',
        name,
        ...ULIMITS,
        img.image,
        'sh',
        '-c',
        SCRIPT,
      ]);
      expect(r.stdout).toContain('CapEff:\t0000000000002000');
      expect(r.stdout).toContain('PING-OK');
      const id = podman(['inspect', '--format', '{{.Id}}', name]).stdout.trim();
      expectPredicted(name, r.stdout);
      const bindings = JSON.parse(capctlRun(['bindings', '--json', '--state-dir', img.stateDir]).stdout) as {
        target: string;
        containerId?: string;
      }[];
      expect(bindings.find((b) => b.target === name)?.containerId).toBe(id);
    });

    it('no profile at all: the container runs as podman made it (its 11 defaults)', () => {
      const r = viaShim([]);
      expect(r.stdout).toContain('CapBnd:\t00000000800405fb');
      expect(r.stdout).toContain('PING-FAIL');
      podman(['rm', '-f', r.name]);
    });

    it("an invalid profile: podman run fails with capctl's reason, config.json is not touched", () => {
      const bad = join(dirname(img.rootfs), 'bad.yaml');
      writeFileSync(bad, 'name: bad\ncapabilities:\n  bounding: [NET_RAWW]\n', { mode: 0o644 });
      const r = viaShim(['--annotation', `io.capctl.profile=${bad}`]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(
        /capctl-oci-runtime: container capctl-i10-[^:]+: profile \/.*bad\.yaml: profile is not valid/,
      );
      expect(r.stderr).toContain('NET_RAWW');
      // podman's own config.json, whole and unchanged: its 11 defaults, no list capctl adds.
      const text = ociConfigOf(r.name);
      const cfg = JSON.parse(text) as { process: { capabilities: Record<string, string[]> } };
      expect(Object.keys(cfg.process.capabilities).sort()).toEqual(['bounding', 'effective', 'permitted']);
      expect(cfg.process.capabilities.bounding).toHaveLength(11);
      const bundle = podman(['inspect', '--format', '{{.OCIConfigPath}}', r.name]).stdout.trim();
      expect(readdirSync(dirname(bundle)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      podman(['rm', '-f', r.name]);
    });

    it('profile export --format podman flags given to plain podman (runc, no shim) give the same cap lines as the shim', () => {
      for (const profile of ['ping', 'docker-default', 'strict']) {
        const flags = capctlRun(['profile', 'export', '--format', 'podman', profile]);
        expect(flags.status).toBe(0);
        const viaFlags = podman([
          '--runtime',
          'runc',
          'run',
          '--rm',
          ...ULIMITS,
          ...flags.stdout.trim().split(/\s+/),
          img.image,
          'sh',
          '-c',
          SCRIPT,
        ]);
        const shimmed = viaShim(['--annotation', `io.capctl.profile=${profile}`]);
        podman(['rm', '-f', shimmed.name]);
        expect([profile, capLines(viaFlags.stdout)]).toEqual([profile, capLines(shimmed.stdout)]);
        expect(viaFlags.stdout.includes('PING-OK')).toBe(shimmed.stdout.includes('PING-OK'));
      }
    }, 120_000);
  },
);
