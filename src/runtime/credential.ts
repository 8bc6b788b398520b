/**
 * Per-thread credentials, as plain data with small methods (the shape of gVisor's
 * auth.Credentials and Linux's struct cred). Ids are kernel ids (kuid/kgid of the initial user
 * namespace). Capability sets are held as raw u32 word pairs, the way kernel_cap_t crosses the
 * capget/capset ABI, so the syscall hot paths do integer work and allocate nothing; the public
 * accessors expose immutable `CapSet` values.
 *
 * Linux keeps no_new_privs in task->atomic_flags rather than in the cred, but it is per-thread
 * there too and is copied by fork/clone, so the model keeps it next to the sets.
 */
import { CapSet } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import type { ProcStatus } from '../caps/procstatus.js';
import { SECURE_ALL_BITS, SECURE_ALL_LOCKS, VALID_HI, VALID_LO } from './abi.js';

/** One line of /proc/PID/uid_map or gid_map: ids inside..inside+count-1 are outside..outside+count-1 in the parent. */
export type IdExtent = readonly [inside: number, outside: number, count: number];

/**
 * A user namespace, reduced to what capability checks need: its parent, the euid of its creator
 * (who holds every capability in it from the parent's side, cap_capable()), and its uid/gid maps
 * (undefined until written; every id is unmapped before that).
 */
export class UserNamespace {
  readonly level: number;
  uidMap: readonly IdExtent[] | undefined = undefined;
  gidMap: readonly IdExtent[] | undefined = undefined;
  /** /proc/PID/setgroups: "deny" makes setgroups() EPERM in this namespace. */
  setgroupsAllowed = true;
  constructor(
    readonly id: number,
    readonly parent: UserNamespace | undefined,
    readonly ownerUid: number,
  ) {
    this.level = parent ? parent.level + 1 : 0;
  }
  /** True when `this` is `ns` or one of its ancestors. */
  isAncestorOrSelfOf(ns: UserNamespace): boolean {
    for (let n: UserNamespace | undefined = ns; n; n = n.parent) if (n === this) return true;
    return false;
  }
  /** make_kuid(ns, uid): the kernel uid, or -1 (INVALID_UID) when unmapped or (uid_t)-1. */
  toKuid(uid: number): number {
    return mapDown(this, uid >>> 0, 'uid');
  }
  toKgid(gid: number): number {
    return mapDown(this, gid >>> 0, 'gid');
  }
  /** from_kuid(ns, kuid): the id inside this namespace, or -1 when unmapped. */
  fromKuid(kuid: number): number {
    return mapUp(this, kuid, 'uid');
  }
  fromKgid(kgid: number): number {
    return mapUp(this, kgid, 'gid');
  }
  /** The kuid that is uid 0 here, or undefined. */
  get rootKuid(): number | undefined {
    const k = this.toKuid(0);
    return k < 0 ? undefined : k;
  }
}

function mapDown(ns: UserNamespace, id: number, kind: 'uid' | 'gid'): number {
  if (id === 0xffffffff) return -1;
  if (!ns.parent) return id;
  const map = kind === 'uid' ? ns.uidMap : ns.gidMap;
  if (!map) return -1;
  for (const [inside, outside, count] of map) {
    if (id >= inside && id - inside < count) return mapDown(ns.parent, outside + (id - inside), kind);
  }
  return -1;
}

function mapUp(ns: UserNamespace, kid: number, kind: 'uid' | 'gid'): number {
  if (kid < 0) return -1;
  if (!ns.parent) return kid;
  const outer = mapUp(ns.parent, kid, kind);
  if (outer < 0) return -1;
  const map = kind === 'uid' ? ns.uidMap : ns.gidMap;
  if (!map) return -1;
  for (const [inside, outside, count] of map) {
    if (outer >= outside && outer - outside < count) return inside + (outer - outside);
  }
  return -1;
}

/** The initial user namespace: every uid maps to itself, uid 0 is root. */
export const INIT_USER_NS = new UserNamespace(0, undefined, 0);

/** A capability set given as a CapSet, a bigint, a number (caps 0..31 only) or /proc hex text. */
export type CapSetLike = CapSet | bigint | string;

function toCapSet(v: CapSetLike | undefined, dflt: CapSet): CapSet {
  if (v === undefined) return dflt;
  if (v instanceof CapSet) return v;
  if (typeof v === 'bigint') return CapSet.fromBigInt(v);
  return CapSet.fromHex(v);
}

/** Everything a credential holds; every field optional (defaults: the init task's credential). */
export interface CredentialInit {
  /** [real, effective, saved, fs] uid; a single number sets all four. */
  uid?: number | readonly [number, number, number, number];
  gid?: number | readonly [number, number, number, number];
  groups?: readonly number[];
  effective?: CapSetLike;
  permitted?: CapSetLike;
  inheritable?: CapSetLike;
  bounding?: CapSetLike;
  ambient?: CapSetLike;
  securebits?: number;
  noNewPrivs?: boolean;
  userns?: UserNamespace;
}

