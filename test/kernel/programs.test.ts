/**
 * Traces of real programs (capsh, setpriv) recorded here under strace -f replay with 0
 * divergences — and a file-capability exec that only --file-caps can explain.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCapText } from '../../src/caps/text.js';
import { decodeFileCaps, encodeFileCaps, fileCapsFromTriple } from '../../src/caps/xattr.js';
import { replayFile } from '../../src/runtime/replay.js';
import {
  buildWorkspace,
  canRunKernelTests,
  has,
  recordTrace,
  removeWorkspace,
  replayCollect,
  STYLES,
  selfStatus,
  skipReason,
  type Workspace,
} from './harness.js';

const ok = canRunKernelTests && has('capsh') && has('setpriv');
const reason = skipReason || (ok ? '' : 'needs capsh and setpriv');

const PROGRAMS: ReadonlyArray<{ name: string; argv: string[]; expect: string[] }> = [
  {
    name: 'capsh drops, keeps caps across setuid to nobody, raises ambient, runs bash and capsh',
    argv: [
      'capsh',
      '--drop=cap_sys_admin,cap_net_admin',
      '--caps=cap_net_raw,cap_setuid,cap_setgid,cap_setpcap+eip',
      '--keep=1',
      '--user=nobody',
      '--addamb=cap_net_raw',
      '--',
      '-c',
      'capsh --print >/dev/null',
    ],
    expect: ['capset', 'prctl', 'setuid', 'execve', 'capget'],
  },
  {
    name: 'setpriv with inheritable + ambient caps and a uid change, then capsh',
    argv: [
      'setpriv',
      '--inh-caps',
      '+net_raw,+net_bind_service',
      '--ambient-caps',
      '+net_raw',
      '--reuid',
      '1000',
      '--regid',
      '1000',
      '--clear-groups',
      '--',
      'capsh',
      '--print',
    ],
    expect: ['capset', 'prctl', 'setresuid', 'setgroups', 'execve'],
  },
  {
    name: 'setpriv with no_new_privs, a reduced bounding set and nobody, then sh and capsh',
    argv: [
      'setpriv',
      '--no-new-privs',
      '--bounding-set',
      '-all,+net_raw,+setuid',
      '--inh-caps',
      '+net_raw',
      '--ambient-caps',
      '+net_raw',
      '--reuid',
      '65534',
      '--regid',
      '65534',
      '--init-groups',
      '--',
      '/bin/sh',
      '-c',
      'capsh --print >/dev/null; true',
    ],
    expect: ['prctl', 'execve', 'capget'],
  },
  {
    name: 'unshare into new pid and UTS namespaces, fork, sh, capsh (clone returns namespace pids)',
    argv: ['unshare', '--pid', '--fork', '--uts', '/bin/sh', '-c', 'capsh --print >/dev/null; hostname capctl-ns'],
    expect: ['unshare', 'execve', 'capget', 'vfork', 'sethostname'],
  },
  {
    name: 'unshare into a new user namespace with a uid map (credentials after the map are not modelled)',
    argv: ['unshare', '--user', '--map-root-user', '/bin/sh', '-c', 'capsh --print >/dev/null'],
    expect: ['unshare', 'execve'],
  },
];

describe.runIf(ok)(`real programs under strace -f${reason ? ` — skipped: ${reason}` : ''}`, () => {
  let ws: Workspace;
  const status = ok ? selfStatus() : '';
  beforeAll(() => {
    ws = buildWorkspace();
  });
  afterAll(() => {
    if (ws) removeWorkspace(ws);
  });

  for (const [i, prog] of PROGRAMS.entries()) {
    for (const style of [STYLES[0]!, STYLES[2]!, STYLES[5]!]) {
      if (!style.toFile && i === 0) continue; // bash prints to stderr only on errors, but keep -o for capsh
      it(`${prog.name} (${style.toFile ? '-o' : 'stderr'} ${style.flags.join(' ')})`, async () => {
        const out = join(ws.dir, `prog-${i}-${STYLES.indexOf(style)}.txt`);
        const code = await recordTrace(prog.argv, out, style);
        expect(code).toBe(0);
        const r = await replayCollect(out, status);
        expect(r.malformed).toEqual([]);
        expect(r.divergences).toEqual([]);
        expect(r.summary.calls).toBeGreaterThan(20);
        for (const name of prog.expect) expect(r.summary.bySyscall[name]?.matched ?? 0, name).toBeGreaterThan(0);
      });
    }
  }

  it('an exec of a file with capabilities: diverges without --file-caps, matches with it', async () => {
    const target = ws.targets.find((t) => t.endsWith('gen_raw_ep'))!;
    const out = join(ws.dir, 'filecaps.txt');
    // setpriv switches to uid 1000 with no capabilities left, then execs a cap_net_raw=ep file.
    const argv = [
      'setpriv',
      '--reuid',
      '1000',
      '--regid',
      '1000',
      '--clear-groups',
      '--inh-caps',
      '-all',
      '--',
      target,
      '5',
      '25',
      ws.nodes,
    ];
    expect(await recordTrace(argv, out, STYLES[0]!)).toBe(0);
    const without = await replayCollect(out, status);
    expect(without.summary.diverged).toBeGreaterThan(0);
    const text = parseCapText('cap_net_raw=ep');
    const fc = decodeFileCaps(encodeFileCaps(fileCapsFromTriple(text, text.beyond)));
    const divergences: unknown[] = [];
    const withCaps = await replayFile(out, {
      status,
      fileCaps: new Map([[target, fc]]),
      onDivergence: (d) => divergences.push(d),
    });
    expect(divergences).toEqual([]);
    expect(withCaps.matched).toBeGreaterThan(10);
  });
});
