/**
 * A profile file as text and YAML: parsing with source positions, and the mapping from a JSON
 * path (ajv's instancePath, or our own) back to `line:column` in the file. Every problem found
 * in a profile becomes a ProfileIssue that points at the exact key or value.
 */
import type * as Yaml from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import { lazyRequire } from '../util/lazy.js';

const yaml = lazyRequire<typeof Yaml>('yaml');

export interface ProfileIssue {
  file: string;
  line: number;
  col: number;
  /** Key path in the profile, e.g. `rules[2].caps[0]` ('' for the whole document). */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export function formatIssue(i: ProfileIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.severity === 'warning' ? 'warning: ' : ''}${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export type PathSeg = string | number;

export function formatPath(path: readonly PathSeg[]): string {
  let out = '';
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

/** ajv's `/rules/0/caps/2` as segments (JSON Pointer unescaping; digits become indexes). */
export function pointerToPath(pointer: string): PathSeg[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export class ProfileSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly issues: ProfileIssue[] = [];

  constructor(file: string, text: string) {
    this.file = file;
    this.text = text;
    const { LineCounter: Lines, parseDocument } = yaml();
    this.lines = new Lines();
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: true, uniqueKeys: true });
    for (const e of this.doc.errors) {
      const at = e.linePos?.[0] ?? this.lines.linePos(e.pos[0]);
      this.issues.push({
        file,
        line: at.line,
        col: at.col,
        path: '',
        message: `YAML: ${e.message.split('\n')[0]}`,
        severity: 'error',
      });
    }
  }

  /** The document's top-level keys, or undefined when its top level is not a mapping. */
  topLevelKeys(): string[] | undefined {
    const top = this.doc.contents;
    if (!yaml().isMap(top)) return undefined;
    return top.items.flatMap((p) => (yaml().isScalar(p.key) && typeof p.key.value === 'string' ? [p.key.value] : []));
  }

  /** Where a value (or, with `key`, the key naming it) sits in the file. */
  position(path: readonly PathSeg[], key = false): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let best: Node | undefined = (node as Node | null) ?? undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (yaml().isMap(node)) {
        const pair = node.items.find((p) => (yaml().isScalar(p.key) ? p.key.value : p.key) === seg);
        if (!pair) break;
        if (key && i === path.length - 1 && yaml().isScalar(pair.key)) {
          best = pair.key;
          break;
        }
        node = pair.value;
        best = (
          yaml().isScalar(pair.value) || yaml().isMap(pair.value) || yaml().isSeq(pair.value) ? pair.value : pair.key
        ) as Node;
      } else if (yaml().isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) break;
        node = item;
        if (yaml().isScalar(item) || yaml().isMap(item) || yaml().isSeq(item)) best = item;
      } else break;
    }
    const off = best?.range?.[0] ?? 0;
    return this.lines.linePos(off);
  }

  /** Position of the `key` inside the map at `path` (for unknown-key errors). */
  keyPosition(path: readonly PathSeg[], key: string): { line: number; col: number } {
    return this.position([...path, key], true);
  }

  add(path: readonly PathSeg[], message: string, severity: 'error' | 'warning' = 'error', atKey = false): void {
    const at = this.position(path, atKey);
    this.issues.push({ file: this.file, line: at.line, col: at.col, path: formatPath(path), message, severity });
  }
}
