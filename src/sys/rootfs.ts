/**
 * Paths inside a container's root file system, resolved as the container would see them:
 * every symlink is followed relative to the rootfs, and `..` stops at the rootfs's top, so an
 * image cannot point capctl at a host file (`/bin/app -> /etc/shadow` or `../../../etc`).
 * This is what runc's securejoin does; the walk is done one component at a time with lstat.
 */
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

export interface RootfsFile {
  /** Host path of the file (inside `root`). */
  hostPath: string;
  /** The path inside the container after following symlinks. */
  path: string;
  stat: Stats;
}

/**
 * Resolve `path` (absolute inside the container) under `root`. Returns undefined when some
 * component does not exist, is not a directory where one is needed, or links loop.
 */
export function resolveInRootfs(root: string, path: string): RootfsFile | undefined {
  const todo = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      done.pop(); // at the top, ".." is the top itself
      continue;
    }
    const host = join(root, ...done, c);
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) return undefined;
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
      continue;
    }
    if (todo.length > 0 && !st.isDirectory()) return undefined;
    done.push(c);
  }
  const hostPath = join(root, ...done);
  try {
    return { hostPath, path: `/${done.join('/')}`, stat: lstatSync(hostPath) };
  } catch {
    return undefined;
  }
}

/** A command name looked up in the container's PATH as the runtime does (execvp rules). */
export function findInRootfs(root: string, cmd: string, pathVar: string): RootfsFile | undefined {
  if (cmd.includes('/')) return resolveInRootfs(root, cmd.startsWith('/') ? cmd : `/${cmd}`);
  for (const dir of pathVar.split(':')) {
    if (!dir.startsWith('/')) continue;
    const f = resolveInRootfs(root, `${dir}/${cmd}`);
    if (f?.stat.isFile() && (f.stat.mode & 0o111) !== 0) return f;
  }
  return undefined;
}
