/**
 * capctl profile validate|show|compile|diff|explain: profiles as files people write and read.
 */
import type { Command } from 'commander';
import type * as Yaml from 'yaml';
import { CapSet } from '../caps/capset.js';
import { CAP_COUNT, CAPABILITIES, capByName } from '../caps/catalog.js';
import { CapctlError, inputError } from '../caps/errors.js';
import { formatCapText } from '../caps/text.js';
import {
  buildEnforcer,
  CAP_ALLOW,
  CAP_COMPLAIN,
  type CompiledProfile,
  casbinDecide,
  describeRule,
  displayPath,
  formatIssue,
  listProfiles,
  PRIV_COMPLAIN,
  ProfileError,
  type ProfileIssue,
  type Rule,
  resolveProfile,
  SET_NAMES,
  UID_ANY_MAX,
} from '../policy/index.js';
import { privCatalog } from '../policy/privdata.js';
import { POLICY_DENY, POLICY_GRANT, POLICY_NONE } from '../priv/policy-hook.js';
import { lazyRequire } from '../util/lazy.js';
import { parseIntFlag, UID_MAX } from './flags.js';
import { formatTable, printJson } from './output.js';
import { registerFormats } from './profile-format-cmd.js';

const yaml = lazyRequire<typeof Yaml>('yaml');

const privName = (n: number) => privCatalog().byNumber.get(n) ?? `priv#${n}`;

/** A rule as a profile would write it (so `show` prints a loadable profile). */
function ruleDoc(r: Rule): Record<string, unknown> {
  const caps = r.objects.filter((o) => o.startsWith('CAP_')).map((o) => (o === 'CAP_*' ? 'ALL' : o));
  const privs = r.objects.filter((o) => o.startsWith('PRIV_'));
  const out: Record<string, unknown> = { effect: r.effect };
  if (caps.length) out.caps = caps;
  if (privs.length) out.privs = privs;
  const when: Record<string, unknown> = {};
  if (r.uidMin !== 0 || r.uidMax !== UID_ANY_MAX)
    when.uid = r.uidMin === r.uidMax ? r.uidMin : `${r.uidMin}-${r.uidMax}`;
  if (r.syscalls) when.syscall = [...r.syscalls];
  if (Object.keys(when).length) out.when = when;
  if (r.priority !== 0) out.priority = r.priority;
  if (r.comment) out.comment = r.comment;
  return out;
}

function resolvedDoc(p: CompiledProfile): Record<string, unknown> {
  const pr = p.profile;
  const doc: Record<string, unknown> = { name: pr.name };
  if (pr.description) doc.description = pr.description;
  if (pr.target) doc.target = pr.target;
  doc.mode = pr.mode;
  doc.capabilities = Object.fromEntries(SET_NAMES.map((s) => [s, pr.sets[s].toNames()]));
  if (pr.noNewPrivs) doc.noNewPrivs = true;
  doc.rules = pr.rules.map(ruleDoc);
  if (Object.keys(pr.jail).length) doc.jail = { ...pr.jail };
  doc.audit = pr.audit;
  return doc;
}

function showJson(p: CompiledProfile) {
  const pr = p.profile;
  return {
    ...resolvedDoc(p),
    files: pr.files,
    capabilities: Object.fromEntries(
      SET_NAMES.map((s) => [s, { names: pr.sets[s].toNames(), hex: pr.sets[s].toHex(), given: pr.setsGiven[s] }]),
    ),
    text: formatCapText(pr.sets),
    rules: pr.rules.map((r) => ({ ...ruleDoc(r), source: r.source })),
    warnings: pr.warnings,
  };
}

function capNames(lo: number, hi: number): string[] {
  return CapSet.fromWords(lo, hi).toNames();
}

function chainText(p: CompiledProfile, chain: { rules: Int32Array; fallback: number }): string[] {
  return [
    ...[...chain.rules].map((r) => describeRule(p.rules[r]!)),
    chain.fallback >= 0 ? `else ${describeRule(p.rules[chain.fallback]!)}` : 'else no rule',
  ];
}

