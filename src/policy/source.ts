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
  const text = `${i.file}:${i.line}:${i.col}: ${i.severity === 'warning' ? 'warning: ' : ''}${i.path ? `${i.path}: ` : ''}${i.message}`;
  return oneLine(text);
}

/**
 * Control characters (a newline in a quoted key, an escape sequence) shown as \n, \x1b…: an
 * issue is one line whatever the file holds, so it cannot forge the next line of a report.
 */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\x00-\x1f\x7f]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
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
    // YAML warnings (an unknown tag, an unsupported %YAML version) are errors here: a profile
    // that a parser reads one way with a warning may be read another way elsewhere.
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const at = e.linePos?.[0] ?? this.lines.linePos(e.pos[0]);
      this.yamlIssue(at, e.message);
    }
    if (this.doc.errors.length === 0) this.checkNodes();
  }

  private yamlIssue(at: { line: number; col: number }, message: string): void {
    // The yaml library appends " at line L, column C:" and a source excerpt; the position is
    // already the issue's own.
    const first = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    this.issues.push({
      file: this.file,
      line: at.line,
      col: at.col,
      path: '',
      message: `YAML: ${first}`,
      severity: 'error',
    });
  }

  private at(node: { range?: [number, number, number] | null } | null | undefined): { line: number; col: number } {
    return this.lines.linePos(node?.range?.[0] ?? 0);
  }

  /**
   * What the yaml library accepts but a profile must not contain, each reported where it is:
   * an alias to an anchor not (yet) defined, which toJS() would throw on; an explicit tag
   * (`!!binary` becomes a Buffer, custom tags a string the author did not mean); a key that
   * is a list or map (stringified by toJS()).
   */
  private checkNodes(): void {
    const Y = yaml();
    const anchors = new Set<string>();
    Y.visit(this.doc, {
      Node: (_key, node) => {
        if (node.anchor) anchors.add(node.anchor);
        if ((Y.isScalar(node) || Y.isCollection(node)) && node.tag !== undefined && node.tag !== null) {
          this.yamlIssue(
            this.at(node),
            `tag ${node.tag.replace(/^tag:yaml.org,2002:/, '!!')} is not used in profiles (write plain values)`,
          );
        }
        if (Y.isAlias(node) && !anchors.has(node.source)) {
          this.yamlIssue(this.at(node), `alias *${node.source} names no anchor defined before it`);
        }
      },
      Pair: (_key, pair) => {
        if (pair.key !== null && !Y.isScalar(pair.key)) {
          this.yamlIssue(this.at(pair.key as Node), 'a key must be a plain value, not a list or map');
        }
      },
    });
  }

  /**
   * The document as plain data, or undefined with a positioned issue when resolving aliases
   * fails: an alias bomb (maxAliasCount) or anything else the library throws on.
   */
  toJS(): unknown {
    if (this.issues.length > 0) return undefined;
    try {
      return this.doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      let first: Node | undefined;
      yaml().visit(this.doc, {
        Alias: (_k, n) => {
          first = n;
          return yaml().visit.BREAK;
        },
      });
      this.yamlIssue(this.at(first), (err as Error).message);
      return undefined;
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
