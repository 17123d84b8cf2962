/**
 * Manifest storage in the ledger's key-value space (spec/storage.md "Manifests"). An upload
 * streams through ManifestParser (header and every item checked) while its items are written in
 * 256-item chunks and hashed, once, into the root and the tlog-tiles hash tiles of its Merkle
 * tree (the log's own TileBuilder), so a per-item proof reads one item chunk and at most one tile
 * per 8 tree levels above it, whatever the size.
 *
 * Every upload writes under a data key of its own (random, registered by an `S` key before its
 * first item), so uploads of one root never share keys and none waits for another while its
 * bytes arrive: only once an upload's root is verified does it take the root's lock and commit
 * (the `M` key, naming its data key). The first to commit stores the manifest; later ones answer
 * "already stored" and delete their copy. An upload that fails deletes what it wrote; one cut
 * off by a crash is found by its `S` key on open.
 *
 * A manifest that no training use in the log names yet is unclaimed (a `U` key) and counts
 * against its uploader's quota until it is claimed (claim, fed by the ledger from the log) or,
 * once its claim is late, removed (removeExpired, run by the ledger's sweep). Removed data is
 * marked (`D` keys) and deleted in bounded steps (collectGarbage).
 */
import { type Hash, CompactRange, HASH_SIZE, TILE_WIDTH } from '../merkle/index.js';
import { TileBuilder, TileTreeReader } from '../log/tiled-tree.js';
import type { KeyValueSpace } from '../store/index.js';
import { MANIFEST_HEADER_SIZE, MANIFEST_ITEM_SIZE, ManifestParser, decodeManifestItem, fromHex, manifestHasher, manifestItemsRoot, manifestSubtreeRoots, toBase64, toHex, type UseItem } from '../records/index.js';
import { Lru } from '../log/lru.js';
import { ManifestConflictError, LedgerInputError, ManifestQuotaError } from './errors.js';
import {
  TAG,
  concat,
  manifestClaimedKey,
  manifestGarbageKey,
  manifestItemsKey,
  manifestKey,
  manifestStagingKey,
  manifestTileKey,
  manifestUnclaimedKey,
  prefixRange,
  readU64,
  u64,
} from './keys.js';
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
    private readonly dataKey: Uint8Array,
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
      this.ops.push({ key: manifestItemsKey(this.dataKey, this.chunkIndex++), value: items.slice(at, at + chunkBytes) });
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
    for (const t of this.upper.takeChangedTiles()) this.ops.push({ key: manifestTileKey(this.dataKey, t.level + 1, t.index), value: t.hashes });
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

/** What unclaimed manifests may hold (spec/api.md "Unclaimed manifests"). */
export interface ManifestLimits {
  /** How long a stored manifest waits for a training use to claim it before it is removed, in ms. */
  claimWithinMs: number;
  /** Bytes one client may hold in unclaimed manifests and uploads in progress. */
  clientQuotaBytes: number;
  /** Bytes the whole server holds in unclaimed manifests and uploads in progress. */
  serverQuotaBytes: number;
}

export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = {
  claimWithinMs: 24 * 60 * 60 * 1000,
  clientQuotaBytes: 1024 * 1024 * 1024,
  serverQuotaBytes: 8 * 1024 * 1024 * 1024,
};

/**
 * The least a manifest counts for: with it a quota admits a bounded number of unclaimed
 * manifests, whose `U` keys are read on open and whose accounting is held in memory.
 */
export const MIN_MANIFEST_CHARGE = 64 * 1024;

/** The bytes a manifest of `count` items counts for against the quotas: its size in its byte format, at least MIN_MANIFEST_CHARGE. */
export function manifestCharge(count: number): number {
  return Math.max(MANIFEST_HEADER_SIZE + MANIFEST_ITEM_SIZE * count, MIN_MANIFEST_CHARGE);
}

/** Item chunks of deleted data removed per step, so that a sweep step's work is bounded (≈ 12.5 MB). */
const DELETE_CHUNKS = 1024;
/** When the quota is held only by uploads in progress, which end (or time out) on their own. */
const RETRY_WHILE_UPLOADING_S = 60;

