/**
 * The table printer: plain aligned columns (no trailing spaces) when unlimited, the last column
 * wrapped to fit a width measured in terminal cells, $COLUMNS honoured for piped output (`ps`
 * end to end), and NO_COLOR.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { formatTable, terminalWidth, useColor } from '../../src/cli/output.js';
import { CLI, CLI_BUILT } from '../caps/helpers.js';

const stringWidth = createRequire(import.meta.url)('string-width') as (s: string) => number;

describe('formatTable', () => {
  const header = ['PID', 'COMMAND', 'CAPABILITIES'];
  const rows = [
    ['1', 'systemd', '=ep cap_sys_resource-ep [!cap_sys_resource]'],
    ['4242', '名前', 'cap_chown,cap_dac_override,cap_fowner,cap_kill,cap_setgid,cap_setuid+ep'],
  ];

  it('without a width: left-aligned columns two spaces apart, nothing wrapped or cut', () => {
    expect(formatTable(header, rows, undefined)).toBe(
      [
        'PID   COMMAND  CAPABILITIES',
        '1     systemd  =ep cap_sys_resource-ep [!cap_sys_resource]',
        '4242  名前     cap_chown,cap_dac_override,cap_fowner,cap_kill,cap_setgid,cap_setuid+ep',
      ].join('\n'),
    );
  });

  it.each([40, 50, 60, 80])('at width %i every line fits (in terminal cells) and no character is lost', (w) => {
    const out = formatTable(header, rows, w);
    const lines = out.split('\n');
    for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(w);
    expect(lines.every((l) => l === l.trimEnd())).toBe(true);
    // The wrapped last column, read back in order, is the original text.
    const lastCol = lines.slice(1).map((l) =>
      l.slice(
        l.indexOf(
          l
            .trimStart()
            .split(/\s{2,}/)
            .at(-1)!,
        ),
      ),
    );
    expect(lastCol.join('').replace(/\s+/g, '')).toContain(rows[1]![2]!.replace(/\s+/g, ''));
  });

  it('terminalWidth: $COLUMNS first, no limit for a pipe', () => {
    expect(terminalWidth({ COLUMNS: '72' })).toBe(72);
    if (!process.stdout.isTTY) expect(terminalWidth({})).toBeUndefined();
  });

  it('useColor is off with NO_COLOR set, and off when stdout is not a terminal', () => {
    expect(useColor({ NO_COLOR: '1' })).toBe(false);
    if (!process.stdout.isTTY) expect(useColor({})).toBe(false);
  });

  it.runIf(CLI_BUILT)('capctl ps fits COLUMNS=60 and prints full lines into a pipe without it', () => {
    const narrow = spawnSync(process.execPath, [CLI, 'ps', '1', String(process.pid)], {
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '60' },
    });
    for (const l of narrow.stdout.trimEnd().split('\n')) expect(stringWidth(l)).toBeLessThanOrEqual(60);
    const env = { ...process.env };
    delete env.COLUMNS;
    const wide = spawnSync(process.execPath, [CLI, 'ps', '1', String(process.pid)], { encoding: 'utf8', env });
    expect(wide.stdout.trimEnd().split('\n')).toHaveLength(3);
  });
});
