/**
 * Writing a jail spec (src/policy/jail-spec.ts) in the three forms FreeBSD tools read: a
 * jail.conf(5) block, a `jail -c` command line (with the fstab its mounts need), and the
 * `org.freebsd.jail.*` annotations ocijail (podman's runtime on FreeBSD) reads. Pure text; what
 * a form cannot carry is listed with the reason, never dropped silently.
 */
import { inputError } from '../caps/errors.js';
import type { JailMount, JailSpec, JailStmt } from './jail-spec.js';

export const JAIL_FORMATS = ['jail.conf', 'jail-c', 'ocijail'] as const;
export type JailFormat = (typeof JAIL_FORMATS)[number];

/**
 * The allow.* parameters ocijail accepts as `org.freebsd.jail.allow.NAME=true` annotations
 * (its known_allow_params list); any other parameter is ignored with a warning.
 */
export const OCIJAIL_ALLOW = new Set([
  'allow.adjtime',
  'allow.chflags',
  'allow.extattr',
  'allow.mlock',
  'allow.mount',
  'allow.mount.devfs',
  'allow.mount.fdescfs',
  'allow.mount.nullfs',
  'allow.mount.procfs',
  'allow.mount.tmpfs',
  'allow.mount.zfs',
  'allow.nfsd',
  'allow.quotas',
  'allow.raw_sockets',
  'allow.read_msgbuf',
  'allow.reserved_ports',
  'allow.routing',
  'allow.set_hostname',
  'allow.setaudit',
  'allow.settime',
  'allow.socket_af',
  'allow.suser',
  'allow.sysvipc',
  'allow.unprivileged_parent_tampering',
  'allow.unprivileged_proc_debug',
]);

/** jail.conf value: numbers bare, anything else double-quoted; `$` would be expanded, so refused. */
function confValue(key: string, v: string): string {
  if (v.includes('$')) throw inputError('bad-jail-value', `${key} "${v}" contains '$', which jail.conf expands`);
  return /^-?\d+$/.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

/** POSIX shell word: bare when it has no special characters, else single-quoted. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** fstab(5) fields: whitespace inside a field is written \040 (spec paths have none). */
const fstabLine = (m: JailMount) => [m.source, m.target, m.fstype, m.options, '0', '0'].join('\t');

const stmtText = (s: JailStmt) => (s.value === null ? `${s.key};` : `${s.key} = ${confValue(s.key, s.value)};`);

function commentLines(spec: JailSpec): string[] {
  const out: string[] = [];
  if (spec.cannotExpress.length || spec.notes.length) {
    out.push('# not expressible with jail parameters:');
    for (const c of spec.cannotExpress) out.push(`#   ${c.subject}: ${c.why}`);
    for (const n of spec.notes) out.push(`#   note: ${n}`);
  }
  return out;
}

/** A jail.conf(5) block, each statement with the reason it is there. */
export function formatJailConf(spec: JailSpec): string {
  const body: [string, string][] = [[`path = ${confValue('path', spec.path)};`, 'root directory on the host']];
  for (const s of spec.stmts) body.push([stmtText(s), s.why]);
  for (const m of spec.mounts) body.push([`mount += ${confValue('mount', fstabLine(m).replace(/\t/g, ' '))};`, m.why]);
  for (const s of spec.privileges) body.push([stmtText(s), s.why]);
  const width = Math.max(...body.map(([t]) => t.length));
  // jail.conf names with dots (child jails) are written quoted, as jail.conf(5) allows.
  const head = spec.name.includes('.') ? `"${spec.name}"` : spec.name;
  return [`${head} {`, ...body.map(([t, why]) => `    ${t.padEnd(width)}  # ${why}`), '}', ...commentLines(spec)].join(
    '\n',
  );
}

/** The fstab file `jail -c` reads through mount.fstab; /etc/fstab.NAME as jail managers use. */
export const fstabPathFor = (name: string) => `/etc/fstab.${name}`;

/**
 * A shell script: the fstab for the mounts (when there are any), then one `jail -c`. jail(8)
 * takes list parameters on its command line only comma-separated, and fstab options contain
 * commas, so mounts go through mount.fstab rather than `mount=` arguments.
 */
export function formatJailCommand(spec: JailSpec): string {
  const args = ['jail', '-c', `name=${spec.name}`, `path=${spec.path}`];
  for (const s of spec.stmts) args.push(s.value === null ? s.key : `${s.key}=${s.value}`);
  const out: string[] = [];
  if (spec.mounts.length > 0) {
    const fstab = fstabPathFor(spec.name);
    args.push(`mount.fstab=${fstab}`);
    out.push(`cat > ${fstab} <<'EOF'`, ...spec.mounts.map(fstabLine), 'EOF');
  }
  for (const s of spec.privileges) args.push(s.value === null ? s.key : `${s.key}=${s.value}`);
  out.push(args.map(shellWord).join(' '));
  out.push(...commentLines(spec));
  return out.join('\n');
}

export interface OcijailForm {
  annotations: Record<string, string>;
  cannotExpress: { subject: string; why: string }[];
  notes: string[];
}

/**
 * The annotations ocijail reads. It takes allow.* only as `true` (no way to turn a default-on
 * parameter off), always sets allow.raw_sockets, and gets path, hostname, addresses, devfs and
 * mounts from the OCI config podman writes, not from annotations.
 */
export function formatOcijail(spec: JailSpec): OcijailForm {
  const annotations: Record<string, string> = {};
  const cannot = [...spec.cannotExpress];
  const notes = [...spec.notes];
  const fromEngine: string[] = [];
  let rawSockets = false;
  for (const s of [...spec.stmts, ...spec.privileges]) {
    if (s.key === 'vnet') annotations['org.freebsd.jail.vnet'] = 'new';
    else if (s.key.startsWith('allow.no')) {
      cannot.push({ subject: s.key, why: `ocijail cannot turn a parameter off (${s.why})` });
    } else if (s.key.startsWith('allow.')) {
      if (s.key === 'allow.raw_sockets') rawSockets = true;
      if (OCIJAIL_ALLOW.has(s.key)) annotations[`org.freebsd.jail.${s.key}`] = 'true';
      else cannot.push({ subject: s.key, why: `not among the allow.* annotations ocijail accepts (${s.why})` });
    } else if (s.key === 'enforce_statfs') {
      cannot.push({ subject: `enforce_statfs=${s.value}`, why: `ocijail has no annotation for it (${s.why})` });
    } else fromEngine.push(s.key);
  }
  if (spec.parent !== undefined) annotations['org.freebsd.parentJail'] = spec.parent;
  if (!rawSockets) {
    cannot.push({ subject: 'allow.raw_sockets', why: 'ocijail always sets it; the profile does not need it' });
  }
  if (fromEngine.length > 0 || spec.mounts.length > 0) {
    notes.push(
      `set by podman from the container's config, not by annotation: ${[...fromEngine, ...(spec.mounts.length ? ['mounts'] : [])].join(', ')}`,
    );
  }
  return { annotations, cannotExpress: cannot, notes };
}

/** The ocijail form as podman flags, with what it cannot carry as comments. */
export function formatOcijailText(f: OcijailForm): string {
  const out = Object.entries(f.annotations).map(([k, v]) => `--annotation ${shellWord(`${k}=${v}`)}`);
  if (f.cannotExpress.length || f.notes.length) {
    out.push('# not expressible with ocijail annotations:');
    for (const c of f.cannotExpress) out.push(`#   ${c.subject}: ${c.why}`);
    for (const n of f.notes) out.push(`#   note: ${n}`);
  }
  return out.join('\n');
}