/** The result of an upload: `expires` is when an unclaimed manifest is removed (ISO 8601), null once claimed. */
export interface ManifestPut {
  root: string;
  count: number;
  created: boolean;
  expires: string | null;
}

/** An unclaimed manifest whose claim is late: its root (hex) and when it was stored (its `U` key). */
export interface DueManifest {
  root: string;
  storedAt: number;
}

interface Unclaimed {
  storedAt: number;
  charge: number;
  client: string;
}

interface ClientBytes {
  held: number;
  reserved: number;
  /** Its unclaimed manifests' roots, about in the order stored (the oldest first). */
  roots: Set<string>;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const chunksOf = (count: number) => Math.ceil(count / CHUNK);

/**
 * Bytes held by unclaimed manifests (from their `U` keys) and reserved by uploads in progress,
 * per client and in all. Uploads reserve their whole size before their first byte is read (the
 * count in the query fixes it), so a quota also bounds what staging can fill.
 */
class UnclaimedBytes {
  readonly byRoot = new Map<string, Unclaimed>();
  private readonly clients = new Map<string, ClientBytes>();
  private held = 0;
  private reserved = 0;

  reserve(client: string, charge: number, limits: ManifestLimits, now: number): void {
    const mine = this.clients.get(client);
    const mineNow = (mine?.held ?? 0) + (mine?.reserved ?? 0);
    const who = client === '' ? 'this client' : `client ${client}`;
    const rule = `a manifest counts until a training-use record naming its root claims it, or until it is removed ${Math.round(limits.claimWithinMs / 1000)} s after it was stored`;
    if (charge > limits.clientQuotaBytes) {
      throw new ManifestQuotaError('manifest-too-large', `a manifest of this count counts for ${charge} bytes, more than the per-client quota of ${limits.clientQuotaBytes} bytes of unclaimed manifests`, 413);
    }
    if (mineNow + charge > limits.clientQuotaBytes) {
      const retry = this.retryAfter(mine?.roots.values().next().value, limits, now);
      throw new ManifestQuotaError('unclaimed-quota', `${who} holds ${mineNow} bytes of unclaimed manifests and uploads in progress; this upload's ${charge} would pass the per-client quota of ${limits.clientQuotaBytes} bytes (${rule})`, 429, retry);
    }
    if (this.held + this.reserved + charge > limits.serverQuotaBytes) {
      const retry = this.retryAfter(this.byRoot.keys().next().value, limits, now);
      throw new ManifestQuotaError('unclaimed-capacity', `the server holds ${this.held + this.reserved} bytes of unclaimed manifests and uploads in progress; this upload's ${charge} would pass its quota of ${limits.serverQuotaBytes} bytes (${rule})`, 507, retry);
    }
    const c = this.client(client);
    c.reserved += charge;
    this.reserved += charge;
  }

  release(client: string, charge: number): void {
    const c = this.client(client);
    c.reserved -= charge;
    this.reserved -= charge;
    this.forgetIfEmpty(client, c);
  }

  add(root: string, entry: Unclaimed): void {
    if (this.byRoot.has(root)) return;
    this.byRoot.set(root, entry);
    const c = this.client(entry.client);
    c.held += entry.charge;
    c.roots.add(root);
    this.held += entry.charge;
  }

  remove(root: string): void {
    const entry = this.byRoot.get(root);
    if (!entry) return;
    this.byRoot.delete(root);
    const c = this.client(entry.client);
    c.held -= entry.charge;
    c.roots.delete(root);
    this.held -= entry.charge;
    this.forgetIfEmpty(entry.client, c);
  }

  /** Seconds until the manifest `root` (the oldest counted) is due, at least 1. */
  private retryAfter(root: string | undefined, limits: ManifestLimits, now: number): number {
    const entry = root === undefined ? undefined : this.byRoot.get(root);
    if (!entry) return RETRY_WHILE_UPLOADING_S;
    return Math.max(1, Math.ceil((entry.storedAt + limits.claimWithinMs - now) / 1000));
  }

