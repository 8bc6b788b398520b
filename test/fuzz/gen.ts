/**
 * Generators for the fuzz suite, one per input kind capctl reads: strace traces, YAML profiles,
 * audit log lines, bindings files and command lines. Each starts from real inputs (the
 * recorded fixtures, the stock profiles, real audit records) and mutates them, plus fully
 * synthetic inputs, so that both "almost right" and "nothing like it" are covered.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TRACES = join(ROOT, 'test', 'fixtures', 'traces');
const AUDIT = join(ROOT, 'test', 'fixtures', 'audit');
const POLICIES = join(ROOT, 'policies');

export const STATUS_FILE = join(TRACES, 'root.status');

function linesOf(dir: string, filter: (f: string) => boolean): string[] {
  return readdirSync(dir)
    .filter(filter)
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter((l) => l.length > 0);
}

const TRACE_LINES = linesOf(TRACES, (f) => f.endsWith('.strace'));
const AUDIT_LINES = linesOf(AUDIT, () => true);
export const STOCK_PROFILES = readdirSync(POLICIES)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(POLICIES, f), 'utf8'));

/** Characters that mean something to one of the parsers, plus some that mean nothing. */
const SPECIAL = [
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '\\',
  '=',
  '<',
  '>',
  ',',
  ':',
  '|',
  '*',
  '&',
  '!',
  '#',
  '%',
  '@',
  '`',
  '-',
  '+',
  '.',
  '0',
  '9',
  ' ',
  '\t',
  '\r',
  '\0',
  '\x1b',
  '\u2028',
  '\ufeff',
  'é',
  '\ud800',
  '?',
  '~',
  '$',
];

const specialChar = fc.constantFrom(...SPECIAL);

/** A random edit of `s`: replace, insert, delete, truncate, duplicate a slice, or a big blow-up. */
function mutate(s: string): fc.Arbitrary<string> {
  const n = Math.max(s.length, 1);
  return fc.oneof(
    fc.tuple(fc.nat(n), specialChar).map(([i, c]) => s.slice(0, i) + c + s.slice(i + 1)),
    fc.tuple(fc.nat(n), fc.string({ maxLength: 8 })).map(([i, t]) => s.slice(0, i) + t + s.slice(i)),
    fc.tuple(fc.nat(n), fc.nat(16)).map(([i, k]) => s.slice(0, i) + s.slice(i + k)),
    fc.nat(n).map((i) => s.slice(0, i)),
    fc.tuple(fc.nat(n), fc.nat(n)).map(([a, b]) => s.slice(0, Math.max(a, b)) + s.slice(Math.min(a, b))),
    fc
      .tuple(fc.nat(n), fc.constantFrom('9', 'a', '(', '[', ' '))
      .map(([i, c]) => s.slice(0, i) + c.repeat(5000) + s.slice(i)),
  );
}

/** `s` with 0..3 mutations applied. */
function mutated(s: string): fc.Arbitrary<string> {
  return fc.nat(3).chain((k) => {
    let a: fc.Arbitrary<string> = fc.constant(s);
    for (let i = 0; i < k; i++) a = a.chain(mutate);
    return a;
  });
}

// ------------------------------------------------------------------ traces

const TRACE_CALLS = [
  'capget',
  'capset',
  'prctl',
  'setuid',
  'setgid',
  'setresuid',
  'setresgid',
  'setreuid',
  'setregid',
  'setfsuid',
  'setgroups',
  'execve',
  'execveat',
  'clone',
  'clone3',
  'fork',
  'vfork',
  'wait4',
  'waitid',
  'kill',
  'tgkill',
  'unshare',
  'socket',
  'bind',
  'mknod',
  'chroot',
  'sethostname',
  'getxattr',
  'getpid',
  'gettid',
  'exit_group',
  'open',
];

const pidText = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 40000 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '4194304', '4194305', '1072693248', '99999999999', '-1', '007') },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 3000 }).map((k) => '9'.repeat(k)) },
);

const argText = fc.oneof(
  fc.constantFrom(
    '{version=_LINUX_CAPABILITY_VERSION_3, pid=0}, NULL',
    '{version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=1<<CAP_NET_RAW, permitted=1<<CAP_NET_RAW, inheritable=0}',
    '{version=0x12345678, pid=-5}, {}',
    'PR_CAPBSET_DROP, CAP_SYS_ADMIN',
    'PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0',
    'PR_SET_SECUREBITS, SECBIT_NOROOT|SECBIT_KEEP_CAPS_LOCKED',
    '1000',
    '-1, 1000, -1',
    '0, [0, 1, 65534]',
    '65536, NULL',
    'child_stack=NULL, flags=CLONE_NEWUSER|CLONE_NEWPID|SIGCHLD',
    '{flags=CLONE_THREAD, exit_signal=0}, 88',
    '"/usr/bin/ping", ["ping"], 0x7ff /* 3 vars */',
    'AF_INET, SOCK_RAW, IPPROTO_ICMP',
    '3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("0.0.0.0")}, 16',
    '"/dev/x", S_IFCHR|0600, makedev(0x1, 0x3)',
    '-1, NULL, 0, NULL',
    '"/usr/bin/x", "security.capability", "\\x01\\x00\\x00\\x02\\x00\\x20\\x00\\x00", 20',
  ),
  fc.string({ maxLength: 40 }),
);

