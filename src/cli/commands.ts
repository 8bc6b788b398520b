/**
 * The command registry: each command lives in its own module under src/cli/ and exports a
 * `register(program)` function. Keep this list in the order `capctl --help` should show.
 */
import type { Command } from 'commander';
import { register as attach } from './attach-cmd.js';
import { register as audit } from './audit-cmd.js';
import { register as bindings } from './bindings-cmd.js';
import { register as capExplain } from './cap-explain-cmd.js';
import { register as caps } from './caps-cmd.js';
import { register as check } from './check-cmd.js';
import { register as completion } from './completion-cmd.js';
import { register as decode } from './decode-cmd.js';
import { register as exec } from './exec-cmd.js';
import { register as getcap } from './getcap-cmd.js';
import { register as jail } from './jail-cmd.js';
import { register as learn } from './learn-cmd.js';
import { register as oci } from './oci-cmd.js';
import { register as priv } from './priv-cmd.js';
import { register as profile } from './profile-cmd.js';
import { register as ps } from './ps-cmd.js';
import { register as record } from './record-cmd.js';
import { register as replay } from './replay-cmd.js';
import { register as run } from './run-cmd.js';
import { register as setcap } from './setcap-cmd.js';
import { register as text } from './text-cmd.js';

// Grouped as the README presents them: Linux capabilities; the runtime; FreeBSD priv(9);
// profiles and bindings; audit.
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  caps,
  text,
  decode,
  ps,
  getcap,
  setcap,
  record,
  replay,
  run,
  priv,
  capExplain,
  check,
  profile,
  attach,
  bindings,
  jail,
  oci,
  audit,
  exec,
  learn,
  completion,
];
