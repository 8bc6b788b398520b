/**
 * One line of tracefs text output (trace / trace_pipe) with the options capctl sets on its
 * instances: record-tgid on, irq-info off:
 *
 *   "           chown-23648   (  23648) [000]    868.819190: cap_capable: cred 0000000041e4b6ff, ..."
 *
 * comm is resolved when the line is read, not when the event happened (so an event before an
 * execve may show the new program's name). The tgid is "-------" when the kernel did not record
 * it. Payloads of the three events capctl uses are parsed further; pointers print hashed (%p),
 * so only "NULL or not" is meaningful for capable_ns.
 */
export interface TraceLine {
  comm: string;
  tid: number;
  /** -1 when not recorded. */
  tgid: number;
  cpu: number;
  /** Seconds since boot, as printed. */
  ts: number;
  event: string;
  payload: string;
}

const LINE = /^\s*(.*?)-(\d+)\s+\(\s*([-\d]+)\)\s+\[(\d+)\]\s+(\d+\.\d+): (\w+): (.*)$/;

export function parseTraceLine(line: string): TraceLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return {
    comm: m[1]!,
    tid: Number(m[2]),
    tgid: m[3]!.startsWith('-') ? -1 : Number(m[3]),
    cpu: Number(m[4]),
    ts: Number(m[5]),
    event: m[6]!,
    payload: m[7]!,
  };
}

export interface CapCapable {
  /** The credential's address, hashed: stable for one credential, new after any change to it. */
  cred: string;
  cap: number;
  /** 0: the credential has it; negative errno (-EPERM) otherwise. */
  ret: number;
  /** capable_ns printed as all zeros: no namespace granted it (always so when ret != 0). */
  capableNsNull: boolean;
}

const CAP_CAPABLE = /^cred (\w+), .*capable_ns (\w+), cap (-?\d+), ret (-?\d+)/;

export function parseCapCapable(payload: string): CapCapable | undefined {
  const m = CAP_CAPABLE.exec(payload);
  if (!m) return undefined;
  return {
    cred: m[1]!,
    cap: Number(m[3]),
    ret: Number(m[4]),
    capableNsNull: /^0+$/.test(m[2]!) || m[2] === '(null)',
  };
}

/** raw_syscalls:sys_enter "NR 41 (2, 3, 1, ...)" — the number and the six raw args (hex). */
export function parseSysEnter(payload: string): { nr: number; args: string[] } | undefined {
  const m = /^NR (-?\d+) \((.*)\)$/.exec(payload);
  if (!m) return undefined;
  return { nr: Number(m[1]), args: m[2]!.split(', ') };
}

/** raw_syscalls:sys_exit "NR 41 = -13". */
export function parseSysExit(payload: string): { nr: number; ret: number } | undefined {
  const m = /^NR (-?\d+) = (-?\d+)$/.exec(payload);
  if (!m) return undefined;
  return { nr: Number(m[1]), ret: Number(m[2]) };
}
