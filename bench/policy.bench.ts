/**
 * Policy engine benchmarks, each with an in-run baseline:
 *  - decisions per second through the public API (CompiledProfile.decideCap / decidePriv) versus
 *    casbin's own enforceSync on the same policy lines (policies/model.conf);
 *  - load + validate + compile time per profile, versus parsing the same YAML alone.
 * Profiles: the stock docker-default (14 caps, 1 written rule) and nginx (uid-conditional rules),
 * and a generated profile with one rule per privilege (about 250 rules), the size an audit-log
 * suggestion produces for a busy service.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Enforcer } from 'casbin';
import { LineCounter, parseDocument } from 'yaml';
import { CAPABILITIES } from '../src/caps/catalog.js';
import { buildEnforcer, type CompiledProfile, loadProfile } from '../src/policy/index.js';
import { policiesDir } from '../src/policy/paths.js';
import { privCatalog } from '../src/policy/privdata.js';
import { type BenchRow, bestMs, opsPerSecond } from './harness.js';

const BATCH = 4096;

/** A profile with one rule per privilege, alternating effects and priorities. */
function bigProfile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-bench-'));
  const lines = [
    'name: big',
    'capabilities:',
    '  bounding: [CHOWN, KILL, NET_RAW, NET_BIND_SERVICE, SETUID, SETGID]',
    'rules:',
  ];
  [...privCatalog().byNumber.values()].forEach((n, i) => {
    lines.push(`  - effect: ${i % 3 === 0 ? 'deny' : 'allow'}`, `    privs: [${n}]`);
    if (i % 5 === 0) lines.push(`    priority: ${i % 7}`);
  });
  lines.push('  - effect: deny', '    caps: [KILL]', '    when: {uid: "1000-60000"}');
  const f = join(dir, 'big.yaml');
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

interface Req {
  obj: string;
  cap: number;
  priv: number;
  uid: number;
}

function requests(n: number): Req[] {
  const privs = [...privCatalog().byNumber];
  const out: Req[] = [];
  let x = 12345;
  const rnd = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x;
  };
  for (let i = 0; i < n; i++) {
    const uid = [0, 0, 0, 101, 1000, 65534][rnd() % 6]!;
    if (i % 2 === 0) {
      const c = rnd() % CAPABILITIES.length;
      out.push({ obj: CAPABILITIES[c]!.name, cap: c, priv: -1, uid });
    } else {
      const [num, name] = privs[rnd() % privs.length]!;
      out.push({ obj: name, cap: -1, priv: num, uid });
    }
  }
  return out;
}

async function decisionRows(label: string, p: CompiledProfile, e: Enforcer): Promise<BenchRow[]> {
  const reqs = requests(BATCH);
  // Sanity: the fast path and casbin agree on this very batch before anything is timed.
  for (let i = 0; i < 256; i++) {
    const r = reqs[i]!;
    const fast = r.cap >= 0 ? p.decideCap(r.cap, r.uid, '') === 1 : p.decidePriv(r.priv, r.uid, '') === 2;
    if (fast !== e.enforceSync(r.obj, r.uid, ''))
      throw new Error(`bench ${label}: tables and casbin disagree on ${r.obj}`);
  }
  // Separate loops for the two entry points, as their callers use them (capable() calls
  // decideCap, priv_check calls decidePriv): each loop is one call site.
  const capReqs = reqs.filter((r) => r.cap >= 0);
  const privReqs = reqs.filter((r) => r.priv >= 0);
  const cN = capReqs.length;
  const pN = privReqs.length;
  const cCap = Int32Array.from(capReqs.map((r) => r.cap));
  const cUid = Float64Array.from(capReqs.map((r) => r.uid));
  const pPriv = Int32Array.from(privReqs.map((r) => r.priv));
  const pUid = Float64Array.from(privReqs.map((r) => r.uid));
  let sink = 0;
  const fastCaps = opsPerSecond(() => {
    let s = 0;
    for (let i = 0; i < cN; i++) s += p.decideCap(cCap[i]!, cUid[i]!, '');
    sink += s;
  }, cN);
  const fastPrivs = opsPerSecond(() => {
    let s = 0;
    for (let i = 0; i < pN; i++) s += p.decidePriv(pPriv[i]!, pUid[i]!, '');
    sink += s;
  }, pN);
  let k = 0;
  const slow = opsPerSecond(
    () => {
      const r = reqs[k++ & (BATCH - 1)]!;
      if (e.enforceSync(r.obj, r.uid, '')) sink++;
    },
    1,
    300,
    2,
  );
  if (sink === -1) console.log(sink);
  // Both kinds in equal numbers: the harmonic mean of the two rates.
  const fast = 2 / (1 / fastCaps + 1 / fastPrivs);
  return [
    {
      name: `decisions/s, ${label}: decideCap + decidePriv, uid varies`,
      value: fast,
      unit: 'decisions/s',
      baseline: { name: 'casbin enforceSync, same policy and requests', value: slow },
      target: 50e6,
      note: `${p.rules.length} rules; decideCap ${(fastCaps / 1e6).toFixed(1)}M/s, decidePriv ${(fastPrivs / 1e6).toFixed(1)}M/s; ratio target ≥ 10,000×: ${fast / slow >= 10000 ? 'met' : 'missed'}`,
    },
  ];
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = policiesDir();
  const big = bigProfile();
  for (const [label, file] of [
    ['docker-default', join(dir, 'docker-default.yaml')],
    ['nginx (uid conditions)', join(dir, 'nginx.yaml')],
    ['generated, one rule per privilege', big],
  ] as const) {
    const p = loadProfile(file);
    rows.push(...(await decisionRows(label, p, await buildEnforcer(p.rules))));
  }

  // Load + validate + compile, per profile (the schema validator is compiled once per process,
  // on the first load; that first load is reported separately).
  const stock = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(dir, f));
  for (const [label, files] of [
    ['7 stock profiles', stock],
    ['generated 250-rule profile', [big]],
  ] as const) {
    // Each profile's best of 20 loads (the harness's reading through scheduler noise), averaged.
    const bests: number[] = [];
    for (const f of files) bests.push(await bestMs(() => loadProfile(f), 20));
    const ms = bests.reduce((x, y) => x + y, 0) / bests.length;
    // Baseline: parsing the same files with the yaml library alone, the floor for any loader
    // that reports YAML positions.
    const parseBests: number[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      parseBests.push(await bestMs(() => parseDocument(text, { lineCounter: new LineCounter() }).toJS(), 20));
    }
    const parseMs = parseBests.reduce((x, y) => x + y, 0) / parseBests.length;
    rows.push({
      name: `load+validate+compile per profile, ${label}`,
      value: ms,
      unit: 'ms',
      baseline: { name: 'yaml parseDocument+toJS alone', value: parseMs },
      note: `mean of per-profile best-of-20, slowest ${Math.max(...bests).toFixed(2)} ms; target ≤ 5 ms: ${ms <= 5 ? 'met' : 'missed'} (lower is better)`,
    });
  }
  return rows;
}
