/**
 * The attach log: one JSON line per container capctl-oci-runtime started under a profile
 * (`verdict: "attached"`, the profile and its sha256, the container id and name, how the profile
 * was found). It is kept apart from the denial log (audit.log), whose reader checks every line
 * against the denial record's schema.
 *
 * One record per short-lived process: a single O_APPEND write of one line, fsynced. A line
 * under PIPE_BUF written with O_APPEND is never interleaved with another writer's.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

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

export const ATTACH_LOG = 'attach.log';

export function appendAttachRecord(file: string, rec: AttachRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o640);
  try {
    writeSync(fd, `${JSON.stringify({ level: 'info', ...rec })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
