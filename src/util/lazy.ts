/**
 * Load a CommonJS dependency on first use instead of at import time. `--help` and completion
 * register every capctl command (src/cli/commands.ts loads only the one a command line names
 * otherwise), and a command's module graph is shared with others, so a static import of casbin,
 * ajv, pino or koffi in any module makes many commands pay for all of them (measured: `capctl
 * caps` went from 0.18 s to 0.5 s). With this, a command loads only what it calls.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => {
    if (mod === undefined) mod = require(id) as T;
    return mod;
  };
}
