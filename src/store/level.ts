/**
 * LevelDB implementation of LogStore (via `level`, i.e. classic-level on Node).
 *
 * Key layout (spec/storage.md has the full description):
 *   'S'                    → u64 BE sequenced size
 *   'E' u64 BE index       → a chunk of entries from that index on (never across a 256 boundary)
 *   'D' leafHash[0..8)     → u64 BE indexes of entries whose leaf hash starts so (usually one)
 *   'T' u8 level u64 BE n  → hash tile (level, n), latest width
 *   'C'                    → latest signed checkpoint
 *   'X' name 0x00 key      → personality space `name`
 */
import { Level } from 'level';
import type { Hash } from '../merkle/index.js';
import type { KeyValueSpace, LogStore, StoreMemory, StoredTile } from './store.js';
import { StoreUnavailableError } from './errors.js';
import { LayeredBloomFilter, PrefixBloomFilter } from './bloom.js';

type Db = Level<Uint8Array, Uint8Array>;
/** classic-level's extras, which `level`'s types leave out. */
type Maintenance = {
  approximateSize(start: Uint8Array, end: Uint8Array): Promise<number>;
  compactRange(start: Uint8Array, end: Uint8Array): Promise<void>;
  getProperty(property: string): string;
};
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

const SEQUENCED_KEY = Uint8Array.of(0x53); // 'S'
const CHECKPOINT_KEY = Uint8Array.of(0x43); // 'C'
const ENTRY = 0x45; // 'E'
const DEDUP = 0x44; // 'D'
const TILE = 0x54; // 'T'
const SPACE = 0x58; // 'X'
const DEDUP_PREFIX = 8;

const TWO_32 = 2 ** 32;

/** Writes n (< 2^53) as a big-endian u64 at out[offset..offset+8); no BigInt on the hot path. */
function writeU64(out: Uint8Array, offset: number, n: number): void {
  const high = Math.floor(n / TWO_32);
  const low = n >>> 0;
  out[offset] = 0;
  out[offset + 1] = (high >>> 16) & 0xff;
  out[offset + 2] = (high >>> 8) & 0xff;
  out[offset + 3] = high & 0xff;
  out[offset + 4] = low >>> 24;
  out[offset + 5] = (low >>> 16) & 0xff;
  out[offset + 6] = (low >>> 8) & 0xff;
  out[offset + 7] = low & 0xff;
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  writeU64(b, 0, n);
  return b;
}

function readU64(b: Uint8Array, offset = 0): number {
  const high = ((b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3]) >>> 0;
  const low = ((b[offset + 4] << 24) | (b[offset + 5] << 16) | (b[offset + 6] << 8) | b[offset + 7]) >>> 0;
  return high * TWO_32 + low;
}

function encodeIndexes(indexes: number[]): Uint8Array {
  const out = new Uint8Array(8 * indexes.length);
  indexes.forEach((n, i) => out.set(u64(n), 8 * i));
  return out;
}

