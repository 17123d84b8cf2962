/**
 * Manifest storage in the ledger's key-value space. An upload streams through ManifestParser
 * (header and every item checked, root recomputed) while its items are written in 256-item
 * chunks and its Merkle tree as tlog-tiles hash tiles (the log's own TileBuilder), so a
 * per-item proof reads one item chunk and at most one tile per 8 tree levels, whatever the size.
 * The manifest becomes visible only when its `M` key is written, after root and count matched;
 * a failed upload deletes what it wrote.
 */
import { type Hash, TILE_WIDTH } from '../merkle/index.js';
import { TileBuilder, TileTreeReader } from '../log/tiled-tree.js';
import type { KeyValueSpace } from '../store/index.js';
import { MANIFEST_ITEM_SIZE, ManifestParser, decodeManifestItem, fromHex, manifestHasher, toBase64, toHex, type UseItem } from '../records/index.js';
import { Lru } from '../log/lru.js';
import { ManifestConflictError, LedgerInputError } from './errors.js';
import { concat, manifestItemsKey, manifestKey, manifestTileKey, prefixRange, readU64, TAG, u64 } from './keys.js';
import type { ManifestItemProof } from './types.js';

/** Items per stored chunk: one chunk per level-0 tile. */
const CHUNK = TILE_WIDTH;
/** Write accumulated ops once this many item chunks are pending (≈ 1.6 MiB per batch). */
const CHUNKS_PER_WRITE = 128;

type Op = { key: Uint8Array; value: Uint8Array | null };

export function parseRootHex(root: unknown, field = 'root'): Hash {
  const bytes = typeof root === 'string' && /^[0-9a-f]{64}$/.test(root) ? fromHex(root) : undefined;
  if (!bytes) throw new LedgerInputError('bad-field', 'must be 64 lowercase hex digits', field);
  return bytes;
}

function checkCount(count: unknown): number {
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw new LedgerInputError('bad-field', 'must be an integer from 1 to 2^53 − 1', 'count');
  return count;
}

/** Collects one upload's writes: item chunks, tiles, flushed in bounded batches. */
class UploadWriter {
  private readonly builder = new TileBuilder(manifestHasher);
  private chunk = new Uint8Array(CHUNK * MANIFEST_ITEM_SIZE);
  private filled = 0;
  private chunkIndex = 0;
  private hashes: Hash[] = [];
  private ops: Op[] = [];

  constructor(
    private readonly space: KeyValueSpace,
    private readonly root: Hash,
  ) {}

  add(bytes: Uint8Array): void {
    this.chunk.set(bytes, this.filled * MANIFEST_ITEM_SIZE);
    this.hashes.push(manifestHasher.hashLeaf(bytes));
    if (++this.filled === CHUNK) this.closeChunk();
  }

  private closeChunk(): void {
    if (this.filled === 0) return;
    this.ops.push({ key: manifestItemsKey(this.root, this.chunkIndex), value: this.chunk.slice(0, this.filled * MANIFEST_ITEM_SIZE) });
    this.chunkIndex++;
    this.filled = 0;
  }

  async flushIfBig(): Promise<void> {
    if (this.ops.length >= CHUNKS_PER_WRITE) await this.flush();
  }

  async flush(final = false): Promise<void> {
    if (final) this.closeChunk();
    this.builder.append(this.hashes);
    this.hashes = [];
    for (const t of this.builder.takeChangedTiles()) this.ops.push({ key: manifestTileKey(this.root, t.level, t.index), value: t.hashes });
    const ops = this.ops;
    this.ops = [];
    if (ops.length > 0) await this.space.write(ops);
  }
}

export class ManifestStore {
  private readonly uploads = new Map<string, Promise<unknown>>();
  /** Roots of failed uploads whose partial items could not be deleted yet. */
  private readonly leftovers = new Set<string>();
  private readonly readers = new Lru<string, TileTreeReader>(64);

  constructor(private readonly space: KeyValueSpace) {}

  /** The stored item count of a manifest, or undefined if it is not (completely) stored. */
  async count(root: Hash): Promise<number | undefined> {
    const v = await this.space.get(manifestKey(root));
    return v ? readU64(v) : undefined;
  }

  /** Streams an upload; stores it only if it parses and matches `expected`. */
  async put(body: AsyncIterable<Uint8Array>, expected: { root: string; count: number }): Promise<{ root: string; count: number; created: boolean }> {
    const root = parseRootHex(expected.root);
    const count = checkCount(expected.count);
    await this.discardLeftovers(expected.root);
    return this.locked(expected.root, () => this.putLocked(body, root, count));
  }

  /** One upload (or clean-up) per root at a time: a failing upload cleans up what a concurrent one wrote. */
  private async locked<T>(key: string, job: () => Promise<T>): Promise<T> {
    while (this.uploads.has(key)) await this.uploads.get(key)!.catch(() => undefined);
    const run = job();
    this.uploads.set(key, run);
    try {
      return await run;
    } finally {
      this.uploads.delete(key);
    }
  }

