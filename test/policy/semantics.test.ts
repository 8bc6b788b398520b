/** Decision semantics stated in docs/policy.md, each on a small hand-written profile. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capByName } from '../../src/caps/catalog.js';
import {
  buildEnforcer,
  CAP_ALLOW,
  CAP_COMPLAIN,
  CAP_DENY,
  casbinDecide,
  denyAllPolicy,
  loadProfile,
  loadProfileOrDenyAll,
  PRIV_COMPLAIN,
} from '../../src/policy/index.js';
import { packageRoot, policiesDir } from '../../src/policy/paths.js';
import { privCatalog } from '../../src/policy/privdata.js';
import { POLICY_DENY, POLICY_GRANT, POLICY_NONE } from '../../src/priv/policy-hook.js';
import { profileDir } from './helpers.js';

const cap = (n: string) => capByName(n)!;
const priv = (n: string) => privCatalog().byName.get(n)!;
const one = (yaml: string) => loadProfile(join(profileDir({ 'p.yaml': yaml }), 'p.yaml'));

describe('decision semantics', () => {
  it('deny overrides allow at equal priority, whatever the order', () => {
    for (const order of [
      ['allow', 'deny'],
      ['deny', 'allow'],
    ]) {
      const p = one(
        `name: p\nrules:\n${order.map((e) => `  - effect: ${e}\n    caps: [NET_RAW]\n    privs: [PRIV_NETINET_RAW]\n`).join('')}`,
      );
      expect(p.decideCap(cap('NET_RAW'))).toBe(CAP_DENY);
      expect(p.decidePriv(priv('PRIV_NETINET_RAW'))).toBe(POLICY_DENY);
    }
  });

  it('a higher-priority allow beats a deny', () => {
    const p = one(
      'name: p\nrules:\n  - effect: deny\n    caps: [ALL]\n  - effect: allow\n    caps: [NET_RAW]\n    priority: 5\n',
    );
    expect(p.decideCap(cap('NET_RAW'))).toBe(CAP_ALLOW);
    expect(p.decideCap(cap('CHOWN'))).toBe(CAP_DENY);
  });

  it('the bounding set allows what no rule mentions; other caps are denied; unmentioned privileges get no verdict', () => {
    const p = one('name: p\ncapabilities:\n  bounding: [CHOWN, KILL]\nrules:\n  - effect: deny\n    caps: [KILL]\n');
    expect(p.decideCap(cap('CHOWN'))).toBe(CAP_ALLOW);
    expect(p.decideCap(cap('KILL'))).toBe(CAP_DENY);
    expect(p.decideCap(cap('SYS_ADMIN'))).toBe(CAP_DENY);
    expect(p.decidePriv(priv('PRIV_VFS_MOUNT'))).toBe(POLICY_NONE);
  });

  // Issue 8: this used to allow all 41 (bounding defaulted to ALL). Default deny now: every set
  // no file states is empty, so a profile that states nothing allows nothing.
  it('default deny: a profile with no capabilities section allows no capability and has five empty sets', () => {
    const p = one('name: p\n');
    expect([p.capAllowLo, p.capAllowHi]).toEqual([0, 0]);
    for (let c = 0; c < 41; c++) expect(p.decideCap(c, 0, '')).toBe(CAP_DENY);
    for (const s of ['bounding', 'permitted', 'effective', 'inheritable', 'ambient'] as const) {
      expect(p.profile.sets[s].isEmpty()).toBe(true);
    }
  });

  it('default deny: a stock profile truncated after its header (head -3 strict.yaml) allows nothing', () => {
    const head = readFileSync(join(policiesDir(), 'strict.yaml'), 'utf8').split('\n').slice(0, 3).join('\n');
    const p = one(`${head}\n`);
    expect(p.decideCap(cap('SYS_MODULE'), 0, '')).toBe(CAP_DENY);
    expect([p.capAllowLo, p.capAllowHi]).toEqual([0, 0]);
  });

  it('default deny: `profile show` prints all five resolved sets, the unstated ones empty', () => {
    const dir = profileDir({ 'p.yaml': 'name: p\ncapabilities:\n  add: [NET_RAW]\n' });
    const r = spawnSync(
      process.execPath,
      [join(packageRoot(), 'bin', 'capctl.js'), 'profile', 'show', '--json', join(dir, 'p.yaml')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(0);
    const caps = JSON.parse(r.stdout).capabilities as Record<string, { names: string[] }>;
    expect(Object.keys(caps).sort()).toEqual(['ambient', 'bounding', 'effective', 'inheritable', 'permitted']);
    expect(caps.bounding!.names).toEqual(['CAP_NET_RAW']);
    expect(caps.inheritable!.names).toEqual([]);
    expect(caps.ambient!.names).toEqual([]);
  });

  it('default deny: add: alone starts from empty sets (only what it adds), drop: alone leaves nothing', () => {
    const a = one('name: p\ncapabilities:\n  add: [NET_RAW]\n');
    expect(a.profile.sets.bounding.toNames()).toEqual(['CAP_NET_RAW']);
    expect(a.decideCap(cap('SYS_ADMIN'), 0, '')).toBe(CAP_DENY);
    expect(a.decideCap(cap('NET_RAW'), 0, '')).toBe(CAP_ALLOW);
    const d = one('name: p\ncapabilities:\n  drop: [NET_RAW]\n');
    expect([d.capAllowLo, d.capAllowHi]).toEqual([0, 0]);
  });

  it('uid and syscall conditions decide per request; the tables fall back to the first unconditional rule', () => {
    const p = one(
      'name: p\ncapabilities:\n  bounding: []\nrules:\n  - effect: allow\n    caps: [SETUID]\n    when: {uid: "0-99", syscall: [setuid, setresuid]}\n  - effect: allow\n    privs: [PRIV_CRED_SETUID]\n    when: {uid: 0}\n  - effect: deny\n    privs: [PRIV_CRED_*]\n',
    );
    expect(p.decideCap(cap('SETUID'), 50, 'setuid')).toBe(CAP_ALLOW);
    expect(p.decideCap(cap('SETUID'), 100, 'setuid')).toBe(CAP_DENY);
    expect(p.decideCap(cap('SETUID'), 0, 'kill')).toBe(CAP_DENY);
    expect(p.decideCap(cap('SETUID'), 0, '')).toBe(CAP_DENY);
    // Same priority: the deny on PRIV_CRED_* overrides the conditional allow.
    expect(p.decidePriv(priv('PRIV_CRED_SETUID'), 0)).toBe(POLICY_DENY);
  });

  it('complain mode allows what enforce denies, and says so', () => {
    const p = one(
      'name: p\nmode: complain\ncapabilities:\n  bounding: [CHOWN]\nrules:\n  - effect: deny\n    privs: [PRIV_VFS_MOUNT]\n',
    );
    expect(p.decideCap(cap('CHOWN'))).toBe(CAP_ALLOW);
    expect(p.decideCap(cap('SYS_ADMIN'))).toBe(CAP_COMPLAIN);
    expect(p.decidePriv(priv('PRIV_VFS_MOUNT'))).toBe(PRIV_COMPLAIN);
    // The PrivPolicy tables veto nothing in complain mode.
    expect(p.privVerdicts[priv('PRIV_VFS_MOUNT')]).toBe(POLICY_NONE);
    expect([p.capAllowLo, p.capAllowHi]).toEqual([0xffffffff, 0x1ff]);
  });

  it('explanations name the deciding rule by file:line:col, and casbin names the same rule', async () => {
    const p = one(
      'name: p\nrules:\n  - effect: allow\n    privs: [PRIV_NETINET_*]\n  - effect: deny\n    privs: [PRIV_NETINET_RAW]\n',
    );
    const r = p.privRuleFor(priv('PRIV_NETINET_RAW'));
    expect(p.rules[r]!.source).toMatch(/p\.yaml:5:5$/);
    expect(p.explainPriv(priv('PRIV_NETINET_RAW'))).toMatch(/^deny PRIV_NETINET_RAW at .*p\.yaml:5:5$/);
    const e = await buildEnforcer(p.rules);
    expect(casbinDecide(e, 'PRIV_NETINET_RAW', 0, '')).toEqual({ allow: false, rule: r });
    expect(casbinDecide(e, 'PRIV_NETINET_RESERVEDPORT', 0, '').allow).toBe(true);
  });

  it('fails closed: denyAllPolicy allows nothing, and a bad profile yields it with the reason', () => {
    expect([denyAllPolicy.capAllowLo, denyAllPolicy.capAllowHi]).toEqual([0, 0]);
    for (let c = 0; c <= 40; c++) expect(denyAllPolicy.decideCap(c)).toBe(CAP_DENY);
    for (const [, n] of privCatalog().byName) expect(denyAllPolicy.privVerdicts[n]).toBe(POLICY_DENY);
    expect(denyAllPolicy.privVerdicts[0]).toBe(POLICY_NONE);
    const dir = profileDir({ 'bad.yaml': 'name: bad\ncapabilities:\n  bounding: [NET_RAWW]\n' });
    const { policy, error } = loadProfileOrDenyAll(join(dir, 'bad.yaml'));
    expect(policy).toBe(denyAllPolicy);
    expect(error?.message).toContain('did you mean NET_RAW?');
    expect(loadProfileOrDenyAll(join(dir, 'missing.yaml')).policy).toBe(denyAllPolicy);
  });

  it('grant verdicts reach the PrivPolicy table', () => {
    const p = one('name: p\nrules:\n  - effect: allow\n    privs: [PRIV_VM_MLOCK]\n');
    expect(p.privVerdicts[priv('PRIV_VM_MLOCK')]).toBe(POLICY_GRANT);
  });
});
