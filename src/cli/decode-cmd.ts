import type { Command } from 'commander';
import { capTextName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import { printJson } from './output.js';

/**
 * `capsh --decode=HEX`: `0x%016llx=` then the set bits in ascending order, libcap names for
 * the caps it knows and plain numbers for bits 41..63. capsh reads the value with
 * strtoull(, 16) and silently stops at the first non-hex character; capctl is strict instead
 * (a mask with junk in it is a mistake worth reporting), and prints the same line for every
 * value capsh and capctl both accept.
 */
export function decodeMask(text: string): { hex: string; bits: number[]; names: string[]; line: string } {
  const t = text.trim();
  const digits = t.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{1,16}$/.test(digits)) {
    throw inputError(
      'bad-hex',
      `not a capability mask: "${text}" (want 1 to 16 hex digits, optionally with 0x, e.g. 000001ffffffffff)`,
    );
  }
  const value = BigInt(`0x${digits}`);
  const hex = value.toString(16).padStart(16, '0');
  const bits: number[] = [];
  for (let b = 0; b < 64; b++) if ((value >> BigInt(b)) & 1n) bits.push(b);
  const names = bits.map(capTextName);
  return { hex, bits, names, line: `0x${hex}=${names.join(',')}` };
}

export function register(program: Command): void {
  program
    .command('decode')
    .description('decode capability masks (as in /proc/PID/status) to names, like capsh --decode')
    .argument('<HEX...>', 'masks of up to 16 hex digits, with or without 0x')
    .option('--json', 'print JSON: the mask, the bit numbers and the names')
    .addHelpText(
      'after',
      `
Output is byte-identical to capsh --decode=HEX: 0x<16 digits>=<names>, bits the kernel does not
name (41..63) as numbers.

Examples:
  capctl decode 0000000000003000        # 0x0000000000003000=cap_net_admin,cap_net_raw
  capctl decode $(awk '/CapEff/ {print $2}' /proc/self/status)
  capctl decode --json 0x20 | jq -r '.[0].names[]'`,
    )
    .action((masks: string[], opts: { json?: boolean }) => {
      const decoded = masks.map(decodeMask);
      if (opts.json) {
        printJson(decoded.map(({ hex, bits, names }) => ({ hex, bits, names })));
        return;
      }
      process.stdout.write(decoded.map((d) => `${d.line}\n`).join(''));
    });
}
