#!/usr/bin/env node
/**
 * capctl entry point: builds the commander program from the registry and runs it. Errors from
 * commands arrive here as values (CapctlError) and leave as one line plus an exit code.
 * (bin/capctl.js starts `capctl audit ...` through audit-main.ts instead, which loads only the
 * audit commands.)
 */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import { rootProgram, runProgram } from './program.js';

export function buildProgram(): Command {
  return rootProgram(COMMANDS);
}

export async function main(argv: string[]): Promise<void> {
  await runProgram(buildProgram(), argv);
}
