/**
 * Capability records other tools and the kernel already log, as capctl audit records:
 *   - AppArmor:  apparmor="DENIED" operation="capable" ... pid=N comm="x" capability=23
 *   - SELinux:   avc:  denied  { net_raw } for  pid=N comm="x" capability=13 ... tclass=capability
 *   - auditd (kernel/auditsc.c, raw format of /var/log/audit/audit.log):
 *       type=SYSCALL ... syscall=N success=no exit=-1 ... pid=N ... euid=N ... comm="x" exe="/p"
 *         -> a denied record (exit -1 is -EPERM, the capability failure's errno);
 *       type=CAPSET ... pid=N cap_pi= cap_pp= cap_pe= cap_pa=
 *         -> an allowed `capset` record with the new sets;
 *       type=BPRM_FCAPS ... fver= fp= fi= fe= old_pp= ... pp= pi= pe= pa= frootid=
 *         -> an allowed `execve` record with the sets before and after.
 *     An event's records share the serial in msg=audit(TIME:SERIAL), and the kernel writes the
 *     SYSCALL record first, so CAPSET and BPRM_FCAPS take pid, comm and exe from it. Every record
 *     of a process then carries the same tgid/comm/exe and `audit query --pid/--comm` shows its
 *     capability history.
 * Other auditd record types (PATH, CWD, PROCTITLE, EOE, ...) are recognised and passed over.
 */
import { CapSet } from '../caps/capset.js';
import { capByName, capInfo } from '../caps/catalog.js';
import { syscallNameOf } from '../caps/syscall-names.js';
import { formatCapText } from '../caps/text.js';
import type { AuditRecord } from './record.js';

const APPARMOR =
  /apparmor="(DENIED|ALLOWED)"\s+operation="capable".*?\bpid=(\d+).*?\bcomm="([^"]*)".*?\bcapability=(\d+)/;
const SELINUX =
  /avc:\s+denied\s+\{\s*([a-z_0-9 ]+?)\s*\}\s+for\s+pid=(\d+)\s+comm="([^"]*)".*?\btclass=(cap_userns|cap2_userns|capability2?)\b(?:.*?permissive=(\d))?/;
const AUDIT_TIME = /audit\((\d+)(?:\.(\d+))?:(\d+)\)/;
/** An auditd line: optional node=, then type=NAME msg=audit(...): */
const AUDITD = /^(?:node=\S+\s+)?type=([A-Z_0-9]+)\s+msg=audit\((\d+)(?:\.(\d+))?:(\d+)\):\s*(.*)$/;
const FIELD = /([a-z_0-9]+)=("[^"]*"|\S+)/g;
const AUDIT_ARCH_X86_64 = 'c000003e';
const KERNEL_STAGE = 'kernel-audit';

function auditTime(sec: string, frac: string | undefined): string {
  const ms = Number(sec) * 1000 + Number((frac ?? '0').padEnd(3, '0').slice(0, 3));
  // audit(99999999999999…) is past what a Date holds (toISOString throws a RangeError): such a
  // stamp says no time, as a line without one does (found by test/fuzz).
  return new Date(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : 0).toISOString();
}

function lineTime(line: string): string {
  const m = AUDIT_TIME.exec(line);
  return m ? auditTime(m[1]!, m[2]) : new Date(0).toISOString();
}

function syscallName(arch: string | undefined, nr: number): string {
  if (arch !== AUDIT_ARCH_X86_64) return `syscall#${nr}`;
  return syscallNameOf(nr) ?? `syscall#${nr}`;
}

/** auditd writes comm/exe quoted, or hex-encoded when they hold a space, quote or control byte. */
function untrusted(v: string | undefined): string | undefined {
  if (v === undefined || v === '(null)') return undefined;
  if (v.startsWith('"')) return v.slice(1, -1);
  if (/^(?:[0-9A-F]{2})+$/.test(v)) return Buffer.from(v, 'hex').toString('utf8');
  return v;
}

/** A kernel mask field ("0" or 16 hex digits) in the schema's form: lower-case hex. */
function mask(v: string | undefined): string {
  const t = (v ?? '0').toLowerCase().replace(/^0+(?=.)/, '');
  return /^[0-9a-f]{1,16}$/.test(t) ? t : '0';
}

function capText(pi: string, pp: string, pe: string, pa: string): string {
  const text = formatCapText({
    effective: CapSet.fromHex(pe),
    permitted: CapSet.fromHex(pp),
    inheritable: CapSet.fromHex(pi),
  });
  const amb = CapSet.fromHex(pa).toNames();
  return amb.length ? `${text} ambient=${amb.join(',').toLowerCase()}` : text;
}

interface SyscallContext {
  serial: string;
  pid: number;
  euid?: number;
  comm?: string;
  exe?: string;
  syscall: string;
}

/** Parses kernel and LSM lines; keeps the last few SYSCALL records to attribute CAPSET/BPRM_FCAPS. */
export class KernelLineParser {
  private readonly recent = new Map<string, SyscallContext>();
  /**
   * Lines whose reading depends on earlier lines or changes how later ones read (SYSCALL,
   * CAPSET, BPRM_FCAPS share context by serial). A log read in segments on two threads must
   * read a segment holding any such line again, in order (see reader.ts).
   */
  contextual = 0;

  /** Records from one line; 'other' for a recognised line that holds none; undefined when unknown. */
  parse(line: string): AuditRecord[] | 'other' | undefined {
    const a = AUDITD.exec(line);
    if (a) {
      const out = this.auditd(a[1]!, auditTime(a[2]!, a[3]), a[4]!, a[5]!);
      if (out) return out;
      // An AVC record carries AppArmor or SELinux text; fall through to those.
      if (a[1] !== 'AVC' && a[1] !== 'USER_AVC' && a[1] !== 'APPARMOR_DENIED' && a[1] !== 'APPARMOR_ALLOWED')
        return 'other';
    }
    return lsm(line);
  }

