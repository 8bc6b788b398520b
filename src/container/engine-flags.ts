/**
 * podman and docker `run` flags: --cap-drop/--cap-add and --security-opt no-new-privileges.
 *
 * Export drops ALL first and adds the profile's caps, so the result does not depend on the
 * engine's defaults (podman's 11 differ from docker's 14). Both engines then give a root
 * process bounding = permitted = effective = the adds. A non-root --user gets no ambient caps
 * from docker (moby#52830 open); podman raises ambient for added caps. Neither sets inheritable.
 *
 * Import reads a command line (a file: shell words, `\` line continuations, # comments) and
 * applies the engine's own defaults and rules (formats.ts tweakCaps: add ALL beats drop ALL).
 */
import type { CapSet } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import type { ProfileDoc } from '../policy/types.js';
import {
  DOCKER_DEFAULT_CAPS,
  type Exported,
  engineCap,
  importedDoc,
  PODMAN_DEFAULT_CAPS,
  profileNameFrom,
  ruleLoss,
  shortNames,
  tweakCaps,
  uniformSetsLoss,
} from './formats.js';
import type { ContainerProfile } from './profile.js';

export type Engine = 'podman' | 'docker';

export const ENGINE_DEFAULTS: Readonly<Record<Engine, CapSet>> = {
  podman: PODMAN_DEFAULT_CAPS,
  docker: DOCKER_DEFAULT_CAPS,
};

/** The flags as a list of arguments. */
export function engineArgs(cp: ContainerProfile): string[] {
  const args = ['--cap-drop=ALL', ...shortNames(cp.sets.bounding).map((c) => `--cap-add=${c}`)];
  if (cp.noNewPrivs) args.push('--security-opt=no-new-privileges');
  return args;
}

export function exportEngineFlags(cp: ContainerProfile, engine: Engine): Exported {
  const { lossy, notes } = ruleLoss(cp);
  lossy.push(...uniformSetsLoss(cp, `${engine} run`));
  if (!cp.sets.inheritable.isEmpty()) lossy.push(`${engine} cannot set the inheritable set`);
  if (!cp.sets.ambient.isEmpty()) {
    if (engine === 'docker') lossy.push('docker cannot set the ambient set (a non-root user gets no ambient caps)');
    else
      lossy.push(
        'podman raises ambient only for a non-root --user, for every added cap; it cannot name an ambient set',
      );
  }
  return { text: `${engineArgs(cp).join(' ')}\n`, lossy, notes };
}

/** Shell words of a command-line file (quotes, backslash escapes, line continuations, comments). */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  let i = 0;
  const push = () => {
    if (cur !== undefined) words.push(cur);
    cur = undefined;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\\' && text[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (/\s/.test(ch)) {
      push();
      i++;
      continue;
    }
    if (ch === '#' && cur === undefined) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw inputError('bad-command-line', 'unterminated single quote');
      cur = (cur ?? '') + text.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        s += text[j];
        j++;
      }
      if (j >= text.length) throw inputError('bad-command-line', 'unterminated double quote');
      cur = (cur ?? '') + s;
      i = j + 1;
      continue;
    }
    if (ch === '\\' && i + 1 < text.length) {
      cur = (cur ?? '') + text[i + 1];
      i += 2;
      continue;
    }
    cur = (cur ?? '') + ch;
    i++;
  }
  push();
  return words;
}

export interface EngineRunOptions {
  add: (number | 'ALL')[];
  drop: (number | 'ALL')[];
  privileged: boolean;
  noNewPrivs: boolean;
  name?: string;
}

/** The capability-related options of a `run`/`create` command line. */
export function parseEngineArgs(words: readonly string[]): EngineRunOptions {
  const o: EngineRunOptions = { add: [], drop: [], privileged: false, noNewPrivs: false };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const m = /^(--[a-z-]+)(?:=(.*))?$/s.exec(w);
    if (!m) continue;
    const flag = m[1]!;
    const takes = ['--cap-add', '--cap-drop', '--security-opt', '--name'].includes(flag);
    const value = m[2] ?? (takes ? words[++i] : undefined);
    if (takes && value === undefined) throw inputError('bad-command-line', `${flag} needs a value`);
    if (flag === '--cap-add' || flag === '--cap-drop') {
      // podman takes comma-separated lists; docker one name per flag (a list is harmless).
      const caps = value!
        .split(',')
        .filter((c) => c !== '')
        .map((c) => engineCap(c, flag));
      (flag === '--cap-add' ? o.add : o.drop).push(...caps);
    } else if (flag === '--privileged') {
      o.privileged = value === undefined || value === 'true';
    } else if (flag === '--security-opt') {
      if (/^no-new-privileges(?:[:=]true)?$/.test(value!)) o.noNewPrivs = true;
      if (/^no-new-privileges[:=]false$/.test(value!)) o.noNewPrivs = false;
    } else if (flag === '--name') {
      o.name = value;
    }
  }
  return o;
}

export function importEngineFlags(text: string, engine: Engine, fileName = 'imported'): ProfileDoc {
  const o = parseEngineArgs(shellWords(text));
  const set = tweakCaps(ENGINE_DEFAULTS[engine], o.add, o.drop, o.privileged);
  return importedDoc(
    profileNameFrom(o.name ?? fileName),
    `imported from ${engine} run flags (${engine}'s defaults and rules applied)`,
    { bounding: set, permitted: set, effective: set },
    o.noNewPrivs,
  );
}
