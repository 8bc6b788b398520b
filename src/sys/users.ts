/**
 * User lookup for --user: a numeric uid, or a name from /etc/passwd (getpwnam's files source;
 * NSS modules such as LDAP are not consulted). An unknown name is an input error.
 */
import { readFileSync } from 'node:fs';
import { inputError } from '../caps/errors.js';

export function lookupUser(spec: string, passwd = '/etc/passwd'): { uid: number; gid: number } {
  let text = '';
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    // no passwd file: numeric ids only
  }
  const rows = text.split('\n').map((l) => l.split(':'));
  if (/^\d+$/.test(spec)) {
    const uid = Number(spec);
    if (uid > 0xfffffffe) throw inputError('usage', `--user ${spec}: not a uid`);
    const row = rows.find((r) => r[2] === spec);
    return { uid, gid: row ? Number(row[3]) : uid };
  }
  const row = rows.find((r) => r[0] === spec && r.length >= 4);
  if (!row) throw inputError('usage', `--user ${spec}: no such user in ${passwd}`);
  return { uid: Number(row[2]), gid: Number(row[3]) };
}
