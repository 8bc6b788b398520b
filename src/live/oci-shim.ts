/**
 * capctl-oci-runtime: an OCI runtime that wraps the real one (runc, crun). Engines call it with
 * runc's command line. On `create` and `run` it applies the container's profile to the bundle
 * (oci-attach.ts) and then *becomes* the real runtime (execve: same pid, same descriptors);
 * every other command and flag goes to the real runtime unchanged.
 *
 * Start-up is what every container operation pays, so this module imports only what every
 * command needs (argument parsing, the runtime lookup, execve); the profile machinery is loaded
 * for create/run only, and even there no YAML parser, ajv, casbin or pino (see oci-attach.ts).
 */
import { accessSync, appendFileSync, constants, realpathSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { CapctlError } from '../caps/errors.js';
import { execve } from '../sys/creds.js';

/** runc's global flags that take a value (runc --help). */
const GLOBAL_VALUE_FLAGS = new Set(['--root', '--log', '--log-format', '--criu', '--rootless']);
/** create/run flags that take a value. */
const CREATE_VALUE_FLAGS = new Set([
  '--bundle',
  '-b',
  '--console-socket',
  '--pid-file',
  '--preserve-fds',
  '--pidfd-socket',
]);

export interface ShimArgs {
  /** Arguments for the real runtime (capctl's own flags removed). */
  pass: string[];
  command?: string;
  runtimeBinary?: string;
  stateDir?: string;
  /** --capctl-audit: where the attach record goes (default STATE/audit.log). */
  auditLog?: string;
  bundle?: string;
  containerId?: string;
  preserveFds: number;
  /** runc's --log file and --log-format: where engines read a failed command's reason. */
  log?: string;
  logFormat?: string;
}

function flagValue(args: readonly string[], i: number): { name: string; value?: string; used: number } {
  const a = args[i]!;
  const eq = a.indexOf('=');
  if (a.startsWith('--') && eq > 0) return { name: a.slice(0, eq), value: a.slice(eq + 1), used: 1 };
  return { name: a, value: args[i + 1], used: 2 };
}

/** Split the command line: capctl's flags, runc's global flags, the command and its operands. */
export function parseShimArgs(argv: readonly string[]): ShimArgs {
  const out: ShimArgs = { pass: [], preserveFds: 0 };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) break;
    const f = flagValue(argv, i);
    if (f.name === '--runtime-binary' || f.name === '--capctl-state-dir' || f.name === '--capctl-audit') {
      if (f.name === '--runtime-binary') out.runtimeBinary = f.value;
      else if (f.name === '--capctl-state-dir') out.stateDir = f.value;
      else out.auditLog = f.value;
      i += f.used - 1;
      continue;
    }
    out.pass.push(a);
    if (f.name === '--log') out.log = f.value;
    if (f.name === '--log-format') out.logFormat = f.value;
    if (GLOBAL_VALUE_FLAGS.has(f.name) && f.used === 2) {
      out.pass.push(argv[i + 1]!);
      i++;
    }
  }
  out.command = argv[i];
  const rest = argv.slice(i);
  out.pass.push(...rest);
  if (out.command === 'create' || out.command === 'run') {
    const positional: string[] = [];
    for (let j = 1; j < rest.length; j++) {
      const a = rest[j]!;
      if (!a.startsWith('-')) {
        positional.push(a);
        continue;
      }
      const f = flagValue(rest, j);
      if (f.name === '--bundle' || f.name === '-b') out.bundle = f.value;
      if (f.name === '--preserve-fds') out.preserveFds = Number(f.value) || 0;
      if (CREATE_VALUE_FLAGS.has(f.name)) j += f.used - 1;
    }
    out.containerId = positional.at(-1);
  }
  return out;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** --runtime-binary, $CAPCTL_OCI_RUNTIME, else runc then crun on PATH (never this shim itself). */
export function findRealRuntime(given: string | undefined, env: NodeJS.ProcessEnv, self: string): string {
  const want = given ?? env.CAPCTL_OCI_RUNTIME;
  const selfReal = (() => {
    try {
      return realpathSync(self);
    } catch {
      return self;
    }
  })();
  const notSelf = (p: string) => {
    try {
      return realpathSync(p) !== selfReal;
    } catch {
      return false;
    }
  };
  const search = (name: string) =>
    name.includes('/')
      ? [resolve(name)]
      : (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
          .split(delimiter)
          .filter((d) => d !== '')
          .map((d) => join(d, name));
  for (const name of want ? [want] : ['runc', 'crun']) {
    const hit = search(name).find((p) => isExecutable(p) && notSelf(p));
    if (hit) return hit;
  }
  throw new CapctlError(
    'no-runtime',
    want ? `real runtime ${want} not found or not executable` : 'no real OCI runtime (runc or crun) on PATH',
    'io',
  );
}

/** The whole shim: returns only on failure (exit code); on success the real runtime runs. */
export async function shimMain(
  argv: readonly string[],
  self: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Pure parsing (it never throws): the failure path below needs the --log flags too.
  const args = parseShimArgs(argv);
  try {
    const real = findRealRuntime(args.runtimeBinary, env, self);
    if (args.command === 'create' || args.command === 'run')
      await (await import('./oci-attach.js')).attachOnCreate(args, env);
    const keep = Array.from({ length: args.preserveFds }, (_, k) => 3 + k);
    const envp = Object.entries(env)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    execve(real, [basename(real), ...args.pass], envp, keep);
  } catch (err) {
    const line = `capctl-oci-runtime: ${(err as Error).message.replace(/\n/g, '; ')}`;
    process.stderr.write(`${line}\n`);
    reportToLog(args, line);
    return err instanceof CapctlError && err.kind === 'input' ? 2 : 1;
  }
}

/**
 * Also write the failure where runc would: containerd's runc shim (docker, Kubernetes) shows
 * its user the last error in the `--log` file, not the runtime's stderr, and without it says
 * only "unable to retrieve OCI runtime error". The format is runc's (logrus): one JSON object
 * per line for `--log-format json`, else logrus text.
 */
function reportToLog(args: ShimArgs, msg: string): void {
  if (args.log === undefined || args.log === '') return;
  const time = new Date().toISOString();
  const line =
    args.logFormat === 'json'
      ? `${JSON.stringify({ level: 'error', msg, time })}\n`
      : `time="${time}" level=error msg=${JSON.stringify(msg)}\n`;
  try {
    appendFileSync(args.log, line, { mode: 0o600 });
  } catch {
    // stderr already has the reason; an unwritable log must not hide it behind a second error.
  }
}
