/**
 * The hash a binding records over a profile's files: `path \0 bytes \0` per file, in chain
 * order. Its own module so that readers of bindings (the OCI runtime shim's start path) need not
 * load the profile loader.
 */
import { createHash } from 'node:crypto';

export function hashTexts(files: readonly (readonly [string, string | Buffer])[]): string {
  const h = createHash('sha256');
  for (const [f, text] of files) {
    h.update(f);
    h.update('\0');
    h.update(text);
    h.update('\0');
  }
  return h.digest('hex');
}
