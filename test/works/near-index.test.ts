/**
 * NearIndex (src/policy/near-index.ts): the same answers as a brute-force scan written here with
 * BigInt XOR and a bit count, both while it scans a small list and after it moves into the
 * multi-index-hashing SimilarityIndex (SCAN_LIMIT codes); schemes are kept apart.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NearIndex, SCAN_LIMIT } from '../../src/policy/near-index.js';

const hex = (c: bigint) => c.toString(16).padStart(16, '0');
const bits = (x: bigint) => [...x.toString(2)].filter((b) => b === '1').length;

/** Codes clustered around a few centres, so that many lie within small distances of each other. */
const clustered = (count: number) =>
  fc.tuple(fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 14 })), { minLength: count, maxLength: count })).map(([centres, picks]) =>
    picks.map(([c, flips]) => flips.reduce((code, b) => code ^ (1n << BigInt(b)), centres[c % centres.length])),
  );

function check(codes: bigint[], queries: bigint[], max: number): void {
  const index = new NearIndex();
  codes.forEach((c, i) => index.add(`phash:${hex(c)}`, i));
  index.add(`tcode:${hex(codes[0])}`, 999_999); // another scheme: never a phash match
  for (const q of queries) {
    const expected = codes
      .map((c, payload) => ({ id: `phash:${hex(c)}`, payload, distance: bits(c ^ q) }))
      .filter((m) => m.distance <= max)
      .sort((a, b) => a.distance - b.distance || a.payload - b.payload);
    expect(index.query(`phash:${hex(q)}`, max)).toEqual(expected);
  }
}

describe('NearIndex', () => {
  it('matches brute force on a small list', () => {
    fc.assert(fc.property(clustered(200), fc.integer({ min: 0, max: 20 }), (codes, max) => check(codes, codes.slice(0, 20), max)), { numRuns: 40 });
  });

  it('matches brute force after moving into the SimilarityIndex', () => {
    fc.assert(fc.property(clustered(SCAN_LIMIT + 300), fc.integer({ min: 0, max: 16 }), (codes, max) => check(codes, codes.slice(-10), max)), { numRuns: 4 });
  });

  it('uses the scheme threshold by default and ignores non-perceptual identifiers', () => {
    const index = new NearIndex();
    expect(index.add(`sha256:${'0'.repeat(64)}`, 1)).toBe(false);
    index.add('phash:0000000000000000', 1);
    index.add('tcode:0000000000000000', 2);
    expect(index.query('phash:0000000000000fff').map((m) => m.payload)).toEqual([1]); // 12 bits: within phash 12
    expect(index.query('phash:0000000000001fff')).toEqual([]); // 13 bits
    expect(index.query('tcode:000000000000ffff').map((m) => [m.payload, m.distance])).toEqual([[2, 16]]);
    expect(index.query(`sha256:${'0'.repeat(64)}`)).toEqual([]);
  });
});
