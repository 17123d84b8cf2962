/**
 * `pvl verify FILE --vkey VKEY`: offline verification of a proof bundle, a saved record proof
 * (pvl consent grant etc.), or a C2SP tlog-proof file with --entry/--leaf-hash.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { LedgerClient, PROOF_BUNDLE_TYPE, TLOG_PROOF_HEADER, checkEvidence, parseTlogProof, verifyBundle, verifyTlogProof, type IdentityFinding, type Verified, type VerifiedUse } from '../../client/index.js';
import { EvidenceChecker } from '../../identity/index.js';
import { consentBy, describeFinding, loadIdentityTrust } from '../identity-trust.js';
import { openCheckpointWithPolicy } from '../../note/index.js';
import { addTrustOptions, loadTrust } from '../evidence.js';
import { LedgerError } from '../../errors.js';
import { defaultHasher } from '../../merkle/index.js';
import { fromBase64, fromHex, parseRecord, toHex } from '../../records/index.js';
import { readVerifierKey } from '../keys.js';
import { printJson, UsageError, colour } from '../output.js';

interface VerifyOpts {
  vkey: string;
  witness?: string[];
  quorum?: string;
  policy?: string;
  evidence?: string;
  entry?: string;
  leafHash?: string;
  json?: boolean;
  /** The identity trust policy file, and the server asked about identities (--server). */
  trust?: string;
  server?: string;
}

async function leafHashOf(opts: VerifyOpts): Promise<Uint8Array> {
  if (opts.leafHash) return fromHex(opts.leafHash) ?? (() => { throw new UsageError('--leaf-hash must be 64 hex digits'); })();
  if (opts.entry) return defaultHasher.hashLeaf(new Uint8Array(await readFile(opts.entry)));
  throw new UsageError('a tlog-proof file needs --entry FILE or --leaf-hash HEX');
}

/** The file's result plus, under a trust policy, the witnesses whose cosignatures met it. */
export async function verifyFile(path: string, opts: VerifyOpts): Promise<Record<string, unknown>> {
  const { result: logSigned, checkpointNote, bundle } = await verifyLogSigned(path, opts);
  const result = bundle && opts.trust ? { ...logSigned, ...(await consentBehindBundle(bundle, opts)) } : logSigned;
  const { policy } = await loadTrust(opts);
  if (!policy) return result;
  const { cosigners } = openCheckpointWithPolicy(checkpointNote, policy); // NoteError quorum-not-met → exit 1
  return { ...result, cosigners: cosigners.map((c) => c.name) };
}

/** `pvl verify --evidence FILE`: whether a split-view evidence file proves the log inconsistent. */
export async function verifyEvidenceFile(path: string, vkey: string): Promise<{ holds: boolean; kind: string; reason: string; sizes: [number, number] }> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as { code?: string }).code) throw e;
    throw new LedgerError('bad-evidence', 'is not JSON', path);
  }
  return checkEvidence(doc, await readVerifierKey(vkey));
}

/**
 * --trust: who is behind the grant the bundle's item relies on (the item's own reference; the
 * server's verdict names it when the item refers by leaf hash), asked of --server and proven here.
 */
async function consentBehindBundle(bundle: Verified<VerifiedUse>, opts: VerifyOpts): Promise<{ consentBy: IdentityFinding | null; consentByText: string }> {
  if (!opts.server) throw new UsageError('--trust needs --server: who is behind a grant is looked up in the log');
  const identities = (await loadIdentityTrust(opts.trust))!;
  const v = bundle.value;
  const ref = v.item.consent;
  const grant = 'index' in ref ? ref.index : (v.serverVerdict as { consentIndex?: unknown } | undefined)?.consentIndex;
  if (typeof grant !== 'number') return { consentBy: null, consentByText: 'the item relies on no grant the log can name' };
  const client = new LedgerClient(opts.server, { verifier: await readVerifierKey(opts.vkey) });
  const finding = await consentBy(client, bundle.checkpoint, grant, v.item.work, v.index, identities.policy, new EvidenceChecker());
  return finding ? { consentBy: finding, consentByText: describeFinding(identities.policy, finding) } : { consentBy: null, consentByText: `log entry ${grant} is not a grant naming the item's work` };
}