  private client(name: string): ClientBytes {
    let c = this.clients.get(name);
    if (!c) this.clients.set(name, (c = { held: 0, reserved: 0, roots: new Set() }));
    return c;
  }

  private forgetIfEmpty(name: string, c: ClientBytes): void {
    if (c.held === 0 && c.reserved === 0) this.clients.delete(name);
  }
}

export class ManifestStore {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Data of failed uploads not yet marked for deletion (the store refused writes: disk full), by data key, with its chunk count. */
  private readonly leftovers = new Map<string, number>();
  /** Tile readers by data key (not root: a root removed and uploaded again has new data). */
  private readonly readers = new Lru<string, TileTreeReader>(64);
  /** Roots known to be claimed: spares the feed a read for each use of a popular manifest. */
  private readonly claimedRoots = new Lru<string, true>(4096);
  private readonly unclaimed = new UnclaimedBytes();
  /** Deletion in progress: data key → next item chunk to delete. A restart begins again at 0, which costs only the ranges already empty. */
  private readonly deletedUpTo = new Map<string, number>();
  readonly limits: ManifestLimits;
  private readonly now: () => number;

  constructor(
    private readonly space: KeyValueSpace,
    private readonly hashSubtrees: ManifestSubtreeHasher = inThreadSubtreeHasher,
    opts: { limits?: Partial<ManifestLimits>; now?: () => number } = {},
  ) {
    this.limits = { ...DEFAULT_MANIFEST_LIMITS, ...opts.limits };
    this.now = opts.now ?? Date.now;
  }

  /**
   * Reads the accounting of unclaimed manifests, and marks for deletion what uploads cut off by
   * a crash left (their `S` keys). Before any upload, claim or sweep.
   */
  async open(): Promise<void> {
    const marks: Op[] = [];
    for await (const [key, value] of this.space.range(prefixRange(Uint8Array.of(TAG.manifestStaging)))) {
      marks.push({ key: key.slice(), value: null }, { key: manifestGarbageKey(key.slice(1)), value: u64(chunksOf(readU64(value, 32))) });
    }
    if (marks.length > 0) await this.space.write(marks);
    for await (const [key, value] of this.space.range(prefixRange(Uint8Array.of(TAG.manifestUnclaimed)))) {
      this.unclaimed.add(toHex(key.subarray(9, 41)), { storedAt: readU64(key, 1), charge: readU64(value), client: fromUtf8.decode(value.subarray(8)) });
    }
  }

  /** Where a stored manifest is: its count and data key; undefined if it is not (completely) stored. */
  private async locate(root: Hash): Promise<{ count: number; dataKey: Uint8Array } | undefined> {
    const v = await this.space.get(manifestKey(root));
    if (!v) return undefined;
    // Manifests stored before uploads were staged keep their data under the root.
    return { count: readU64(v), dataKey: v.length >= 40 ? v.slice(8, 40) : root };
  }

  /** The stored item count of a manifest, or undefined if it is not (completely) stored. */
  async count(root: Hash): Promise<number | undefined> {
    return (await this.locate(root))?.count;
  }

  /** When the manifest is removed unless claimed first (ISO 8601); null if it is claimed (or not stored). */
  expires(root: string): string | null {
    const entry = this.unclaimed.byRoot.get(root);
    return entry ? new Date(entry.storedAt + this.limits.claimWithinMs).toISOString() : null;
  }

