import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { CAP_NET_BIND_SERVICE, CAP_NET_RAW } from '../../src/runtime/caps-const.js';
import {
  Credential,
  capStatusLines,
  launchSpec,
  PR_CAPBSET_DROP,
  planLaunch,
  predictLaunch,
} from '../../src/runtime/index.js';

const raw = CapSet.of(CAP_NET_RAW);

describe('launch plan and prediction', () => {
  it('root keeps exactly the bounding set after exec (the profile as ping would run it)', () => {
    const p = predictLaunch(launchSpec({ bounding: raw, permitted: raw, effective: raw }));
    expect(p.failed).toBeUndefined();
    expect(capStatusLines(p.afterExec!)).toBe(
      'CapInh:\t0000000000000000\nCapPrm:\t0000000000002000\nCapEff:\t0000000000002000\nCapBnd:\t0000000000002000\nCapAmb:\t0000000000000000\n',
    );
  });

  it('a non-root user keeps the caps only through ambient', () => {
    const spec = launchSpec({
      bounding: raw,
      permitted: raw,
      effective: raw,
      inheritable: raw,
      ambient: raw,
      uid: 65534,
      gid: 65534,
      groups: [],
    });
    const p = predictLaunch(spec);
    expect(p.failed).toBeUndefined();
    const c = p.afterExec!;
    expect([c.effective.toHex(), c.permitted.toHex(), c.ambient.toHex(), c.bounding.toHex()]).toEqual(
      Array(4).fill('0000000000002000'),
    );
    expect(c.euid).toBe(65534);
    // Without ambient the same user ends with nothing: the trap oci check warns about.
    const noAmb = predictLaunch({ ...spec, ambient: CapSet.EMPTY });
    expect(noAmb.afterExec!.effective.isEmpty()).toBe(true);
    expect(noAmb.afterExec!.permitted.isEmpty()).toBe(true);
  });

  it('drops the bounding set before losing CAP_SETPCAP, and names the step that fails', () => {
    const steps = planLaunch(launchSpec({ bounding: raw }));
    const drops = steps.filter((s) => s.call === 'prctl' && s.option === PR_CAPBSET_DROP);
    expect(drops.length).toBe(40);
    expect(steps.findIndex((s) => s.call === 'capset')).toBeGreaterThan(steps.lastIndexOf(drops[39]!));
    // A launcher without CAP_SETPCAP cannot drop the bounding set: EPERM at the first drop.
    const start = Credential.from({ uid: 1000, gid: 1000, effective: CapSet.EMPTY, permitted: CapSet.EMPTY });
    const p = predictLaunch(launchSpec({ bounding: CapSet.of(CAP_NET_BIND_SERVICE) }), { start });
    expect(p.failed?.errnoName).toBe('EPERM');
    expect(p.failed?.step.why).toBe('drop CAP_CHOWN from the bounding set');
    expect(p.afterExec).toBeUndefined();
  });

  it('an ambient cap missing from inheritable fails the raise', () => {
    const p = predictLaunch(launchSpec({ bounding: raw, permitted: raw, effective: raw, ambient: raw, uid: 1000 }));
    expect(p.failed?.step.why).toBe('raise CAP_NET_RAW in the ambient set');
    expect(p.failed?.errnoName).toBe('EPERM');
  });
});
