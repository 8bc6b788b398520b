/**
 * Run the real commander program (src/cli/main.ts) in this process with stdout, stderr and the
 * exit code captured: a hundred times cheaper than a child process, so the fuzz suite can run
 * thousands of cases in CI. Anything that escapes main() (an exception) is returned as `thrown`
 * instead of failing the harness, so the oracle can name it.
 */
import { main } from '../../src/cli/main.js';

export interface InProcRun {
  code: number;
  out: string;
  err: string;
  thrown?: unknown;
}

export async function capctlInProcess(args: readonly string[]): Promise<InProcRun> {
  let out = '';
  let err = '';
  const ow = process.stdout.write;
  const ew = process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => {
    out += String(s);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  let thrown: unknown;
  try {
    await main(['node', 'capctl', ...args]);
  } catch (e) {
    thrown = e;
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return thrown === undefined ? { code, out, err } : { code, out, err, thrown };
}

/**
 * The oracle for bad input: exit 0, 1 or 2; on exit 2 an error line ("capctl: …" or
 * commander's "error: …") or a report on stdout; never a stack trace or a raw JavaScript error.
 * Returns what is wrong, or undefined.
 */
export function oracleProblem(r: InProcRun): string | undefined {
  if (r.thrown !== undefined) return `exception escaped main(): ${String((r.thrown as Error)?.stack ?? r.thrown)}`;
  if (![0, 1, 2].includes(r.code)) return `exit code ${r.code}`;
  if (/\n\s+at .+:\d+:\d+\)?\n/.test(r.err) || /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/.test(r.err))
    return `stack trace or raw JS error on stderr: ${r.err.slice(0, 400)}`;
  // Exit 2 is explained by an error line (the last "capctl:" or commander "error:" line; commands
  // like getcap report one per bad file, as the C tools do) or by the command's own report on
  // stdout (`profile validate` prints each invalid file's issues as its result).
  const errors = r.err.split('\n').filter((l) => l.startsWith('capctl: ') || l.startsWith('error: '));
  if (r.code === 2 && errors.length === 0 && r.out.trim() === '')
    return `exit 2 with no error line and no report: ${JSON.stringify(r.err.slice(0, 400))}`;
  return undefined;
}