  /**
   * Streams an upload into staging; stores it only if it parses and matches `expected`. `client`
   * names whose quota it counts against (opaque: the server passes the peer's address).
   */
  async put(body: AsyncIterable<Uint8Array>, expected: { root: string; count: number }, client = ''): Promise<ManifestPut> {
    const root = parseRootHex(expected.root);
    const count = checkCount(expected.count);
    await this.retryLeftovers();
    const stored = await this.count(root);
    if (stored !== undefined) {
      const answer = this.storedAnswer(root, count, stored);
      for await (const _ of body) void _; // drain: the bytes are already here
      return answer;
    }
    const charge = manifestCharge(count);
    this.unclaimed.reserve(client, charge, this.limits, this.now());
    try {
      const dataKey = globalThis.crypto.getRandomValues(new Uint8Array(32));
      await this.space.write([{ key: manifestStagingKey(dataKey), value: concat(root, u64(count), u64(this.now())) }]);
      let result: ManifestPut;
      try {
        await this.receive(body, dataKey, root, count);
        result = await this.locked(toHex(root), () => this.commit(root, count, dataKey, charge, client));
      } catch (e) {
        // The upload's own error is the answer; a clean-up the store refuses is retried later.
        await this.discard(dataKey, chunksOf(count));
        throw e;
      }
      if (!result.created) await this.discard(dataKey, chunksOf(count));
      return result;
    } finally {
      this.unclaimed.release(client, charge);
    }
  }

  private storedAnswer(root: Hash, count: number, stored: number): ManifestPut {
    if (stored !== count) throw new ManifestConflictError('manifest-conflict', `manifest ${toHex(root)} is stored with ${stored} items, not ${count}`, 'count');
    return { root: toHex(root), count, created: false, expires: this.expires(toHex(root)) };
  }

  /** One commit, claim or clean-up per root at a time. */
  private async locked<T>(key: string, job: () => Promise<T>): Promise<T> {
    while (this.locks.has(key)) await this.locks.get(key)!.catch(() => undefined);
    const run = job();
    this.locks.set(key, run);
    try {
      return await run;
    } finally {
      this.locks.delete(key);
    }
  }

  /** A verified upload becomes the manifest, unless another upload of the root committed first. */
  private async commit(root: Hash, count: number, dataKey: Uint8Array, charge: number, client: string): Promise<ManifestPut> {
    const stored = await this.count(root);
    if (stored !== undefined) return this.storedAnswer(root, count, stored);
    // Claimed before it was stored: a use in the log names it (it was stored once and lost).
    const claimed = await this.isClaimed(root);
    const storedAt = this.now();
    const ops: Op[] = [
      { key: manifestKey(root), value: concat(u64(count), dataKey) },
      { key: manifestStagingKey(dataKey), value: null },
    ];
    if (!claimed) ops.push({ key: manifestUnclaimedKey(storedAt, root), value: concat(u64(charge), utf8.encode(client)) });
    await this.space.write(ops);
    if (!claimed) this.unclaimed.add(toHex(root), { storedAt, charge, client });
    return { root: toHex(root), count, created: true, expires: this.expires(toHex(root)) };
  }

  private async isClaimed(root: Hash): Promise<boolean> {
    if ((await this.space.get(manifestClaimedKey(root))) !== undefined) return true;
    // Uses indexed by a version that kept no `C` keys.
    for await (const _ of this.space.range({ ...prefixRange(concat([TAG.manifestUse], root)), limit: 1 })) return true;
    return false;
  }

  /**
   * A training use in the log names `root` (the ledger calls this for every one, in log order,
   * before the policy learns of it): from now on the manifest is never removed and counts
   * against no quota. Also for a root not stored (yet): an upload of it later is claimed at once.
   */
  async claim(root: Hash): Promise<void> {
    const key = toHex(root);
    if (this.claimedRoots.get(key)) return;
    await this.locked(key, async () => {
      if ((await this.space.get(manifestClaimedKey(root))) !== undefined) return;
      const entry = this.unclaimed.byRoot.get(key);
      const ops: Op[] = [{ key: manifestClaimedKey(root), value: new Uint8Array(0) }];
      if (entry) ops.push({ key: manifestUnclaimedKey(entry.storedAt, root), value: null });
      await this.space.write(ops);
      this.unclaimed.remove(key);
    });
    this.claimedRoots.set(key, true);
  }

  /** Up to `limit` unclaimed manifests due for removal at `now` (stored at or before now − claimWithinMs), oldest first. */
  async expired(now: number, limit: number): Promise<DueManifest[]> {
    const cutoff = now - this.limits.claimWithinMs;
    if (cutoff < 0) return [];
    const due: DueManifest[] = [];
    const range = { gte: Uint8Array.of(TAG.manifestUnclaimed), lt: concat([TAG.manifestUnclaimed], u64(cutoff + 1)), limit };
    for await (const [key] of this.space.range(range)) due.push({ root: toHex(key.subarray(9, 41)), storedAt: readU64(key, 1) });
    return due;
  }