function compileJson(p: CompiledProfile) {
  const grant: string[] = [];
  const deny: string[] = [];
  const conditional: { priv: string; chain: string[] }[] = [];
  for (const n of privCatalog().byNumber.keys()) {
    const w = n >>> 5;
    const bit = 1 << (n & 31);
    if (p.privCondBits[w]! & bit) conditional.push({ priv: privName(n), chain: chainText(p, p.privChains[n]!) });
    else if (p.privGrantBits[w]! & bit) grant.push(privName(n));
    else if (p.privDenyBits[w]! & bit) deny.push(privName(n));
  }
  const capCond: { cap: string; chain: string[] }[] = [];
  for (let c = 0; c < CAP_COUNT; c++) {
    const ch = p.capChains[c];
    if (ch) capCond.push({ cap: CAPABILITIES[c]!.name, chain: chainText(p, ch) });
  }
  const verdictNames = (v: number) =>
    [...privCatalog().byNumber.keys()].filter((n) => p.privVerdicts[n] === v).map(privName);
  return {
    name: p.name,
    mode: p.mode,
    rules: p.rules.length,
    capabilities: {
      allow: CapSet.fromWords(p.capAllowBitsLo, p.capAllowBitsHi).toHex(),
      conditional: CapSet.fromWords(p.capCondLo, p.capCondHi).toHex(),
      allowed: capNames(p.capAllowBitsLo, p.capAllowBitsHi),
      chains: capCond,
    },
    privileges: { grant, deny, chains: conditional },
    privPolicy: {
      capAllow: CapSet.fromWords(p.capAllowLo, p.capAllowHi).toHex(),
      grant: verdictNames(POLICY_GRANT),
      deny: verdictNames(POLICY_DENY),
    },
  };
}

function printIssues(issues: readonly ProfileIssue[]): void {
  for (const i of issues) process.stderr.write(`${formatIssue(i)}\n`);
}

/** `CAP_NET_RAW uid=0 syscall=socket`, `net_raw`, `PRIV_NETINET_RAW`, `497`. */
export function parseRequest(words: readonly string[], opts: { uid?: string; syscall?: string }) {
  let obj: string | undefined;
  let uid = opts.uid !== undefined ? opts.uid : '0';
  let sc = opts.syscall ?? '';
  for (const w of words.flatMap((x) => x.split(/\s+/)).filter(Boolean)) {
    const kv = /^(uid|syscall|sc)=(.*)$/.exec(w);
    if (kv) {
      if (kv[1] === 'uid') uid = kv[2]!;
      else sc = kv[2]!;
    } else if (obj === undefined) obj = w;
    else throw inputError('usage', `unexpected "${w}" in the request (want OBJECT [uid=N] [syscall=NAME])`);
  }
  if (obj === undefined) throw inputError('usage', 'no request given (e.g. CAP_NET_RAW uid=0 syscall=socket)');
  const uidN = parseIntFlag('uid', uid, { max: UID_MAX, what: 'a uid' });
  const cat = privCatalog();
  const cap = capByName(obj);
  if (cap !== undefined) return { kind: 'cap' as const, n: cap, name: CAPABILITIES[cap]!.name, uid: uidN, sc };
  const upper = obj.toUpperCase();
  const pn = /^\d+$/.test(obj) ? Number(obj) : cat.byName.get(upper.startsWith('PRIV_') ? upper : `PRIV_${upper}`);
  if (pn !== undefined && cat.byNumber.has(pn))
    return { kind: 'priv' as const, n: pn, name: privName(pn), uid: uidN, sc };
  throw inputError('usage', `"${obj}" is neither a capability nor a privilege`);
}

