/**
 * The audit writer under hostile targets and abrupt ends: a numeric name is a file, a target
 * whose writes fail ends the command once with exit 2 (never a hang), no record is lost on
 * SIGTERM/SIGINT/SIGHUP, a torn last line is ended before appending, `seq` is gap-free, and the
 * token bucket honours `burst`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditWriter } from '../../src/audit/writer.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'bin', 'capctl.js');
const CLI_BUILT = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const EX = join(ROOT, 'examples');
const dir = mkdtempSync(join(tmpdir(), 'capctl-i12-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  verdict: 'denied' as const,
  host: 'linux' as const,
  syscall: 'socket',
  cap: 'CAP_NET_RAW',
  capNumber: 13,
  errno: 'EPERM',
  stage: 'capability',
  reason: 'not in effective set',
  tid: 10,
  tgid: 10,
};

const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean);

describe.skipIf(!CLI_BUILT)('replay --audit targets (built CLI; npm run build)', () => {
  const replay = (audit: string, cwd = dir) =>
    spawnSync(
      process.execPath,
      [
        CLI,
        'replay',
        join(EX, 'drop-raw.strace'),
        '--status',
        join(EX, 'drop-raw.status'),
        '--host',
        'freebsd',
        '--profile',
        join(ROOT, 'policies', 'ping.yaml'),
        '--kernel',
        '6.18',
        '--audit',
        audit,
      ],
      { encoding: 'utf8', cwd, timeout: 20_000 },
    );

  it('a numeric name is a file of that name, not a file descriptor', () => {
    for (const name of ['2', '7', '2024']) {
      const r = replay(name);
      expect(r.status, r.stderr).toBe(0);
      const recs = lines(join(dir, name)).map((l) => JSON.parse(l));
      expect(recs.length).toBeGreaterThan(0);
      expect(r.stderr).toContain(`${recs.length} audit record(s) appended to ${name}`);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    }
  });

  it('a target whose writes fail (/dev/full: ENOSPC) is reported once with the path, exit 2, no hang', () => {
    const r = replay('/dev/full');
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^capctl: cannot write audit log \/dev\/full: ENOSPC .*\d+ record\(s\) not written$/),
    ]);
  });

  it('an empty name, a directory and stdout are refused with exit 2', () => {
    expect(replay('').status).toBe(2);
    const d = replay(dir);
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/cannot write audit log .*EISDIR/);
    expect(replay('-').status).toBe(2);
  });

  it('appending to a torn last line starts a new line and says so', () => {
    const log = join(dir, 'torn.log');
    writeFileSync(log, '{"level":"warn","seq":1,"verdict":"den');
    const r = replay(log);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('ended in a torn line');
    const all = lines(log);
    expect(all[0]).toBe('{"level":"warn","seq":1,"verdict":"den');
    const appended = all.slice(1).map((l) => JSON.parse(l));
    expect(r.stderr).toContain(`${appended.length} audit record(s) appended`);
    expect(appended.map((x) => x.seq)).toEqual(appended.map((_, i) => i + 1));
  });
});

/** A child that writes `n` records, one per event-loop turn, then waits to be signalled. */
function slowWriter(log: string, n: number, bufferBytes = 65536): ChildProcess {
  const script = join(dir, `w-${n}-${bufferBytes}.mts`);
  writeFileSync(
    script,
    `import { createAuditWriter } from ${JSON.stringify(join(ROOT, 'src', 'audit', 'writer.ts'))};
const w = createAuditWriter({ dest: ${JSON.stringify(log)}, bufferBytes: ${bufferBytes} });
let i = 0;
const tick = () => {
  for (let k = 0; k < 50 && i < ${n}; k++) w.write({ ...${JSON.stringify(base)}, tid: i++ });
  if (i === 50) process.stdout.write('started\\n');
  if (i === ${n}) process.stdout.write('ready\\n');
  setTimeout(tick, 1);
};
tick();`,
  );
  return spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
}

const until = (c: ChildProcess, word: string) =>
  new Promise<void>((resolve) => c.stdout?.on('data', (d: Buffer) => d.toString().includes(word) && resolve()));
const untilReady = (c: ChildProcess) => until(c, 'ready');
const exited = (c: ChildProcess) =>
  new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    c.on('exit', (code, signal) => resolve({ code, signal })),
  );

describe('audit writer: nothing lost without a count', () => {
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${sig}: every record written is on disk, and the process still dies of the signal`, async () => {
      const log = join(dir, `${sig}.log`);
      const c = slowWriter(log, 2000);
      const done = exited(c);
      await untilReady(c);
      c.kill(sig);
      const { signal } = await done;
      expect(signal).toBe(sig);
      const recs = lines(log).map((l) => JSON.parse(l));
      expect(recs).toHaveLength(2000);
      expect(recs.map((r) => r.seq)).toEqual(recs.map((_, i) => i + 1));
    }, 30_000);
  }

  it('kill -9 mid-stream leaves at most one torn line; the records before it are gap-free', async () => {
    const log = join(dir, 'kill9.log');
    // A tiny buffer makes many writes, so the kill lands mid-stream.
    const c = slowWriter(log, 1_000_000, 0);
    const done = exited(c);
    await until(c, 'started');
    await new Promise((r) => setTimeout(r, 300));
    c.kill('SIGKILL');
    await done;
    const text = readFileSync(log, 'utf8');
    const all = text.split('\n');
    const tail = all.pop() as string; // '' when the last line is whole
    const recs = all.map((l) => JSON.parse(l));
    expect(recs.length).toBeGreaterThan(0);
    expect(recs.map((r) => r.seq)).toEqual(recs.map((_, i) => i + 1));
    if (tail !== '') expect(() => JSON.parse(tail)).toThrow();
  }, 30_000);

  it('burst: a key may send `burst` records at once, then `ratePerSecond` per second', () => {
    const log = join(dir, 'burst.log');
    let t = 1_000_000;
    const w = createAuditWriter({ dest: log, ratePerSecond: 2, burst: 5, now: () => t });
    for (let i = 0; i < 10; i++) w.write(base); // 5 pass (burst), 5 suppressed
    t += 1000; // 2 tokens back
    for (let i = 0; i < 3; i++) w.write(base); // 2 pass
    w.close();
    expect(w.written).toBe(7);
    expect(w.suppressed).toBe(6);
    const recs = lines(log).map((l) => JSON.parse(l));
    expect(recs.at(-1)).toMatchObject({ verdict: 'suppressed', suppressed: 6, seq: 8 });
  });
});
