/** Options and output shared by the commands that submit records. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { isInlineVerifierKey } from './keys.js';
import type { SubmitResult } from './submit.js';

export interface ServerOpts {
  server: string;
  vkey?: string;
  proofOut?: string;
  json?: boolean;
}

/** Reads --vkey as inline key or file. */
function vkeyArg(v: string): string {
  return isInlineVerifierKey(v) ? v.trim() : readFileSync(v, 'utf8').trim();
}

export function serverOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'ledger server URL', process.env.PVL_SERVER ?? 'http://127.0.0.1:8080')
    .option('--vkey <vkey>', 'log verifier key or file (default: fetched from /log/vkey — trust on first use)', vkeyArg)
    .option('--proof-out <file>', 'where to save the proof (default ./proofs/<index>.json)')
    .option('--json', 'machine-readable output');
}

export function printSubmitted(what: string, r: SubmitResult): void {
  const dup = r.duplicate ? ' (already in the log)' : '';
  console.log(`${what} record at index ${r.index}${dup}, included in checkpoint of size ${r.treeSize} (proof verified)\nleaf hash ${r.leafHash}\nproof saved to ${r.proofFile}`);
}
