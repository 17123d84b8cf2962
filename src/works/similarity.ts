/**
 * Similarity index for 64-bit codes (phash, tcode): multi-index hashing (Norouzi et al., 2012)
 * with bucket-contiguous (CSR) tables. Layout and query are specified in spec/works.md §5.
 *
 * Substrings: a code (bits 63..0, as halves hi = bits 63..32, lo = bits 31..0) is split into
 * M = 4 substrings of 16 bits: s0 = hi >>> 16, s1 = hi & 0xffff, s2 = lo >>> 16, s3 = lo & 0xffff.
 *
 * Compacted part (CSR): per substring c, the entries are sorted by their value of s_c (a stable
 * counting sort: older entries first within a bucket). `offsets[c]` (65,537 Int32) gives bucket v's
 * range [offsets[c][v], offsets[c][v+1]); in that range `other[c]` (Uint32) holds the half the
 * substring is not in and `rest[c]` (Uint16) the other 16 bits of its own half, so bucket key +
 * other + rest is the whole code. Only table 0 keeps the payloads (`payloads0`, Uint32). Memory:
 * 4 × 6 + 4 = 28 bytes per entry + 1 MiB of offsets.
 *
 * Pending part: entries added since the last compaction, in three plain Uint32Arrays (hi, lo,
 * payload), scanned linearly by a query. A query first compacts (merges the pending entries into
 * the tables, O(entries + pending)) when there are more than max(PENDING_MIN, compacted / 64).
 *
 * Query(code, d): split d+1 into M parts r_c+1 as evenly as possible, larger parts first (d = 12 →
 * r = 3,2,2,2). By pigeonhole a code within d of the query is within r_c bits of it on at least
 * one substring c, and its *first* such substring is a function of the code alone. For each c we
 * visit the buckets of every value within r_c bits of the query's s_c (XOR with the 16-bit masks
 * of popcount ≤ r_c, precomputed), verify each entry's whole distance (mask bits + popcount of
 * `other` and `rest` by a 16-bit table), and keep it only if c is its first such substring — so
 * every stored code is found exactly once. Hits of table 0 carry their payload; hits of tables
 * 1..3 are codes, deduplicated and resolved to all their payloads by a scan of the code's table-0
 * bucket. Pending entries are checked one by one.
 */
import { WorkError } from './errors.js';

/** Substring widths (bits), most significant first. */
export const CHUNK_WIDTHS = [16, 16, 16, 16] as const;
const CHUNKS = 4;
const BUCKETS = 1 << 16;
/** A query merges the pending entries into the tables once there are more than max(this, compacted / 64). */
export const PENDING_MIN = 16_384;

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

/** Per-substring search radii r_c with Σ(r_c + 1) = d + 1, larger first (r_c = −1: substring not searched). */
export function chunkRadii(d: number): number[] {
  return CHUNK_WIDTHS.map((_, c) => Math.floor((d + 1) / CHUNKS) + (c < (d + 1) % CHUNKS ? 1 : 0) - 1);
}

/** Popcount of every 16-bit value (a table lookup is faster than bit tricks in V8's hot loop). */
const POPCOUNT16 = new Uint8Array(BUCKETS);
for (let v = 1; v < BUCKETS; v++) POPCOUNT16[v] = POPCOUNT16[v >>> 1] + (v & 1);

/** All 16-bit masks ordered by popcount; MASKS_UPTO[r] = how many have popcount ≤ r (r = 0..16). */
const MASKS = new Uint16Array(BUCKETS);
const MASK_BITS = new Uint8Array(BUCKETS);
const MASKS_UPTO = new Int32Array(17);
{
  const byBits = new Int32Array(18);
  for (let m = 0; m < BUCKETS; m++) byBits[popcount32(m) + 1]++;
  for (let b = 1; b < 18; b++) byBits[b] += byBits[b - 1];
  for (let b = 0; b < 17; b++) MASKS_UPTO[b] = byBits[b + 1];
  for (let m = 0; m < BUCKETS; m++) {
    const bits = popcount32(m);
    MASK_BITS[byBits[bits]] = bits;
    MASKS[byBits[bits]++] = m;
  }
}

