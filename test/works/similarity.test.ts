import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PENDING_MIN, SimilarityIndex, hammingDistance64, WorkError } from '../../src/works/index.js';

const ANY_CODE = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** Codes clustered around a few centres, so queries have near neighbours at every distance. */
const clusteredCodes = fc.tuple(
  fc.array(ANY_CODE, { minLength: 1, maxLength: 4 }),
  fc.array(fc.tuple(fc.nat(), fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 12 })), { minLength: 1, maxLength: 200 }),
).map(([centres, picks]) => picks.map(([c, flips]) => flips.reduce((code, b) => code ^ (1n << BigInt(b)), centres[c % centres.length])));

/** The query's answer by a linear scan: every code within max, nearest first, then by payload (= position). */
function bruteForce(codes: bigint[], q: bigint, max: number): Array<{ code: bigint; payload: number; distance: number }> {
  return codes
    .map((c, i) => ({ code: c, payload: i, distance: hammingDistance64(c, q) }))
    .filter((m) => m.distance <= max)
    .sort((a, b) => a.distance - b.distance || a.payload - b.payload);
}

/** Codes at exactly `flips.length` bits from q (distinct bit positions). */
const plantedNear = (q: bigint, plants: number[][]): bigint[] => plants.map((bits) => bits.reduce((code, b) => code ^ (1n << BigInt(b)), q));

describe('SimilarityIndex', () => {
  it('returns exactly what brute force returns', () => {
    fc.assert(
      fc.property(clusteredCodes, fc.nat(), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 64 }), fc.option(fc.nat()), (codes, qi, max, cap, split) => {
        const index = new SimilarityIndex(cap);
        codes.forEach((c, i) => {
          index.add(c, i);
          if (split !== null && i === split % codes.length) index.compact();
        });
        const q = codes[qi % codes.length] ^ 0b101n;
        expect(index.query(q, max)).toEqual(bruteForce(codes, q, max));
        expect(index.size).toBe(codes.length);
      }),
      { numRuns: 200 },
    );
  });

  it('finds every code planted at distances 0..max+2 among random ones, across bulk load, compaction and later additions', () => {
    const plants = fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { maxLength: 22 }), { maxLength: 40 });
    fc.assert(
      fc.property(
        ANY_CODE,
        fc.integer({ min: 0, max: 20 }),
        fc.array(ANY_CODE, { maxLength: 300 }),
        plants,
        fc.array(ANY_CODE, { maxLength: 100 }),
        plants,
        fc.integer({ min: 0, max: 3 }),
        (q, max, randomBulk, bulkPlants, randomLater, laterPlants, duplicates) => {
          // Planted codes at every distance around the threshold, plus a few duplicated codes (several payloads).
          const around = Array.from({ length: max + 3 }, (_, k) => Array.from({ length: k }, (_, b) => (b * 29 + max) % 64));
          const bulk = [...randomBulk, ...plantedNear(q, [...around, ...bulkPlants])];
          for (let k = 0; k < duplicates && bulk.length > 0; k++) bulk.push(bulk[(k * 7) % bulk.length]);
          const later = [...randomLater, ...plantedNear(q, laterPlants)];
          const index = new SimilarityIndex();
          const codes: bigint[] = [];
          const add = (c: bigint): void => {
            index.add(c, codes.length);
            codes.push(c);
          };
          bulk.forEach(add);
          expect(index.query(q, max)).toEqual(bruteForce(codes, q, max)); // all pending
          index.compact();
          expect(index.query(q, max)).toEqual(bruteForce(codes, q, max)); // all in the tables
          later.forEach(add);
          if (later.length > 0) add(codes[0]); // a duplicate across tables and pending
          expect(index.query(q, max)).toEqual(bruteForce(codes, q, max)); // tables + pending
          index.compact();
          expect(index.query(q, max)).toEqual(bruteForce(codes, q, max)); // merged
          expect(index.query(q, 64)).toEqual(bruteForce(codes, q, 64));
          expect(index.size).toBe(codes.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps every entry through repeated merges when codes share buckets heavily', () => {
    // Every 16-bit substring comes from a pool of a few values, so buckets hold many entries and
    // each merge interleaves old and new entries in the same buckets.
    const pooled = fc
      .tuple(fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 4 }), fc.array(fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 60 }))
      .map(([pool, picks]) => picks.map((p) => p.reduce((code, k) => (code << 16n) | BigInt(pool[k % pool.length]), 0n)));
    fc.assert(
      fc.property(fc.array(pooled, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 20 }), (batches, max) => {
        const index = new SimilarityIndex(8);
        const codes: bigint[] = [];
        for (const batch of batches) {
          for (const c of batch) {
            index.add(c, codes.length);
            codes.push(c);
          }
          index.compact();
        }
        for (const q of [codes[0], codes[codes.length - 1], codes[0] ^ 0x0001_0001_0001_0001n]) {
          expect(index.query(q, 0)).toEqual(bruteForce(codes, q, 0));
          expect(index.query(q, max)).toEqual(bruteForce(codes, q, max));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('compacts by itself once the pending entries are many, with the same answers', () => {
    const index = new SimilarityIndex(16);
    const codes: bigint[] = [];
    let x = 0x2545f491;
    const word = (): bigint => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return BigInt(x >>> 0);
    };
    const q = 0x0123_4567_89ab_cdefn;
    for (let i = 0; i < PENDING_MIN + 500; i++) {
      // Every 40th code is planted near q (1..14 bits: 0x…fff fits up to 12 low bits, plus high bits).
      const c = i % 40 === 0 ? q ^ ((1n << BigInt(i % 13)) - 1n) ^ (i % 80 === 0 ? 0x8000_0000_0000_0000n : 0n) : (word() << 32n) | word();
      index.add(c, i);
      codes.push(c);
    }
    const pendingBytes = index.byteLength;
    for (const max of [0, 6, 12, 16]) expect(index.query(q, max)).toEqual(bruteForce(codes, q, max));
    expect(index.byteLength).toBeGreaterThan(pendingBytes); // the bucket tables now exist
    for (let i = 0; i < 100; i++) {
      const c = q ^ BigInt(i);
      index.add(c, codes.length);
      codes.push(c);
    }
    for (const max of [0, 3, 12]) expect(index.query(q, max)).toEqual(bruteForce(codes, q, max));
  });

  it('rejects bad input', () => {
    const index = new SimilarityIndex();
    expect(() => index.add(-1n, 0)).toThrow(WorkError);
    expect(() => index.add(1n << 64n, 0)).toThrow(WorkError);
    expect(() => index.add(0n, -1)).toThrow(WorkError);
    expect(() => index.query(0n, 65)).toThrow(WorkError);
  });
});