/** A chunk is a tlog-tiles entry bundle: each entry as a u16 big-endian length and its bytes. */
function encodeChunk(entries: Uint8Array[], from: number, to: number): Uint8Array {
  let size = 0;
  for (let i = from; i < to; i++) size += 2 + entries[i].length;
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = from; i < to; i++) {
    const e = entries[i];
    out[at] = e.length >>> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

function decodeChunk(chunk: Uint8Array, firstIndex: number, visit: (index: number, entry: Uint8Array) => void): void {
  let index = firstIndex;
  for (let at = 0; at < chunk.length; index++) {
    const length = (chunk[at] << 8) | chunk[at + 1];
    visit(index, chunk.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
}

function key(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 1);
  const k = new Uint8Array(len);
  k[0] = tag;
  let at = 1;
  for (const p of parts) {
    k.set(p, at);
    at += p.length;
  }
  return k;
}

function entryKey(index: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = ENTRY;
  writeU64(k, 1, index);
  return k;
}
function dedupKey(leafHash: Hash): Uint8Array {
  const k = new Uint8Array(1 + DEDUP_PREFIX);
  k[0] = DEDUP;
  for (let i = 0; i < DEDUP_PREFIX; i++) k[1 + i] = leafHash[i];
  return k;
}
function samePrefix(a: Hash, b: Hash): boolean {
  for (let i = 0; i < DEDUP_PREFIX; i++) if (a[i] !== b[i]) return false;
  return true;
}
const tileKey = (level: number, index: number) => key(TILE, Uint8Array.of(level), u64(index));

/** Turns LevelDB's failures into messages an operator can act on. */
function unavailable(action: string, err: unknown): StoreUnavailableError {
  const cause = err as { code?: string; message?: string; cause?: { message?: string } };
  const detail = [cause?.message, cause?.cause?.message].filter(Boolean).join(': ');
  if (/lock/i.test(detail)) {
    return new StoreUnavailableError(`${action}: the data directory is in use by another process (${detail})`, err);
  }
  return new StoreUnavailableError(`${action}: ${detail || String(err)}`, err);
}

const BUNDLE = 256;
const MIN_FILTER_CAPACITY = 1 << 20;

export class LevelLogStore implements LogStore {
  private constructor(
    private readonly db: Db,
    readonly location: string,
    private readonly dedupFilter: LayeredBloomFilter,
  ) {}

  static async open(location: string): Promise<LevelLogStore> {
    const db: Db = new Level<Uint8Array, Uint8Array>(location, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      cacheSize: 64 * 1024 * 1024,
      // A large memtable means fewer level-0 files and less compaction of the random dedup keys;
      // entries are mostly signatures and base64, which snappy cannot shrink but would spend CPU on.
      writeBufferSize: 64 * 1024 * 1024,
      compression: false,
    });
    try {
      await db.open();
    } catch (err) {
      throw unavailable(`cannot open the store at ${location}`, err);
    }
    const sequenced = await db.get(SEQUENCED_KEY);
    const filter = await LevelLogStore.loadDedupFilter(db, Math.max(MIN_FILTER_CAPACITY, 2 * (sequenced ? readU64(sequenced) : 0)));
    return new LevelLogStore(db, location, new LayeredBloomFilter(filter));
  }

  /** Reads every dedup prefix into a fresh filter: about a second per million entries. */
  private static async loadDedupFilter(db: Db, capacity: number): Promise<PrefixBloomFilter> {
    const filter = new PrefixBloomFilter(capacity);
    for await (const k of db.keys({ gte: Uint8Array.of(DEDUP), lt: Uint8Array.of(DEDUP + 1) })) filter.add(k.subarray(1)); // the key holds the prefix after its tag byte
    return filter;
  }

  private async writePuts(puts: Array<[Uint8Array, Uint8Array]>, what: string): Promise<void> {
    try {
      const batch = this.db.batch();
      for (const [k, v] of puts) batch.put(k, v);
      await batch.write({ sync: true });
    } catch (err) {
      throw unavailable(`cannot write ${what}`, err);
    }
  }

  private async write(ops: BatchOp[], what: string, sync = true): Promise<void> {
    try {
      // A chained batch: classic-level's array form is several times slower for large batches.
      const batch = this.db.batch();
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      // One LevelDB log: a synced write also syncs every unsynced write before it.
      await batch.write({ sync });
    } catch (err) {
      throw unavailable(`cannot write ${what}`, err);
    }
  }

  async sequencedSize(): Promise<number> {
    const v = await this.db.get(SEQUENCED_KEY);
    return v ? readU64(v) : 0;
  }

  async appendEntries(first: number, entries: Uint8Array[], leafHashes: Hash[], candidates: number[][]): Promise<void> {
    const puts: Array<[Uint8Array, Uint8Array]> = [];
    // One value per run of entries, split at bundle boundaries: far fewer LevelDB records than
    // one per entry, and reading a bundle touches at most the chunks inside it.
    for (let at = 0; at < entries.length; ) {
      const end = Math.min(entries.length, at + BUNDLE - ((first + at) % BUNDLE));
      puts.push([entryKey(first + at), encodeChunk(entries, at, end)]);
      at = end;
    }
    // Prefixes go into the filter before the write: a false positive costs a lookup, a false
    // negative would let a duplicate in.
    // A dedup list is almost always one index long. Only a prefix the filter may already hold
    // (stored before, or earlier in this batch) needs merging; later puts of a key win.
    for (let i = 0; i < entries.length; i++) {
      const mayRepeat = candidates[i].length > 0 || this.dedupFilter.mayContain(leafHashes[i]);
      this.dedupFilter.add(leafHashes[i]);
      if (!mayRepeat) {
        puts.push([dedupKey(leafHashes[i]), u64(first + i)]);
        continue;
      }
      const indexes = [...candidates[i]];
      for (let j = 0; j < i; j++) if (samePrefix(leafHashes[j], leafHashes[i])) indexes.push(first + j);
      indexes.push(first + i);
      puts.push([dedupKey(leafHashes[i]), encodeIndexes(indexes)]);
    }
    puts.push([SEQUENCED_KEY, u64(first + entries.length)]);
    await this.writePuts(puts, 'entries');
  }

  async readEntries(first: number, count: number): Promise<Uint8Array[]> {
    if (count === 0) return [];
    const end = first + count;
    // The chunk holding `first` starts at or before it, but never before its bundle.
    const from = first - (first % BUNDLE);
    const out: Uint8Array[] = [];
    for await (const [k, v] of this.db.iterator({ gte: entryKey(from), lt: entryKey(end) })) {
      const chunkFirst = readU64(k, 1);
      decodeChunk(v, chunkFirst, (index, entry) => {
        if (index >= first && index < end) out.push(entry);
      });
    }
    if (out.length !== count) throw new RangeError(`entries ${first}..${end - 1} are not all stored (found ${out.length})`);
    return out;
  }

  async findLeafHashes(hashes: Hash[]): Promise<number[][]> {
    const result: number[][] = hashes.map(() => []);
    const maybe: number[] = [];
    for (let i = 0; i < hashes.length; i++) if (this.dedupFilter.mayContain(hashes[i])) maybe.push(i);
    if (maybe.length === 0) return result;
    const values = await this.db.getMany(maybe.map((i) => dedupKey(hashes[i])));
    values.forEach((v, j) => {
      for (let at = 0; v && at < v.length; at += 8) result[maybe[j]].push(readU64(v, at));
    });
    return result;
  }

  async writeIntegration(tiles: StoredTile[], checkpoint: Uint8Array): Promise<void> {
    const ops: BatchOp[] = tiles.map((t) => ({ type: 'put', key: tileKey(t.level, t.index), value: t.hashes }));
    ops.push({ type: 'put', key: CHECKPOINT_KEY, value: checkpoint });
    await this.write(ops, 'tiles and checkpoint');
  }

  async readTiles(coords: Array<{ level: number; index: number }>): Promise<(Uint8Array | undefined)[]> {
    return this.db.getMany(coords.map((c) => tileKey(c.level, c.index)));
  }

  async readCheckpoint(): Promise<Uint8Array | undefined> {
    return this.db.get(CHECKPOINT_KEY);
  }

  space(name: string): KeyValueSpace {
    if (!/^[a-z0-9-]+$/.test(name)) throw new RangeError(`bad space name ${name}`);
    const prefix = key(SPACE, new TextEncoder().encode(name), Uint8Array.of(0));
    return new LevelSpace(this, prefix);
  }

  /** @internal for LevelSpace */
  get raw(): Db {
    return this.db;
  }

  /** @internal for LevelSpace */
  async writeOps(ops: BatchOp[], what: string, sync: boolean): Promise<void> {
    return this.write(ops, what, sync);
  }

  async diskUsage(): Promise<number> {
    return (this.db as unknown as Maintenance).approximateSize(Uint8Array.of(0), Uint8Array.of(0xff));
  }

  /**
   * LevelDB's block cache and memtables (its own estimate; the index blocks of the tables it
   * keeps open are not counted) and the dedup Bloom filter, which grows with the log: 2–4 bytes
   * an entry.
   */
  memoryUse(): StoreMemory[] {
    const filter = { part: 'dedup-filter', bytes: this.dedupFilter.bytes };
    // A closed database throws on getProperty; a scrape while closing must not.
    if (this.db.status !== 'open') return [filter];
    const leveldb = Number((this.db as unknown as Maintenance).getProperty('leveldb.approximate-memory-usage'));
    return [{ part: 'leveldb', bytes: Number.isFinite(leveldb) ? leveldb : 0 }, filter];
  }

  /** Compacts everything, so diskUsage reflects live data (benchmarks). */
  async compact(): Promise<void> {
    await (this.db as unknown as Maintenance).compactRange(Uint8Array.of(0), Uint8Array.of(0xff));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

class LevelSpace implements KeyValueSpace {
  constructor(
    private readonly store: LevelLogStore,
    private readonly prefix: Uint8Array,
  ) {}

  private k(k: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.prefix.length + k.length);
    out.set(this.prefix);
    out.set(k, this.prefix.length);
    return out;
  }

  get(k: Uint8Array) {
    return this.store.raw.get(this.k(k));
  }

  getMany(keys: Uint8Array[]) {
    return this.store.raw.getMany(keys.map((k) => this.k(k)));
  }

  write(ops: Array<{ key: Uint8Array; value: Uint8Array | null }>, opts: { durable?: boolean } = {}): Promise<void> {
    return this.store.writeOps(
      ops.map((o) => (o.value === null ? { type: 'del', key: this.k(o.key) } : { type: 'put', key: this.k(o.key), value: o.value })),
      'index',
      opts.durable ?? true,
    );
  }

  async *range(opts: { gte: Uint8Array; lt: Uint8Array; limit?: number; reverse?: boolean }): AsyncIterable<[Uint8Array, Uint8Array]> {
    const n = this.prefix.length;
    for await (const [k, v] of this.store.raw.iterator({
      gte: this.k(opts.gte),
      lt: this.k(opts.lt),
      limit: opts.limit ?? -1,
      reverse: opts.reverse ?? false,
    })) {
      yield [k.subarray(n), v];
    }
  }

  async clear(opts: { gte: Uint8Array; lt: Uint8Array }): Promise<void> {
    await this.store.raw.clear({ gte: this.k(opts.gte), lt: this.k(opts.lt) });
  }
}
