/**
 * Manifest storage in the ledger's key-value space. An upload streams through ManifestParser
 * (header and every item checked) while its items are written in 256-item chunks and hashed,
 * once, into the root and the tlog-tiles hash tiles of its Merkle tree (the log's own
 * TileBuilder), so a per-item proof reads one item chunk and at most one tile per 8 tree levels
 * above it, whatever the size.
 * The manifest becomes visible only when its `M` key is written, after root and count matched;
 * a failed upload deletes what it wrote.
 */
import { type Hash, CompactRange, HASH_SIZE, TILE_WIDTH } from '../merkle/index.js';
import { TileBuilder, TileTreeReader } from '../log/tiled-tree.js';
import type { KeyValueSpace } from '../store/index.js';
import { MANIFEST_ITEM_SIZE, ManifestParser, decodeManifestItem, fromHex, manifestHasher, manifestItemsRoot, manifestSubtreeRoots, toBase64, toHex, type UseItem } from '../records/index.js';
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

/**
 * Hashes a batch of encoded items to the roots of its aligned runs of `subtreeItems` items
 * (manifestSubtreeRoots), taking the buffer. Injected so that a server hashes in worker threads
 * (src/platform/manifest-hash-pool.ts) and its main thread stays free for other requests.
 */
export type ManifestSubtreeHasher = (items: Uint8Array, subtreeItems: number) => Promise<Uint8Array>;

/** In this thread (tests, tools). */
export const inThreadSubtreeHasher: ManifestSubtreeHasher = async (items, subtreeItems) => manifestSubtreeRoots(items, subtreeItems, manifestHasher);

/** Items per hashing batch: one write's worth of chunks. */
const BATCH_ITEMS = CHUNKS_PER_WRITE * CHUNK;
/** Batches being hashed before the upload waits for the oldest (keeps the workers busy). */
const BATCHES_IN_FLIGHT = 2;

/**
 * One upload's writes, fed by the parser item by item. Items are kept in 256-item chunks (`I`
 * keys), written as they arrive. Each chunk is hashed once, in batches: its root is the next
 * leaf of the tree of chunk roots, whose tiles are the manifest's tiles from level 1 up. Level-0
 * tiles are not stored: a chunk's leaf hashes are recomputed from the chunk, which a proof reads
 * anyway. The manifest's root comes from the same chunk roots (complete subtrees:
 * spec/records.md §4.2), so the parser need not hash at all.
 */
class UploadWriter {
  /** The tree over full chunks' roots: its tile level L is the manifest's tile level L + 1. */
  private readonly upper = new TileBuilder(manifestHasher);
  /** Every chunk's root, the last (partial) one too: the manifest's root. */
  private readonly chunkRoots = new CompactRange(manifestHasher);
  private batch = new Uint8Array(BATCH_ITEMS * MANIFEST_ITEM_SIZE);
  private filled = 0;
  private chunkIndex = 0;
  /** Batches being hashed, oldest first, with their item counts. */
  private readonly hashing: Array<{ roots: Promise<Uint8Array>; items: number }> = [];
  private ops: Op[] = [];

  constructor(
    private readonly space: KeyValueSpace,
    private readonly manifestRoot: Hash,
    private readonly hashSubtrees: ManifestSubtreeHasher,
  ) {}

  add(item: Uint8Array): void {
    this.batch.set(item, this.filled * MANIFEST_ITEM_SIZE);
    if (++this.filled === BATCH_ITEMS) this.closeBatch();
  }

  /** Queues the batch's chunk writes and sends it to be hashed. */
  private closeBatch(): void {
    if (this.filled === 0) return;
    const items = this.filled === BATCH_ITEMS ? this.batch : this.batch.slice(0, this.filled * MANIFEST_ITEM_SIZE);
    const chunkBytes = CHUNK * MANIFEST_ITEM_SIZE;
    for (let at = 0; at < items.length; at += chunkBytes) {
      this.ops.push({ key: manifestItemsKey(this.manifestRoot, this.chunkIndex++), value: items.slice(at, at + chunkBytes) });
    }
    const roots = this.hashSubtrees(items, CHUNK); // takes `items`: the chunks above are copies
    roots.catch(() => undefined); // awaited in order below; until then not "unhandled"
    this.hashing.push({ roots, items: this.filled });
    this.batch = new Uint8Array(BATCH_ITEMS * MANIFEST_ITEM_SIZE);
    this.filled = 0;
  }