/** Substring c of a code given as its halves. */
function keyOf(hi: number, lo: number, c: number): number {
  return c === 0 ? hi >>> 16 : c === 1 ? hi & 0xffff : c === 2 ? lo >>> 16 : lo & 0xffff;
}

/** Entries a table scan found within the distance: bucket key, position, distance. */
class Hits {
  key: Int32Array = new Int32Array(256);
  pos: Int32Array = new Int32Array(256);
  distance: Int32Array = new Int32Array(256);
  n = 0;

  push(key: number, pos: number, distance: number): void {
    if (this.n === this.pos.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.key = grow(this.key);
      this.pos = grow(this.pos);
      this.distance = grow(this.distance);
    }
    this.key[this.n] = key;
    this.pos[this.n] = pos;
    this.distance[this.n++] = distance;
  }
}

/**
 * The hot loop: every entry of table (off, other, rest) in a bucket within r bits of key qk whose
 * whole code is within `max` of the query (qOther: the query's other half as int32; qRest: its
 * partner 16 bits) goes to `hits`. Kept small and monomorphic so V8 optimises it early.
 */
function scanTable(off: Int32Array, other: Uint32Array, rest: Uint16Array, qk: number, qOther: number, qRest: number, r: number, max: number, hits: Hits): void {
  const masks = MASKS_UPTO[r];
  for (let m = 0; m < masks; m++) {
    const v = qk ^ MASKS[m];
    const end = off[v + 1];
    const left = max - MASK_BITS[m];
    for (let j = off[v]; j < end; j++) {
      // One well-predicted branch: at large distances a two-step filter mispredicts often.
      const x = other[j] ^ qOther;
      const d = POPCOUNT16[x & 0xffff] + POPCOUNT16[x >>> 16] + POPCOUNT16[rest[j] ^ qRest];
      if (d <= left) hits.push(v, j, max - left + d);
    }
  }
}

export function codeOfBytes(bytes: Uint8Array): bigint {
  if (bytes.length !== 8) throw new WorkError('bad-code', `a similarity code is 8 bytes, got ${bytes.length}`, 'code');
  let c = 0n;
  for (const b of bytes) c = (c << 8n) | BigInt(b);
  return c;
}

