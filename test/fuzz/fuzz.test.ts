/**
 * The fuzz suite (issue 8): seeded, thousands of cases per input kind in CI (traces, profiles,
 * audit logs, bindings files, command lines), more with CAPCTL_FUZZ=N (cases per kind). The
 * oracle: capctl exits 0, 1 or 2 with at most one error line, never an exception, a stack
 * trace, a hang or a signal, and each case within CASE_MS.
 *
 * Three tiers, cheapest first: the library entry points (replayText, loadResolvedProfile, the
 * audit reader and suggester, readBindings) take N cases per kind — there the oracle is "a
 * result, or a CapctlError"; the real commander program, in-process through main(), takes N/8
 * per kind with the CLI oracle; and the first few of those also run as real child processes,
 * where a signal, an unhandled rejection or a hang would show. A failure prints the seed and the case;
 * replay it with CAPCTL_FUZZ_SEED=… (and CAPCTL_FUZZ_SHRINK=1 for a minimal case).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readAuditRecords } from '../../src/audit/reader.js';
import { SuggestBuilder, suggestionYaml } from '../../src/audit/suggest.js';
import { CapctlError } from '../../src/caps/errors.js';
import { readBindings } from '../../src/policy/bindings.js';
import { loadResolvedProfile } from '../../src/policy/load.js';
import { formatIssue } from '../../src/policy/source.js';
import { ReplayMalformedError, replayText } from '../../src/runtime/replay.js';
import { argv, auditText, bindingsText, profileText, ROOT, STATUS_FILE, traceText } from './gen.js';
import { capctlInProcess, type InProcRun, oracleProblem } from './inproc.js';

/**
 * Cases per input kind through the library entry points (2,500 in CI: about 20 s), and through
 * the CLI in-process (100 in CI; N / 8 when CAPCTL_FUZZ=N is given).
 */
const N = Number(process.env.CAPCTL_FUZZ ?? 2500);
const N_CLI = process.env.CAPCTL_FUZZ === undefined ? 100 : Math.max(20, Math.floor(N / 8));
/** Cases per input kind also run as a child process. */
const CHILD = Number(process.env.CAPCTL_FUZZ_CHILD ?? 3);
const SEED = Number(process.env.CAPCTL_FUZZ_SEED ?? 20261201);
const SHRINK = process.env.CAPCTL_FUZZ_SHRINK === '1';
/** Per-case time limit: generous for a loaded 2-core CI box; a hang is far beyond it. */
const CASE_MS = 5000;
const CLI = join(ROOT, 'bin', 'capctl.js');

const dir = mkdtempSync(join(tmpdir(), 'capctl-i8b-fuzz-'));
const state = join(dir, 'state');
const savedState = process.env.CAPCTL_STATE_DIR;
beforeAll(() => {
  mkdirSync(state, { mode: 0o700 });
  // Nothing a fuzzed command line does may touch the real state directory.
  process.env.CAPCTL_STATE_DIR = state;
});
afterAll(() => {
  if (savedState === undefined) delete process.env.CAPCTL_STATE_DIR;
  else process.env.CAPCTL_STATE_DIR = savedState;
  rmSync(dir, { recursive: true, force: true });
});

const f = (name: string) => join(dir, name);
const TRACE = f('t.strace');
const PROFILE = f('p.yaml');
const LOG = f('a.log');
const SMALL_TRACE = f('small.strace');
writeFileSync(SMALL_TRACE, '1 socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = 3\n1 setuid(1000) = 0\n');
const PLAIN = f('plain');
writeFileSync(PLAIN, '');
const PING = join(ROOT, 'policies', 'ping.yaml');

async function checkCase(args: string[], what: string): Promise<InProcRun> {
  const t0 = performance.now();
  const r = await capctlInProcess(args);
  const ms = performance.now() - t0;
  const problem = oracleProblem(r) ?? (ms > CASE_MS ? `took ${Math.round(ms)} ms (limit ${CASE_MS})` : undefined);
  if (problem)
    throw new Error(
      `${problem}\n  capctl ${args.map((a) => JSON.stringify(a.slice(0, 200))).join(' ')}\n  input: ${what.slice(0, 600)}`,
    );
  return r;
}

