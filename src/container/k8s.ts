/**
 * Kubernetes: a container's `securityContext` (capabilities.drop/add with names without CAP_,
 * allowPrivilegeEscalation). containerd and CRI-O start from their default list (docker's 14
 * for containerd) and apply drop/add like docker; `allowPrivilegeEscalation: false` is
 * no_new_privs.
 *
 * The trap for a non-root user (runAsUser != 0): containerd, CRI-O and docker give it no
 * ambient caps (kubernetes#56374), so `add:` alone yields an empty effective set after exec.
 * What works instead: for NET_BIND_SERVICE the namespaced sysctl
 * net.ipv4.ip_unprivileged_port_start; running as root with drop ALL plus the adds; or podman,
 * which raises ambient for added caps. The export says so in comments.
 */
import type * as Yaml from 'yaml';
import { inputError } from '../caps/errors.js';
import type { ProfileDoc } from '../policy/types.js';
import { lazyRequire } from '../util/lazy.js';
import {
  DOCKER_DEFAULT_CAPS,
  type Exported,
  engineCap,
  importedDoc,
  profileNameFrom,
  ruleLoss,
  shortNames,
  tweakCaps,
  uniformSetsLoss,
} from './formats.js';
import type { ContainerProfile } from './profile.js';

const yaml = lazyRequire<typeof Yaml>('yaml');

const TRAP = [
  '# Non-root user (runAsUser != 0): containerd, CRI-O and docker give it no ambient caps',
  '# (kubernetes#56374), so capabilities.add alone leaves its effective set empty after exec.',
  '# What works: for NET_BIND_SERVICE the namespaced sysctl net.ipv4.ip_unprivileged_port_start',
  '# (pod securityContext.sysctls); running as root with drop ALL and these adds; or podman,',
  '# which raises ambient for added caps.',
];

export function exportK8s(cp: ContainerProfile): Exported {
  const { lossy, notes } = ruleLoss(cp);
  lossy.push(...uniformSetsLoss(cp, 'a Kubernetes container'));
  if (!cp.sets.inheritable.isEmpty()) lossy.push('Kubernetes cannot set the inheritable set');
  if (!cp.sets.ambient.isEmpty()) lossy.push('Kubernetes cannot set the ambient set (see the non-root trap)');
  const caps: Record<string, string[]> = { drop: ['ALL'] };
  if (!cp.sets.bounding.isEmpty()) caps.add = shortNames(cp.sets.bounding);
  const sc = { securityContext: { allowPrivilegeEscalation: !cp.noNewPrivs, capabilities: caps } };
  const text = [`# capctl profile ${cp.name}`, ...(cp.sets.bounding.isEmpty() ? [] : TRAP), yaml().stringify(sc)].join(
    '\n',
  );
  return { text, lossy, notes };
}

interface SecurityContext {
  allowPrivilegeEscalation?: unknown;
  privileged?: unknown;
  capabilities?: { add?: unknown; drop?: unknown };
}

/** The first securityContext with capabilities (or any) found in a manifest or a bare snippet. */
function findSecurityContext(v: unknown, depth = 0): SecurityContext | undefined {
  if (depth > 12 || typeof v !== 'object' || v === null) return undefined;
  if (Array.isArray(v)) {
    for (const x of v) {
      const f = findSecurityContext(x, depth + 1);
      if (f) return f;
    }
    return undefined;
  }
  const o = v as Record<string, unknown>;
  const sc = o.securityContext as SecurityContext | undefined;
  if (sc && typeof sc === 'object' && (sc.capabilities !== undefined || sc.allowPrivilegeEscalation !== undefined)) {
    return sc;
  }
  // Containers before the pod's own securityContext (capabilities are per container).
  for (const k of ['spec', 'template', 'containers', 'initContainers']) {
    const f = findSecurityContext(o[k], depth + 1);
    if (f) return f;
  }
  return undefined;
}

function names(v: unknown, where: string): (number | 'ALL')[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw inputError('bad-k8s', `${where} is not a list`);
  return (v as string[]).map((n) => engineCap(n, where));
}

export function importK8s(text: string, fileName = 'imported'): ProfileDoc {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    throw inputError('bad-k8s', `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const sc = findSecurityContext(doc);
  if (!sc) throw inputError('bad-k8s', 'no securityContext with capabilities or allowPrivilegeEscalation');
  const set = tweakCaps(
    DOCKER_DEFAULT_CAPS,
    names(sc.capabilities?.add, 'capabilities.add'),
    names(sc.capabilities?.drop, 'capabilities.drop'),
    sc.privileged === true,
  );
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return importedDoc(
    profileNameFrom(typeof name === 'string' ? name : fileName),
    "imported from a Kubernetes securityContext (containerd's defaults, docker's rules)",
    { bounding: set, permitted: set, effective: set },
    sc.allowPrivilegeEscalation === false,
  );
}
