import { describe, expect, it } from 'vitest';
import { decodeMask } from '../../src/cli/decode-cmd.js';
import { CLI_BUILT, capctl, hasTool, prng, run, SEED } from './helpers.js';

const rand = prng(SEED + 3);
const word = () => Math.floor(rand() * 2 ** 32);
const hex32 = (w: number, keep: number) => ((w & keep) >>> 0).toString(16).padStart(8, '0');

/** Masks in the spellings capsh and capctl both take: with/without 0x, short, long, any case. */
function randomMask(): string {
  const hiKeep = [0, 0x1ff, 0x1ff, 0xffffffff, 0x1fe][Math.floor(rand() * 5)]!;
  const loKeep = rand() < 0.1 ? 0 : 0xffffffff;
  let digits = (hex32(word(), hiKeep) + hex32(word(), loKeep)).replace(/^0+(?=.)/, rand() < 0.5 ? '' : '0');
  if (rand() < 0.3) digits = digits.toUpperCase();
  return (rand() < 0.4 ? (rand() < 0.5 ? '0x' : '0X') : '') + digits;
}

describe('capctl decode', () => {
  it('prints the capsh line for fixed masks', () => {
    expect(decodeMask('0000000000003000').line).toBe('0x0000000000003000=cap_net_admin,cap_net_raw');
    expect(decodeMask('0').line).toBe('0x0000000000000000=');
    expect(decodeMask('0x20000000000').line).toBe('0x0000020000000000=41');
    expect(decodeMask('8000000000000001').line).toBe('0x8000000000000001=cap_chown,63');
  });

  it.runIf(CLI_BUILT && hasTool('capsh'))('is byte-identical to capsh --decode for 2000 random masks', () => {
    const masks = Array.from({ length: 2000 }, randomMask);
    const want = run(
      'capsh',
      masks.map((m) => `--decode=${m}`),
    );
    expect(want.status).toBe(0);
    const got = capctl(['decode', ...masks]);
    expect(got.status).toBe(0);
    expect(got.stdout.split('\n')).toEqual(want.stdout.split('\n'));
    const json = JSON.parse(capctl(['decode', '--json', masks[0]!]).stdout);
    expect(`0x${json[0].hex}=${json[0].names.join(',')}`).toBe(want.stdout.split('\n')[0]);
  });
});
