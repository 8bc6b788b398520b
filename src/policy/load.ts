/**
 * Loading a profile: read, parse with positions, check against the JSON Schema, check names
 * (with did-you-mean), resolve `extends` (cycles and missing parents are errors that name the
 * chain), and merge parents into one resolved Profile. Nothing here decides anything; compile.ts
 * turns the result into tables.
 *
 * Every problem is collected before failing, so one run of `capctl profile validate` shows all
 * of them, each as `file:line:col: path: message`.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CapSet } from '../caps/capset.js';
import { CAP_COUNT, CAPABILITIES, closestName } from '../caps/catalog.js';
import { CapctlError } from '../caps/errors.js';
import { isSyscallName, SYSCALL_ARCH, suggestSyscall } from '../caps/syscall-names.js';
import { parseCapText } from '../caps/text.js';
import { JAIL_PARAMS, jailParamDef, makeJailConfig, PRIVS_GATED_BY } from '../priv/jail.js';
import { hashTexts } from './hash.js';
import { canonicalPrivPattern, capFromProfileName, suggestCap, suggestPriv } from './names.js';
import { profileSearchDirs } from './resolve.js';
import { schemaCheck } from './schema.js';
import { formatIssue, type PathSeg, type ProfileIssue, ProfileSource } from './source.js';
import { PROFILE_MAX_BYTES, readTrustedFile } from './trust.js';
import {
  type AuditSettings,
  type CapabilitiesDoc,
  type CapSetName,
  type Mode,
  type Profile,
  type ProfileDoc,
  type Rule,
  SET_NAMES,
  type TargetKind,
  UID_ANY_MAX,
  UID_MAX,
} from './types.js';

/** A profile that failed to load: every issue, already formatted, in the error message. */
export class ProfileError extends CapctlError {
  readonly issues: readonly ProfileIssue[];
  constructor(issues: ProfileIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super(
      'invalid-profile',
      `profile is not valid (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${issues.map(formatIssue).join('\n')}`,
    );
    this.issues = issues;
  }
}

/** One file, checked on its own (before extends are merged). */
interface FileProfile {
  src: ProfileSource;
  /** The bytes read (hashed into Profile.sha256: the hash covers exactly what was decided on). */
  text: string;
  doc: ProfileDoc;
  sets: Partial<Record<CapSetName, CapSet>>;
  add: CapSet;
  addAll: boolean;
  drop: CapSet;
  dropAll: boolean;
  rules: Rule[];
  parents: { ref: string; path: PathSeg[] }[];
}

const DEFAULT_AUDIT: AuditSettings = { log: 'denied', rateLimit: { perSecond: 100, burst: 200 } };

export { hashTexts };

/** Display a path relative to the working directory when that is shorter. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}

/** Parse a capability name list (ALL allowed where `allowAll`), recording misspellings. */
function capList(
  src: ProfileSource,
  names: readonly string[],
  path: PathSeg[],
  allowAll: boolean,
): { set: CapSet; all: boolean } {
  let set = CapSet.EMPTY;
  let all = false;
  names.forEach((n, i) => {
    if (typeof n !== 'string') return;
    if (n.toUpperCase() === 'ALL' || n.toUpperCase() === 'CAP_ALL') {
      if (allowAll) all = true;
      else src.add([...path, i], 'ALL is not allowed here');
      return;
    }
    const c = capFromProfileName(n);
    if (c === undefined) {
      const hint = suggestCap(n);
      src.add([...path, i], `unknown capability "${n}"${hint ? ` (did you mean ${hint}?)` : ''}`);
    } else set = set.add(c);
  });
  return { set: all ? CapSet.FULL : set, all };
}