  /**
   * Removes those of `roots` that are still unclaimed and due at `now`: their `M` and `U` keys go
   * and their data is marked for deletion, in one durable write; the data itself goes in later
   * steps (collectGarbage). The caller guarantees that no use naming any of them is being
   * admitted or is in the log without having been claimed (the ledger's sweep). Returns how
   * many were removed.
   */
  async removeExpired(due: DueManifest[], now: number): Promise<number> {
    const ops: Op[] = [];
    const removed: string[] = [];
    for (const { root: key, storedAt } of due) {
      if (storedAt + this.limits.claimWithinMs > now) continue;
      const root = fromHex(key)!;
      ops.push({ key: manifestUnclaimedKey(storedAt, root), value: null });
      removed.push(key);
      // The store decides, not the accounting in memory: a `U` key left beside a `C` key is only dropped.
      if ((await this.space.get(manifestClaimedKey(root))) !== undefined) continue;
      const stored = await this.locate(root);
      if (stored) ops.push({ key: manifestKey(root), value: null }, { key: manifestGarbageKey(stored.dataKey), value: u64(chunksOf(stored.count)) });
    }
    if (ops.length === 0) return 0;
    await this.space.write(ops);
    for (const key of removed) this.unclaimed.remove(key);
    return removed.length;
  }

  /** Deletes one bounded piece of data no manifest refers to; false when there was none. */
  async collectGarbage(): Promise<boolean> {
    await this.retryLeftovers();
    for await (const [key, value] of this.space.range({ ...prefixRange(Uint8Array.of(TAG.manifestGarbage)), limit: 1 })) {
      await this.deleteStep(key.slice(1), readU64(value));
      return true;
    }
    return false;
  }

  /**
   * One step of deleting the data under `dataKey` (marked by its `D` key): a window of item
   * chunks, or after the last one the tiles, anything left, and the mark. True when done.
   */
  private async deleteStep(dataKey: Uint8Array, chunks: number): Promise<boolean> {
    const k = toHex(dataKey);
    const from = this.deletedUpTo.get(k) ?? 0;
    if (from < chunks) {
      const to = Math.min(chunks, from + DELETE_CHUNKS);
      await this.space.clear({ gte: manifestItemsKey(dataKey, from), lt: manifestItemsKey(dataKey, to) });
      this.deletedUpTo.set(k, to);
      return false;
    }
    await this.space.clear(prefixRange(concat([TAG.manifestItems], dataKey)));
    await this.space.clear(prefixRange(concat([TAG.manifestTile], dataKey)));
    // Not durable: if lost, the data is deleted again, and there is none.
    await this.space.write([{ key: manifestGarbageKey(dataKey), value: null }], { durable: false });
    this.deletedUpTo.delete(k);
    return true;
  }

  /** Deletes an upload's staging data now; what the store refuses is marked, or remembered, for later. */
  private async discard(dataKey: Uint8Array, chunks: number): Promise<void> {
    try {
      // The mark replaces the `S` key so that, from here on, the sweep finishes the deletion if this does not.
      await this.space.write([
        { key: manifestStagingKey(dataKey), value: null },
        { key: manifestGarbageKey(dataKey), value: u64(chunks) },
      ]);
    } catch {
      this.leftovers.set(toHex(dataKey), chunks);
      return;
    }
    try {
      while (!(await this.deleteStep(dataKey, chunks)));
    } catch {
      // Marked: the sweep deletes it.
    }
  }

  /** Deletes what failed uploads left when their own clean-up failed too (the store refused writes). */
  private async retryLeftovers(): Promise<void> {
    for (const [k, chunks] of [...this.leftovers]) {
      this.leftovers.delete(k);
      await this.discard(fromHex(k)!, chunks);
    }
  }

