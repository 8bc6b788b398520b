/** One entry point per direction over every container format (the CLI's profile export/import). */
import { inputError } from '../caps/errors.js';
import type { ProfileDoc } from '../policy/types.js';
import { exportCompose, importCompose } from './compose.js';
import { type Engine, exportEngineFlags, importEngineFlags } from './engine-flags.js';
import { type Exported, FORMATS, type Format } from './formats.js';
import { exportK8s, importK8s } from './k8s.js';
import { exportOci, importOci } from './oci-format.js';
import type { ContainerProfile } from './profile.js';
import { exportSystemd, importSystemd } from './systemd.js';

export function checkFormat(f: string, what = '--format'): Format {
  if ((FORMATS as readonly string[]).includes(f)) return f as Format;
  throw inputError('usage', `${what} must be one of ${FORMATS.join(', ')}, not ${f}`);
}

export function exportProfile(cp: ContainerProfile, format: Format): Exported {
  switch (format) {
    case 'oci':
      return exportOci(cp);
    case 'podman':
    case 'docker':
      return exportEngineFlags(cp, format);
    case 'compose':
      return exportCompose(cp);
    case 'k8s':
      return exportK8s(cp);
    case 'systemd':
      return exportSystemd(cp);
  }
}

export interface ImportOptions {
  /** The source file's name (a profile name is made from it when the input names none). */
  fileName?: string;
  /** compose: which service (default the first); which engine's defaults (default docker). */
  service?: string;
  engine?: Engine;
}

export function importProfile(
  text: string,
  format: Format,
  opts: ImportOptions = {},
): { doc: ProfileDoc; notes: string[] } {
  const name = opts.fileName ?? 'imported';
  switch (format) {
    case 'oci':
      return importOci(text, name);
    case 'podman':
    case 'docker':
      return { doc: importEngineFlags(text, format, name), notes: [] };
    case 'compose':
      return { doc: importCompose(text, { service: opts.service, engine: opts.engine }), notes: [] };
    case 'k8s':
      return { doc: importK8s(text, name), notes: [] };
    case 'systemd':
      return { doc: importSystemd(text, name), notes: [] };
  }
}
