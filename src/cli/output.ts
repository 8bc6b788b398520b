/**
 * Output helpers shared by every command: a table for people, JSON for programs, and one
 * place that turns errors into a single line and an exit code (0 ok, 1 denied/divergence,
 * 2 bad input). No command prints a stack trace.
 */
import { CapctlError } from '../caps/errors.js';
import { lazyRequire } from '../util/lazy.js';

// string-width 4 (CommonJS), the version cli-table3 itself measures with.
const stringWidth = lazyRequire<(s: string) => number>('string-width');

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

type CliTable3 = typeof import('cli-table3');
// cli-table3 (and string-width under it) load only when a command prints a table.
const cliTable = lazyRequire<CliTable3>('cli-table3');

// No borders: the plain, grep-able columns of ps(1) and pscap, two spaces between columns.
const PLAIN_CHARS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/**
 * The width tables must fit: $COLUMNS when set, else the terminal's width when stdout is one;
 * undefined (no limit) when output goes to a pipe or file, so nothing a script greps for is cut.
 */
export function terminalWidth(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const c = env.COLUMNS;
  if (c !== undefined && /^\d+$/.test(c) && Number(c) > 0) return Number(c);
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

/**
 * Colour only on a terminal and never when NO_COLOR is set (no-color.org). capctl prints no
 * colour today; anything that adds some asks here first.
 */
export function useColor(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.NO_COLOR === undefined || env.NO_COLOR === '') && process.stdout.isTTY === true;
}

/**
 * Left-aligned columns, two spaces apart, no trailing spaces. Column widths are measured in
 * terminal cells (string-width, so wide and combining characters line up). When `width` is
 * given and the table is wider, the last column (the long one: capabilities, reasons) wraps.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  width: number | undefined = terminalWidth(),
): string {
  const Table = cliTable();
  const base = {
    chars: PLAIN_CHARS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  };
  const render = (opts: object) => {
    const t = new Table({ ...base, ...opts, head: [...header] });
    for (const r of rows) t.push(header.map((_, i) => r[i] ?? ''));
    return t
      .toString()
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n');
  };
  const natural = render({});
  if (width === undefined) return natural;
  const sw = stringWidth();
  const lines = natural.split('\n');
  if (Math.max(...lines.map((l) => sw(l))) <= width) return natural;
  // Widths of every column but the last, as laid out naturally, plus the gaps between them.
  const widths = header.map((h, i) => Math.max(sw(h), ...rows.map((r) => sw(r[i] ?? ''))));
  const fixed = widths.slice(0, -1).reduce((a, b) => a + b + 2, 0);
  // Below 10 cells a wrapped column is unreadable: then the line overflows rather than the text.
  const last = Math.max(width - fixed, 10);
  return render({ colWidths: [...widths.slice(0, -1), last], wordWrap: true, wrapOnWordBoundary: false });
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
