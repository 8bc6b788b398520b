import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { CapSet } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import { formatCapText, type ParsedCapText, parseCapText } from '../caps/text.js';
import { printJson } from './output.js';

interface TextOpts {
  json?: boolean;
  keepGoing?: boolean;
  effective?: string;
  permitted?: string;
  inheritable?: string;
}

function toJson(input: string, parsed: ParsedCapText) {
  return {
    input,
    text: formatCapText(parsed, parsed.beyond),
    effective: parsed.effective.toHex(),
    permitted: parsed.permitted.toHex(),
    inheritable: parsed.inheritable.toHex(),
  };
}

export function register(program: Command): void {
  program
    .command('text')
    .description("parse libcap capability text and print libcap's canonical form (cap_to_text)")
    .argument('[TEXT...]', 'capability texts, e.g. "cap_net_raw+ep"; "-" reads one text per line from stdin')
    .option('--json', 'print JSON with the canonical text and the three sets as hex')
    .option(
      '-k, --keep-going',
      'do not stop at a bad TEXT: report it on stderr, print an empty line (JSON: an "error" entry) and exit 2 at the end',
    )
    .option('--effective <HEX>', 'format sets given as hex instead of parsing text (see /proc/PID/status)')
    .option('--permitted <HEX>', 'permitted set as hex (with --effective/--inheritable)')
    .option('--inheritable <HEX>', 'inheritable set as hex (with --effective/--permitted)')
    .addHelpText(
      'after',
      `
Grammar (cap_text_formats(7)): clauses separated by spaces, each "caps OP flags", where caps is
a comma list of names (cap_chown, CAP_NET_RAW; any case), numbers (C literals: 013 is 11, 0x1f
is 31) or "all"; OP is = + -; flags are e, i, p. A clause may chain: cap_x+p-i.

Examples:
  capctl text 'cap_net_raw,cap_net_admin+ep'      # cap_net_admin,cap_net_raw=ep
  capctl text 'all=eip cap_sys_admin-e' =ep
  printf 'cap_chown+p\\n=ep\\n' | capctl text -
  printf 'cap_chown+p\\nbogus\\n' | capctl text -k -    # cap_chown=p, then an empty line; exit 2
  capctl text --permitted 3000 --effective 2000    # cap_net_raw=ep cap_net_admin+p`,
    )
    .action(async (texts: string[], opts: TextOpts) => {
      if (opts.effective !== undefined || opts.permitted !== undefined || opts.inheritable !== undefined) {
        if (texts.length > 0)
          throw inputError('usage', 'give either TEXT arguments or --effective/--permitted/--inheritable, not both');
        const sets = {
          effective: CapSet.fromHex(opts.effective ?? '0'),
          permitted: CapSet.fromHex(opts.permitted ?? '0'),
          inheritable: CapSet.fromHex(opts.inheritable ?? '0'),
        };
        const text = formatCapText(sets);
        if (opts.json) printJson({ text, ...Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, v.toHex()])) });
        else process.stdout.write(`${text}\n`);
        return;
      }
      if (texts.length === 0)
        throw inputError('usage', 'no TEXT given (try: capctl text cap_net_raw+ep, or "-" to read stdin)');
      const results: (ReturnType<typeof toJson> | { input: string; error: string })[] = [];
      let out = '';
      let failures = 0;
      const emit = (input: string, where: string) => {
        let parsed: ParsedCapText;
        try {
          parsed = parseCapText(input);
        } catch (err) {
          const message = `${where}${(err as Error).message}`;
          if (opts.keepGoing) {
            // The canonical form is never empty ("=" is the empty set), so an empty line
            // marks the failure and keeps stdout aligned with the input lines.
            failures++;
            process.stderr.write(`capctl: ${message}\n`);
            if (opts.json) results.push({ input, error: message });
            else out += '\n';
            return;
          }
          if (out) process.stdout.write(out);
          out = '';
          throw inputError('bad-cap-text', message);
        }
        if (opts.json) results.push(toJson(input, parsed));
        else {
          out += `${formatCapText(parsed, parsed.beyond)}\n`;
          if (out.length > 65536) {
            process.stdout.write(out);
            out = '';
          }
        }
      };
      for (const t of texts) {
        if (t === '-') {
          let n = 0;
          for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
            n++;
            emit(line, `stdin line ${n}: `);
          }
        } else {
          emit(t, texts.length > 1 ? `argument "${t}": ` : '');
        }
      }
      if (opts.json) printJson(results);
      else process.stdout.write(out);
      if (failures > 0) process.exitCode = 2;
    });
}
