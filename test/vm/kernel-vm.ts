/**
 * Boot another Linux kernel under qemu, for what this machine's own kernel cannot show: the
 * kprobe fallback of learn and audit follow needs a kernel without the cap_capable tracepoint
 * (before 6.14) and with kprobe_events, which this one lacks. The guest is Debian's own kernel
 * package, unpacked by .ci/guest-kernel; its root is the host's, shared read-only over 9p, so
 * that node, the checkout and the programs under test are the very same files. No KVM here:
 * qemu emulates (TCG), which costs seconds per node start, not minutes.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { has } from '../live/helpers.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Where .ci/guest-kernel unpacks the kernel (outside the checkout: it is 10 MB, not ours). */
export const GUEST_KERNEL_DIR = process.env.CAPCTL_GUEST_KERNEL ?? '/var/cache/capctl/guest-kernel';

/**
 * The modules that mount a 9p root over virtio, in load order (Debian builds them as modules;
 * a kernel that builds one in lists it in modules.builtin).
 */
const MODULES = [
  'drivers/virtio/virtio_ring',
  'drivers/virtio/virtio',
  'drivers/virtio/virtio_pci_modern_dev',
  'drivers/virtio/virtio_pci_legacy_dev',
  'drivers/virtio/virtio_pci',
  'fs/netfs/netfs',
  'fs/fscache/fscache',
  'net/9p/9pnet',
  'net/9p/9pnet_virtio',
  'fs/9p/9p',
];

export interface GuestKernel {
  release: string;
  vmlinuz: string;
  /** Module directory: lib/modules/RELEASE. */
  modules: string;
}

/** The unpacked guest kernel, or why there is none (for the skipping test's name). */
export function findGuestKernel(dir = GUEST_KERNEL_DIR): GuestKernel | string {
  if (!has('qemu-system-x86_64')) return 'no qemu-system-x86_64 (apt install qemu-system-x86)';
  if (process.arch !== 'x64') return `the guest kernel is x86-64's, this is ${process.arch}`;
  if (!existsSync('/bin/busybox')) return 'no /bin/busybox for the initramfs (apt install busybox-static)';
  const boot = join(dir, 'boot');
  const vmlinuz = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith('vmlinuz-')) : undefined;
  if (vmlinuz === undefined) return `no guest kernel in ${dir} (bash .ci/guest-kernel unpacks Debian's)`;
  const release = vmlinuz.slice('vmlinuz-'.length);
  return { release, vmlinuz: join(boot, vmlinuz), modules: join(dir, 'lib', 'modules', release) };
}

/**
 * An initramfs (newc cpio, made by busybox) holding static busybox, the 9p modules and
 * test/vm/init.sh as /init.
 */
export function buildInitramfs(k: GuestKernel, work: string): string {
  const tree = join(work, 'initramfs');
  mkdirSync(join(tree, 'bin'), { recursive: true });
  mkdirSync(join(tree, 'modules'));
  copyFileSync('/bin/busybox', join(tree, 'bin', 'busybox'));
  copyFileSync(join(HERE, 'init.sh'), join(tree, 'init'));
  chmodSync(join(tree, 'init'), 0o755);
  const builtin = readFileSync(join(k.modules, 'modules.builtin'), 'utf8');
  const order: string[] = [];
  for (const m of MODULES) {
    const file = join(k.modules, 'kernel', `${m}.ko`);
    if (existsSync(file)) {
      const name = m.slice(m.lastIndexOf('/') + 1);
      copyFileSync(file, join(tree, 'modules', `${name}.ko`));
      order.push(name);
    } else if (!builtin.includes(`kernel/${m}.ko`)) {
      throw new Error(`guest kernel ${k.release}: neither ${file} nor built in (compressed modules are not unpacked)`);
    }
  }
  writeFileSync(join(tree, 'modules', 'order'), `${order.join('\n')}\n`);
  const image = join(work, 'initramfs.cpio');
  const r = spawnSync('sh', ['-c', 'find . | /bin/busybox cpio -o -H newc > "$1"', 'mkinitramfs', image], {
    cwd: tree,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`making the initramfs failed: ${r.stderr}`);
  return image;
}

export interface GuestRun {
  /** The guest script's exit status, or null when it never finished (see console). */
  status: number | null;
  console: string;
  /** Wall time of the whole boot, in ms. */
  ms: number;
}

/**
 * Boot `k` with the host's root read-only and `out` writable (at /run/out in the guest), run
 * `script` (a path on the host, the same in the guest) there, and power off. Two emulated
 * CPUs, so that the kernel's per-CPU buffers and the reader's merge are exercised as here.
 */
export function runGuest(k: GuestKernel, script: string, out: string, work: string, timeoutMs: number): GuestRun {
  const initramfs = buildInitramfs(k, work);
  const t0 = Date.now();
  const r = spawnSync(
    'qemu-system-x86_64',
    [
      ...['-machine', 'q35', '-cpu', 'max', '-smp', '2', '-m', '2048', '-accel', 'tcg,thread=multi'],
      ...['-kernel', k.vmlinuz, '-initrd', initramfs],
      ...['-append', `console=ttyS0 quiet panic=-1 capctl.script=${script}`],
      ...['-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio'],
      ...['-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap'],
      ...['-virtfs', `local,path=${out},mount_tag=out,security_model=none`],
    ],
    { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' },
  );
  const statusFile = join(out, 'status');
  const status = existsSync(statusFile) ? Number(readFileSync(statusFile, 'utf8').trim()) : null;
  return { status, console: `${r.stdout ?? ''}${r.stderr ?? ''}`, ms: Date.now() - t0 };
}
