/**
 * capctl-oci-runtime's native fast path (native/oci-fast.c) against the Node path, which is the
 * reference: over generated bundles (random key order, whitespace, escapes, unicode, existing
 * capabilities and noNewPrivileges or not) the config.json the C program writes must be byte for
 * byte what `capctl oci apply` writes (applyProfileToText, the function oci apply and the Node
 * shim use; a few cases also through the real CLI), written atomically with the file's mode, and
 * the audit record must be the Node path's line. JSON the C program cannot give back exactly,
 * stale or untrusted profiles, bindings and FreeBSD bundles must go to the Node path (which then
 * produces the reference result, or fails closed), never to the real runtime without the profile.
 * Profiles of many lengths exercise the C SHA-256 across its padding boundaries: the fast path
 * only runs when its digest equals Node's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACH_KEY_ORDER } from '../../src/audit/attach-record.js';
import { applyProfileToText } from '../../src/container/oci.js';
import type { ContainerProfile } from '../../src/container/profile.js';
import { compileAndStore } from '../../src/live/profile-store.js';
import { capctl, has, root, shim } from './podman-helpers.js';

const fastBin = join(root, 'dist', 'native', 'capctl-oci-fast');
const isRoot = process.getuid?.() === 0;
// The build (npm run build / prepare) compiles it when a C compiler is present; CI has gcc.
if (!existsSync(fastBin) && (has('cc') || has('gcc'))) {
  if (!existsSync(join(root, 'dist', 'src', 'caps', 'catalog.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  }
  execFileSync(process.execPath, [join(root, 'scripts', 'build-native.js')], { cwd: root, stdio: 'inherit' });
}
const why = !isRoot ? 'not root: the fast path runs as root only' : !existsSync(fastBin) ? 'no C compiler' : '';

/** A small seeded PRNG (mulberry32): a failing case can be reproduced from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  return { next, int, pick, shuffle };
}
type R = ReturnType<typeof rng>;

const CHARS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:/',
  '"',
  '\\',
  '\n',
  '\t',
  '\r',
  '\b',
  '\f',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  'é',
  '€',
  '\u2028',
  '😀',
  '中',
];
function rstr(r: R, max = 12): string {
  let s = '';
  for (let n = r.int(max); n > 0; n--) s += r.pick(CHARS);
  return s;
}
/** A key that is not an array index (JavaScript orders those first: the C program refuses them). */
function rkey(r: R): string {
  const k = rstr(r, 10);
  return /^(0|[1-9]\d*)$/.test(k) || k === '' ? `k${k}` : k;
}
function rnum(r: R): number {
  const digits = 1 + r.int(15);
  const n = Math.floor(r.next() * 10 ** digits);
  return r.int(4) === 0 ? -n : n;
}
function rval(r: R, depth: number): unknown {
  const k = r.int(depth > 3 ? 4 : 7);
  if (k === 0) return rstr(r);
  if (k === 1) return rnum(r);
  if (k === 2) return r.pick([true, false, null]);
  if (k === 3) return rstr(r, 30);
  if (k === 4) return Array.from({ length: r.int(4) }, () => rval(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let n = r.int(5); n > 0; n--) o[rkey(r)] = rval(r, depth + 1);
  return o;
}

const CAP_LISTS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'];

/** A config.json object: the members a bundle has, in random order, with random extras. */
function rconfig(r: R, ref: string): Record<string, unknown> {
  const proc: Record<string, unknown> = {};
  const procKeys = r.shuffle(['terminal', 'user', 'args', 'env', 'cwd', 'capabilities', 'noNewPrivileges', 'x']);
  for (const k of procKeys.slice(0, r.int(procKeys.length + 1))) {
    if (k === 'capabilities') {
      const caps: Record<string, unknown> = {};
      for (const l of r.shuffle([...CAP_LISTS, 'extra']).slice(0, r.int(7))) {
        caps[l] = Array.from({ length: r.int(3) }, () => r.pick(['CAP_KILL', 'CAP_NET_RAW', 'CAP_CHOWN']));
      }
      proc.capabilities = r.int(8) === 0 ? r.pick([null, 'none', [], 3]) : caps;
    } else if (k === 'noNewPrivileges') proc.noNewPrivileges = r.pick([true, false]);
    else if (k === 'user') proc.user = { uid: r.int(70000), gid: r.int(70000) };
    else if (k === 'args') proc.args = ['sh', '-c', rstr(r, 20)];
    else proc[k] = rval(r, 2);
  }
  const ann: Record<string, unknown> = { 'io.capctl.profile': ref };
  // A name with a NUL goes to the Node path (see the hand-over test): not here.
  if (r.int(3) === 0) ann['io.kubernetes.cri.container-name'] = rstr(r, 10).replaceAll('\u0000', '') || 'n';
  for (let n = r.int(3); n > 0; n--) ann[rkey(r)] = rstr(r);
  const top: [string, unknown][] = [
    ['ociVersion', '1.0.2-dev'],
    ['process', r.int(10) === 0 ? r.pick([null, 'p', []]) : proc],
    ['root', { path: 'rootfs', readonly: r.pick([true, false]) }],
    ['hostname', rstr(r)],
    ['annotations', ann],
    ['linux', { namespaces: [{ type: 'pid' }, { type: 'mount' }], maskedPaths: ['/proc/kcore'] }],
  ];
  for (let n = r.int(3); n > 0; n--) top.push([rkey(r), rval(r, 1)]);
  const o: Record<string, unknown> = {};
  for (const [k, v] of r.shuffle(top)) if (!(k === 'process' && r.int(12) === 0)) o[k] = v;
  return o;
}

const WS = ['', ' ', '\n', '\t', '\r\n', '  '];
/** JSON text with random whitespace and random (valid) escapes: the parser's side of the test. */
function wildJson(r: R, v: unknown): string {
  const w = () => (r.int(3) === 0 ? r.pick(WS) : '');
  const str = (s: string) => {
    let out = '"';
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      if (ch === '"' || ch === '\\' || cp < 0x20 || r.int(6) === 0) {
        const short: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r' };
        if (short[ch] && r.int(2) === 0) out += short[ch];
        else if (ch === '/' && r.int(2) === 0) out += '\\/';
        else
          for (let i = 0; i < ch.length; i++) {
            const h = ch.charCodeAt(i).toString(16).padStart(4, '0');
            out += `\\u${r.int(2) ? h : h.toUpperCase()}`;
          }
      } else out += ch;
    }
    return `${out}"`;
  };
  const ser = (x: unknown): string => {
    if (x === null || typeof x === 'boolean' || typeof x === 'number') return JSON.stringify(x);
    if (typeof x === 'string') return str(x);
    if (Array.isArray(x)) return `[${w()}${x.map((e) => `${w()}${ser(e)}${w()}`).join(',')}${w()}]`;
    const o = x as Record<string, unknown>;
    return `{${w()}${Object.keys(o)
      .map((k) => `${w()}${str(k)}${w()}:${w()}${ser(o[k])}${w()}`)
      .join(',')}${w()}}`;
  };
  return ser(v);
}

