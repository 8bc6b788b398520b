/** schema/profile.schema.json itself: valid JSON Schema 2020-12, strict, and in step with the code. */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { AJV_OPTIONS, profileSchema } from '../../src/policy/schema.js';
import { SET_NAMES } from '../../src/policy/types.js';

describe('profile schema', () => {
  it('is a valid 2020-12 schema under ajv strict mode (the loader skips this check for speed)', () => {
    const ajv = new Ajv2020({ ...AJV_OPTIONS, validateSchema: true });
    expect(ajv.validateSchema(profileSchema())).toBe(true);
    expect(() => ajv.compile(profileSchema())).not.toThrow();
  });

  it('names the five sets the loader reads, and rejects unknown keys everywhere', () => {
    const s = profileSchema() as { $defs: Record<string, { properties?: object; additionalProperties?: unknown }> };
    for (const n of SET_NAMES) expect(Object.keys(s.$defs.capabilities!.properties!)).toContain(n);
    for (const d of ['capabilities', 'rule', 'audit']) expect(s.$defs[d]!.additionalProperties).toBe(false);
  });
});
