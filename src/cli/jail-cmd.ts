/** capctl jail create: a jail.conf block, `jail -c` script or ocijail annotations for a profile, and its binding. */

import { type Command, Option } from 'commander';
import { inputError } from '../caps/errors.js';
import { attach, checkTargetFits, displayPath, planJail, resolveProfile, resolveStateDir } from '../policy/index.js';
import {
  formatJailCommand,
  formatJailConf,
  formatOcijail,
  formatOcijailText,
  JAIL_FORMATS,
  type JailFormat,
} from '../policy/jail-format.js';
import { buildJailSpec, checkJailName, type JailOptions } from '../policy/jail-spec.js';
import { parseIntFlag } from './flags.js';
import { printJson } from './output.js';

interface CreateOpts {
  profile: string;
  path: string;
  hostname?: string;
  ip4?: string[];
  ip6?: string[];
  interface?: string;
  vnet?: string;
  devfsRuleset?: string;
  linux?: string | true;
  linuxOsname?: string;
  linuxOsrelease?: string;
  execStart?: string;
  execStop?: string;
  format: string;
  dryRun?: boolean;
  stateDir?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Where a Linux userland lives inside the jail when --linux has no value (linux_base's place). */
export const DEFAULT_LINUX_ROOT = '/compat/linux';

function jailOptions(name: string, o: CreateOpts): JailOptions {
  if (o.linux === undefined && (o.linuxOsname !== undefined || o.linuxOsrelease !== undefined)) {
    throw inputError('jail-conflict', '--linux-osname/--linux-osrelease need --linux');
  }
  const opts: JailOptions = { name, path: o.path };
  if (o.hostname !== undefined) opts.hostname = o.hostname;
  if (o.ip4) opts.ip4 = o.ip4;
  if (o.ip6) opts.ip6 = o.ip6;
  if (o.interface !== undefined) opts.interface = o.interface;
  if (o.vnet !== undefined) opts.vnet = o.vnet;
  // devfs rulesets are numbered by a u_short (sys/fs/devfs/devfs.h devfs_rsnum).
  if (o.devfsRuleset !== undefined)
    opts.devfsRuleset = parseIntFlag('--devfs-ruleset', o.devfsRuleset, { max: 65535, what: 'a ruleset number' });
  if (o.linux !== undefined) {
    opts.linux = { root: o.linux === true ? DEFAULT_LINUX_ROOT : o.linux };
    if (o.linuxOsname !== undefined) opts.linux.osname = o.linuxOsname;
    if (o.linuxOsrelease !== undefined) opts.linux.osrelease = o.linuxOsrelease;
  }
  if (o.execStart !== undefined) opts.execStart = o.execStart;
  if (o.execStop !== undefined) opts.execStop = o.execStop;
  return opts;
}

export function register(program: Command): void {
  const jail = program.command('jail').description('FreeBSD jails from profiles');
  jail
    .command('create')
    .description(
      'write a jail a FreeBSD administrator can start as is (native, or a Linux userland with --linux) with exactly the allow.* and enforce_statfs the profile needs; list what jail parameters cannot express; record the binding',
    )
    .argument('<NAME>', 'jail name; a.b is child jail b of jail a')
    .requiredOption('--profile <PROFILE>', 'profile file or stock profile name')
    .requiredOption('--path <DIR>', "the jail's root directory on the FreeBSD host (absolute)")
    .option('--hostname <NAME>', 'host.hostname (default: the jail name)')
    .option('--ip4 <ADDR>', 'IPv4 address (repeatable)', collect)
    .option('--ip6 <ADDR>', 'IPv6 address (repeatable)', collect)
    .option('--interface <IFACE>', 'host interface the --ip4/--ip6 addresses are added to')
    .option('--vnet <IFACE>', 'own network stack, with this host interface (e.g. epair0b) moved in')
    .option('--devfs-ruleset <N>', 'devfs ruleset (default 4, devfsrules_jail; 5 with a vnet)')
    .option(
      '--linux [ROOT]',
      `a Linux userland at ROOT inside the jail (default ${DEFAULT_LINUX_ROOT}; / for a Linux-only root)`,
    )
    .option('--linux-osname <NAME>', 'linux.osname (uname -s) for Linux binaries')
    .option('--linux-osrelease <REL>', 'linux.osrelease (uname -r), e.g. 5.15.0')
    .option('--exec-start <CMD>', 'exec.start (default "/bin/sh /etc/rc" for a FreeBSD userland)')
    .option('--exec-stop <CMD>', 'exec.stop (default "/bin/sh /etc/rc.shutdown" with the default start)')
    .addOption(new Option('--format <FORMAT>', 'output form').choices([...JAIL_FORMATS]).default('jail.conf'))
    .option('--dry-run', 'print only; do not record the binding')
    .option('--state-dir <DIR>', 'where bindings are kept')
    .option('--json', 'print JSON: the statements, mounts, what cannot be expressed, and the text')
    .addHelpText(
      'after',
      `
capctl does not run jail(8) itself. jail.conf: add the block to /etc/jail.conf (or a file in
/etc/jail.conf.d/) and run \`service jail start NAME\`. jail-c: run the printed script as root
on the host. ocijail: pass the printed --annotation flags to podman on FreeBSD.

With --linux the jail mounts, from the host, what a Linux userland needs (the FreeBSD
Handbook's Linux jail recipe): devfs, tmpfs on dev/shm, fdescfs (linrdlnk) on dev/fd,
linprocfs on proc and linsysfs on sys of the Linux tree.

Examples:
  capctl jail create web --profile nginx --path /jails/web --ip4 192.0.2.10 --interface em0 --dry-run
  capctl jail create ubuntu --profile ping --path /jails/ubuntu --linux /compat/ubuntu --linux-osrelease 5.15.0 --dry-run
  capctl jail create pinger --profile ping --path /jails/pinger --vnet epair0b --format jail-c --dry-run
  capctl jail create web.app --profile docker-default --path /jails/web/app --format ocijail --dry-run
  capctl jail create pinger --profile ping --path /jails/pinger --dry-run --json | jq .stmts`,
    )
    .action(async (nameArg: string, opts: CreateOpts) => {
      const name = checkJailName(nameArg);
      const profile = resolveProfile(opts.profile, { stateDir: opts.stateDir });
      checkTargetFits(profile.name, profile.profile.target, 'jail');
      const options = jailOptions(name, opts);
      // The spec checks --path (absolute, safe characters) before planning uses it.
      const plan = planJail(profile, name, opts.path, { vnet: opts.vnet !== undefined });
      const spec = buildJailSpec(plan, options);
      const format = opts.format as JailFormat;
      const oci = format === 'ocijail' ? formatOcijail(spec) : undefined;
      const text =
        format === 'jail.conf'
          ? formatJailConf(spec)
          : format === 'jail-c'
            ? formatJailCommand(spec)
            : formatOcijailText(oci!);
      let recorded: string | undefined;
      if (!opts.dryRun) {
        const dir = resolveStateDir({ stateDir: opts.stateDir });
        await attach(dir, 'jail', name, profile.profile.file);
        recorded = dir;
      }
      if (opts.json) {
        return printJson({
          ...spec,
          format,
          ...(oci ? { annotations: oci.annotations, cannotExpress: oci.cannotExpress, notes: oci.notes } : {}),
          text,
          binding: recorded ? { stateDir: recorded } : null,
        });
      }
      const out = [`# capctl jail create ${name}: profile ${displayPath(spec.profile)}, format ${format}`, text];
      out.push(recorded ? `# binding recorded in ${recorded}` : '# dry run: no binding recorded');
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