async function verifyLogSigned(path: string, opts: VerifyOpts): Promise<{ result: Record<string, unknown>; checkpointNote: string; bundle?: Verified<VerifiedUse> }> {
  const verifier = await readVerifierKey(opts.vkey);
  const text = await readFile(path, 'utf8');
  if (text.startsWith(TLOG_PROOF_HEADER)) {
    const r = verifyTlogProof(text, await leafHashOf(opts), verifier);
    return { result: { kind: 'tlog-proof', index: r.index, treeSize: r.checkpoint.size }, checkpointNote: parseTlogProof(text).checkpoint };
  }
  let json: { type?: string; tlogProof?: string; entry?: string; index?: unknown; leafHash?: unknown; checkpoint?: unknown; inclusionProof?: unknown };
  try {
    json = JSON.parse(text);
  } catch {
    throw new LedgerError('bad-proof-file', 'is neither JSON nor a C2SP tlog-proof', path);
  }
  if (json.type === PROOF_BUNDLE_TYPE) {
    const verified = verifyBundle(json, verifier);
    const v = verified.value;
    const result = { kind: 'proof-bundle', index: v.index, position: v.position, treeSize: verified.checkpoint.size, work: v.work, builder: v.author, model: `${v.record.model.name}@${v.record.model.version}`, serverVerdict: v.serverVerdict ?? null };
    return { result, checkpointNote: (json as { checkpoint: string }).checkpoint, bundle: verified };
  }
  if (json.type === 'pvl.record-proof/v1' && json.tlogProof && json.entry) {
    const entry = fromBase64(json.entry) ?? new Uint8Array();
    const r = verifyTlogProof(json.tlogProof, defaultHasher.hashLeaf(entry), verifier);
    assertRecordProofAgrees(json, parseTlogProof(json.tlogProof), toHex(defaultHasher.hashLeaf(entry)), path);
    const record = parseRecord(entry);
    const result = { kind: 'record-proof', index: r.index, treeSize: r.checkpoint.size, recordType: record.payload.type, author: record.author, leafHash: toHex(defaultHasher.hashLeaf(entry)) };
    return { result, checkpointNote: parseTlogProof(json.tlogProof).checkpoint };
  }
  throw new LedgerError('bad-proof-file', `unknown proof file type ${JSON.stringify(json.type)}`, path);
}

/**
 * A record-proof file repeats what its tlog-proof proves (index, leaf hash, checkpoint, inclusion
 * proof) for readers; every copy must say the same as the verified one, or the file is refused.
 */
function assertRecordProofAgrees(
  json: { index?: unknown; leafHash?: unknown; checkpoint?: unknown; inclusionProof?: unknown },
  proven: { index: number; proof: Uint8Array[]; checkpoint: string },
  leafHash: string,
  path: string,
): void {
  const differs = (field: string) => {
    throw new LedgerError('bad-proof-file', `${field} does not match the verified tlog-proof`, `${path}: ${field}`);
  };
  if (json.index !== proven.index) differs('index');
  if (json.leafHash !== leafHash) differs('leafHash');
  if (json.checkpoint !== proven.checkpoint) differs('checkpoint');
  const listed = Array.isArray(json.inclusionProof) ? json.inclusionProof : [];
  if (listed.length !== proven.proof.length || listed.some((h, i) => h !== Buffer.from(proven.proof[i]).toString('base64'))) differs('inclusionProof');
}

function describeVerdict(v: unknown): string {
  const verdict = v as { verdict?: unknown; reason?: unknown } | null;
  if (!verdict || typeof verdict.verdict !== 'string') return 'no verdict';
  return typeof verdict.reason === 'string' && verdict.reason ? `${verdict.verdict} (${verdict.reason})` : verdict.verdict;
}

export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify')
    .description('verify a proof bundle or proof file offline against the log key (and a witness policy), or a split-view evidence file')
    .argument('[file]')
    .requiredOption('--vkey <vkey>', 'log verifier key or file');
  addTrustOptions(cmd)
    .option('--evidence <file>', 'check a split-view evidence file instead')
    .option('--entry <file>', 'the log entry (for a bare tlog-proof file)')
    .option('--leaf-hash <hex>', 'the leaf hash (for a bare tlog-proof file)')
    .option('--trust <file>', 'identity trust policy: say who is behind the consent of a proof bundle (needs --server)')
    .option('--server <url>', 'ledger server asked about identities (with --trust)')
    .option('--json', 'machine-readable output')
    .action(async (file: string | undefined, opts: VerifyOpts) => {
      if (opts.evidence) {
        if (file) throw new UsageError('give a proof file or --evidence FILE, not both');
        const v = await verifyEvidenceFile(opts.evidence, opts.vkey);
        if (opts.json) printJson({ ok: v.holds, ...v });
        else console.log(v.holds ? `${colour.red('evidence holds')}: ${v.reason} (log key signed both)` : `evidence does not hold: ${v.reason}`);
        if (!v.holds) process.exitCode = 1;
        return;
      }
      if (!file) throw new UsageError('give a proof file (or --evidence FILE)');
      const result = await verifyFile(file, opts);
      if (opts.json) return printJson({ ok: true, ...result });
      // The bundle's verdict is the server's judgement, which no step proves: it never shares the OK line.
      const { serverVerdict, consentBy: _finding, consentByText, ...proven } = result;
      const details = Object.entries(proven).filter(([k]) => k !== 'kind' && k !== 'treeSize').map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
      console.log(`${colour.green('OK')} ${result.kind} verified: ${details.join(' ')}`);
      if (serverVerdict !== undefined) console.log(colour.dim(`server says: ${describeVerdict(serverVerdict)} (the server's claim, not proven by the bundle; pvl audit recomputes verdicts)`));
      if (consentByText !== undefined) console.log(`consent by: ${consentByText}`);
    });
}
