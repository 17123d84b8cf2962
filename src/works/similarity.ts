/**
 * Similarity index for 64-bit codes (phash, tcode): multi-index hashing (Norouzi et al., 2012).
 *
 * Structure: a code (bits 63..0) is split into M = 3 chunks: chunk 0 = bits 63..42 (22 bits),
 * chunk 1 = bits 41..21 (21 bits), chunk 2 = bits 20..0 (21 bits). Each chunk has 2^width buckets;
 * a bucket is a singly linked list threaded through typed arrays: `heads[c][value]` is the newest
 * entry with that chunk value (−1 if none), `next[c·capacity + entry]` the next older one. Entries
 * are three parallel arrays (`hi`, `lo` = the code's 32-bit halves, `payloads` = a caller's uint32,
 * e.g. a log index). Memory: 24 bytes per entry + 32 MiB of heads; no object per entry.
 *
 * Query(code, d): split d+1 into M parts r_c+1 as evenly as possible, larger parts first (d = 12 →
 * r = 4,3,3). By pigeonhole, a code within distance d of the query is within r_c bits of it on at
 * least one chunk c (else the distance would be ≥ Σ(r_c+1) = d+1). So for each chunk we visit the
 * buckets of every chunk value within r_c bits of the query's, and verify each candidate by the
 * popcount of the full XOR. A candidate is reported only from the first chunk on which it is
 * within r_c, so exactly once.
 */
import { WorkError } from './errors.js';

export const CHUNK_WIDTHS = [22, 21, 21] as const;
const CHUNKS = CHUNK_WIDTHS.length;

export interface SimilarityMatch {
  code: bigint;
  payload: number;
  distance: number;
}

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

export function hammingDistance64(a: bigint, b: bigint): number {
  const x = a ^ b;
  return popcount32(Number(x >> 32n)) + popcount32(Number(x & 0xffffffffn));
}

/** Chunk c of a code given as two 32-bit halves (see the layout above). */
function chunkOf(hi: number, lo: number, c: number): number {
  if (c === 0) return hi >>> 10;
  if (c === 1) return ((hi & 0x3ff) << 11) | (lo >>> 21);
  return lo & 0x1fffff;
}

/** Per-chunk search radii r_c with Σ(r_c + 1) = d + 1, larger first. */
export function chunkRadii(d: number): number[] {
  return CHUNK_WIDTHS.map((_, c) => Math.floor((d + 1) / CHUNKS) + (c < (d + 1) % CHUNKS ? 1 : 0) - 1);
}

/** Calls `visit` with every `width`-bit value within `r` bits of `v` (r < 0: none). */
function forNeighbours(v: number, width: number, r: number, visit: (n: number) => void): void {
  if (r < 0) return;
  visit(v);
  const walk = (base: number, from: number, left: number): void => {
    for (let b = from; b < width; b++) {
      const n = base ^ (1 << b);
      visit(n);
      if (left > 1) walk(n, b + 1, left - 1);
    }
  };
  if (r > 0) walk(v, 0, r);
}

export function codeOfBytes(bytes: Uint8Array): bigint {
  if (bytes.length !== 8) throw new WorkError('bad-code', `a similarity code is 8 bytes, got ${bytes.length}`, 'code');
  let c = 0n;
  for (const b of bytes) c = (c << 8n) | BigInt(b);
  return c;
}

export class SimilarityIndex {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private payloads: Uint32Array;
  private next: Int32Array;
  private readonly heads = CHUNK_WIDTHS.map((w) => new Int32Array(1 << w).fill(-1));
  private count = 0;

  constructor(private capacity = 1024) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.payloads = new Uint32Array(capacity);
    this.next = new Int32Array(CHUNKS * capacity);
  }

  get size(): number {
    return this.count;
  }

  add(code: bigint, payload: number): void {
    if (code < 0n || code >> 64n !== 0n) throw new WorkError('bad-code', 'a similarity code is an unsigned 64-bit integer', 'code');
    this.addHalves(Number(code >> 32n), Number(code & 0xffffffffn), payload);
  }

  /** add() with the code as its two unsigned 32-bit halves (no BigInt, for bulk loads). */
  addHalves(hi: number, lo: number, payload: number): void {
    if (!Number.isInteger(payload) || payload < 0 || payload > 0xffffffff) throw new WorkError('bad-payload', 'payload must be a uint32', 'payload');
    if (this.count === this.capacity) this.grow();
    const i = this.count++;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.payloads[i] = payload;
    for (let c = 0; c < CHUNKS; c++) {
      const heads = this.heads[c];
      const v = chunkOf(hi, lo, c);
      this.next[c * this.capacity + i] = heads[v];
      heads[v] = i;
    }
  }

  /** Every entry within Hamming distance `maxDistance` (0..64) of `code`, nearest first. */
  query(code: bigint, maxDistance: number): SimilarityMatch[] {
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 64)
      throw new WorkError('bad-distance', 'max distance must be an integer 0..64', 'max');
    const qhi = Number(code >> 32n);
    const qlo = Number(code & 0xffffffffn);
    const radii = chunkRadii(maxDistance);
    const out: SimilarityMatch[] = [];
    for (let c = 0; c < CHUNKS; c++) {
      const heads = this.heads[c];
      const base = c * this.capacity;
      forNeighbours(chunkOf(qhi, qlo, c), CHUNK_WIDTHS[c], radii[c], (v) => {
        const next = this.next;
        const hi = this.hi;
        for (let i = heads[v]; i !== -1; i = next[base + i]) {
          // Most candidates already fail on the high half; skip the second load for them.
          const dHi = popcount32((hi[i] ^ qhi) >>> 0);
          if (dHi > maxDistance) continue;
          const d = dHi + popcount32((this.lo[i] ^ qlo) >>> 0);
          if (d > maxDistance || this.seenOnEarlierChunk(i, qhi, qlo, c, radii)) continue;
          out.push({ code: (BigInt(this.hi[i]) << 32n) | BigInt(this.lo[i]), payload: this.payloads[i], distance: d });
        }
      });
    }
    return out.sort((a, b) => a.distance - b.distance || a.payload - b.payload);
  }

  private seenOnEarlierChunk(i: number, qhi: number, qlo: number, c: number, radii: number[]): boolean {
    for (let e = 0; e < c; e++) if (popcount32((chunkOf(this.hi[i], this.lo[i], e) ^ chunkOf(qhi, qlo, e)) >>> 0) <= radii[e]) return true;
    return false;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const widen = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    this.hi = widen(this.hi);
    this.lo = widen(this.lo);
    this.payloads = widen(this.payloads);
    const next = new Int32Array(CHUNKS * cap);
    for (let c = 0; c < CHUNKS; c++) next.set(this.next.subarray(c * this.capacity, (c + 1) * this.capacity), c * cap);
    this.next = next;
    this.capacity = cap;
  }
}