const retText = fc.oneof(
  fc.constantFrom('0', '-1 EPERM (Operation not permitted)', '-1 EINVAL (Invalid argument)', '?', '1', '= 5', '0x10'),
  pidText,
  fc.string({ maxLength: 12 }),
);

const syntheticTraceLine = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(pidText, fc.constantFrom(...TRACE_CALLS), argText, retText)
      .map(([p, n, a, r]) => `${p} ${n}(${a}) = ${r}`),
  },
  { weight: 1, arbitrary: pidText.map((p) => `${p} +++ exited with 0 +++`) },
  { weight: 1, arbitrary: pidText.map((p) => `[pid ${p}] setuid(0) = 0`) },
  {
    weight: 1,
    arbitrary: fc.tuple(pidText, fc.constantFrom(...TRACE_CALLS)).map(([p, n]) => `${p} ${n}(1 <unfinished ...>`),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(pidText, fc.constantFrom(...TRACE_CALLS)).map(([p, n]) => `${p} <... ${n} resumed>) = 0`),
  },
  { weight: 1, arbitrary: fc.tuple(pidText, pidText).map(([p, o]) => `${p} +++ superseded by execve in pid ${o} +++`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
);

const traceLine = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TRACE_LINES).chain(mutated) },
  { weight: 2, arbitrary: syntheticTraceLine },
);

/** A trace: a slice of a recorded one with mutated and synthetic lines mixed in. */
export const traceText = fc
  .tuple(
    fc.nat(TRACE_LINES.length - 1),
    fc.nat(60),
    fc.array(fc.tuple(fc.nat(60), traceLine), { maxLength: 12 }),
    fc.boolean(),
  )
  .map(([start, len, inserts, twice]) => {
    const lines = TRACE_LINES.slice(start, start + len);
    for (const [at, l] of inserts) lines.splice(at % (lines.length + 1), 0, l);
    const text = `${lines.join('\n')}\n`;
    return twice ? text + text : text;
  });

// ------------------------------------------------------------------ profiles

const capName = fc.oneof(
  fc.constantFrom('CAP_NET_RAW', 'NET_ADMIN', 'cap_chown', 'ALL', 'CAP_ALL', 'CAP_SYS_ADMN', 'CAP_64', '13', ''),
  fc.string({ maxLength: 12 }),
);
const privName = fc.oneof(
  fc.constantFrom('PRIV_NETINET_RAW', 'PRIV_*', 'PRIV_VFS_*', 'netinet_raw', 'PRIV_XX'),
  fc.string({ maxLength: 10 }),
);
const anyScalar = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1e300, 4294967295, '', 'x', '1000-0', '0-4294967294', '*a', '\n'),
  fc.string({ maxLength: 10 }),
  fc.integer(),
);
const listOf = <T>(a: fc.Arbitrary<T>) => fc.oneof(fc.array(a, { maxLength: 4 }), anyScalar);

const ruleDoc = fc.record(
  {
    effect: fc.oneof(fc.constantFrom('allow', 'deny'), anyScalar),
    caps: listOf(capName),
    privs: listOf(privName),
    when: fc.oneof(
      fc.record(
        {
          uid: fc.oneof(fc.constantFrom(0, '1000-65535', '5-1', '99999999999', -3), anyScalar),
          syscall: listOf(
            fc.oneof(fc.constantFrom('socket', 'bind', 'capable', 'sockt', 'x'.repeat(500)), fc.string()),
          ),
        },
        { requiredKeys: [] },
      ),
      anyScalar,
    ),
    priority: fc.oneof(fc.integer({ min: -5, max: 1005 }), anyScalar),
    comment: anyScalar,
  },
  { requiredKeys: [] },
);

const setValue = fc.oneof(listOf(capName), fc.constantFrom('cap_net_raw,cap_chown', 'all', '=ep', 'NET_RAW,CHOWN'));

