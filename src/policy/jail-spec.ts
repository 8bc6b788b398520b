/**
 * The whole jail a FreeBSD administrator starts, around the privileges planJail derived from a
 * profile: root path, hostname, addresses or a vnet interface, devfs and its ruleset, the
 * filesystems a Linux (Linuxulator) userland needs, linux.osname/osrelease, and how it starts.
 * Planning (which allow.* a profile needs, src/policy/jail.ts) stays separate; this module only
 * adds what a runnable jail needs besides privileges, and src/policy/jail-format.ts writes it.
 *
 * Every value the user gives ends up inside jail.conf, a shell command or an fstab line, so
 * anything that could change their meaning there (control characters, `$`, quotes, spaces in
 * paths) is refused with the reason rather than escaped in a way an administrator cannot audit.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { posix } from 'node:path';
import { inputError } from '../caps/errors.js';
import type { JailPlan } from './jail.js';

export interface JailOptions {
  name: string;
  /** The jail's root directory on the host: absolute. */
  path: string;
  hostname?: string;
  ip4?: string[];
  ip6?: string[];
  /** Host interface the ip4/ip6 addresses are added to as aliases (jail.conf `interface`). */
  interface?: string;
  /** A vnet jail, with this host interface moved into it (vnet.interface). */
  vnet?: string;
  devfsRuleset?: number;
  /** A Linux userland: where its root lies inside the jail (`/` when the jail root is Linux). */
  linux?: { root: string; osname?: string; osrelease?: string };
  execStart?: string;
  execStop?: string;
}

/** One jail parameter (value null: a boolean written bare) with the reason it is there. */
export interface JailStmt {
  key: string;
  value: string | null;
  why: string;
}

/** One filesystem jail(8) mounts before starting the jail (an fstab(5) line). */
export interface JailMount {
  source: string;
  target: string;
  fstype: string;
  options: string;
  why: string;
}

export interface JailSpec {
  name: string;
  path: string;
  profile: string;
  /** Parent jail of a child jail (`a` for `a.b`), which must allow what the child needs. */
  parent?: string;
  /** The jail itself: hostname, network, devfs, Linux settings, how it starts. */
  stmts: JailStmt[];
  mounts: JailMount[];
  /** What the profile needs: allow.*, enforce_statfs and the profile's own jail section. */
  privileges: JailStmt[];
  cannotExpress: { subject: string; why: string }[];
  notes: string[];
}

/** devfs rulesets of /etc/defaults/devfs.rules: devfsrules_jail and devfsrules_jail_vnet. */
export const DEVFS_RULESET_JAIL = 4;
export const DEVFS_RULESET_JAIL_VNET = 5;

/** The Handbook's start and stop commands for a jail with a FreeBSD userland (rc(8)). */
export const RC_START = '/bin/sh /etc/rc';
export const RC_STOP = '/bin/sh /etc/rc.shutdown';

const SAFE_PATH = /^\/[A-Za-z0-9._/+@:-]*$/;
// Printable ASCII and any non-ASCII, but none of what jail.conf or sh would reinterpret.
const SAFE_TEXT = /^[ !#%&(-[\]-_a-~\u0080-\uffff]*$/;

function bad(code: string, msg: string): never {
  throw inputError(code, msg);
}

/** jail(8) names: dot-separated components; none numeric (the kernel takes a number as a jid). */
export function checkJailName(name: string): string {
  // MAXHOSTNAMELEN, as the kernel limits a jail's full name.
  if (name.length > 255) bad('bad-target', `jail name "${name.slice(0, 64)}…" is longer than 255 characters`);
  const parts = name.split('.');
  for (const p of parts) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(p) || /^\d+$/.test(p)) {
      bad(
        'bad-target',
        `"${name.slice(0, 64)}" is not a jail name (dot-separated parts of letters, digits, '_' and '-', none all digits)`,
      );
    }
  }
  return name;
}

function checkPath(what: string, p: string): string {
  if (!posix.isAbsolute(p)) bad('bad-jail-path', `${what} must be an absolute path: "${p}"`);
  if (!SAFE_PATH.test(p)) {
    bad(
      'bad-jail-path',
      `${what} "${p}" has characters jail.conf or fstab would reinterpret (use A-Z a-z 0-9 . _ / + @ : -)`,
    );
  }
  const norm = posix.normalize(p);
  if (norm !== p.replace(/\/+$/, '') && !(p === '/' && norm === '/')) {
    bad('bad-jail-path', `${what} "${p}" is not normalised (write "${norm}")`);
  }
  return norm;
}

