/** `capctl oci check`: a bundle's prediction, with the entrypoint's file capabilities from its rootfs. */
import { isAbsolute, join } from 'node:path';
import { CapctlError } from '../caps/errors.js';
import { type OciPrediction, ociProcess, predictOci } from '../container/oci-predict.js';
import { findInRootfs } from '../sys/rootfs.js';
import { getExecFileCaps } from '../sys/xattr.js';
import { readBundle } from './bundle.js';

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
        fileCaps = getExecFileCaps(f.hostPath);
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
