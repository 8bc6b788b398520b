/** capctl profile export|import: a profile in and out of the container formats (src/container). */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type * as Yaml from 'yaml';
import { CapctlError, inputError } from '../caps/errors.js';
import { containerProfile } from '../container/compile.js';
import { checkFormat, exportProfile, importProfile } from '../container/convert.js';
import type { Format } from '../container/formats.js';
import type { ContainerProfile } from '../container/profile.js';
import { resolveProfile } from '../policy/index.js';
import { lazyRequire } from '../util/lazy.js';
import { printJson } from './output.js';

const yaml = lazyRequire<typeof Yaml>('yaml');

/** An export as `profile export --json` prints it: `text` is null when the export is refused. */
export interface ExportReport {
  profile: string;
  format: Format;
  text: string | null;
  lossy: string[];
  notes: string[];
}

/** Export `cp` in `format` (profile export, learn --format): lossy unless `lossy` means refused. */
export function exportReport(cp: ContainerProfile, format: Format, lossy = false): ExportReport {
  const r = exportProfile(cp, format);
  const refused = r.lossy.length > 0 && !lossy;
  return { profile: cp.name, format, ...r, text: refused ? null : r.text };
}

/**
 * The rest of an export after any JSON is printed: notes and what the format cannot express on
 * stderr and the text on stdout (both only without --json), then, failing closed, exit 1 when
 * the export was refused: a partial export is printed only when asked for (--lossy).
 */
export function finishExport(r: ExportReport, json = false): void {
  if (!json) {
    for (const n of r.notes) process.stderr.write(`capctl: note: ${n}\n`);
    for (const l of r.lossy) process.stderr.write(`capctl: ${r.format} cannot express: ${l}\n`);
    if (r.text !== null) process.stdout.write(r.text);
  }
  if (r.text === null) {
    throw new CapctlError(
      'lossy-export',
      `${r.format} cannot express all of profile ${r.profile} (${r.lossy.length} item${r.lossy.length === 1 ? '' : 's'}; --lossy to accept)`,
      'denied',
    );
  }
}

export function registerFormats(profile: Command): void {
  profile
    .command('export')
    .description(
      'a profile as oci (config.json fragment), podman/docker run flags, a compose service, a Kubernetes securityContext or systemd unit settings',
    )
    .argument('<PROFILE>', 'profile file or name')
    .requiredOption('--format <F>', 'oci, podman, docker, compose, k8s or systemd')
    .option('--lossy', 'print the export even when the format cannot express the whole profile (exit 0)')
    .option('--json', 'print {text, lossy, notes} as JSON')
    .addHelpText(
      'after',
      `
What a format cannot express (rules with uid or system call conditions, sets the engine cannot
set, e.g. inheritable in docker) is listed on stderr and the exit status is 1, unless --lossy.

Examples:
  capctl profile export --format podman docker-default
  capctl profile export --format k8s k8s-restricted
  capctl profile export --format systemd ping
  capctl profile export --format docker nginx --lossy
  capctl profile export --format docker nginx  # exit 1: nginx's uid rule`,
    )
    .action((arg: string, opts: { format: string; lossy?: boolean; json?: boolean }) => {
      const format = checkFormat(opts.format);
      const r = exportReport(containerProfile(resolveProfile(arg)), format, opts.lossy);
      if (opts.json) printJson(r);
      finishExport(r, opts.json);
    });

  profile
    .command('import')
    .description(
      'a profile from an OCI config.json, podman/docker run flags, a compose file, a Kubernetes manifest or a systemd unit',
    )
    .argument('<FILE>', 'the file to read (- for stdin)')
    .requiredOption('--from <F>', 'oci, podman, docker, compose, k8s or systemd')
    .option('--name <NAME>', 'the profile name (default: from the file)')
    .option('--service <NAME>', 'compose: the service (default the first)')
    .option('--engine <E>', 'compose: whose defaults apply, docker (default) or podman')
    .option('--json', 'print the profile document as JSON')
    .addHelpText(
      'after',
      `
Each engine's defaults and rules are applied as that engine applies them (docker 14 caps,
podman 11; --privileged; add ALL beats drop ALL). The result is a profile document (YAML) that
capctl profile validate accepts.

Examples:
  echo 'podman run --cap-drop=ALL --cap-add=NET_RAW img' > run.txt
  capctl profile import --from podman run.txt --name ping2`,
    )
    .action(
      (file: string, opts: { from: string; name?: string; service?: string; engine?: string; json?: boolean }) => {
        const format = checkFormat(opts.from, '--from');
        if (opts.engine !== undefined && opts.engine !== 'docker' && opts.engine !== 'podman') {
          throw inputError('usage', `--engine must be docker or podman, not ${opts.engine}`);
        }
        let text: string;
        try {
          text = readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (err) {
          throw inputError('unreadable', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
        }
        const { doc, notes } = importProfile(text, format, {
          fileName: file === '-' ? 'imported' : basename(file),
          service: opts.service,
          engine: opts.engine as 'docker' | 'podman' | undefined,
        });
        if (opts.name) doc.name = opts.name;
        for (const n of notes) process.stderr.write(`capctl: note: ${n}\n`);
        if (opts.json) return printJson(doc);
        process.stdout.write(yaml().stringify(doc));
      },
    );
}
