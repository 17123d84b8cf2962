/** Signing a record, submitting it with ?wait=checkpoint, verifying and saving its proof and receipt. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fetchVerifierKey, LedgerClient } from '../client/index.js';
import { LedgerError } from '../errors.js';
import { defaultHasher, verifyInclusion } from '../merkle/index.js';
import type { TrustPolicy } from '../note/index.js';
import { signRecord, toHex, fromBase64, type RecordPayload } from '../records/index.js';
import type { KeyFile } from './keys.js';
import { saveReceipt } from './receipts.js';

export interface SubmitResult {
  index: number;
  leafHash: string;
  duplicate: boolean;
  treeSize: number;
  proofFile: string;
  /** Where the receipt was kept (spec/cli.md, "Receipts"), if it was. */
  receiptFile?: string;
}

/** What a submission must meet and where its receipt goes. */
export interface SubmitExtras {
  /** The answer's checkpoint must carry this policy's quorum of witness cosignatures. */
  policy?: TrustPolicy;
  /** The receipts directory. */
  receipts?: string;
}

interface WaitAnswer {
  index: number;
  leafHash: string;
  duplicate?: boolean;
  checkpoint: string;
  proof: string;
  inclusionProof: string[];
  treeSize: number;
}

/** The saved proof file (spec/cli.md): enough to re-verify the record offline. */
export interface ProofFile {
  type: 'pvl.record-proof/v1';
  index: number;
  leafHash: string;
  entry: string;
  checkpoint: string;
  inclusionProof: string[];
  tlogProof: string;
}

export async function submitRecord(server: string, vkey: string | undefined, key: KeyFile, payload: RecordPayload, proofOut?: string, extras: SubmitExtras = {}): Promise<SubmitResult> {
  const entry = signRecord(payload, key.signer);
  const verifier = extras.policy ? undefined : (vkey ?? (await fetchVerifierKey(server)));
  const client = new LedgerClient(server, { verifier, policy: extras.policy });
  const res = await client.request('/records?wait=checkpoint', { method: 'POST', headers: { 'content-type': 'application/json' }, body: new TextDecoder().decode(entry) });
  const answer = (await res.json()) as WaitAnswer;
  let checkpoint;
  try {
    ({ checkpoint } = client.openCheckpoint(answer.checkpoint));
  } catch (e) {
    // The record is in the log either way; what is refused is calling it witnessed.
    if (extras.policy) throw new LedgerError('checkpoint-refused', `the server took the record (index ${answer.index}) but its checkpoint does not meet the witness policy (${(e as Error).message}); no proof or receipt saved`);
    throw e;
  }
  const leaf = defaultHasher.hashLeaf(entry);
  if (toHex(leaf) !== answer.leafHash) throw new LedgerError('bad-response', 'server leaf hash differs from the submitted entry', 'leafHash');
  const proof = answer.inclusionProof.map((h) => fromBase64(h) ?? new Uint8Array());
  verifyInclusion(defaultHasher, answer.index, checkpoint.size, leaf, proof, checkpoint.rootHash);
  const file = proofOut ?? `proofs/${answer.index}.json`;
  const saved: ProofFile = { type: 'pvl.record-proof/v1', index: answer.index, leafHash: answer.leafHash, entry: Buffer.from(entry).toString('base64'), checkpoint: answer.checkpoint, inclusionProof: answer.inclusionProof, tlogProof: answer.proof };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(saved, null, 2) + '\n');
  const receiptFile = extras.receipts === undefined ? undefined : await saveReceipt(extras.receipts, { ...saved, server });
  return { index: answer.index, leafHash: answer.leafHash, duplicate: answer.duplicate === true, treeSize: checkpoint.size, proofFile: file, ...(receiptFile ? { receiptFile } : {}) };
}
