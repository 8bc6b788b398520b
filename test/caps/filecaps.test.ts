/**
 * File capabilities on real files, against libcap 2.66's own setcap and getcap:
 *  - files written by setcap (v2, and v3 with -n) read by `capctl getcap` print byte-identical
 *    output to getcap (plain, -n, -v, -r);
 *  - the value capctl encodes for a text is byte-for-byte what setcap wrote;
 *  - capctl accepts and rejects the same texts as setcap (partial e bits);
 *  - files written by `capctl setcap` read back through getcap as the text's canonical form.
 * Needs root (CAP_SETFCAP), setcap and getcap, and a file system with security xattrs.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { CAP_COUNT, CAPABILITIES } from '../../src/caps/catalog.js';
import { formatCapText, parseCapText } from '../../src/caps/text.js';
import { encodeFileCaps, fileCapsFromTriple, fileCapsToTriple, XATTR_NAME_CAPS } from '../../src/caps/xattr.js';
import { getFileCaps, getXattr, setFileCaps } from '../../src/sys/xattr.js';
import { CLI_BUILT, capctl, hasTool, IS_ROOT, prng, run, SEED } from './helpers.js';

const TOOLS = IS_ROOT && hasTool('setcap') && hasTool('getcap') && hasTool('bash');
const N = 300;
const rand = prng(SEED + 7);
const chance = (p: number) => rand() < p;

let dir: string;
let xattrOk = false;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'capctl-filecaps-'));
  if (TOOLS) {
    writeFileSync(join(dir, 'probe'), '');
    xattrOk = run('setcap', ['cap_kill+p', join(dir, 'probe')]).status === 0;
    rmSync(join(dir, 'probe'));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A random file-capability text: e empty, e = p|i, partial e (setcap refuses), bits 41..63. */
function randomFileText(): string {
  const pick = () => {
    const s: number[] = [];
    const d = rand() * rand();
    for (let n = 0; n < CAP_COUNT; n++) if (chance(d)) s.push(n);
    if (chance(0.1)) s.push(41 + Math.floor(rand() * 23));
    return s;
  };
  const name = (n: number) => (n < CAP_COUNT && chance(0.8) ? CAPABILITIES[n]!.libcapName : String(n));
  const p = pick();
  const i = chance(0.4) ? pick() : [];
  const clauses: string[] = [];
  if (p.length) clauses.push(`${p.map(name).join(',')}+p`);
  if (i.length) clauses.push(`${i.map(name).join(',')}+i`);
  const r = rand();
  if (r < 0.45 && (p.length || i.length)) clauses.push(`${[...new Set([...p, ...i])].map(name).join(',')}+e`);
  else if (r < 0.6 && p.length > 1)
    clauses.push(`${p.slice(1).map(name).join(',')}+e`); // partial: refused
  else if (r < 0.65) clauses.push('cap_net_raw+e'); // e outside p|i: accepted, dropped
  if (clauses.length === 0) clauses.push(chance(0.5) ? '=' : 'all=');
  if (chance(0.05)) clauses.push('all=ep');
  return clauses.sort(() => rand() - 0.5).join(' ');
}

/** setcap for every (text, file, rootid) in one bash process; returns each exit status. */
function batchSetcap(jobs: { text: string; file: string; rootid: number }[]): number[] {
  const list = join(dir, `jobs-${Math.floor(rand() * 1e9)}`);
  writeFileSync(list, `${jobs.map((j) => `${j.rootid}\t${j.file}\t${j.text}`).join('\n')}\n`);
  const script =
    'while IFS=$(printf "\\t") read -r r f t; do if [ "$r" = 0 ]; then setcap "$t" "$f" 2>/dev/null; else setcap -n "$r" "$t" "$f" 2>/dev/null; fi; echo $?; done < "$1"';
  const res = run('bash', ['-c', script, 'setcap-batch', list]);
  const codes = res.stdout.trim().split('\n').map(Number);
  expect(codes).toHaveLength(jobs.length);
  return codes;
}