/** A set given as a name list or as a libcap cap list string ("cap_chown,cap_kill", "all"). */
function capSetValue(src: ProfileSource, v: string[] | string, path: PathSeg[]): CapSet | undefined {
  if (Array.isArray(v)) return capList(src, v, path, true).set;
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (t === '') return CapSet.EMPTY;
  try {
    // A bare list is the caplist of a libcap clause; "=p" makes cap_from_text put it in P.
    return parseCapText(`${t}=p`).permitted;
  } catch {
    // Fall back to names as Docker writes them (NET_RAW,CHOWN), with did-you-mean per name.
    return capList(
      src,
      t.split(',').map((s) => s.trim()),
      path,
      true,
    ).set;
  }
}

function parseUid(src: ProfileSource, v: number | string, path: PathSeg[]): [number, number] | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= UID_MAX ? [v, v] : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(v);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi > UID_MAX || lo > UID_MAX) {
    src.add(path, `uid ${hi} is above ${UID_MAX}`);
    return undefined;
  }
  if (lo > hi) {
    src.add(path, `uid range "${v}" is empty (${lo} > ${hi}); write low-high`);
    return undefined;
  }
  return [lo, hi];
}

/** Top-level keys a profile may have (the schema's properties). */
const PROFILE_KEYS = new Set([
  'name',
  'description',
  'extends',
  'target',
  'mode',
  'capabilities',
  'rules',
  'jail',
  'audit',
  'noNewPrivs',
]);

/**
 * A file is treated as a profile (and its problems reported with positions and values) only if
 * it is text whose top level is a YAML mapping with at least one profile key. Anything else —
 * /etc/shadow, /proc/self/environ, a binary — gets one error that shows none of its content.
 */
function looksLikeProfile(src: ProfileSource, text: string): boolean {
  if (text.includes('\0')) return false;
  if (text.trim() === '') return true; // reported as "the profile is empty"
  return src.topLevelKeys()?.some((k) => PROFILE_KEYS.has(k)) ?? false;
}

/** Load one file (no extends) and run every check that needs only that file. */
function loadFile(file: string): FileProfile {
  // Regular file, size limit, as root owned by root/the invoker along the whole path (trust.ts).
  const { text } = readTrustedFile(file, { what: 'profile', maxBytes: PROFILE_MAX_BYTES });
  const src = new ProfileSource(displayPath(file), text);
  if (!looksLikeProfile(src, text)) {
    // Never echo a file that is not a profile (an `extends: /etc/shadow` must not print it).
    throw new CapctlError(
      'not-a-profile',
      `${displayPath(file)} is not a capctl profile (no top-level mapping with name:, capabilities:, rules:, …); its contents are not shown`,
    );
  }
  const fp: FileProfile = {
    src,
    text,
    doc: { name: '' },
    sets: {},
    add: CapSet.EMPTY,
    addAll: false,
    drop: CapSet.EMPTY,
    dropAll: false,
    rules: [],
    parents: [],
  };
  const data = src.toJS();
  if (src.issues.length > 0) return fp;
  if (data === null || data === undefined) {
    src.add([], 'the profile is empty (want at least `name:`)');
    return fp;
  }
  schemaCheck(src, data);
  if (typeof data !== 'object' || Array.isArray(data)) return fp;
  const doc = data as ProfileDoc;
  fp.doc = doc;

  if (doc.extends !== undefined) {
    const refs = typeof doc.extends === 'string' ? [doc.extends] : Array.isArray(doc.extends) ? doc.extends : [];
    refs.forEach((r, i) => {
      if (typeof r === 'string')
        fp.parents.push({ ref: r, path: typeof doc.extends === 'string' ? ['extends'] : ['extends', i] });
    });
  }

  const caps = doc.capabilities;
  if (caps && typeof caps === 'object') checkCapabilities(src, caps, fp);

  if (Array.isArray(doc.rules)) {
    doc.rules.forEach((r, i) => {
      const rule = checkRule(src, r, ['rules', i]);
      if (rule) fp.rules.push(rule);
    });
  }

  if (doc.jail && typeof doc.jail === 'object') checkJail(src, doc.jail);
  return fp;
}

