/**
 * Offline verification of proof bundles (spec/bundles.md). Browser-safe: nothing from `node:`.
 * Each failed step throws a LedgerError whose `field` names the bundle part that was wrong.
 */
import { LedgerError } from '../errors.js';
import { defaultHasher, verifyInclusion } from '../merkle/index.js';
import { openCheckpoint, type Checkpoint, type Verifier } from '../note/index.js';
import { fromBase64, fromHex, parseRecord, verifyManifestItem, type TrainingUseRecord, type UseItem } from '../records/index.js';

export const PROOF_BUNDLE_TYPE = 'pvl.proof-bundle/v1';

export interface ProofBundle {
  type: typeof PROOF_BUNDLE_TYPE;
  origin: string;
  checkpoint: string;
  log: { index: number; entry: string; inclusionProof: string[] };
  manifest: { root: string; count: number; position: number; item: string; proof: string[] } | null;
  work: string;
  /** Informational only (the server's verdict); never proven. */
  verdict?: unknown;
  /** Inline position when `manifest` is null (spec/bundles.md step 4). */
  position?: number;
}

/** A value that passed every check; only verifiers in src/client construct it. */
export interface Verified<T> {
  readonly verified: true;
  readonly value: T;
  readonly checkpoint: Checkpoint;
}

export interface VerifiedUse {
  index: number;
  record: TrainingUseRecord;
  author: string;
  item: UseItem;
  /** The item's position: in the manifest (proven by the manifest proof) or in the record's inline items. */
  position: number;
  work: string;
  /** Server verdict copied from the bundle: not proven. */
  serverVerdict?: unknown;
}

export class BundleError extends LedgerError {}

function fail(step: string, message: string, field: string): never {
  throw new BundleError(`bundle-${step}`, `step ${step}: ${message}`, field);
}

function decodeHashes(list: unknown, field: string): Uint8Array[] {
  if (!Array.isArray(list)) fail('shape', 'must be an array of base64 hashes', field);
  return list.map((h, i) => {
    const bytes = typeof h === 'string' ? fromBase64(h) : undefined;
    if (!bytes || bytes.length !== 32) fail('shape', 'must be a base64 32-byte hash', `${field}[${i}]`);
    return bytes;
  });
}

function decodeBytes(s: unknown, field: string): Uint8Array {
  const bytes = typeof s === 'string' ? fromBase64(s) : undefined;
  if (!bytes) fail('shape', 'must be standard base64', field);
  return bytes;
}

function isIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Checks the bundle's JSON shape before any cryptography. */
export function parseBundle(json: unknown): ProofBundle {
  const b = json as ProofBundle;
  if (!b || typeof b !== 'object') fail('shape', 'must be a JSON object', 'bundle');
  if (b.type !== PROOF_BUNDLE_TYPE) fail('shape', `must be "${PROOF_BUNDLE_TYPE}"`, 'type');
  if (typeof b.origin !== 'string' || typeof b.checkpoint !== 'string') fail('shape', 'must be strings', 'origin');
  if (!b.log || !isIndex(b.log.index)) fail('shape', 'must be a log index', 'log.index');
  if (typeof b.work !== 'string') fail('shape', 'must be a work identifier', 'work');
  if (b.manifest !== null && (typeof b.manifest !== 'object' || !isIndex(b.manifest.position) || !isIndex(b.manifest.count))) {
    fail('shape', 'must be null or {root, count, position, item, proof}', 'manifest');
  }
  return b;
}

