/**
 * src/caps throughput, each figure against a baseline measured in the same run:
 *  - libcap text parse+format (capctl) vs libcap.so.2's cap_from_text+cap_to_text through koffi,
 *    and vs one `capsh --caps=TEXT --print` process per text (what a shell script pays);
 *  - CapSet operations vs a plain JS loop doing the same integer work on bare words;
 *  - file-capability decode+format vs reading the same words with DataView only;
 *  - a /proc status scan (read + parse) vs reading the same files without parsing.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CapSet } from '../src/caps/capset.js';
import { CAP_COUNT, CAPABILITIES } from '../src/caps/catalog.js';
import { parseProcStatus } from '../src/caps/procstatus.js';
import { formatCapText, parseCapText } from '../src/caps/text.js';
import { decodeFileCaps, encodeFileCaps, fileCapsToTriple } from '../src/caps/xattr.js';
import { loadLibcap } from '../test/oracles/libcap.js';
import { type BenchRow, opsPerSecond } from './harness.js';

/** Deterministic corpus of texts of every shape: canonical, grouped, chained, numeric, `all`. */
function corpus(n: number): string[] {
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const clauses: string[] = [];
    const nClauses = 1 + Math.floor(rnd() * 4);
    for (let c = 0; c < nClauses; c++) {
      const items: string[] = [];
      const nItems = rnd() < 0.2 ? 0 : 1 + Math.floor(rnd() * 6);
      for (let i = 0; i < nItems; i++) {
        const cap = Math.floor(rnd() * CAP_COUNT);
        const r = rnd();
        items.push(
          r < 0.1 ? 'all' : r < 0.2 ? String(cap) : r < 0.3 ? CAPABILITIES[cap]!.name : CAPABILITIES[cap]!.libcapName,
        );
      }
      const op = items.length === 0 ? '=' : ['=', '+', '-'][Math.floor(rnd() * 3)]!;
      const flags = ['e', 'p', 'i', 'ep', 'eip', 'ip'][Math.floor(rnd() * 6)]!;
      clauses.push(`${items.join(',')}${op}${flags}${rnd() < 0.2 && items.length ? '-i' : ''}`);
    }
    out.push(clauses.join(' '));
  }
  return out;
}

