/**
 * Manifests: the items of a large training use, outside the log. A training-use record commits
 * to a manifest by its RFC 6962 root and item count; each item can then be proven on its own.
 *
 * Byte format (spec/records.md, "Manifests"):
 *   header, 16 bytes: "PVLM" | version 0x01 | item size 49 | 0x00 0x00 | item count (u64 BE)
 *   items, 49 bytes each:
 *     [0]      flags: 0x01 consent index present; bits 1-2 perceptual kind (0 none, 1 phash,
 *              2 tcode); other bits zero
 *     [1..33)  SHA-256 of the work's bytes
 *     [33..41) perceptual digest (zero when absent)
 *     [41..49) consent log index, u64 BE (zero when absent)
 * Leaf hash = SHA-256(0x00 || item bytes); root = RFC 6962 root over the items in order. The
 * header is not hashed: the count is committed by the record, the rest is framing.
 *
 * Every item has exactly one encoding (unused fields must be zero), so one list of items has
 * exactly one root.
 *
 * Speed: ten million items are twenty million short SHA-256s. Leaves are hashed in batches of
 * 2^k items (complete subtrees: same root), with digests kept as words (rootOfShortItems), and
 * the batches can be hashed in worker threads (ManifestBatchHasher, src/platform) while this
 * thread encodes.
 */
import { type Hash, type Hasher, CompactRange, MemoryTree, equalHashes, verifyInclusion } from '../merkle/index.js';
import { equalBytes, hexBytesInto, hexInto, toHex } from './encoding.js';
import { RecordError } from './errors.js';
import { preview } from './keys.js';
import type { UseItem } from './schema.js';
import { rootOfShortItems, shortInputHasher } from './short-input-hasher.js';
import { isWorkId, schemeBefore, type WorkId, type WorkIdScheme } from './works.js';

export const MANIFEST_MAGIC = Uint8Array.from([0x50, 0x56, 0x4c, 0x4d]); // "PVLM"
export const MANIFEST_VERSION = 1;
export const MANIFEST_HEADER_SIZE = 16;
export const MANIFEST_ITEM_SIZE = 49;

const FLAG_CONSENT = 0x01;
const PERCEPTUAL_SHIFT = 1;
const PERCEPTUAL_MASK = 0x06;
const PERCEPTUAL_KINDS = ['none', 'phash', 'tcode'] as const;
const SHA256_AT = 1;
const PERCEPTUAL_AT = 33;
const CONSENT_AT = 41;
const U32 = 2 ** 32;

/** The default hasher for manifests: pure JavaScript, fastest for 49-byte leaves. */
export const manifestHasher: Hasher = shortInputHasher;

export interface ManifestSummary {
  root: Hash;
  count: number;
}

export interface ManifestOptions {
  hasher?: Hasher;
}

// ---- items -----------------------------------------------------------------------------

function writeU64(out: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / U32);
  const low = value >>> 0;
  out[at] = high >>> 24;
  out[at + 1] = high >>> 16;
  out[at + 2] = high >>> 8;
  out[at + 3] = high;
  out[at + 4] = low >>> 24;
  out[at + 5] = low >>> 16;
  out[at + 6] = low >>> 8;
  out[at + 7] = low;
}

/** A u64 that must be a safe integer; undefined otherwise. */
function readU64(bytes: Uint8Array, at: number): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  const high = view.getUint32(0);
  if (high >= 2 ** 21) return undefined;
  return high * U32 + view.getUint32(4);
}

/** Where an identifier's digest goes in an item, by scheme. */
interface ItemSlot {
  at: number;
  hexLength: number;
  kind: number;
}
const SHA256_SLOT: ItemSlot = { at: SHA256_AT, hexLength: 64, kind: -1 };
const PHASH_SLOT: ItemSlot = { at: PERCEPTUAL_AT, hexLength: 16, kind: 1 };
const TCODE_SLOT: ItemSlot = { at: PERCEPTUAL_AT, hexLength: 16, kind: 2 };

