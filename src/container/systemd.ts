/**
 * systemd service units: CapabilityBoundingSet=, AmbientCapabilities=, NoNewPrivileges=.
 * A service that runs as root ends up with permitted = effective = the bounding set; the ambient
 * caps (which systemd also puts into inheritable) are what a User= service keeps across exec.
 * So a profile is expressible when permitted = effective = bounding and inheritable = ambient.
 * Securebits are not part of a profile; SecureBits= is left to the unit.
 */
import { CapSet } from '../caps/capset.js';
import type { ProfileDoc } from '../policy/types.js';
import { type Exported, engineCap, importedDoc, profileNameFrom, ruleLoss, uniformSetsLoss } from './formats.js';
import type { ContainerProfile } from './profile.js';

export function exportSystemd(cp: ContainerProfile): Exported {
  const { lossy, notes } = ruleLoss(cp);
  lossy.push(...uniformSetsLoss(cp, 'a root service'));
  if (!cp.sets.inheritable.equals(cp.sets.ambient)) {
    lossy.push('systemd sets inheritable to the ambient caps; the profile has a different inheritable set');
  }
  const lines = [
    `# capctl profile ${cp.name}`,
    '[Service]',
    `CapabilityBoundingSet=${cp.sets.bounding.toNames().join(' ')}`,
  ];
  if (!cp.sets.ambient.isEmpty()) lines.push(`AmbientCapabilities=${cp.sets.ambient.toNames().join(' ')}`);
  lines.push(`NoNewPrivileges=${cp.noNewPrivs ? 'yes' : 'no'}`);
  return { text: `${lines.join('\n')}\n`, lossy, notes };
}

/**
 * systemd's rules for a capability list setting: assignments accumulate (OR); an empty one
 * resets; a leading `~` inverts the list ("all but these").
 */
function capSetting(values: readonly string[], where: string): CapSet | undefined {
  let set: CapSet | undefined;
  for (const v of values) {
    const t = v.trim();
    if (t === '') {
      set = CapSet.EMPTY;
      continue;
    }
    const invert = t.startsWith('~');
    let s = CapSet.EMPTY;
    for (const n of t.replace(/^~/, '').split(/\s+/).filter(Boolean)) {
      const c = engineCap(n, where);
      s = c === 'ALL' ? CapSet.FULL : s.add(c);
    }
    // An inverted list replaces what came before (systemd's parser does the same).
    set = invert ? CapSet.FULL.minus(s) : (set ?? CapSet.EMPTY).union(s);
  }
  return set;
}

export function importSystemd(text: string, fileName = 'imported'): ProfileDoc {
  const settings = new Map<string, string[]>();
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const k = line.slice(0, eq).trim();
    settings.set(k, [...(settings.get(k) ?? []), line.slice(eq + 1)]);
  }
  const bounding = capSetting(settings.get('CapabilityBoundingSet') ?? [], 'CapabilityBoundingSet') ?? CapSet.FULL;
  const ambient = (
    capSetting(settings.get('AmbientCapabilities') ?? [], 'AmbientCapabilities') ?? CapSet.EMPTY
  ).intersect(bounding);
  const nnp = (settings.get('NoNewPrivileges') ?? []).at(-1)?.trim().toLowerCase();
  return importedDoc(
    profileNameFrom(fileName),
    'imported from a systemd unit (a root service: permitted = effective = bounding)',
    { bounding, permitted: bounding, effective: bounding, inheritable: ambient, ambient },
    nnp !== undefined && ['yes', 'true', '1', 'on'].includes(nnp),
  );
}
