/** capctl audit follow: the kernel's capability refusals on this host, live, as audit records. */
import type { Command } from 'commander';
import { createAuditWriter } from '../audit/writer.js';
import { capByName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';

interface FollowCliOpts {
  out?: string;
  container?: string;
  cap?: string;
  comm?: string;
  rate: string;
  bufferKb: string;
  duration?: string;
  stateDir?: string;
  json?: boolean;
}

function parseCap(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : capByName(text);
  if (n === undefined) throw inputError('bad-cap', `--cap: unknown capability "${text}"`);
  return n;
}

function positive(text: string, what: string, zeroOk = false): number {
  if (!/^\d+(\.\d+)?$/.test(text) || (!zeroOk && Number(text) === 0)) {
    throw inputError('bad-number', `${what} wants a ${zeroOk ? 'non-negative' : 'positive'} number, not "${text}"`);
  }
  return Number(text);
}

export function registerFollow(audit: Command): void {
  audit
    .command('follow')
    .description(
      'record every capability the kernel refuses on this host (tracefs), enriched with process and container',
    )
    .option('--out <LOG>', 'append records to LOG (default: stdout)')
    .option('--container <ID>', 'only processes of this container (id or id prefix)')
    .option('--cap <CAP>', 'only this capability (filtered in the kernel)')
    .option('--comm <NAME>', 'only tasks with this name (filtered in the kernel)')
    .option('--rate <N>', 'at most N records per second per syscall/cap/verdict; 0 = unlimited', '100')
    .option('--buffer-kb <N>', 'per-CPU trace buffer size in KiB', '8192')
    .option('--duration <S>', 'stop after S seconds (default: until SIGINT/SIGTERM)')
    .option('--state-dir <DIR>', 'bindings, to name the profile of each container')
    .option('--json', 'print the closing counts as JSON on stderr')
    .addHelpText(
      'after',
      `
Each refusal is one record (verdict "denied", stage "kernel", no syscall: the tracepoint does
not name it, and tracing every syscall host-wide would slow every process) with comm,
exe, euid, and the container id from /proc/PID/cgroup (podman, docker, containerd, CRI-O) and
the profile attached to it. Lost events are counted from the per-CPU trace buffers and written
as "verdict":"lost" records. Stops cleanly on SIGINT/SIGTERM and removes its tracing instance.
Needs root and the capability:cap_capable tracepoint (Linux 6.14+; before 6.14, kprobe_events on x86-64 instead).

Examples:
  capctl audit follow --out denials.log --duration 2
  capctl audit follow --cap CAP_NET_RAW --duration 1
  capctl audit follow --container 3f2a9c --out web.log --duration 1 && capctl audit summary web.log`,
    )
    .action(async (o: FollowCliOpts) => {
      const rate = positive(o.rate, '--rate', true);
      const bufferKb = positive(o.bufferKb, '--buffer-kb');
      // Loaded here, not with the module: the other audit commands start without them.
      const [{ Follower }, { resolveStateDir }] = await Promise.all([
        import('../live/follow.js'),
        import('../policy/index.js'),
      ]);
      const writer = createAuditWriter({ dest: o.out ?? '-', ratePerSecond: rate });
      // The handlers go in before the Follower makes its instance and any kprobes: until then a
      // signal's default action would end capctl with them left in tracefs. Node runs a handler
      // from its event loop, so never before the constructor has returned; Follower.stop()
      // before run() is recording ends the run as soon as it is.
      let follower: InstanceType<typeof Follower> | undefined;
      const stop = () => follower?.stop();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        follower = new Follower({
          writer,
          ...(o.cap !== undefined ? { cap: parseCap(o.cap) } : {}),
          ...(o.comm !== undefined ? { comm: o.comm } : {}),
          ...(o.container !== undefined ? { container: o.container } : {}),
          stateDir: resolveStateDir({ stateDir: o.stateDir }),
          bufferKb,
          ...(o.duration !== undefined ? { durationMs: positive(o.duration, '--duration') * 1000 } : {}),
        });
        const s = await follower.run();
        writer.close();
        if (o.json) process.stderr.write(`${JSON.stringify(s)}\n`);
        else {
          process.stderr.write(
            `capctl: ${s.events} refusal(s) in ${s.seconds.toFixed(1)} s, ${s.written} written, ${s.suppressed} rate-limited, ${s.lost} lost\n`,
          );
        }
        if (s.lost > 0) process.exitCode = 1;
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
    });
}
