/** EntryTable against the Maps it replaced: record types by index, and the latest index of a leaf hash. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryTable } from '../../src/policy/entry-table.js';
import { RECORD_TYPES, type RecordType, toHex } from '../../src/records/index.js';

describe('EntryTable', () => {
  it('answers as a Map of types and a Map of hex leaf hashes would (prefix collisions included)', () => {
    // Hashes share their first 4 bytes often (few prefixes), so lookups must compare whole hashes.
    const hashArb = fc.tuple(fc.constantFrom(0, 1, 255), fc.uint8Array({ minLength: 28, maxLength: 28 }), fc.boolean()).map(([p, rest, repeat]) => Uint8Array.from([p, p, p, repeat ? 0 : p, ...(repeat ? new Uint8Array(28) : rest)]));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(...RECORD_TYPES), hashArb), { maxLength: 60 }), (adds) => {
        const table = new EntryTable();
        const types = new Map<number, RecordType>();
        const byHash = new Map<string, number>();
        let index = -1;
        for (const [gap, type, hash] of adds) {
          index += gap;
          table.add(index, type, hash);
          types.set(index, type);
          byHash.set(toHex(hash), index);
        }
        for (let i = -1; i <= index + 1; i += Math.max(1, Math.floor(index / 50))) {
          expect(table.has(i)).toBe(types.has(i));
          expect(table.type(i)).toBe(types.get(i));
        }
        for (const [hex, at] of byHash) expect(table.indexOfLeafHash(hex)).toBe(at);
        expect(table.indexOfLeafHash('ab'.repeat(32))).toBe(byHash.get('ab'.repeat(32)));
        expect(table.indexOfLeafHash('not hex')).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });
});
