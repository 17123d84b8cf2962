/**
 * The append-only log: sequences opaque entries, integrates them into tlog-tiles hash tiles,
 * signs checkpoints and proves inclusion and consistency. It knows nothing of what entries mean.
 *
 * Life of an entry:
 *   append()    → deduplicated by leaf hash, given the next index, stored durably (group commit);
 *   integrate() → hashed into tiles; tiles and a newly signed checkpoint stored in one atomic,
 *                 durable write; only then is the checkpoint served.
 * A crash between the two loses nothing: on open, sequenced-but-unintegrated entries are re-read.
 */
import {
  type Hash,
  type Hasher,
  type TileCoord,
  HASH_SIZE,
  TILE_WIDTH,
  equalHashes,
  tileWidthAt,
  verifyConsistency,
} from '../merkle/index.js';
import { type Checkpoint, type Signer, parseCheckpoint, parseNote, signCheckpoint } from '../note/index.js';
import type { LogStore, StoredTile } from '../store/index.js';
import { LedgerError } from '../errors.js';
import { MAX_ENTRY_SIZE, encodeBundle } from './bundle.js';
import { Lru } from './lru.js';
import { TileBuilder, TileTreeReader } from './tiled-tree.js';
import { type Integrator, inThreadIntegrator } from './integrator.js';

export class LogError extends LedgerError {}

export interface LogOptions {
  origin: string;
  signer: Signer;
  hasher: Hasher;
  /** Entries per append write (group commit); default 8192. */
  maxAppendBatch?: number;
  /** Hash tiles kept in memory; default 8192 (≈ 64 MiB). */
  tileCacheSize?: number;
  /**
   * Extension lines for the checkpoint of a tree of `size` entries. The log does not know what
   * its entries mean; its personality does (the ledger's time line: spec/notes.md).
   */
  extensions?: (size: number) => string[] | Promise<string[]>;
  /** Where integration hashing runs; default this thread, with `hasher`. It must hash as `hasher` does. */
  integrator?: Integrator;
}

export interface AppendResult {
  index: number;
  leafHash: Hash;
  /** True when the same bytes were already in the log: `index` is theirs. */
  duplicate: boolean;
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** The signed note as served at /checkpoint. */
  note: Uint8Array;
}

export interface IntegrationRound {
  from: number;
  to: number;
  checkpoint: SignedCheckpoint;
}

interface Pending {
  entries: Uint8Array[];
  resolve: (r: AppendResult[]) => void;
  reject: (e: unknown) => void;
}

interface HashedBatch {
  pending: Pending[];
  entries: Uint8Array[];
  leafHashes: Hash[];
}

/** Finds an earlier identical leaf hash in one batch, keyed by a 48-bit prefix (no strings). */
class InBatchIndex {
  private readonly seen = new Map<number, number[]>();

  constructor(private readonly hashes: Hash[]) {}

