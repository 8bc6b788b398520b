/** Validation messages as a new user meets them: position, key path, the right suggestion. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile, loadResolvedProfile, ProfileError } from '../../src/policy/index.js';
import { errorOf, profileDir } from './helpers.js';

describe('profile validation messages', () => {
  it('reports a misspelt capability on line 7 with "7:" and the right name', () => {
    const dir = profileDir({
      'web.yaml': [
        'name: web', // 1
        'description: a web server', // 2
        'target: container', // 3
        'capabilities:', // 4
        '  bounding:', // 5
        '    - CHOWN', // 6
        '    - NET_BIND_SERVCE', // 7
        '    - SETUID', // 8
        '',
      ].join('\n'),
    });
    const msg = errorOf(() => loadProfile(join(dir, 'web.yaml')));
    expect(msg).toContain('web.yaml:7:7: capabilities.bounding[1]: unknown capability "NET_BIND_SERVCE"');
    expect(msg).toContain('did you mean NET_BIND_SERVICE?');
  });

  it('suggests in the spelling the user wrote (libcap style) and for privileges', () => {
    const dir = profileDir({
      'p.yaml':
        'name: p\nrules:\n  - effect: allow\n    caps: [cap_net_rwa]\n    privs: [PRIV_NETINET_RAWW, netinet_*]\n',
    });
    const msg = errorOf(() => loadProfile(join(dir, 'p.yaml')));
    expect(msg).toContain(
      'p.yaml:4:12: rules[0].caps[0]: unknown capability "cap_net_rwa" (did you mean cap_net_raw?)',
    );
    expect(msg).toContain(
      'p.yaml:5:13: rules[0].privs[0]: unknown privilege "PRIV_NETINET_RAWW" (did you mean PRIV_NETINET_RAW?)',
    );
    // A pattern that matches privileges is fine.
    expect(msg).not.toContain('netinet_*');
  });

  it('names the cycle in extends', () => {
    const dir = profileDir({
      'a.yaml': 'name: a\nextends: [b]\n',
      'b.yaml': 'name: b\nextends: [c]\n',
      'c.yaml': 'name: c\nextends: [a]\n',
    });
    const msg = errorOf(() => loadProfile(join(dir, 'a.yaml')));
    expect(msg).toMatch(/c\.yaml:2:11: extends\[0\]: extends cycle: .*a\.yaml -> .*b\.yaml -> .*c\.yaml -> .*a\.yaml/);
  });

  it('names a profile that extends itself', () => {
    const dir = profileDir({ 'self.yaml': 'name: self\nextends: self\n' });
    expect(errorOf(() => loadProfile(join(dir, 'self.yaml')))).toMatch(/extends cycle: .*self\.yaml -> .*self\.yaml/);
  });

  it('rejects a missing parent and says where it looked', () => {
    const dir = profileDir({ 'x.yaml': 'name: x\nextends:\n  - docker-defualt\n' });
    const msg = errorOf(() => loadProfile(join(dir, 'x.yaml')));
    expect(msg).toContain('x.yaml:3:5: extends[0]: parent profile "docker-defualt" not found');
    expect(msg).toContain('policies/docker-defualt.yaml');
  });

  it('names the key path of a value with the wrong type', () => {
    const dir = profileDir({
      't.yaml':
        'name: t\nrules:\n  - effect: deny\n    caps: [SYS_ADMIN]\n    priority: high\naudit:\n  rateLimit:\n    burst: "10"\n',
    });
    const msg = errorOf(() => loadProfile(join(dir, 't.yaml')));
    expect(msg).toContain('t.yaml:5:15: rules[0].priority: must be integer, not string "high"');
    expect(msg).toContain('t.yaml:8:12: audit.rateLimit.burst: must be integer, not string "10"');
  });

  it('rejects unknown keys at the key, with a suggestion, and reports every error at once', () => {
    const dir = profileDir({
      'u.yaml':
        'name: u\nmdoe: enforce\ncapabilities:\n  bounds: [CHOWN]\nrules:\n  - effect: permit\n    caps: [KILL]\n',
    });
    const err = (() => {
      try {
        loadProfile(join(dir, 'u.yaml'));
      } catch (e) {
        return e as ProfileError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(ProfileError);
    const msg = err.message;
    expect(msg).toContain('u.yaml:2:1: mdoe: unknown key "mdoe" (did you mean "mode"?)');
    expect(msg).toContain('u.yaml:4:3: capabilities.bounds: unknown key "bounds" (did you mean "bounding"?)');
    expect(msg).toContain('u.yaml:6:13: rules[0].effect: string "permit" is not one of allow, deny');
    expect(err.issues.filter((i) => i.severity === 'error')).toHaveLength(3);
  });

  it('reports YAML syntax errors with their position', () => {
    const dir = profileDir({ 'y.yaml': 'name: y\nrules: [\n' });
    expect(errorOf(() => loadProfile(join(dir, 'y.yaml')))).toMatch(/y\.yaml:\d+:\d+: YAML: /);
  });

  it('checks the kernel set invariants (E ⊆ P, A ⊆ P ∩ I)', () => {
    const dir = profileDir({
      's.yaml': 'name: s\ncapabilities:\n  permitted: [CHOWN]\n  effective: [CHOWN, KILL]\n  ambient: [CHOWN]\n',
    });
    const msg = errorOf(() => loadProfile(join(dir, 's.yaml')));
    expect(msg).toContain('effective has CAP_KILL, not in permitted');
    expect(msg).toContain('ambient has CAP_CHOWN, not in both permitted and inheritable');
  });

  it('rejects allow.* jail parameters that gate privileges (they are derived from the rules)', () => {
    const dir = profileDir({ 'j.yaml': 'name: j\njail:\n  allow.raw_sockets: true\n  enforce_statfs: 1\n' });
    expect(errorOf(() => loadProfile(join(dir, 'j.yaml')))).toContain(
      'j.yaml:3:3: jail.allow.raw_sockets: allow.raw_sockets gates PRIV_NETINET_RAW',
    );
  });

  it('reports errors in a parent file at the parent’s own position', () => {
    const dir = profileDir({
      'base.yaml': 'name: base\ncapabilities:\n  bounding: [CHWON]\n',
      'child.yaml': 'name: child\nextends: [base]\n',
    });
    expect(errorOf(() => loadProfile(join(dir, 'child.yaml')))).toMatch(
      /base\.yaml:3:14: capabilities\.bounding\[0\]: unknown capability "CHWON" \(did you mean CHOWN\?\)/,
    );
  });

  it('reads libcap text and caplist strings and Docker spellings alike', () => {
    const dir = profileDir({
      'l.yaml':
        'name: l\ncapabilities:\n  bounding: "cap_chown,cap_net_raw"\n  text: "cap_net_raw=ep cap_chown+i"\n  ambient: []\n',
    });
    const p = loadResolvedProfile(join(dir, 'l.yaml'));
    expect(p.sets.bounding.toNames()).toEqual(['CAP_CHOWN', 'CAP_NET_RAW']);
    expect(p.sets.effective.toNames()).toEqual(['CAP_NET_RAW']);
    expect(p.sets.inheritable.toNames()).toEqual(['CAP_CHOWN']);
  });
});

describe('extends', () => {
  it('merges a diamond once, parents left to right, child last', () => {
    const dir = profileDir({
      'd.yaml': 'name: d\ncapabilities:\n  bounding: [CHOWN, KILL]\nrules:\n  - effect: deny\n    caps: [KILL]\n',
      'b.yaml': 'name: b\nextends: [d]\nmode: complain\n',
      'c.yaml': 'name: c\nextends: [d]\ncapabilities:\n  drop: [CHOWN]\n  add: [NET_RAW]\n',
      'a.yaml': 'name: a\nextends: [b, c]\nmode: enforce\n',
    });
    const p = loadResolvedProfile(join(dir, 'a.yaml'));
    expect(p.files.map((f) => f.split('/').at(-1))).toEqual(['d.yaml', 'b.yaml', 'c.yaml', 'a.yaml']);
    expect(p.rules).toHaveLength(1);
    expect(p.mode).toBe('enforce');
    expect(p.sets.bounding.toNames()).toEqual(['CAP_KILL', 'CAP_NET_RAW']);
  });
});
