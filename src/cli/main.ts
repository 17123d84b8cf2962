#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * `pvl` — the Provenance Ledger command line. Each command lives in commands/<name>.ts and
 * registers itself on the program; errors become one readable line and a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.js';
import { reportError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('pvl')
    .description('Provenance Ledger: a transparency log for consent to, and use of, creative works in AI training')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.exitCode = reportError(err);
  }
}

await main(process.argv);
