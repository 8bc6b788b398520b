/**
 * The layering of README's architecture section, enforced: each layer imports only from the
 * layers it may use. A new import that breaks the direction fails here, not in review.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  caps: [],
  sys: ['caps', 'util'],
  priv: ['caps', 'util'],
  policy: ['caps', 'priv', 'util'],
  runtime: ['caps', 'priv', 'util'],
  // suggest turns denials into a profile, so audit reads the profile model.
  audit: ['caps', 'priv', 'policy', 'runtime', 'util'],
  // Container formats (OCI config.json, engine flags, compose, Kubernetes, systemd): pure
  // translations of one profile, predicted with the runtime's own exec rules.
  container: ['caps', 'priv', 'policy', 'runtime', 'util'],
  // Real processes at the edges: applying a profile and exec'ing, tracefs followers, the seccomp
  // supervisor, the OCI runtime shim. The only layer besides the CLI that drives src/sys.
  live: ['caps', 'sys', 'priv', 'policy', 'runtime', 'audit', 'container', 'util'],
  cli: ['caps', 'sys', 'priv', 'policy', 'runtime', 'audit', 'container', 'live', 'util'],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('layers', () => {
  const src = join(__dirname, '..', 'src');
  it('every directory under src/ is a known layer', () => {
    const dirs = readdirSync(src, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(dirs.filter((d) => !(d in ALLOWED))).toEqual([]);
  });

  it('each layer imports only from the layers above it', () => {
    const bad: string[] = [];
    for (const [layer, allowed] of Object.entries(ALLOWED)) {
      if (!existsSync(join(src, layer))) continue;
      for (const f of files(join(src, layer))) {
        const text = readFileSync(f, 'utf8');
        for (const m of text.matchAll(/from '((?:\.\.\/)+)([a-z]+)\//g)) {
          const depth = m[1]!.length / 3;
          // Only imports that leave the layer's own tree name another layer.
          const rel = f.slice(src.length + 1).split('/').length - 1;
          if (depth !== rel) continue;
          const target = m[2]!;
          if (!allowed.includes(target)) bad.push(`${f.slice(src.length + 1)} imports ${target}/`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});
