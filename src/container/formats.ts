/**
 * What every container format shares: which parts of a profile a format can carry, the engines'
 * default capability lists (data), Docker's cap-add/cap-drop rules, and the profile document an
 * import produces. Each format module (engine-flags, compose, k8s, systemd, oci-format) is a
 * pair of pure functions, export and import, over these.
 */
import { CapSet } from '../caps/capset.js';
import { capByName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import type { CapSetName, ProfileDoc } from '../policy/types.js';
import type { ContainerProfile } from './profile.js';

export type Format = 'oci' | 'podman' | 'docker' | 'compose' | 'k8s' | 'systemd';
export const FORMATS: readonly Format[] = ['oci', 'podman', 'docker', 'compose', 'k8s', 'systemd'];

export interface Exported {
  text: string;
  /** What the format cannot express: the export is not the profile (exit 1 unless --lossy). */
  lossy: string[];
  /** Things worth knowing that do not change what the export grants. */
  notes: string[];
}

/**
 * Docker's defaults (moby oci/caps/defaults.go): 14 caps, 0xa80425fb. containerd's CRI plugin
 * uses the same list.
 */
export const DOCKER_DEFAULT_CAPS = CapSet.fromNames([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);
/** podman's containers.conf default_capabilities: Docker's minus NET_RAW, MKNOD, AUDIT_WRITE (0x800405fb). */
export const PODMAN_DEFAULT_CAPS = DOCKER_DEFAULT_CAPS.remove(
  capByName('CAP_NET_RAW')!,
  capByName('CAP_MKNOD')!,
  capByName('CAP_AUDIT_WRITE')!,
);

/** A capability name as engines accept it: NET_RAW, CAP_NET_RAW, net_raw; ALL is special. */
export function engineCap(name: string, where: string): number | 'ALL' {
  const n = name.trim().toUpperCase();
  if (n === 'ALL') return 'ALL';
  const c = capByName(n.startsWith('CAP_') ? n : `CAP_${n}`);
  if (c === undefined) throw inputError('bad-capability', `${where}: unknown capability "${name}"`);
  return c;
}

/**
 * moby's TweakCapabilities (oci/caps/utils.go): privileged -> all; ALL in add -> all minus the
 * drops (add ALL beats drop ALL); ALL in drop -> only the adds; otherwise defaults minus drops
 * plus adds.
 */
export function tweakCaps(
  defaults: CapSet,
  add: readonly (number | 'ALL')[],
  drop: readonly (number | 'ALL')[],
  privileged = false,
): CapSet {
  const set = (l: readonly (number | 'ALL')[]) => CapSet.of(...l.filter((c): c is number => c !== 'ALL'));
  if (privileged) return CapSet.FULL;
  if (add.includes('ALL')) return CapSet.FULL.minus(set(drop));
  if (drop.includes('ALL')) return set(add);
  return defaults.minus(set(drop)).union(set(add));
}

/** Short names as engines and Kubernetes print them (NET_RAW). */
export function shortNames(s: CapSet): string[] {
  return s.toNames().map((n) => n.replace(/^CAP_/, ''));
}

/**
 * The parts of a profile no container format carries: rules with a uid or system call condition
 * on capabilities, and unconditional capability denials of caps the sets grant (the capctl
 * runtime would refuse them; a container engine cannot). FreeBSD privilege rules are a note:
 * they matter only in a jail, where `capctl oci apply` turns them into jail parameters.
 */
export function ruleLoss(cp: ContainerProfile): { lossy: string[]; notes: string[] } {
  const lossy: string[] = [];
  const notes: string[] = [];
  const granted = cp.sets.bounding.union(cp.sets.permitted);
  let privRules = 0;
  for (const r of cp.rules) {
    const caps = r.objects.filter((o) => o.startsWith('CAP_'));
    if (caps.length === 0) {
      privRules++;
      continue;
    }
    if (r.conditional) {
      lossy.push(`rule at ${r.source} (${r.effect} ${caps.join(', ')}) has a uid or system call condition`);
    } else if (r.effect === 'deny') {
      const hit = caps.filter((c) => (c === 'CAP_*' ? !granted.isEmpty() : granted.has(capByName(c) ?? -1)));
      if (hit.length) lossy.push(`rule at ${r.source} denies ${hit.join(', ')}, which the sets grant`);
    }
  }
  if (privRules) notes.push(`${privRules} FreeBSD privilege rule(s) apply only in a jail (not exported)`);
  return { lossy, notes };
}

/** Lossiness shared by the engine formats, which give bounding = permitted = effective. */
export function uniformSetsLoss(cp: ContainerProfile, what: string): string[] {
  const s = cp.sets;
  const out: string[] = [];
  if (!s.permitted.equals(s.bounding) || !s.effective.equals(s.bounding)) {
    out.push(`${what} gives a root process bounding = permitted = effective; the profile's sets differ`);
  }
  return out;
}

/** The profile document an import produces (it is validated by the loader like any other). */
export function importedDoc(
  name: string,
  description: string,
  sets: Partial<Record<CapSetName, CapSet>>,
  noNewPrivs: boolean,
): ProfileDoc {
  const capabilities: Record<string, string[]> = {};
  for (const k of ['bounding', 'permitted', 'effective', 'inheritable', 'ambient'] as const) {
    capabilities[k] = shortNames(sets[k] ?? CapSet.EMPTY);
  }
  const doc: ProfileDoc = { name, description, target: 'container', capabilities };
  if (noNewPrivs) doc.noNewPrivs = true;
  return doc;
}

/** A profile name from free text (a file or service name): the schema's name pattern. */
export function profileNameFrom(text: string): string {
  const n = text
    .toLowerCase()
    .replace(/\.[a-z]+$/, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
  return n || 'imported';
}