/** Steps 1-2: checkpoint signature/origin and the entry's inclusion. */
export function verifyEntryInclusion(b: ProofBundle, verifier: Verifier): { checkpoint: Checkpoint; entry: Uint8Array } {
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(b.checkpoint, verifier, { origin: b.origin }).checkpoint;
  } catch (e) {
    fail('1', `checkpoint does not verify: ${(e as Error).message}`, 'checkpoint');
  }
  if (b.origin !== verifier.name) fail('1', `origin ${JSON.stringify(b.origin)} is not the key name ${verifier.name}`, 'origin');
  const entry = decodeBytes(b.log.entry, 'log.entry');
  const proof = decodeHashes(b.log.inclusionProof, 'log.inclusionProof');
  if (b.log.index >= checkpoint.size) fail('2', `index ${b.log.index} is not below the checkpoint size ${checkpoint.size}`, 'log.index');
  try {
    verifyInclusion(defaultHasher, b.log.index, checkpoint.size, defaultHasher.hashLeaf(entry), proof, checkpoint.rootHash);
  } catch (e) {
    fail('2', `inclusion proof does not lead to the checkpoint root: ${(e as Error).message}`, 'log.inclusionProof');
  }
  return { checkpoint, entry };
}

/**
 * Step 4: the item and its position, from the manifest (with its proof) or inline. `told` is the
 * inline position the caller was told (an SSE id, a use report): it must index an item naming the
 * work, so a position shown beside the bundle is one the record proves.
 */
function provenItem(b: ProofBundle, record: TrainingUseRecord, told?: number): { item: UseItem; position: number } {
  const m = b.manifest;
  if (m) {
    if (!record.manifest || record.manifest.root !== m.root || record.manifest.count !== m.count) {
      fail('4', 'manifest root/count differ from those the record commits to', 'manifest.root');
    }
    const root = fromHex(m.root);
    if (!root || root.length !== 32) fail('4', 'must be 64 hex digits', 'manifest.root');
    try {
      return { item: verifyManifestItem(decodeBytes(m.item, 'manifest.item'), m.position, m.count, decodeHashes(m.proof, 'manifest.proof'), root), position: m.position };
    } catch (e) {
      if (e instanceof BundleError) throw e;
      fail('4', `manifest item proof does not verify: ${(e as Error).message}`, 'manifest.proof');
    }
  }
  if (!record.items) fail('4', 'record commits to a manifest but the bundle has none', 'manifest');
  // The server sends no inline position: the bundle's own, else the one the caller was told,
  // else the first item naming the work (which proves the use, not which of its items).
  const position = b.position ?? told;
  if (position !== undefined) {
    if (!isIndex(position)) fail('shape', 'must be an item position', 'position');
    const item = record.items[position];
    if (!item) fail('4', `record has no inline item at position ${position}`, 'position');
    return { item, position };
  }
  const found = record.items.findIndex((it) => it.work.includes(b.work as never));
  if (found < 0) fail('5', `no inline item names ${b.work}`, 'work');
  return { item: record.items[found], position: found };
}

/**
 * Verifies a proof bundle fully offline against the log's verifier key: checkpoint signature,
 * inclusion of the entry, the record's own signature and schema, the manifest item proof, and
 * that the item names the bundle's work. `opts.position`: the inline position the caller was
 * told (step 4). Throws BundleError naming the failed step.
 */
export function verifyBundle(json: unknown, verifier: Verifier, opts: { position?: number } = {}): Verified<VerifiedUse> {
  const b = parseBundle(json);
  const { checkpoint, entry } = verifyEntryInclusion(b, verifier);
  let parsed;
  try {
    parsed = parseRecord(entry);
  } catch (e) {
    fail('3', `entry is not a valid signed record: ${(e as Error).message}`, 'log.entry');
  }
  if (parsed.payload.type !== 'training-use') fail('3', `entry is a ${parsed.payload.type} record, not training-use`, 'log.entry');
  const record = parsed.payload;
  const { item, position } = provenItem(b, record, opts.position);
  if (!item.work.includes(b.work as never)) fail('5', `item does not name ${b.work}`, 'work');
  return { verified: true, checkpoint, value: { index: b.log.index, record, author: parsed.author, item, position, work: b.work, serverVerdict: b.verdict } };
}
