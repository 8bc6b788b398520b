/**
 * A JSON line shaped like a capctl record but with fields of the wrong type (found by the fuzz
 * suite: `"priv": 4294967295` reached privByName and threw a TypeError) is reported as "not a
 * capability audit record", never passed on to the readers.
 */

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseAuditLine, readAuditRecords } from '../../src/audit/reader.js';
import { SuggestBuilder } from '../../src/audit/suggest.js';

const good = {
  time: '2026-01-01T00:00:00.000Z',
  verdict: 'denied',
  host: 'linux',
  syscall: 'socket',
  errno: 'EPERM',
  stage: 'capability',
  reason: 'not in effective set',
  tid: 5,
  tgid: 5,
  cap: 'CAP_NET_RAW',
  capNumber: 13,
};

describe('audit reader: typed fields', () => {
  it('accepts a record capctl writes', () => {
    expect(parseAuditLine(JSON.stringify(good))).toMatchObject({ cap: 'CAP_NET_RAW' });
  });

  it.each([
    ['priv', 4294967295],
    ['cap', 5],
    ['capNumber', '13'],
    ['capNumber', 1.5],
    ['privNumber', 'x'],
    ['tid', 'x'],
    ['tgid', null],
    ['host', 'plan9'],
    ['errno', 24],
    ['reason', 28],
    ['op', {}],
  ])('refuses %s = %j', (k, v) => {
    const line = JSON.stringify({ ...good, [k]: v });
    expect(parseAuditLine(line)).toBeUndefined();
    // And the suggester never sees it.
    const b = new SuggestBuilder({ name: 'x' });
    const r = parseAuditLine(line);
    if (r && !Array.isArray(r)) b.add(r);
    expect(() => b.build()).not.toThrow();
  });

  it('a line of 8 MiB of NULs is one reported problem; the next (CRLF) line is still read', async () => {
    const chunks = function* () {
      for (let i = 0; i < 8; i++) yield '\0'.repeat(1 << 20);
      yield `\n${JSON.stringify(good)}\r\n`;
    };
    const problems: string[] = [];
    const got = [];
    for await (const r of readAuditRecords(Readable.from(chunks()), (p) => problems.push(`${p.line}: ${p.why}`)))
      got.push(r);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^1: /);
    expect(got).toHaveLength(1);
  });

  it('an AppArmor line stamped past the end of time is read with no time, not a RangeError', () => {
    const line =
      'audit: type=1400 audit(99999999999999999.123:42): apparmor="DENIED" operation="capable" class="cap" profile="p" pid=4242 comm="ping" capability=13  capname="net_raw"';
    expect([parseAuditLine(line)].flat()).toMatchObject([{ cap: 'CAP_NET_RAW', time: '1970-01-01T00:00:00.000Z' }]);
  });
});
