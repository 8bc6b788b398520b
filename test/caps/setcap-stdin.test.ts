/** capctl setcap - FILE: the text comes from stdin up to the first blank line, as setcap's "-". */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_BUILT, capctl, hasTool, IS_ROOT, run } from './helpers.js';

describe.runIf(CLI_BUILT && IS_ROOT && hasTool('getcap'))('capctl setcap - (root, getcap, built CLI)', () => {
  it('reads TEXT from stdin up to a blank line; getcap reads back what it wrote', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'capctl-setcap-')), 'f');
    writeFileSync(file, '');
    const r = capctl(['setcap', '-', file], 'cap_net_raw,cap_chown+ep\ncap_kill+ep\n\ncap_sys_admin+ep\n');
    expect(r.status).toBe(0);
    expect(run('getcap', [file]).stdout).toBe(`${file} cap_chown,cap_kill,cap_net_raw=ep\n`);
    const bad = capctl(['setcap', '-', file], 'cap_bogus+ep\n');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