/**
 * The fields of /proc/PID/status that make up a credential, as printed (`"0\t0\t0\t0"`,
 * `"000001ffffffffff"`) or already parsed. Keys as in the file. Securebits are not in
 * /proc/PID/status; pass them separately.
 */
export interface ProcStatusFields {
  Uid?: string | readonly number[];
  Gid?: string | readonly number[];
  Groups?: string | readonly number[];
  CapInh?: string | CapSet | bigint;
  CapPrm?: string | CapSet | bigint;
  CapEff?: string | CapSet | bigint;
  CapBnd?: string | CapSet | bigint;
  CapAmb?: string | CapSet | bigint;
  NoNewPrivs?: string | number | boolean;
}

function idQuad(v: number | readonly number[] | undefined, what: string): [number, number, number, number] {
  if (v === undefined) return [0, 0, 0, 0];
  if (typeof v === 'number') return [v >>> 0, v >>> 0, v >>> 0, v >>> 0];
  if (v.length !== 4 || v.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
    throw inputError('bad-ids', `${what} must be 4 ids (real, effective, saved, fs), got ${JSON.stringify(v)}`);
  }
  return [v[0]!, v[1]!, v[2]!, v[3]!];
}

function parseIdList(v: string | readonly number[] | undefined, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return [...v];
  const t = v.trim();
  if (t === '') return [];
  const parts = t.split(/\s+/);
  const out = parts.map(Number);
  if (out.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
    throw inputError('bad-ids', `${what}: not a list of ids: "${v}"`);
  }
  return out;
}

export class Credential {
  ruid = 0;
  euid = 0;
  suid = 0;
  fsuid = 0;
  rgid = 0;
  egid = 0;
  sgid = 0;
  fsgid = 0;
  /** Supplementary groups, sorted ascending (groups_sort()), never mutated in place. */
  groups: readonly number[] = [];
  effLo = VALID_LO;
  effHi = VALID_HI;
  prmLo = VALID_LO;
  prmHi = VALID_HI;
  inhLo = 0;
  inhHi = 0;
  bndLo = VALID_LO;
  bndHi = VALID_HI;
  ambLo = 0;
  ambHi = 0;
  /** The 12-bit securebits word (SECURE_ALL_BITS | SECURE_ALL_LOCKS). */
  securebits = 0;
  noNewPrivs = false;
  userns: UserNamespace = INIT_USER_NS;

  /** The init task's credential: ids 0, E = P = B = all 41 caps, I = A = 0, securebits 0. */
  static root(): Credential {
    return new Credential();
  }

  static from(init: CredentialInit): Credential {
    const c = new Credential();
    [c.ruid, c.euid, c.suid, c.fsuid] = idQuad(init.uid as number | readonly number[] | undefined, 'uid');
    [c.rgid, c.egid, c.sgid, c.fsgid] = idQuad(init.gid as number | readonly number[] | undefined, 'gid');
    if (init.groups) c.groups = sortedGroups(init.groups);
    c.effective = toCapSet(init.effective, CapSet.FULL);
    c.permitted = toCapSet(init.permitted, CapSet.FULL);
    c.inheritable = toCapSet(init.inheritable, CapSet.EMPTY);
    c.bounding = toCapSet(init.bounding, CapSet.FULL);
    c.ambient = toCapSet(init.ambient, CapSet.EMPTY);
    if (init.securebits !== undefined) {
      const sb = init.securebits;
      if (!Number.isInteger(sb) || sb < 0 || sb > (SECURE_ALL_BITS | SECURE_ALL_LOCKS)) {
        throw inputError('bad-securebits', `securebits must be 0..0xfff, got ${sb}`);
      }
      c.securebits = sb;
    }
    c.noNewPrivs = init.noNewPrivs ?? false;
    if (init.userns) c.userns = init.userns;
    return c;
  }

  /**
   * From /proc/PID/status fields (see ProcStatusFields) plus the securebits word, which the
   * status file does not show (read it with PR_GET_SECUREBITS or `capsh --print`).
   */
  static fromProcStatus(st: ProcStatusFields, securebits = 0): Credential {
    const uid = parseIdList(st.Uid, 'Uid');
    const gid = parseIdList(st.Gid, 'Gid');
    const nnp = st.NoNewPrivs;
    return Credential.from({
      uid: uid as [number, number, number, number] | undefined,
      gid: gid as [number, number, number, number] | undefined,
      groups: parseIdList(st.Groups, 'Groups') ?? [],
      inheritable: st.CapInh,
      permitted: st.CapPrm,
      effective: st.CapEff,
      bounding: st.CapBnd,
      ambient: st.CapAmb,
      securebits,
      noNewPrivs:
        nnp === undefined ? false : nnp === true || nnp === 1 || (typeof nnp === 'string' && nnp.trim() === '1'),
    });
  }

