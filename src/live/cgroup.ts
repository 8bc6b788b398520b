/**
 * Which container a process belongs to, from its /proc/PID/cgroup text. Engines name the
 * container's cgroup after its id:
 *   podman    .../libpod-ID.scope (systemd driver)   .../libpod_parent/libpod-ID (cgroupfs)
 *   docker    .../docker-ID.scope                    /docker/ID
 *   containerd (CRI)  .../cri-containerd-ID.scope    CRI-O  .../crio-ID.scope
 * ID is 64 hex digits. Pure text parsing: no /proc access here.
 */
export interface ContainerRef {
  engine: 'podman' | 'docker' | 'containerd' | 'cri-o';
  id: string;
}

const SCOPED = /(?:^|\/)(libpod|docker|cri-containerd|crio)-([0-9a-f]{64})(?:\.scope)?(?:\/|$)/;
const DOCKER_FS = /(?:^|\/)docker\/([0-9a-f]{64})(?:\/|$)/;

const ENGINE = { libpod: 'podman', docker: 'docker', 'cri-containerd': 'containerd', crio: 'cri-o' } as const;

/** The container of a /proc/PID/cgroup text (any line, v1 or v2), or undefined for none. */
export function containerFromCgroup(text: string): ContainerRef | undefined {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    const m = SCOPED.exec(path);
    if (m) return { engine: ENGINE[m[1] as keyof typeof ENGINE], id: m[2]! };
    const d = DOCKER_FS.exec(path);
    if (d) return { engine: 'docker', id: d[1]! };
  }
  return undefined;
}