  /** The first earlier position with the same hash as position i, or undefined (and records i). */
  firstEqual(i: number): number | undefined {
    const h = this.hashes[i];
    const key = h[0] * 2 ** 40 + h[1] * 2 ** 32 + (((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0);
    const positions = this.seen.get(key);
    if (!positions) {
      this.seen.set(key, [i]);
      return undefined;
    }
    const same = positions.find((j) => equalHashes(this.hashes[j], h));
    if (same === undefined) positions.push(i);
    return same;
  }
}

const utf8 = new TextEncoder();

export class Log {
  private appendQueue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /** Leaf hashes of sequenced entries not yet integrated, starting at builder.size. */
  private unintegrated: Hash[] = [];
  private sequenced: number;
  private integrating: Promise<IntegrationRound | null> | null = null;
  private readonly tileCache: Lru<string, Uint8Array>;
  private readonly reader: TileTreeReader;
  private readonly listeners: Array<(round: IntegrationRound) => void> = [];
  private closed = false;
  private readonly integrator: Integrator;

  private constructor(
    private readonly store: LogStore,
    private readonly opts: LogOptions,
    private builder: TileBuilder,
    private current: SignedCheckpoint,
    sequenced: number,
  ) {
    this.sequenced = sequenced;
    this.tileCache = new Lru(opts.tileCacheSize ?? 8192);
    this.reader = new TileTreeReader((coords) => this.loadTiles(coords), opts.hasher);
    this.integrator = opts.integrator ?? inThreadIntegrator(opts.hasher);
  }

  /** Opens the log in `store`, resuming after a crash at any point. */
  static async open(store: LogStore, opts: LogOptions): Promise<Log> {
    const stored = await store.readCheckpoint();
    let builder: TileBuilder;
    let current: SignedCheckpoint;
    if (stored) {
      const checkpoint = parseCheckpoint(parseNote(stored).text);
      if (checkpoint.origin !== opts.origin) {
        throw new LogError('origin-mismatch', `the store holds log ${checkpoint.origin}, not ${opts.origin}`);
      }
      const coords = TileBuilder.edgeCoords(checkpoint.size);
      const tiles = await store.readTiles(coords);
      builder = new TileBuilder(opts.hasher, checkpoint.size, tiles.map((t) => t ?? new Uint8Array(0)));
      if (!equalHashes(builder.root(), checkpoint.rootHash)) {
        throw new LogError('corrupt-store', `stored tiles do not match the stored checkpoint at size ${checkpoint.size}`);
      }
      current = { checkpoint, note: stored };
    } else {
      builder = new TileBuilder(opts.hasher);
      const checkpoint: Checkpoint = { origin: opts.origin, size: 0, rootHash: builder.root(), extensions: (await opts.extensions?.(0)) ?? [] };
      const note = utf8.encode(signCheckpoint(checkpoint, opts.signer));
      await store.writeIntegration([], note);
      current = { checkpoint, note };
    }
    const sequenced = await store.sequencedSize();
    const log = new Log(store, opts, builder, current, sequenced);
    await log.reloadUnintegrated();
    return log;
  }

  private async reloadUnintegrated(): Promise<void> {
    const from = this.builder.size;
    for (let at = from; at < this.sequenced; at += 4096) {
      const entries = await this.store.readEntries(at, Math.min(4096, this.sequenced - at));
      for (const e of entries) this.unintegrated.push(this.opts.hasher.hashLeaf(e));
    }
  }

  get origin(): string {
    return this.opts.origin;
  }

  /** The latest signed checkpoint (what /checkpoint serves). */
  get checkpoint(): SignedCheckpoint {
    return this.current;
  }

  /** Entries durably sequenced, integrated or not. */
  get sequencedSize(): number {
    return this.sequenced;
  }

  /** Called after every integration round, once its checkpoint is durable. */
  onIntegrated(listener: (round: IntegrationRound) => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  /**
   * Sequences entries durably. Resolves once they (or their earlier copies) are stored; a crash
   * after that loses nothing. Concurrent calls are written together (group commit).
   */
  append(entries: Uint8Array[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new LogError('closed', 'the log is closed'));
    for (const [i, e] of entries.entries()) {
      if (!(e instanceof Uint8Array)) return Promise.reject(new LogError('bad-entry', 'an entry must be bytes', `entries[${i}]`));
      if (e.length > MAX_ENTRY_SIZE) {
        return Promise.reject(new LogError('entry-too-large', `${e.length} bytes is over ${MAX_ENTRY_SIZE}`, `entries[${i}]`));
      }
    }
    if (entries.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.appendQueue.push({ entries, resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      let next = this.takeBatch();
      while (next) {
        const batch = next;
        try {
          const sequencing = this.sequence(batch);
          // Hash the next batch while this one's write is in LevelDB's thread: leaf hashes do
          // not depend on it; its dedup lookups wait until this write is done.
          await Promise.resolve();
          next = this.takeBatch();
          const results = await sequencing;
          let at = 0;
          for (const p of batch.pending) {
            p.resolve(results.slice(at, at + p.entries.length));
            at += p.entries.length;
          }
          // Appends queued while this batch was being written would otherwise wait forever.
          next ??= this.takeBatch();
        } catch (err) {
          for (const p of batch.pending) p.reject(err);
          next ??= this.takeBatch();
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** Takes queued appends up to the group-commit size and hashes their entries. */
  private takeBatch(): HashedBatch | undefined {
    if (this.appendQueue.length === 0) return undefined;
    const max = this.opts.maxAppendBatch ?? 8192;
    const pending: Pending[] = [];
    let n = 0;
    while (this.appendQueue.length > 0 && (n === 0 || n + this.appendQueue[0].entries.length <= max)) {
      const p = this.appendQueue.shift()!;
      pending.push(p);
      n += p.entries.length;
    }
    const entries = pending.length === 1 ? pending[0].entries : pending.flatMap((p) => p.entries);
    const hasher = this.opts.hasher;
    return { pending, entries, leafHashes: entries.map((e) => hasher.hashLeaf(e)) };
  }

  private async sequence({ entries, leafHashes }: HashedBatch): Promise<AppendResult[]> {
    const results: AppendResult[] = new Array(entries.length);
    const candidates = await this.store.findLeafHashes(leafHashes);
    const inBatch = new InBatchIndex(leafHashes);
    const fresh: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const existing = candidates[i].length === 0 ? undefined : await this.confirmDuplicate(leafHashes[i], candidates[i]);
      if (existing !== undefined) {
        results[i] = { index: existing, leafHash: leafHashes[i], duplicate: true };
        continue;
      }
      const earlier = inBatch.firstEqual(i);
      if (earlier !== undefined) {
        results[i] = { index: results[earlier].index, leafHash: leafHashes[i], duplicate: true };
        continue;
      }
      results[i] = { index: this.sequenced + fresh.length, leafHash: leafHashes[i], duplicate: false };
      fresh.push(i);
    }
    if (fresh.length > 0) {
      const all = fresh.length === entries.length;
      await this.store.appendEntries(
        this.sequenced,
        all ? entries : fresh.map((i) => entries[i]),
        all ? leafHashes : fresh.map((i) => leafHashes[i]),
        all ? candidates : fresh.map((i) => candidates[i]),
      );
      this.sequenced += fresh.length;
      for (const i of fresh) this.unintegrated.push(leafHashes[i]);
    }
    return results;
  }

  /** The dedup index keys on a hash prefix: confirm a candidate by its full leaf hash. */
  private async confirmDuplicate(leafHash: Hash, candidates: number[]): Promise<number | undefined> {
    for (const index of candidates) {
      const [entry] = await this.store.readEntries(index, 1);
      if (equalHashes(this.opts.hasher.hashLeaf(entry), leafHash)) return index;
    }
    return undefined;
  }

  /**
   * Integrates everything sequenced so far, signs and stores a checkpoint. Resolves to null when
   * the tree did not grow. Rounds never overlap.
   */
  integrate(): Promise<IntegrationRound | null> {
    const run = async (): Promise<IntegrationRound | null> => {
      if (this.integrating) await this.integrating.catch(() => undefined);
      return this.integrateOnce();
    };
    const p = run().finally(() => {
      if (this.integrating === p) this.integrating = null;
    });
    this.integrating = p;
    return p;
  }

  private async integrateOnce(): Promise<IntegrationRound | null> {
    const count = this.unintegrated.length;
    if (count === 0) return null;
    const from = this.builder.size;
    const previous = this.current;
    const leafHashes = new Uint8Array(count * HASH_SIZE);
    for (let i = 0; i < count; i++) leafHashes.set(this.unintegrated[i], i * HASH_SIZE);
    const integrated = await this.integrator.integrate({ from, edgeTiles: this.builder.edgeTiles(), leafHashes });
    const next = new TileBuilder(this.opts.hasher, integrated.size, integrated.edgeTiles);
    const tiles = integrated.tiles;
    const checkpoint: Checkpoint = {
      origin: this.opts.origin,
      size: integrated.size,
      rootHash: integrated.root,
      extensions: (await this.opts.extensions?.(integrated.size)) ?? [],
    };
    await this.checkExtends(previous.checkpoint, checkpoint, tiles);
    const note = utf8.encode(signCheckpoint(checkpoint, this.opts.signer));
    await this.store.writeIntegration(tiles, note);
    for (const t of tiles) this.tileCache.set(`${t.level}/${t.index}`, t.hashes);
    this.builder = next;
    this.unintegrated = this.unintegrated.slice(count);
    this.current = { checkpoint, note };
    const round = { from, to: next.size, checkpoint: this.current };
    for (const listener of [...this.listeners]) listener(round);
    return round;
  }

  /**
   * Defence in depth: before signing, prove from the new tiles that the new tree extends the
   * last signed one. A bug or a corrupted tile stops the log instead of forking it.
   */
  private async checkExtends(old: Checkpoint, next: Checkpoint, tiles: StoredTile[]): Promise<void> {
    if (old.size === 0) return;
    const overlay = new Map(tiles.map((t) => [`${t.level}/${t.index}`, t.hashes]));
    const reader = new TileTreeReader(async (coords) => {
      const missing = coords.filter((c) => !overlay.has(`${c.level}/${c.index}`));
      const loaded = await this.loadTiles(missing);
      const byKey = new Map(missing.map((c, i) => [`${c.level}/${c.index}`, loaded[i]]));
      return coords.map((c) => overlay.get(`${c.level}/${c.index}`) ?? byKey.get(`${c.level}/${c.index}`));
    }, this.opts.hasher);
    const proof = await reader.consistencyProof(old.size, next.size);
    verifyConsistency(this.opts.hasher, old.size, next.size, proof, old.rootHash, next.rootHash);
  }

  private async loadTiles(coords: Array<{ level: number; index: number }>): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = coords.map((c) => this.tileCache.get(`${c.level}/${c.index}`));
    const missing = coords.map((c, i) => (out[i] ? -1 : i)).filter((i) => i >= 0);
    if (missing.length > 0) {
      const loaded = await this.store.readTiles(missing.map((i) => coords[i]));
      missing.forEach((i, j) => {
        out[i] = loaded[j];
        if (loaded[j]) this.tileCache.set(`${coords[i].level}/${coords[i].index}`, loaded[j]!);
      });
    }
    return out;
  }

  private checkSize(size: number, what: string): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.current.checkpoint.size) {
      throw new LogError('bad-size', `${size} is not a tree size up to the checkpoint (${this.current.checkpoint.size})`, what);
    }
  }

  async inclusionProof(index: number, size = this.current.checkpoint.size): Promise<Hash[]> {
    this.checkSize(size, 'size');
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new LogError('bad-index', `${index} is not below tree size ${size}`, 'index');
    }
    return this.reader.inclusionProof(index, size);
  }

  async consistencyProof(size1: number, size2 = this.current.checkpoint.size): Promise<Hash[]> {
    this.checkSize(size1, 'from');
    this.checkSize(size2, 'to');
    if (size1 < 1 || size1 > size2) throw new LogError('bad-size', `from must be 1..${size2}, got ${size1}`, 'from');
    return this.reader.consistencyProof(size1, size2);
  }

  /** Root hash of any size up to the checkpoint, recomputed from tiles. */
  async rootAt(size: number): Promise<Hash> {
    this.checkSize(size, 'size');
    return this.reader.root(size);
  }

  async leafHashes(first: number, count: number): Promise<Hash[]> {
    this.checkSize(first + count, 'count');
    return count === 0 ? [] : this.reader.leafHashes(first, count);
  }

  /** A hash tile or entry bundle as served by tlog-tiles, or undefined if it is not in the checkpoint tree. */
  async readTile(coord: TileCoord): Promise<Uint8Array | undefined> {
    const size = this.current.checkpoint.size;
    if (coord.level === 'entries') {
      if (tileWidthAt(0, coord.index, size) < coord.width) return undefined;
      return encodeBundle(await this.store.readEntries(coord.index * TILE_WIDTH, coord.width));
    }
    if (tileWidthAt(coord.level, coord.index, size) < coord.width) return undefined;
    const [tile] = await this.loadTiles([{ level: coord.level, index: coord.index }]);
    return tile?.subarray(0, coord.width * HASH_SIZE);
  }

  /** Integrated entries [first, first+count). */
  async readEntries(first: number, count: number): Promise<Uint8Array[]> {
    this.checkSize(first + count, 'count');
    return this.store.readEntries(first, count);
  }

  /** Index of an integrated or sequenced entry with this leaf hash, if any. */
  async findByLeafHash(leafHash: Hash): Promise<number | undefined> {
    const [candidates] = await this.store.findLeafHashes([leafHash]);
    return this.confirmDuplicate(leafHash, candidates);
  }

  /** Waits for pending appends, integrates what is left, then closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.integrate().catch(() => undefined);
    await this.integrator.close();
    await this.store.close();
  }
}

