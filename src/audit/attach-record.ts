/**
 * The audit record of a container started under a profile (`verdict: "attached"`): the profile,
 * its file and sha256, the container id and name, and how the profile was found. capctl-oci-runtime
 * appends one to the audit log (`--capctl-audit LOG`, default STATE/audit.log) on every create
 * that applies a profile; `capctl audit query --verdict attached` and `audit summary` read them.
 * schema/audit-record.schema.json has its shape.
 *
 * One record per short-lived process: a single O_APPEND write of one line, fsynced. A line under
 * PIPE_BUF written with O_APPEND is never interleaved with another writer's. No `seq`: a shim
 * process is a writer of one record. The native fast path (native/oci-fast.c) writes the same
 * keys in the same order (ATTACH_KEY_ORDER).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface AttachRecord {
  time: string;
  verdict: 'attached';
  profile: string;
  profileFile?: string;
  sha256?: string;
  containerId: string;
  containerName?: string;
  via: 'annotation' | 'binding';
  bundle?: string;
}

/** The order the shim writes the keys in (time last, as the denial records have it). */
export const ATTACH_KEY_ORDER = [
  'level',
  'verdict',
  'profile',
  'profileFile',
  'sha256',
  'containerId',
  'containerName',
  'via',
  'bundle',
  'time',
] as const;

/** The shim's audit log when none is given: in the state directory, beside bindings.json. */
export function defaultAuditLog(stateDir: string): string {
  return join(stateDir, 'audit.log');
}

export function attachRecordLine(rec: AttachRecord): string {
  const r: Record<string, unknown> = { level: 'info', ...rec };
  const out: Record<string, unknown> = {};
  for (const k of ATTACH_KEY_ORDER) if (r[k] !== undefined) out[k] = r[k];
  return `${JSON.stringify(out)}\n`;
}

export function appendAttachRecord(file: string, rec: AttachRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o640);
  try {
    writeSync(fd, attachRecordLine(rec));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
