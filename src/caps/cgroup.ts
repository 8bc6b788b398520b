/**
 * Which container a process runs in, from the text of /proc/PID/cgroup. Engines name the
 * cgroup they create after the container: podman `libpod-ID.scope` (systemd driver) or
 * `/libpod_parent/libpod-ID` (cgroupfs), docker `docker-ID.scope` or `/docker/ID`, containerd's
 * CRI plugin `cri-containerd-ID.scope`, CRI-O `crio-ID.scope`. Pure (no /proc read) so that
 * `ps` and `audit follow` share it and tests feed it recorded text.
 */

export type ContainerEngine = 'podman' | 'docker' | 'containerd' | 'crio';

export interface ContainerRef {
  engine: ContainerEngine;
  /** The full 64-hex container id as the engine prints it with --no-trunc. */
  id: string;
}

// Order matters: `cri-containerd-` before a generic match, `libpod-conmon-` is excluded
// because conmon (the monitor) lives beside the container, not in it.
const PATTERNS: ReadonlyArray<[RegExp, ContainerEngine]> = [
  [/(?:^|\/)libpod-(?!conmon-)([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'podman'],
  [/(?:^|\/)cri-containerd-([0-9a-f]{64})\.scope(?:\/|$)/, 'containerd'],
  [/(?:^|\/)crio-(?!conmon-)([0-9a-f]{64})\.scope(?:\/|$)/, 'crio'],
  [/(?:^|\/)docker-([0-9a-f]{64})\.scope(?:\/|$)/, 'docker'],
  [/(?:^|\/)docker\/([0-9a-f]{64})(?:\/|$)/, 'docker'],
];

/**
 * The container a process belongs to, or undefined when no line of its cgroup file names one.
 * cgroup v2's single `0::PATH` line is tried first, then the v1 hierarchies in file order.
 */
export function containerIdFromCgroup(text: string): ContainerRef | undefined {
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    // hierarchy-ID:controller-list:cgroup-path; the path may itself contain ':'.
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') paths.unshift(m[3]!);
    else paths.push(m[3]!);
  }
  for (const p of paths) {
    for (const [re, engine] of PATTERNS) {
      const hit = re.exec(p);
      if (hit) return { engine, id: hit[1]! };
    }
  }
  return undefined;
}
