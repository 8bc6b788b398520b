/**
 * The OCI format as an export: the config.json members `capctl oci apply` writes (all five sets
 * and noNewPrivileges), as a JSON fragment to merge into a bundle. Import reads a config.json:
 * the lists as a profile's sets, minus what the runtime itself would drop (ambient caps not in
 * both permitted and inheritable: runc ignores the refused raise). A config whose effective set
 * is not within permitted cannot start (capset fails), so it is refused.
 */
import { inputError } from '../caps/errors.js';
import type { ProfileDoc } from '../policy/types.js';
import { type Exported, importedDoc, profileNameFrom, ruleLoss } from './formats.js';
import { ociCapLists, parseOciConfig } from './oci.js';
import { ociProcess } from './oci-predict.js';
import type { ContainerProfile } from './profile.js';

export function exportOci(cp: ContainerProfile): Exported {
  const { lossy, notes } = ruleLoss(cp);
  const process: Record<string, unknown> = { capabilities: ociCapLists(cp.sets) };
  if (cp.noNewPrivs) process.noNewPrivileges = true;
  return { text: `${JSON.stringify({ process }, null, 2)}\n`, lossy, notes };
}

export function importOci(text: string, fileName = 'imported'): { doc: ProfileDoc; notes: string[] } {
  const proc = ociProcess(parseOciConfig(text));
  const s = proc.spec;
  const notEP = s.effective.minus(s.permitted);
  if (!notEP.isEmpty()) {
    throw inputError(
      'bad-bundle',
      `effective has ${notEP.toNames().join(', ')}, not in permitted: the runtime's capset fails and the container cannot start`,
    );
  }
  const doc = importedDoc(
    profileNameFrom(fileName === 'config.json' ? 'imported' : fileName),
    'imported from an OCI config.json (process.capabilities, noNewPrivileges)',
    {
      bounding: s.bounding,
      permitted: s.permitted,
      effective: s.effective,
      inheritable: s.inheritable,
      ambient: s.ambient,
    },
    s.noNewPrivs === true,
  );
  return { doc, notes: proc.warnings };
}
