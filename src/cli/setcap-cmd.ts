import { lstatSync, readFileSync, type Stats } from 'node:fs';
import type { Command } from 'commander';
import { CapSet } from '../caps/capset.js';
import { ENODATA, EPERM } from '../caps/errno.js';
import { CapctlError, inputError } from '../caps/errors.js';
import { type CapTriple, formatCapText, parseCapText } from '../caps/text.js';
import { decodeFileCaps, encodeFileCaps, fileCapsFromTriple, fileCapsToTriple } from '../caps/xattr.js';
import { getFileCaps, OsError, removeFileCaps, setFileCaps } from '../sys/xattr.js';
import { parseIntFlag, UID_MAX } from './flags.js';
import { describeFsError } from './getcap-cmd.js';
import { printJson } from './output.js';

interface SetcapOpts {
  remove?: boolean;
  namespace?: string;
  verify?: boolean;
  json?: boolean;
}

const EMPTY_TRIPLE: CapTriple = { effective: CapSet.EMPTY, permitted: CapSet.EMPTY, inheritable: CapSet.EMPTY };

/** setcap -v's "[pie]": which of the three sets differ (cap_compare), in that order. */
function setsDiffer(a: CapTriple, b: CapTriple): string {
  return (
    (a.permitted.equals(b.permitted) ? '' : 'p') +
    (a.inheritable.equals(b.inheritable) ? '' : 'i') +
    (a.effective.equals(b.effective) ? '' : 'e')
  );
}

function parseRootid(v: string): number {
  // setcap -n takes a uid other than 0 (and other than (uid_t)-1, which means "none").
  return parseIntFlag('-n', v, { min: 1, max: UID_MAX, what: 'a rootid, a uid other than 0' });
}

/** cap_set_file() refuses anything but a regular file, and does not follow symlinks. */
function checkRegular(path: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    throw new CapctlError('no-file', `${path}: ${describeFsError(err)}`, 'io');
  }
  if (!st.isFile()) {
    const what = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : 'not a regular file';
    throw new CapctlError(
      'not-regular-file',
      `${path}: is ${what}; file capabilities can only be set on regular files (symlinks are not followed)`,
      'io',
    );
  }
}

function explainOsError(err: unknown, path: string, removing: boolean): never {
  if (err instanceof OsError) {
    if (removing && err.errno === ENODATA) {
      throw new CapctlError('no-file-caps', `${path}: has no file capabilities to remove`, 'io');
    }
    if (err.errno === EPERM) {
      throw new CapctlError(
        'setfcap-denied',
        `${err.message} (writing security.capability needs CAP_SETFCAP in the effective set)`,
        'io',
      );
    }
  }
  throw err;
}

/** As setcap's "-": the text is read from stdin, up to the first blank line. */
function textFromStdin(): string {
  let input: string;
  try {
    input = readFileSync(0, 'utf8');
  } catch (err) {
    throw inputError('usage', `cannot read TEXT from stdin: ${(err as Error).message}`);
  }
  const lines: string[] = [];
  for (const line of input.split('\n')) {
    if (line.trim() === '') break;
    lines.push(line);
  }
  return lines.join(' ');
}

export function register(program: Command): void {
  program
    .command('setcap')
    .description('set (or with -r remove) file capabilities: writes security.capability like setcap')
    .argument('<ARGS...>', 'TEXT FILE... to set; with -r: FILE...')
    .option('-r, --remove', 'remove the file capabilities of each FILE')
    .option('-n, --namespace <ROOTID>', 'write a v3 (user-namespace) value whose root is uid ROOTID')
    .option('-v, --verify', 'do not write: check that each FILE has exactly these capabilities (exit 1 if not)')
    .option('--json', 'print JSON: path, canonical text, revision and the raw value as hex')
    .addHelpText(
      'after',
      `
TEXT is libcap capability text (see capctl text --help). A file has one effective bit, so the
e flags must be empty or cover every p and i cap: "cap_net_raw+ep" and "cap_net_raw+p" are
fine, "cap_net_raw+p cap_chown+ep" is refused (as setcap does). The value is written through
setxattr(2) directly (no shelling out); it needs CAP_SETFCAP.

Examples:
  capctl setcap cap_net_raw+ep ./ping
  capctl setcap -n 1000 cap_net_bind_service=p ./server   # v3, rootid 1000
  capctl setcap -v cap_net_raw+ep ./ping                  # ./ping: OK (or: ./ping differs in [pe])
  capctl setcap -r ./ping
  echo cap_net_raw+ep | capctl setcap - ./ping             # TEXT from stdin, up to a blank line`,
    )
    .action((args: string[], opts: SetcapOpts) => {
      const rootid = opts.namespace === undefined ? 0 : parseRootid(opts.namespace);
      if (opts.remove) {
        if (opts.namespace !== undefined) throw inputError('usage', '-n makes no sense with -r');
        if (opts.verify) throw inputError('usage', 'give either -r or -v, not both');
        for (const path of args) {
          checkRegular(path);
          try {
            removeFileCaps(path);
          } catch (err) {
            explainOsError(err, path, true);
          }
        }
        if (opts.json) printJson(args.map((path) => ({ path, removed: true })));
        return;
      }
      const [text, ...files] = args;
      if (text === undefined || files.length === 0) {
        throw inputError('usage', 'need TEXT and at least one FILE (e.g. capctl setcap cap_net_raw+ep ./ping)');
      }
      const parsed = parseCapText(text === '-' ? textFromStdin() : text);
      const value = encodeFileCaps(fileCapsFromTriple(parsed, parsed.beyond, rootid));
      const decoded = decodeFileCaps(value);
      const written = fileCapsToTriple(decoded);
      const canonical = formatCapText(written.sets, written.beyond);
      const results: object[] = [];
      let differs = false;
      for (const path of files) {
        checkRegular(path);
        if (opts.verify) {
          let onFile: ReturnType<typeof getFileCaps>;
          try {
            onFile = getFileCaps(path);
          } catch (err) {
            explainOsError(err, path, false);
          }
          // As setcap -v: compare the file's (e, p, i) and rootid with the text's; no caps = "=".
          const have = onFile ? fileCapsToTriple(onFile) : undefined;
          const haveRootid = onFile?.rootid ?? 0;
          const flags = have ? setsDiffer(have.sets, parsed) : setsDiffer(EMPTY_TRIPLE, parsed);
          const ok = flags === '' && haveRootid === rootid;
          differs ||= !ok;
          const haveText = have ? formatCapText(have.sets, have.beyond) : '=';
          const want = formatCapText(parsed, parsed.beyond);
          if (!opts.json) {
            const ns = haveRootid !== rootid ? `nsowner[got=${haveRootid | 0}, want=${rootid}],` : '';
            process.stdout.write(ok ? `${path}: OK\n` : `${ns}${path} differs in [${flags}]\n`);
          }
          results.push({ path, ok, have: haveText, want, rootid: onFile?.rootid ?? null });
          continue;
        }
        try {
          setFileCaps(path, value);
        } catch (err) {
          explainOsError(err, path, false);
        }
        results.push({ path, text: canonical, version: decoded.version, value: Buffer.from(value).toString('hex') });
      }
      if (opts.json) printJson(results);
      if (differs) process.exitCode = 1;
    });
}
