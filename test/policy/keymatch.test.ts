/**
 * names.ts restates casbin's keyMatch instead of calling it, because loading casbin costs
 * ~230 ms and profile loading (every `check --profile`, `jail create`, replay with a profile)
 * must not pay it when the profile has a `PRIV_X_*` pattern (4 of the 7 stock profiles do).
 * This keeps the restatement honest: it must answer exactly as casbin's exported
 * Util.keyMatchFunc does, for every privilege name against every prefix pattern and for
 * random strings around the `*`.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyMatches } from '../../src/policy/names.js';
import { privCatalog } from '../../src/policy/privdata.js';

const casbin = createRequire(import.meta.url)('casbin') as {
  Util: { keyMatchFunc: (a: string, b: string) => boolean };
};
const keyMatch = casbin.Util.keyMatchFunc;

describe('keyMatches agrees with casbin Util.keyMatchFunc', () => {
  it('for every privilege name against every prefix of every privilege name, with `*`', () => {
    const names = [...privCatalog().byNumber.values()];
    const patterns = new Set<string>(['*', 'PRIV_*']);
    for (const n of names) for (let k = 5; k <= n.length; k++) patterns.add(`${n.slice(0, k)}*`);
    let compared = 0;
    const bad: string[] = [];
    for (const p of patterns) {
      for (const n of names) {
        compared++;
        if (keyMatches(n, p) !== keyMatch(n, p)) bad.push(`${n} ~ ${p}`);
      }
    }
    expect(bad).toEqual([]);
    expect(compared).toBeGreaterThan(10_000);
  });

  it('for random strings around a `*` (property)', () => {
    const word = fc.string({ unit: fc.constantFrom('A', 'B', '_', '/', '*'), maxLength: 8 });
    fc.assert(
      fc.property(word, word, (name, pattern) => keyMatches(name, pattern) === keyMatch(name, pattern)),
      { numRuns: 5000 },
    );
  });
});
