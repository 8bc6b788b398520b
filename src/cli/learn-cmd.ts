/** capctl learn: the capabilities a command really needs, from the kernel's own checks, verified by running. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../caps/errors.js';
import type { Format } from '../container/formats.js';
import { lookupGroup, lookupUser } from '../live/ids.js';
import { containerPids, type LearnOptions, learn, observe, profileYaml } from '../live/learn.js';
import { removalsSettled } from '../sys/tracefs.js';
import { formatTable, printJson } from './output.js';
import type { ExportReport } from './profile-format-cmd.js';

interface LearnCliOpts {
  pid?: string;
  container?: string;
  duration?: string;
  out?: string;
  audit?: string;
  user?: string;
  group?: string;
  name: string;
  verify: boolean;
  format?: string;
  lossy?: boolean;
  json?: boolean;
}

/**
 * The learnt profile in a `profile export` format, through the same loader and exporter: the
 * YAML is loaded back as any profile file is (validated, compiled), so the export is exactly
 * what `capctl profile export --format F` prints for the file --out writes.
 */
async function exportLearnt(
  yamlText: string,
  outPath: string | undefined,
  format: Format,
  lossy: boolean,
): Promise<ExportReport> {
  // Imported here: the container formats are learn's only with --format.
  const [{ containerProfile }, { exportReport }, { loadProfile }] = await Promise.all([
    import('../container/compile.js'),
    import('./profile-format-cmd.js'),
    import('../policy/index.js'),
  ]);
  if (outPath !== undefined) return exportReport(containerProfile(loadProfile(outPath)), format, lossy);
  const dir = mkdtempSync(join(tmpdir(), 'capctl-learn-export-'));
  try {
    const file = join(dir, 'learnt.yaml');
    writeFileSync(file, yamlText, { mode: 0o600 });
    return exportReport(containerProfile(loadProfile(file)), format, lossy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function register(program: Command): void {
  program
    .command('learn')
    .description('run a command, record every capability check the kernel makes for it, and write the minimal profile')
    .argument('[CMD...]', 'the command and its arguments (after --)')
    .option('--pid <PID>', 'instead of CMD: observe this running process and its descendants')
    .option('--container <ID>', 'instead of CMD: observe the processes of this container (id or prefix)')
    .option('--duration <S>', 'with --pid/--container: observe for S seconds (SIGINT/SIGTERM end early)')
    .option('--out <PROFILE>', 'write the learnt profile (YAML) here, atomically')
    .option('--audit <LOG>', 'append one audit record per capability check to LOG')
    .option('--user <U>', 'learn for this user: the command runs as U with every capability ambient')
    .option('--group <G>', 'with --user: this gid')
    .option('--name <NAME>', 'name of the learnt profile', 'learnt')
    .option('--no-verify', 'only trace: list the candidates without re-running the command')
    .option(
      '--format <F>',
      'print the learnt profile as profile export does: oci, podman, docker, compose, k8s or systemd',
    )
    .option('--lossy', 'with --format: print the export even when the format cannot express the whole profile')
    .option(
      '--json',
      'print the result as JSON (with --format: the export in member "export"); the command\'s own stdout then goes to stderr',
    )
    .addHelpText(
      'after',
      `
The command runs once under a private tracefs instance (capability:cap_capable and
raw_syscalls for its process tree only), then again under capctl exec with each candidate
capability removed in turn: the profile keeps exactly those whose absence makes it fail.
The command must behave the same on every run (exit status 0 when traced).
Needs root and the cap_capable tracepoint (Linux 6.14+; before 6.14, kprobe_events on x86-64 instead).

Examples:
  capctl learn -- ping -c1 127.0.0.1
  capctl learn --out nice.yaml -- nice -n -5 true
  capctl learn --audit learn.log --json -- chown 1:1 server
  capctl learn --pid $$ --duration 1 --out observed.yaml
  capctl learn --format podman -- ping -c1 127.0.0.1
  capctl learn --pid $$ --duration 1 --format k8s

--format prints the learnt profile in a container format instead of the table (the summary
goes to stderr), exactly as capctl profile export --format F prints it for the --out file;
what the format cannot express makes the exit status 1 unless --lossy.

With --pid or --container nothing can be re-run: the result lists the candidates (granted
checks in syscalls that succeeded), marked unverified.`,
    )
    .action(async (argv: string[], o: LearnCliOpts) => {
      if (!/^[a-z0-9][a-z0-9._-]*$/i.test(o.name))
        throw inputError('bad-name', `--name "${o.name}" is not a profile name`);
      const observing = o.pid !== undefined || o.container !== undefined;
      if (observing && argv.length > 0) throw inputError('usage', 'give CMD or --pid/--container, not both');
      if (observing && o.duration === undefined) throw inputError('usage', '--pid/--container need --duration S');
      if (!observing && argv.length === 0)
        throw inputError('usage', 'no command given (capctl learn [options] -- CMD ARGS)');
      // Checked before anything runs: a bad --format must not cost a traced run.
      const format =
        o.format !== undefined ? (await import('../container/convert.js')).checkFormat(o.format) : undefined;
      const opts: LearnOptions = { argv, verify: o.verify };
      // Machine-read output: the command's own stdout must not run into the JSON or the export.
      if (o.json || format !== undefined) opts.stdio = 'stderr';
      if (o.user !== undefined) {
        const u = lookupUser(o.user);
        opts.uid = u.uid;
        if (u.gid !== undefined) opts.gid = u.gid;
      }
      if (o.group !== undefined) opts.gid = lookupGroup(o.group);
      // The audit writer (and pino with it) only for --audit: it is not learn's common case.
      const writer = o.audit ? (await import('../audit/writer.js')).createAuditWriter({ dest: o.audit }) : undefined;
      if (writer) opts.audit = writer;
      let r: Awaited<ReturnType<typeof learn>>;
      try {
        if (observing) {
          if (!/^\d+(\.\d+)?$/.test(o.duration!))
            throw inputError('bad-number', `--duration wants seconds, not "${o.duration}"`);
          let pids: number[];
          if (o.pid !== undefined) {
            if (!/^\d+$/.test(o.pid)) throw inputError('bad-pid', `--pid wants a number, not "${o.pid}"`);
            pids = [Number(o.pid)];
          } else pids = containerPids(o.container!);
          if (pids.length === 0) throw inputError('no-process', `no process of container ${o.container} is running`);
          r = await observe({ pids, durationMs: Number(o.duration) * 1000, ...(writer ? { audit: writer } : {}) });
        } else r = await learn(opts);
      } finally {
        writer?.close();
      }
      const caps = r.needed ?? r.candidates;
      const yamlText = profileYaml(o.name, caps, [
        observing
          ? `capctl learn ${o.pid !== undefined ? `--pid ${o.pid}` : `--container ${o.container}`} --duration ${o.duration}`
          : `capctl learn -- ${argv.join(' ')}`,
        r.verified
          ? 'verified: the command succeeds with these and fails without any one of them'
          : `NOT verified: ${r.note ?? 'verification skipped'}`,
      ]);
      let outPath: string | undefined;
      if (o.out) {
        outPath = resolve(o.out);
        // The profile layer (yaml, ajv) is loaded only now: while the command runs it is not
        // needed, and loading it first would add its start-up to the traced run's wall time.
        const { atomicWrite } = await import('../policy/index.js');
        atomicWrite(dirname(outPath), outPath.slice(dirname(outPath).length + 1), yamlText);
      }
      const exported = format ? await exportLearnt(yamlText, outPath, format, o.lossy === true) : undefined;
      const summary =
        `${r.checks} check(s); exit status ${r.exitStatus}; ${r.runs.length} verification run(s)\n` +
        `${r.verified ? 'minimal' : 'unverified'} set: ${caps.length ? caps.join(', ') : '(none)'}\n`;
      if (o.json) printJson(exported ? { ...r, export: exported } : r);
      else if (exported) process.stderr.write(summary);
      else {
        const rows = r.findings.map((f) => [
          f.name,
          String(f.granted),
          String(f.denied),
          Object.entries(f.classes)
            .map(([k, v]) => `${k}:${v}`)
            .join(' '),
          f.syscalls.join(' ') || '-',
          r.needed ? (r.needed.includes(f.name) ? 'needed' : '-') : f.classes.candidate ? 'candidate' : '-',
        ]);
        process.stdout.write(
          `${formatTable(['CAP', 'GRANTED', 'DENIED', 'CLASSES', 'SYSCALLS', 'RESULT'], rows)}\n${summary}`,
        );
      }
      if (r.note) process.stderr.write(`capctl: ${r.note}\n`);
      if (exported) (await import('./profile-format-cmd.js')).finishExport(exported, o.json);
      // The tracing instance is removed while the result prints; its removal must have worked.
      await removalsSettled();
      if (r.lost.overrun + r.lost.dropped > 0 || (!observing && opts.verify !== false && !r.verified)) {
        process.exitCode = 1;
      }
    });
}