const ITEM_SLOTS: Partial<Record<WorkIdScheme, ItemSlot>> = { sha256: SHA256_SLOT, phash: PHASH_SLOT, tcode: TCODE_SLOT };

/** The slot for the scheme before `colon`; undefined for what items cannot hold. */
function itemSlot(id: string, colon: number): ItemSlot | undefined {
  const scheme = schemeBefore(id, colon);
  return scheme === undefined ? undefined : ITEM_SLOTS[scheme];
}

/** Whether `o`'s only own enumerable key is `key` (Object.keys without the array, per item). */
function hasOnlyKey(o: object, key: string): boolean {
  let keys = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    if (k !== key || ++keys > 1) return false;
  }
  return keys === 1;
}

/**
 * Writes one item into `out` at `offset`. These checks are written out by hand, not as a zod
 * schema, because they run ten million times per manifest; they accept exactly what
 * useItemSchema accepts, minus what a manifest cannot hold (pdq identifiers, leaf-hash refs).
 */
export function encodeManifestItemInto(item: UseItem, out: Uint8Array, offset: number, field = 'item'): void {
  const work = item?.work;
  if (!Array.isArray(work) || work.length === 0 || work.length > 2) {
    throw new RecordError('bad-manifest', 'must name the work by its sha256: identifier and at most one phash: or tcode: identifier', `${field}.work`);
  }
  out.fill(0, offset, offset + MANIFEST_ITEM_SIZE);
  let flags = 0;
  let sawSha256 = false;
  // Hand-written rather than isWorkId's regex: the digest is validated while it is decoded.
  for (let i = 0; i < work.length; i++) {
    const id: unknown = work[i];
    const colon = typeof id === 'string' ? id.indexOf(':') : -1;
    const slot = itemSlot(id as string, colon);
    const well = slot !== undefined && (id as string).length === colon + 1 + slot.hexLength;
    if (!well || !hexInto(id as string, colon + 1, slot.hexLength, out, offset + slot.at)) {
      if (isWorkId(id)) throw new RecordError('bad-manifest', `${preview(id)} cannot go in a manifest item (one sha256: plus at most one phash: or tcode:)`, `${field}.work[${i}]`);
      throw new RecordError('bad-work-id', `must be a work identifier, got ${preview(id)}`, `${field}.work[${i}]`);
    }
    const repeated = slot.kind < 0 ? sawSha256 : (flags & PERCEPTUAL_MASK) !== 0;
    if (repeated) throw new RecordError('bad-manifest', `${preview(id)} cannot go in a manifest item (one sha256: plus at most one phash: or tcode:)`, `${field}.work[${i}]`);
    if (slot.kind < 0) sawSha256 = true;
    else flags |= slot.kind << PERCEPTUAL_SHIFT;
  }
  if (!sawSha256) throw new RecordError('bad-work-id', 'must include the sha256: identifier of the work', `${field}.work`);
  flags |= encodeConsent(item.consent, out, offset, `${field}.consent`);
  out[offset] = flags;
}

function encodeConsent(consent: UseItem['consent'], out: Uint8Array, offset: number, field: string): number {
  if (consent && 'none' in consent && consent.none === true && hasOnlyKey(consent, 'none')) return 0;
  if (consent && 'index' in consent && hasOnlyKey(consent, 'index')) {
    const index = consent.index;
    if (!Number.isSafeInteger(index) || index < 0) throw new RecordError('bad-field', `index must be a non-negative integer below 2^53, got ${preview(index)}`, `${field}.index`);
    writeU64(out, offset + CONSENT_AT, index);
    return FLAG_CONSENT;
  }
  if (consent && 'leafHash' in consent) throw new RecordError('bad-manifest', 'manifest items name consents by log index: resolve the leaf hash to its index first', field);
  throw new RecordError('bad-field', `must be {"index": N} or {"none": true}, got ${preview(consent)}`, field);
}

