/**
 * Differential tests of the libcap text format against libcap 2.66 on this machine:
 *  - libcap.so.2 through koffi (test/oracles/libcap.ts) for the bulk: any set, any text;
 *  - capsh itself (`capsh --caps=TEXT --print`, the `Current: ` line) for a sizeable sample,
 *    batched in one bash loop, restricted to sets this process can hand to a child.
 * The capctl side runs as the built CLI in one batch process (`capctl text -k -`), so the
 * whole path (stdin batch, parse, format, output) is what is compared.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { CAP_COUNT, CAPABILITIES } from '../../src/caps/catalog.js';
import { formatCapText, parseCapText } from '../../src/caps/text.js';
import { loadLibcap, type OracleSets, type Words } from '../oracles/libcap.js';
import { CLI_BUILT, capctl, hasTool, holdable, prng, run, SEED } from './helpers.js';

const oracle = loadLibcap();
const HAVE_CAPSH = hasTool('capsh') && hasTool('bash');
const TRIPLES = 10_000;
const TEXTS = 10_000;
// The real capsh is the oracle for the full counts, not only libcap through FFI: each capsh run
// is a process (2.5–15 ms depending on the machine), so these two tests take most of this file's time.
const CAPSH_TRIPLES = 10_000;
const CAPSH_TEXTS = 10_000;
const CAPSH_TIMEOUT_MS = 300_000;

const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const chance = (p: number) => rand() < p;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'capctl-textdiff-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---- random sets and texts ----------------------------------------------------------------

function subset(of: CapSet, density: number): CapSet {
  let lo = 0;
  let hi = 0;
  for (const c of of) {
    if (!chance(density)) continue;
    if (c < 32) lo |= 1 << c;
    else hi |= 1 << (c - 32);
  }
  return CapSet.fromWords(lo, hi);
}

const DENSITIES = [0, 0.05, 0.3, 0.5, 0.7, 0.95, 1];

/** A triple capsh can set from here: E ⊆ P ⊆ held P, I ⊆ what pI may become. */
function randomTriple(held: { permitted: CapSet; inheritable: CapSet }) {
  const permitted = subset(held.permitted, pick(DENSITIES));
  const effective = chance(0.3) ? permitted : chance(0.15) ? CapSet.EMPTY : subset(permitted, pick(DENSITIES));
  const inheritable = chance(0.25) ? CapSet.EMPTY : subset(held.inheritable, pick(DENSITIES));
  return { effective, permitted, inheritable };
}

/** One way of spelling cap n in libcap text: any-case name, decimal, octal or hex. */
function spell(n: number): string {
  const r = rand();
  if (n >= CAP_COUNT || r < 0.1) return String(n);
  if (r < 0.15) return `0${n.toString(8)}`;
  if (r < 0.2) return `0x${n.toString(16)}`;
  if (r < 0.25) return `0X${n.toString(16).toUpperCase()}`;
  const name = CAPABILITIES[n]!.libcapName;
  const s = rand();
  if (s < 0.5) return name;
  if (s < 0.7) return name.toUpperCase();
  return [...name].map((c) => (chance(0.5) ? c.toUpperCase() : c)).join('');
}

const FLAGS = ['', 'e', 'p', 'ep', 'i', 'ei', 'ip', 'eip'] as const;
function flagText(state: number): string {
  return [...FLAGS[state]!].sort(() => rand() - 0.5).join('');
}

function stateOf(t: { effective: CapSet; permitted: CapSet; inheritable: CapSet }, n: number): number {
  return (t.effective.has(n) ? 1 : 0) | (t.permitted.has(n) ? 2 : 0) | (t.inheritable.has(n) ? 4 : 0);
}

