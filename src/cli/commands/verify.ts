/**
 * `pvl verify FILE --vkey VKEY`: offline verification of a proof bundle, a saved record proof
 * (pvl consent grant etc.), or a C2SP tlog-proof file with --entry/--leaf-hash.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PROOF_BUNDLE_TYPE, TLOG_PROOF_HEADER, verifyBundle, verifyTlogProof } from '../../client/index.js';
import { LedgerError } from '../../errors.js';
import { defaultHasher } from '../../merkle/index.js';
import { fromBase64, fromHex, parseRecord, toHex } from '../../records/index.js';
import { readVerifierKey } from '../keys.js';
import { printJson, UsageError, colour } from '../output.js';

interface VerifyOpts {
  vkey: string;
  entry?: string;
  leafHash?: string;
  json?: boolean;
}

async function leafHashOf(opts: VerifyOpts): Promise<Uint8Array> {
  if (opts.leafHash) return fromHex(opts.leafHash) ?? (() => { throw new UsageError('--leaf-hash must be 64 hex digits'); })();
  if (opts.entry) return defaultHasher.hashLeaf(new Uint8Array(await readFile(opts.entry)));
  throw new UsageError('a tlog-proof file needs --entry FILE or --leaf-hash HEX');
}

export async function verifyFile(path: string, opts: VerifyOpts): Promise<Record<string, unknown>> {
  const verifier = await readVerifierKey(opts.vkey);
  const text = await readFile(path, 'utf8');
  if (text.startsWith(TLOG_PROOF_HEADER)) {
    const r = verifyTlogProof(text, await leafHashOf(opts), verifier);
    return { kind: 'tlog-proof', index: r.index, treeSize: r.checkpoint.size };
  }
  let json: { type?: string; tlogProof?: string; entry?: string };
  try {
    json = JSON.parse(text);
  } catch {
    throw new LedgerError('bad-proof-file', 'is neither JSON nor a C2SP tlog-proof', path);
  }
  if (json.type === PROOF_BUNDLE_TYPE) {
    const verified = verifyBundle(json, verifier);
    const v = verified.value;
    return { kind: 'proof-bundle', index: v.index, treeSize: verified.checkpoint.size, work: v.work, builder: v.author, model: `${v.record.model.name}@${v.record.model.version}`, serverVerdict: v.serverVerdict ?? null };
  }
  if (json.type === 'pvl.record-proof/v1' && json.tlogProof && json.entry) {
    const entry = fromBase64(json.entry) ?? new Uint8Array();
    const r = verifyTlogProof(json.tlogProof, defaultHasher.hashLeaf(entry), verifier);
    const record = parseRecord(entry);
    return { kind: 'record-proof', index: r.index, treeSize: r.checkpoint.size, recordType: record.payload.type, author: record.author, leafHash: toHex(defaultHasher.hashLeaf(entry)) };
  }
  throw new LedgerError('bad-proof-file', `unknown proof file type ${JSON.stringify(json.type)}`, path);
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify a proof bundle or proof file offline against the log key')
    .argument('<file>')
    .requiredOption('--vkey <vkey>', 'log verifier key or file')
    .option('--entry <file>', 'the log entry (for a bare tlog-proof file)')
    .option('--leaf-hash <hex>', 'the leaf hash (for a bare tlog-proof file)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: VerifyOpts) => {
      const result = await verifyFile(file, opts);
      if (opts.json) return printJson({ ok: true, ...result });
      const details = Object.entries(result).filter(([k]) => k !== 'kind' && k !== 'treeSize').map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
      console.log(`${colour.green('OK')} ${result.kind} verified: ${details.join(' ')}`);
    });
}
