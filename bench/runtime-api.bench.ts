/**
 * Runtime API throughput: capset + capget pairs per second through the public API
 * (Runtime.capset/capget with a v3 header, pid 0, on a thread looked up by tid each call),
 * against an in-run baseline that does the equivalent integer work in a plain loop (read six
 * words, the four subset rules, the ambient mask, write six words back) with no API around it.
 * Target from the issue: >= 1M pairs per second.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Credential, createRuntime } from '../src/runtime/index.js';
import { type BenchRow, opsPerSecond } from './harness.js';

const V3 = 0x20080522;

export async function run(): Promise<BenchRow[]> {
  const rt = createRuntime();
  const tid = rt.spawn(Credential.root(), { tid: 4242 }).tid;
  const hdrSet = { version: V3, pid: 0 };
  const hdrGet = { version: V3, pid: 0 };
  // Alternate between two valid states so every capset does a real change.
  const a = new Uint32Array([0x3fff, 0xffffffff, 0x20, 0x1ff, 0x1ff, 0]);
  const b = new Uint32Array([0x21, 0xffffffff, 0x20, 0x0, 0x1ff, 0]);
  const out = new Uint32Array(6);
  const dA = { words: a };
  const dB = { words: b };
  const dOut = { words: out };
  let flip = false;
  // Kept small (& 0xffff) so the accumulator itself never needs a heap number.
  let sink = 0;
  const api = () => {
    flip = !flip;
    const r1 = rt.capset(tid, hdrSet, flip ? dA : dB);
    const r2 = rt.capget(tid, hdrGet, dOut);
    sink = (sink + r1.ret + r2.ret + out[0]!) & 0xffff;
  };
  const apiRate = opsPerSecond(api);

  // Allocation check: garbage collections observed while running 2M more pairs (0 = the pairs
  // allocate nothing the young generation has to collect).
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  for (let i = 0; i < 2_000_000; i++) api();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();

  // Baseline: the same integer work on plain variables.
  const st = new Uint32Array([0xffffffff, 0x1ff, 0xffffffff, 0x1ff, 0, 0, 0xffffffff, 0x1ff, 0, 0]);
  const base = () => {
    flip = !flip;
    const w = flip ? a : b;
    const eLo = w[0]!;
    const pLo = w[1]!;
    const iLo = w[2]!;
    const eHi = w[3]! & 0x1ff;
    const pHi = w[4]! & 0x1ff;
    const iHi = w[5]! & 0x1ff;
    const ok =
      (iLo & ~(st[4]! | st[2]!)) === 0 &&
      (iHi & ~(st[5]! | st[3]!)) === 0 &&
      (iLo & ~(st[4]! | st[6]!)) === 0 &&
      (iHi & ~(st[5]! | st[7]!)) === 0 &&
      (pLo & ~st[2]!) === 0 &&
      (pHi & ~st[3]!) === 0 &&
      (eLo & ~pLo) === 0 &&
      (eHi & ~pHi) === 0;
    if (ok) {
      st[0] = eLo;
      st[1] = eHi;
      st[4] = iLo;
      st[5] = iHi;
      st[8] = st[8]! & pLo & iLo;
      st[9] = st[9]! & pHi & iHi;
    }
    out[0] = st[0]!;
    out[1] = st[2]!;
    out[2] = st[4]!;
    out[3] = st[1]!;
    out[4] = st[3]!;
    out[5] = st[5]!;
    sink = (sink + out[0]!) & 0xffff;
  };
  const baseRate = opsPerSecond(base);

  // prctl read and a set*id round trip, for scale.
  const prctlRate = opsPerSecond(() => {
    sink = (sink + rt.prctl(tid, 23, 13).ret) & 0xffff;
  });
  // A seteuid round trip (root → 1000 → root: E cleared then restored from P) and an exec.
  const setidRate = opsPerSecond(() => {
    sink += rt.setresuid(tid, -1, 1000, -1).ret + rt.setresuid(tid, -1, 0, -1).ret;
  }, 2);
  const execRate = opsPerSecond(() => {
    sink += rt.execve(tid, {}).ret;
  });
  if (sink === 0.5) console.log(sink); // keep the work observable
  return [
    {
      name: 'capset+capget pairs (public API, v3, pid 0)',
      value: apiRate,
      unit: 'pairs/s',
      baseline: { name: 'plain-loop integer equivalent', value: baseRate },
      target: 1e6,
      note: `${gcs} garbage collections during 2M further pairs`,
    },
    {
      name: 'prctl(PR_CAPBSET_READ) (public API)',
      value: prctlRate,
      unit: 'calls/s',
      baseline: { name: 'plain-loop capset+capget equivalent', value: baseRate },
    },
    {
      name: 'setresuid (seteuid 1000 and back, fix-ups included)',
      value: setidRate,
      unit: 'calls/s',
      baseline: { name: 'plain-loop capset+capget equivalent', value: baseRate },
    },
    {
      name: 'execve of a plain file (credential transformation)',
      value: execRate,
      unit: 'calls/s',
      baseline: { name: 'plain-loop capset+capget equivalent', value: baseRate },
    },
  ];
}
