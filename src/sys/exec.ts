/**
 * execve(2) in place: the calling process becomes `file`. Node has no exec (child_process only
 * spawns), and a wrapper such as an OCI runtime shim must *become* the real runtime: same pid
 * for the engine that waits on it, and every inherited descriptor (conmon's sync pipes,
 * --preserve-fds, the console socket) passed on untouched, which spawn would not do.
 */
import { lastErrno, libcFunc, OsError, strerror } from './libc.js';

const execve = libcFunc<(path: string, argv: (string | null)[], envp: (string | null)[]) => number>(
  'int execve(const char *path, const char **argv, const char **envp)',
);

// Declared with a fixed third argument: on the Linux ABIs an int passed to the variadic
// fcntl is read the same way.
const fcntl = libcFunc<(fd: number, cmd: number, arg: number) => number>('int fcntl(int fd, int cmd, int arg)');
const F_SETFD = 2;

/**
 * Replace this process with `file`; returns only by throwing (the errno of the failed exec).
 * Node marks fds 0-2 close-on-exec at start-up; they are inherited again here, together with
 * `keepFds` (e.g. runc's --preserve-fds range).
 */
export function execReplace(
  file: string,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  keepFds: readonly number[] = [],
): never {
  for (const fd of [0, 1, 2, ...keepFds]) fcntl(fd, F_SETFD, 0);
  const envp = Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  execve(file, [...argv, null], [...envp, null]);
  const e = lastErrno();
  throw new OsError('execve', e, `${file}: ${strerror(e)}`);
}