const codeOf = (hi: number, lo: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

export class SimilarityIndex {
  // Compacted tables (absent until the first compaction).
  private offsets: Int32Array[] = [];
  private other: Uint32Array[] = [];
  private rest: Uint16Array[] = [];
  private payloads0 = new Uint32Array(0);
  private compacted = 0;
  // Pending entries.
  private pendingHi: Uint32Array;
  private pendingLo: Uint32Array;
  private pendingPayloads: Uint32Array;
  private pending = 0;
  private readonly initialCapacity: number;
  private hits = new Hits();

  /** `capacity`: initial room for pending entries (grows by doubling). */
  constructor(capacity = 1024) {
    this.initialCapacity = Math.max(1, Math.floor(capacity));
    this.pendingHi = new Uint32Array(this.initialCapacity);
    this.pendingLo = new Uint32Array(this.initialCapacity);
    this.pendingPayloads = new Uint32Array(this.initialCapacity);
  }

  get size(): number {
    return this.compacted + this.pending;
  }

  /** Bytes held in typed arrays (tables, offsets and the pending buffer's capacity). */
  get byteLength(): number {
    let n = this.payloads0.byteLength + this.pendingHi.byteLength * 3;
    for (let c = 0; c < this.offsets.length; c++) n += this.offsets[c].byteLength + this.other[c].byteLength + this.rest[c].byteLength;
    return n;
  }

  add(code: bigint, payload: number): void {
    if (code < 0n || code >> 64n !== 0n) throw new WorkError('bad-code', 'a similarity code is an unsigned 64-bit integer', 'code');
    this.addHalves(Number(code >> 32n), Number(code & 0xffffffffn), payload);
  }

  /** add() with the code as its two unsigned 32-bit halves (no BigInt, for bulk loads). */
  addHalves(hi: number, lo: number, payload: number): void {
    if (!Number.isInteger(payload) || payload < 0 || payload > 0xffffffff) throw new WorkError('bad-payload', 'payload must be a uint32', 'payload');
    if (this.pending === this.pendingHi.length) this.growPending(this.pending * 2);
    const i = this.pending++;
    this.pendingHi[i] = hi;
    this.pendingLo[i] = lo;
    this.pendingPayloads[i] = payload;
  }

  /**
   * Merges the pending entries into the bucket tables (a query does this by itself when they are
   * many; call it after a bulk load to pay the cost up front). O(size + 4 × 65,536).
   */
  compact(): void {
    const n = this.pending;
    if (n === 0) return;
    const old = this.compacted;
    const total = old + n;
    const phi = this.pendingHi;
    const plo = this.pendingLo;
    const keys = new Uint16Array(n);
    // One table at a time, so the peak is one old and one new table besides the pending buffer.
    for (let c = 0; c < CHUNKS; c++) {
      const oldOff = this.offsets[c];
      const oldOther = this.other[c];
      const oldRest = this.rest[c];
      const off = new Int32Array(BUCKETS + 1);
      const otherHalf = c < 2 ? plo : phi;
      const ownHalf = c < 2 ? phi : plo;
      const keyShift = c % 2 === 0 ? 16 : 0;
      const restShift = 16 - keyShift;
      for (let i = 0; i < n; i++) off[(keys[i] = (ownHalf[i] >>> keyShift) & 0xffff) + 1]++;
      if (oldOff) for (let v = 0; v < BUCKETS; v++) off[v + 1] += oldOff[v + 1] - oldOff[v];
      for (let v = 0; v < BUCKETS; v++) off[v + 1] += off[v];
      const other = new Uint32Array(total);
      const rest = new Uint16Array(total);
      const payloads = c === 0 ? new Uint32Array(total) : undefined;
      const oldPayloads = this.payloads0;
      const pendingPayloads = this.pendingPayloads;
      const cursor = off.slice(0, BUCKETS);
      if (oldOff) {
        // Old entries keep their order; bucket v moves up by the pending entries of buckets < v, so
        // runs of buckets between pending ones move by the same amount: one block copy per run.
        for (let v = 0; v < BUCKETS; ) {
          const shift = cursor[v] - oldOff[v];
          let w = v + 1;
          while (w < BUCKETS && cursor[w] - oldOff[w] === shift) w++;
          const from = oldOff[v];
          const to = oldOff[w];
          if (to > from) {
            other.set(oldOther.subarray(from, to), from + shift);
            rest.set(oldRest.subarray(from, to), from + shift);
            if (payloads) payloads.set(oldPayloads.subarray(from, to), from + shift);
          }
          for (; v < w; v++) cursor[v] += oldOff[v + 1] - oldOff[v];
        }
      }
      for (let i = 0; i < n; i++) {
        const k = cursor[keys[i]]++;
        other[k] = otherHalf[i];
        rest[k] = ownHalf[i] >>> restShift;
        if (payloads) payloads[k] = pendingPayloads[i];
      }
      this.offsets[c] = off;
      this.other[c] = other;
      this.rest[c] = rest;
      if (payloads) this.payloads0 = payloads;
    }
    this.compacted = total;
    this.pending = 0;
    // A bulk load's buffer is not kept: back to the constructor's capacity, at most PENDING_MIN.
    const keep = Math.min(PENDING_MIN, this.initialCapacity);
    if (this.pendingHi.length > keep) this.growPending(keep);
  }

  /** Every entry within Hamming distance `maxDistance` (0..64) of `code`, nearest first, then by payload. */
  query(code: bigint, maxDistance: number): SimilarityMatch[] {
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 64)
      throw new WorkError('bad-distance', 'max distance must be an integer 0..64', 'max');
    if (this.pending > Math.max(PENDING_MIN, this.compacted >>> 6)) this.compact();
    const qhi = Number((code >> 32n) & 0xffffffffn);
    const qlo = Number(code & 0xffffffffn);
    const out: SimilarityMatch[] = [];
    if (this.compacted > 0) this.queryTables(qhi, qlo, maxDistance, out);
    this.scanPending(qhi | 0, qlo | 0, maxDistance, out);
    return out.sort((a, b) => a.distance - b.distance || a.payload - b.payload);
  }

  private scanPending(qhi: number, qlo: number, max: number, out: SimilarityMatch[]): void {
    const phi = this.pendingHi;
    const plo = this.pendingLo;
    for (let i = 0, n = this.pending; i < n; i++) {
      const xh = phi[i] ^ qhi;
      const xl = plo[i] ^ qlo;
      const d = POPCOUNT16[xh & 0xffff] + POPCOUNT16[xh >>> 16] + POPCOUNT16[xl & 0xffff] + POPCOUNT16[xl >>> 16];
      if (d <= max) out.push({ code: codeOf(phi[i], plo[i]), payload: this.pendingPayloads[i], distance: d });
    }
  }

  private queryTables(qhi: number, qlo: number, max: number, out: SimilarityMatch[]): void {
    const radii = chunkRadii(max);
    const qkeys = [qhi >>> 16, qhi & 0xffff, qlo >>> 16, qlo & 0xffff];
    const hits = this.hits;
    // Codes found on tables 1..3 (once per entry, so equal codes repeat).
    const codeHits: Array<{ hi: number; lo: number; distance: number }> = [];
    for (let c = 0; c < CHUNKS; c++) {
      if (radii[c] < 0) continue;
      hits.n = 0;
      const other = this.other[c];
      const rest = this.rest[c];
      const ownHalf = c < 2 ? qhi : qlo;
      scanTable(this.offsets[c], other, rest, qkeys[c], (c < 2 ? qlo : qhi) | 0, c % 2 === 0 ? ownHalf & 0xffff : ownHalf >>> 16, radii[c], max, hits);
      for (let h = 0; h < hits.n; h++) {
        // The entry's code: bucket value v, the partner 16 bits `rest`, the other half.
        const v = hits.key[h];
        const j = hits.pos[h];
        const r = rest[j];
        const hi = c === 0 ? ((v << 16) | r) >>> 0 : c === 1 ? ((r << 16) | v) >>> 0 : other[j];
        const lo = c === 2 ? ((v << 16) | r) >>> 0 : c === 3 ? ((r << 16) | v) >>> 0 : other[j];
        let earlier = false;
        for (let e = 0; e < c && !earlier; e++) earlier = POPCOUNT16[keyOf(hi, lo, e) ^ qkeys[e]] <= radii[e];
        if (earlier) continue;
        if (c === 0) out.push({ code: codeOf(hi, lo), payload: this.payloads0[j], distance: hits.distance[h] });
        else codeHits.push({ hi, lo, distance: hits.distance[h] });
      }
    }
    if (hits.pos.length > 1 << 16) this.hits = new Hits(); // do not keep a huge answer's scratch
    if (codeHits.length === 0) return;
    // Distinct codes found on tables 1..3 → all their entries, with payloads, from table 0.
    codeHits.sort((a, b) => a.hi - b.hi || a.lo - b.lo);
    const off0 = this.offsets[0];
    const other0 = this.other[0];
    const rest0 = this.rest[0];
    for (let k = 0; k < codeHits.length; k++) {
      const { hi, lo, distance } = codeHits[k];
      if (k > 0 && codeHits[k - 1].hi === hi && codeHits[k - 1].lo === lo) continue;
      const v = hi >>> 16;
      const r = hi & 0xffff;
      const code = codeOf(hi, lo);
      for (let j = off0[v], end = off0[v + 1]; j < end; j++) if (other0[j] === lo && rest0[j] === r) out.push({ code, payload: this.payloads0[j], distance });
    }
  }

  private growPending(cap: number): void {
    const resize = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(cap);
      b.set(a.subarray(0, Math.min(this.pending, cap)));
      return b;
    };
    this.pendingHi = resize(this.pendingHi);
    this.pendingLo = resize(this.pendingLo);
    this.pendingPayloads = resize(this.pendingPayloads);
  }
}
