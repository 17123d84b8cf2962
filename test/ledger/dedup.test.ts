/**
 * NamedInUse: which identifiers of an item no earlier item of its use named. Exact while small,
 * then a Bloom filter whose possible matches `confirm` settles: compared with a plain set over a
 * use far past the exact part, it must answer the same for every item.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NamedInUse } from '../../src/ledger/dedup.js';

describe('NamedInUse', () => {
  it('answers as a set would, past its exact part, asking the store only for the filter’s possible matches', async () => {
    const distinct = 100_000;
    const draws = 160_000;
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const named = new Set<string>();
    let asked = 0;
    // The store's answer: whether an earlier item named it (what the indexer's look in W keys says).
    const dedup = new NamedInUse(draws, async (id) => {
      asked++;
      return named.has(id);
    });
    let repeats = 0;
    const wrong: string[] = [];
    for (let i = 0; i < draws; i++) {
      const id = `sha256:${Math.floor(random() * distinct).toString(16).padStart(64, '0')}`;
      const repeated = named.has(id);
      if (repeated) repeats++;
      const checked = dedup.fresh([id]);
      const got = Array.isArray(checked) ? checked : await checked;
      if (got.length !== (repeated ? 0 : 1) || (got.length === 1 && got[0] !== id)) wrong.push(`${i}: ${id}`);
      named.add(id);
    }
    expect(wrong).toEqual([]);
    expect(named.size).toBeGreaterThan(65_536);
    // Every repeat past the exact part is asked about once at most (then remembered briefly),
    // and new identifiers almost never.
    expect(asked).toBeLessThan(repeats);
    expect(asked).toBeGreaterThan(0);
  });

  it('takes each identifier of an item once, in order, and remembers all of them (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 4 }), { maxLength: 30 }), async (items) => {
        const named = new Set<string>();
        const dedup = new NamedInUse(items.length, async (id) => named.has(id));
        for (const ids of items) {
          const expected = [...new Set(ids)].filter((id) => !named.has(id));
          const got = dedup.fresh(ids);
          expect(Array.isArray(got) ? got : await got).toEqual(expected);
          ids.forEach((id) => named.add(id));
        }
      }),
    );
  });
});
