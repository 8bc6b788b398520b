import { type Dirent, lstatSync, opendirSync, type Stats } from 'node:fs';
import type { Command } from 'commander';
import { EOPNOTSUPP } from '../caps/errno.js';
import { formatCapText } from '../caps/text.js';
import { type FileCaps, fileCapsToTriple } from '../caps/xattr.js';
import { getFileCaps, OsError, strerror } from '../sys/xattr.js';
import { printJson } from './output.js';

interface GetcapOpts {
  recursive?: boolean;
  namespace?: boolean;
  verbose?: boolean;
  json?: boolean;
}

interface FileEntry {
  path: string;
  caps: FileCaps | null;
}

/** nftw(3)'s view of a path: FTW_F (not a directory or symlink), FTW_D, FTW_SL, or FTW_NS. */
type Kind = 'F' | 'D' | 'SL' | 'NS';

function kindOf(st: Stats): Kind {
  return st.isDirectory() ? 'D' : st.isSymbolicLink() ? 'SL' : 'F';
}

/** strerror(3) text for a Node fs error, as the C tools print it. */
export function describeFsError(err: unknown): string {
  const errno = (err as NodeJS.ErrnoException).errno;
  return typeof errno === 'number' ? strerror(Math.abs(errno)) : (err as Error).message;
}

/** The line getcap 2.66 prints for a file with capabilities (do_getcap in progs/getcap.c). */
export function getcapLine(path: string, caps: FileCaps, namespace: boolean): string {
  const { sets, beyond } = fileCapsToTriple(caps);
  const text = formatCapText(sets, beyond);
  // getcap prints the rootid only when it is neither 0 nor (uid_t)-1, with printf("%d").
  const r = caps.rootid >>> 0;
  if (namespace && r !== 0 && r !== 0xffffffff) return `${path} ${text} [rootid=${r | 0}]\n`;
  return `${path} ${text}\n`;
}

/**
 * Walk one operand as getcap does: with -r, nftw(FTW_PHYS) order — pre-order, entries in
 * readdir order (not sorted), symlinks not followed, child paths built as `dir/name` after
 * stripping the operand's trailing slashes. Without -r, only a regular file is looked at.
 */
class Walker {
  out = '';
  errors: string[] = [];
  entries: FileEntry[] = [];

  constructor(private readonly opts: GetcapOpts) {}

  private flush(force = false): void {
    if (this.opts.json) return;
    if (force || this.out.length > 65536) {
      if (this.out) process.stdout.write(this.out);
      this.out = '';
    }
  }

  private fail(msg: string): void {
    this.flush(true);
    this.errors.push(msg);
    process.stderr.write(`capctl: ${msg}\n`);
  }

  private visit(path: string, kind: Kind, operand: boolean): void {
    if (kind !== 'F') {
      if (this.opts.verbose && !this.opts.json) this.out += `${path} (Not a regular file)\n`;
      return;
    }
    let caps: FileCaps | null;
    try {
      caps = getFileCaps(path);
    } catch (err) {
      // getcap stays silent about ENOTSUP (e.g. /proc files met while recursing); a file the
      // user named on a file system without xattr support is reported.
      if (err instanceof OsError && err.errno === EOPNOTSUPP && !operand) caps = null;
      else {
        this.fail((err as Error).message);
        return;
      }
    }
    if (caps === null) {
      if (this.opts.verbose) {
        if (this.opts.json) this.entries.push({ path, caps: null });
        else this.out += `${path}\n`;
      }
    } else if (this.opts.json) {
      this.entries.push({ path, caps });
    } else {
      this.out += getcapLine(path, caps, this.opts.namespace === true);
    }
    this.flush();
  }

  private walkDir(dir: string): void {
    let handle: ReturnType<typeof opendirSync>;
    try {
      handle = opendirSync(dir);
    } catch {
      return; // FTW_DNR: getcap does not report unreadable directories
    }
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    try {
      for (let ent: Dirent | null = handle.readSync(); ent !== null; ent = handle.readSync()) {
        const child = prefix + ent.name;
        let st: Stats;
        try {
          st = lstatSync(child);
        } catch {
          this.visit(child, 'NS', false);
          continue;
        }
        const kind = kindOf(st);
        this.visit(child, kind, false);
        if (kind === 'D') this.walkDir(child);
      }
    } finally {
      handle.closeSync();
    }
  }

  operand(arg: string): void {
    let st: Stats;
    try {
      st = lstatSync(arg);
    } catch (err) {
      this.fail(`${arg}: ${describeFsError(err)}`);
      return;
    }
    if (this.opts.recursive) {
      // nftw strips trailing slashes from the start path (but keeps "/").
      let path = arg;
      while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
      const kind = kindOf(st);
      this.visit(path, kind, kind === 'F');
      if (kind === 'D') this.walkDir(path);
      return;
    }
    this.visit(arg, st.isFile() ? 'F' : st.isSymbolicLink() ? 'SL' : 'NS', true);
  }

  finish(): void {
    if (this.opts.json) {
      printJson(
        this.entries.map(({ path, caps }) => {
          if (caps === null) return { path, caps: null };
          const { sets, beyond } = fileCapsToTriple(caps);
          return {
            path,
            text: formatCapText(sets, beyond),
            version: caps.version,
            effective: caps.effective,
            permitted: caps.permitted.toHex(),
            inheritable: caps.inheritable.toHex(),
            rootid: caps.rootid,
          };
        }),
      );
    }
    this.flush(true);
  }
}

export function register(program: Command): void {
  program
    .command('getcap')
    .description('print the file capabilities (security.capability) of files, exactly as getcap does')
    .argument('<FILE...>', 'files (directories with -r)')
    .option('-r, --recursive', 'walk directories (symlinks are not followed)')
    .option('-n, --namespace', 'append " [rootid=N]" for v3 (user-namespace) file capabilities')
    .option('-v, --verbose', 'also list files without capabilities and non-regular files')
    .option('--json', 'print JSON: path, text, revision, fE, permitted/inheritable as hex, rootid')
    .addHelpText(
      'after',
      `
Output is byte-identical to libcap 2.66's getcap: "PATH TEXT", nothing for a file without
capabilities, "PATH =" for an explicitly empty set. Unlike getcap, a missing or unreadable
operand exits 2 (after the other operands are printed).

Examples:
  capctl getcap /usr/bin/ping
  capctl getcap -r /usr/bin /usr/sbin
  capctl getcap -n ./tool          # ./tool cap_net_raw=ep [rootid=1000]
  capctl getcap --json /usr/bin/ping | jq -r '.[0].permitted'`,
    )
    .action((files: string[], opts: GetcapOpts) => {
      const w = new Walker(opts);
      for (const f of files) w.operand(f);
      w.finish();
      // Each failure already printed its one line; the exit code says bad input.
      if (w.errors.length > 0) process.exitCode = 2;
    });
}
