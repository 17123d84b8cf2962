/**
 * Which log indexes hold records, of which type, and which index a leaf hash names: what the
 * policy must remember of every entry. Kept as bytes by index (a type code and the 32-byte leaf
 * hash) and one small-integer map from a leaf hash's first 31 bits to its index, because a Map
 * of hex strings and an object per entry cost ~200 bytes per record for the life of the process.
 */
import { RECORD_TYPES, type RecordType, fromHex } from '../records/index.js';

const HASH_SIZE = 32;

export class EntryTable {
  /** RECORD_TYPES index + 1 by log index; 0: not a record. */
  private types = new Uint8Array(1024);
  private hashes = new Uint8Array(1024 * HASH_SIZE);
  /** First 31 bits of a leaf hash → the indexes with that prefix (almost always one). */
  private readonly byPrefix = new Map<number, number | number[]>();

  add(index: number, type: RecordType, leafHash: Uint8Array): void {
    this.reserve(index);
    this.types[index] = RECORD_TYPES.indexOf(type) + 1;
    this.hashes.set(leafHash, index * HASH_SIZE);
    const prefix = prefixOf(leafHash);
    const seen = this.byPrefix.get(prefix);
    this.byPrefix.set(prefix, seen === undefined ? index : typeof seen === 'number' ? [seen, index] : [...seen, index]);
  }

  has(index: number): boolean {
    return Number.isSafeInteger(index) && index >= 0 && index < this.types.length && this.types[index] !== 0;
  }

  type(index: number): RecordType | undefined {
    return this.has(index) ? RECORD_TYPES[this.types[index] - 1] : undefined;
  }

  /** The latest record index whose leaf hash is `leafHashHex`, if any. */
  indexOfLeafHash(leafHashHex: string): number | undefined {
    const hash = fromHex(leafHashHex);
    if (!hash || hash.length !== HASH_SIZE) return undefined;
    const seen = this.byPrefix.get(prefixOf(hash));
    const candidates = seen === undefined ? [] : typeof seen === 'number' ? [seen] : seen;
    for (let i = candidates.length - 1; i >= 0; i--) if (this.hashAt(candidates[i], hash)) return candidates[i];
    return undefined;
  }

  private hashAt(index: number, hash: Uint8Array): boolean {
    for (let i = 0; i < HASH_SIZE; i++) if (this.hashes[index * HASH_SIZE + i] !== hash[i]) return false;
    return true;
  }

  private reserve(index: number): void {
    if (index < this.types.length) return;
    let size = this.types.length;
    while (size <= index) size *= 2;
    const types = new Uint8Array(size);
    types.set(this.types);
    const hashes = new Uint8Array(size * HASH_SIZE);
    hashes.set(this.hashes);
    this.types = types;
    this.hashes = hashes;
  }
}

/** A small integer (31 bits), so the map's keys are not heap numbers. */
function prefixOf(hash: Uint8Array): number {
  return ((hash[0] << 23) | (hash[1] << 15) | (hash[2] << 7) | (hash[3] >> 1)) >>> 0;
}