  /** From a status file parsed by parseProcStatus() (src/caps/procstatus.ts), plus securebits. */
  static fromStatus(st: ProcStatus, securebits = 0): Credential {
    const q = (x: ProcStatus['uid']) => [x.real, x.effective, x.saved, x.fs] as const;
    return Credential.from({
      uid: q(st.uid),
      gid: q(st.gid),
      groups: st.groups,
      inheritable: st.inheritable,
      permitted: st.permitted,
      effective: st.effective,
      bounding: st.bounding,
      ambient: st.ambient,
      securebits,
      noNewPrivs: st.noNewPrivs,
    });
  }

  /** A copy, as prepare_creds() makes one (fork, clone and every credential change). */
  clone(): Credential {
    const c = new Credential();
    c.copyFrom(this);
    return c;
  }

  copyFrom(o: Credential): void {
    this.ruid = o.ruid;
    this.euid = o.euid;
    this.suid = o.suid;
    this.fsuid = o.fsuid;
    this.rgid = o.rgid;
    this.egid = o.egid;
    this.sgid = o.sgid;
    this.fsgid = o.fsgid;
    this.groups = o.groups;
    this.effLo = o.effLo;
    this.effHi = o.effHi;
    this.prmLo = o.prmLo;
    this.prmHi = o.prmHi;
    this.inhLo = o.inhLo;
    this.inhHi = o.inhHi;
    this.bndLo = o.bndLo;
    this.bndHi = o.bndHi;
    this.ambLo = o.ambLo;
    this.ambHi = o.ambHi;
    this.securebits = o.securebits;
    this.noNewPrivs = o.noNewPrivs;
    this.userns = o.userns;
  }

  get effective(): CapSet {
    return CapSet.fromWords(this.effLo, this.effHi);
  }
  set effective(s: CapSet) {
    this.effLo = s.lo;
    this.effHi = s.hi;
  }
  get permitted(): CapSet {
    return CapSet.fromWords(this.prmLo, this.prmHi);
  }
  set permitted(s: CapSet) {
    this.prmLo = s.lo;
    this.prmHi = s.hi;
  }
  get inheritable(): CapSet {
    return CapSet.fromWords(this.inhLo, this.inhHi);
  }
  set inheritable(s: CapSet) {
    this.inhLo = s.lo;
    this.inhHi = s.hi;
  }
  get bounding(): CapSet {
    return CapSet.fromWords(this.bndLo, this.bndHi);
  }
  set bounding(s: CapSet) {
    this.bndLo = s.lo;
    this.bndHi = s.hi;
  }
  get ambient(): CapSet {
    return CapSet.fromWords(this.ambLo, this.ambHi);
  }
  set ambient(s: CapSet) {
    this.ambLo = s.lo;
    this.ambHi = s.hi;
  }

  /** cap_raised(cred->cap_effective, cap); false for numbers outside 0..40. */
  hasEffective(cap: number): boolean {
    return bitIn(this.effLo, this.effHi, cap);
  }
  hasPermitted(cap: number): boolean {
    return bitIn(this.prmLo, this.prmHi, cap);
  }
  hasInheritable(cap: number): boolean {
    return bitIn(this.inhLo, this.inhHi, cap);
  }
  hasBounding(cap: number): boolean {
    return bitIn(this.bndLo, this.bndHi, cap);
  }
  hasAmbient(cap: number): boolean {
    return bitIn(this.ambLo, this.ambHi, cap);
  }
  /** issecure(bit). */
  secure(bit: number): boolean {
    return ((this.securebits >>> bit) & 1) === 1;
  }
  /** in_group_p(): gid is the fsgid or a supplementary group. */
  inGroup(gid: number): boolean {
    return gid === this.fsgid || this.groups.includes(gid);
  }

  /** A JSON-friendly snapshot (sets as /proc-style hex). */
  toJSON(): CredentialSnapshot {
    return {
      uid: [this.ruid, this.euid, this.suid, this.fsuid],
      gid: [this.rgid, this.egid, this.sgid, this.fsgid],
      groups: [...this.groups],
      effective: this.effective.toHex(),
      permitted: this.permitted.toHex(),
      inheritable: this.inheritable.toHex(),
      bounding: this.bounding.toHex(),
      ambient: this.ambient.toHex(),
      securebits: this.securebits,
      noNewPrivs: this.noNewPrivs,
      usernsLevel: this.userns.level,
    };
  }
}

export interface CredentialSnapshot {
  uid: [number, number, number, number];
  gid: [number, number, number, number];
  groups: number[];
  effective: string;
  permitted: string;
  inheritable: string;
  bounding: string;
  ambient: string;
  securebits: number;
  noNewPrivs: boolean;
  usernsLevel: number;
}

function bitIn(lo: number, hi: number, cap: number): boolean {
  if (cap < 0 || cap > 40 || !Number.isInteger(cap)) return false;
  return cap < 32 ? ((lo >>> cap) & 1) === 1 : ((hi >>> (cap - 32)) & 1) === 1;
}

/** groups_sort(): the kernel keeps supplementary groups sorted (duplicates kept). */
export function sortedGroups(g: readonly number[]): readonly number[] {
  return Object.freeze([...g].map((x) => x >>> 0).sort((a, b) => a - b));
}