function hasCapsh(): boolean {
  return spawnSync('sh', ['-c', 'command -v capsh'], { encoding: 'utf8' }).status === 0;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const texts = corpus(512);
  let sink = 0;

  // 1. Text parse + format.
  let k = 0;
  const ours = opsPerSecond(() => {
    const t = texts[k++ & 511]!;
    const p = parseCapText(t);
    sink += formatCapText(p, p.beyond).length;
  });
  const libcap = loadLibcap();
  if (libcap) {
    let j = 0;
    const theirs = opsPerSecond(() => {
      sink += libcap.roundTrip(texts[j++ & 511]!)?.length ?? 0;
    });
    rows.push({
      name: 'text parse+format (parseCapText+formatCapText)',
      value: ours,
      unit: 'texts/s',
      baseline: { name: 'libcap.so.2 cap_from_text+cap_to_text via koffi', value: theirs },
      note: '512 mixed texts, 1–4 clauses',
    });
  } else {
    rows.push({ name: 'text parse+format', value: ours, unit: 'texts/s', note: 'libcap.so.2 not found: no baseline' });
  }
  if (hasCapsh()) {
    // capsh prints sets it can hold, so time it on a text any root process can set.
    const n = 40;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) spawnSync('capsh', ['--caps=cap_net_raw,cap_chown+ep cap_kill+p', '--print']);
    const capsh = (n * 1000) / (performance.now() - t0);
    rows.push({
      name: 'text parse+format (parseCapText+formatCapText)',
      value: ours,
      unit: 'texts/s',
      baseline: { name: 'capsh --caps=TEXT --print, one process per text', value: capsh },
      note: `${n} capsh runs`,
    });
  }

  // 2. CapSet algebra: 5 operations per call on immutable sets vs the same on bare words.
  const sets = Array.from({ length: 256 }, (_, i) => CapSet.fromWords(Math.imul(i + 1, 2654435761), i * 7));
  let m = 0;
  const setOps = opsPerSecond(() => {
    const a = sets[m & 255]!;
    const b = sets[(m + 1) & 255]!;
    const c = sets[(m + 7) & 255]!;
    m++;
    const u = a.union(b).intersect(c).minus(b);
    sink += (u.isSubsetOf(a) ? 1 : 0) + (u.has(m % 41) ? 1 : 0);
  }, 5);
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  for (let i = 0; i < 256; i++) (lo[i] = sets[i]!.lo), (hi[i] = sets[i]!.hi);
  let q = 0;
  const wordOps = opsPerSecond(() => {
    const a = q & 255;
    const b = (q + 1) & 255;
    const c = (q + 7) & 255;
    q++;
    const ulo = (lo[a]! | lo[b]!) & lo[c]! & ~lo[b]!;
    const uhi = (hi[a]! | hi[b]!) & hi[c]! & ~hi[b]! & 0x1ff;
    const bit = q % 41;
    sink +=
      ((ulo & ~lo[a]!) === 0 && (uhi & ~hi[a]!) === 0 ? 1 : 0) + ((bit < 32 ? ulo >>> bit : uhi >>> (bit - 32)) & 1);
  }, 5);
  rows.push({
    name: 'CapSet ops (union, intersect, minus, isSubsetOf, has)',
    value: setOps,
    unit: 'ops/s',
    baseline: { name: 'plain JS loop on u32 word pairs', value: wordOps },
  });

  // 3. Format from sets (what ps/getcap do per task/file).
  let f = 0;
  const parsed = texts.map((t) => parseCapText(t));
  const formatOnly = opsPerSecond(() => {
    const p = parsed[f++ & 511]!;
    sink += formatCapText(p, p.beyond).length;
  });
  rows.push({
    name: 'formatCapText only (cap_to_text)',
    value: formatOnly,
    unit: 'sets/s',
    baseline: { name: 'parse+format (row 1)', value: ours },
  });

  // 4. security.capability decode + text.
  const values = parsed.map((p, i) =>
    encodeFileCaps({ effective: i % 2 === 0, permitted: p.permitted, inheritable: p.inheritable, rootid: i % 3 }),
  );
  let v = 0;
  const decode = opsPerSecond(() => {
    const { sets: s, beyond } = fileCapsToTriple(decodeFileCaps(values[v++ & 511]!));
    sink += formatCapText(s, beyond).length;
  });
  let w = 0;
  const rawRead = opsPerSecond(() => {
    const b = values[w++ & 511]!;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    sink += dv.getUint32(0, true) ^ dv.getUint32(4, true) ^ dv.getUint32(8, true) ^ dv.getUint32(12, true);
  });
  rows.push({
    name: 'file caps decode + text (getcap per file, no I/O)',
    value: decode,
    unit: 'values/s',
    baseline: { name: 'DataView reads of the same words', value: rawRead },
  });

  // 5. /proc scan: every process's status, read and parsed.
  const paths = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((n) => `/proc/${n}/status`);
  const readAll = (parse: boolean) => () => {
    for (const p of paths) {
      try {
        const text = readFileSync(p, 'utf8');
        sink += parse ? parseProcStatus(text).effective.size : text.length;
      } catch {}
    }
  };
  const scan = opsPerSecond(readAll(true), paths.length, 300, 2);
  const readOnly = opsPerSecond(readAll(false), paths.length, 300, 2);
  rows.push({
    name: '/proc/PID/status read + parse',
    value: scan,
    unit: 'tasks/s',
    baseline: { name: 'readFileSync of the same files, no parsing', value: readOnly },
    note: `${paths.length} processes`,
  });

  if (sink === 0.5) console.log(sink); // keep the work observable
  return rows;
}
