/**
 * capctl(1) in roff, generated from the commander definitions (src/cli/help-text.ts) by the
 * build (scripts/build-man.js writes dist/man/capctl.1, which package.json's `man` installs).
 * Generated, never hand-edited: a command, option or example added to the CLI appears here.
 */
import type { Command } from 'commander';
import { commandTree } from './help-text.js';

/** Roff text: backslashes escaped, and a line starting with '.' or "'" kept from being a request. */
function roff(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

/** Option flags with their hyphens as roff minus signs, so they can be searched and copied. */
const flags = (f: string) => roff(f).replace(/-/g, '\\-');

export function manPage(program: Command, version: string): string {
  const tree = commandTree(program);
  const root = tree[0]!;
  const out: string[] = [
    `.TH CAPCTL 1 "" "capctl ${version}" "User Commands"`,
    '.SH NAME',
    `capctl \\- ${roff(root.description.split(/(?<=[a-z)]):\s/)[0]!)}`,
    '.SH SYNOPSIS',
    '.B capctl',
    '.I COMMAND',
    '[\\fIoptions\\fR] [\\fIarguments\\fR]',
    '.SH DESCRIPTION',
    roff(root.description),
    '.SH COMMANDS',
  ];
  for (const info of tree.slice(1)) {
    out.push(`.SS "capctl ${roff(info.path.join(' '))} ${roff(info.usage)}"`);
    out.push(roff(info.description));
    if (info.subcommands.length > 0) {
      out.push('.PP', `Subcommands: ${info.subcommands.map((s) => `\\fB${roff(s)}\\fR`).join(', ')}.`);
    }
    for (const o of info.options) {
      out.push('.TP', `.B ${flags(o.flags)}`, roff(o.description || ''));
      if (o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean' && !Array.isArray(o.defaultValue)) {
        out.push(`(default: ${roff(String(o.defaultValue))})`);
      }
    }
    if (info.after !== '') out.push('.PP', '.nf', roff(info.after), '.fi');
  }
  out.push(
    '.SH EXIT STATUS',
    '.TP',
    '.B 0',
    'success: allowed, matched, nothing found wrong',
    '.TP',
    '.B 1',
    'the policy said no, or a replay diverged (with \\fB\\-\\-check\\fR), or profiles differ',
    '.TP',
    '.B 2',
    'bad input: a usage error, an unreadable or invalid file; the reason is one line on standard error',
    '.SH ENVIRONMENT',
    '.TP',
    '.B CAPCTL_STATE_DIR',
    'where bindings are kept (default /var/db/capctl as root, else $XDG_STATE_HOME/capctl)',
    '.TP',
    '.B COLUMNS',
    "the width tables are fitted to (default: the terminal's width; unlimited into a pipe)",
    '.TP',
    '.B NO_COLOR',
    'when set, no colour is ever printed',
    '.SH SEE ALSO',
    '.BR capabilities (7),',
    '.BR capsh (1),',
    '.BR getpcaps (8),',
    '.BR setcap (8),',
    '.BR jail (8),',
    '.BR jail.conf (5),',
    '.BR priv (9)',
  );
  return `${out.join('\n')}\n`;
}
