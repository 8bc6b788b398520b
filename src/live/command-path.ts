/**
 * Where a command is, as execvp(3) finds it: its own module so that `learn`, which needs only
 * this of exec's helpers before its traced run starts, does not load the launch model with it.
 */
import { existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { inputError } from '../caps/errors.js';

/**
 * Where CMD is: as execvp(3) searches PATH, but inside `root` when a chroot is asked for (the
 * path is the one the program will have after chroot; `host` is where we can stat it now).
 */
export function resolveCommand(cmd: string, pathVar: string | undefined, root = '/'): { path: string; host: string } {
  const inRoot = (p: string) => (root === '/' ? p : join(root, p));
  const isExe = (p: string) => {
    try {
      const st = statSync(inRoot(p));
      return st.isFile() && (st.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) {
    const p = cmd.startsWith('/') ? cmd : join(process.cwd(), cmd);
    if (!existsSync(inRoot(p))) throw inputError('no-command', `${cmd}: no such file`);
    return { path: root === '/' ? p : cmd, host: inRoot(p) };
  }
  for (const dir of (pathVar ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, cmd);
    if (isExe(p)) return { path: p, host: inRoot(p) };
  }
  throw inputError('no-command', `${cmd}: command not found in PATH${root === '/' ? '' : ` inside ${root}`}`);
}
