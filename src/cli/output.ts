/**
 * Output helpers shared by every command: a table for people, JSON for programs, and one
 * place that turns errors into a single line and an exit code (0 ok, 1 denied/divergence,
 * 2 bad input). No command prints a stack trace.
 */
import { CapctlError } from '../caps/errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Left-aligned columns; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CapctlError) return err.kind === 'denied' ? 1 : 2;
  return 2;
}

/** Print an error as one line on stderr and set the exit code. */
export function reportError(err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`capctl: ${msg}\n`);
  process.exitCode = exitCodeFor(err);
}