/**
 * Encodes the commonest item — a work named by its sha256: identifier alone, and a consent
 * index or none — from the 64 hex digits at `hexAt` in `text` (ASCII bytes): the bytes
 * encodeManifestItemInto writes for that item, without a string or object per item, which is
 * what reading an items file of ten million lines needs. False, writing nothing the caller
 * relies on, if a digit is not lowercase hex or the index is not a safe non-negative integer:
 * the caller then takes the general path, which names the problem.
 */
export function encodeSha256ItemInto(text: Uint8Array, hexAt: number, consentIndex: number | undefined, out: Uint8Array, offset: number): boolean {
  if (consentIndex !== undefined && !(Number.isSafeInteger(consentIndex) && consentIndex >= 0)) return false;
  if (!hexBytesInto(text, hexAt, 64, out, offset + SHA256_AT)) return false;
  out.fill(0, offset + PERCEPTUAL_AT, offset + MANIFEST_ITEM_SIZE);
  out[offset] = consentIndex === undefined ? 0 : FLAG_CONSENT;
  if (consentIndex !== undefined) writeU64(out, offset + CONSENT_AT, consentIndex);
  return true;
}

export function encodeManifestItem(item: UseItem, field = 'item'): Uint8Array {
  const out = new Uint8Array(MANIFEST_ITEM_SIZE);
  encodeManifestItemInto(item, out, 0, field);
  return out;
}

/** Why these item bytes are not a canonical item, or undefined if they are. */
function itemProblem(bytes: Uint8Array, at: number): string | undefined {
  const flags = bytes[at];
  if ((flags & ~(FLAG_CONSENT | PERCEPTUAL_MASK)) !== 0) return `has unknown flag bits 0x${flags.toString(16).padStart(2, '0')}`;
  const kind = (flags & PERCEPTUAL_MASK) >> PERCEPTUAL_SHIFT;
  if (kind >= PERCEPTUAL_KINDS.length) return 'has a reserved perceptual kind (3)';
  if (kind === 0 && !isZero(bytes, at + PERCEPTUAL_AT, at + CONSENT_AT)) return 'has perceptual digest bytes but no perceptual kind flag';
  if ((flags & FLAG_CONSENT) === 0) {
    if (!isZero(bytes, at + CONSENT_AT, at + MANIFEST_ITEM_SIZE)) return 'has consent index bytes but no consent flag';
  } else if (readU64(bytes, at + CONSENT_AT) === undefined) {
    return 'has a consent index of 2^53 or more';
  }
  return undefined;
}

function isZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** The item a manifest entry stands for, in the record's item form (sha256 first). */
export function decodeManifestItem(bytes: Uint8Array, field = 'item'): UseItem {
  if (!(bytes instanceof Uint8Array) || bytes.length !== MANIFEST_ITEM_SIZE) {
    throw new RecordError('bad-manifest', `a manifest item is ${MANIFEST_ITEM_SIZE} bytes, got ${bytes?.length ?? typeof bytes}`, field);
  }
  const problem = itemProblem(bytes, 0);
  if (problem) throw new RecordError('bad-manifest', problem, field);
  const work: WorkId[] = [`sha256:${toHex(bytes.subarray(SHA256_AT, PERCEPTUAL_AT))}`];
  const kind = PERCEPTUAL_KINDS[(bytes[0] & PERCEPTUAL_MASK) >> PERCEPTUAL_SHIFT];
  if (kind !== 'none') work.push(`${kind}:${toHex(bytes.subarray(PERCEPTUAL_AT, CONSENT_AT))}`);
  const consent = bytes[0] & FLAG_CONSENT ? { index: readU64(bytes, CONSENT_AT)! } : { none: true as const };
  return { work, consent };
}

export function manifestLeafHash(itemBytes: Uint8Array, hasher: Hasher = manifestHasher): Hash {
  return hasher.hashLeaf(itemBytes);
}

// ---- header ----------------------------------------------------------------------------

