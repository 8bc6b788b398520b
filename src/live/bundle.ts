/**
 * OCI bundles on disk: config.json rewritten with a profile (atomically, never half-written),
 * and diffs of that change (bundle-check.ts predicts what a bundle yields).
 * The pure translations are in src/container/oci.ts; this adds the file system.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as Diff from 'diff';
import { inputError } from '../caps/errors.js';
import { applyProfileToText, type OciConfig, type Platform, parseOciConfig } from '../container/oci.js';
import type { ContainerProfile } from '../container/profile.js';
import { atomicWrite } from '../policy/bindings.js';
import { lazyRequire } from '../util/lazy.js';

// Only --dry-run diffs; the shim never does.
const diffLib = lazyRequire<typeof Diff>('diff');

export interface Bundle {
  dir: string;
  configFile: string;
  text: string;
  config: OciConfig;
  mode: number;
}

export function readBundle(dir: string): Bundle {
  const configFile = join(resolve(dir), 'config.json');
  let text: string;
  let mode: number;
  try {
    text = readFileSync(configFile, 'utf8');
    mode = statSync(configFile).mode & 0o7777;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw inputError('bad-bundle', `${dir}: no readable config.json (${code ?? (err as Error).message})`);
  }
  return { dir: resolve(dir), configFile, text, config: parseOciConfig(text, configFile), mode };
}

export interface ApplyResult {
  configFile: string;
  changed: string[];
  /** Unified diff of config.json (empty when nothing changes). */
  diff: string;
  written: boolean;
}

/** Engines write config.json on one line: diff it pretty-printed, or the diff is one huge line. */
function prettyForDiff(text: string): string {
  return /^\{\r?\n/.test(text) ? text : `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
}

/**
 * Write `cp` into the bundle's config.json: temp file + fsync + rename + directory fsync, so a
 * crash or a failure leaves either the old file or the new one. `dryRun` only computes the diff.
 */
export function applyProfileToBundle(
  dir: string,
  cp: ContainerProfile,
  opts: { dryRun?: boolean; platform?: Platform; withDiff?: boolean } = {},
): ApplyResult {
  const b = readBundle(dir);
  const { text, changed } = applyProfileToText(b.text, cp, opts.platform);
  const same = text === b.text;
  const diff =
    (opts.dryRun || opts.withDiff) && !same
      ? diffLib().createTwoFilesPatch(
          'a/config.json',
          'b/config.json',
          prettyForDiff(b.text),
          prettyForDiff(text),
          '',
          '',
          {
            context: 3,
          },
        )
      : '';
  if (!opts.dryRun && !same) atomicWrite(b.dir, 'config.json', text, b.mode);
  return { configFile: b.configFile, changed, diff, written: !opts.dryRun && !same };
}
