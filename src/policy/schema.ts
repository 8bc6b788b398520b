/**
 * JSON Schema validation of one profile document with ajv (draft 2020-12), every error at once,
 * each turned into a ProfileIssue at the key or value it is about.
 */
import { readFileSync } from 'node:fs';
import type { Ajv2020 as Ajv2020Class, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { lazyRequire } from '../util/lazy.js';

const ajvModule = lazyRequire<{ Ajv2020: typeof Ajv2020Class }>('ajv/dist/2020.js');

import { closestName } from '../caps/catalog.js';
import { schemaPath } from './paths.js';
import { type PathSeg, type ProfileSource, pointerToPath } from './source.js';

let validator: ValidateFunction | undefined;

/** ajv options: every error at once, with the failing data and schema node on each error. */
export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: true, allowUnionTypes: true } as const;

export function profileSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(schemaPath(), 'utf8')) as Record<string, unknown>;
}

/** The compiled validator, built once per process (compiling the schema is most of ajv's cost). */
export function profileValidator(): ValidateFunction {
  if (!validator) {
    // The schema file is checked against the 2020-12 meta-schema by the tests
    // (test/policy/schema.test.ts); skipping that check here makes the first load in a process
    // about three times faster, which every CLI invocation pays.
    const { Ajv2020 } = ajvModule();
    const ajv = new Ajv2020({ ...AJV_OPTIONS, validateSchema: false });
    validator = ajv.compile(profileSchema());
  }
  return validator as ValidateFunction;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Validate `data` (the document as JS) and record each schema error on `src`. */
export function schemaCheck(src: ProfileSource, data: unknown): boolean {
  const validate = profileValidator();
  if (validate(data)) return true;
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    const path = pointerToPath(e.instancePath);
    const r = describe(e, path);
    if (!r) continue;
    const key = `${r.path.join('/')}|${r.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    src.add(r.path, r.message, 'error', r.atKey);
  }
  return false;
}

function describe(e: ErrorObject, path: PathSeg[]): { path: PathSeg[]; message: string; atKey: boolean } | undefined {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
      const hint =
        closestName(key, allowed) ??
        allowed.find((a) => commonPrefix(a, key.toLowerCase()) >= Math.max(3, Math.ceil(key.length * 0.6)));
      return {
        path: [...path, key],
        message: `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; allowed here: ${allowed.join(', ')}`,
        atKey: true,
      };
    }
    case 'propertyNames':
      return undefined; // reported by the inner error, which names the key
    case 'required':
      return { path, message: `missing required key "${String(p.missingProperty)}"`, atKey: false };
    case 'type':
      return { path, message: `must be ${String(p.type).replace(',', ' or ')}, not ${show(e.data)}`, atKey: false };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const hint = typeof e.data === 'string' ? closestName(e.data, allowed) : undefined;
      return {
        path,
        message: `${show(e.data)} is not one of ${allowed.join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}`,
        atKey: false,
      };
    }
    case 'pattern':
      if (e.propertyName !== undefined) {
        return {
          path: [...path, e.propertyName],
          message: `"${e.propertyName}" is not a jail parameter name (want e.g. enforce_statfs or allow.mount.devfs)`,
          atKey: true,
        };
      }
      return { path, message: `${show(e.data)} has the wrong form (${hintFor(e)})`, atKey: false };
    case 'minimum':
    case 'maximum':
      return { path, message: `${show(e.data)} is out of range (${e.message})`, atKey: false };
    default:
      return { path, message: e.message ?? e.keyword, atKey: false };
  }
}

function hintFor(e: ErrorObject): string {
  const d = e.parentSchema?.description;
  return typeof d === 'string'
    ? d.replace(/\.$/, '')
    : `must match ${String((e.params as { pattern: string }).pattern)}`;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