export function encodeManifestHeader(count: number): Uint8Array {
  checkCount(count, 'count');
  const header = new Uint8Array(MANIFEST_HEADER_SIZE);
  header.set(MANIFEST_MAGIC);
  header[4] = MANIFEST_VERSION;
  header[5] = MANIFEST_ITEM_SIZE;
  writeU64(header, 8, count);
  return header;
}

function checkCount(count: number, field: string): void {
  if (!Number.isSafeInteger(count) || count < 1) throw new RecordError('bad-manifest', `must be an integer from 1 to 2^53 − 1, got ${preview(count)}`, field);
}

function decodeManifestHeader(header: Uint8Array): number {
  const field = 'manifest.header';
  if (!equalBytes(header.subarray(0, 4), MANIFEST_MAGIC)) throw new RecordError('bad-manifest', 'does not start with "PVLM"', field);
  if (header[4] !== MANIFEST_VERSION) throw new RecordError('bad-manifest', `has version ${header[4]}; only ${MANIFEST_VERSION} is known`, field);
  if (header[5] !== MANIFEST_ITEM_SIZE) throw new RecordError('bad-manifest', `declares ${header[5]}-byte items; version 1 items are ${MANIFEST_ITEM_SIZE} bytes`, field);
  if (header[6] !== 0 || header[7] !== 0) throw new RecordError('bad-manifest', 'has non-zero reserved bytes 6-7', field);
  const count = readU64(header, 8);
  if (count === undefined || count < 1) throw new RecordError('bad-manifest', 'must declare from 1 to 2^53 − 1 items', field);
  return count;
}

// ---- streaming build -------------------------------------------------------------------

const CHUNK_ITEMS = 1337; // ≈ 64 KiB of items per chunk handed to the sink

/**
 * Builds a manifest of `count` items in constant memory: items stream in, 64 KiB chunks stream
 * out to `sink` (header first), and only the Merkle tree's right edge is kept. The count is
 * declared up front because the header carries it; a different number of items is an error.
 * With `opts.batchHasher` the hashing runs elsewhere (worker threads) while this thread encodes.
 */
export async function writeManifest(
  items: Iterable<UseItem> | AsyncIterable<UseItem>,
  count: number,
  sink: (chunk: Uint8Array) => void | Promise<void>,
  opts: ManifestRootOptions = {},
): Promise<ManifestSummary> {
  const root = new ManifestRoot(opts);
  await sink(encodeManifestHeader(count));
  let chunk = new Uint8Array(CHUNK_ITEMS * MANIFEST_ITEM_SIZE);
  let filled = 0;
  /** Encodes one item; the full chunk to flush, if it filled one. */
  const place = (item: UseItem): Uint8Array | undefined => {
    const position = root.count + filled;
    if (position >= count) throw new RecordError('count-mismatch', `has more items than the declared ${count}`, 'items');
    encodeManifestItemInto(item, chunk, filled * MANIFEST_ITEM_SIZE, `items[${position}]`);
    if (++filled < CHUNK_ITEMS) return undefined;
    const full = chunk;
    chunk = new Uint8Array(CHUNK_ITEMS * MANIFEST_ITEM_SIZE);
    filled = 0;
    return full;
  };
  // The root takes its copy of a chunk before the sink sees it: a sink may keep or transfer it.
  const flush = async (full: Uint8Array) => {
    await root.add(full);
    await sink(full);
  };
  if (Symbol.iterator in items) {
    // `for await` over a synchronous source costs a promise per item; await only per chunk.
    for (const item of items) {
      const full = place(item);
      if (full) await flush(full);
    }
  } else {
    for await (const item of items) {
      const full = place(item);
      if (full) await flush(full);
    }
  }
  if (filled > 0) await flush(chunk.subarray(0, filled * MANIFEST_ITEM_SIZE));
  if (root.count !== count) throw new RecordError('count-mismatch', `has ${root.count} items, not the declared ${count}`, 'items');
  return root.finish();
}

// ---- batched root ----------------------------------------------------------------------

