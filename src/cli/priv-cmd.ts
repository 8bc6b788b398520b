/**
 * `capctl priv list` and `capctl priv explain PRIV`: the FreeBSD privilege catalog with, for each
 * privilege, its jail rule (prison_priv_check), the Linux capabilities that map to it and what
 * the callers of priv_check add.
 */
import type { Command } from 'commander';
import { closestName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import { ERRNO_REMAPS, SECURELEVEL_RULES } from '../priv/caller.js';
import {
  PRIV_GROUPS,
  PRIV_MAXFILES,
  PRIV_MAXPROC,
  PRIV_PROC_LIMIT,
  PRIV_VFS_GENERATION,
  PRIV_VFS_LOOKUP,
  PRIV_VFS_READ_DIR,
  PRIVS,
  type PrivInfo,
  parsePrivName,
} from '../priv/catalog.js';
import { JAIL_PARAMS, jailRuleFor, paramsInRule } from '../priv/jail.js';
import { rowsForPriv } from '../priv/mapping.js';
import { formatTable, printJson } from './output.js';

/** Everything capctl knows about one privilege, as plain data (the --json shape). */
export function describePriv(p: PrivInfo) {
  const rule = jailRuleFor(p.number);
  // Rows written under this very name: the alias and its canonical name share a number.
  const rows = rowsForPriv(p.number).filter((r) => r.privName === p.name);
  const linuxless = rows.length > 0 && rows.every((r) => r.cap === null);
  const notes: string[] = [];
  if (p.number === PRIV_VFS_LOOKUP || p.number === PRIV_VFS_GENERATION) {
    notes.push('checked on a fast path that skips the jail switch (priv_check_cred_vfs_lookup/generation)');
  }
  if (p.number === PRIV_VFS_GENERATION) notes.push('always refused to jailed credentials');
  if (p.number === PRIV_VFS_READ_DIR)
    notes.push('the jail filter passes it, but the superuser step refuses it to jailed root');
  if (p.number === PRIV_MAXFILES || p.number === PRIV_MAXPROC || p.number === PRIV_PROC_LIMIT) {
    notes.push('the superuser step tests the real uid, not the effective uid');
  }
  for (const s of SECURELEVEL_RULES) if (s.priv === p.number) notes.push(`caller: ${s.caller}`);
  for (const r of ERRNO_REMAPS) if (r.priv === p.number) notes.push(`caller: ${r.caller}`);
  const params = rule ? paramsInRule(rule) : [];
  return {
    name: p.name,
    number: p.number,
    group: p.group,
    meaning: p.meaning,
    kind: p.kind,
    ...(p.aliasOf ? { aliasOf: p.aliasOf } : {}),
    jail: {
      rule: rule?.rule ?? 'never',
      condition: rule?.text ?? '',
      parameters: params.map((name) => {
        const base = name.replace(/[<>].*$/, ''); // enforce_statfs<2 -> enforce_statfs
        const def = JAIL_PARAMS.find((d) => d.name === base);
        return { name, default: def?.default ?? null };
      }),
    },
    linuxless,
    capabilities: rows
      .filter((r) => r.cap !== null)
      .map((r) => ({ cap: r.capName, confidence: r.confidence, combine: r.combine, note: r.note })),
    ...(linuxless ? { linuxlessReason: rows[0]!.note } : {}),
    notes,
  };
}

function jailText(d: ReturnType<typeof describePriv>): string {
  if (d.jail.rule === 'param') return `param: ${d.jail.condition}`;
  return d.jail.rule;
}

function capsText(d: ReturnType<typeof describePriv>): string {
  if (d.linuxless) return '(none: Linux-less)';
  const sep = d.capabilities[0]?.combine === 'all' ? ' & ' : ',';
  return d.capabilities
    .map((c) => `${c.cap.slice(4)}${c.confidence === 'high' ? '' : `(${c.confidence[0]})`}`)
    .join(sep);
}

function selectGroup(group: string | undefined): readonly PrivInfo[] {
  if (group === undefined) return PRIVS;
  const g = group.toLowerCase();
  const exact = PRIV_GROUPS.filter((x) => x.toLowerCase() === g);
  const matches = exact.length > 0 ? exact : PRIV_GROUPS.filter((x) => x.toLowerCase().includes(g));
  if (matches.length === 0) {
    const hint = closestName(group, PRIV_GROUPS);
    throw inputError(
      'unknown-group',
      `no privilege group matches "${group}"${hint ? ` (did you mean "${hint}"?)` : ''}; groups: ${PRIV_GROUPS.join('; ')}`,
    );
  }
  return PRIVS.filter((p) => matches.includes(p.group));
}

export function register(program: Command): void {
  const priv = program
    .command('priv')
    .description('FreeBSD priv(9): every PRIV_* privilege, its jail rule and the Linux capabilities mapped to it');

  priv
    .command('list')
    .description('list every PRIV_* with number, group, jail rule and capabilities')
    .option('--group <G>', 'only privileges whose priv.h section heading is or contains G (case-insensitive)')
    .option('--json', 'print JSON (one object per privilege, as `priv explain --json`)')
    .addHelpText(
      'after',
      `
Jail rule: always | never | param: <condition> (prison_priv_check; | or, & and).
Capabilities: (m)/(l) mark medium/low confidence; "&" means every listed cap is required.

Examples:
  capctl priv list
  capctl priv list --group 'ipv4'
  capctl priv list --json | jq '.[] | select(.jail.rule == "param") | .name'`,
    )
    .action((opts: { group?: string; json?: boolean }) => {
      const list = selectGroup(opts.group).map(describePriv);
      if (opts.json) {
        printJson(list);
        return;
      }
      // Long priv.h headings are cut in the table (--json has them whole).
      const cut = (t: string) => (t.length > 28 ? `${t.slice(0, 27)}…` : t);
      const rows = list.map((d) => [String(d.number), d.name, cut(d.group), jailText(d), capsText(d)]);
      process.stdout.write(`${formatTable(['#', 'NAME', 'GROUP', 'JAIL', 'CAPABILITIES'], rows)}\n`);
    });

  priv
    .command('explain')
    .description('one privilege: meaning, jail rule and parameters, capabilities, caller rules')
    .argument('<PRIV>', 'PRIV_NETINET_RAW, netinet_raw or 497')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  capctl priv explain PRIV_NETINET_RAW
  capctl priv explain vfs_mount
  capctl priv explain 490 --json`,
    )
    .action((name: string, opts: { json?: boolean }) => {
      const d = describePriv(parsePrivName(name));
      if (opts.json) {
        printJson(d);
        return;
      }
      const out: string[] = [];
      out.push(`${d.name} (${d.number})${d.kind === 'alias' ? ` — alias of ${d.aliasOf}` : ''}`);
      if (d.kind === 'provisional') out.push('  provisional: value seen only in newer vmm sources');
      out.push(`  group:   ${d.group}`);
      out.push(`  meaning: ${d.meaning}`);
      const params = d.jail.parameters.map((p) => `${p.name}${p.default === null ? '' : ` (default ${p.default})`}`);
      out.push(`  jail:    ${jailText(d)}${params.length ? `\n           parameters: ${params.join(', ')}` : ''}`);
      if (d.jail.rule !== 'never') out.push('           every uid-0 or capability grant also needs allow.suser');
      if (d.linuxless) out.push(`  linux:   no counterpart — ${d.linuxlessReason}`);
      else {
        const mode = d.capabilities[0]?.combine === 'all' ? 'all of' : 'any of';
        out.push(`  linux:   granted on the bridge by ${mode}:`);
        for (const c of d.capabilities) out.push(`           ${c.cap} [${c.confidence}] ${c.note}`);
      }
      for (const n of d.notes) out.push(`  note:    ${n}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
