/**
 * The storage interface of the log. LevelDB implements it here; a PostgreSQL or object-storage
 * backend implements the same methods and nothing above this file changes.
 *
 * The contract that makes the log crash-safe:
 *  - `appendEntries` is atomic and durable when its promise resolves;
 *  - `writeIntegration` stores tiles and the checkpoint that covers them atomically and durably,
 *    so a stored checkpoint never refers to tiles that are not there.
 */
import type { Hash } from '../merkle/index.js';

/** A hash tile as stored: the latest (widest) version of tile (level, index). */
export interface StoredTile {
  level: number;
  index: number;
  /** width × 32 bytes. */
  hashes: Uint8Array;
}

/** A key-value space for the log's personality (query indexes), kept apart from the log itself. */
export interface KeyValueSpace {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  getMany(keys: Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /**
   * Atomic batch of puts (value) and deletes (value null), durable once it resolves. With
   * `durable: false` (data derived from the log, which can be derived again) it is not flushed
   * to disk: a process crash keeps it, a machine crash may lose it together with later such
   * writes but never a write made durable after it.
   */
  write(ops: Array<{ key: Uint8Array; value: Uint8Array | null }>, opts?: { durable?: boolean }): Promise<void>;
  /** Keys in [gte, lt) in order; `limit` caps the count; `reverse` walks backwards. */
  range(opts: { gte: Uint8Array; lt: Uint8Array; limit?: number; reverse?: boolean }): AsyncIterable<[Uint8Array, Uint8Array]>;
  /** Deletes every key in [gte, lt). */
  clear(opts: { gte: Uint8Array; lt: Uint8Array }): Promise<void>;
}

export interface LogStore {
  /** Number of sequenced (durably appended) entries: the next index to assign. */
  sequencedSize(): Promise<number>;
  /**
   * Stores entries at indexes first, first+1, … with their dedup keys; atomic and durable.
   * `candidates` is what findLeafHashes answered for these leaf hashes just before (the caller
   * serialises appends), so the store need not read the dedup keys again.
   */
  appendEntries(first: number, entries: Uint8Array[], leafHashes: Hash[], candidates: number[][]): Promise<void>;
  readEntries(first: number, count: number): Promise<Uint8Array[]>;
  /** Indexes of entries whose leaf hash may equal each given hash (the caller confirms). */
  findLeafHashes(hashes: Hash[]): Promise<number[][]>;
  /** Stores an integration round: changed tiles and the signed checkpoint; atomic and durable. */
  writeIntegration(tiles: StoredTile[], checkpoint: Uint8Array): Promise<void>;
  readTiles(coords: Array<{ level: number; index: number }>): Promise<(Uint8Array | undefined)[]>;
  readCheckpoint(): Promise<Uint8Array | undefined>;
  /** A named space for derived data; never touched by the log. */
  space(name: string): KeyValueSpace;
  /** Approximate bytes on disk, for metrics and benchmarks. */
  diskUsage(): Promise<number>;
  /**
   * Memory the store holds in caches, write buffers and indexes, by part (for metrics), so an
   * operator can tell the store's share of the process's memory from the rest.
   */
  memoryUse(): StoreMemory[];
  close(): Promise<void>;
}

/** One part of a store's memory: a name of the implementation's choosing and its size in bytes. */
export interface StoreMemory {
  part: string;
  bytes: number;
}

/** The store cannot be written (disk full, read-only, closed): answer 503, not 400. */
export { StoreUnavailableError } from './errors.js';