function checkCapabilities(src: ProfileSource, caps: CapabilitiesDoc, fp: FileProfile): void {
  if (typeof caps.text === 'string') {
    for (const s of ['effective', 'permitted', 'inheritable'] as const) {
      if (caps[s] !== undefined) {
        src.add(['capabilities', s], `give ${s} either in capabilities.text or as its own key, not both`);
      }
    }
    try {
      const t = parseCapText(caps.text);
      fp.sets.effective = t.effective;
      fp.sets.permitted = t.permitted;
      fp.sets.inheritable = t.inheritable;
    } catch (err) {
      src.add(['capabilities', 'text'], (err as Error).message);
    }
  }
  for (const s of SET_NAMES) {
    const v = caps[s];
    if (v === undefined) continue;
    const set = capSetValue(src, v, ['capabilities', s]);
    if (set) fp.sets[s] = set;
  }
  if (Array.isArray(caps.add)) {
    const r = capList(src, caps.add, ['capabilities', 'add'], true);
    fp.add = r.set;
    fp.addAll = r.all;
  }
  if (Array.isArray(caps.drop)) {
    const r = capList(src, caps.drop, ['capabilities', 'drop'], true);
    fp.drop = r.set;
    fp.dropAll = r.all;
  }
}

function checkRule(src: ProfileSource, r: unknown, path: PathSeg[]): Rule | undefined {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return undefined;
  const rule = r as Record<string, unknown>;
  const objects: string[] = [];
  let ok = true;
  const caps = rule.caps;
  const privs = rule.privs;
  if (caps === undefined && privs === undefined) {
    src.add(path, 'a rule needs `caps:` or `privs:` (or both)');
    ok = false;
  }
  if (Array.isArray(caps)) {
    caps.forEach((n, i) => {
      if (typeof n !== 'string') return;
      if (n.toUpperCase() === 'ALL' || n.toUpperCase() === 'CAP_ALL') {
        objects.push('CAP_*');
        return;
      }
      const c = capFromProfileName(n);
      if (c === undefined) {
        const hint = suggestCap(n);
        src.add([...path, 'caps', i], `unknown capability "${n}"${hint ? ` (did you mean ${hint}?)` : ''}`);
        ok = false;
      } else objects.push(CAPABILITIES[c]!.name);
    });
  }
  if (Array.isArray(privs)) {
    privs.forEach((n, i) => {
      if (typeof n !== 'string') return;
      const all = n.toUpperCase() === 'ALL';
      const canon = all ? 'PRIV_*' : canonicalPrivPattern(n);
      if (canon === undefined) {
        const hint = suggestPriv(n);
        src.add(
          [...path, 'privs', i],
          `unknown privilege "${n}"${hint ? ` (did you mean ${hint}${n.endsWith('*') ? '*' : ''}?)` : ''}`,
        );
        ok = false;
      } else objects.push(canon);
    });
  }
  let uidMin = 0;
  let uidMax = UID_ANY_MAX;
  let syscalls: string[] | null = null;
  const when = rule.when as { uid?: number | string; syscall?: unknown } | undefined;
  if (when && typeof when === 'object') {
    if (when.uid !== undefined) {
      const u = parseUid(src, when.uid, [...path, 'when', 'uid']);
      if (u) [uidMin, uidMax] = u;
      else ok = false;
    }
    if (Array.isArray(when.syscall)) {
      syscalls = [...new Set(when.syscall.filter((s) => typeof s === 'string'))];
      when.syscall.forEach((n, i) => {
        if (typeof n !== 'string' || isSyscallName(n)) return;
        const hint = suggestSyscall(n);
        src.add(
          [...path, 'when', 'syscall', i],
          `unknown system call "${n}" on ${SYSCALL_ARCH}${hint ? ` (did you mean ${hint}?)` : ''}`,
        );
        ok = false;
      });
    }
  }
  const effect = rule.effect;
  const priority = rule.priority;
  if ((effect !== 'allow' && effect !== 'deny') || (priority !== undefined && !Number.isInteger(priority))) ok = false;
  if (!ok) return undefined;
  const at = src.position(path);
  const out: Rule = {
    effect: effect as 'allow' | 'deny',
    objects: [...new Set(objects)],
    uidMin,
    uidMax,
    syscalls,
    priority: (priority as number | undefined) ?? 0,
    source: `${src.file}:${at.line}:${at.col}`,
    implicit: false,
  };
  if (typeof rule.comment === 'string') out.comment = rule.comment;
  return out;
}