/**
 * Hashes a run of encoded items to the RFC 6962 root of their leaves. Injected so that Node can
 * hash in worker threads (src/platform/manifest-hash-pool.ts) while this thread encodes: the
 * SHA-256 of ten million short inputs is most of a manifest's cost.
 */
export interface ManifestBatchHasher {
  /** MTH of the leaves of `items` (whole 49-byte items). May take the buffer (transfer it). */
  rootOfItems(items: Uint8Array): Hash | Promise<Hash>;
  /** A buffer of `bytes` bytes for the next batch: one that was taken, given back for reuse. */
  batchBuffer?(bytes: number): Uint8Array;
}

/**
 * MTH of the leaves of encoded items, in this thread. With `leafHashes` (32 bytes per item) the
 * leaf hashes are written there as well, in order.
 */
export function manifestItemsRoot(items: Uint8Array, hasher: Hasher = manifestHasher, leafHashes?: Uint8Array): Hash {
  if (hasher === shortInputHasher) return rootOfShortItems(items, MANIFEST_ITEM_SIZE, leafHashes); // same root, no allocation per hash
  const range = new CompactRange(hasher);
  for (let at = 0, n = 0; at < items.length; at += MANIFEST_ITEM_SIZE, n++) {
    const leaf = hasher.hashLeaf(items.subarray(at, at + MANIFEST_ITEM_SIZE));
    leafHashes?.set(leaf, n * 32);
    range.push(leaf);
  }
  return range.root();
}

/**
 * The roots of each aligned run of `subtreeItems` encoded items (the last run may be shorter),
 * 32 bytes each, concatenated: with 256, the hashes a server stores in tile level 1.
 */
export function manifestSubtreeRoots(items: Uint8Array, subtreeItems: number, hasher: Hasher = manifestHasher): Uint8Array {
  const runBytes = subtreeItems * MANIFEST_ITEM_SIZE;
  const roots = new Uint8Array(Math.ceil(items.length / runBytes) * 32);
  for (let at = 0, n = 0; at < items.length; at += runBytes, n++) roots.set(manifestItemsRoot(items.subarray(at, at + runBytes), hasher), n * 32);
  return roots;
}

/** Items per batch. A power of two, so that every full batch is a complete subtree (see ManifestRoot). */
export const MANIFEST_BATCH_ITEMS = 1 << 14;
/** The parser's (smaller: one per upload in progress on a server). */
const PARSE_BATCH_ITEMS = 1 << 10;

export interface ManifestRootOptions extends ManifestOptions {
  /** Where batches are hashed; default: this thread, with `hasher`. */
  batchHasher?: ManifestBatchHasher;
  /** Items per batch, a power of two (smaller in tests, to cross many batch boundaries). */
  batchItems?: number;
  /** Batches hashed at once before `add` waits for the oldest (keeps every worker busy). */
  inFlight?: number;
}

/**
 * The root of a manifest's encoded items, fed in chunks of whole items, hashed a batch at a
 * time. Full batches are aligned runs of 2^k leaves, i.e. complete subtrees, and RFC 6962 splits
 * every larger range at a power of two ≥ 2^k, so the MTH of all leaves is the MTH over the batch
 * roots (the last batch's root being the MTH of its partial run): a compact range over batch
 * roots. Memory: the batches in flight, whatever the count.
 */
export class ManifestRoot {
  private readonly batchHasher: ManifestBatchHasher;
  private readonly batchBytes: number;
  private readonly inFlight: number;
  private readonly range: CompactRange;
  /** Roots being computed, oldest first. */
  private readonly pending: Promise<Hash>[] = [];
  private batch: Uint8Array;
  private filled = 0;
  private items = 0;

  constructor(opts: ManifestRootOptions = {}) {
    const hasher = opts.hasher ?? manifestHasher;
    const batchItems = opts.batchItems ?? MANIFEST_BATCH_ITEMS;
    if (!Number.isSafeInteger(batchItems) || batchItems < 1 || (batchItems & (batchItems - 1)) !== 0) throw new RangeError(`batchItems must be a power of two, got ${batchItems}`);
    this.batchHasher = opts.batchHasher ?? { rootOfItems: (items) => manifestItemsRoot(items, hasher) };
    this.batchBytes = batchItems * MANIFEST_ITEM_SIZE;
    this.inFlight = opts.inFlight ?? 4;
    this.range = new CompactRange(hasher);
    this.batch = new Uint8Array(this.batchBytes);
  }