  /** Takes the oldest batch's chunk roots into the range and, for full chunks, the tiles. */
  private async absorbOldest(): Promise<void> {
    const { roots, items } = this.hashing.shift()!;
    const hashes = await roots;
    const fullChunks = Math.floor(items / CHUNK);
    const forTiles: Hash[] = [];
    for (let i = 0; i * HASH_SIZE < hashes.length; i++) {
      const root = hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
      this.chunkRoots.push(root);
      if (i < fullChunks) forTiles.push(root);
    }
    this.upper.append(forTiles);
    for (const t of this.upper.takeChangedTiles()) this.ops.push({ key: manifestTileKey(this.manifestRoot, t.level + 1, t.index), value: t.hashes });
  }

  /** Lets hashing and writing catch up when enough is pending (bounded memory). */
  async flushIfBig(): Promise<void> {
    while (this.hashing.length > BATCHES_IN_FLIGHT) await this.absorbOldest();
    if (this.ops.length >= CHUNKS_PER_WRITE) await this.write();
  }

  /** After the last item: the root of all items, once every chunk is hashed (nothing written yet for the rest). */
  async finish(): Promise<Hash> {
    this.closeBatch();
    while (this.hashing.length > 0) await this.absorbOldest();
    return this.chunkRoots.root();
  }

  async write(): Promise<void> {
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

  constructor(
    private readonly space: KeyValueSpace,
    private readonly hashSubtrees: ManifestSubtreeHasher = inThreadSubtreeHasher,
  ) {}

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
    const writer = new UploadWriter(this.space, root, this.hashSubtrees);
    const parser = new ManifestParser({ hashItems: false });
    for await (const chunk of body) {
      parser.push(chunk, (item) => writer.add(item.bytes));
      // Refuse early: a header declaring another count can never match.
      if (parser.count !== undefined && parser.count !== count) {
        throw new LedgerInputError('count-mismatch', `manifest declares ${parser.count} items, expected ${count}`, 'count');
      }
      await writer.flushIfBig();
    }
    parser.close();
    const computed = await writer.finish();
    if (toHex(computed) !== toHex(root)) {
      throw new LedgerInputError('root-mismatch', `manifest root is ${toHex(computed)}, expected ${toHex(root)}`, 'root');
    }
    await writer.write();
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
    const count = await this.count(root);
    if (count === undefined) return;
    let position = 0;
    for await (const value of this.chunks(root, count)) {
      for (let at = 0; at + MANIFEST_ITEM_SIZE <= value.length; at += MANIFEST_ITEM_SIZE) {
        yield { position: position++, bytes: value.subarray(at, at + MANIFEST_ITEM_SIZE) };
      }
    }
  }

  /**
   * The stored item chunks of a complete manifest of `count` items (see count()), in order. Only
   * the chunks its count covers: an upload of the same root cut short by a crash may have left
   * more behind, which the next upload does not overwrite.
   */
  async *chunks(root: Hash, count: number): AsyncIterable<Uint8Array> {
    const range = { gte: manifestItemsKey(root, 0), lt: manifestItemsKey(root, Math.ceil(count / CHUNK)) };
    for await (const [, value] of this.space.range(range)) yield value;
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
      reader = new TileTreeReader((coords) => this.loadTiles(root, coords), manifestHasher, 64);
      this.readers.set(key, reader);
    }
    return reader;
  }

  /** Hash tiles of a manifest's tree: level 0 from its item chunk, the others as stored. */
  private async loadTiles(root: Hash, coords: Array<{ level: number; index: number }>): Promise<(Uint8Array | undefined)[]> {
    const stored = await this.space.getMany(coords.map((c) => (c.level === 0 ? manifestItemsKey(root, c.index) : manifestTileKey(root, c.level, c.index))));
    return stored.map((value, i) => (value && coords[i].level === 0 ? leafHashTile(value) : value));
  }
}

/** The level-0 tile of a chunk of items: their leaf hashes, in order. */
function leafHashTile(items: Uint8Array): Uint8Array {
  const hashes = new Uint8Array((items.length / MANIFEST_ITEM_SIZE) * HASH_SIZE);
  manifestItemsRoot(items, manifestHasher, hashes);
  return hashes;
}
