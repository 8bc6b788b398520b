/**
 * Removing a tracing instance in the background (src/sys/tracefs.ts removeAsync, settleLater,
 * removalsSettled): the rmdir runs while the caller prints, and a removal that fails must
 * still reach the caller as one line naming the instance. On the real tracefs (as root) the
 * instance is gone once removalsSettled() returns; a failure is made on a plain directory
 * standing in for tracefs, where writing `tracing_on` leaves a file and rmdir meets ENOTEMPTY.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removalsSettled, settleLater, TraceInstance } from '../../src/sys/tracefs.js';
import { TRACING, tracefsReady } from './tracefs-ready.js';

const onTracefs = tracefsReady();
const fake = mkdtempSync(join(tmpdir(), 'capctl-tracefs-'));
mkdirSync(join(fake, 'instances'));
afterAll(() => rmSync(fake, { recursive: true, force: true }));

describe('background removal of a tracing instance', () => {
  it('a failed removal is thrown by removalsSettled, once, naming the instance', async () => {
    const inst = TraceInstance.create('capctl-test', fake);
    settleLater(inst.removeAsync());
    await expect(removalsSettled()).rejects.toThrow(
      new RegExp(`^cannot remove tracing instance ${inst.dir}: ENOTEMPTY`),
    );
    await expect(removalsSettled()).resolves.toBeUndefined();
    // Still listed for the exit hook, which would meet the same error: take the directory away
    // (as the kernel would, once it lets go) and the listed instance's removal then succeeds.
    expect(existsSync(inst.dir)).toBe(true);
    rmSync(inst.dir, { recursive: true });
    inst.remove();
  });

  it.skipIf(!onTracefs)(
    'on tracefs the instance is gone when removalsSettled returns (skipped: not root or no tracefs)',
    async () => {
      const inst = TraceInstance.create('capctl-test', TRACING);
      expect(existsSync(inst.dir)).toBe(true);
      settleLater(inst.removeAsync());
      await removalsSettled();
      expect(existsSync(inst.dir)).toBe(false);
    },
  );
});