function childCase(args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    input: '',
    env: { ...process.env, CAPCTL_STATE_DIR: state },
    maxBuffer: 64 * 1024 * 1024,
  });
  const where = `capctl ${args.join(' ').slice(0, 300)}`;
  expect(r.error, `${where}: ${String(r.error)}`).toBeUndefined();
  expect(r.signal, `${where}: killed by ${r.signal}`).toBeNull();
  const problem = oracleProblem({ code: r.status ?? -1, out: r.stdout, err: r.stderr });
  expect(problem, where).toBeUndefined();
}

/** A failure names the seed and the case, cut short: fuzzed inputs can be megabytes. */
function report(d: fc.RunDetails<unknown>): void {
  if (!d.failed) return;
  const ex = JSON.stringify(d.counterexample) ?? '';
  const cause = String((d.errorInstance as Error | undefined)?.message ?? d.errorInstance).slice(0, 1500);
  throw new Error(
    `fuzz case failed (CAPCTL_FUZZ_SEED=${d.seed}, path ${d.counterexamplePath}):\n${cause}\ncase: ${ex.slice(0, 1500)}${ex.length > 1500 ? `… (${ex.length} chars)` : ''}`,
  );
}

const params = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: !SHRINK, reporter: report });
const asyncParams = (numRuns: number) => ({
  seed: SEED,
  numRuns,
  endOnFailure: !SHRINK,
  asyncReporter: async (d: fc.RunDetails<unknown>) => report(d),
});

/** One input kind: run `numRuns` generated cases in-process and the first CHILD of them in a child. */
async function fuzz<T>(
  arb: fc.Arbitrary<T>,
  write: (v: T) => void,
  cmds: (v: T) => string[][],
  show: (v: T) => string,
) {
  let children = 0;
  await fc.assert(
    fc.asyncProperty(arb, async (v) => {
      write(v);
      for (const args of cmds(v)) {
        await checkCase(args, show(v));
        if (children < CHILD) {
          children++;
          childCase(args);
        }
      }
    }),
    params(N_CLI),
  );
}

/** A library call may fail only with CapctlError (a one-line reason) — never anything else. */
function expectOnlyCapctlError(e: unknown, what: string): void {
  if (e instanceof CapctlError && !e.message.split('\n')[0]!.includes('\r')) return;
  throw new Error(`${String((e as Error)?.stack ?? e)}\n  input: ${what.slice(0, 600)}`);
}

describe(`fuzz, library entry points (seed ${SEED}, ${N} cases per kind; CAPCTL_FUZZ=N)`, () => {
  const STATUS = readFileSync(STATUS_FILE, 'utf8');

  it('traces: replayText ends with a consistent summary', { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(traceText, fc.boolean(), (t, strict) => {
        const t0 = performance.now();
        try {
          const s = replayText(t, { status: STATUS, strict });
          expect(s.calls).toBe(s.matched + s.diverged + s.notModeled);
        } catch (e) {
          if (!(strict && e instanceof ReplayMalformedError)) throw e;
        }
        expect(performance.now() - t0).toBeLessThan(CASE_MS);
      }),
      params(N),
    );
  });

  it('profiles: a profile loads or fails with positioned one-line issues', { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(
        profileText((v) => stringify(v)),
        (t) => {
          writeFileSync(PROFILE, t);
          const t0 = performance.now();
          try {
            loadResolvedProfile(PROFILE);
          } catch (e) {
            expectOnlyCapctlError(e, JSON.stringify(t));
            for (const i of (e as { issues?: Parameters<typeof formatIssue>[0][] }).issues ?? []) {
              expect(formatIssue(i)).not.toContain('\n');
              expect(i.line).toBeGreaterThanOrEqual(0);
            }
          }
          expect(performance.now() - t0).toBeLessThan(CASE_MS);
        },
      ),
      params(N),
    );
  });

  it('audit logs: every line is a record or a reported problem; a suggestion always loads', {
    timeout: 600_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(auditText, async (t) => {
        writeFileSync(LOG, t);
        const b = new SuggestBuilder({ name: 'fz' });
        for await (const r of readAuditRecords(LOG)) b.add(r);
        writeFileSync(PROFILE, suggestionYaml(b.build(), [LOG]));
        loadResolvedProfile(PROFILE);
      }),
      asyncParams(Math.floor(N / 4)),
    );
  });

  it('bindings files: readBindings returns records or fails closed with CapctlError', { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(bindingsText, (t) => {
        writeFileSync(join(state, 'bindings.json'), t, { mode: 0o600 });
        try {
          for (const b of readBindings(state)) {
            expect(typeof b.kind).toBe('string');
            expect(typeof b.target).toBe('string');
            expect(typeof b.profile).toBe('string');
          }
        } catch (e) {
          expectOnlyCapctlError(e, JSON.stringify(t));
        }
      }),
      params(N),
    );
  });
});