function rtext(r: R, cfg: Record<string, unknown>): string {
  const nl = r.int(2) === 0 ? '\n' : '';
  const style = r.int(6);
  if (style === 0) return wildJson(r, cfg) + nl;
  if (style === 1) return JSON.stringify(cfg) + nl; // podman, docker: one line
  if (style === 2) return JSON.stringify(cfg, null, '\t') + nl; // runc spec
  if (style === 3) return JSON.stringify(cfg, null, r.pick([1, 2, 4, 8])) + nl;
  if (style === 4) return JSON.stringify(cfg, null, r.pick([' \t', '            '])) + nl; // indent cut at 10
  return `{\r\n  ${JSON.stringify(cfg).slice(1)}${nl}`; // CRLF first line
}

describe.skipIf(why !== '')(`capctl-oci-fast against the Node path${why ? ` (skipped: ${why})` : ''}`, () => {
  let dir: string;
  let state: string;
  const profiles: { ref: string; cp: ContainerProfile }[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'capctl-i10-fast-'));
    state = join(dir, 'state');
    mkdirSync(state, { mode: 0o755 });
    for (const name of ['ping', 'strict', 'docker-default', 'k8s-restricted']) {
      const file = join(root, 'policies', `${name}.yaml`);
      profiles.push({ ref: name, cp: (await compileAndStore(state, file)).profile });
    }
    // Own profiles of every length across SHA-256's padding boundaries (55, 56, 64 bytes...).
    const base = 'name: own\ncapabilities:\n  bounding: [KILL, CHOWN]\n  text: cap_kill=ep\n';
    for (const pad of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 40, 63, 64, 65, 119, 120, 200]) {
      const file = join(dir, `own-${pad}.yaml`);
      writeFileSync(file, `${base}${pad ? `#${'x'.repeat(pad - 1)}\n` : ''}`, { mode: 0o644 });
      profiles.push({ ref: file, cp: (await compileAndStore(state, file)).profile });
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function bundleOf(text: string, mode = 0o644): string {
    const b = mkdtempSync(join(dir, 'b-'));
    writeFileSync(join(b, 'config.json'), text, { mode });
    chmodSync(join(b, 'config.json'), mode);
    return b;
  }
  function runFast(b: string, id: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
    // --runtime-binary too: where the C program hands over, the Node path must find the same runtime.
    const args = ['--runtime-binary', '/bin/true', '--capctl-state-dir', state, ...extra, 'create', '--bundle', b, id];
    return spawnSync(fastBin, ['/bin/true', ...args], {
      encoding: 'utf8',
      env: { ...process.env, CAPCTL_OCI_FAST_DEBUG: '1', ...env },
    });
  }

  it('400 generated bundles: config.json byte for byte as the Node path writes it, atomically, with its mode', () => {
    let fast = 0;
    const audit = join(dir, 'gen-audit.log');
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const p = r.pick(profiles);
      const text = rtext(r, rconfig(r, p.ref));
      const want = applyProfileToText(text, p.cp).text;
      const mode = r.pick([0o644, 0o600, 0o640]);
      const b = bundleOf(text, mode);
      const out = runFast(b, `c${seed}`, ['--capctl-audit', audit]);
      expect([seed, out.status, out.stderr]).toEqual([
        seed,
        0,
        `capctl-oci-fast: fast path: profile ${p.cp.name} applied\n`,
      ]);
      fast++;
      const got = readFileSync(join(b, 'config.json'), 'utf8');
      if (got !== want) expect({ seed, text, got }).toEqual({ seed, text, got: want });
      expect(statSync(join(b, 'config.json')).mode & 0o7777).toBe(mode);
      expect(readdirSync(b)).toEqual(['config.json']); // no temp file left
      rmSync(b, { recursive: true });
    }
    expect(fast).toBe(400);
    const lines = readFileSync(audit, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(400);
  }, 120_000);

  it('the same file through the real `capctl oci apply` and through the fast path: the same bytes', () => {
    for (let seed = 1001; seed <= 1004; seed++) {
      const r = rng(seed);
      const p = r.pick(profiles.slice(0, 4));
      const text = rtext(r, rconfig(r, p.ref));
      const a = bundleOf(text);
      const b = bundleOf(text);
      const cli = spawnSync(process.execPath, [capctl, 'oci', 'apply', '--profile', p.ref, a], { encoding: 'utf8' });
      expect(cli.stderr).toBe('');
      expect(runFast(b, `cli${seed}`).stderr).toMatch(/fast path: profile/);
      expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(readFileSync(join(a, 'config.json'), 'utf8'));
    }
  }, 60_000);

  it("the audit record is the Node path's line: the same keys in the same order", () => {
    const text = `${JSON.stringify({ process: {}, annotations: { 'io.capctl.profile': 'ping', 'nerdctl/name': 'web "1"' } })}\n`;
    const logs = [join(dir, 'a-fast.log'), join(dir, 'a-node.log')];
    expect(runFast(bundleOf(text), 'same-id', ['--capctl-audit', logs[0]!]).stderr).toMatch(/fast path/);
    const b = bundleOf(text);
    const node = spawnSync(
      shim,
      [
        '--runtime-binary',
        '/bin/true',
        '--capctl-state-dir',
        state,
        '--capctl-audit',
        logs[1]!,
        'create',
        '--bundle',
        b,
        'same-id',
      ],
      { encoding: 'utf8', env: { ...process.env, CAPCTL_OCI_FAST: '0' } },
    );
    expect(node.status).toBe(0);
    const [f, n] = logs.map((l) => JSON.parse(readFileSync(l, 'utf8')) as Record<string, unknown>);
    expect(Object.keys(f!)).toEqual(ATTACH_KEY_ORDER.filter((k) => k in f!));
    expect(Object.keys(f!)).toEqual(Object.keys(n!));
    expect({ ...f, time: 0, bundle: 0 }).toEqual({ ...n, time: 0, bundle: 0 });
    expect(f).toMatchObject({ verdict: 'attached', profile: 'ping', containerId: 'same-id', containerName: 'web "1"' });
  });

  it('JSON it cannot give back byte for byte goes to the Node path, which writes the reference result', () => {
    const cases = [
      '{"process":{"x":1.5},"annotations":{"io.capctl.profile":"ping"}}',
      '{"process":{"x":1e3},"annotations":{"io.capctl.profile":"ping"}}',
      '{"process":{"x":12345678901234567},"annotations":{"io.capctl.profile":"ping"}}',
      '{"process":{"x":-0},"annotations":{"io.capctl.profile":"ping"}}',
      '{"b":1,"2":true,"annotations":{"io.capctl.profile":"ping"}}',
      '{"a":1,"a":2,"annotations":{"io.capctl.profile":"ping"}}',
      '{"s":"\\ud800","annotations":{"io.capctl.profile":"ping"}}',
      '\ufeff{"annotations":{"io.capctl.profile":"ping"}}',
      '{"annotations":{"io.capctl.profile":"ping","nerdctl/name":"a\\u0000b"}}',
    ];
    const ping = profiles[0]!.cp;
    for (const text of cases) {
      const b = bundleOf(text);
      const out = runFast(b, 'odd');
      expect([text, out.stderr.split('\n')[0]]).toEqual([text, expect.stringMatching(/node path: /)]);
      let want: string | undefined;
      try {
        want = applyProfileToText(text, ping).text;
      } catch {
        want = undefined; // the reference refuses it too (exit 2, file untouched)
      }
      expect(out.status).toBe(want === undefined ? 2 : 0);
      expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(want ?? text);
    }
    // Not UTF-8: the Node path reads it as U+FFFD, the C program does not guess.
    const b = mkdtempSync(join(dir, 'b-'));
    writeFileSync(
      join(b, 'config.json'),
      Buffer.from('{"s":"\xff","annotations":{"io.capctl.profile":"ping"}}', 'latin1'),
    );
    expect(runFast(b, 'bin').stderr).toMatch(/node path: invalid UTF-8/);
  }, 60_000);

  it('never the real runtime without the profile: stale, untrusted, forged, FreeBSD and bound cases go to the Node path', async () => {
    const own = join(dir, 'own-stale.yaml');
    writeFileSync(own, 'name: stale\ncapabilities:\n  bounding: [KILL]\n', { mode: 0o644 });
    const text = (ref: string) => `${JSON.stringify({ process: {}, annotations: { 'io.capctl.profile': ref } })}\n`;
    const flag = join(dir, 'ran');
    const runtime = join(dir, 'mark-runtime');
    writeFileSync(runtime, `#!/bin/sh\ntouch ${flag}\n`, { mode: 0o755 });
    const via = (b: string, id: string) =>
      spawnSync(
        fastBin,
        [runtime, '--runtime-binary', runtime, '--capctl-state-dir', state, 'create', '--bundle', b, id],
        {
          encoding: 'utf8',
          env: { ...process.env, CAPCTL_OCI_FAST_DEBUG: '1' },
        },
      );
    // Never compiled: the Node path compiles and stores it; the next create is fast.
    let b = bundleOf(text(own));
    expect(via(b, 's1').stderr).toMatch(/node path: no trusted compiled form/);
    expect(JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')).process.capabilities.bounding).toEqual([
      'CAP_KILL',
    ]);
    expect(via(bundleOf(text(own)), 's2').stderr).toMatch(/fast path: profile stale applied/);
    // Changed since compiled: the hash differs, the Node path recompiles.
    writeFileSync(own, 'name: stale\ncapabilities:\n  bounding: [CHOWN]\n');
    b = bundleOf(text(own));
    expect(via(b, 's3').stderr).toMatch(/node path: profile files changed since compiled/);
    expect(JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')).process.capabilities.bounding).toEqual([
      'CAP_CHOWN',
    ]);
    // Group-writable as root: the Node path refuses; config.json untouched, the runtime never ran.
    chmodSync(own, 0o664);
    rmSync(flag, { force: true });
    b = bundleOf(text(own));
    const before = readFileSync(join(b, 'config.json'), 'utf8');
    const out = via(b, 's4');
    expect(out.stderr).toMatch(/node path: profile file unreadable or untrusted/);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/capctl-oci-runtime: .*mode 0664/);
    expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(before);
    expect(existsSync(flag)).toBe(false);
    chmodSync(own, 0o644);
    // A compiled entry someone else could have written (mode 0666) with forged sets and the right
    // hash: neither path uses it; the Node path recompiles over it.
    const forged = join(dir, 'own-forged.yaml');
    writeFileSync(forged, 'name: forged\ncapabilities:\n  bounding: [KILL]\n', { mode: 0o644 });
    await compileAndStore(state, forged);
    const entry = join(state, 'compiled', `${createHash('sha256').update(forged).digest('hex').slice(0, 32)}.json`);
    const j = JSON.parse(readFileSync(entry, 'utf8'));
    for (const k of Object.keys(j.sets)) j.sets[k] = '000001ffffffffff';
    writeFileSync(entry, JSON.stringify(j));
    chmodSync(entry, 0o666);
    b = bundleOf(text(forged));
    expect(via(b, 's4b').stderr).toMatch(/node path: no trusted compiled form stored/);
    expect(JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')).process.capabilities.bounding).toEqual([
      'CAP_KILL',
    ]);
    expect(statSync(entry).mode & 0o777).toBe(0o644); // replaced by a fresh entry
    // A FreeBSD bundle: the Node path writes the jail annotations.
    b = bundleOf(`${JSON.stringify({ freebsd: {}, annotations: { 'io.capctl.profile': 'ping' } })}\n`);
    expect(via(b, 's5').stderr).toMatch(/node path: FreeBSD bundle/);
    expect(readFileSync(join(b, 'config.json'), 'utf8')).toContain('org.freebsd.jail.allow.raw_sockets');
    // No annotation but a bindings file: only the Node path reads bindings (under the lock).
    copyFileSync(join(root, 'policies', 'ping.yaml'), join(dir, 'bound.yaml'));
    const att = spawnSync(
      process.execPath,
      [capctl, 'attach', '--container', 'bound1', '--state-dir', state, join(dir, 'bound.yaml')],
      {
        encoding: 'utf8',
      },
    );
    expect(att.status).toBe(0);
    b = bundleOf(`${JSON.stringify({ process: {} })}\n`);
    expect(via(b, 'bound1').stderr).toMatch(/node path: bindings exist/);
    expect(JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')).process.capabilities.bounding).toEqual([
      'CAP_NET_RAW',
    ]);
    rmSync(join(state, 'bindings.json'));
  }, 60_000);

  it("its own failure (no node to hand over to): one line on stderr and in runc's --log, the runtime never runs", () => {
    const b = bundleOf(
      `${JSON.stringify({ annotations: { 'io.capctl.profile': join(dir, 'never-compiled.yaml') } })}\n`,
    );
    writeFileSync(join(dir, 'never-compiled.yaml'), 'name: nc\ncapabilities:\n  bounding: [KILL]\n', { mode: 0o644 });
    const before = readFileSync(join(b, 'config.json'), 'utf8');
    for (const [format, shape] of [
      [
        'json',
        /^\{"level":"error","msg":"capctl-oci-runtime: cannot start node for the profile: No such file or directory","time":"[^"]+"\}\n$/,
      ],
      [
        'text',
        /^time="[^"]+" level=error msg="capctl-oci-runtime: cannot start node for the profile: No such file or directory"\n$/,
      ],
    ] as const) {
      const log = join(dir, `runc-${format}.log`);
      const out = spawnSync(
        fastBin,
        [
          '/bin/false',
          '--log',
          log,
          '--log-format',
          format,
          '--capctl-state-dir',
          state,
          'create',
          '--bundle',
          b,
          'nf',
        ],
        { encoding: 'utf8', env: { PATH: '/nonexistent' } },
      );
      expect(out.status).toBe(1);
      expect(out.stderr).toBe('capctl-oci-runtime: cannot start node for the profile: No such file or directory\n');
      expect(readFileSync(log, 'utf8')).toMatch(shape);
      expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(before);
    }
  });

  it('no annotation and no bindings: the runtime runs at once, config.json untouched', () => {
    const text = `{\n\t"process": {"x": 1.25}\n}\n`; // not even rewritable: it need not be
    const b = bundleOf(text);
    const out = runFast(b, 'plain', [], {});
    expect(out.stderr).toBe('capctl-oci-fast: fast path: no profile\n');
    expect(out.status).toBe(0);
    expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(text);
  });

  it.skipIf(!has('strace'))(
    'the fast path through the front starts no process but the real runtime (strace execve)',
    () => {
      const b = bundleOf(`${JSON.stringify({ process: {}, annotations: { 'io.capctl.profile': 'ping' } })}\n`);
      const trace = join(dir, 'trace');
      const t = spawnSync(
        'strace',
        [
          '-f',
          '-qq',
          '-e',
          'trace=execve',
          '-o',
          trace,
          shim,
          '--runtime-binary',
          '/bin/true',
          '--capctl-state-dir',
          state,
          'create',
          '--bundle',
          b,
          'st1',
        ],
        { encoding: 'utf8' },
      );
      expect(t.status).toBe(0);
      const execs = readFileSync(trace, 'utf8')
        .split('\n')
        .filter((l) => / execve\("/.test(l) && !/= -1 /.test(l))
        .map((l) => resolve(/execve\("([^"]+)"/.exec(l)![1]!));
      expect(execs).toEqual([shim, fastBin, '/bin/true']);
    },
  );
});
