/**
 * Generated from the commander definitions: shell completion (each script driven the way its
 * shell drives it: bash's COMP_WORDS, zsh's words/CURRENT with compadd captured, fish's
 * `complete -C`) and the man page (rendered by man(1) with warnings on; every command and
 * option present).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { completionScript } from '../../src/cli/completion.js';
import { commandTree } from '../../src/cli/help-text.js';
import { buildProgram } from '../../src/cli/main.js';
import { manPage } from '../../src/cli/manpage.js';
import { hasTool } from '../caps/helpers.js';

// Every command's module, loaded once (buildProgram imports them on demand).
const program = await buildProgram();
const dir = mkdtempSync(join(tmpdir(), 'capctl-i13-compl-'));
const script = (shell: 'bash' | 'zsh' | 'fish') => {
  const f = join(dir, `capctl.${shell}`);
  writeFileSync(f, completionScript(program, shell));
  return f;
};

// [typed so far, candidates that must be offered, candidates that must not]
const CASES: [string, string[], string[]][] = [
  ['capctl jail cr', ['create'], []],
  ['capctl jail create web --profile ping --form', ['--format'], ['--threads']],
  ['capctl jail create web --format ', ['jail.conf', 'jail-c', 'ocijail'], []],
  ['capctl ps --', ['--long', '--threads', '--json', '--help'], ['--format']],
  ['capctl profile ', ['list', 'show', 'explain', 'diff'], ['ps']],
  ['capctl completion ', [], []],
];

describe('capctl completion', () => {
  it.each(CASES)('bash: %s', (typed, want, not) => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `source "$1"; read -ra COMP_WORDS <<< "$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _capctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
        'x',
        script('bash'),
        typed,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    const got = r.stdout.split('\n').filter(Boolean);
    expect(got).toEqual(expect.arrayContaining(want));
    for (const n of not) expect(got).not.toContain(n);
  });

  it.skipIf(!hasTool('zsh')).each(CASES)('zsh (skipped without zsh): %s', (typed, want, not) => {
    const r = spawnSync(
      'zsh',
      [
        '-f',
        '-c',
        `compdef() { :; }; source "$1"; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; _files() { :; }
words=(\${(s: :)2}); [[ $2 == *" " ]] && words+=(""); CURRENT=$#words; _capctl`,
        'x',
        script('zsh'),
        typed,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    const prefix = typed.endsWith(' ') ? '' : typed.split(' ').at(-1)!;
    const got = r.stdout.split('\n').filter((c) => c !== '' && c.startsWith(prefix));
    expect(got).toEqual(expect.arrayContaining(want));
    for (const n of not) expect(got).not.toContain(n);
  });

  it.skipIf(!hasTool('fish')).each(CASES)('fish (skipped without fish): %s', (typed, want, not) => {
    const r = spawnSync('fish', ['--no-config', '-c', `source ${script('fish')}; complete -C '${typed}'`], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const got = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0]!);
    expect(got).toEqual(expect.arrayContaining(want));
    for (const n of not) expect(got).not.toContain(n);
  });

  it('bash: `completion` offers the three shells', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `source "$1"; COMP_WORDS=(capctl completion ""); COMP_CWORD=2; _capctl; echo "\${COMPREPLY[*]}"`,
        'x',
        script('bash'),
      ],
      { encoding: 'utf8' },
    );
    // <SHELL> is an argument, not a subcommand: bash falls back to files (-o default).
    expect(r.stdout.trim()).toBe('');
  });
});

describe('capctl.1', () => {
  const page = manPage(program, '0.1.0');

  it('names every command and every long option', () => {
    for (const info of commandTree(program).slice(1)) {
      expect(page).toContain(`.SS "capctl ${info.path.join(' ')} `);
      for (const o of info.options) if (o.long) expect(page).toContain(`.B ${o.flags.replace(/-/g, '\\-')}`);
    }
  });

  it.skipIf(!hasTool('man'))('renders with man -l and no roff warnings (skipped without man)', () => {
    const f = join(dir, 'capctl.1');
    writeFileSync(f, page);
    const r = spawnSync('man', ['-l', '--warnings=w', f], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '100', MAN_KEEP_FORMATTING: '' },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('capctl jail create [options] <NAME>');
    expect(r.stdout).toMatch(/EXIT STATUS/);
  });
});