  /** Items added so far. */
  get count(): number {
    return this.items;
  }

  /** Adds encoded items (copied: the caller keeps `items`). */
  async add(items: Uint8Array): Promise<void> {
    if (items.length % MANIFEST_ITEM_SIZE !== 0) throw new RangeError(`items must be whole ${MANIFEST_ITEM_SIZE}-byte items, got ${items.length} bytes`);
    for (let at = 0; at < items.length; ) {
      const take = Math.min(items.length - at, this.batchBytes - this.filled);
      this.batch.set(items.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      this.items += take / MANIFEST_ITEM_SIZE;
      if (this.filled === this.batchBytes) await this.dispatch();
    }
  }

  /** The root and count of everything added. */
  async finish(): Promise<ManifestSummary> {
    if (this.filled > 0) await this.dispatch();
    while (this.pending.length > 0) this.range.push(await this.pending.shift()!);
    return { root: this.range.root(), count: this.items };
  }

  private async dispatch(): Promise<void> {
    const batch = this.filled === this.batchBytes ? this.batch : this.batch.slice(0, this.filled);
    this.batch = this.batchHasher.batchBuffer?.(this.batchBytes) ?? new Uint8Array(this.batchBytes); // the hasher may have taken the old one
    this.filled = 0;
    const root = Promise.resolve(this.batchHasher.rootOfItems(batch));
    root.catch(() => undefined); // awaited below or in finish(); until then not "unhandled"
    this.pending.push(root);
    while (this.pending.length > this.inFlight) this.range.push(await this.pending.shift()!);
  }
}

/** Item by item and synchronous, for callers that frame the bytes themselves. */
export class ManifestBuilder {
  readonly header: Uint8Array;
  private readonly range: CompactRange;
  private readonly hasher: Hasher;

  constructor(
    readonly count: number,
    opts: ManifestOptions = {},
  ) {
    this.header = encodeManifestHeader(count);
    this.hasher = opts.hasher ?? manifestHasher;
    this.range = new CompactRange(this.hasher);
  }

  get added(): number {
    return this.range.size;
  }

  /** Encodes the next item into `out` at `offset` and adds it to the root. */
  addInto(item: UseItem, out: Uint8Array, offset: number): void {
    if (this.range.size >= this.count) throw new RecordError('count-mismatch', `has more items than the declared ${this.count}`, 'items');
    encodeManifestItemInto(item, out, offset, `items[${this.range.size}]`);
    this.range.push(this.hasher.hashLeaf(out.subarray(offset, offset + MANIFEST_ITEM_SIZE)));
  }

  /** Encodes the next item and returns its bytes. */
  add(item: UseItem): Uint8Array {
    const out = new Uint8Array(MANIFEST_ITEM_SIZE);
    this.addInto(item, out, 0);
    return out;
  }

  finish(): ManifestSummary {
    if (this.range.size !== this.count) throw new RecordError('count-mismatch', `has ${this.range.size} items, not the declared ${this.count}`, 'items');
    return { root: this.range.root(), count: this.count };
  }
}

// ---- streaming parse -------------------------------------------------------------------

/**
 * ManifestRoot's batching, synchronous and in this thread, for the parser: items are copied
 * into a batch and hashed a batch at a time (manifestItemsRoot keeps digests as words, so a
 * server receiving an upload allocates nothing per hash); same root as hashing item by item.
 */
class BatchedItemRoot {
  private readonly batch = new Uint8Array(PARSE_BATCH_ITEMS * MANIFEST_ITEM_SIZE);
  private filled = 0;
  private readonly range: CompactRange;
  private closed = false;

