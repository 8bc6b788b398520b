/**
 * capctl-oci-runtime: an OCI runtime that wraps the real one (runc, crun). Engines call it with
 * runc's command line. On `create` and `run` it finds the container's profile, writes it into
 * the bundle's config.json exactly as `capctl oci apply` does, records an audit line, and then
 * *becomes* the real runtime (execve: same pid, same descriptors). Every other command and flag
 * goes to the real runtime unchanged.
 *
 * Which profile: the annotation io.capctl.profile (a stock name or an absolute path); else a
 * container binding (`capctl attach --container X`) whose target is the container id or one of
 * the names the engine records (containerName below). No profile: the container runs unchanged.
 * Fail closed: a profile that cannot be read, validated or applied makes `create` fail with one
 * line on stderr, which the engine shows its user; config.json is then untouched.
 *
 * The start path loads no YAML parser, ajv, casbin or pino: profiles are used in their compiled
 * form (profile-store.ts) and the audit line is one O_APPEND write.
 */
import { accessSync, constants, readFileSync, realpathSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { appendAuditRecord } from '../audit/writer.js';
import { CapctlError } from '../caps/errors.js';
import { PROFILE_ANNOTATION } from '../container/oci.js';
import { type Binding, noteContainerStart, readBindings, resolveStateDir } from '../policy/index.js';
import { execReplace } from '../sys/exec.js';
import { applyProfileToBundle, readBundle } from './bundle.js';
import { containerProfileFor, profileRefToFile } from './profile-store.js';

/**
 * Annotations through which engines pass a container's name into the bundle (see
 * docs/containers.md): containerd's CRI plugin, CRI-O, and nerdctl. podman 4 and docker set
 * none; podman's name is read from containers-storage instead (podmanName below).
 */
export const NAME_ANNOTATIONS: readonly string[] = [
  'io.kubernetes.cri.container-name',
  'io.kubernetes.cri-o.ContainerName',
  'io.kubernetes.container.name',
  'nerdctl/name',
];

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
  bundle?: string;
  containerId?: string;
  preserveFds: number;
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
    if (f.name === '--runtime-binary' || f.name === '--capctl-state-dir') {
      if (f.name === '--runtime-binary') out.runtimeBinary = f.value;
      else out.stateDir = f.value;
      i += f.used - 1;
      continue;
    }
    out.pass.push(a);
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

/**
 * podman keeps its containers in containers-storage: the bundle is
 * <storage>/overlay-containers/<id>/userdata and <storage>/overlay-containers/containers.json
 * lists each container's names. This is the only place podman 4 records the name before start.
 */
export function podmanNames(bundle: string, id: string): string[] {
  if (basename(bundle) !== 'userdata' || basename(dirname(bundle)) !== id) return [];
  try {
    const list = JSON.parse(readFileSync(join(dirname(dirname(bundle)), 'containers.json'), 'utf8')) as {
      id?: string;
      names?: string[];
    }[];
    return list.find((c) => c.id === id)?.names?.filter((n) => typeof n === 'string') ?? [];
  } catch {
    return [];
  }
}

export interface FoundProfile {
  ref: string;
  file: string;
  via: 'annotation' | 'binding';
  binding?: Binding;
  containerName?: string;
}

/** The profile for a container being created, or undefined when it has none. */
export function findContainerProfile(
  stateDir: string,
  id: string,
  bundle: string,
  annotations: Readonly<Record<string, unknown>>,
): FoundProfile | undefined {
  const names = [
    ...NAME_ANNOTATIONS.map((a) => annotations[a]).filter((v): v is string => typeof v === 'string' && v !== ''),
    ...podmanNames(bundle, id),
  ];
  const ann = annotations[PROFILE_ANNOTATION];
  if (ann !== undefined) {
    if (typeof ann !== 'string' || ann === '') {
      throw new CapctlError('bad-profile-ref', `annotation ${PROFILE_ANNOTATION} is empty`);
    }
    return { ref: ann, file: profileRefToFile(ann), via: 'annotation', containerName: names[0] };
  }
  const bindings = readBindings(stateDir).filter((b) => b.kind === 'container');
  const byId = bindings.find((b) => b.target === id);
  const b = byId ?? bindings.find((x) => names.includes(x.target));
  if (!b) return undefined;
  return { ref: b.profile, file: b.profile, via: 'binding', binding: b, containerName: byId ? names[0] : b.target };
}

/** Apply the profile for a create/run; throws (fail closed) on any problem. */
export async function attachOnCreate(args: ShimArgs, env: NodeJS.ProcessEnv): Promise<void> {
  const id = args.containerId;
  if (!id) throw new CapctlError('usage', `${args.command}: no container id on the command line`);
  const bundle = resolve(args.bundle ?? '.');
  const b = readBundle(bundle);
  const ann = (typeof b.config.annotations === 'object' && b.config.annotations) || {};
  const stateDir = resolveStateDir({ stateDir: args.stateDir, env });
  const found = findContainerProfile(stateDir, id, b.dir, ann as Record<string, unknown>);
  if (!found) return;
  const where = `container ${found.containerName ?? id}: profile ${found.ref}`;
  let stored: ReturnType<typeof containerProfileFor>;
  try {
    stored = containerProfileFor(stateDir, found.file);
  } catch (err) {
    // One line: the engine prints the runtime's stderr as its error.
    const msg = (err as Error).message.split('\n');
    throw new CapctlError(
      'invalid-profile',
      `${where}: ${msg[0]}${msg.length > 1 ? ` ${msg.slice(1).join('; ')}` : ''}`,
    );
  }
  if (found.binding && found.binding.sha256 !== stored.sha256) {
    throw new CapctlError(
      'binding-changed',
      `${where}: the profile's files changed since \`capctl attach\` (sha256 ${stored.sha256.slice(0, 12)}, attached ${found.binding.sha256.slice(0, 12)}); run capctl attach again`,
    );
  }
  applyProfileToBundle(b.dir, stored.profile);
  appendAuditRecord(join(stateDir, 'audit.log'), {
    time: new Date().toISOString(),
    verdict: 'attached',
    profile: stored.profile.name,
    profileFile: stored.profile.file,
    sha256: stored.sha256,
    containerId: id,
    ...(found.containerName ? { containerName: found.containerName } : {}),
    via: found.via,
    bundle: b.dir,
  });
  if (found.binding) await noteContainerStart(stateDir, found.binding.target, id);
}

/** The whole shim: returns only on failure (exit code); on success the real runtime runs. */
export async function shimMain(
  argv: readonly string[],
  self: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  try {
    const args = parseShimArgs(argv);
    const real = findRealRuntime(args.runtimeBinary, env, self);
    if (args.command === 'create' || args.command === 'run') await attachOnCreate(args, env);
    const keep = Array.from({ length: args.preserveFds }, (_, k) => 3 + k);
    execReplace(real, [basename(real), ...args.pass], env, keep);
  } catch (err) {
    process.stderr.write(`capctl-oci-runtime: ${(err as Error).message.replace(/\n/g, '; ')}\n`);
    return err instanceof CapctlError && err.kind === 'input' ? 2 : 1;
  }
}
