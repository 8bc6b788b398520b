/**
 * priv_check throughput through the public API (src/priv/check.ts `privCheck`), against a plain
 * typed-array lookup loop over the same privilege numbers in the same run (the floor: one
 * indexed read per decision). Mixes: bridged Linux threads with varied effective sets and
 * native credentials, across a default jail, a permissive vnet jail and prison0 with a profile.
 * Also measured: the FreeBSD host's capable() (op rule + priv_check + reason string), which is
 * what the runtime pays per privileged syscall, and explainPrivCheck (reason chains).
 */
import { capByName } from '../src/caps/catalog.js';
import { PRIVS } from '../src/priv/catalog.js';
import {
  bridgeCred,
  compilePrison,
  explainPrivCheck,
  nativeCred,
  type PrivCred,
  privCheck,
} from '../src/priv/check.js';
import { makeJailConfig } from '../src/priv/jail.js';
import { makePrivPolicy } from '../src/priv/policy-hook.js';
import { Credential } from '../src/runtime/credential.js';
import { createFreeBSDHost } from '../src/runtime/freebsd-host.js';
import { type BenchRow, opsPerSecond } from './harness.js';

const N = 4096;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

export async function run(): Promise<BenchRow[]> {
  const rnd = rng(42);
  const numbers = PRIVS.map((p) => p.number);
  const privs = new Int32Array(N);
  for (let i = 0; i < N; i++) privs[i] = numbers[Math.floor(rnd() * numbers.length)]!;

  const prisons = [
    compilePrison(makeJailConfig({})),
    compilePrison(makeJailConfig({ vnet: 'new', 'allow.raw_sockets': '1', 'allow.mount': '1', enforce_statfs: '1' })),
    compilePrison(
      makeJailConfig({ jailed: '0' }),
      makePrivPolicy({ name: 'bench', deny: [50, 51], grant: [490, 497], capAllowLo: 0xfffffffe }),
    ),
  ];
  const creds: PrivCred[] = [];
  for (let i = 0; i < 16; i++) {
    const pr = prisons[i % prisons.length]!;
    if (i % 4 === 3) creds.push(nativeCred(pr, i % 8 === 3 ? 0 : 1000));
    else creds.push(bridgeCred(pr, i % 2 === 0 ? 0 : 1000, Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 0x200)));
  }

  // Guard: the bench measures real decisions, not a constant.
  let allowed = 0;
  for (let i = 0; i < N; i++) if ((privCheck(creds[i & 15]!, privs[i]!) & 0xff) === 0) allowed++;
  if (allowed === 0 || allowed === N) throw new Error(`priv bench: degenerate mix (${allowed}/${N} allowed)`);

  let sink = 0;
  const apiRate = opsPerSecond(() => {
    let acc = 0;
    for (let i = 0; i < N; i++) acc ^= privCheck(creds[i & 15]!, privs[i]!);
    sink ^= acc;
  }, N);

  // Baseline: the same loop shape reading one precompiled table per decision.
  const table = new Uint32Array(1024);
  for (let i = 0; i < 1024; i++) table[i] = (i * 2654435761) >>> 0;
  const baseRate = opsPerSecond(() => {
    let acc = 0;
    for (let i = 0; i < N; i++) acc ^= table[privs[i]!]!;
    sink ^= acc;
  }, N);

  const host = createFreeBSDHost({ jailParams: { 'allow.raw_sockets': '1' } });
  const root = Credential.root();
  const netRaw = capByName('CAP_NET_RAW')!;
  const op = { syscall: 'socket', detail: 'AF_INET SOCK_RAW IPPROTO_ICMP' };
  const hostRate = opsPerSecond(() => {
    sink ^= host.capable(root, netRaw, op).errno;
  });

  const explainRate = opsPerSecond(() => {
    for (let i = 0; i < 64; i++) sink ^= explainPrivCheck(creds[i & 15]!, privs[i]!).chain.length;
  }, 64);

  if (sink === 0x7fffffff) process.stderr.write('');
  return [
    {
      name: 'privCheck(cred, priv), mixed jails/creds/privs',
      value: apiRate,
      unit: 'decisions/s',
      baseline: { name: 'typed-array lookup loop', value: baseRate },
      target: 20e6,
      note: `${N} requests over 246 privileges, 16 credentials in 3 prisons; ${allowed}/${N} allowed`,
    },
    {
      name: 'FreeBSD host capable() (op rule + priv_check + reason)',
      value: hostRate,
      unit: 'decisions/s',
      baseline: { name: 'privCheck', value: apiRate },
      note: 'raw ICMP socket in a jail with allow.raw_sockets; allowed decisions are cached per (cap, priv, stage, path)',
    },
    {
      name: 'explainPrivCheck (reason chain)',
      value: explainRate,
      unit: 'decisions/s',
      baseline: { name: 'privCheck', value: apiRate },
      note: 'slow path for people and audit records',
    },
  ];
}