/** A non-canonical text for a triple, in one of several styles. */
function textForTriple(t: { effective: CapSet; permitted: CapSet; inheritable: CapSet }): string {
  const caps = [...Array(CAP_COUNT).keys()].sort(() => rand() - 0.5);
  const style = rand();
  const clauses: string[] = [];
  if (style < 0.35) {
    // Group by state, each group "list=flags" (= clears the listed caps first).
    const groups = new Map<number, number[]>();
    for (const n of caps) {
      const s = stateOf(t, n);
      if (s) groups.set(s, [...(groups.get(s) ?? []), n]);
    }
    for (const [s, ns] of groups) clauses.push(`${ns.map(spell).join(',')}=${flagText(s)}`);
    if (clauses.length === 0) clauses.push(pick(['=', 'all=', '', 'all-eip']));
  } else if (style < 0.7) {
    // Start from "all=m" and fix each other cap up with a chained -/+ clause.
    const m = Math.floor(rand() * 8);
    clauses.push(`${chance(0.5) ? 'all' : pick(['ALL', 'All', ''])}=${flagText(m)}`);
    for (const n of caps) {
      const s = stateOf(t, n);
      if (s === m) continue;
      const del = m & ~s;
      const add = s & ~m;
      const ops = [del ? `-${flagText(del)}` : '', add ? `+${flagText(add)}` : ''];
      if (chance(0.5)) ops.reverse();
      clauses.push(`${spell(n)}${ops.join('')}`);
    }
  } else {
    // One flag at a time, in random order, plus harmless no-ops.
    for (const n of caps) {
      const s = stateOf(t, n);
      for (const f of [1, 2, 4]) if (s & f) clauses.push(`${spell(n)}+${FLAGS[f]}`);
      if (chance(0.05)) clauses.push(`${spell(n)}-${flagText(7 & ~s) || 'e'}${s & 1 ? '+e' : ''}`);
    }
    clauses.sort(() => rand() - 0.5);
    // Removing flags not in s is a no-op only if it happens before the additions; put them first.
    clauses.sort((a, b) => Number(a.includes('+')) - Number(b.includes('+')));
  }
  const sep = () => pick([' ', ' ', ' ', '  ', '\t', ' \t ']);
  return (chance(0.1) ? sep() : '') + clauses.join(sep()) + (chance(0.1) ? sep() : '');
}

const BAD_NAMES = ['cap_chwon', 'cap_net_rwa', 'net_raw', 'cap_', 'cap_sys_admin2', 'foo', 'cap_bpff', '_'];

/** Random texts, valid and invalid, exercising every corner of the grammar. */
function randomText(): string {
  const nClauses = Math.floor(rand() * 4) + (chance(0.05) ? 0 : 1);
  const clauses: string[] = [];
  for (let c = 0; c < nClauses; c++) {
    let clause = '';
    if (!chance(0.08)) {
      const items: string[] = [];
      const nItems = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < nItems; k++) {
        const r = rand();
        if (r < 0.1) items.push(pick(['all', 'ALL', 'All', 'aLl']));
        else if (r < 0.15)
          items.push(String(41 + Math.floor(rand() * 23))); // beyond the kernel's caps
        else if (r < 0.18) items.push(pick(['64', '65', '0100', '0x40', '999', '077', '0x3f', '00', '0', '0x']));
        else if (r < 0.22) items.push(pick(BAD_NAMES));
        else items.push(spell(Math.floor(rand() * CAP_COUNT)));
      }
      clause = items.join(chance(0.03) ? ',,' : ',');
    }
    const nOps = chance(0.7) ? 1 : 1 + Math.floor(rand() * 3);
    for (let o = 0; o < nOps; o++) {
      const op = pick(['=', '=', '+', '+', '-', '=+', '=-']);
      let flags = flagText(Math.floor(rand() * 8));
      if (chance(0.04)) flags += pick(['E', 'x', 'P', 'a', ',', '=']);
      clause += op + flags;
    }
    if (chance(0.03)) clause = clause.slice(0, Math.floor(rand() * clause.length));
    if (chance(0.02)) clause += pick([',', '+', '-', '==', 'e e', ',cap_chown']);
    clauses.push(clause);
  }
  const sep = () => pick([' ', ' ', '  ', '\t', '\v', '\f']);
  return (chance(0.05) ? sep() : '') + clauses.join(sep()) + (chance(0.05) ? sep() : '');
}

// ---- oracle glue ----------------------------------------------------------------------------

const words = (s: CapSet): Words => ({ lo: s.lo, hi: s.hi });

function parsedWords(text: string): OracleSets {
  const p = parseCapText(text);
  return {
    effective: { lo: p.effective.lo, hi: (p.effective.hi | p.beyond.effective) >>> 0 },
    permitted: { lo: p.permitted.lo, hi: (p.permitted.hi | p.beyond.permitted) >>> 0 },
    inheritable: { lo: p.inheritable.lo, hi: (p.inheritable.hi | p.beyond.inheritable) >>> 0 },
  };
}

/**
 * capsh --caps=TEXT --print for each text; returns the Current: texts in order. Two bash loops
 * (one per core: vitest runs this file alone) each take half the texts. Only capsh is spawned
 * per text: its output goes to a file and `read` takes the first line (Current:), because a
 * `$(...)` would fork a subshell per text too, doubling the process count on machines where
 * fork+exec costs 10 ms or more.
 */
