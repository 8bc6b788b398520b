/**
 * User and group names for `--user`, `--group` and `--groups`: numbers pass through, names are
 * looked up in /etc/passwd and /etc/group (Node has no getpwnam). A name that is not there is
 * bad input, never a guess.
 */
import { readFileSync } from 'node:fs';
import { inputError } from '../caps/errors.js';

interface Entry {
  name: string;
  id: number;
  gid?: number;
}

function readDb(path: string, withGid: boolean): Entry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: Entry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !/^\d+$/.test(f[2]!)) continue;
    out.push({
      name: f[0]!,
      id: Number(f[2]),
      ...(withGid && /^\d+$/.test(f[3] ?? '') ? { gid: Number(f[3]) } : {}),
    });
  }
  return out;
}

const ID_MAX = 4294967294; // (uid_t)-1 means "no change" to set*id, so it is not an id

function numeric(text: string, what: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  if (n > ID_MAX) throw inputError('bad-id', `${what} ${text} is out of range (0..${ID_MAX})`);
  return n;
}

/** A user by number or name: its uid and, when /etc/passwd knows it, its primary gid. */
export function lookupUser(text: string, passwd = '/etc/passwd'): { uid: number; gid?: number } {
  const n = numeric(text, 'uid');
  const db = readDb(passwd, true);
  const e = n !== undefined ? db.find((x) => x.id === n) : db.find((x) => x.name === text);
  if (n !== undefined) return e?.gid !== undefined ? { uid: n, gid: e.gid } : { uid: n };
  if (!e) throw inputError('unknown-user', `no user "${text}" in ${passwd}`);
  return e.gid !== undefined ? { uid: e.id, gid: e.gid } : { uid: e.id };
}

/** A group by number or name. */
export function lookupGroup(text: string, group = '/etc/group'): number {
  const n = numeric(text, 'gid');
  if (n !== undefined) return n;
  const e = readDb(group, false).find((x) => x.name === text);
  if (!e) throw inputError('unknown-group', `no group "${text}" in ${group}`);
  return e.id;
}

/** A comma-separated group list; "" is the empty list (no supplementary groups). */
export function lookupGroups(text: string, group = '/etc/group'): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((g) => lookupGroup(g.trim(), group));
}
