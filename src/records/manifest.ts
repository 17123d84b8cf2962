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
 */
import { type Hash, type Hasher, CompactRange, MemoryTree, equalHashes, verifyInclusion } from '../merkle/index.js';
import { equalBytes, hexInto, toHex } from './encoding.js';
import { RecordError } from './errors.js';
import { preview } from './keys.js';
import type { UseItem } from './schema.js';
import { shortInputHasher } from './short-input-hasher.js';
import { isWorkId, type WorkId } from './works.js';

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

/** Where an identifier's digest goes in an item, by scheme; undefined for what items cannot hold. */
const ITEM_SLOTS: Record<string, { at: number; hexLength: number; kind: number } | undefined> = {
  sha256: { at: SHA256_AT, hexLength: 64, kind: -1 },
  phash: { at: PERCEPTUAL_AT, hexLength: 16, kind: 1 },
  tcode: { at: PERCEPTUAL_AT, hexLength: 16, kind: 2 },
};

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
    const slot = colon > 0 ? ITEM_SLOTS[(id as string).slice(0, colon)] : undefined;
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
  if (consent && 'none' in consent && consent.none === true && Object.keys(consent).length === 1) return 0;
  if (consent && 'index' in consent && Object.keys(consent).length === 1) {
    const index = consent.index;
    if (!Number.isSafeInteger(index) || index < 0) throw new RecordError('bad-field', `index must be a non-negative integer below 2^53, got ${preview(index)}`, `${field}.index`);
    writeU64(out, offset + CONSENT_AT, index);
    return FLAG_CONSENT;
  }
  if (consent && 'leafHash' in consent) throw new RecordError('bad-manifest', 'manifest items name consents by log index: resolve the leaf hash to its index first', field);
  throw new RecordError('bad-field', `must be {"index": N} or {"none": true}, got ${preview(consent)}`, field);
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
 */
export async function writeManifest(
  items: Iterable<UseItem> | AsyncIterable<UseItem>,
  count: number,
  sink: (chunk: Uint8Array) => void | Promise<void>,
  opts: ManifestOptions = {},
): Promise<ManifestSummary> {
  const builder = new ManifestBuilder(count, opts);
  await sink(builder.header);
  let chunk = new Uint8Array(CHUNK_ITEMS * MANIFEST_ITEM_SIZE);
  let filled = 0;
  /** Places one item; the full chunk to flush, if it filled one. */
  const place = (item: UseItem): Uint8Array | undefined => {
    builder.addInto(item, chunk, filled * MANIFEST_ITEM_SIZE);
    if (++filled < CHUNK_ITEMS) return undefined;
    const full = chunk;
    chunk = new Uint8Array(CHUNK_ITEMS * MANIFEST_ITEM_SIZE);
    filled = 0;
    return full;
  };
  if (Symbol.iterator in items) {
    // `for await` over a synchronous source costs a promise per item; await only per chunk.
    for (const item of items) {
      const full = place(item);
      if (full) await sink(full);
    }
  } else {
    for await (const item of items) {
      const full = place(item);
      if (full) await sink(full);
    }
  }
  if (filled > 0) await sink(chunk.subarray(0, filled * MANIFEST_ITEM_SIZE));
  return builder.finish();
}

/** The lower-level builder behind writeManifest, for callers that frame the bytes themselves. */
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
  private readonly hasher: Hasher;
  private readonly range: CompactRange;
  private readonly pending = new Uint8Array(MANIFEST_ITEM_SIZE);
  private pendingLength = 0;
  private readonly headerBytes = new Uint8Array(MANIFEST_HEADER_SIZE);
  private headerLength = 0;
  private declared: number | undefined;

  constructor(opts: ManifestOptions = {}) {
    this.hasher = opts.hasher ?? manifestHasher;
    this.range = new CompactRange(this.hasher);
  }

  /** Items declared by the header (undefined until the header is complete). */
  get count(): number | undefined {
    return this.declared;
  }

  get parsed(): number {
    return this.range.size;
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
    if (this.range.size >= this.declared!) {
      throw new RecordError('bad-manifest', `has bytes after its ${this.declared} declared items`, 'manifest');
    }
  }

  private acceptItem(bytes: Uint8Array, at: number, onItem?: (entry: ManifestEntry) => void): void {
    this.checkRoomForItem();
    const position = this.range.size;
    const problem = itemProblem(bytes, at);
    if (problem) throw new RecordError('bad-manifest', problem, `manifest.items[${position}]`);
    const item = bytes.subarray(at, at + MANIFEST_ITEM_SIZE);
    this.range.push(this.hasher.hashLeaf(item));
    onItem?.({ position, bytes: item });
  }

  /** Ends the stream: the root and count, or an error if it was cut short. */
  end(): ManifestSummary {
    if (this.declared === undefined) throw new RecordError('bad-manifest', `ends inside its ${MANIFEST_HEADER_SIZE}-byte header (${this.headerLength} bytes)`, 'manifest');
    if (this.range.size < this.declared || this.pendingLength > 0) {
      throw new RecordError('bad-manifest', `is truncated: ends after ${this.range.size} whole items (+${this.pendingLength} bytes) of ${this.declared}`, 'manifest');
    }
    return { root: this.range.root(), count: this.declared };
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
