/**
 * LevelDB implementation of LogStore (via `level`, i.e. classic-level on Node).
 *
 * Key layout (spec/storage.md has the full description):
 *   'S'                    → u64 BE sequenced size
 *   'E' u64 BE index       → entry bytes
 *   'D' leafHash[0..8)     → u64 BE indexes of entries whose leaf hash starts so (usually one)
 *   'T' u8 level u64 BE n  → hash tile (level, n), latest width
 *   'C'                    → latest signed checkpoint
 *   'X' name 0x00 key      → personality space `name`
 */
import { Level } from 'level';
import type { Hash } from '../merkle/index.js';
import type { KeyValueSpace, LogStore, StoredTile } from './store.js';
import { StoreUnavailableError } from './errors.js';

type Db = Level<Uint8Array, Uint8Array>;
/** classic-level's extras, which `level`'s types leave out. */
type Maintenance = {
  approximateSize(start: Uint8Array, end: Uint8Array): Promise<number>;
  compactRange(start: Uint8Array, end: Uint8Array): Promise<void>;
};
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

const SEQUENCED_KEY = Uint8Array.of(0x53); // 'S'
const CHECKPOINT_KEY = Uint8Array.of(0x43); // 'C'
const ENTRY = 0x45; // 'E'
const DEDUP = 0x44; // 'D'
const TILE = 0x54; // 'T'
const SPACE = 0x58; // 'X'
const DEDUP_PREFIX = 8;

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function readU64(b: Uint8Array, offset = 0): number {
  return Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset));
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

const entryKey = (index: number) => key(ENTRY, u64(index));
const dedupKey = (leafHash: Hash) => key(DEDUP, leafHash.subarray(0, DEDUP_PREFIX));
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

export class LevelLogStore implements LogStore {
  private constructor(
    private readonly db: Db,
    readonly location: string,
  ) {}

  static async open(location: string): Promise<LevelLogStore> {
    const db: Db = new Level<Uint8Array, Uint8Array>(location, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      cacheSize: 64 * 1024 * 1024,
      writeBufferSize: 16 * 1024 * 1024,
    });
    try {
      await db.open();
    } catch (err) {
      throw unavailable(`cannot open the store at ${location}`, err);
    }
    return new LevelLogStore(db, location);
  }

  private async write(ops: BatchOp[], what: string): Promise<void> {
    try {
      await this.db.batch(ops, { sync: true });
    } catch (err) {
      throw unavailable(`cannot write ${what}`, err);
    }
  }

  async sequencedSize(): Promise<number> {
    const v = await this.db.get(SEQUENCED_KEY);
    return v ? readU64(v) : 0;
  }

  async appendEntries(first: number, entries: Uint8Array[], leafHashes: Hash[]): Promise<void> {
    const ops: BatchOp[] = [];
    // Merge with existing dedup lists: two leaf hashes may share the 8-byte prefix.
    const dedupKeys = leafHashes.map(dedupKey);
    const existing = await this.db.getMany(dedupKeys);
    const lists = new Map<string, Uint8Array>();
    dedupKeys.forEach((k, i) => {
      const id = Buffer.from(k).toString('latin1');
      const before = lists.get(id) ?? existing[i] ?? new Uint8Array(0);
      const merged = new Uint8Array(before.length + 8);
      merged.set(before);
      merged.set(u64(first + i), before.length);
      lists.set(id, merged);
    });
    entries.forEach((e, i) => ops.push({ type: 'put', key: entryKey(first + i), value: e }));
    for (const [id, value] of lists) ops.push({ type: 'put', key: Buffer.from(id, 'latin1'), value });
    ops.push({ type: 'put', key: SEQUENCED_KEY, value: u64(first + entries.length) });
    await this.write(ops, 'entries');
  }

  async readEntries(first: number, count: number): Promise<Uint8Array[]> {
    if (count === 0) return [];
    const out: Uint8Array[] = [];
    for await (const value of this.db.values({ gte: entryKey(first), lt: entryKey(first + count) })) out.push(value);
    if (out.length !== count) throw new RangeError(`entries ${first}..${first + count - 1} are not all stored (found ${out.length})`);
    return out;
  }

  async findLeafHashes(hashes: Hash[]): Promise<number[][]> {
    const values = await this.db.getMany(hashes.map(dedupKey));
    return values.map((v) => {
      const indexes: number[] = [];
      for (let at = 0; v && at < v.length; at += 8) indexes.push(readU64(v, at));
      return indexes;
    });
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
  async writeOps(ops: BatchOp[], what: string): Promise<void> {
    return this.write(ops, what);
  }

  async diskUsage(): Promise<number> {
    return (this.db as unknown as Maintenance).approximateSize(Uint8Array.of(0), Uint8Array.of(0xff));
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

  write(ops: Array<{ key: Uint8Array; value: Uint8Array | null }>): Promise<void> {
    return this.store.writeOps(
      ops.map((o) => (o.value === null ? { type: 'del', key: this.k(o.key) } : { type: 'put', key: this.k(o.key), value: o.value })),
      'index',
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