function capshCurrent(texts: string[]): string[] {
  const base = join(tmp, `capsh-${texts.length}-${Math.floor(rand() * 1e9)}`);
  const half = Math.ceil(texts.length / 2);
  writeFileSync(
    `${base}.a`,
    texts
      .slice(0, half)
      .map((t) => `${t}\n`)
      .join(''),
  );
  writeFileSync(
    `${base}.b`,
    texts
      .slice(half)
      .map((t) => `${t}\n`)
      .join(''),
  );
  const script =
    'loop() { while IFS= read -r t; do capsh "--caps=$t" --print > "$1.cur" 2>&1; IFS= read -r line < "$1.cur"; ' +
    'printf "%s\\n" "$line"; done < "$1" > "$1.out"; }; loop "$1.a" & loop "$1.b" & wait; cat "$1.a.out" "$1.b.out"';
  const r = run('bash', ['-c', script, 'capsh-batch', base]);
  expect(r.status).toBe(0);
  const lines = r.stdout.split('\n');
  lines.pop();
  expect(lines).toHaveLength(texts.length);
  return lines.map((l) => (l.startsWith('Current: ') ? l.slice('Current: '.length) : `<capsh failed: ${l}>`));
}

function cliBatch(texts: string[]): string[] {
  const r = capctl(['text', '-k', '-'], `${texts.join('\n')}\n`);
  const lines = r.stdout.split('\n');
  lines.pop();
  expect(lines).toHaveLength(texts.length);
  return lines;
}

/** Report at most a few mismatches, with the seed, instead of 10,000 assertion lines. */
function expectNoMismatch(mismatches: string[], what: string): void {
  expect(mismatches.slice(0, 5), `${mismatches.length} ${what} mismatches (seed ${SEED})`).toEqual([]);
}

// ---- tests ------------------------------------------------------------------------------------

describe.runIf(oracle !== undefined)('text format vs libcap.so.2 (koffi oracle)', () => {
  const held = holdable();
  const triples = Array.from({ length: TRIPLES }, () => randomTriple(held));

  it(`formats ${TRIPLES} random holdable (e, p, i) triples exactly as cap_to_text`, () => {
    const bad: string[] = [];
    for (const t of triples) {
      const want = oracle!.format({
        effective: words(t.effective),
        permitted: words(t.permitted),
        inheritable: words(t.inheritable),
      });
      const got = formatCapText(t);
      if (got !== want) bad.push(`${t.effective}/${t.permitted}/${t.inheritable}: ${got} != ${want}`);
    }
    expectNoMismatch(bad, 'format');
  });

  it.runIf(CLI_BUILT)(`capctl text - prints cap_to_text(cap_from_text()) for texts of ${TRIPLES} triples`, () => {
    const texts = triples.map(textForTriple);
    const got = cliBatch(texts);
    const bad: string[] = [];
    texts.forEach((text, i) => {
      const want = oracle!.roundTrip(text);
      const canonical = formatCapText(triples[i]!);
      if (got[i] !== want || want !== canonical)
        bad.push(`${JSON.stringify(text)}: ${got[i]} / ${want} / ${canonical}`);
    });
    expectNoMismatch(bad, 'round-trip');
  });

  it.runIf(CLI_BUILT)('capctl text --effective/--permitted/--inheritable formats hex sets as cap_to_text', () => {
    for (const t of triples.slice(0, 8)) {
      const r = capctl([
        'text',
        '--effective',
        t.effective.toHex(),
        '--permitted',
        t.permitted.toHex(),
        '--inheritable',
        t.inheritable.toHex(),
      ]);
      expect(r.status).toBe(0);
      const want = oracle!.format({
        effective: words(t.effective),
        permitted: words(t.permitted),
        inheritable: words(t.inheritable),
      });
      expect(r.stdout).toBe(`${want}\n`);
    }
  });

  it.runIf(CLI_BUILT)(`accepts and rejects the same ${TEXTS} random texts as cap_from_text`, () => {
    const texts = Array.from({ length: TEXTS }, randomText);
    const got = cliBatch(texts);
    const bad: string[] = [];
    let rejected = 0;
    texts.forEach((text, i) => {
      const want = oracle!.roundTrip(text);
      if (want === null) rejected++;
      if ((got[i] === '' ? null : got[i]) !== want)
        bad.push(`${JSON.stringify(text)}: capctl ${got[i]} libcap ${want}`);
      else if (want !== null) {
        const sets = oracle!.parse(text);
        if (JSON.stringify(parsedWords(text)) !== JSON.stringify(sets))
          bad.push(`${JSON.stringify(text)}: sets differ`);
      }
    });
    expectNoMismatch(bad, 'text');
    // The generator must produce both kinds in bulk, or the comparison proves little.
    expect(rejected).toBeGreaterThan(TEXTS * 0.1);
    expect(rejected).toBeLessThan(TEXTS * 0.9);
  });

  describe.runIf(HAVE_CAPSH)('and capsh --caps=TEXT --print itself', () => {
    it(
      `capsh prints the same Current: for ${CAPSH_TRIPLES} triples as capctl text`,
      () => {
        const sample = triples.slice(0, CAPSH_TRIPLES);
        const texts = sample.map(textForTriple);
        const fromCapsh = capshCurrent(texts);
        const fromCli = cliBatch(texts);
        const bad: string[] = [];
        texts.forEach((text, i) => {
          if (fromCapsh[i] !== fromCli[i])
            bad.push(`${JSON.stringify(text)}: capsh ${fromCapsh[i]} capctl ${fromCli[i]}`);
        });
        expectNoMismatch(bad, 'capsh');
      },
      CAPSH_TIMEOUT_MS,
    );

    it(
      `capsh agrees on ${CAPSH_TEXTS} random grammar texts made holdable`,
      () => {
        const texts: string[] = [];
        while (texts.length < CAPSH_TEXTS) {
          const t = randomText();
          const sets = oracle!.parse(t);
          if (sets === null || /^\s*$/.test(t)) continue;
          // Append clauses that take away what a child of this process cannot hold (bits 41..63,
          // caps outside the held sets, E outside P), keeping the original text as written.
          const e = CapSet.fromWords(sets.effective.lo, sets.effective.hi);
          const p = CapSet.fromWords(sets.permitted.lo, sets.permitted.hi);
          const i = CapSet.fromWords(sets.inheritable.lo, sets.inheritable.hi);
          const dropP = p.minus(held.permitted);
          const dropE = e.minus(p.minus(dropP));
          const dropI = i.minus(held.inheritable);
          const fix: string[] = [];
          if (!dropP.isEmpty()) fix.push(`${dropP.toArray().map(spell).join(',')}-p`);
          if (!dropE.isEmpty()) fix.push(`${dropE.toArray().map(spell).join(',')}-e`);
          if (!dropI.isEmpty()) fix.push(`${dropI.toArray().map(spell).join(',')}-i`);
          const beyond = (sets.effective.hi | sets.permitted.hi | sets.inheritable.hi) & ~0x1ff;
          const high: number[] = [];
          for (let b = 9; b < 32; b++) if ((beyond >>> b) & 1) high.push(32 + b);
          if (high.length) fix.push(`${high.join(',')}-eip`);
          texts.push([t, ...fix].join(' '));
        }
        const fromCapsh = capshCurrent(texts);
        const fromCli = cliBatch(texts);
        const bad: string[] = [];
        texts.forEach((text, i) => {
          if (fromCapsh[i] !== fromCli[i])
            bad.push(`${JSON.stringify(text)}: capsh ${fromCapsh[i]} capctl ${fromCli[i]}`);
        });
        expectNoMismatch(bad, 'capsh text');
      },
      CAPSH_TIMEOUT_MS,
    );
  });
});