function checkJail(src: ProfileSource, jail: Record<string, unknown>): void {
  // allow.* parameters that gate privileges in prison_priv_check (jail-priv.tsv conditions).
  for (const [key, value] of Object.entries(jail)) {
    const base = /^allow\.no/.test(key) && !jailParamDef(key) ? key.replace(/^allow\.no/, 'allow.') : key;
    const privs = PRIVS_GATED_BY.get(base);
    if (privs) {
      src.add(
        ['jail', key],
        `${base} gates ${privs.join(', ')}; it is derived from the rules (allow or deny those privileges instead)`,
        'error',
        true,
      );
      continue;
    }
    if (key === 'path' || key === 'name') {
      src.add(
        ['jail', key],
        `"${key}" is given on the command line (capctl jail create NAME --path DIR)`,
        'error',
        true,
      );
      continue;
    }
    const def = jailParamDef(base);
    if (base.startsWith('allow.') && !def) {
      const hint = closestName(
        base,
        JAIL_PARAMS.filter((d) => d.name.startsWith('allow.')).map((d) => d.name),
      );
      src.add(['jail', key], `unknown jail parameter "${key}"${hint ? ` (did you mean ${hint}?)` : ''}`, 'error', true);
      continue;
    }
    if (def?.source === 'sysctl') {
      src.add(['jail', key], `${key} is a host sysctl, not a jail parameter`, 'error', true);
      continue;
    }
    if (def) {
      try {
        makeJailConfig({ [base]: base === key ? String(value) : '0' });
      } catch (err) {
        src.add(['jail', key], (err as Error).message);
      }
    }
  }
}

/**
 * Where `ref` (an extends entry of `from`) lives: next to `from`, then in the profile
 * directories a bare name is looked up in (resolve.ts: $CAPCTL_PROFILE_PATH, the state
 * directory's profiles/, policies/).
 */
function resolveParent(ref: string, from: string): { file?: string; tried: string[] } {
  const dir = dirname(from);
  const hasExt = /\.ya?ml$/.test(ref);
  const dirs = [dir, ...profileSearchDirs().map((d) => d.dir)];
  const candidates = isAbsolute(ref)
    ? [ref]
    : hasExt
      ? [
          resolve(dir, ref),
          ...dirs
            .slice(1)
            .filter(() => !ref.includes('/'))
            .map((d) => join(d, ref)),
        ]
      : dirs.flatMap((d) => [resolve(d, `${ref}.yaml`), resolve(d, `${ref}.yml`)]);
  const unique = [...new Set(candidates)];
  return { file: unique.find((c) => existsSync(c)), tried: unique };
}

interface Merged {
  files: string[];
  target: TargetKind | undefined;
  mode: Mode | undefined;
  noNewPrivs: boolean | undefined;
  sets: Partial<Record<CapSetName, CapSet>>;
  rules: Rule[];
  jail: Record<string, string>;
  audit: { log?: AuditSettings['log']; perSecond?: number; burst?: number };
}

function emptyMerged(): Merged {
  return {
    files: [],
    target: undefined,
    mode: undefined,
    noNewPrivs: undefined,
    sets: {},
    rules: [],
    jail: {},
    audit: {},
  };
}

