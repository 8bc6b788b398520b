/**
 * The compiled decision tables against casbin's own enforceSync/enforceExSync on the model in
 * policies/model.conf: random profiles (rules with patterns, uid ranges, syscall lists,
 * priorities, both effects, and a random bounding set) and random requests. 2,000 profiles x
 * 60 requests = 120,000 comparisons of the decision and of the rule that decided.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { CAPABILITIES } from '../../src/caps/catalog.js';
import { buildEnforcer, casbinDecide } from '../../src/policy/casbin.js';
import { CAP_ALLOW, CAP_COMPLAIN, CAP_DENY, CompiledProfile, PRIV_COMPLAIN } from '../../src/policy/compile.js';
import { privCatalog } from '../../src/policy/privdata.js';
import { type Profile, type Rule, UID_ANY_MAX } from '../../src/policy/types.js';
import { POLICY_DENY, POLICY_GRANT, POLICY_NONE } from '../../src/priv/policy-hook.js';

const PROFILES = 2000;
const REQUESTS = 60;

const capNames = CAPABILITIES.map((c) => c.name);
const privNames = [...privCatalog().byNumber.values()];
const privPatterns = [
  'PRIV_*',
  'PRIV_NET_*',
  'PRIV_NETINET_*',
  'PRIV_VFS_*',
  'PRIV_VFS_MOUNT*',
  'PRIV_CRED_*',
  'PRIV_KLD_*',
];
const SYSCALLS = ['socket', 'bind', 'mount', 'chroot', 'setuid', 'kill'];
const UIDS = [0, 1, 999, 1000, 1001, 65534, 4294967294, 4294967295];

const objectArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...capNames.slice(0, 16)) },
  { weight: 1, arbitrary: fc.constantFrom(...capNames) },
  { weight: 1, arbitrary: fc.constant('CAP_*') },
  { weight: 3, arbitrary: fc.constantFrom(...privNames.slice(0, 20), 'PRIV_NETINET_RAW', 'PRIV_VFS_MOUNT') },
  { weight: 1, arbitrary: fc.constantFrom(...privNames) },
  { weight: 2, arbitrary: fc.constantFrom(...privPatterns) },
);

const uidRangeArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant<[number, number]>([0, UID_ANY_MAX]) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...UIDS), fc.constantFrom(...UIDS))
      .map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]),
  },
  { weight: 1, arbitrary: fc.constantFrom(...UIDS).map((u) => [u, u] as [number, number]) },
);

const ruleArb: fc.Arbitrary<Rule> = fc
  .record({
    effect: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'),
    objects: fc.uniqueArray(objectArb, { minLength: 1, maxLength: 4 }),
    uid: uidRangeArb,
    syscalls: fc.oneof(
      { weight: 3, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.uniqueArray(fc.constantFrom(...SYSCALLS), { minLength: 1, maxLength: 3 }) },
    ),
    priority: fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.constantFrom(1, 5, 10, 1000) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 1000 }) },
    ),
  })
  .map((r) => ({
    effect: r.effect,
    objects: r.objects,
    uidMin: r.uid[0],
    uidMax: r.uid[1],
    syscalls: r.syscalls,
    priority: r.priority,
    source: 'generated',
    implicit: false,
  }));

const profileArb = fc.record({
  rules: fc.array(ruleArb, { maxLength: 12 }),
  bounding: fc.oneof(
    fc.constant(CapSet.EMPTY),
    fc.constant(CapSet.FULL),
    fc.tuple(fc.nat(), fc.nat()).map(([lo, hi]) => CapSet.fromWords(lo, hi)),
  ),
  complain: fc.boolean(),
});

const requestArb = fc.record({
  obj: fc.oneof(
    fc.constantFrom(...capNames.slice(0, 16)),
    fc.constantFrom(...capNames),
    fc.constantFrom(...privNames.slice(0, 20), 'PRIV_NETINET_RAW', 'PRIV_VFS_MOUNT'),
    fc.constantFrom(...privNames),
  ),
  uid: fc.oneof(fc.constantFrom(...UIDS), fc.integer({ min: 0, max: 4294967295 })),
  sc: fc.constantFrom('', ...SYSCALLS),
});

function profileOf(rules: Rule[], bounding: CapSet, complain: boolean): Profile {
  const E = CapSet.EMPTY;
  return {
    name: 'generated',
    description: '',
    file: 'generated.yaml',
    files: [],
    target: undefined,
    mode: complain ? 'complain' : 'enforce',
    sets: { bounding, permitted: E, effective: E, inheritable: E, ambient: E },
    sha256: '',
    setsGiven: { bounding: true, permitted: false, effective: false, inheritable: false, ambient: false },
    noNewPrivs: false,
    rules,
    jail: {},
    audit: { log: 'denied', rateLimit: { perSecond: 1, burst: 1 } },
    warnings: [],
  };
}

describe('compiled tables equal casbin (policies/model.conf)', () => {
  it(`agrees on ${PROFILES} random profiles x ${REQUESTS} requests (decision and deciding rule)`, async () => {
    const capNum = new Map(CAPABILITIES.map((c) => [c.name, c.number]));
    const privNum = privCatalog().byName;
    const profiles = fc.sample(profileArb, { numRuns: PROFILES, seed: 20261126 });
    const requests = fc.sample(requestArb, { numRuns: PROFILES * REQUESTS, seed: 42 });
    let compared = 0;
    let allows = 0;
    let conditional = 0;
    for (let p = 0; p < profiles.length; p++) {
      const { rules, bounding, complain } = profiles[p]!;
      const compiled = new CompiledProfile(profileOf(rules, bounding, complain));
      const e = await buildEnforcer(compiled.rules);
      for (let q = 0; q < REQUESTS; q++) {
        const { obj, uid, sc } = requests[p * REQUESTS + q]!;
        const ref = casbinDecide(e, obj, uid, sc);
        // enforceExSync and enforceSync share one code path; spot-check that they agree.
        if (q % 4 === 0) expect(e.enforceSync(obj, uid, sc)).toBe(ref.allow);
        const c = capNum.get(obj);
        let rule: number;
        if (c !== undefined) {
          const d = compiled.decideCap(c, uid, sc);
          const want = ref.allow ? CAP_ALLOW : complain ? CAP_COMPLAIN : CAP_DENY;
          if (d !== want)
            throw new Error(
              `cap ${obj} uid=${uid} sc=${sc}: compiled ${d}, casbin ${ref.allow} (profile ${p}: ${JSON.stringify(rules)})`,
            );
          rule = compiled.capRuleFor(c, uid, sc);
          if (compiled.capChains[c]) conditional++;
        } else {
          const n = privNum.get(obj)!;
          const d = compiled.decidePriv(n, uid, sc);
          const want = ref.allow
            ? POLICY_GRANT
            : ref.rule >= 0
              ? complain
                ? PRIV_COMPLAIN
                : POLICY_DENY
              : POLICY_NONE;
          if (d !== want)
            throw new Error(
              `priv ${obj} uid=${uid} sc=${sc}: compiled ${d}, want ${want} (profile ${p}: ${JSON.stringify(rules)})`,
            );
          rule = compiled.privRuleFor(n, uid, sc);
          if (compiled.privChains[n]) conditional++;
        }
        expect(rule).toBe(ref.rule);
        if (ref.allow) allows++;
        compared++;
      }
    }
    expect(compared).toBe(PROFILES * REQUESTS);
    // The generators must exercise both outcomes and the conditional path, or the test proves little.
    expect(allows).toBeGreaterThan(compared / 20);
    expect(compared - allows).toBeGreaterThan(compared / 20);
    expect(conditional).toBeGreaterThan(compared / 50);
  }, 240_000);
});
