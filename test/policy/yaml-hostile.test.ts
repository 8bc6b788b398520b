/**
 * Every kind of YAML error is a positioned `file:line:col` issue, never a raw exception (issue
 * 8: `caps: *nope` and alias bombs escaped as exceptions; with several files and --json, no
 * JSON and other files unreported).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadResolvedProfile, ProfileError } from '../../src/policy/load.js';
import { formatIssue } from '../../src/policy/source.js';
import { capctlInProcess } from '../fuzz/inproc.js';

const dir = mkdtempSync(join(tmpdir(), 'capctl-i8b-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bomb(): string {
  let s = 'name: b\nl0: &l0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 12; i++)
    s += `l${i}: &l${i} [${Array(9)
      .fill(`*l${i - 1}`)
      .join(', ')}]\n`;
  return s;
}

/** [name, text, line, col, message]. */
const CASES: [string, string, number, number, RegExp][] = [
  ['unresolved alias', 'name: a\nrules:\n  - effect: allow\n    caps: *nope\n', 4, 11, /alias \*nope names no anchor/],
  ['alias before its anchor', 'name: a\nx: *a\ny: &a 1\n', 2, 4, /alias \*a names no anchor/],
  ['merge key of a missing anchor', 'name: x\n<<: *a\n', 2, 5, /alias \*a names no anchor/],
  ['alias bomb', bomb(), 3, 10, /Excessive alias count/],
  ['duplicate key', 'name: c\nname: d\n', 2, 1, /Map keys must be unique/],
  ['tab indentation', 'name: e\n\tdescription: x\n', 2, 1, /Tabs are not allowed/],
  ['bad escape', 'name: "a\\qb"\n', 1, 9, /Invalid escape sequence \\q/],
  ['unclosed flow sequence', 'name: [\n', 2, 1, /Flow sequence/],
  ['two documents', 'name: x\n---\nname: y\n', 2, 1, /multiple documents/],
  ['!!binary tag', 'name: x\ndescription: !!binary aGk=\n', 2, 23, /tag !!binary is not used/],
  ['unknown tag', 'name: !foo x\n', 1, 7, /Unresolved tag|tag !foo is not used/],
  ['unsupported %YAML version', '%YAML 9.9\n---\nname: x\n', 1, 7, /Unsupported YAML version/],
  ['complex key', '? [a]\n: b\nname: x\n', 1, 3, /a key must be a plain value/],
];

describe('YAML errors are positioned issues', () => {
  it.each(CASES)('%s', (name, text, line, col, msg) => {
    const f = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(f, text);
    let err: unknown;
    try {
      loadResolvedProfile(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProfileError);
    const issue = (err as ProfileError).issues.find((i) => msg.test(i.message));
    expect(issue, (err as Error).message).toMatchObject({ line, col, severity: 'error' });
    expect(formatIssue(issue!)).toMatch(
      new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}:${col}: YAML: `),
    );
    expect(formatIssue(issue!)).not.toMatch(/at line \d+, column/);
  });

  it('a newline or escape in a key cannot forge a second line', () => {
    const f = join(dir, 'ctl.yaml');
    writeFileSync(f, 'name: x\n"a\\nb.yaml:1:1: ok\\e[2J": 1\n');
    try {
      loadResolvedProfile(f);
      expect.unreachable();
    } catch (e) {
      for (const i of (e as ProfileError).issues) {
        expect(formatIssue(i)).not.toContain('\n');
        expect(formatIssue(i)).not.toContain(String.fromCharCode(27));
      }
    }
  });

  it('validate --json with several files reports every file, each with its positions', async () => {
    const files = CASES.map(([name]) => join(dir, `${name.replace(/\W+/g, '-')}.yaml`));
    for (const [i, [, text]] of CASES.entries()) writeFileSync(files[i]!, text);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'name: good\ncapabilities:\n  bounding: [CAP_KILL]\n');
    const r = await capctlInProcess(['profile', 'validate', '--json', ...files, good]);
    expect(r.thrown).toBeUndefined();
    expect(r.code).toBe(2);
    const out = JSON.parse(r.out) as { file: string; valid: boolean; errors: { line: number; col: number }[] }[];
    expect(out.map((o) => o.file)).toEqual([...files, good]);
    for (const o of out.slice(0, -1)) {
      expect(o.valid).toBe(false);
      expect(o.errors.length).toBeGreaterThan(0);
      expect(o.errors[0]!.line).toBeGreaterThan(0);
    }
    expect(out.at(-1)!.valid).toBe(true);
  });
});