const profileDoc = fc.record(
  {
    name: fc.oneof(fc.constantFrom('fuzz', ''), anyScalar),
    description: anyScalar,
    extends: fc.oneof(
      fc.constantFrom('strict', 'ping', 'nosuch', '/etc/passwd', '/dev/zero', '/proc/self/environ', '../x', ''),
      fc.array(fc.constantFrom('strict', 'docker-default', 'k8s-restricted', 'fuzz'), { maxLength: 3 }),
      anyScalar,
    ),
    target: fc.oneof(fc.constantFrom('jail', 'chroot', 'container', 'vm'), anyScalar),
    mode: fc.oneof(fc.constantFrom('enforce', 'complain', 'audit'), anyScalar),
    capabilities: fc.oneof(
      fc.record(
        {
          bounding: setValue,
          permitted: setValue,
          effective: setValue,
          inheritable: setValue,
          ambient: setValue,
          add: listOf(capName),
          drop: listOf(capName),
          text: fc.oneof(
            fc.constantFrom('cap_net_raw=ep', '=ep cap_chown-e', 'cap_foo+p'),
            fc.string({ maxLength: 10 }),
          ),
        },
        { requiredKeys: [] },
      ),
      anyScalar,
    ),
    rules: fc.oneof(fc.array(ruleDoc, { maxLength: 4 }), anyScalar),
    jail: fc.oneof(
      fc.dictionary(
        fc.constantFrom(
          'allow.raw_sockets',
          'allow.mount',
          'enforce_statfs',
          'vnet',
          'allow.nomount',
          'path',
          'allow.bogus',
          'securelevel',
        ),
        anyScalar,
        { maxKeys: 3 },
      ),
      anyScalar,
    ),
    audit: fc.oneof(
      fc.record(
        {
          log: fc.oneof(fc.constantFrom('denied', 'all', 'none'), anyScalar),
          rateLimit: fc.oneof(fc.record({ perSecond: anyScalar, burst: anyScalar }), anyScalar),
        },
        { requiredKeys: [] },
      ),
      anyScalar,
    ),
  },
  { requiredKeys: [] },
);