/** Docker's TweakCapabilities on one set: add ALL beats drop ALL; drop ALL keeps only the adds. */
function tweak(set: CapSet, fp: FileProfile): CapSet {
  if (fp.addAll) return fp.dropAll ? CapSet.FULL : CapSet.FULL.minus(fp.drop);
  if (fp.dropAll) return fp.add;
  return set.minus(fp.drop).union(fp.add);
}

function mergeInto(m: Merged, fp: FileProfile, file: string): void {
  if (!m.files.includes(file)) m.files.push(file);
  const d = fp.doc;
  if (d.target !== undefined) m.target = d.target;
  if (d.mode !== undefined) m.mode = d.mode;
  if (typeof d.noNewPrivs === 'boolean') m.noNewPrivs = d.noNewPrivs;
  for (const s of SET_NAMES) if (fp.sets[s]) m.sets[s] = fp.sets[s];
  if (fp.addAll || fp.dropAll || !fp.add.isEmpty() || !fp.drop.isEmpty()) {
    for (const s of ['bounding', 'permitted', 'effective'] as const) {
      // Default deny: a set no file states is empty, so `add:` alone grants only what it adds.
      const base = m.sets[s] ?? CapSet.EMPTY;
      m.sets[s] = tweak(base, fp);
    }
  }
  m.rules.push(...fp.rules);
  for (const [k, v] of Object.entries(d.jail ?? {})) m.jail[k] = String(v);
  if (d.audit?.log !== undefined) m.audit.log = d.audit.log;
  if (d.audit?.rateLimit?.perSecond !== undefined) m.audit.perSecond = d.audit.rateLimit.perSecond;
  if (d.audit?.rateLimit?.burst !== undefined) m.audit.burst = d.audit.rateLimit.burst;
}

/**
 * Resolve `file` and its parents depth-first. `stack` is the chain being resolved (for cycle
 * reports); `done` caches files already merged so a diamond is loaded once.
 */
function resolveChain(
  file: string,
  stack: string[],
  cache: Map<string, FileProfile>,
  issues: ProfileIssue[],
  out: Merged,
): void {
  // A parent reached twice (a diamond) is merged once, where it first appears.
  if (out.files.includes(file)) return;
  let fp = cache.get(file);
  if (!fp) {
    fp = loadFile(file);
    cache.set(file, fp);
    issues.push(...fp.src.issues);
  }
  for (const p of fp.parents) {
    const { file: parent, tried } = resolveParent(p.ref, file);
    if (!parent) {
      fp.src.add(p.path, `parent profile "${p.ref}" not found (looked in ${tried.map(displayPath).join(', ')})`);
      issues.push(fp.src.issues.at(-1)!);
      continue;
    }
    const at = stack.indexOf(parent);
    if (at !== -1 || parent === file) {
      const cycle = [...stack.slice(at === -1 ? stack.length : at), file, parent].map(displayPath);
      fp.src.add(p.path, `extends cycle: ${cycle.join(' -> ')}`);
      issues.push(fp.src.issues.at(-1)!);
      continue;
    }
    resolveChain(parent, [...stack, file], cache, issues, out);
  }
  mergeInto(out, fp, file);
}

export interface LoadOptions {
  /** Treat warnings as errors (capctl profile validate --strict). */
  strict?: boolean;
}

/**
 * Load, validate and resolve a profile. Throws ProfileError listing every problem (in every
 * file of the extends chain) when the profile is not valid; never returns a partial profile.
 */
export function loadResolvedProfile(path: string, opts: LoadOptions = {}): Profile {
  const file = resolve(path);
  const issues: ProfileIssue[] = [];
  const cache = new Map<string, FileProfile>();
  const merged = emptyMerged();
  resolveChain(file, [], cache, issues, merged);
  const own = cache.get(file)!;
  const profile = finish(own, merged, file, issues, cache);
  const bad = issues.filter((i) => i.severity === 'error' || opts.strict);
  if (bad.length > 0) throw new ProfileError(sortIssues(issues));
  return profile;
}