describe(`fuzz, command lines through main() (seed ${SEED}, ${N_CLI} cases per kind, ${CHILD} as child processes)`, () => {
  it('strace traces: replay always ends with exit 0/1/2 and one line on error', { timeout: 600_000 }, async () => {
    const variant = fc.constantFrom<string[]>(
      [],
      ['--strict'],
      ['--json', '--check'],
      ['--host', 'freebsd'],
      ['--profile', PING],
    );
    await fuzz(
      fc.tuple(traceText, variant),
      ([t]) => writeFileSync(TRACE, t, 'latin1'),
      ([, v]) => [['replay', TRACE, '--status', STATUS_FILE, ...v]],
      ([t]) => JSON.stringify(t),
    );
  });

  it('profiles: validate, show, explain, check and replay under fuzzed YAML', { timeout: 600_000 }, async () => {
    const cmd = fc.constantFrom<string[]>(
      ['profile', 'validate', '--json', PROFILE, PING],
      ['profile', 'show', PROFILE],
      ['profile', 'explain', PROFILE, 'CAP_NET_RAW', 'syscall=socket'],
      ['check', '--host', 'linux', '--profile', PROFILE, 'CAP_NET_RAW'],
      ['check', '--profile', PROFILE, 'PRIV_NETINET_RAW'],
      ['replay', SMALL_TRACE, '--status', STATUS_FILE, '--profile', PROFILE],
    );
    await fuzz(
      fc.tuple(
        profileText((v) => stringify(v)),
        cmd,
      ),
      ([t]) => writeFileSync(PROFILE, t),
      ([, c]) => [c],
      ([t]) => JSON.stringify(t),
    );
  });

  it('audit logs: query, summary and suggest under fuzzed lines', { timeout: 600_000 }, async () => {
    const cmd = fc.constantFrom<string[]>(
      ['audit', 'summary', LOG, '--json'],
      ['audit', 'query', LOG, '--cap', 'CAP_NET_RAW'],
      ['audit', 'suggest', LOG],
      ['audit', 'suggest', LOG, '--extends', 'ping', '--json'],
    );
    await fuzz(
      fc.tuple(auditText, cmd),
      ([t]) => writeFileSync(LOG, t),
      ([, c]) => [c],
      ([t]) => JSON.stringify(t),
    );
  });

  it('audit suggest output always validates', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(auditText, async (t) => {
        writeFileSync(LOG, t);
        const r = await checkCase(['audit', 'suggest', LOG, '--name', 'fz'], JSON.stringify(t));
        if (r.code !== 0) return;
        writeFileSync(PROFILE, r.out);
        const v = await checkCase(['profile', 'validate', PROFILE], r.out);
        if (v.code !== 0) throw new Error(`suggestion does not validate: ${v.out}${v.err}\n${r.out}`);
      }),
      asyncParams(Math.max(10, Math.floor(N_CLI / 4))),
    );
  });

  it('bindings files: bindings, attach and check read a fuzzed bindings.json', { timeout: 600_000 }, async () => {
    const cmd = fc.constantFrom<string[]>(
      ['bindings', '--state-dir', state, '--json'],
      ['bindings', '--state-dir', state],
      ['attach', '--state-dir', state, '--jail', 'web', 'ping'],
      ['attach', '--state-dir', state, '--chroot', '/srv/x', 'strict', '--json'],
    );
    await fuzz(
      fc.tuple(bindingsText, cmd),
      ([t]) => writeFileSync(join(state, 'bindings.json'), t, { mode: 0o600 }),
      ([, c]) => [c],
      ([t]) => JSON.stringify(t),
    );
  });

  it('command lines: every numeric and named flag, in both spellings', { timeout: 600_000 }, async () => {
    const paths = [TRACE, PROFILE, LOG, PLAIN, STATUS_FILE, PING, state, f('missing'), '/proc/self/status'];
    writeFileSync(TRACE, '1 setuid(0) = 0\n');
    writeFileSync(PROFILE, 'name: p\ncapabilities:\n  bounding: [CAP_NET_RAW]\n');
    writeFileSync(LOG, '');
    await fuzz(
      argv(paths),
      () => {},
      (a) => [a],
      (a) => JSON.stringify(a),
    );
  });
});