  private auditd(type: string, time: string, serial: string, body: string): AuditRecord[] | undefined {
    if (type !== 'SYSCALL' && type !== 'CAPSET' && type !== 'BPRM_FCAPS') return undefined;
    this.contextual++;
    const f: Record<string, string> = {};
    for (const m of body.matchAll(FIELD)) f[m[1]!] = m[2]!;
    if (type === 'SYSCALL') {
      const ctx: SyscallContext = {
        serial,
        pid: Number(f.pid ?? 0),
        syscall: syscallName(f.arch, Number(f.syscall ?? -1)),
      };
      if (f.euid !== undefined) ctx.euid = Number(f.euid);
      const comm = untrusted(f.comm);
      if (comm !== undefined) ctx.comm = comm;
      const exe = untrusted(f.exe);
      if (exe !== undefined) ctx.exe = exe;
      this.recent.set(serial, ctx);
      if (this.recent.size > 64) this.recent.delete(this.recent.keys().next().value as string);
      // exit=-1 is -EPERM, the errno of a missing capability; ausearch -i prints it as EPERM(...).
      if (f.success !== 'no' || !(f.exit === '-1' || f.exit?.startsWith('EPERM'))) return [];
      return [
        this.record(ctx, time, {
          verdict: 'denied',
          syscall: ctx.syscall,
          errno: 'EPERM',
          reason: `${ctx.syscall} failed with EPERM (auditd SYSCALL record ${serial})`,
        }),
      ];
    }
    const ctx = this.recent.get(serial);
    if (type === 'CAPSET') {
      const sets = { pi: mask(f.cap_pi), pp: mask(f.cap_pp), pe: mask(f.cap_pe), pa: mask(f.cap_pa) };
      const pid = Number(f.pid ?? ctx?.pid ?? 0);
      return [
        this.record({ ...ctx, serial, pid, syscall: 'capset' }, time, {
          verdict: 'allowed',
          syscall: 'capset',
          errno: '',
          op: capText(sets.pi, sets.pp, sets.pe, sets.pa),
          reason: `capset changed the thread's sets (auditd CAPSET record ${serial})`,
          sets,
        }),
      ];
    }
    // BPRM_FCAPS; kernels before ambient capabilities wrote new_pp/new_pi/new_pe and no pa.
    const sets: Record<string, string> = {
      fp: mask(f.fp),
      fi: mask(f.fi),
      fe: mask(f.fe),
      old_pp: mask(f.old_pp),
      old_pi: mask(f.old_pi),
      old_pe: mask(f.old_pe),
      old_pa: mask(f.old_pa),
      pp: mask(f.pp ?? f.new_pp),
      pi: mask(f.pi ?? f.new_pi),
      pe: mask(f.pe ?? f.new_pe),
      pa: mask(f.pa),
    };
    return [
      this.record(ctx ?? { serial, pid: 0, syscall: 'execve' }, time, {
        verdict: 'allowed',
        syscall: ctx?.syscall ?? 'execve',
        errno: '',
        op: capText(sets.pi!, sets.pp!, sets.pe!, sets.pa!),
        reason: `exec applied file capabilities (auditd BPRM_FCAPS record ${serial}${ctx ? '' : ', no SYSCALL record seen'})`,
        sets,
      }),
    ];
  }

  private record(
    ctx: SyscallContext,
    time: string,
    r: Pick<AuditRecord, 'verdict' | 'syscall' | 'errno' | 'reason'> & Partial<AuditRecord>,
  ): AuditRecord {
    const rec: AuditRecord = { time, host: 'linux', stage: KERNEL_STAGE, tid: ctx.pid, tgid: ctx.pid, ...r };
    if (ctx.euid !== undefined) rec.euid = ctx.euid;
    if (ctx.comm !== undefined) rec.comm = ctx.comm;
    if (ctx.exe !== undefined) rec.exe = ctx.exe;
    return rec;
  }
}

function lsm(t: string): AuditRecord[] | undefined {
  let m = APPARMOR.exec(t);
  if (m) {
    const cap = Number(m[4]);
    return [
      {
        time: lineTime(t),
        verdict: m[1] === 'DENIED' ? 'denied' : 'complain',
        host: 'linux',
        syscall: 'capable',
        cap: capInfo(cap)?.name ?? `CAP_${cap}`,
        capNumber: cap,
        errno: m[1] === 'DENIED' ? 'EPERM' : '',
        stage: 'apparmor',
        reason: 'AppArmor profile lacks the capability rule',
        tid: Number(m[2]),
        tgid: Number(m[2]),
        comm: m[3] ?? '',
      },
    ];
  }
  m = SELINUX.exec(t);
  if (m) {
    const out: AuditRecord[] = [];
    const high = m[4] === 'capability2' || m[4] === 'cap2_userns';
    for (const perm of (m[1] ?? '').split(/\s+/)) {
      const cap = capByName(perm);
      if (cap === undefined || cap >= 32 !== high) continue;
      out.push({
        time: lineTime(t),
        verdict: m[5] === '1' ? 'complain' : 'denied',
        host: 'linux',
        syscall: 'capable',
        cap: capInfo(cap)?.name ?? `CAP_${cap}`,
        capNumber: cap,
        errno: m[5] === '1' ? '' : 'EPERM',
        stage: 'selinux',
        reason: `SELinux policy denies ${m[4]} ${perm}`,
        tid: Number(m[2]),
        tgid: Number(m[2]),
        comm: m[3] ?? '',
      });
    }
    return out.length ? out : undefined;
  }
  return undefined;
}