function sortIssues(issues: ProfileIssue[]): ProfileIssue[] {
  const seen = new Set<string>();
  return issues
    .filter((i) => {
      const k = formatIssue(i);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => (a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1));
}

/** The resolved profile, plus the checks that need the merged sets. */
function finish(
  own: FileProfile,
  m: Merged,
  file: string,
  issues: ProfileIssue[],
  cache: Map<string, FileProfile>,
): Profile {
  const given = Object.fromEntries(SET_NAMES.map((s) => [s, m.sets[s] !== undefined])) as Record<CapSetName, boolean>;
  // Default deny: every set no file in the chain states is empty. A profile that states nothing
  // (or was truncated after its header) allows nothing; bounding is never implicitly ALL.
  const sets = {
    bounding: m.sets.bounding ?? CapSet.EMPTY,
    permitted: m.sets.permitted ?? CapSet.EMPTY,
    effective: m.sets.effective ?? CapSet.EMPTY,
    inheritable: m.sets.inheritable ?? CapSet.EMPTY,
    ambient: m.sets.ambient ?? CapSet.EMPTY,
  };
  const src = own.src;
  const at: PathSeg[] = own.doc.capabilities ? ['capabilities'] : [];
  const names = (s: CapSet) => s.toNames().join(', ');
  // capset(2) (cap_capset in security/commoncap.c): pE' must be a subset of pP'.
  const eNotP = sets.effective.minus(sets.permitted);
  if (!eNotP.isEmpty()) src.add(at, `effective has ${names(eNotP)}, not in permitted (the kernel requires E ⊆ P)`);
  // Ambient invariant (cap_ambient_invariant_ok): pA ⊆ pP ∩ pI.
  const aBad = sets.ambient.minus(sets.permitted.intersect(sets.inheritable));
  if (!aBad.isEmpty()) src.add(at, `ambient has ${names(aBad)}, not in both permitted and inheritable (A ⊆ P ∩ I)`);
  const pNotB = sets.permitted.minus(sets.bounding);
  if (!pNotB.isEmpty()) {
    src.add(at, `permitted has ${names(pNotB)}, outside bounding: lost at the next execve`, 'warning');
  }
  for (const r of m.rules) {
    if (r.effect !== 'allow') continue;
    for (const o of r.objects) {
      if (!o.startsWith('CAP_') || o.includes('*')) continue;
      const c = CAPABILITIES.findIndex((ci) => ci.name === o);
      if (c >= 0 && c < CAP_COUNT && !sets.bounding.has(c)) {
        issues.push({
          file: r.source.split(':').slice(0, -2).join(':'),
          line: Number(r.source.split(':').at(-2)),
          col: Number(r.source.split(':').at(-1)),
          path: '',
          message: `allows ${o}, which the bounding set excludes: no thread under this profile can hold it`,
          severity: 'warning',
        });
      }
    }
  }
  issues.push(...src.issues.filter((i) => !issues.includes(i)));
  const name = typeof own.doc.name === 'string' ? own.doc.name : '';
  const audit: AuditSettings = {
    log: m.audit.log ?? DEFAULT_AUDIT.log,
    rateLimit: {
      perSecond: m.audit.perSecond ?? DEFAULT_AUDIT.rateLimit.perSecond,
      burst: m.audit.burst ?? DEFAULT_AUDIT.rateLimit.burst,
    },
  };
  return {
    name,
    description: own.doc.description ?? '',
    file,
    files: m.files,
    sha256: hashTexts(m.files.map((f) => [f, cache.get(f)?.text ?? ''])),
    target: m.target,
    mode: m.mode ?? 'enforce',
    sets,
    setsGiven: given,
    noNewPrivs: m.noNewPrivs ?? false,
    rules: m.rules,
    jail: m.jail,
    audit,
    warnings: sortIssues(issues.filter((i) => i.severity === 'warning')),
  };
}
