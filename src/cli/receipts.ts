/**
 * Receipts (spec/cli.md, "Receipts"): every record the submitting commands got into a log, kept
 * with the checkpoint that proved it. A receipt is a record-proof file (`pvl verify` checks it)
 * plus the server it came from. `pvl receipts check` proves the public log extends every
 * receipt's checkpoint and still includes its entry, so a record an operator showed only on a
 * private fork (a revocation "accepted" and then withheld) is caught.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerClient, SignedCheckpoint, SplitViewEvidence } from '../client/index.js';
import { makeEvidence, provesConsistency } from '../client/index.js';
import { LedgerError } from '../errors.js';
import { defaultHasher, verifyInclusion } from '../merkle/index.js';
import { fromBase64, parseRecord, toHex } from '../records/index.js';
import { writeFileAtomic } from './checkpoint-file.js';
import { prefixRootFromEntries } from './evidence.js';
import type { ProofFile } from './submit.js';

export interface Receipt extends ProofFile {
  /** The server that answered the submission. */
  server: string;
}

/** Keeps a receipt as `<dir>/<index>-<first 16 hex of the leaf hash>.json` (an index alone names different entries on a fork). */
export async function saveReceipt(dir: string, receipt: Receipt): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${receipt.index}-${receipt.leafHash.slice(0, 16)}.json`);
  await writeFileAtomic(path, JSON.stringify(receipt, null, 2) + '\n');
  return path;
}

export type ReceiptStatus = 'ok' | 'bad-receipt' | 'ahead' | 'inconsistent' | 'not-included';

export interface ReceiptCheck {
  file: string;
  index: number | null;
  leafHash: string | null;
  recordType: string | null;
  /** The size of the receipt's own checkpoint. */
  receiptSize: number | null;
  server: string | null;
  status: ReceiptStatus;
  detail: string;
  /** Split-view evidence saved for an inconsistent receipt. */
  evidence?: string;
}

interface Opened {
  index: number;
  leaf: Uint8Array;
  recordType: string;
  checkpoint: SignedCheckpoint;
}

/** The receipt's own proof, offline: log signature, leaf hash of its entry, inclusion in its checkpoint. */
function openReceipt(client: LedgerClient, doc: Partial<Receipt>): Opened {
  if (doc.type !== 'pvl.record-proof/v1') throw new LedgerError('bad-receipt', `is not a receipt (type ${JSON.stringify(doc.type)})`);
  const entry = typeof doc.entry === 'string' ? fromBase64(doc.entry) : undefined;
  if (!entry) throw new LedgerError('bad-receipt', 'has no base64 entry');
  if (typeof doc.index !== 'number' || !Number.isSafeInteger(doc.index) || doc.index < 0) throw new LedgerError('bad-receipt', 'has no log index');
  if (typeof doc.checkpoint !== 'string') throw new LedgerError('bad-receipt', 'has no checkpoint');
  const leaf = defaultHasher.hashLeaf(entry);
  if (doc.leafHash !== toHex(leaf)) throw new LedgerError('bad-receipt', 'its leaf hash is not that of its entry');
  const checkpoint = client.openLogSigned(doc.checkpoint);
  const proof = (Array.isArray(doc.inclusionProof) ? doc.inclusionProof : []).map((h) => (typeof h === 'string' ? fromBase64(h) : undefined));
  if (proof.some((h) => h?.length !== 32)) throw new LedgerError('bad-receipt', 'its inclusion proof is not a list of base64 hashes');
  verifyInclusion(defaultHasher, doc.index, checkpoint.checkpoint.size, leaf, proof as Uint8Array[], checkpoint.checkpoint.rootHash);
  return { index: doc.index, leaf, recordType: parseRecord(entry).payload.type, checkpoint };
}

/** The server's proof between two sizes; undefined if it gives none. Unreachable servers throw. */
async function proofFrom(client: LedgerClient, path: string): Promise<Uint8Array[] | undefined> {
  let answer: { proof?: unknown };
  try {
    answer = await client.getJson<{ proof?: unknown }>(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'unreachable') throw e;
    return undefined;
  }
  const hashes = Array.isArray(answer.proof) ? answer.proof.map((h) => (typeof h === 'string' ? fromBase64(h) : undefined)) : [undefined];
  return hashes.every((h) => h?.length === 32) ? (hashes as Uint8Array[]) : undefined;
}

/**
 * Checks every receipt in `dir` against `current` (the log's verified checkpoint): the receipt's
 * own proof, then consistency of its checkpoint with `current`, then the entry's inclusion at
 * `current`'s size. Inconsistent pairs are saved as split-view evidence in `evidenceDir`.
 */
export async function checkReceipts(
  client: LedgerClient,
  current: SignedCheckpoint,
  dir: string,
  opts: { vkey: string; source: string; saveEvidence: (ev: SplitViewEvidence) => Promise<string> },
): Promise<ReceiptCheck[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort(byIndexThenName);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw new LedgerError('no-receipts', `no receipts directory ${dir} (the submitting commands keep receipts there; see --receipts)`);
    throw e;
  }
  const size = current.checkpoint.size;
  const checks: ReceiptCheck[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let doc: Partial<Receipt>;
    try {
      doc = JSON.parse(await readFile(file, 'utf8')) as Partial<Receipt>;
    } catch {
      doc = {};
    }
    const row: ReceiptCheck = { file, index: null, leafHash: null, recordType: null, receiptSize: null, server: typeof doc.server === 'string' ? doc.server : null, status: 'ok', detail: '' };
    checks.push(row);
    let opened: Opened;
    try {
      opened = openReceipt(client, doc);
    } catch (e) {
      Object.assign(row, { status: 'bad-receipt', detail: `the receipt does not verify: ${(e as Error).message}` });
      continue;
    }
    const small = opened.checkpoint.checkpoint;
    Object.assign(row, { index: opened.index, leafHash: toHex(opened.leaf), recordType: opened.recordType, receiptSize: small.size });
    if (small.size > size) {
      Object.assign(row, { status: 'ahead', detail: `its checkpoint (size ${small.size}) is beyond the log's (size ${size}): the public log has not published it — shown on a fork, or the log rolled back` });
      continue;
    }
    const proof = small.size === size || small.size === 0 ? [] : await proofFrom(client, `/proof/consistency?from=${small.size}&to=${size}`);
    if (!provesConsistency(small, current.checkpoint, proof)) {
      const prefix = small.size === size ? undefined : await prefixRootFromEntries(client, current, small.size).catch(() => undefined);
      const evidence = makeEvidence(opts.vkey, { ...opened.checkpoint, source: `receipt ${file}` }, { ...current, source: opts.source }, small.size === size ? undefined : proof, prefix);
      Object.assign(row, { status: 'inconsistent', detail: `its checkpoint (size ${small.size}) is not consistent with the log's (size ${size}) [${evidence.kind}]: the receipt came from a fork`, evidence: await opts.saveEvidence(evidence) });
      continue;
    }
    const inclusion = await proofFrom(client, `/proof/inclusion?index=${opened.index}&size=${size}`);
    try {
      if (!inclusion) throw new Error('the server gave no inclusion proof');
      verifyInclusion(defaultHasher, opened.index, size, opened.leaf, inclusion, current.checkpoint.rootHash);
    } catch (e) {
      Object.assign(row, { status: 'not-included', detail: `its entry is not proven included at size ${size}: ${(e as Error).message}` });
      continue;
    }
    row.detail = `consistent with size ${size}; entry included`;
  }
  return checks;
}

function byIndexThenName(a: string, b: string): number {
  return (parseInt(a, 10) || 0) - (parseInt(b, 10) || 0) || (a < b ? -1 : a > b ? 1 : 0);
}
