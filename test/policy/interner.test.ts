/**
 * The policy's memory savers: Interner (shared equal values, bounded) and idSetOf (a grant's
 * identifiers in an array or a Set), each against the plain structure it stands for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Interner } from '../../src/policy/interner.js';
import { idSetOf } from '../../src/policy/state.js';

describe('Interner', () => {
  it('returns an equal value, the first one seen while it is remembered, and forgets past its limit', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.json().map((j) => JSON.parse(j) as unknown)), { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (values, limit) => {
        const interner = new Interner(limit);
        for (const v of values) {
          const copy = typeof v === 'string' ? v : (JSON.parse(JSON.stringify(v ?? null)) as unknown);
          const shared = typeof copy === 'string' ? interner.string(copy) : interner.value(copy);
          expect(shared).toEqual(copy);
        }
      }),
    );
    const interner = new Interner(2);
    const a = { use: 'allowed' };
    expect(interner.value(a)).toBe(a);
    expect(interner.value({ use: 'allowed' })).toBe(a); // shared
    interner.value({ b: 1 });
    interner.value({ c: 1 }); // the table was full: it starts again
    expect(interner.value({ use: 'allowed' })).not.toBe(a);
    expect(interner.string(undefined)).toBeUndefined();
  });
});

describe('idSetOf', () => {
  it('holds exactly the given identifiers, each once, small or large', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'), { minLength: 1, maxLength: 20 }), fc.constantFrom('a', 'f', 'l', 'z'), (ids, probe) => {
        const set = idSetOf(ids);
        expect([...set].sort()).toEqual([...new Set(ids)].sort());
        expect(set.has(probe)).toBe((ids as string[]).includes(probe));
      }),
    );
  });
});