function checkText(what: string, v: string): string {
  if (v === '' || !SAFE_TEXT.test(v)) {
    bad('bad-jail-value', `${what} "${v}" is empty or has quotes, '$', '\\', '\`' or control characters`);
  }
  return v;
}

function checkAddr(family: 4 | 6, a: string): string {
  const [addr, prefix, ...rest] = a.split('/');
  const ok = family === 4 ? isIPv4(addr ?? '') : isIPv6(addr ?? '');
  const max = family === 4 ? 32 : 128;
  if (!ok || rest.length > 0 || (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= max))) {
    bad('bad-jail-addr', `--ip${family} "${a}" is not an IPv${family} address (ADDR or ADDR/PREFIX)`);
  }
  return a;
}

const IFACE = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;

/**
 * The jail's statements and mounts: the user's options, then the plan's privileges. Throws an
 * input error (exit 2) for anything contradictory or unsafe to write.
 */
export function buildJailSpec(plan: JailPlan, o: JailOptions): JailSpec {
  const name = checkJailName(o.name);
  const path = checkPath('--path', o.path);
  const stmts: JailStmt[] = [];
  const mounts: JailMount[] = [];
  const notes = [...plan.notes];
  const cannot = [...plan.cannotExpress];
  const fromProfile = new Map(plan.params.map((p) => [p.key, p]));
  // A default yields to the profile's own jail section; an option that contradicts it is an error.
  const set = (key: string, value: string | null, why: string, given = false) => {
    if (fromProfile.get(key)?.why === 'from the profile') {
      if (given)
        bad('jail-conflict', `the profile's jail section already sets ${key}; drop it there or leave out the option`);
      return;
    }
    stmts.push({ key, value, why });
  };

  const dot = name.lastIndexOf('.');
  const parent = dot > 0 ? name.slice(0, dot) : undefined;

  // Network: shared addresses, or a vnet; not both (a vnet jail configures its own addresses).
  const ip4 = (o.ip4 ?? []).map((a) => checkAddr(4, a));
  const ip6 = (o.ip6 ?? []).map((a) => checkAddr(6, a));
  if (o.vnet !== undefined && (ip4.length > 0 || ip6.length > 0 || o.interface !== undefined)) {
    bad(
      'jail-conflict',
      '--vnet gives the jail its own network stack: configure its addresses inside it, not with --ip4/--ip6/--interface',
    );
  }
  if (o.interface !== undefined && ip4.length + ip6.length === 0) {
    bad('jail-conflict', '--interface only adds --ip4/--ip6 addresses to a host interface; give an address');
  }
  for (const i of [o.vnet, o.interface]) {
    if (i !== undefined && !IFACE.test(i)) bad('bad-jail-iface', `"${i}" is not a network interface name`);
  }
  set(
    'host.hostname',
    checkText('--hostname', o.hostname ?? name),
    o.hostname ? 'from --hostname' : 'the jail name',
    o.hostname !== undefined,
  );
  if (o.vnet !== undefined) {
    set('vnet', null, 'its own network stack (--vnet)', true);
    set('vnet.interface', o.vnet, 'host interface moved into the jail', true);
  } else if (ip4.length + ip6.length > 0) {
    if (o.interface) set('interface', o.interface, 'addresses are added to this host interface', true);
    if (ip4.length) set('ip4.addr', ip4.join(','), 'from --ip4', true);
    if (ip6.length) set('ip6.addr', ip6.join(','), 'from --ip6', true);
  } else if (!fromProfile.has('vnet')) {
    notes.push('no --ip4/--ip6/--vnet: the jail has no network addresses');
  }

  // devfs: the jail's /dev with a ruleset that hides disks (devfs_ruleset only applies to it).
  const vnet = o.vnet !== undefined || (fromProfile.has('vnet') && fromProfile.get('vnet')!.value !== 'inherit');
  const ruleset = o.devfsRuleset ?? (vnet ? DEVFS_RULESET_JAIL_VNET : DEVFS_RULESET_JAIL);
  if (!Number.isInteger(ruleset) || ruleset < 0 || ruleset > 65535) {
    bad('bad-jail-value', `--devfs-ruleset ${o.devfsRuleset} is not a ruleset number`);
  }
  if (ruleset === 0) notes.push('devfs_ruleset 0 exposes every host device, disks included, in the jail');
  // jail(8) mounts `mount`/`mount.fstab` entries before mount.devfs, so when a Linux tree is the
  // jail's root its dev/shm and dev/fd would be hidden under a later devfs: then devfs is the
  // first mount entry (with the ruleset as a mount option) instead of mount.devfs.
  const linuxRoot = o.linux ? checkPath('--linux', o.linux.root) : undefined;
  if (linuxRoot !== '/') set('mount.devfs', null, "mount devfs on the jail's /dev");
  set(
    'devfs_ruleset',
    String(ruleset),
    o.devfsRuleset !== undefined
      ? 'from --devfs-ruleset'
      : vnet
        ? 'devfsrules_jail_vnet in /etc/defaults/devfs.rules'
        : 'devfsrules_jail in /etc/defaults/devfs.rules',
    o.devfsRuleset !== undefined,
  );

  // A Linux userland: the filesystems of the Handbook's Linux jail recipe, mounted by jail(8)
  // from the host (so the jail itself needs no allow.mount.*).
  if (o.linux && linuxRoot !== undefined) {
    const at = (sub: string) => posix.join(path, linuxRoot, sub);
    mounts.push({
      source: 'devfs',
      target: at('dev'),
      fstype: 'devfs',
      options: `rw,ruleset=${ruleset}`,
      why:
        linuxRoot === '/'
          ? "the jail's /dev, before the mounts inside it"
          : "the Linux tree's /dev, with the jail's ruleset",
    });
    mounts.push(
      {
        source: 'tmpfs',
        target: at('dev/shm'),
        fstype: 'tmpfs',
        options: 'rw,size=1g,mode=1777',
        why: 'POSIX shared memory (shm_open)',
      },
      {
        source: 'fdescfs',
        target: at('dev/fd'),
        fstype: 'fdescfs',
        options: 'rw,linrdlnk',
        why: '/dev/fd with Linux readlink semantics',
      },
      { source: 'linprocfs', target: at('proc'), fstype: 'linprocfs', options: 'rw', why: "Linux's /proc" },
      { source: 'linsysfs', target: at('sys'), fstype: 'linsysfs', options: 'rw', why: "Linux's /sys" },
    );
    if (o.linux.osname !== undefined)
      set('linux.osname', checkText('--linux-osname', o.linux.osname), 'uname -s for Linux binaries', true);
    if (o.linux.osrelease !== undefined) {
      set(
        'linux.osrelease',
        checkText('--linux-osrelease', o.linux.osrelease),
        'uname -r for Linux binaries (glibc checks it)',
        true,
      );
    }
    notes.push('the host needs the Linux ABI: sysrc linux_enable=YES && service linux start');
  }

  // Start and stop: rc(8) for a FreeBSD userland (native, or Linux under /compat); a Linux root
  // has no rc(8), so it starts what the user names or persists. A profile that says how its
  // jail starts keeps its own exec.* and persist.
  const profileRuns = plan.params.some(
    (p) => p.why === 'from the profile' && (p.key === 'persist' || p.key.startsWith('exec.')),
  );
  const freebsdUserland = o.linux?.root !== '/';
  const start = o.execStart ?? (freebsdUserland && !profileRuns ? RC_START : undefined);
  const stop = o.execStop ?? (freebsdUserland && !profileRuns && o.execStart === undefined ? RC_STOP : undefined);
  if (start !== undefined) {
    set(
      'exec.start',
      checkText('--exec-start', start),
      o.execStart ? 'from --exec-start' : "rc(8) of the jail's FreeBSD userland",
      o.execStart !== undefined,
    );
  }
  if (stop !== undefined)
    set(
      'exec.stop',
      checkText('--exec-stop', stop),
      o.execStop ? 'from --exec-stop' : 'rc.shutdown(8)',
      o.execStop !== undefined,
    );
  if (start !== undefined) set('exec.clean', null, "commands run with a clean environment, not the caller's");

  // Privileges: the plan, as derived from the profile. Its `persist` (added when the profile
  // names no way to start) is only needed when nothing is started here either.
  const privileges: JailStmt[] = [];
  for (const p of plan.params) {
    if (p.key === 'persist' && p.why !== 'from the profile' && start !== undefined) continue;
    privileges.push({ key: p.key, value: p.value, why: p.why });
  }

  if (parent !== undefined) {
    notes.push(
      `child jail of "${parent}": that jail needs children.max >= 1 and every allow.* below, since a child never gets more than its parent`,
    );
  }
  return {
    name,
    path,
    profile: plan.profile,
    ...(parent ? { parent } : {}),
    stmts,
    mounts,
    privileges,
    cannotExpress: cannot,
    notes,
  };
}