  constructor(private readonly hasher: Hasher) {
    this.range = new CompactRange(hasher);
  }

  add(item: Uint8Array): void {
    if (this.closed) throw new Error('BatchedItemRoot: add after root');
    this.batch.set(item, this.filled * MANIFEST_ITEM_SIZE);
    if (++this.filled < PARSE_BATCH_ITEMS) return;
    this.range.push(manifestItemsRoot(this.batch, this.hasher));
    this.filled = 0;
  }

  /** The root of everything added; ends the adding (the partial last batch joins the range). */
  root(): Hash {
    if (this.filled > 0) this.range.push(manifestItemsRoot(this.batch.subarray(0, this.filled * MANIFEST_ITEM_SIZE), this.hasher));
    this.filled = 0;
    this.closed = true;
    return this.range.root();
  }
}

export interface ManifestEntry {
  position: number;
  /** The item's 49 bytes (a view into the chunk it arrived in: copy it to keep it). */
  bytes: Uint8Array;
}

/**
 * Parses a manifest pushed in chunks of any size, in constant memory: checks the header and
 * every item as it completes, hashes it into the root, and at `end()` insists on exactly the
 * declared number of items (so truncation and trailing bytes are both errors).
 */
export class ManifestParser {
  /** Undefined when the caller hashes the items itself (`hashItems: false`). */
  private readonly root: BatchedItemRoot | undefined;
  private items = 0;
  private readonly pending = new Uint8Array(MANIFEST_ITEM_SIZE);
  private pendingLength = 0;
  private readonly headerBytes = new Uint8Array(MANIFEST_HEADER_SIZE);
  private headerLength = 0;
  private declared: number | undefined;

  /**
   * `hashItems: false` is for a caller that hashes every item anyway (a server building the
   * tree's tiles from `onItem`), so that nothing is hashed twice; `end()` then has no root to
   * give: call `close()`.
   */
  constructor(opts: ManifestOptions & { hashItems?: boolean } = {}) {
    this.root = opts.hashItems === false ? undefined : new BatchedItemRoot(opts.hasher ?? manifestHasher);
  }

  /** Items declared by the header (undefined until the header is complete). */
  get count(): number | undefined {
    return this.declared;
  }

  get parsed(): number {
    return this.items;
  }

  /** Feeds bytes; `onItem` sees every item they complete, in order. */
  push(chunk: Uint8Array, onItem?: (entry: ManifestEntry) => void): void {
    let at = this.takeHeader(chunk);
    if (this.pendingLength > 0) {
      const take = Math.min(MANIFEST_ITEM_SIZE - this.pendingLength, chunk.length - at);
      this.pending.set(chunk.subarray(at, at + take), this.pendingLength);
      this.pendingLength += take;
      at += take;
      if (this.pendingLength < MANIFEST_ITEM_SIZE) return;
      this.pendingLength = 0;
      // A copy: `pending` is refilled by this same push, while callers may still hold the item.
      this.acceptItem(this.pending.slice(), 0, onItem);
    }
    for (; at + MANIFEST_ITEM_SIZE <= chunk.length; at += MANIFEST_ITEM_SIZE) this.acceptItem(chunk, at, onItem);
    if (at < chunk.length) {
      this.checkRoomForItem();
      this.pending.set(chunk.subarray(at), 0);
      this.pendingLength = chunk.length - at;
    }
  }

  /** Consumes header bytes from the start of `chunk`; returns where the items begin. */
  private takeHeader(chunk: Uint8Array): number {
    if (this.headerLength === MANIFEST_HEADER_SIZE) return 0;
    const take = Math.min(MANIFEST_HEADER_SIZE - this.headerLength, chunk.length);
    this.headerBytes.set(chunk.subarray(0, take), this.headerLength);
    this.headerLength += take;
    if (this.headerLength === MANIFEST_HEADER_SIZE) this.declared = decodeManifestHeader(this.headerBytes);
    return take;
  }

