import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimilarityIndex, hammingDistance64, WorkError } from '../../src/works/index.js';

/** Codes clustered around a few centres, so queries have near neighbours at every distance. */
const clusteredCodes = fc.tuple(
  fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 4 }),
  fc.array(fc.tuple(fc.nat(), fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 12 })), { minLength: 1, maxLength: 200 }),
).map(([centres, picks]) => picks.map(([c, flips]) => flips.reduce((code, b) => code ^ (1n << BigInt(b)), centres[c % centres.length])));

describe('SimilarityIndex', () => {
  it('returns exactly what brute force returns', () => {
    fc.assert(
      fc.property(clusteredCodes, fc.nat(), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 64 }), (codes, qi, max, cap) => {
        const index = new SimilarityIndex(cap);
        codes.forEach((c, i) => index.add(c, i));
        const q = codes[qi % codes.length] ^ 0b101n;
        const expected = codes
          .map((c, i) => ({ code: c, payload: i, distance: hammingDistance64(c, q) }))
          .filter((m) => m.distance <= max)
          .sort((a, b) => a.distance - b.distance || a.payload - b.payload);
        expect(index.query(q, max)).toEqual(expected);
        expect(index.size).toBe(codes.length);
      }),
      { numRuns: 200 },
    );
  });
  it('rejects bad input', () => {
    const index = new SimilarityIndex();
    expect(() => index.add(-1n, 0)).toThrow(WorkError);
    expect(() => index.add(1n << 64n, 0)).toThrow(WorkError);
    expect(() => index.add(0n, -1)).toThrow(WorkError);
    expect(() => index.query(0n, 65)).toThrow(WorkError);
  });
});
