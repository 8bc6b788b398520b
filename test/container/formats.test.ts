/**
 * Container formats: export then import round-trips every stock profile a format can express
 * (the imported document is loaded and validated by the real loader), the profiles a format
 * cannot express are reported as lossy with the reason, and imports apply each engine's own
 * defaults and rules.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CapSet } from '../../src/caps/capset.js';
import { containerProfile } from '../../src/container/compile.js';
import { exportProfile, importProfile } from '../../src/container/convert.js';
import { FORMATS, type Format } from '../../src/container/formats.js';
import { loadResolvedProfile, resolveProfile, SET_NAMES } from '../../src/policy/index.js';
import { policiesDir } from '../../src/policy/paths.js';
import type { ProfileDoc } from '../../src/policy/types.js';

const dir = mkdtempSync(join(tmpdir(), 'capctl-i10-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stock = readdirSync(policiesDir())
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5));

/** Load an imported document through the real loader (schema, names, invariants). */
function load(doc: ProfileDoc) {
  const f = join(dir, `${doc.name}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, stringify(doc));
  return loadResolvedProfile(f);
}

const hex = (s: CapSet) => s.toHex();

// Which stock profiles each format cannot carry, and why (the rest must round-trip exactly).
const LOSSY: Record<string, RegExp> = {
  nginx: /uid or system call condition/,
};

describe('export then import round-trips every stock profile the format can express', () => {
  for (const name of stock) {
    for (const format of FORMATS) {
      it(`${name} as ${format}`, () => {
        const cp = containerProfile(resolveProfile(name));
        const out = exportProfile(cp, format);
        if (LOSSY[name]) {
          expect(out.lossy.join('\n')).toMatch(LOSSY[name]!);
          return;
        }
        expect(out.lossy).toEqual([]);
        const back = load(importProfile(out.text, format, { fileName: `${name}.txt` }).doc);
        for (const s of SET_NAMES) expect([s, hex(back.sets[s])]).toEqual([s, hex(cp.sets[s])]);
        expect(back.noNewPrivs).toBe(cp.noNewPrivs);
      });
    }
  }
});

describe('what a format cannot express is lossy, never silently dropped', () => {
  const cp = (sets: Partial<Record<(typeof SET_NAMES)[number], CapSet>>) => {
    const base = containerProfile(resolveProfile('docker-default'));
    return { ...base, sets: { ...base.sets, ...sets } };
  };
  const raw = CapSet.fromNames(['CAP_NET_RAW']);
  it('inheritable and ambient in docker and podman flags, Kubernetes', () => {
    const p = cp({ inheritable: raw, permitted: raw.union(cp({}).sets.permitted) });
    for (const f of ['docker', 'podman', 'k8s'] as Format[]) {
      expect(exportProfile(p, f).lossy.join('\n')).toMatch(/inheritable/);
    }
    const a = cp({ bounding: raw, permitted: raw, effective: raw, inheritable: raw, ambient: raw });
    expect(exportProfile(a, 'docker').lossy.join('\n')).toMatch(/docker cannot set the ambient set/);
    expect(exportProfile(a, 'oci').lossy).toEqual([]);
    expect(exportProfile(a, 'systemd').lossy).toEqual([]); // AmbientCapabilities=, inheritable follows
  });
  it('permitted different from bounding for the engines and systemd', () => {
    const p = cp({ permitted: raw, effective: raw });
    for (const f of ['docker', 'podman', 'compose', 'k8s', 'systemd'] as Format[]) {
      expect(exportProfile(p, f).lossy.join('\n')).toMatch(/bounding = permitted = effective/);
    }
  });
});

describe('import applies each engine as it does it', () => {
  const flags = (format: 'docker' | 'podman', line: string) => {
    const d = importProfile(line, format).doc;
    return load(d).sets.bounding.toHex();
  };
  it('defaults: docker 14 (a80425fb), podman 11 (800405fb)', () => {
    expect(flags('docker', 'docker run img')).toBe('00000000a80425fb');
    expect(flags('podman', 'podman run img')).toBe('00000000800405fb');
  });
  it('drop ALL keeps only the adds; add ALL beats drop ALL; --privileged is everything', () => {
    expect(flags('docker', 'docker run --cap-drop=ALL --cap-add NET_RAW img')).toBe('0000000000002000');
    expect(flags('podman', "podman run --cap-drop all --cap-add='cap_net_raw,kill' img")).toBe('0000000000002020');
    expect(flags('docker', 'docker run --cap-add ALL --cap-drop ALL img')).toBe(CapSet.FULL.toHex());
    expect(flags('docker', 'docker run --cap-add=ALL --cap-drop=SYS_ADMIN img')).toBe(
      CapSet.FULL.minus(CapSet.fromNames(['CAP_SYS_ADMIN'])).toHex(),
    );
    expect(flags('podman', 'podman run --privileged img')).toBe(CapSet.FULL.toHex());
    expect(flags('docker', 'docker run \\\n  --cap-drop NET_RAW img  # no raw sockets')).toBe('00000000a80405fb');
  });
  it('no-new-privileges and unknown names', () => {
    expect(importProfile('docker run --security-opt no-new-privileges:true x', 'docker').doc.noNewPrivs).toBe(true);
    expect(() => importProfile('docker run --cap-add NET_RAWW x', 'docker')).toThrow(/unknown capability "NET_RAWW"/);
  });
  it('compose (docker defaults, or podman with --engine), Kubernetes manifests, systemd units', () => {
    const compose =
      'services:\n  web:\n    image: x\n    cap_drop: [NET_RAW]\n    security_opt: ["no-new-privileges:true"]\n';
    const c = load(importProfile(compose, 'compose').doc);
    expect([c.name, c.sets.bounding.toHex(), c.noNewPrivs]).toEqual(['web', '00000000a80405fb', true]);
    expect(load(importProfile(compose, 'compose', { engine: 'podman' }).doc).sets.bounding.toHex()).toBe(
      '00000000800405fb',
    );
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
    - name: app
      image: x
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
`;
    const k = load(importProfile(pod, 'k8s').doc);
    expect([k.name, k.sets.effective.toHex(), k.noNewPrivs]).toEqual(['web', '0000000000000400', true]);
    const unit =
      '[Service]\nExecStart=/bin/x\nCapabilityBoundingSet=~CAP_SYS_ADMIN\nCapabilityBoundingSet=\nCapabilityBoundingSet=CAP_NET_RAW CAP_KILL\nAmbientCapabilities=CAP_NET_RAW\nNoNewPrivileges=true\n';
    const s = load(importProfile(unit, 'systemd', { fileName: 'ping.service' }).doc);
    expect([s.name, s.sets.bounding.toHex(), s.sets.ambient.toHex(), s.sets.inheritable.toHex(), s.noNewPrivs]).toEqual(
      ['ping', '0000000000002020', '0000000000002000', '0000000000002000', true],
    );
  });
  it("oci: runc spec's own default (ambient without inheritable) imports as runc runs it, with a note", () => {
    const cfg = {
      process: {
        capabilities: {
          bounding: ['CAP_KILL', 'CAP_AUDIT_WRITE'],
          effective: ['CAP_KILL'],
          permitted: ['CAP_KILL'],
          ambient: ['CAP_KILL'],
        },
      },
    };
    const r = importProfile(JSON.stringify(cfg), 'oci');
    expect(r.notes.join('\n')).toMatch(/ambient has CAP_KILL, not in both inheritable and permitted/);
    const p = load(r.doc);
    expect([p.sets.ambient.toHex(), p.sets.bounding.toHex()]).toEqual(['0000000000000000', '0000000020000020']);
  });
});