  private checkRoomForItem(): void {
    if (this.items >= this.declared!) {
      throw new RecordError('bad-manifest', `has bytes after its ${this.declared} declared items`, 'manifest');
    }
  }

  private acceptItem(bytes: Uint8Array, at: number, onItem?: (entry: ManifestEntry) => void): void {
    this.checkRoomForItem();
    const position = this.items;
    const problem = itemProblem(bytes, at);
    if (problem) throw new RecordError('bad-manifest', problem, `manifest.items[${position}]`);
    const item = bytes.subarray(at, at + MANIFEST_ITEM_SIZE);
    this.root?.add(item);
    this.items++;
    onItem?.({ position, bytes: item });
  }

  /** Ends the stream: the root and count, or an error if it was cut short. */
  end(): ManifestSummary {
    const count = this.close();
    if (!this.root) throw new Error('ManifestParser: end() without hashing (hashItems: false); use close()');
    return { root: this.root.root(), count };
  }

  /** Ends the stream: the item count, or an error if it was cut short. */
  close(): number {
    if (this.declared === undefined) throw new RecordError('bad-manifest', `ends inside its ${MANIFEST_HEADER_SIZE}-byte header (${this.headerLength} bytes)`, 'manifest');
    if (this.items < this.declared || this.pendingLength > 0) {
      throw new RecordError('bad-manifest', `is truncated: ends after ${this.items} whole items (+${this.pendingLength} bytes) of ${this.declared}`, 'manifest');
    }
    return this.declared;
  }
}

/**
 * Reads a manifest stream, yielding each item, and checks it against `expected` (the root and
 * count a training-use record commits to) at the end. The generator's return value is the
 * summary; an error is thrown before the caller sees the end if anything does not check out.
 */
export async function* readManifest(
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: ManifestOptions & { expected?: ManifestSummary } = {},
): AsyncGenerator<ManifestEntry, ManifestSummary> {
  const parser = new ManifestParser(opts);
  for await (const chunk of chunks) {
    const entries: ManifestEntry[] = [];
    parser.push(chunk, (e) => entries.push(e));
    yield* entries;
  }
  const summary = parser.end();
  if (opts.expected) checkExpected(summary, opts.expected);
  return summary;
}

/** Consumes a manifest stream and returns its summary after checking it against `expected`. */
export async function checkManifest(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, expected?: ManifestSummary, opts: ManifestOptions = {}): Promise<ManifestSummary> {
  const parser = new ManifestParser(opts);
  for await (const chunk of chunks) parser.push(chunk);
  const summary = parser.end();
  if (expected) checkExpected(summary, expected);
  return summary;
}

function checkExpected(actual: ManifestSummary, expected: ManifestSummary): void {
  if (actual.count !== expected.count) throw new RecordError('count-mismatch', `manifest has ${actual.count} items, expected ${expected.count}`, 'count');
  if (!equalHashes(actual.root, expected.root)) {
    throw new RecordError('root-mismatch', `manifest root is ${toHex(actual.root)}, expected ${toHex(expected.root)}`, 'root');
  }
}

// ---- per-item proofs -------------------------------------------------------------------

/**
 * Checks one manifest item against the root a training-use record commits to, without the rest
 * of the manifest, and returns the decoded item. Throws RecordError for malformed item bytes
 * and MerkleError if the proof does not lead to the root.
 */
export function verifyManifestItem(itemBytes: Uint8Array, position: number, count: number, proof: Hash[], root: Hash, hasher: Hasher = manifestHasher): UseItem {
  const item = decodeManifestItem(itemBytes);
  verifyInclusion(hasher, position, count, manifestLeafHash(itemBytes, hasher), proof, root);
  return item;
}

/** An in-memory tree of a manifest's items, for proofs over manifests that fit in memory. */
export function manifestTree(itemBytes: Iterable<Uint8Array>, hasher: Hasher = manifestHasher): MemoryTree {
  const tree = new MemoryTree(hasher);
  for (const bytes of itemBytes) tree.append(manifestLeafHash(bytes, hasher));
  return tree;
}
