/**
 * OCI bundles on disk: config.json rewritten with a profile (atomically, never half-written),
 * and the prediction for a bundle with the entrypoint's file capabilities read from its rootfs.
 * The pure translations are in src/container/oci.ts; this adds the file system.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { CapctlError, inputError } from '../caps/errors.js';
import {
  applyProfileToText,
  type OciConfig,
  type OciPrediction,
  ociProcess,
  type Platform,
  parseOciConfig,
  predictOci,
} from '../container/oci.js';
import type { ContainerProfile } from '../container/profile.js';
import { atomicWrite } from '../policy/index.js';
import { findInRootfs } from '../sys/rootfs.js';
import { getFileCaps } from '../sys/xattr.js';

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
      ? createTwoFilesPatch('a/config.json', 'b/config.json', prettyForDiff(b.text), prettyForDiff(text), '', '', {
          context: 3,
        })
      : '';
  if (!opts.dryRun && !same) atomicWrite(b.dir, 'config.json', text, b.mode);
  return { configFile: b.configFile, changed, diff, written: !opts.dryRun && !same };
}

export interface BundleCheck extends OciPrediction {
  entrypoint?: { name: string; hostPath?: string; path?: string; fileCaps: boolean };
}

/** `capctl oci check`: what the container's first process will hold after exec. */
export function checkBundle(dir: string): BundleCheck {
  const b = readBundle(dir);
  const proc = ociProcess(b.config);
  const warnings: string[] = [];
  let file: Parameters<typeof predictOci>[1];
  let entry: BundleCheck['entrypoint'];
  if (proc.entrypoint !== undefined && proc.rootPath !== undefined) {
    const root = isAbsolute(proc.rootPath) ? proc.rootPath : join(b.dir, proc.rootPath);
    const f = findInRootfs(root, proc.entrypoint, proc.path);
    if (f) {
      let fileCaps = null;
      try {
        fileCaps = getFileCaps(f.hostPath);
      } catch (err) {
        if (!(err instanceof CapctlError)) throw err;
        warnings.push(`cannot read the file capabilities of ${f.path}: ${err.message}`);
      }
      file = { fileCaps, mode: f.stat.mode & 0o7777, uid: f.stat.uid, gid: f.stat.gid };
      entry = { name: proc.entrypoint, hostPath: f.hostPath, path: f.path, fileCaps: fileCaps !== null };
    } else {
      warnings.push(
        `entrypoint ${proc.entrypoint} not found in the rootfs (${root}): predicted without file capabilities`,
      );
      entry = { name: proc.entrypoint, fileCaps: false };
    }
  }
  const r = predictOci(proc, file);
  return { ...r, warnings: [...warnings, ...r.warnings], entrypoint: entry };
}
