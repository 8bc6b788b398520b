/**
 * A real podman (as root, with runc) for the container tests: one busybox image per test file,
 * built with `podman import` from a rootfs made here (no registry is reachable), and helpers to
 * run a container through capctl-oci-runtime or plain runc. Every name starts with capctl-i10-.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/policy/paths.js';

export const root = packageRoot();
export const capctl = join(root, 'bin', 'capctl.js');
export const shim = join(root, 'bin', 'capctl-oci-runtime');

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

export const isRoot = process.getuid?.() === 0;

/** A soft=hard limit pair podman can set: at most the current hard limit (see spec/live.md §3). */
function limit(name: string, want: number): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name));
  const hard = line?.trim().split(/\s{2,}/)[2];
  return hard === undefined || hard === 'unlimited' ? want : Math.min(want, Number(hard));
}
export const ULIMITS = [
  '--ulimit',
  `nofile=${limit('Max open files', 1024)}:${limit('Max open files', 1024)}`,
  '--ulimit',
  `nproc=${limit('Max processes', 1024)}:${limit('Max processes', 1024)}`,
];

export function podman(args: string[], input?: string) {
  return spawnSync('podman', args, { encoding: 'utf8', input, timeout: 60_000 });
}

export interface TestImage {
  image: string;
  rootfs: string;
  prefix: string;
  stateDir: string;
  remove(): void;
}

/**
 * DIR/rootfs: busybox-static's /bin/busybox with the applets the tests use, a passwd and group
 * naming root and nobody; and DIR/rootfs.tar of it, for an engine's `import`.
 */
export function buildRootfsTar(dir: string): { rootfs: string; tar: string } {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'));
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const a of ['sh', 'cat', 'grep', 'ping', 'id', 'true']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  const tar = join(dir, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  return { rootfs, tar };
}

/** busybox-static's /bin/busybox with the applets the tests use, imported as an image. */
export function buildImage(): TestImage {
  const prefix = `capctl-i10-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const { rootfs, tar } = buildRootfsTar(dir);
  const image = `localhost/${prefix}:1`;
  const r = podman(['import', '-q', tar, image]);
  if (r.status !== 0) throw new Error(`podman import failed: ${r.stderr}`);
  const stateDir = join(dir, 'state');
  return {
    image,
    rootfs,
    prefix,
    stateDir,
    remove() {
      const ids = podman(['ps', '-a', '-q', '--filter', `name=^${prefix}`])
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
      if (ids.length) podman(['rm', '-f', ...ids]);
      podman(['rmi', '-f', image]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Why podman cannot start a container here at all (undefined: it can). */
export function podmanUnusable(): string | undefined {
  if (!isRoot) return 'not root';
  for (const t of ['podman', 'runc', 'tar']) if (!has(t)) return `${t} is not installed`;
  if (!existsSync('/bin/busybox')) return 'busybox-static is not installed';
  return undefined;
}

/** The config.json of a container podman created (kept until `podman rm`). */
export function ociConfigOf(name: string): string {
  const r = podman(['inspect', '--format', '{{.OCIConfigPath}}', name]);
  if (r.status !== 0) throw new Error(`podman inspect ${name}: ${r.stderr}`);
  return readFileSync(r.stdout.trim(), 'utf8');
}

/** The five Cap lines of a `grep Cap /proc/self/status` output. */
export function capLines(out: string): string {
  return `${out
    .split('\n')
    .filter((l) => /^Cap(Inh|Prm|Eff|Bnd|Amb):/.test(l))
    .join('\n')}\n`;
}

export function capctlRun(args: string[]) {
  return spawnSync(process.execPath, [capctl, ...args], { encoding: 'utf8', cwd: root });
}

/**
 * `capctl oci check` on a copy of a container's bundle: its config.json as the runtime got it,
 * with root.path pointing at the rootfs the image was built from (the same files), so the
 * entrypoint is looked up for real.
 */
export function checkCopy(configText: string, rootfs: string) {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-i10-bundle-'));
  const cfg = JSON.parse(configText) as { root?: { path?: string } };
  cfg.root = { ...(cfg.root ?? {}), path: rootfs };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  const r = capctlRun(['oci', 'check', dir, '--json']);
  rmSync(dir, { recursive: true, force: true });
  return { status: r.status, stderr: r.stderr, json: JSON.parse(r.stdout) as CheckJson };
}

export interface CheckJson {
  starts: boolean;
  status: Record<'CapInh' | 'CapPrm' | 'CapEff' | 'CapBnd' | 'CapAmb', string> | null;
  warnings: string[];
}

export function statusText(s: CheckJson['status']): string {
  if (!s) return '';
  return `${(['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'] as const).map((k) => `${k}:\t${s[k]}`).join('\n')}\n`;
}
