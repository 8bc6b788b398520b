/**
 * What capctl-oci-runtime does on `create` and `run`: find the container's profile, write it
 * into the bundle's config.json exactly as `capctl oci apply` does, and append a `verdict: "attached"`
 * record to the audit log (`--capctl-audit LOG`, default STATE/audit.log; audit/attach-record.ts).
 *
 * This is the reference implementation: the native fast path (native/oci-fast.c) does the
 * annotation case with a stored compiled profile without starting Node and hands every other
 * case here.
 *
 * Which profile: the annotation io.capctl.profile (a stock name or an absolute path); else a
 * container binding (`capctl attach --container X`) whose target is the container id or one of
 * the names the engine records (NAME_ANNOTATIONS, podmanNames). No profile: the container runs
 * unchanged. Fail closed: a profile that cannot be read, validated or applied, or whose files
 * changed since it was attached, makes `create` fail with one line on stderr, which the engine
 * shows its user; config.json is then untouched.
 *
 * No YAML parser, ajv, casbin or pino on this path: profiles are used in their compiled form
 * (profile-store.ts; the full loader runs only when that is missing or stale) and the audit line
 * is one O_APPEND write.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { appendAttachRecord, defaultAuditLog } from '../audit/attach-record.js';
import { CapctlError } from '../caps/errors.js';
import { PROFILE_ANNOTATION } from '../container/oci.js';
import { type Binding, noteContainerStart, readBindings, resolveStateDir } from '../policy/bindings.js';
import { applyProfileToBundle, readBundle } from './bundle.js';
import type { ShimArgs } from './oci-shim.js';
import { containerProfileFor, profileRefToFile } from './profile-store.js';

/**
 * Annotations through which engines pass a container's name into the bundle (see
 * docs/containers.md): containerd's CRI plugin, CRI-O, and nerdctl. podman 4 and docker set
 * none; podman's name is read from containers-storage instead (podmanName below).
 */
export const NAME_ANNOTATIONS: readonly string[] = [
  'io.kubernetes.cri.container-name',
  'io.kubernetes.cri-o.ContainerName',
  'io.kubernetes.container.name',
  'nerdctl/name',
];

/**
 * podman keeps its containers in containers-storage: the bundle is
 * <storage>/overlay-containers/<id>/userdata and <storage>/overlay-containers/containers.json
 * lists each container's names. This is the only place podman 4 records the name before start.
 */
export function podmanNames(bundle: string, id: string): string[] {
  if (basename(bundle) !== 'userdata' || basename(dirname(bundle)) !== id) return [];
  try {
    const list = JSON.parse(readFileSync(join(dirname(dirname(bundle)), 'containers.json'), 'utf8')) as {
      id?: string;
      names?: string[];
    }[];
    return list.find((c) => c.id === id)?.names?.filter((n) => typeof n === 'string') ?? [];
  } catch {
    return [];
  }
}

export interface FoundProfile {
  ref: string;
  file: string;
  via: 'annotation' | 'binding';
  binding?: Binding;
  containerName?: string;
}

/** The profile for a container being created, or undefined when it has none. */
export function findContainerProfile(
  stateDir: string,
  id: string,
  bundle: string,
  annotations: Readonly<Record<string, unknown>>,
): FoundProfile | undefined {
  const names = [
    ...NAME_ANNOTATIONS.map((a) => annotations[a]).filter((v): v is string => typeof v === 'string' && v !== ''),
    ...podmanNames(bundle, id),
  ];
  const ann = annotations[PROFILE_ANNOTATION];
  if (ann !== undefined) {
    if (typeof ann !== 'string' || ann === '') {
      throw new CapctlError('bad-profile-ref', `annotation ${PROFILE_ANNOTATION} is empty`);
    }
    return { ref: ann, file: profileRefToFile(ann, stateDir), via: 'annotation', containerName: names[0] };
  }
  const bindings = readBindings(stateDir).filter((b) => b.kind === 'container');
  const byId = bindings.find((b) => b.target === id);
  const b = byId ?? bindings.find((x) => names.includes(x.target));
  if (!b) return undefined;
  return { ref: b.profile, file: b.profile, via: 'binding', binding: b, containerName: byId ? names[0] : b.target };
}

/** Apply the profile for a create/run; throws (fail closed) on any problem. */
export async function attachOnCreate(args: ShimArgs, env: NodeJS.ProcessEnv): Promise<void> {
  const id = args.containerId;
  if (!id) throw new CapctlError('usage', `${args.command}: no container id on the command line`);
  const bundle = resolve(args.bundle ?? '.');
  const b = readBundle(bundle);
  const ann = (typeof b.config.annotations === 'object' && b.config.annotations) || {};
  const stateDir = resolveStateDir({ stateDir: args.stateDir, env });
  const found = findContainerProfile(stateDir, id, b.dir, ann as Record<string, unknown>);
  if (!found) return;
  const where = `container ${found.containerName ?? id}: profile ${found.ref}`;
  let stored: Awaited<ReturnType<typeof containerProfileFor>>;
  try {
    stored = await containerProfileFor(stateDir, found.file);
  } catch (err) {
    // One line: the engine prints the runtime's stderr as its error.
    const msg = (err as Error).message.split('\n');
    throw new CapctlError(
      'invalid-profile',
      `${where}: ${msg[0]}${msg.length > 1 ? ` ${msg.slice(1).join('; ')}` : ''}`,
    );
  }
  if (found.binding && found.binding.sha256 !== stored.sha256) {
    throw new CapctlError(
      'binding-changed',
      `${where}: the profile's files changed since \`capctl attach\` (sha256 ${stored.sha256.slice(0, 12)}, attached ${found.binding.sha256.slice(0, 12)}); run capctl attach again`,
    );
  }
  applyProfileToBundle(b.dir, stored.profile);
  appendAttachRecord(args.auditLog ? resolve(args.auditLog) : defaultAuditLog(stateDir), {
    time: new Date().toISOString(),
    verdict: 'attached',
    profile: stored.profile.name,
    profileFile: stored.profile.file,
    sha256: stored.sha256,
    containerId: id,
    ...(found.containerName ? { containerName: found.containerName } : {}),
    via: found.via,
    bundle: b.dir,
  });
  if (found.binding) await noteContainerStart(stateDir, found.binding.target, id);
}