/** YAML snippets the yaml library has opinions about. */
const yamlHostile = fc.constantFrom(
  'name: a\ncaps: *nope\n',
  'name: &a x\n<<: *a\n',
  'name: x\nname: y\n',
  'name: x\n\tdescription: y\n',
  'name: "a\\qb"\n',
  'name: [\n',
  '--- \nname: x\n---\nname: y\n',
  'name: !!binary aGk=\n',
  'name: !foo x\n',
  '%YAML 9.9\n---\nname: x\n',
  '? [a]\n: b\n',
  'name: x\nrules: &r\n  - *r\n',
  `name: b\nl0: &l0 [x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 10 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(', ')}]`).join('\n')}\n`,
  '\ufeffname: bom\n',
  'name: x\x00\n',
  `name: ${'a'.repeat(100_000)}\n`,
  `${'['.repeat(5000)}\n`,
  '',
  '\n\n\n',
  '- a\n- b\n',
  '42\n',
);

/** Profile text: a stock profile mutated, a random document, or a hostile YAML snippet. */
export function profileText(stringify: (v: unknown) => string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...STOCK_PROFILES).chain(mutated) },
    { weight: 3, arbitrary: profileDoc.map((d) => stringify(d)) },
    { weight: 1, arbitrary: yamlHostile },
  );
}

// ------------------------------------------------------------------ audit logs

const auditRecordDoc = fc.record(
  {
    time: fc.oneof(fc.constant('2026-01-01T00:00:00.000Z'), anyScalar),
    verdict: fc.oneof(fc.constantFrom('denied', 'complain', 'allowed'), anyScalar),
    host: fc.oneof(fc.constantFrom('linux', 'freebsd'), anyScalar),
    syscall: fc.oneof(fc.constantFrom('socket', 'bind', 'capable', 'capset', 'prctl'), anyScalar),
    errno: fc.oneof(fc.constantFrom('EPERM', ''), anyScalar),
    stage: fc.oneof(fc.constantFrom('capability', 'profile', 'permitted', 'jail', 'policy'), anyScalar),
    reason: anyScalar,
    tid: fc.oneof(fc.integer(), anyScalar),
    tgid: fc.oneof(fc.integer(), anyScalar),
    cap: fc.oneof(capName, anyScalar),
    capNumber: fc.oneof(fc.integer({ min: -2, max: 70 }), anyScalar),
    priv: fc.oneof(privName, anyScalar),
    privNumber: fc.oneof(fc.integer({ min: -2, max: 800 }), anyScalar),
    op: anyScalar,
  },
  { requiredKeys: [] },
);

const auditLine = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...AUDIT_LINES).chain(mutated) },
  { weight: 3, arbitrary: auditRecordDoc.map((r) => JSON.stringify(r)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
);

export const auditText = fc.array(auditLine, { maxLength: 20 }).map((ls) => `${ls.join('\n')}\n`);

// ------------------------------------------------------------------ bindings files

const bindingDoc = fc.record(
  {
    kind: fc.oneof(fc.constantFrom('jail', 'chroot', 'container'), anyScalar),
    target: fc.oneof(fc.constantFrom('web', '/srv/x', 'a\nb', 'x'.repeat(20_000)), anyScalar, fc.object()),
    profile: fc.oneof(fc.constantFrom('strict', 'ping', '/etc/passwd', 'nosuch'), anyScalar),
    sha256: fc.oneof(fc.constantFrom('0'.repeat(64), 'zz'), anyScalar),
    attachedAt: anyScalar,
  },
  { requiredKeys: [] },
);

export const bindingsText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          version: fc.oneof(fc.constant(1), anyScalar),
          bindings: fc.oneof(fc.array(fc.oneof(bindingDoc, anyScalar), { maxLength: 4 }), anyScalar),
        },
        { requiredKeys: [] },
      )
      .map((d) => JSON.stringify(d)),
  },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      'null',
      '[]',
      '{"version":1,"bindings":[null]}',
      '{"version":1,"bindings":[{"profile":5}]}',
      '{"version":1,"bindings":[{"target":{}}]}',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
);

// ------------------------------------------------------------------ command lines

/** Values a flag or argument may get: numbers in every spelling, names, paths, junk. */
export function flagValue(paths: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      '',
      '0',
      '1',
      '1e3',
      '-1',
      '+1',
      '0x10',
      '0x',
      '010',
      'NaN',
      'Infinity',
      '4294967295',
      '4194305',
      '9'.repeat(400),
    ),
    fc.constantFrom(
      'CAP_NET_RAW',
      'cap_net_raw+ep',
      '=ep',
      'PRIV_NETINET_RAW',
      'net_raw',
      'strict',
      'ping',
      'linux',
      'freebsd',
      'allow.raw_sockets=1',
      'a=b',
      'uid=0',
      'syscall=socket',
    ),
    fc.constantFrom(...paths),
    fc.string({ maxLength: 16 }).filter((s) => s !== '-'),
  );
}

/** Commands the flag fuzzer may run, with their flags (none reads stdin, writes outside temp dirs, or runs programs). */
export const COMMAND_FLAGS: Record<string, { words: string[]; flags: string[]; bool: string[] }> = {
  text: { words: ['text'], flags: ['--effective', '--permitted', '--inheritable'], bool: ['--json'] },
  decode: { words: ['decode'], flags: [], bool: ['--json'] },
  caps: { words: ['caps'], flags: [], bool: ['--json'] },
  ps: { words: ['ps'], flags: ['--cap', '--sort'], bool: ['--json', '--threads'] },
  getcap: { words: ['getcap'], flags: [], bool: ['--json', '-r'] },
  replay: {
    words: ['replay'],
    flags: ['--status', '--securebits', '--file-caps', '--host', '--jail-param', '--profile', '--audit'],
    bool: ['--json', '--check', '--strict'],
  },
  check: {
    words: ['check'],
    flags: ['--host', '--caps', '--uid', '--profile', '--jail-param'],
    bool: ['--json', '--native'],
  },
  explain: { words: ['profile', 'explain'], flags: ['--uid', '--syscall'], bool: ['--json'] },
  validate: { words: ['profile', 'validate'], flags: [], bool: ['--json', '--strict'] },
  show: { words: ['profile', 'show'], flags: [], bool: ['--json'] },
  query: {
    words: ['audit', 'query'],
    flags: ['--cap', '--syscall', '--verdict', '--pid', '--profile', '--since', '--until'],
    bool: ['--json'],
  },
  summary: { words: ['audit', 'summary'], flags: ['--pid', '--since', '--until', '--verdict'], bool: ['--json'] },
  suggest: {
    words: ['audit', 'suggest'],
    flags: ['--name', '--extends', '--target', '--pid'],
    bool: ['--json', '--no-complain'],
  },
  privlist: { words: ['priv', 'list'], flags: ['--group'], bool: ['--json'] },
  capexplain: { words: ['cap', 'explain'], flags: [], bool: ['--json'] },
  bindings: { words: ['bindings'], flags: ['--state-dir'], bool: ['--json'] },
};

export function argv(paths: readonly string[]): fc.Arbitrary<string[]> {
  const value = flagValue(paths);
  return fc
    .constantFrom(...Object.values(COMMAND_FLAGS))
    .chain((c) =>
      fc
        .tuple(
          fc.array(value, { maxLength: 3 }),
          fc.array(fc.tuple(fc.constantFrom(...(c.flags.length ? c.flags : ['--json'])), value), { maxLength: 4 }),
          fc.subarray(c.bool),
          fc.boolean(),
        )
        .map(([pos, kv, bools, eqForm]) => [
          ...c.words,
          ...pos,
          ...kv.flatMap(([k, v]) => (k === '--json' ? [k] : eqForm ? [`${k}=${v}`] : [k, v])),
          ...bools,
        ]),
    );
}
