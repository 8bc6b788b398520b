/**
 * `capctl cap explain CAP`: a Linux capability seen from FreeBSD — the privileges it maps to,
 * each privilege's jail rule, the jail parameters that unlock them, and whether capget would
 * report it in a jail (default, or the one given with --jail-param).
 */
import type { Command } from 'commander';
import { parseCapName } from '../caps/capset.js';
import { capInfo } from '../caps/catalog.js';
import { capReport } from '../priv/bridge.js';
import { privName } from '../priv/catalog.js';
import { compilePrison } from '../priv/check.js';
import { jailRuleFor, makeJailConfig, nonDefaultParams, paramsInRule, parseJailParamArgs } from '../priv/jail.js';
import { capHasNoCounterpart, rowsForCap } from '../priv/mapping.js';
import { printJson } from './output.js';

export function describeCap(cap: number, jailParams: Record<string, string> = {}) {
  const info = capInfo(cap)!;
  const cfg = makeJailConfig(jailParams);
  const report = capReport(compilePrison(cfg), cap);
  const rows = rowsForCap(cap);
  const privileges = rows
    .filter((r) => r.priv !== null)
    .map((r) => {
      const rule = jailRuleFor(r.priv!);
      return {
        priv: r.privName,
        number: r.priv!,
        confidence: r.confidence,
        combine: r.combine,
        note: r.note,
        jail: rule?.rule ?? 'never',
        condition: rule?.text ?? '',
      };
    });
  const unlock = new Set<string>();
  for (const p of privileges) {
    const rule = jailRuleFor(p.number);
    if (rule) for (const t of paramsInRule(rule)) unlock.add(t);
  }
  return {
    cap: info.name,
    number: cap,
    meaning: info.meaning,
    noCounterpart: capHasNoCounterpart(cap),
    ...(capHasNoCounterpart(cap) ? { noCounterpartReason: rows[0]?.note ?? '' } : {}),
    privileges,
    unlockingParameters: [...unlock],
    neverInJail: privileges.filter((p) => p.jail === 'never').map((p) => p.priv),
    capget: {
      jail: nonDefaultParams(cfg),
      reportable: report.reportable,
      rule: report.rule,
      failing: report.failing.map(privName),
    },
  };
}

export function register(program: Command): void {
  const cap = program.command('cap').description('one Linux capability seen from FreeBSD priv(9) and jails');
  cap
    .command('explain')
    .description('privileges a capability maps to, their jail rules, the parameters that unlock them')
    .argument('<CAP>', 'CAP_NET_RAW, cap_net_raw, net_raw or 13')
    .option(
      '--jail-param <K=V>',
      'judge capget reporting in this jail (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
capget on the bridge reports a capability only if every high-confidence privilege it maps to
would pass in the jail (the illumos LX rule, judged against the jail's parameters, not a
profile's privilege rules: a profile limits reporting through its capability sets only);
see docs/priv.md.

Examples:
  capctl cap explain CAP_NET_RAW
  capctl cap explain net_raw --jail-param allow.raw_sockets=1
  capctl cap explain sys_admin --json | jq '.unlockingParameters'`,
    )
    .action((name: string, opts: { jailParam: string[]; json?: boolean }) => {
      const d = describeCap(parseCapName(name), parseJailParamArgs(opts.jailParam));
      if (opts.json) {
        printJson(d);
        return;
      }
      const out: string[] = [`${d.cap} (${d.number}): ${d.meaning}`];
      if (d.noCounterpart) out.push(`  freebsd: no counterpart — ${d.noCounterpartReason}`);
      for (const p of d.privileges) {
        const jail = p.jail === 'param' ? `param ${p.condition}` : p.jail;
        out.push(`  ${p.priv} (${p.number}) [${p.confidence}] jail: ${jail}${p.note ? `\n      ${p.note}` : ''}`);
      }
      if (d.unlockingParameters.length) out.push(`  unlocked by: ${d.unlockingParameters.join(', ')}`);
      if (d.neverInJail.length) out.push(`  never in a jail: ${d.neverInJail.join(', ')}`);
      const where = d.capget.jail.length ? `a jail with ${d.capget.jail.join(' ')}` : 'a default jail';
      const why =
        d.capget.rule === 'no-counterpart'
          ? 'kept by the engine'
          : d.capget.rule === 'suser'
            ? 'allow.suser=0'
            : d.capget.failing.length
              ? `the jail refuses: ${d.capget.failing.join(', ')}`
              : d.capget.rule === 'all-high'
                ? 'the jail passes all high-confidence privileges'
                : 'the jail passes a mapped privilege';
      out.push(`  capget in ${where}: ${d.capget.reportable ? 'reported' : 'not reported'} (${why})`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