describe('text format fixed vectors (libcap 2.66, ecosystem survey §A)', () => {
  const vectors: [string, string | null][] = [
    ['', '='],
    ['=', '='],
    ['all=', '='],
    ['=ep', '=ep'],
    ['all+pie', '=eip'],
    ['cap_net_raw,cap_net_admin+ep', 'cap_net_admin,cap_net_raw=ep'],
    ['13,12+ep', 'cap_net_admin,cap_net_raw=ep'],
    ['all=eip cap_sys_admin-e', '=eip cap_sys_admin-e'],
    ['cap_chown,cap_kill=p cap_kill+e', 'cap_kill=ep cap_chown+p'],
    ['= cap_setfcap,cap_chown+iep cap_chown-i', 'cap_setfcap=eip cap_chown+ep'],
    ['=i =p', '=p'],
    ['all=p+ie-e', '=ip'],
    ['013+ep', 'cap_net_broadcast=ep'],
    ['45+ep cap_chown+ep', 'cap_chown=ep 45+ep'],
    // libcap's forceall() assigns the list: numbers above cap_last_cap before `all` are lost.
    ['57,all+p', '=p'],
    ['all,57+p', '=p 57+p'],
    ['64+ep', null],
    ['cap_chown', null],
    ['cap_chown+', null],
    ['+ep', null],
    ['cap_chown+ep,cap_kill+ep', null],
    ['cap_chown,,cap_kill+ep', null],
    ['net_raw+ep', null],
  ];
  it.each(vectors)('%j -> %j', (input, want) => {
    if (want === null) expect(() => parseCapText(input)).toThrow(/bad capability text/);
    else {
      const p = parseCapText(input);
      expect(formatCapText(p, p.beyond)).toBe(want);
    }
  });
});