describe.runIf(TOOLS)('file capabilities vs setcap/getcap (root)', () => {
  it('the probe file system supports security.capability', () => {
    expect(xattrOk, `cannot setcap in ${dir}`).toBe(true);
  });

  it.runIf(CLI_BUILT)(`getcap output is byte-identical for ${N} files set by setcap (v2 and v3)`, () => {
    const sub = join(dir, 'bysetcap');
    mkdirSync(sub);
    mkdirSync(join(sub, 'nested'));
    const jobs = Array.from({ length: N }, (_, k) => {
      const file = join(sub, k % 5 === 0 ? 'nested' : '', `f${k}`);
      writeFileSync(file, '');
      return { text: randomFileText(), file, rootid: chance(0.3) ? 1 + Math.floor(rand() * 100_000) : 0 };
    });
    symlinkSync(jobs[1]!.file, join(sub, 'link'));
    writeFileSync(join(sub, 'plain'), '');
    const codes = batchSetcap(jobs);

    // Same acceptance as setcap, and the same bytes on disk.
    let accepted = 0;
    let rejected = 0;
    const bad: string[] = [];
    jobs.forEach((j, k) => {
      let ours: Uint8Array | undefined;
      try {
        const parsed = parseCapText(j.text);
        ours = encodeFileCaps(fileCapsFromTriple(parsed, parsed.beyond, j.rootid));
      } catch {
        ours = undefined;
      }
      if ((codes[k] === 0) !== (ours !== undefined)) {
        bad.push(`${JSON.stringify(j.text)}: setcap exit ${codes[k]}, capctl ${ours ? 'accepts' : 'rejects'}`);
        return;
      }
      if (ours === undefined) {
        rejected++;
        return;
      }
      accepted++;
      const onDisk = getXattr(j.file, XATTR_NAME_CAPS);
      if (Buffer.compare(Buffer.from(onDisk ?? []), Buffer.from(ours)) !== 0) {
        bad.push(
          `${JSON.stringify(j.text)}: disk ${Buffer.from(onDisk ?? []).toString('hex')} ours ${Buffer.from(ours).toString('hex')}`,
        );
      }
    });
    expect(bad.slice(0, 5), `seed ${SEED}`).toEqual([]);
    expect(accepted).toBeGreaterThan(N / 2);
    expect(rejected).toBeGreaterThan(10);
    expect(jobs.some((j, k) => j.rootid !== 0 && codes[k] === 0)).toBe(true);

    const files = [...jobs.map((j) => j.file), join(sub, 'link'), join(sub, 'plain'), join(sub, 'nested')];
    for (const flags of [[], ['-n'], ['-v'], ['-n', '-v']]) {
      const want = run('getcap', [...flags, ...files]);
      const got = capctl(['getcap', ...flags, ...files]);
      expect(got.status).toBe(0);
      expect(got.stdout).toBe(want.stdout);
      expect(got.stdout.length).toBeGreaterThan(1000);
    }
    for (const flags of [['-r'], ['-r', '-n'], ['-r', '-v', '-n']]) {
      for (const start of [sub, `${sub}/`]) {
        const want = run('getcap', [...flags, start]);
        const got = capctl(['getcap', ...flags, start]);
        expect(got.status).toBe(0);
        expect(got.stdout).toBe(want.stdout);
      }
    }
    // --json carries the same texts.
    const json = JSON.parse(capctl(['getcap', '--json', ...files]).stdout) as { path: string; text: string }[];
    const lines = run('getcap', files).stdout.trim().split('\n');
    expect(json.map((e) => `${e.path} ${e.text}`)).toEqual(lines);
  });

  it(`files written by capctl (library, ${N} texts) read back through getcap as the canonical text`, () => {
    const sub = join(dir, 'bycapctl');
    mkdirSync(sub);
    const jobs: { file: string; want: string }[] = [];
    while (jobs.length < N) {
      const text = randomFileText();
      const rootid = chance(0.3) ? 1 + Math.floor(rand() * 100_000) : 0;
      let value: Uint8Array;
      try {
        const parsed = parseCapText(text);
        value = encodeFileCaps(fileCapsFromTriple(parsed, parsed.beyond, rootid));
      } catch {
        continue;
      }
      const file = join(sub, `g${jobs.length}`);
      writeFileSync(file, '');
      setFileCaps(file, value);
      // What getcap must print: the text's sets with e = fE ? p|i : 0, and the rootid.
      const back = fileCapsToTriple(getFileCaps(file)!);
      const canonical = formatCapText(back.sets, back.beyond);
      const parsed = parseCapText(text);
      const fE = !parsed.effective.isEmpty() || parsed.beyond.effective !== 0;
      const expectedSets = {
        effective: fE ? parsed.permitted.union(parsed.inheritable) : CapSet.EMPTY,
        permitted: parsed.permitted,
        inheritable: parsed.inheritable,
      };
      const expectedBeyond = {
        effective: fE ? (parsed.beyond.permitted | parsed.beyond.inheritable) >>> 0 : 0,
        permitted: parsed.beyond.permitted,
        inheritable: parsed.beyond.inheritable,
      };
      expect(canonical).toBe(formatCapText(expectedSets, expectedBeyond));
      jobs.push({ file, want: `${file} ${canonical}${rootid ? ` [rootid=${rootid}]` : ''}\n` });
    }
    const out = run('getcap', ['-n', ...jobs.map((j) => j.file)]);
    expect(out.stdout).toBe(jobs.map((j) => j.want).join(''));
  });

  it.runIf(CLI_BUILT)('capctl setcap writes what setcap writes, and getcap reads it', () => {
    const cases: [string, number][] = [
      ['cap_net_raw+ep', 0],
      ['cap_net_bind_service,cap_kill=eip', 0],
      ['cap_sys_admin+i cap_chown+p', 0],
      ['cap_net_raw+e', 0],
      ['=', 0],
      ['cap_chown+ep 45+ep', 0],
      ['cap_setuid,cap_setgid=p', 1000],
      ['all=ep', 4242],
    ];
    for (const [text, rootid] of cases) {
      const a = join(dir, `cli-a-${cases.findIndex((c) => c[0] === text)}`);
      const b = `${a}-ref`;
      writeFileSync(a, '');
      writeFileSync(b, '');
      const ns = rootid ? ['-n', String(rootid)] : [];
      const r = capctl(['setcap', ...ns, text, a]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(run('setcap', [...ns, text, b]).status).toBe(0);
      expect(Buffer.from(getXattr(a, XATTR_NAME_CAPS)!)).toEqual(Buffer.from(getXattr(b, XATTR_NAME_CAPS)!));
      const want = run('getcap', ['-n', b]).stdout.replace(b, a);
      expect(run('getcap', ['-n', a]).stdout).toBe(want);
      expect(capctl(['getcap', '-n', a]).stdout).toBe(want);
      // -v answers like setcap -v ("cap_net_raw+e" differs in [e]: the file only keeps fE).
      const verify = capctl(['setcap', '-v', ...ns, text, a]);
      const ref = run('setcap', ['-v', ...ns, text, a]);
      expect(verify.stdout).toBe(ref.stdout);
      expect(verify.status).toBe(ref.status);
    }
    // Removal, then getcap prints nothing.
    const a = join(dir, 'cli-a-0');
    expect(capctl(['setcap', '-r', a]).status).toBe(0);
    expect(run('getcap', [a]).stdout).toBe('');
    // A partial e set is refused like setcap, with one line and exit 2.
    const r = capctl(['setcap', 'cap_net_raw+p cap_chown+ep', a]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^capctl: file effective bits must be empty or cover .*not effective: cap_net_raw\n$/);
    expect(run('setcap', ['cap_net_raw+p cap_chown+ep', a]).status).not.toBe(0);
  });
});
