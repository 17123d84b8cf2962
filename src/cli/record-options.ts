/** Options and output shared by the commands that submit records. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { trustPolicyFrom } from '../client/index.js';
import { nodeEd25519Verify } from '../platform/node-signer.js';
import { addTrustOptions } from './evidence.js';
import { isInlineVerifierKey } from './keys.js';
import { UsageError } from './output.js';
import type { SubmitExtras, SubmitResult } from './submit.js';

export interface ServerOpts {
  server: string;
  vkey?: string;
  proofOut?: string;
  json?: boolean;
  witness?: string[];
  quorum?: string;
  policy?: string;
  receipts: string;
}

/** Reads --vkey as inline key or file. */
function vkeyArg(v: string): string {
  return isInlineVerifierKey(v) ? v.trim() : readFileSync(v, 'utf8').trim();
}

export function serverOptions(cmd: Command): Command {
  cmd
    .option('--server <url>', 'ledger server URL', process.env.PVL_SERVER ?? 'http://127.0.0.1:8080')
    .option('--vkey <vkey>', 'log verifier key or file (default: fetched from /log/vkey — trust on first use)', vkeyArg)
    .option('--proof-out <file>', 'where to save the proof (default ./proofs/<index>.json)')
    .option('--receipts <dir>', 'where receipts are kept, for pvl receipts check', 'receipts')
    .option('--json', 'machine-readable output');
  return addTrustOptions(cmd);
}

/**
 * The witness policy (TRUST flags) the answer's checkpoint must meet, and the receipts directory.
 * Witnesses cosign one log key: with --witness it must be pinned (--vkey), not fetched.
 */
export async function submitExtras(opts: ServerOpts): Promise<SubmitExtras> {
  if (opts.witness?.length && opts.vkey === undefined) throw new UsageError('--witness needs --vkey: the log key the witnesses cosign must be pinned, not fetched');
  if (opts.quorum !== undefined && !/^[0-9]{1,4}$/.test(opts.quorum)) throw new UsageError(`--quorum must be a whole number, got ${JSON.stringify(opts.quorum)}`);
  const policyText = opts.policy === undefined ? undefined : await readFile(opts.policy, 'utf8');
  const witnesses = (opts.witness ?? []).map((w) => (w.includes('@') ? w.slice(0, w.indexOf('@')) : w));
  const policy = trustPolicyFrom({ vkey: opts.vkey, witnesses, quorum: opts.quorum === undefined ? undefined : Number(opts.quorum), policyText }, nodeEd25519Verify);
  return { ...(policy ? { policy } : {}), receipts: opts.receipts };
}

/**
 * Said before signing a record that may carry personal data (spec/cli.md, "Public records"): the
 * log cannot forget, so the author hears what this record makes public before it is signed.
 */
export function notePublicRecord(what: string, publishes: string[]): void {
  process.stderr.write(`pvl: note: log records are public and permanent; this ${what} record publishes ${publishes.join(', ')}\n`);
}

export function printSubmitted(what: string, r: SubmitResult): void {
  const dup = r.duplicate ? ' (already in the log)' : '';
  console.log(`${what} record at index ${r.index}${dup}, included in checkpoint of size ${r.treeSize} (proof verified)\nleaf hash ${r.leafHash}\nproof saved to ${r.proofFile}${r.receiptFile ? `\nreceipt kept in ${r.receiptFile}` : ''}`);
}