  /**
   * Removes what failed uploads left when their own clean-up failed too (the store refused
   * writes: disk full). Best effort, before each upload; `except` is cleaned by its own upload.
   */
  private async discardLeftovers(except: string): Promise<void> {
    for (const key of [...this.leftovers]) {
      if (key === except) continue;
      await this.locked(key, async () => {
        if (!this.leftovers.has(key)) return;
        const root = fromHex(key)!;
        if ((await this.count(root)) === undefined) await this.discard(root);
        this.leftovers.delete(key);
      }).catch(() => undefined);
    }
  }

  private async putLocked(body: AsyncIterable<Uint8Array>, root: Hash, count: number): Promise<{ root: string; count: number; created: boolean }> {
    const stored = await this.count(root);
    if (stored !== undefined) {
      if (stored !== count) throw new ManifestConflictError('manifest-conflict', `manifest ${toHex(root)} is stored with ${stored} items, not ${count}`, 'count');
      for await (const _ of body) void _; // drain: the bytes are already here
      return { root: toHex(root), count, created: false };
    }
    try {
      await this.receive(body, root, count);
    } catch (e) {
      // The upload's own error is the answer; a clean-up the store refuses is retried later.
      await this.discard(root).then(
        () => this.leftovers.delete(toHex(root)),
        () => this.leftovers.add(toHex(root)),
      );
      throw e;
    }
    this.leftovers.delete(toHex(root));
    return { root: toHex(root), count, created: true };
  }

  private async receive(body: AsyncIterable<Uint8Array>, root: Hash, count: number): Promise<void> {
    const parser = new ManifestParser({ hasher: manifestHasher });
    const writer = new UploadWriter(this.space, root);
    for await (const chunk of body) {
      parser.push(chunk, (e) => writer.add(e.bytes));
      // Refuse early: a header declaring another count can never match.
      if (parser.count !== undefined && parser.count !== count) {
        throw new LedgerInputError('count-mismatch', `manifest declares ${parser.count} items, expected ${count}`, 'count');
      }
      await writer.flushIfBig();
    }
    const summary = parser.end();
    if (toHex(summary.root) !== toHex(root)) {
      throw new LedgerInputError('root-mismatch', `manifest root is ${toHex(summary.root)}, expected ${toHex(root)}`, 'root');
    }
    await writer.flush(true);
    await this.space.write([{ key: manifestKey(root), value: u64(count) }]);
  }

  private async discard(root: Hash): Promise<void> {
    await this.space.clear(prefixRange(concat([TAG.manifestItems], root)));
    await this.space.clear(prefixRange(concat([TAG.manifestTile], root)));
  }

  /** Item bytes of [first, first+count) (within one manifest of `total` items). */
  async itemChunk(root: Hash, chunk: number): Promise<Uint8Array | undefined> {
    return this.space.get(manifestItemsKey(root, chunk));
  }

  /** Every item in order, chunk by chunk (for indexing a training use). */
  async *items(root: Hash): AsyncIterable<{ position: number; bytes: Uint8Array }> {
    let position = 0;
    for await (const [, value] of this.space.range(prefixRange(concat([TAG.manifestItems], root)))) {
      for (let at = 0; at + MANIFEST_ITEM_SIZE <= value.length; at += MANIFEST_ITEM_SIZE) {
        yield { position: position++, bytes: value.subarray(at, at + MANIFEST_ITEM_SIZE) };
      }
    }
  }

  async item(root: Hash, position: number): Promise<{ bytes: Uint8Array; decoded: UseItem; count: number } | undefined> {
    const count = await this.count(root);
    if (count === undefined || !Number.isSafeInteger(position) || position < 0 || position >= count) return undefined;
    const chunk = await this.itemChunk(root, Math.floor(position / CHUNK));
    if (!chunk) return undefined;
    const at = (position % CHUNK) * MANIFEST_ITEM_SIZE;
    const bytes = chunk.slice(at, at + MANIFEST_ITEM_SIZE);
    return { bytes, decoded: decodeManifestItem(bytes), count };
  }

  /** The item at `position` with its RFC 6962 inclusion proof under manifestHasher. */
  async proof(root: Hash, position: number): Promise<ManifestItemProof | undefined> {
    const found = await this.item(root, position);
    if (!found) return undefined;
    const proof = await this.reader(root).inclusionProof(position, found.count);
    return {
      root: toHex(root),
      count: found.count,
      position,
      item: toBase64(found.bytes),
      decoded: found.decoded as unknown as Record<string, unknown>,
      proof: proof.map(toBase64),
    };
  }

  private reader(root: Hash): TileTreeReader {
    const key = toHex(root);
    let reader = this.readers.get(key);
    if (!reader) {
      reader = new TileTreeReader((coords) => this.space.getMany(coords.map((c) => manifestTileKey(root, c.level, c.index))), manifestHasher, 64);
      this.readers.set(key, reader);
    }
    return reader;
  }
}