  private async receive(body: AsyncIterable<Uint8Array>, dataKey: Uint8Array, root: Hash, count: number): Promise<void> {
    const writer = new UploadWriter(this.space, dataKey, this.hashSubtrees);
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
  }

  /** Every item in order from position `from` on, chunk by chunk (for indexing a training use). */
  async *items(root: Hash, from = 0): AsyncIterable<{ position: number; bytes: Uint8Array }> {
    const count = await this.count(root);
    if (count === undefined) return;
    const firstChunk = Math.floor(from / CHUNK);
    let position = firstChunk * CHUNK;
    for await (const value of this.chunks(root, count, firstChunk)) {
      for (let at = 0; at + MANIFEST_ITEM_SIZE <= value.length; at += MANIFEST_ITEM_SIZE, position++) {
        if (position >= from) yield { position, bytes: value.subarray(at, at + MANIFEST_ITEM_SIZE) };
      }
    }
  }

  /**
   * The stored item chunks of a complete manifest of `count` items (see count()), in order from
   * chunk `fromChunk` on. Only the chunks its count covers: a manifest stored under its root by an
   * earlier version may have more behind it, left by an upload of the same root cut short by a crash.
   */
  async *chunks(root: Hash, count: number, fromChunk = 0): AsyncIterable<Uint8Array> {
    const stored = await this.locate(root);
    if (!stored) return;
    const range = { gte: manifestItemsKey(stored.dataKey, fromChunk), lt: manifestItemsKey(stored.dataKey, chunksOf(count)) };
    for await (const [, value] of this.space.range(range)) yield value;
  }

  async item(root: Hash, position: number): Promise<{ bytes: Uint8Array; decoded: UseItem; count: number; dataKey: Uint8Array } | undefined> {
    const stored = await this.locate(root);
    if (stored === undefined || !Number.isSafeInteger(position) || position < 0 || position >= stored.count) return undefined;
    const chunk = await this.space.get(manifestItemsKey(stored.dataKey, Math.floor(position / CHUNK)));
    if (!chunk) return undefined;
    const at = (position % CHUNK) * MANIFEST_ITEM_SIZE;
    const bytes = chunk.slice(at, at + MANIFEST_ITEM_SIZE);
    return { bytes, decoded: decodeManifestItem(bytes), count: stored.count, dataKey: stored.dataKey };
  }

  /** The item at `position` with its RFC 6962 inclusion proof under manifestHasher. */
  async proof(root: Hash, position: number): Promise<ManifestItemProof | undefined> {
    const found = await this.item(root, position);
    if (!found) return undefined;
    const proof = await this.reader(found.dataKey).inclusionProof(position, found.count);
    return {
      root: toHex(root),
      count: found.count,
      position,
      item: toBase64(found.bytes),
      decoded: found.decoded as unknown as Record<string, unknown>,
      proof: proof.map(toBase64),
    };
  }

  private reader(dataKey: Uint8Array): TileTreeReader {
    const key = toHex(dataKey);
    let reader = this.readers.get(key);
    if (!reader) {
      reader = new TileTreeReader((coords) => this.loadTiles(dataKey, coords), manifestHasher, 64);
      this.readers.set(key, reader);
    }
    return reader;
  }

  /** Hash tiles of a manifest's tree: level 0 from its item chunk, the others as stored. */
  private async loadTiles(dataKey: Uint8Array, coords: Array<{ level: number; index: number }>): Promise<(Uint8Array | undefined)[]> {
    const stored = await this.space.getMany(coords.map((c) => (c.level === 0 ? manifestItemsKey(dataKey, c.index) : manifestTileKey(dataKey, c.level, c.index))));
    return stored.map((value, i) => (value && coords[i].level === 0 ? leafHashTile(value) : value));
  }
}

/** The level-0 tile of a chunk of items: their leaf hashes, in order. */
function leafHashTile(items: Uint8Array): Uint8Array {
  const hashes = new Uint8Array((items.length / MANIFEST_ITEM_SIZE) * HASH_SIZE);
  manifestItemsRoot(items, manifestHasher, hashes);
  return hashes;
}
