import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED, readTsv, render } from './gen-tables.js';

describe('generated tables', () => {
  it('src/priv/tables.generated.ts is what data/*.tsv generate (run npx tsx test/priv/gen-tables.ts)', () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(render());
  });
  it('rejects a TSV whose header changed', () => {
    expect(() => readTsv('freebsd-priv.tsv', ['name', 'value'])).toThrow(/header/);
  });
});