export function register(program: Command): void {
  const profile = program
    .command('profile')
    .description('check, print, compile, compare and explain YAML capability/privilege profiles')
    .addHelpText(
      'after',
      `
PROFILE is a profile name or a path. A bare name (no "/", no .yaml/.yml suffix) is looked up in
$CAPCTL_PROFILE_PATH (colon-separated directories), then STATE_DIR/profiles, then the stock
profiles (capctl profile list shows them all); anything else is a path, so a file "ping" in the
working directory is ./ping. See docs/policy.md for the format.

Examples:
  capctl profile list
  capctl profile validate web.yaml
  capctl profile show podman-default
  capctl profile explain nginx NET_BIND_SERVICE uid=101   # deny for a worker uid: exit 1`,
    );

  registerFormats(profile);

  profile
    .command('list')
    .description(
      'list the profiles reachable by name, in lookup order ($CAPCTL_PROFILE_PATH, STATE_DIR/profiles, stock)',
    )
    .option('--state-dir <DIR>', 'state directory whose profiles/ is searched')
    .option('--all', 'also list profiles shadowed by an earlier directory')
    .option('--json', 'print JSON: [{name, file, source, shadowedBy?}]')
    .addHelpText('after', "\nExamples:\n  capctl profile list\n  capctl profile list --json | jq -r '.[].name'")
    .action((opts: { stateDir?: string; all?: boolean; json?: boolean }) => {
      const rows = listProfiles({ stateDir: opts.stateDir }).filter((p) => opts.all || p.shadowedBy === undefined);
      if (opts.json) return printJson(rows);
      process.stdout.write(
        `${formatTable(
          ['NAME', 'SOURCE', 'FILE'],
          rows.map((r) => [r.name, r.source, r.shadowedBy ? `${r.file} (shadowed by ${r.shadowedBy})` : r.file]),
        )}\n`,
      );
    });

  profile
    .command('validate')
    .description('validate profiles against the schema and the capability/privilege catalogs; report every problem')
    .argument('<PROFILE...>', 'profile files or stock names')
    .option('--strict', 'treat warnings as errors')
    .option('--json', 'print a JSON array of {file, valid, errors, warnings}')
    .addHelpText(
      'after',
      '\nExit status: 0 all valid, 2 otherwise.\n\nExamples:\n  capctl profile validate policies/*.yaml\n  capctl profile validate --json web.yaml | jq .[0].errors',
    )
    .action((files: string[], opts: { strict?: boolean; json?: boolean }) => {
      const results: {
        file: string;
        valid: boolean;
        name?: string;
        errors: ProfileIssue[];
        warnings: ProfileIssue[];
      }[] = [];
      for (const f of files) {
        try {
          const p = resolveProfile(f, { strict: opts.strict });
          results.push({ file: f, valid: true, name: p.name, errors: [], warnings: [...p.profile.warnings] });
        } catch (err) {
          if (err instanceof ProfileError) {
            results.push({
              file: f,
              valid: false,
              errors: err.issues.filter((i) => i.severity === 'error' || opts.strict),
              warnings: err.issues.filter((i) => i.severity === 'warning' && !opts.strict),
            });
          } else if (err instanceof CapctlError) {
            results.push({
              file: f,
              valid: false,
              errors: [{ file: f, line: 0, col: 0, path: '', message: err.message, severity: 'error' }],
              warnings: [],
            });
          } else throw err;
        }
      }
      if (opts.json) printJson(results);
      else {
        for (const r of results) {
          printIssues([...r.errors, ...r.warnings]);
          if (r.valid)
            process.stdout.write(
              `${r.file}: ok (${r.name})${r.warnings.length ? `, ${r.warnings.length} warning(s)` : ''}\n`,
            );
          else process.stdout.write(`${r.file}: invalid, ${r.errors.length} error(s)\n`);
        }
      }
      if (results.some((r) => !r.valid)) process.exitCode = 2;
    });

  profile
    .command('show')
    .description('print the resolved profile (after extends) as a loadable YAML profile')
    .argument('<PROFILE>')
    .option('--json', 'print JSON with hex masks, rule sources and the files merged')
    .addHelpText(
      'after',
      '\nExamples:\n  capctl profile show k8s-restricted\n  capctl profile show --json web.yaml | jq .capabilities.effective.hex',
    )
    .action((file: string, opts: { json?: boolean }) => {
      const p = resolveProfile(file);
      if (opts.json) return printJson(showJson(p));
      const head = `# resolved from ${p.profile.files.map(displayPath).join(' <- ')}\n`;
      process.stdout.write(head + yaml().stringify(resolvedDoc(p), { flowCollectionPadding: false }));
    });

  profile
    .command('compile')
    .description('print the decision tables the profile compiles to (bitmasks, conditional chains, priv_check tables)')
    .argument('<PROFILE>')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  capctl profile compile docker-default\n  capctl profile compile --json ping | jq .privileges.chains',
    )
    .action((file: string, opts: { json?: boolean }) => {
      const t = compileJson(resolveProfile(file));
      if (opts.json) return printJson(t);
      const out: string[] = [];
      out.push(`profile ${t.name} (${t.mode}), ${t.rules} rules including implicit ones`);
      out.push(`capabilities  allow mask ${t.capabilities.allow}  conditional mask ${t.capabilities.conditional}`);
      out.push(`  allowed: ${t.capabilities.allowed.join(' ') || '(none)'}`);
      for (const c of t.capabilities.chains) out.push(`  ${c.cap}: ${c.chain.join('; ')}`);
      out.push(
        `privileges    grant ${t.privileges.grant.length}  deny ${t.privileges.deny.length}  conditional ${t.privileges.chains.length}`,
      );
      if (t.privileges.grant.length) out.push(`  grant: ${t.privileges.grant.join(' ')}`);
      if (t.privileges.deny.length) out.push(`  deny: ${t.privileges.deny.join(' ')}`);
      for (const c of t.privileges.chains) out.push(`  ${c.priv}: ${c.chain.join('; ')}`);
      out.push(
        `priv_check tables (PrivPolicy): capAllow ${t.privPolicy.capAllow}, ${t.privPolicy.deny.length} vetoed, ${t.privPolicy.grant.length} granted`,
      );
      process.stdout.write(`${out.join('\n')}\n`);
    });

  profile
    .command('diff')
    .description('compare two profiles as sets: capability sets, allowed capabilities, privilege verdicts, settings')
    .argument('<A>')
    .argument('<B>')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExit status: 0 same, 1 different (as diff(1)).\n\nExamples:\n  capctl profile diff docker-default podman-default   # they differ: exit 1',
    )
    .action((a: string, b: string, opts: { json?: boolean }) => {
      const pa = resolveProfile(a);
      const pb = resolveProfile(b);
      const sets = Object.fromEntries(
        SET_NAMES.map((s) => [
          s,
          {
            onlyA: pa.profile.sets[s].minus(pb.profile.sets[s]).toNames(),
            onlyB: pb.profile.sets[s].minus(pa.profile.sets[s]).toNames(),
          },
        ]),
      );
      const allowA = CapSet.fromWords(pa.capAllowLo, pa.capAllowHi);
      const allowB = CapSet.fromWords(pb.capAllowLo, pb.capAllowHi);
      const verdict = ['none', 'deny', 'grant'];
      const privs: { priv: string; a: string; b: string }[] = [];
      for (const n of privCatalog().byNumber.keys()) {
        if (pa.privVerdicts[n] !== pb.privVerdicts[n]) {
          privs.push({ priv: privName(n), a: verdict[pa.privVerdicts[n]!]!, b: verdict[pb.privVerdicts[n]!]! });
        }
      }
      const settings: { key: string; a: string; b: string }[] = [];
      const cmp = (key: string, x: unknown, y: unknown) => {
        const sx = JSON.stringify(x) ?? 'unset';
        const sy = JSON.stringify(y) ?? 'unset';
        if (sx !== sy) settings.push({ key, a: sx, b: sy });
      };
      cmp('mode', pa.mode, pb.mode);
      cmp('target', pa.profile.target, pb.profile.target);
      cmp('jail', pa.profile.jail, pb.profile.jail);
      cmp('audit', pa.audit, pb.audit);
      const result = {
        a: pa.profile.file,
        b: pb.profile.file,
        sets,
        allowedCaps: { onlyA: allowA.minus(allowB).toNames(), onlyB: allowB.minus(allowA).toNames() },
        privileges: privs,
        settings,
      };
      const same =
        Object.values(sets).every((d) => d.onlyA.length === 0 && d.onlyB.length === 0) &&
        result.allowedCaps.onlyA.length === 0 &&
        result.allowedCaps.onlyB.length === 0 &&
        privs.length === 0 &&
        settings.length === 0;
      if (opts.json) printJson({ same, ...result });
      else if (same) process.stdout.write('profiles decide the same\n');
      else {
        const out = [`--- ${displayPath(pa.profile.file)}`, `+++ ${displayPath(pb.profile.file)}`];
        for (const [s, d] of Object.entries(sets)) {
          for (const n of d.onlyA) out.push(`- ${s}: ${n}`);
          for (const n of d.onlyB) out.push(`+ ${s}: ${n}`);
        }
        for (const n of result.allowedCaps.onlyA) out.push(`- allowed: ${n}`);
        for (const n of result.allowedCaps.onlyB) out.push(`+ allowed: ${n}`);
        for (const d of privs) out.push(`~ ${d.priv}: ${d.a} -> ${d.b}`);
        for (const d of settings) out.push(`~ ${d.key}: ${d.a} -> ${d.b}`);
        process.stdout.write(`${out.join('\n')}\n`);
      }
      if (!same) process.exitCode = 1;
    });

  profile
    .command('explain')
    .description('decide one request and show the rule that decided it (checked against casbin enforceExSync)')
    .argument('<PROFILE>')
    .argument('<REQUEST...>', 'OBJECT [uid=N] [syscall=NAME]; OBJECT is a capability or a privilege (name or number)')
    .option('--uid <N>', 'uid making the check (default 0)')
    .option('--syscall <NAME>', 'system call making the check (default: none)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Exit status: 0 allowed (or no verdict for a privilege), 1 denied, 2 bad input.

Examples:
  capctl profile explain nginx NET_BIND_SERVICE uid=101   # deny for a worker uid: exit 1
  capctl profile explain ping PRIV_NETINET_RAW syscall=socket
  capctl profile explain linux-kmod-build 'PRIV_VFS_CHROOT uid=0 syscall=chroot' --json`,
    )
    .action(async (file: string, words: string[], opts: { uid?: string; syscall?: string; json?: boolean }) => {
      const p = resolveProfile(file);
      const req = parseRequest(words, opts);
      let decision: string;
      let rule: number;
      let denied: boolean;
      if (req.kind === 'cap') {
        const d = p.decideCap(req.n, req.uid, req.sc);
        decision =
          d === CAP_ALLOW
            ? 'allow'
            : d === CAP_COMPLAIN
              ? 'allow (complain mode: enforce would deny; audited)'
              : 'deny';
        denied = d !== CAP_ALLOW && d !== CAP_COMPLAIN;
        rule = p.capRuleFor(req.n, req.uid, req.sc);
      } else {
        const d = p.decidePriv(req.n, req.uid, req.sc);
        decision =
          d === POLICY_GRANT
            ? 'grant (priv_check grant stage)'
            : d === POLICY_DENY
              ? 'deny (priv_check policy veto)'
              : d === PRIV_COMPLAIN
                ? 'no veto (complain mode: enforce would deny; audited)'
                : 'no verdict (the jail filter, superuser and capability stages decide)';
        denied = d === POLICY_DENY;
        rule = p.privRuleFor(req.n, req.uid, req.sc);
        if (d === POLICY_NONE && rule >= 0) throw new Error('internal: a rule decided but the verdict is none');
      }
      const e = await buildEnforcer(p.rules);
      const ref = casbinDecide(e, req.name, req.uid, req.sc);
      const agrees = ref.rule === rule;
      const ruleText = rule >= 0 ? describeRule(p.rules[rule]!) : 'no rule matches';
      if (opts.json) {
        printJson({
          profile: p.name,
          mode: p.mode,
          request: { object: req.name, uid: req.uid, syscall: req.sc },
          decision,
          denied,
          rule: rule >= 0 ? { index: rule, ...ruleDoc(p.rules[rule]!), source: p.rules[rule]!.source } : null,
          casbin: { allow: ref.allow, rule: ref.rule, agrees },
        });
      } else {
        process.stdout.write(
          `${[
            `request:  ${req.name} uid=${req.uid} syscall=${req.sc || '-'}`,
            `decision: ${decision}`,
            `rule:     ${ruleText}`,
            `casbin:   enforceExSync -> ${ref.allow}${ref.rule >= 0 ? ` by rule #${ref.rule}` : ', no policy line matched'} (${agrees ? 'agrees' : 'DISAGREES'})`,
          ].join('\n')}\n`,
        );
      }
      if (!agrees)
        throw new CapctlError('divergence', 'compiled tables and casbin disagree: please report this', 'denied');
      if (denied) process.exitCode = 1;
    });
}
